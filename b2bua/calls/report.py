"""The call's row in the report, written as things happen.

Writes of every call are queued and committed together in one transaction at most
``REPORT_DELAY`` after the first of them (one commit for all the calls of that window instead of
one per write: at hundreds of calls a second the commits were most of the cost of the report),
so what is known is in the store within that delay and a crash loses at most that window.
Changes to a call's row that arrive while its creation or an earlier change is still queued are
folded into that one write. A store that fails is logged and otherwise ignored: the report never
drops a call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from b2bua.store import CALL_UPDATABLE_FIELDS, CallRecord, Store

log = logging.getLogger(__name__)

REPORT_DELAY = 0.05
"""Seconds between a report write and the commit that carries it (and the writes after it)."""

Write = tuple[str, str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]
Event = tuple[str, float, str, dict[str, Any] | None]


class ReportWriter:
    """Queues the report writes of all calls and commits them in one transaction.

    ``schedule`` is called with the flush when the first write of a batch arrives; the service
    runs it ``REPORT_DELAY`` later.
    """

    def __init__(self, store: Store, schedule: Callable[[Callable[[], None]], object]) -> None:
        self.store = store
        self.schedule = schedule
        self._queue: list[Write] = []
        self._row_writes: dict[str, int] = {}
        """Call id -> where in the queue its latest create or update is (to fold into)."""
        self._events: list[Event] = []
        """Events, written after the queue's rows (which they may refer to) in one statement."""

    def submit(self, call_id: str, what: str, method: Callable[..., Any], *args: Any,
               **kwargs: Any) -> None:
        self._schedule_flush()
        self._queue.append((call_id, what, method, args, kwargs))

    def event(self, call_id: str, at: float, kind: str, detail: dict[str, Any] | None) -> None:
        self._schedule_flush()
        self._events.append((call_id, at, kind, detail))

    def _schedule_flush(self) -> None:
        """Before the first write of a batch is queued."""
        if not self._queue and not self._events:
            self.schedule(self.flush)

    def create(self, record: CallRecord) -> None:
        self._row_writes[record.id] = len(self._queue)
        self.submit(record.id, "create", self.store.create_call, record)

    def update(self, call_id: str, fields: dict[str, Any]) -> None:
        if fields.keys() <= CALL_UPDATABLE_FIELDS:  # else it fails alone, folding nothing
            at = self._row_writes.get(call_id)
            if at is not None:
                _call, what, method, args, kwargs = self._queue[at]
                if what == "create":
                    args = (dataclasses.replace(args[0], **fields),)
                else:
                    kwargs = {**kwargs, **fields}
                self._queue[at] = (call_id, what, method, args, kwargs)
                return
            self._row_writes[call_id] = len(self._queue)
        self.submit(call_id, "update", self.store.update_call, call_id, **fields)

    def flush(self) -> None:
        writes, self._queue = self._queue, []
        events, self._events = self._events, []
        self._row_writes.clear()
        if not writes and not events:
            return
        try:  # the fast way: all or nothing, no savepoint per write
            with self.store.batch(atomic_writes=False):
                for _call, _what, method, args, kwargs in writes:
                    method(*args, **kwargs)
                if events:
                    self.store.add_call_events(events)
            return
        except Exception:
            log.debug("report: a batch of %d writes failed; writing one by one",
                      len(writes) + len(events))
        try:  # a write failed: the others must not be lost with it
            with self.store.batch():
                for write in writes:
                    _guarded(*write)
                for call_id, at, kind, detail in events:
                    _guarded(call_id, "event", self.store.add_call_event,
                             (call_id, at, kind, detail), {})
        except Exception:
            log.exception("report: a batch of %d writes could not be committed",
                          len(writes) + len(events))


def _guarded(call_id: str, what: str, method: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
    try:
        return method(*args, **kwargs)
    except Exception:
        log.exception("call %s: report %s failed", call_id, what)
        return None


class CallReport:
    """Writes one call's record, events and tags."""

    def __init__(self, writer: ReportWriter, wall_clock: Callable[[], float],
                 record: CallRecord) -> None:
        self.writer = writer
        self.store = writer.store
        self.wall_clock = wall_clock
        self.call_id = record.id
        self.started_at = record.started_at
        writer.create(record)

    def update(self, **fields: Any) -> None:
        self.writer.update(self.call_id, fields)

    def event(self, kind: str, **detail: Any) -> None:
        self.writer.event(self.call_id, self.wall_clock(), kind, detail or None)

    def tag(self, tag: str) -> bool | None:
        """Add a tag now (the answer says whether it is new; None when the store failed)."""
        self.writer.flush()
        added = _guarded(self.call_id, "tag", self.store.add_call_tag,
                         (self.call_id, tag, self.wall_clock()), {})
        return None if added is None else bool(added)
