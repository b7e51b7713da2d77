"""The report over HTTP: calls with their filters, tags, recordings; live calls and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b2bua.store import CallRecord

from .conftest import NOW, Api, OfficeControl, write_wav


async def test_calls_come_newest_first_with_tags_events_options_and_recordings(
    api: Api, report: dict[str, Any]
) -> None:
    calls = (await api.json("GET", "/api/calls"))["calls"]
    assert [call["id"] for call in calls] == ["c-new", "c-out", "c-old"]
    old = calls[2]
    assert old["tags"] == ["important"]
    assert old["options_used"] == ["record"]
    assert [event["kind"] for event in old["events"]] == ["answered", "option"]
    assert old["events"][1]["detail"] == {"option": "record", "key": "7"}
    assert old["recordings"] == [{
        "id": report["recording_id"], "call_id": "c-old", "file": "c-old.wav",
        "url": f"/api/recordings/{report['recording_id']}", "started_at": NOW - 3550,
        "ended_at": NOW - 3500, "channels": 2, "format": "stereo-wav",
        "size_bytes": len(report["wav"]),
    }]
    assert "path" not in old["recordings"][0]
    assert old["caller_number"] == "+79161234567" and old["disposition"] == "answered"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=important", ["c-old"]),
        ("tag=nothing", []),
        ("employee=101", ["c-out", "c-old"]),
        ("number=%2B7%20916%20123-45-67", ["c-old"]),
        ("number=7001", ["c-new"]),
        (f"since={NOW - 700}", ["c-new", "c-out"]),
        (f"until={NOW - 600}", ["c-old"]),
        ("since=2023-11-14T21:30:00", ["c-new", "c-out"]),  # NOW is 22:13:20 UTC
        ("since=2023-11-14T22:00:00%2B02:00", ["c-new", "c-out", "c-old"]),
        ("limit=1", ["c-new"]),
        ("employee=101&limit=1", ["c-out"]),
        ("tag=&employee=", ["c-new", "c-out", "c-old"]),
    ],
)
async def test_calls_filter(api: Api, report: dict[str, Any], query: str,
                            expected: list[str]) -> None:
    calls = (await api.json("GET", f"/api/calls?{query}"))["calls"]
    assert [call["id"] for call in calls] == expected


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("since=yesterday", "since"),
        ("until=nan", "until"),
    ],
)
async def test_bad_call_filters_answer_400(api: Api, query: str, problem: str) -> None:
    body = await api.json("GET", f"/api/calls?{query}", status=400)
    assert body["error"].startswith(f"{problem}:")


async def test_one_call_and_an_unknown_one(api: Api, report: dict[str, Any]) -> None:
    call = await api.json("GET", "/api/calls/c-new")
    assert call["id"] == "c-new" and call["options_used"] == ["contact"]
    body = await api.json("GET", "/api/calls/c-missing", status=404)
    assert body == {"error": "no call 'c-missing'"}


async def test_tagging_a_call_adds_once_and_shows_in_the_report(
    api: Api, report: dict[str, Any], control: OfficeControl
) -> None:
    added = await api.json("POST", "/api/calls/c-new/tags", status=201, json={"tag": " vip "})
    assert added == {"added": True, "tag": "vip", "tags": ["vip"]}
    again = await api.json("POST", "/api/calls/c-new/tags", status=200, json={"tag": "vip"})
    assert again["added"] is False and again["tags"] == ["vip"]
    calls = (await api.json("GET", "/api/calls?tag=vip"))["calls"]
    assert [call["id"] for call in calls] == ["c-new"]
    detail = control.store.get_call("c-new")
    assert detail is not None and detail.tags == ("vip",)


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"data": "tag=vip", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
         415, "the body must be JSON"),
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}},
         400, "the body is not valid JSON"),
        ({"json": ["vip"]}, 400, "the body must be a JSON object"),
        ({"json": {}}, 400, "tag: required"),
        ({"json": {"tag": "  "}}, 400, "tag: must not be empty"),
        ({"json": {"tag": 7}}, 400, "tag: must be a string"),
        ({"json": {"tag": "x" * 65}}, 400, "tag: at most 64"),
        ({"json": {"tag": "a\nb"}}, 400, "tag: at most 64"),
    ],
)
async def test_bad_tag_bodies(api: Api, report: dict[str, Any], kwargs: dict[str, Any],
                              status: int, error: str) -> None:
    body = await api.json("POST", "/api/calls/c-new/tags", status=status, **kwargs)
    assert body["error"].startswith(error)


async def test_tagging_an_unknown_call_answers_404(api: Api) -> None:
    body = await api.json("POST", "/api/calls/c-missing/tags", status=404, json={"tag": "x"})
    assert body["error"] == "no call 'c-missing'"


async def test_removing_a_tag(api: Api, report: dict[str, Any], control: OfficeControl) -> None:
    response = await api.request("DELETE", "/api/calls/c-old/tags/important")
    assert response.status == 204
    detail = control.store.get_call("c-old")
    assert detail is not None and detail.tags == ()
    body = await api.json("DELETE", "/api/calls/c-old/tags/important", status=404)
    assert "no tag 'important'" in body["error"]


async def test_a_tag_with_spaces_and_slashes_is_removed_by_its_encoded_name(
    api: Api, report: dict[str, Any]
) -> None:
    await api.json("POST", "/api/calls/c-new/tags", status=201, json={"tag": "call back/later"})
    response = await api.request("DELETE", "/api/calls/c-new/tags/call%20back%2Flater")
    assert response.status == 204
    assert (await api.json("GET", "/api/calls/c-new"))["tags"] == []


# ---------------------------------------------------------------------------------- recordings


async def test_a_recording_downloads_with_its_bytes(api: Api, report: dict[str, Any]) -> None:
    response = await api.request("GET", f"/api/recordings/{report['recording_id']}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert await response.read() == report["wav"]


async def test_a_recording_answers_range_requests(api: Api, report: dict[str, Any]) -> None:
    response = await api.request("GET", f"/api/recordings/{report['recording_id']}",
                                 headers={"Range": "bytes=44-99"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 44-99/{len(report['wav'])}"
    assert await response.read() == report["wav"][44:100]


async def test_a_recording_needs_the_token(api: Api, report: dict[str, Any]) -> None:
    response = await api.client.get(f"/api/recordings/{report['recording_id']}")
    assert response.status == 401


@pytest.mark.parametrize("raw", ["999", "abc", "-1"])
async def test_unknown_recordings_answer_404(api: Api, report: dict[str, Any], raw: str) -> None:
    body = await api.json("GET", f"/api/recordings/{raw}", status=404)
    assert body["error"] == f"no recording {raw!r}"


def _recording_at(control: OfficeControl, path: str) -> int:
    if control.store.get_call("c-x") is None:
        control.store.create_call(CallRecord(
            id="c-x", started_at=NOW, direction="inbound", caller_number="1",
            called_number="7000",
        ))
    return int(control.store.add_recording("c-x", path, NOW, 1, "mono-wav").id)


async def test_recordings_outside_the_directory_are_refused(
    api: Api, control: OfficeControl, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.wav"
    write_wav(secret, b"\x01\x02" * 100, channels=1)
    directory = control.config.recording.directory_in(control.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "link.wav").symlink_to(secret)
    for stored in (str(secret), "../../secret.wav", str(directory / ".." / ".." / "secret.wav"),
                   "link.wav", "/etc/passwd"):
        recording_id = _recording_at(control, stored)
        response = await api.request("GET", f"/api/recordings/{recording_id}")
        body = await response.json()
        assert response.status == 403, stored
        assert body["error"] == "the recording file is outside the recordings directory"


async def test_a_relative_recording_path_is_taken_from_the_directory(
    api: Api, control: OfficeControl
) -> None:
    directory = control.config.recording.directory_in(control.data_dir)
    data = write_wav(directory / "day" / "c-x.wav", b"\x00\x01" * 80, channels=1)
    recording_id = _recording_at(control, "day/c-x.wav")
    response = await api.request("GET", f"/api/recordings/{recording_id}")
    assert response.status == 200
    assert await response.read() == data


async def test_a_missing_recording_file_answers_404(api: Api, control: OfficeControl) -> None:
    recording_id = _recording_at(control, "gone.wav")
    body = await api.json("GET", f"/api/recordings/{recording_id}", status=404)
    assert body["error"] == "the recording file is missing"


# ---------------------------------------------------------------------------------- live calls


@pytest.fixture
def live_call(control: OfficeControl, report: dict[str, Any]) -> dict[str, Any]:
    call = {"id": "c-new", "started": NOW - 60, "state": "talking", "client": "+74951112233",
            "employee": "102", "legs": ["client", "employee"], "options": []}
    control.live["c-new"] = call
    return call


async def test_live_calls_are_listed(api: Api, live_call: dict[str, Any]) -> None:
    assert await api.json("GET", "/api/live-calls") == {"calls": [live_call]}


async def test_a_key_button_acts_like_the_employees_key(
    api: Api, live_call: dict[str, Any], control: OfficeControl
) -> None:
    body = await api.json("POST", "/api/live-calls/c-new/keys/1")
    assert body == {"call_id": "c-new", "key": "1", "result": {"option": "tag", "done": True}}
    detail = control.store.get_call("c-new")
    assert detail is not None and detail.tags == ("important",)
    body = await api.json("POST", "/api/live-calls/c-new/keys/6")
    assert body["result"]["option"] == "contact"
    assert (await api.json("GET", "/api/live-calls"))["calls"][0]["options"] == ["tag", "contact"]


async def test_key_buttons_refuse_unknown_calls_and_unused_or_bad_keys(
    api: Api, live_call: dict[str, Any]
) -> None:
    body = await api.json("POST", "/api/live-calls/c-old/keys/1", status=404)
    assert body["error"] == "no call 'c-old' in progress"
    body = await api.json("POST", "/api/live-calls/c-new/keys/*", status=400)
    assert body["error"] == "key '*' starts no option"
    body = await api.json("POST", "/api/live-calls/c-new/keys/%23", status=400)
    assert body["error"] == "key '#' starts no option"  # reached the service
    body = await api.json("POST", "/api/live-calls/c-new/keys/x", status=400)
    assert body["error"].startswith("'x' is not a phone key")
    body = await api.json("POST", "/api/live-calls/c-new/keys/12", status=400)
    assert body["error"].startswith("'12' is not a phone key")


async def test_a_key_button_awaits_a_service_that_acts_asynchronously(
    api: Api, live_call: dict[str, Any], control: OfficeControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def press_later(call_id: str, key: str) -> dict[str, Any]:
        return {"option": "transfer", "call": call_id, "key": key}

    monkeypatch.setattr(control, "press_key", press_later)
    body = await api.json("POST", "/api/live-calls/c-new/keys/%23")
    assert body["result"] == {"option": "transfer", "call": "c-new", "key": "#"}
