"""Writes grouped in one transaction: committed together, each still atomic on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2bua.store import CallRecord, UnknownCallError, open_store


def test_batched_writes_commit_together_and_survive_reopening(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.batch():
        store.create_call(CallRecord("c1", 1.0, "inbound", "+1", "7000"))
        store.add_call_event("c1", 2.0, "ringing", {"devices": ["a"]})
        store.update_call("c1", answered_at=3.0, disposition="answered")
        with open_store(tmp_path, read_only=True) as reader:
            assert reader.get_call("c1") is None  # not committed yet
    with open_store(tmp_path, read_only=True) as reader:
        detail = reader.get_call("c1")
        assert detail is not None and detail.call.disposition == "answered"
        assert [e.kind for e in detail.events] == ["ringing"]


def test_a_failing_write_in_a_batch_leaves_the_others(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with store.batch():
            store.create_call(CallRecord("c1", 1.0, "inbound", "+1", "7000"))
            with pytest.raises(UnknownCallError):
                store.add_call_event("nope", 2.0, "ringing")
            store.add_call_event("c1", 2.0, "answered")
        detail = store.get_call("c1")
        assert detail is not None and [e.kind for e in detail.events] == ["answered"]


def test_batches_nest(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with store.batch():
            with store.batch():
                store.create_call(CallRecord("c1", 1.0, "inbound", "+1", "7000"))
            store.add_call_event("c1", 2.0, "hangup")
        assert store.get_call("c1") is not None


def test_a_failing_write_in_a_fast_batch_rolls_it_all_back(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(UnknownCallError), store.batch(atomic_writes=False):
            store.create_call(CallRecord("c1", 1.0, "inbound", "+1", "7000"))
            store.add_call_event("nope", 2.0, "ringing")
        assert store.get_call("c1") is None
        store.create_call(CallRecord("c2", 1.0, "inbound", "+1", "7000"))  # usable after
        assert store.get_call("c2") is not None
