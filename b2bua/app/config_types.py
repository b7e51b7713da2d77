"""Value types of the configuration: extensions, phone numbers, sounds, ports, paths."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from b2bua.store.numbers import normalize_number

BUILTIN_SOUNDS = ("music", "welcome", "goodbye")
BUILTIN_PREFIX = "builtin:"


class Section(BaseModel):
    """A frozen part of the configuration that refuses keys it does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def _expand(cls, value: Any) -> Any:
        """Turn a short spelling into the full mapping (a hook for sections that have one)."""
        return value

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        value = cls._expand(value)
        if isinstance(value, dict):
            unknown = [key for key in value if key not in cls.model_fields]
            if unknown:
                names = sorted(cls.model_fields, key=lambda name: name != "option")
                expected = ", ".join(name for name in names if name != "kind")
                raise ValueError(f"unknown key {unknown[0]!r} (expected one of {expected})")
        return value


def _text(value: Any) -> Any:
    """YAML reads ``101`` as a number; extensions and phone numbers are text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _extension(value: str) -> str:
    if not re.fullmatch(r"[0-9]{2,6}", value):
        raise ValueError("must be 2-6 digits")
    return value


def _phone_number(value: str) -> str:
    try:
        return normalize_number(value)
    except ValueError:
        raise ValueError(f"not a phone number: {value!r}") from None


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"must be an IP address, got {value!r}") from None


def _name(value: str) -> str:
    if value != value.strip() or not value.isprintable():
        raise ValueError(f"names have no surrounding spaces or control characters: {value!r}")
    return value


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def _anchored(path: Path, info: ValidationInfo) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else _base_dir(info) / path


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """A relative path is taken from the config file's directory."""
    return None if value is None else _anchored(Path(value), info)


def _sound(value: str, info: ValidationInfo) -> str:
    if value.startswith(BUILTIN_PREFIX):
        name = value.removeprefix(BUILTIN_PREFIX)
        if name not in BUILTIN_SOUNDS:
            raise ValueError(
                f"unknown built-in sound {name!r} (expected one of {', '.join(BUILTIN_SOUNDS)})"
            )
        return value
    path = _anchored(Path(value), info)
    if path.suffix.lower() != ".wav":
        raise ValueError(f"sound files are WAV files (.wav), got {value!r}")
    if not path.is_file():
        raise ValueError(f"sound file not found: {path}")
    return str(path)


Extension = Annotated[str, BeforeValidator(_text), AfterValidator(_extension)]
PhoneNumber = Annotated[str, BeforeValidator(_text), AfterValidator(_phone_number)]
IPAddress = Annotated[str, AfterValidator(_ip_address)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64), BeforeValidator(_text),
                 AfterValidator(_name)]
Sound = Annotated[str, AfterValidator(_sound)]
Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[float, Field(gt=0)]


class PortRange(Section):
    """An RTP port range, written ``20000-29999``: starts on an even port (RTP even, RTCP odd)."""

    first: Port
    last: Port

    @classmethod
    def _expand(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*([0-9]+)\s*-\s*([0-9]+)\s*", value)
            if match is None:
                raise ValueError(f"expected FIRST-LAST, e.g. 20000-29999, got {value!r}")
            return {"first": int(match[1]), "last": int(match[2])}
        return value

    @model_validator(mode="after")
    def _usable(self) -> PortRange:
        if self.first % 2:
            raise ValueError(f"must start on an even port, got {self.first}")
        if self.first < 1024:
            raise ValueError("must not use privileged ports (below 1024)")
        if self.last <= self.first:
            raise ValueError("last port must be above the first")
        return self

    @property
    def pairs(self) -> int:
        """How many RTP/RTCP port pairs (streams) the range holds."""
        return (self.last - self.first + 1) // 2

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"
