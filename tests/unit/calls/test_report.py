"""The report writer: writes queued for a short while, committed together, changes to a call's
row folded into one write, none lost to a bad one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from b2bua.calls.report import CallReport, ReportWriter
from b2bua.store import CallRecord, Store, open_store


@dataclass
class Desk:
    """A store, its report writer, and call c1's report; `flush()` runs the scheduled flush."""

    store: Store
    scheduled: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = ReportWriter(self.store, self.scheduled.append)
        self.report = CallReport(self.writer, lambda: 5.0,
                                 CallRecord("c1", 1.0, "inbound", "+1", "7000"))

    def flush(self) -> None:
        self.scheduled.pop()()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with open_store(tmp_path) as store:
        yield Desk(store)


def test_writes_wait_for_the_flush_then_commit_together(desk: Desk) -> None:
    desk.report.event("ringing", devices=["a"])
    desk.report.update(answered_at=2.0, disposition="answered")
    desk.report.event("answered")
    assert len(desk.scheduled) == 1  # one flush per batch, whatever the number of writes
    assert desk.store.get_call("c1") is None
    desk.flush()
    detail = desk.store.get_call("c1")
    assert detail is not None and detail.call.disposition == "answered"
    assert [(e.kind, e.at, e.detail) for e in detail.events] == [
        ("ringing", 5.0, {"devices": ["a"]}), ("answered", 5.0, {})]


def test_a_bad_write_loses_nothing_else(desk: Desk) -> None:
    desk.writer.event("c9", 5.0, "ghost", None)
    desk.report.event("answered")
    desk.report.update(answered_at=2.0)
    desk.flush()
    detail = desk.store.get_call("c1")
    assert detail is not None and [e.kind for e in detail.events] == ["answered"]
    assert detail.call.answered_at == 2.0


def test_tagging_flushes_first_and_answers_whether_new(desk: Desk) -> None:
    assert desk.report.tag("vip") is True  # the call row was written before the tag
    assert desk.report.tag("vip") is False


def statements(store: Any) -> list[str]:
    """Every SQL statement the store's connection runs from now on (first word)."""
    seen: list[str] = []
    store._conn.set_trace_callback(lambda sql: seen.append(sql.split()[0].upper()))
    return seen


def test_changes_fold_into_the_queued_create(desk: Desk) -> None:
    desk.report.update(answered_at=2.0, employee="101")
    desk.report.update(ended_at=3.0, disposition="answered", employee="102")
    seen = statements(desk.store)
    desk.flush()
    assert seen.count("INSERT") == 1 and "UPDATE" not in seen
    detail = desk.store.get_call("c1")
    assert detail is not None
    call = detail.call
    assert (call.answered_at, call.ended_at, call.disposition, call.employee) == (
        2.0, 3.0, "answered", "102")


def test_changes_after_the_create_was_written_fold_into_one_update(desk: Desk) -> None:
    desk.flush()
    desk.report.update(answered_at=2.0)
    desk.report.event("answered")
    desk.report.update(ended_at=3.0, disposition="answered")
    seen = statements(desk.store)
    desk.flush()
    assert seen.count("UPDATE") == 1 and seen.count("INSERT") == 1
    detail = desk.store.get_call("c1")
    assert detail is not None
    assert (detail.call.answered_at, detail.call.ended_at) == (2.0, 3.0)
    assert [e.kind for e in detail.events] == ["answered"]


def test_an_unknown_field_is_not_folded_and_fails_alone(desk: Desk) -> None:
    desk.report.update(colour="blue")
    desk.report.update(answered_at=2.0)
    desk.flush()
    detail = desk.store.get_call("c1")
    assert detail is not None and detail.call.answered_at == 2.0


def test_an_event_alone_schedules_its_flush(desk: Desk) -> None:
    desk.flush()
    desk.report.event("hangup", side="client")
    desk.report.event("media")
    assert len(desk.scheduled) == 1
    desk.flush()
    detail = desk.store.get_call("c1")
    assert detail is not None
    assert [(e.kind, e.detail) for e in detail.events] == [
        ("hangup", {"side": "client"}), ("media", {})]
