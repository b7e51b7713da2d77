"""The report part of the SQLite store: calls, events, tags, recordings, the SMS outbox."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from b2bua.store.base import DuplicateCallError, NotFoundError, UnknownCallError
from b2bua.store.numbers import normalize_number, number_or_none
from b2bua.store.records import (
    CALL_UPDATABLE_FIELDS,
    DIRECTIONS,
    DISPOSITIONS,
    HANGUP_SIDES,
    SMS_STATUSES,
    CallDetail,
    CallEvent,
    CallRecord,
    Recording,
    SmsMessage,
    SmsStatus,
)
from b2bua.store.sqlite_base import Row, SqliteConnection

# Most SQLite builds allow 32766 bound parameters; stay far below for IN (...) lists.
_IN_CHUNK = 500

_ALLOWED_VALUES: dict[str, frozenset[str]] = {
    "direction": DIRECTIONS,
    "disposition": DISPOSITIONS,
    "hangup_side": HANGUP_SIDES,
}


def _check_choice(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    allowed = _ALLOWED_VALUES[name]
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r}")


def _call_from_row(row: Row) -> CallRecord:
    return CallRecord(
        id=row["id"],
        started_at=row["started_at"],
        direction=row["direction"],
        caller_number=row["caller_number"],
        called_number=row["called_number"],
        caller_name=row["caller_name"],
        employee=row["employee"],
        answered_device=row["answered_device"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        disposition=row["disposition"],
        hangup_side=row["hangup_side"],
        duration=row["duration"],
    )


_DETAIL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _encode_detail(detail: Mapping[str, Any] | None) -> str:
    return _DETAIL_ENCODER.encode(dict(detail or {}))


def _event_from_row(row: Row) -> CallEvent:
    return CallEvent(
        id=row["id"],
        call_id=row["call_id"],
        at=row["at"],
        kind=row["kind"],
        detail=json.loads(row["detail"]),
    )


def _recording_from_row(row: Row) -> Recording:
    return Recording(
        id=row["id"],
        call_id=row["call_id"],
        path=row["path"],
        started_at=row["started_at"],
        channels=row["channels"],
        format=row["format"],
        ended_at=row["ended_at"],
        size_bytes=row["size_bytes"],
    )


def _sms_from_row(row: Row) -> SmsMessage:
    return SmsMessage(
        id=row["id"],
        to_number=row["to_number"],
        text=row["text"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        call_id=row["call_id"],
        last_error=row["last_error"],
    )


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


class CallTables(SqliteConnection):
    """Calls, call events, call tags, recordings and the SMS outbox."""

    # calls

    def create_call(self, call: CallRecord) -> None:
        _check_choice("direction", call.direction, optional=False)
        _check_choice("disposition", call.disposition, optional=True)
        _check_choice("hangup_side", call.hangup_side, optional=True)
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO calls (id, started_at, answered_at, ended_at, direction,"
                    " caller_number, caller_name, called_number, employee, answered_device,"
                    " disposition, hangup_side, duration)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        call.id, call.started_at, call.answered_at, call.ended_at,
                        call.direction, call.caller_number, call.caller_name, call.called_number,
                        call.employee, call.answered_device, call.disposition, call.hangup_side,
                        call.duration,
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise DuplicateCallError(f"call {call.id!r} exists already") from error

    def update_call(self, call_id: str, **changes: object) -> None:
        unknown = set(changes) - CALL_UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update call field(s): {', '.join(sorted(unknown))}")
        if not changes:
            raise ValueError("update_call needs at least one field")
        for name in ("disposition", "hangup_side"):
            if name in changes:
                _check_choice(name, changes[name], optional=True)
        if "direction" in changes:
            _check_choice("direction", changes["direction"], optional=False)
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ?" for name in names)
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE calls SET {assignments} WHERE id = ?",
                [changes[name] for name in names] + [call_id],
            )
            if cursor.rowcount == 0:
                raise UnknownCallError(f"no call {call_id!r}")

    def add_call_event(
        self, call_id: str, at: float, kind: str, detail: Mapping[str, Any] | None = None
    ) -> CallEvent:
        encoded = _encode_detail(detail)
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO call_events (call_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                    (call_id, at, kind, encoded),
                )
        except sqlite3.IntegrityError as error:
            raise UnknownCallError(f"no call {call_id!r}") from error
        return CallEvent(
            id=cast(int, cursor.lastrowid), call_id=call_id, at=at, kind=kind,
            detail=json.loads(encoded),
        )

    def add_call_events(
        self, events: Sequence[tuple[str, float, str, Mapping[str, Any] | None]]
    ) -> None:
        rows = [(call_id, at, kind, _encode_detail(detail))
                for call_id, at, kind, detail in events]
        try:
            with self._write() as conn:
                conn.executemany(
                    "INSERT INTO call_events (call_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.IntegrityError as error:
            unknown = sorted({row[0] for row in rows})
            raise UnknownCallError(f"no call among {unknown!r}") from error

    def add_call_tag(self, call_id: str, tag: str, at: float) -> bool:
        if not tag:
            raise ValueError("a tag cannot be empty")
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO call_tags (call_id, tag, added_at) VALUES (?, ?, ?)",
                    (call_id, tag, at),
                )
        except sqlite3.IntegrityError as error:
            raise UnknownCallError(f"no call {call_id!r}") from error
        return cursor.rowcount == 1

    def remove_call_tag(self, call_id: str, tag: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM call_tags WHERE call_id = ? AND tag = ?", (call_id, tag)
            )
        return cursor.rowcount == 1

    def get_call(self, call_id: str) -> CallDetail | None:
        row = self._fetch_one("SELECT * FROM calls WHERE id = ?", (call_id,))
        if row is None:
            return None
        return self._with_attachments([_call_from_row(row)])[0]

    def list_calls(
        self,
        *,
        tag: str | None = None,
        employee: str | None = None,
        number: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[CallDetail]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        where: list[str] = []
        parameters: list[Any] = []
        if tag is not None:
            where.append("id IN (SELECT call_id FROM call_tags WHERE tag = ?)")
            parameters.append(tag)
        if employee is not None:
            where.append("employee = ?")
            parameters.append(employee)
        if number is not None:
            spellings = sorted({number, number_or_none(number) or number})
            marks = ", ".join("?" * len(spellings))
            where.append(f"(caller_number IN ({marks}) OR called_number IN ({marks}))")
            parameters.extend(spellings + spellings)
        if since is not None:
            where.append("started_at >= ?")
            parameters.append(since)
        if until is not None:
            where.append("started_at < ?")
            parameters.append(until)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._fetch_all(
            f"SELECT * FROM calls{clause} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            [*parameters, limit],
        )
        return self._with_attachments([_call_from_row(row) for row in rows])

    def _with_attachments(self, calls: list[CallRecord]) -> list[CallDetail]:
        events: dict[str, list[CallEvent]] = defaultdict(list)
        tags: dict[str, list[str]] = defaultdict(list)
        recordings: dict[str, list[Recording]] = defaultdict(list)
        for ids in _chunks([call.id for call in calls]):
            marks = ", ".join("?" * len(ids))
            for row in self._fetch_all(
                f"SELECT * FROM call_events WHERE call_id IN ({marks}) ORDER BY id", ids
            ):
                events[row["call_id"]].append(_event_from_row(row))
            for row in self._fetch_all(
                f"SELECT call_id, tag FROM call_tags WHERE call_id IN ({marks})"
                " ORDER BY added_at, tag",
                ids,
            ):
                tags[row["call_id"]].append(row["tag"])
            for row in self._fetch_all(
                f"SELECT * FROM recordings WHERE call_id IN ({marks}) ORDER BY id", ids
            ):
                recordings[row["call_id"]].append(_recording_from_row(row))
        return [
            CallDetail(
                call=call,
                events=tuple(events[call.id]),
                tags=tuple(tags[call.id]),
                recordings=tuple(recordings[call.id]),
            )
            for call in calls
        ]

    # recordings

    def add_recording(
        self, call_id: str, path: str, started_at: float, channels: int, format: str
    ) -> Recording:
        if channels < 1:
            raise ValueError("a recording has at least one channel")
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO recordings (call_id, path, started_at, channels, format)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (call_id, path, started_at, channels, format),
                )
        except sqlite3.IntegrityError as error:
            raise UnknownCallError(f"no call {call_id!r}") from error
        return Recording(
            id=cast(int, cursor.lastrowid), call_id=call_id, path=path,
            started_at=started_at, channels=channels, format=format,
        )

    def finish_recording(self, recording_id: int, ended_at: float, size_bytes: int) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE recordings SET ended_at = ?, size_bytes = ? WHERE id = ?",
                (ended_at, size_bytes, recording_id),
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no recording {recording_id}")

    def get_recording(self, recording_id: int) -> Recording | None:
        row = self._fetch_one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        return None if row is None else _recording_from_row(row)

    def list_recordings(self, call_id: str) -> list[Recording]:
        rows = self._fetch_all(
            "SELECT * FROM recordings WHERE call_id = ? ORDER BY id", (call_id,)
        )
        return [_recording_from_row(row) for row in rows]

    # SMS outbox

    def queue_sms(
        self, to_number: str, text: str, now: float, call_id: str | None = None
    ) -> SmsMessage:
        number = normalize_number(to_number)
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO sms_outbox (to_number, text, call_id, status, attempts,"
                    " next_attempt_at, created_at, updated_at)"
                    " VALUES (?, ?, ?, 'queued', 0, ?, ?, ?)",
                    (number, text, call_id, now, now, now),
                )
        except sqlite3.IntegrityError as error:
            raise UnknownCallError(f"no call {call_id!r}") from error
        return SmsMessage(
            id=cast(int, cursor.lastrowid), to_number=number, text=text, status="queued",
            attempts=0, next_attempt_at=now, created_at=now, updated_at=now, call_id=call_id,
        )

    def due_sms(self, now: float, limit: int = 20) -> list[SmsMessage]:
        rows = self._fetch_all(
            "SELECT * FROM sms_outbox WHERE status = 'queued' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (now, limit),
        )
        return [_sms_from_row(row) for row in rows]

    def update_sms(
        self,
        sms_id: int,
        status: SmsStatus,
        now: float,
        *,
        attempts: int | None = None,
        next_attempt_at: float | None = None,
        last_error: str | None = None,
    ) -> SmsMessage:
        if status not in SMS_STATUSES:
            raise ValueError(f"status must be one of {', '.join(sorted(SMS_STATUSES))}")
        changes: dict[str, object] = {"status": status, "updated_at": now}
        optional = {
            "attempts": attempts, "next_attempt_at": next_attempt_at, "last_error": last_error
        }
        changes.update({name: value for name, value in optional.items() if value is not None})
        names = sorted(changes)
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE sms_outbox SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                [changes[name] for name in names] + [sms_id],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no SMS {sms_id}")
            row = conn.execute("SELECT * FROM sms_outbox WHERE id = ?", (sms_id,)).fetchone()
        return _sms_from_row(row)

    def requeue_sending_sms(self, now: float) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sms_outbox SET status = 'queued', next_attempt_at = ?, updated_at = ?"
                " WHERE status = 'sending'",
                (now, now),
            )
        return cursor.rowcount

    def get_sms(self, sms_id: int) -> SmsMessage | None:
        row = self._fetch_one("SELECT * FROM sms_outbox WHERE id = ?", (sms_id,))
        return None if row is None else _sms_from_row(row)

    def list_sms(self, status: SmsStatus | None = None, limit: int = 100) -> list[SmsMessage]:
        if status is None:
            rows = self._fetch_all("SELECT * FROM sms_outbox ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._fetch_all(
                "SELECT * FROM sms_outbox WHERE status = ? ORDER BY id DESC LIMIT ?",
                (status, limit),
            )
        return [_sms_from_row(row) for row in rows]
