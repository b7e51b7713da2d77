"""The report writer: writes queued per loop turn, committed together, none lost to a bad one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from b2bua.calls.report import CallReport, ReportWriter
from b2bua.store import CallRecord, open_store


def test_writes_wait_for_the_turn_then_commit_together(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        report.event("ringing", devices=["a"])
        report.update(answered_at=2.0, disposition="answered")
        assert len(scheduled) == 1  # one flush per turn, whatever the number of writes
        assert store.get_call("c1") is None
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None and detail.call.disposition == "answered"
        assert [(e.kind, e.at, e.detail) for e in detail.events] == [
            ("ringing", 5.0, {"devices": ["a"]})]


def test_a_bad_write_loses_nothing_else(tmp_path: Path) -> None:
    scheduled: list[Callable[[], None]] = []
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, scheduled.append)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        writer.submit("c9", "event", store.add_call_event, "c9", 5.0, "ghost", None)
        report.event("answered")
        scheduled.pop()()
        detail = store.get_call("c1")
        assert detail is not None and [e.kind for e in detail.events] == ["answered"]


def test_tagging_flushes_first_and_answers_whether_new(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        writer = ReportWriter(store, lambda flush: None)
        report = CallReport(writer, lambda: 5.0, CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        assert report.tag("vip") is True  # the call row was written before the tag
        assert report.tag("vip") is False
