"""The listing commands of ``b2bua``: users, registrations, calls, blacklist, contacts, managers,
outbox. Each reads the store of the data directory and prints a table (or JSON)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from b2bua.app.config import Config
from b2bua.app.credentials import ensure_passwords
from b2bua.store import CallDetail, SqliteStore

# The time "expires in" and device counts are measured from; replaced in tests.
clock: Callable[[], float] = time.time


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column is not padded."""
    cells = [[str(header) for header in headers]] + [["" if c is None else str(c) for c in row]
                                                    for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def local_time(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _print_rows(headers: Sequence[str], rows: Sequence[Sequence[object]], empty: str) -> None:
    print(render_table(headers, rows) if rows else empty)


def show_users(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    """Employees with their passwords (generating missing ones) and registered devices."""
    now = clock()
    ensure_passwords(config, store, now)
    sources = {c.extension: c for c in store.list_credentials()}
    rows = []
    for employee in config.employees:
        credential = sources.get(employee.extension)
        password = credential.password if credential else "-"
        source = credential.source if credential else "-"
        devices = len(store.list_bindings(employee.extension, now=now))
        rows.append([employee.extension, employee.name, password, source, devices])
    _print_rows(["EXT", "NAME", "PASSWORD", "SOURCE", "DEVICES"], rows, "no employees")
    return 0


def show_registrations(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    now = clock()
    rows = [
        [
            binding.aor,
            binding.contact_uri,
            f"{binding.transport} {binding.source_host}:{binding.source_port}",
            f"{max(0, int(binding.expires_at - now))}s",
            binding.user_agent or "-",
        ]
        for binding in store.list_all_bindings(now=now)
    ]
    headers = ["EXT", "CONTACT", "SOURCE", "EXPIRES IN", "USER AGENT"]
    _print_rows(headers, rows, "no registrations")
    return 0


def _call_as_json(detail: CallDetail) -> dict[str, Any]:
    return {
        **asdict(detail.call),
        "tags": list(detail.tags),
        "options": list(detail.options_used()),
        "events": [
            {"at": event.at, "kind": event.kind, "detail": event.detail}
            for event in detail.events
        ],
        "recordings": [asdict(recording) for recording in detail.recordings],
    }


def _duration(detail: CallDetail) -> str:
    seconds = detail.call.duration
    return "-" if seconds is None else f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def show_calls(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    calls = store.list_calls(
        tag=args.tag, employee=args.employee, number=args.number, since=args.since,
        until=args.until, limit=args.limit,
    )
    if args.json:
        print(json.dumps([_call_as_json(detail) for detail in calls], indent=2))
        return 0
    rows = [
        [
            local_time(detail.call.started_at),
            detail.call.direction,
            detail.call.caller_number,
            detail.call.called_number,
            detail.call.employee or "-",
            detail.call.disposition or "in progress",
            _duration(detail),
            ",".join(detail.tags) or "-",
            ",".join(detail.options_used()) or "-",
        ]
        for detail in calls
    ]
    headers = ["STARTED", "DIRECTION", "FROM", "TO", "EMPLOYEE", "RESULT", "TALK", "TAGS",
               "OPTIONS"]
    _print_rows(headers, rows, "no calls")
    return 0


def show_blacklist(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    rows = [
        [entry.number, local_time(entry.added_at), entry.added_by or "-", entry.reason or "-"]
        for entry in store.list_blacklist()
    ]
    _print_rows(["NUMBER", "ADDED", "BY", "REASON"], rows, "the blacklist is empty")
    return 0


def show_contacts(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    group: str | None = args.group
    if group is None:
        rows = [[g.name, g.size, local_time(g.created_at)] for g in store.list_contact_groups()]
        _print_rows(["GROUP", "CONTACTS", "CREATED"], rows, "no contact groups")
        return 0
    contacts = store.list_contacts(group)
    rows = [
        [c.number, c.display_name or "-", c.saved_by or "-", local_time(c.saved_at)]
        for c in contacts
    ]
    _print_rows(["NUMBER", "NAME", "SAVED BY", "SAVED"], rows, f"no contacts in {group!r}")
    return 0


def show_managers(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    rows = [[m.number, m.extension, local_time(m.assigned_at)] for m in store.list_managers()]
    _print_rows(["NUMBER", "MANAGER", "ASSIGNED"], rows, "no personal managers")
    return 0


def show_outbox(config: Config, store: SqliteStore, args: argparse.Namespace) -> int:
    rows = [
        [
            message.id,
            message.to_number,
            message.status,
            message.attempts,
            local_time(message.updated_at),
            message.last_error or "-",
            message.text,
        ]
        for message in store.list_sms(status=args.status, limit=args.limit)
    ]
    headers = ["ID", "TO", "STATUS", "ATTEMPTS", "UPDATED", "LAST ERROR", "TEXT"]
    _print_rows(headers, rows, "the outbox is empty")
    return 0


Listing = Callable[[Config, SqliteStore, argparse.Namespace], int]

# Listings that write: "users" generates the passwords of employees that have none yet.
LISTINGS: dict[str, tuple[Listing, bool]] = {
    "users": (show_users, True),
    "registrations": (show_registrations, False),
    "calls": (show_calls, False),
    "blacklist": (show_blacklist, False),
    "contacts": (show_contacts, False),
    "managers": (show_managers, False),
    "outbox": (show_outbox, False),
}
