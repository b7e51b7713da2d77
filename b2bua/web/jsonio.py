"""JSON in and out of the admin API: answers, errors, request bodies and query parameters.

Every failure of an API request is an ``ApiError`` (status and message) that the error
middleware turns into ``{"error": message}``; handlers raise it and never build error answers.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

JSON_TYPE = "application/json"


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, ``message`` says why;
    ``extra`` is merged into the JSON body (e.g. the problems of a refused setting)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def answer(data: Any, status: int = 200) -> web.Response:
    """A JSON answer (UTF-8, non-ASCII kept readable)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type=JSON_TYPE, charset="utf-8")


def error_answer(status: int, message: str, **extra: Any) -> web.Response:
    return answer({"error": message, **extra}, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 415 unless it is declared JSON, 400 when it does not parse."""
    if request.content_type != JSON_TYPE:
        raise ApiError(415, f"the body must be JSON (Content-Type: {JSON_TYPE})")
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}") from None


async def read_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def optional_text(body: dict[str, Any], name: str, max_length: int = 200) -> str | None:
    """A string field of a JSON object body, trimmed; ``None`` when absent or null; 400 when
    not a string or longer than ``max_length`` printable characters."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name}: must be a string")
    value = value.strip()
    if len(value) > max_length or not value.isprintable():
        raise ApiError(400, f"{name}: at most {max_length} printable characters")
    return value


def required_text(body: dict[str, Any], name: str, max_length: int = 200) -> str:
    """Like ``optional_text``, but 400 when the field is absent or empty."""
    value = optional_text(body, name, max_length)
    if value is None:
        raise ApiError(400, f"{name}: required")
    if not value:
        raise ApiError(400, f"{name}: must not be empty")
    return value


def query_time(request: web.Request, name: str) -> float | None:
    """A time query parameter: POSIX seconds or ISO 8601 (without a zone: UTC)."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ApiError(
                400, f"{name}: expected POSIX seconds or an ISO 8601 time, got {raw!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(value):
        raise ApiError(400, f"{name}: must be a finite number")
    return value


def query_limit(request: web.Request, default: int = 100, maximum: int = 1000) -> int:
    """The ``limit`` query parameter: a whole number from 1 to ``maximum``."""
    raw = request.query.get("limit", "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError(400, f"limit: expected a whole number from 1 to {maximum}, got {raw!r}")
    return int(raw)


def query_text(request: web.Request, name: str) -> str | None:
    """A text query parameter; absent or empty means no filter."""
    raw = request.query.get(name, "").strip()
    return raw or None
