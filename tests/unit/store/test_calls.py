"""The call report in the SQLite store: calls, events, tags, recordings."""

import pytest

from b2bua.store import (
    CallDetail,
    CallRecord,
    DuplicateCallError,
    NotFoundError,
    SqliteStore,
    UnknownCallError,
)


def new_call(call_id: str, started_at: float = 1000.0, **fields: object) -> CallRecord:
    values: dict[str, object] = {
        "direction": "inbound",
        "caller_number": "+79161234567",
        "called_number": "7000",
    }
    values.update(fields)
    return CallRecord(id=call_id, started_at=started_at, **values)  # type: ignore[arg-type]


def test_created_call_reads_back_with_nothing_attached(store: SqliteStore) -> None:
    call = new_call("c1", caller_name="Ivan", employee="101")
    store.create_call(call)
    detail = store.get_call("c1")
    assert detail is not None
    assert detail.call == call
    assert (detail.events, detail.tags, detail.recordings) == ((), (), ())
    assert store.get_call("nope") is None


def test_a_call_id_is_used_once(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    with pytest.raises(DuplicateCallError):
        store.create_call(new_call("c1"))


def test_bad_direction_is_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="direction"):
        store.create_call(new_call("c1", direction="sideways"))
    assert store.get_call("c1") is None


def test_update_fills_in_the_call_as_it_goes(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    store.update_call("c1", employee="101", answered_device="sip:101@10.0.0.5", answered_at=1003.5)
    store.update_call(
        "c1", ended_at=1063.5, disposition="answered", hangup_side="caller", duration=60.0
    )
    detail = store.get_call("c1")
    assert detail is not None
    call = detail.call
    assert (call.employee, call.answered_device, call.answered_at) == (
        "101", "sip:101@10.0.0.5", 1003.5
    )
    assert (call.ended_at, call.disposition, call.hangup_side, call.duration) == (
        1063.5, "answered", "caller", 60.0
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "c2"}, "cannot update"),
        ({"started_at": 5.0}, "cannot update"),
        ({"disposition": "hung"}, "disposition"),
        ({"hangup_side": "left"}, "hangup_side"),
        ({}, "at least one"),
    ],
)
def test_update_refuses_bad_fields(
    store: SqliteStore, changes: dict[str, object], message: str
) -> None:
    store.create_call(new_call("c1"))
    with pytest.raises(ValueError, match=message):
        store.update_call("c1", **changes)
    detail = store.get_call("c1")
    assert detail is not None and detail.call == new_call("c1")


def test_update_of_unknown_call_says_so(store: SqliteStore) -> None:
    with pytest.raises(UnknownCallError):
        store.update_call("ghost", disposition="failed")


def test_events_keep_order_and_json_detail(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    first = store.add_call_event("c1", 1001.0, "ringing", {"device": "sip:101@a"})
    store.add_call_event("c1", 1002.0, "answered")
    store.add_call_event("c1", 1010.0, "option", {"key": "1", "option": "tag", "ok": True})
    store.add_call_event("c1", 1020.0, "trainer-joined", {"trainer": "105", "n": [1, 2]})
    assert first.id > 0 and first.detail == {"device": "sip:101@a"}
    detail = store.get_call("c1")
    assert detail is not None
    assert [e.kind for e in detail.events] == ["ringing", "answered", "option", "trainer-joined"]
    assert detail.events[3].detail == {"trainer": "105", "n": [1, 2]}
    assert detail.events[1].detail == {}
    assert detail.options_used() == ("tag",)


def test_event_of_unknown_call_is_refused(store: SqliteStore) -> None:
    with pytest.raises(UnknownCallError):
        store.add_call_event("ghost", 1.0, "ringing")


def test_events_added_together_keep_their_order(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    store.create_call(new_call("c2"))
    store.add_call_events([("c1", 1.0, "ringing", {"devices": ["a"]}), ("c2", 2.0, "ringing", None),
                           ("c1", 3.0, "answered", None)])
    one, two = store.get_call("c1"), store.get_call("c2")
    assert one is not None and two is not None
    assert [(e.kind, e.at, e.detail) for e in one.events] == [
        ("ringing", 1.0, {"devices": ["a"]}), ("answered", 3.0, {})]
    assert [e.kind for e in two.events] == ["ringing"]


def test_events_added_together_are_all_refused_for_one_unknown_call(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    with pytest.raises(UnknownCallError):
        store.add_call_events([("c1", 1.0, "ringing", None), ("ghost", 2.0, "ringing", None)])
    detail = store.get_call("c1")
    assert detail is not None and detail.events == ()


def test_tags_are_idempotent_and_removable(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    assert store.add_call_tag("c1", "vip", 1001.0) is True
    assert store.add_call_tag("c1", "vip", 1002.0) is False
    assert store.add_call_tag("c1", "complaint", 1003.0) is True
    detail = store.get_call("c1")
    assert detail is not None and detail.tags == ("vip", "complaint")
    assert store.remove_call_tag("c1", "vip") is True
    assert store.remove_call_tag("c1", "vip") is False
    detail = store.get_call("c1")
    assert detail is not None and detail.tags == ("complaint",)
    with pytest.raises(UnknownCallError):
        store.add_call_tag("ghost", "vip", 1.0)
    with pytest.raises(ValueError):
        store.add_call_tag("c1", "", 1.0)


def test_recordings_are_added_then_finished(store: SqliteStore) -> None:
    store.create_call(new_call("c1"))
    recording = store.add_recording("c1", "/rec/c1.wav", 1005.0, 2, "wav")
    assert recording.ended_at is None and recording.size_bytes is None
    store.finish_recording(recording.id, 1065.0, 960_044)
    finished = store.get_recording(recording.id)
    assert finished is not None
    assert (finished.path, finished.channels, finished.format) == ("/rec/c1.wav", 2, "wav")
    assert (finished.ended_at, finished.size_bytes) == (1065.0, 960_044)
    assert store.list_recordings("c1") == [finished]
    detail = store.get_call("c1")
    assert detail is not None and detail.recordings == (finished,)
    with pytest.raises(NotFoundError):
        store.finish_recording(9999, 1.0, 1)
    with pytest.raises(UnknownCallError):
        store.add_recording("ghost", "/rec/x.wav", 1.0, 2, "wav")


@pytest.fixture
def report(store: SqliteStore) -> SqliteStore:
    store.create_call(new_call("a", 100.0, employee="101", caller_number="+79160000001"))
    store.create_call(new_call("b", 200.0, employee="102", caller_number="+79160000002"))
    store.create_call(
        new_call("c", 300.0, employee="101", direction="outbound", caller_number="101",
                 called_number="+79160000002")
    )
    store.create_call(new_call("d", 400.0, employee="103", caller_number="+79160000001"))
    store.add_call_tag("a", "vip", 101.0)
    store.add_call_tag("c", "vip", 301.0)
    store.add_call_tag("c", "sale", 302.0)
    store.add_call_event("c", 303.0, "option", {"option": "tag"})
    return store


def ids(calls: list[CallDetail]) -> list[str]:
    return [detail.call.id for detail in calls]


def test_list_is_most_recent_first_and_limited(report: SqliteStore) -> None:
    assert ids(report.list_calls()) == ["d", "c", "b", "a"]
    assert ids(report.list_calls(limit=2)) == ["d", "c"]
    with pytest.raises(ValueError):
        report.list_calls(limit=0)


def test_list_filters_combine(report: SqliteStore) -> None:
    assert ids(report.list_calls(tag="vip")) == ["c", "a"]
    assert ids(report.list_calls(employee="101")) == ["c", "a"]
    assert ids(report.list_calls(tag="sale", employee="101")) == ["c"]
    assert ids(report.list_calls(since=200.0, until=400.0)) == ["c", "b"]
    assert ids(report.list_calls(tag="nothing")) == []


def test_list_by_number_matches_either_party_however_spelled(report: SqliteStore) -> None:
    assert ids(report.list_calls(number="+7 916 000-00-02")) == ["c", "b"]
    assert ids(report.list_calls(number="+79160000001")) == ["d", "a"]


def test_listed_calls_carry_tags_and_options(report: SqliteStore) -> None:
    listed = {detail.call.id: detail for detail in report.list_calls()}
    assert listed["c"].tags == ("vip", "sale")
    assert listed["c"].options_used() == ("tag",)
    assert listed["b"].tags == ()
