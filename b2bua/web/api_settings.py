"""Settings: every section of the configuration, read and replaced whole, applied live."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from b2bua.app.config import ConfigError
from b2bua.web.control import CONTROL
from b2bua.web.jsonio import ApiError, answer, read_json
from b2bua.web.settings import (
    FIXED_SECTIONS,
    SECTIONS,
    config_problems,
    keep_secrets,
    key_options,
    public_section,
    public_settings,
)


def _section(request: web.Request) -> str:
    section = request.match_info["section"]
    if section not in SECTIONS:
        raise ApiError(404, f"no settings section {section!r} (known: {', '.join(SECTIONS)})")
    return section


async def get_settings(request: web.Request) -> web.Response:
    """``GET /api/settings``: every section, secrets left out."""
    return answer(public_settings(request.app[CONTROL].config))


async def get_section(request: web.Request) -> web.Response:
    return answer(public_section(request.app[CONTROL].config, _section(request)))


async def _replace(request: web.Request, section: str) -> web.Response:
    """Validate, persist and apply a whole section; 400 with the configuration's message (and
    its problems by key path) when refused, which changes nothing."""
    if section in FIXED_SECTIONS:
        raise ApiError(400, f"config error: {section}: cannot be changed while the service runs")
    value = await read_json(request)
    control = request.app[CONTROL]
    try:
        config = control.apply_settings(section, keep_secrets(control.config, section, value))
    except ConfigError as error:
        raise ApiError(400, error.message, problems=config_problems(error.message)) from None
    return answer(public_section(config, section))


async def put_section(request: web.Request) -> web.Response:
    """``PUT /api/settings/{section}`` with the whole section as the body."""
    return await _replace(request, _section(request))


async def delete_section(request: web.Request) -> web.Response:
    """``DELETE /api/settings/{section}``: forget the section changed through the API; the
    configuration file's section applies again (live). Answers that section."""
    section = _section(request)
    if section in FIXED_SECTIONS:
        raise ApiError(400, f"config error: {section}: cannot be changed while the service runs")
    control = request.app[CONTROL]
    try:
        config = control.reset_settings(section)
    except ConfigError as error:
        raise ApiError(400, error.message, problems=config_problems(error.message)) from None
    return answer(public_section(config, section))


async def get_keys(request: web.Request) -> web.Response:
    """``GET /api/keys``: the key map (key -> option with its parameters)."""
    return answer(public_section(request.app[CONTROL].config, "keys"))


async def put_keys(request: web.Request) -> web.Response:
    return await _replace(request, "keys")


async def get_key_options(request: web.Request) -> web.Response:
    """``GET /api/key-options``: the keys and the options the key editor offers."""
    return answer(key_options())


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/api/settings", get_settings),
    ("GET", "/api/settings/{section}", get_section),
    ("PUT", "/api/settings/{section}", put_section),
    ("DELETE", "/api/settings/{section}", delete_section),
    ("GET", "/api/keys", get_keys),
    ("PUT", "/api/keys", put_keys),
    ("GET", "/api/key-options", get_key_options),
)
