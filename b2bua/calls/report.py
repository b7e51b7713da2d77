"""The call's row in the report, written as things happen.

Every write goes to the store at once (a crash loses nothing already known), and a store that
fails is logged and otherwise ignored: the report never drops a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from b2bua.store import CallRecord, Store

log = logging.getLogger(__name__)


class CallReport:
    """Writes one call's record, events and tags."""

    def __init__(self, store: Store, wall_clock: Callable[[], float], record: CallRecord) -> None:
        self.store = store
        self.wall_clock = wall_clock
        self.call_id = record.id
        self.started_at = record.started_at
        self._guard("create", store.create_call, record)

    def update(self, **fields: Any) -> None:
        self._guard("update", self.store.update_call, self.call_id, **fields)

    def event(self, kind: str, **detail: Any) -> None:
        self._guard("event", self.store.add_call_event, self.call_id, self.wall_clock(), kind,
                    detail or None)

    def tag(self, tag: str) -> bool:
        added = self._guard("tag", self.store.add_call_tag, self.call_id, tag, self.wall_clock())
        return bool(added)

    def _guard(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception:
            log.exception("call %s: report %s failed", self.call_id, what)
            return None
