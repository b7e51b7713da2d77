"""Settings as the admin API shows and takes them.

What goes out is the current configuration section by section, without its secrets (employee
passwords, the API token, the trunk password). What comes in is a whole section; a secret the
client left out keeps its current value, so that a section read, edited and put back changes only
what was edited. A refused section comes back as the configuration's own message, also split
into problems that name the key path, for a form to show each next to its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel

from b2bua.app.config import KEYS, TRANSFER_KEY, Config, KeyOption

# Fields that never leave the service: section -> field (in each item, for list sections).
SECRET_FIELDS: dict[str, str] = {"employees": "password", "web": "api_token", "trunk": "password"}

# Sections the API does not change while the service runs.
FIXED_SECTIONS = frozenset({"data_dir"})

SECTIONS: tuple[str, ...] = tuple(Config.model_fields)


def _without_secret(section: str, value: Any) -> Any:
    field = SECRET_FIELDS.get(section)
    if field is None:
        return value
    if isinstance(value, list):
        return [_without_secret(section, item) for item in value]
    if isinstance(value, dict):
        return {name: item for name, item in value.items() if name != field}
    return value


def public_settings(config: Config) -> dict[str, Any]:
    """Every section of ``config`` as JSON data, secrets left out."""
    data = config.model_dump(mode="json")
    return {section: _without_secret(section, value) for section, value in data.items()}


def public_section(config: Config, section: str) -> Any:
    """One section as JSON data, secrets left out; ``KeyError`` for an unknown section."""
    if section not in Config.model_fields:
        raise KeyError(section)
    value = config.model_dump(mode="json", include={section})[section]
    return _without_secret(section, value)


def _current_employee_secrets(config: Config) -> dict[str, str]:
    return {e.extension: e.password for e in config.employees if e.password is not None}


def keep_secrets(config: Config, section: str, value: Any) -> Any:
    """``value`` for ``section`` with the secrets it leaves out taken from ``config``.
    A secret given explicitly (even ``null``) is kept as given."""
    field = SECRET_FIELDS.get(section)
    if field is None:
        return value
    if section == "employees":
        if not isinstance(value, list):
            return value
        kept = _current_employee_secrets(config)
        return [_with_kept(item, field, kept.get(str(item.get("extension"))))
                if isinstance(item, dict) else item for item in value]
    current = getattr(config, section)
    secret = getattr(current, field, None) if current is not None else None
    return _with_kept(value, field, secret) if isinstance(value, dict) else value


def _with_kept(item: dict[str, Any], field: str, secret: str | None) -> dict[str, Any]:
    if field in item or secret is None:
        return item
    return {**item, field: secret}


# ------------------------------------------------------------------------ refused settings

_LINE = re.compile(r"^config error: (?P<rest>.*)$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = re.compile(r"\[([0-9]+)\]")
_DECODER = json.JSONDecoder()


def _path_parts(text: str) -> tuple[list[str | int], int] | None:
    """Read a key path (``keys."4".tag``, ``employees[2].extension``) from the start of
    ``text``; answer the parts and where the path ends, or ``None`` when there is none."""
    parts: list[str | int] = []
    position = 0
    while True:
        index = _INDEX.match(text, position)
        if index is not None and parts:
            parts.append(int(index[1]))
            position = index.end()
            continue
        if parts and text.startswith(": ", position):
            return parts, position
        if parts:
            if not text.startswith(".", position):
                return None
            position += 1
        name = _IDENTIFIER.match(text, position)
        if name is not None:
            parts.append(name[0])
            position = name.end()
            continue
        if not text.startswith('"', position):
            return None
        try:
            quoted, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            return None
        parts.append(str(quoted))


def config_problems(message: str) -> list[dict[str, Any]]:
    """The lines of a configuration error as ``{"path", "location", "problem"}``: ``location``
    is the key path as a list (``["keys", "4", "tag"]``), empty when the line names none."""
    problems: list[dict[str, Any]] = []
    for line in message.splitlines():
        matched = _LINE.match(line)
        rest = matched["rest"] if matched else line
        found = _path_parts(rest)
        if found is None:
            problems.append({"path": "", "location": [], "problem": rest})
            continue
        parts, end = found
        problems.append({"path": rest[:end], "location": parts, "problem": rest[end + 2:]})
    return problems


# ------------------------------------------------------------------------ the key options

OPTION_TITLES: dict[str, str] = {
    "tag": "Tag the call",
    "scenario": "Run a scenario",
    "manager": "Assign personal manager",
    "trainer": "Call the trainer",
    "blacklist": "Add to blacklist",
    "contact": "Save contact",
    "record": "Record the call",
    "sms": "Send SMS business card",
    "move": "Move to another device",
}

OPTION_HELP: dict[str, str] = {
    "tag": "The call gets a tag, shown in the report and usable as a filter.",
    "scenario": "The client is taken into an incoming-call scenario (its music and messages); "
                "the employee's leg is hung up.",
    "manager": "The client's number is saved with the pressing employee as personal manager.",
    "trainer": "The employee's trainer joins: hears everyone, the client does not hear them.",
    "blacklist": "The caller's number goes on the blacklist; further calls are blocked.",
    "contact": "The client's number is saved in the chosen contact group.",
    "record": "Recording starts now, unless it is already on.",
    "sms": "The company's SMS business card is sent to the client.",
    "move": "The employee's other devices and numbers ring; the one answered takes the call.",
}

_COMMON_FIELDS = ("option", "feedback")


def _option_models() -> Iterator[tuple[str, type[BaseModel]]]:
    union = get_args(KeyOption)[0]
    for model in get_args(union):
        name = get_args(model.model_fields["option"].annotation)[0]
        yield str(name), model


def key_options() -> dict[str, Any]:
    """What the key editor offers: the keys, and each option with its title, help and
    parameter fields (name, required, default)."""
    options: dict[str, Any] = {}
    for name, model in _option_models():
        fields = [
            {
                "name": field_name,
                "required": info.is_required(),
                "default": None if info.is_required() else info.default,
            }
            for field_name, info in model.model_fields.items()
            if field_name not in _COMMON_FIELDS
        ]
        options[name] = {
            "title": OPTION_TITLES.get(name, name),
            "help": OPTION_HELP.get(name, ""),
            "fields": fields,
        }
    return {"keys": list(KEYS), "transfer_key": TRANSFER_KEY, "options": options}
