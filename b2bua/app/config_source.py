"""Reading the YAML configuration file and explaining what is wrong with it.

The YAML reader is PyYAML's safe loader with two traps removed: only plain decimal integers
become numbers (so ``+79161234567``, ``0101`` and ``12:30`` stay text instead of turning into an
integer, an octal number and a count of minutes), ``true``/``false`` are the only booleans, and
a key given twice in one mapping is an error instead of silently keeping the last value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails


class ConfigError(Exception):
    """A configuration that cannot be used; ``message`` says where and why, one problem a line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_INT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_REPLACED_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:timestamp",
}


def _key_text(key: Any) -> Any:
    if isinstance(key, bool):
        return str(key).lower()
    return str(key) if isinstance(key, (int, float)) else key


class _ConfigLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader with plain scalars resolved as described in the module docstring."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = _key_text(self.construct_object(key_node, deep=deep))
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"key {key!r} is given twice in one mapping (line "
                    f"{seen[key].start_mark.line + 1} and line {mark.line + 1})",
                    mark,
                )
            seen[key] = key_node
        mapping = super().construct_mapping(node, deep=deep)
        # Every mapping of the configuration is keyed by names: `7000:` and `4:` are text.
        return {_key_text(key): value for key, value in mapping.items()}


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-0123456789"))
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-.0123456789"))
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))


def parse_yaml(text: str, source: str = "<config>") -> Any:
    """Parse configuration text; a syntax error becomes a ``ConfigError`` naming line and column."""
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = error.problem or str(error)
        raise ConfigError(f"config error: {where}: {problem}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config error: {source}: {error}") from error


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config error: cannot read {path}: {error}") from error
    return parse_yaml(text, str(path))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(location: Sequence[int | str]) -> str:
    """``("keys", "4", "option")`` → ``keys."4".option``; list indexes in brackets."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _IDENTIFIER.match(part) else json.dumps(part, ensure_ascii=False)
        text += f".{name}" if text else name
    return text


def _clean_location(error: ErrorDetails) -> list[int | str]:
    location = [part for part in error["loc"] if part != "[key]"]
    # A key's option is a tagged union: pydantic puts the option name after the key.
    if len(location) >= 3 and location[0] == "keys" and error["type"] != "union_tag_invalid":
        del location[2]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = _discriminator_name(error)
        if discriminator == "option":
            location.append("option")
    return location


def _discriminator_name(error: ErrorDetails) -> str:
    context = error.get("ctx") or {}
    return str(context.get("discriminator", "")).strip("'").removesuffix("()")


def _got(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return ""
    shown = repr(value)
    return f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"


_CONTAINER_WORDS = {
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    if kind == "union_tag_invalid":
        expected = str(context.get("expected_tags", "")).replace("'", "")
        noun = _discriminator_name(error)
        return f"unknown {noun} {context.get('tag')!r} (expected one of {expected})"
    if kind == "union_tag_not_found":
        return "required"
    if kind in _CONTAINER_WORDS:
        return f"should be {_CONTAINER_WORDS[kind]}"
    message = error["msg"]
    if message.startswith("Input should be"):
        message = "should be" + message[len("Input should be") :]
    else:
        message = message[:1].lower() + message[1:]
    return message + _got(error.get("input"))


def describe_errors(error: ValidationError) -> str:
    """One ``config error: PATH: PROBLEM`` line per problem found by validation."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        problem = _problem(item)
        location = _clean_location(item)
        if not location:
            # Checks across sections already name their own paths, one per line.
            lines.extend(f"config error: {line}" for line in problem.splitlines())
        else:
            lines.append(f"config error: {format_path(location)}: {problem}")
    return "\n".join(dict.fromkeys(lines))
