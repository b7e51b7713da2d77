"""The JSON forms of what the store keeps, as the admin API answers them.

Store records are frozen dataclasses; most go out field for field. A recording goes out with
its download address instead of its path on the server's disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from b2bua.app.config import Employee
from b2bua.store import Binding, CallDetail, Recording


def plain(record: Any) -> dict[str, Any]:
    """A dataclass record as a JSON-able mapping (tuples become lists)."""
    data: dict[str, Any] = dataclasses.asdict(record)
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in data.items()}


def recording_url(recording_id: int) -> str:
    return f"/api/recordings/{recording_id}"


def recording_json(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "call_id": recording.call_id,
        "file": PurePath(recording.path).name,
        "url": recording_url(recording.id),
        "started_at": recording.started_at,
        "ended_at": recording.ended_at,
        "channels": recording.channels,
        "format": recording.format,
        "size_bytes": recording.size_bytes,
    }


def call_json(detail: CallDetail) -> dict[str, Any]:
    """One call of the report with its tags, events, options used and recordings."""
    data = plain(detail.call)
    data["tags"] = list(detail.tags)
    data["options_used"] = list(detail.options_used())
    data["events"] = [
        {"id": event.id, "at": event.at, "kind": event.kind, "detail": event.detail}
        for event in detail.events
    ]
    data["recordings"] = [recording_json(recording) for recording in detail.recordings]
    return data


def binding_json(binding: Binding) -> dict[str, Any]:
    """A registered device: where it is reached and until when."""
    return {
        "extension": binding.aor,
        "contact": binding.contact_uri,
        "transport": binding.transport,
        "source": f"{binding.source_host}:{binding.source_port}",
        "expires_at": binding.expires_at,
        "user_agent": binding.user_agent,
        "instance_id": binding.instance_id,
    }


def employee_json(employee: Employee, bindings: Iterable[Binding]) -> dict[str, Any]:
    """An employee as the admin sees it: never the password."""
    devices = [binding_json(binding) for binding in bindings if binding.aor == employee.extension]
    return {
        "extension": employee.extension,
        "name": employee.name,
        "trainer": employee.trainer,
        "numbers": list(employee.numbers),
        "record_calls": employee.record_calls,
        "registered": bool(devices),
        "devices": devices,
    }
