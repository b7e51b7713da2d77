"""The report writer: writes queued for a short while, committed together, changes to a call's
row folded into one write, none lost to a bad one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from b2bua.calls.report import CallReport, ReportWriter
from b2bua.store import CallRecord, open_store


def test_writes_wait_for_the_flush_then_commit_together(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        report.event("ringing", devices=["a"])
        report.update(answered_at=2.0, disposition="answered")
        report.event("answered")
        assert len(scheduled) == 1  # one flush per batch, whatever the number of writes
        assert store.get_call("c1") is None
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None and detail.call.disposition == "answered"
        assert [(e.kind, e.at, e.detail) for e in detail.events] == [
            ("ringing", 5.0, {"devices": ["a"]}), ("answered", 5.0, {})]


def test_a_bad_write_loses_nothing_else(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        writer.event("c9", 5.0, "ghost", None)
        report.event("answered")
        report.update(answered_at=2.0)
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None and [e.kind for e in detail.events] == ["answered"]
        assert detail.call.answered_at == 2.0


def test_tagging_flushes_first_and_answers_whether_new(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, lambda flush: None)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        assert report.tag("vip") is True  # the call row was written before the tag
        assert report.tag("vip") is False


def statements(store: Any) -> list[str]:
    """Every SQL statement the store's connection runs from now on (first word)."""
    seen: list[str] = []
    store._conn.set_trace_callback(lambda sql: seen.append(sql.split()[0].upper()))
    return seen


def test_changes_fold_into_the_queued_create(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        report.update(answered_at=2.0, employee="101")
        report.update(ended_at=3.0, disposition="answered", employee="102")
        seen = statements(store)
        scheduled.pop()()
        assert seen.count("INSERT") == 1 and "UPDATE" not in seen
        detail = store.get_call("c1")
        assert detail is not None
        call = detail.call
        assert (call.answered_at, call.ended_at, call.disposition, call.employee) == (
            2.0, 3.0, "answered", "102")


def test_changes_after_the_create_was_written_fold_into_one_update(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        scheduled.pop()()
        report.update(answered_at=2.0)
        report.event("answered")
        report.update(ended_at=3.0, disposition="answered")
        seen = statements(store)
        scheduled.pop()()
        assert seen.count("UPDATE") == 1 and seen.count("INSERT") == 1
        detail = store.get_call("c1")
        assert detail is not None
        assert (detail.call.answered_at, detail.call.ended_at) == (2.0, 3.0)
        assert [e.kind for e in detail.events] == ["answered"]


def test_an_unknown_field_is_not_folded_and_fails_alone(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        report.update(colour="blue")
        report.update(answered_at=2.0)
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None and detail.call.answered_at == 2.0


def test_an_event_alone_schedules_its_flush(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        scheduled.pop()()
        report.event("hangup", side="client")
        report.event("media")
        assert len(scheduled) == 1
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None
        assert [(e.kind, e.detail) for e in detail.events] == [
            ("hangup", {"side": "client"}), ("media", {})]
