"""The report (calls, tags, recordings) and the calls in progress (the app's buttons)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from aiohttp import web

from b2bua.app.config import KEYS, TRANSFER_KEY
from b2bua.store import UnknownCallError
from b2bua.web.control import CLOCK, CONTROL
from b2bua.web.jsonio import (
    ApiError,
    answer,
    no_content,
    query_limit,
    query_text,
    query_time,
    read_object,
    required_text,
)
from b2bua.web.records import call_json

TAG_MAX_LENGTH = 64
WAV_TYPE = "audio/wav"


async def list_calls(request: web.Request) -> web.Response:
    """``GET /api/calls?tag=&employee=&number=&since=&until=&limit=``, newest first."""
    store = request.app[CONTROL].store
    since, until = query_time(request, "since"), query_time(request, "until")
    try:
        calls = store.list_calls(
            tag=query_text(request, "tag"),
            employee=query_text(request, "employee"),
            number=query_text(request, "number"),
            since=since,
            until=until,
            limit=query_limit(request),
        )
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return answer({"calls": [call_json(detail) for detail in calls]})


def _call(request: web.Request) -> dict[str, Any]:
    call_id = request.match_info["call_id"]
    detail = request.app[CONTROL].store.get_call(call_id)
    if detail is None:
        raise ApiError(404, f"no call {call_id!r}")
    return call_json(detail)


async def get_call(request: web.Request) -> web.Response:
    return answer(_call(request))


async def add_tag(request: web.Request) -> web.Response:
    """``POST /api/calls/{id}/tags {"tag": "..."}``: 201 when new, 200 when already there."""
    body = await read_object(request)
    tag = required_text(body, "tag", max_length=TAG_MAX_LENGTH)
    control = request.app[CONTROL]
    call_id = request.match_info["call_id"]
    try:
        added = control.store.add_call_tag(call_id, tag, request.app[CLOCK]())
    except UnknownCallError:
        raise ApiError(404, f"no call {call_id!r}") from None
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    call = _call(request)
    return answer({"added": added, "tag": tag, "tags": call["tags"]}, status=201 if added else 200)


async def remove_tag(request: web.Request) -> web.Response:
    """``DELETE /api/calls/{id}/tags/{tag}``: 204, or 404 when the call lacks the tag."""
    call_id, tag = request.match_info["call_id"], request.match_info["tag"]
    if not request.app[CONTROL].store.remove_call_tag(call_id, tag):
        raise ApiError(404, f"call {call_id!r} has no tag {tag!r}")
    return no_content()


def recording_file(directory: Path, stored: str) -> Path:
    """The file of a recording, which must lie under ``directory`` once links are followed;
    a relative stored path is taken from ``directory``. 403 outside it, 404 when missing."""
    base = directory.resolve()
    path = Path(stored)
    if not path.is_absolute():
        path = base / path
    resolved = path.resolve()
    if not resolved.is_relative_to(base):
        raise ApiError(403, "the recording file is outside the recordings directory")
    if not resolved.is_file():
        raise ApiError(404, "the recording file is missing")
    return resolved


async def get_recording(request: web.Request) -> web.StreamResponse:
    """``GET /api/recordings/{id}``: the WAV file (``Range`` requests answered 206)."""
    raw = request.match_info["recording_id"]
    control = request.app[CONTROL]
    recording = control.store.get_recording(int(raw)) if raw.isdigit() else None
    if recording is None:
        raise ApiError(404, f"no recording {raw!r}")
    directory = control.config.recording.directory_in(control.data_dir)
    path = recording_file(directory, recording.path)
    headers = {
        "Content-Type": WAV_TYPE,
        "Content-Disposition": f'inline; filename="recording-{recording.id}.wav"',
        "Cache-Control": "private, no-store",
    }
    return web.FileResponse(path, headers=headers)


async def list_live_calls(request: web.Request) -> web.Response:
    return answer({"calls": request.app[CONTROL].live_calls()})


async def press_key(request: web.Request) -> web.Response:
    """``POST /api/live-calls/{id}/keys/{key}``: as if the call's employee pressed the key."""
    call_id, key = request.match_info["call_id"], request.match_info["key"]
    if key not in KEYS and key != TRANSFER_KEY:
        raise ApiError(400, f"{key!r} is not a phone key (expected 0-9, * or #)")
    try:
        outcome = request.app[CONTROL].press_key(call_id, key)
        if inspect.isawaitable(outcome):
            outcome = await outcome
    except KeyError:
        raise ApiError(404, f"no call {call_id!r} in progress") from None
    except ValueError as error:
        raise ApiError(400, str(error) or f"key {key!r} starts no option") from None
    return answer({"call_id": call_id, "key": key, "result": outcome})


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/api/calls", list_calls),
    ("GET", "/api/calls/{call_id}", get_call),
    ("POST", "/api/calls/{call_id}/tags", add_tag),
    ("DELETE", "/api/calls/{call_id}/tags/{tag}", remove_tag),
    ("GET", "/api/recordings/{recording_id}", get_recording),
    ("GET", "/api/live-calls", list_live_calls),
    ("POST", "/api/live-calls/{call_id}/keys/{key}", press_key),
)
