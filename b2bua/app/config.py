"""The service configuration: pydantic models of every section, loaded from YAML.

A configuration is accepted whole or refused whole: ``load_config`` and ``apply_overrides`` either
return a new frozen ``Config`` or raise ``ConfigError`` whose message names each bad key path and
its problem (``config error: employees[2].extension: must be 2-6 digits``). Relative file paths
(sounds, ``data_dir``, the recording directory) are taken from the config file's directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from b2bua import __version__
from b2bua.app.config_checks import cross_check
from b2bua.app.config_source import ConfigError, describe_errors, read_yaml
from b2bua.app.config_types import (
    Extension,
    IPAddress,
    Name,
    PhoneNumber,
    Port,
    PortRange,
    Positive,
    Section,
    Sound,
    resolve_path,
)
from b2bua.store.numbers import number_or_none

# ---------------------------------------------------------------------------------- network


class SipConfig(Section):
    listen: IPAddress = "127.0.0.1"
    port: Port = 5060
    transports: tuple[Literal["udp", "tcp"], ...] = Field(default=("udp", "tcp"), min_length=1)
    advertised_address: str | None = None
    domain: str | None = None
    user_agent: str = f"b2bua/{__version__}"
    max_message_size: int = Field(default=65535, ge=1024, le=1_048_576)
    digest_algorithms: tuple[Literal["MD5", "SHA-256"], ...] = Field(
        default=("MD5",), min_length=1
    )
    trace: bool = False

    @model_validator(mode="after")
    def _reachable(self) -> SipConfig:
        if len(set(self.transports)) != len(self.transports):
            raise ValueError("transports: each transport once")
        if len(set(self.digest_algorithms)) != len(self.digest_algorithms):
            raise ValueError("digest_algorithms: each algorithm once")
        if self.listen in ("0.0.0.0", "::") and not self.advertised_address:
            raise ValueError(
                "advertised_address: required when listening on every address "
                "(the address phones and peers should use)"
            )
        return self

    @property
    def address(self) -> str:
        """The address put in Via, Contact and Record-Route."""
        return self.advertised_address or self.listen

    @property
    def realm(self) -> str:
        """The SIP domain of the office, also the digest realm: ``domain`` or ``address``."""
        return self.domain or self.address


class RegistrarConfig(Section):
    min_expires: int = Field(default=60, ge=1)
    max_expires: int = Field(default=3600, ge=1)
    default_expires: int = Field(default=3600, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> RegistrarConfig:
        if not self.min_expires <= self.default_expires <= self.max_expires:
            raise ValueError("needs min_expires <= default_expires <= max_expires")
        return self


class MediaConfig(Section):
    address: IPAddress = "127.0.0.1"
    advertised_address: str | None = None
    rtp_ports: PortRange = PortRange(first=20000, last=29999)
    rtp_timeout: Positive = 30.0
    inband_detection: bool = True
    workers: Annotated[int, Field(ge=0, le=64)] = 0
    """0: RTP in the service's own process; N: in N worker processes (one per spare core),
    each owning an equal share of ``rtp_ports``."""

    @model_validator(mode="after")
    def _consistent(self) -> MediaConfig:
        pairs = (self.rtp_ports.last - self.rtp_ports.first + 1) // 2
        if self.workers > pairs:
            raise ValueError(f"workers: {self.workers} workers need at least as many RTP port "
                             f"pairs; rtp_ports holds {pairs}")
        if self.address in ("0.0.0.0", "::") and not self.advertised_address:
            raise ValueError(
                "advertised_address: required when listening on every address "
                "(the address written in SDP)"
            )
        return self

    @property
    def sdp_address(self) -> str:
        return self.advertised_address or self.address


class WebConfig(Section):
    listen: IPAddress = "127.0.0.1"
    port: Port = 8080
    api_token: str | None = Field(default=None, min_length=16)


# ---------------------------------------------------------------------------------- people


class Employee(Section):
    extension: Extension
    name: str = Field(min_length=1)
    password: str | None = Field(default=None, min_length=8)
    numbers: tuple[PhoneNumber, ...] = ()
    trainer: Extension | None = None
    record_calls: bool = False


class NumberRoute(Section):
    """Where a company number goes: exactly one of ``ring``, ``ring_group``, ``scenario``."""

    ring: Extension | None = None
    ring_group: Name | None = None
    scenario: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> NumberRoute:
        given = [name for name in ("ring", "ring_group", "scenario") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of ring, ring_group, scenario")
        return self


# ---------------------------------------------------------------------------------- scenarios


def _shorthand(value: Any, kind: str, field: str) -> Any:
    """``{"play": "x.wav"}`` → ``{"file": "x.wav"}``; ``{"music": {...}}`` → ``{...}``."""
    if isinstance(value, dict) and set(value) == {kind}:
        inner = value[kind]
        return inner if isinstance(inner, dict) else {field: inner}
    if isinstance(value, dict) and value.get("kind") == kind:
        return {key: item for key, item in value.items() if key != "kind"}
    return value


class PlayStep(Section):
    kind: Literal["play"] = "play"
    file: Sound

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _shorthand(value, "play", "file")


class MusicStep(Section):
    kind: Literal["music"] = "music"
    seconds: Positive
    file: Sound = "builtin:music"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _shorthand(value, "music", "seconds")


class RingStep(Section):
    kind: Literal["ring"] = "ring"
    extension: Extension
    timeout: Positive | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _shorthand(value, "ring", "extension")


class RingGroupStep(Section):
    kind: Literal["ring_group"] = "ring_group"
    group: Name
    timeout: Positive | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _shorthand(value, "ring_group", "group")


class HangupStep(Section):
    kind: Literal["hangup"] = "hangup"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if value == "hangup" or (isinstance(value, dict) and set(value) == {"hangup"}):
            return {}
        return _shorthand(value, "hangup", "")


STEP_KINDS = ("play", "music", "ring", "ring_group", "hangup")


def step(value: Any) -> str:
    """The kind of a scenario step, written ``- hangup``, ``- play: x.wav`` or with ``kind:``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Section):
        return str(getattr(value, "kind", ""))
    if isinstance(value, dict):
        if "kind" in value:
            return str(value["kind"])
        if len(value) == 1:
            return str(next(iter(value)))
        return "+".join(str(key) for key in value)
    return str(value)


Step = Annotated[
    Annotated[PlayStep, Tag("play")]
    | Annotated[MusicStep, Tag("music")]
    | Annotated[RingStep, Tag("ring")]
    | Annotated[RingGroupStep, Tag("ring_group")]
    | Annotated[HangupStep, Tag("hangup")],
    Discriminator(step),
]


# ---------------------------------------------------------------------------------- key options


class _Option(Section):
    feedback: bool = True


class TagOption(_Option):
    option: Literal["tag"]
    tag: Name


class ScenarioOption(_Option):
    option: Literal["scenario"]
    scenario: Name


class ManagerOption(_Option):
    option: Literal["manager"]


class TrainerOption(_Option):
    option: Literal["trainer"]


class BlacklistOption(_Option):
    option: Literal["blacklist"]
    reason: str = ""


class ContactOption(_Option):
    option: Literal["contact"]
    group: Name


class RecordOption(_Option):
    option: Literal["record"]


class SmsOption(_Option):
    option: Literal["sms"]
    text: str | None = Field(default=None, min_length=1)


class MoveOption(_Option):
    option: Literal["move"]


KeyOption = Annotated[
    TagOption
    | ScenarioOption
    | ManagerOption
    | TrainerOption
    | BlacklistOption
    | ContactOption
    | RecordOption
    | SmsOption
    | MoveOption,
    Field(discriminator="option"),
]
OPTION_NAMES = (
    "tag", "scenario", "manager", "trainer", "blacklist", "contact", "record", "sms", "move"
)
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*")
TRANSFER_KEY = "#"


# ---------------------------------------------------------------------------------- behaviour


class TransferConfig(Section):
    mode: Literal["blind", "consult"] = "blind"
    answer_timeout: Positive = 20.0
    return_on_no_answer: bool = True
    digit_timeout: Positive = 3.0
    hold_music: Sound = "builtin:music"


class CallsConfig(Section):
    ring_timeout: Positive = 30.0
    manager_ring_timeout: Positive = 15.0
    session_expires: int = Field(default=1800, ge=90)
    min_session_expires: int = Field(default=90, ge=90)
    max_calls: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _session_timer(self) -> CallsConfig:
        if self.session_expires < self.min_session_expires:
            raise ValueError("session_expires: must not be below min_session_expires")
        return self


class BlacklistConfig(Section):
    reject_status: Literal[403, 480, 486, 603] = 603


class RecordingConfig(Section):
    directory: Path | None = None
    format: Literal["stereo-wav", "mono-wav"] = "stereo-wav"

    _directory = field_validator("directory")(resolve_path)

    def directory_in(self, data_dir: Path) -> Path:
        """Where recordings go: the configured directory, else ``DATA_DIR/recordings``."""
        return self.directory if self.directory is not None else Path(data_dir) / "recordings"


class TrunkConfig(Section):
    host: str = Field(min_length=1)
    port: Port = 5060
    transport: Literal["udp", "tcp"] = "udp"
    username: str | None = None
    password: str | None = None
    caller_id: PhoneNumber | None = None
    outbound_prefixes: tuple[str, ...] = ()
    outbound_pattern: str | None = None
    registration: bool = False

    @model_validator(mode="after")
    def _credentials(self) -> TrunkConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        if self.outbound_pattern is not None:
            try:
                re.compile(self.outbound_pattern)
            except re.error as error:
                raise ValueError(f"outbound_pattern: not a regular expression: {error}") from None
        return self

    def carries(self, number: str) -> bool:
        """Whether a dialed number matches the prefixes/pattern (no filter: everything)."""
        if self.outbound_prefixes and not number.startswith(tuple(self.outbound_prefixes)):
            return False
        pattern = self.outbound_pattern
        return pattern is None or re.fullmatch(pattern, number) is not None


class SmsConfig(Section):
    gateway: Literal["sip", "http"]
    uri: str | None = Field(default=None, pattern=r"^sips?:")
    url: str | None = Field(default=None, pattern=r"^https?://")
    sender: str = Field(default="Office", min_length=1)
    card_text: str = Field(min_length=1)
    max_attempts: int = Field(default=5, ge=1)
    retry_backoff: Positive = 30.0


# ---------------------------------------------------------------------------------- the whole


class Config(Section):
    data_dir: Path | None = None
    sip: SipConfig = SipConfig()
    registrar: RegistrarConfig = RegistrarConfig()
    media: MediaConfig = MediaConfig()
    web: WebConfig = WebConfig()
    employees: tuple[Employee, ...] = ()
    groups: dict[Name, tuple[Extension, ...]] = {}
    numbers: dict[PhoneNumber, NumberRoute] = {}
    scenarios: dict[Name, tuple[Step, ...]] = {}
    keys: dict[str, KeyOption] = {}
    transfer: TransferConfig = TransferConfig()
    calls: CallsConfig = CallsConfig()
    blacklist: BlacklistConfig = BlacklistConfig()
    recording: RecordingConfig = RecordingConfig()
    trunk: TrunkConfig | None = None
    sms: SmsConfig | None = None

    _data_dir = field_validator("data_dir")(resolve_path)

    @field_validator("numbers", mode="before")
    @classmethod
    def _distinct_numbers(cls, value: Any) -> Any:
        if isinstance(value, dict):
            seen: dict[str, Any] = {}
            for raw in value:
                key = number_or_none(str(raw))
                if key is not None and key in seen:
                    raise ValueError(f"{seen[key]!r} and {raw!r} are the same number {key}")
                seen.setdefault(key or str(raw), raw)
        return value

    @field_validator("keys", mode="before")
    @classmethod
    def _key_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        named: dict[str, Any] = {}
        for raw, option in value.items():
            key = str(raw)
            if key == TRANSFER_KEY:
                raise ValueError(f"'{TRANSFER_KEY}' is reserved for transfer")
            if key not in KEYS:
                raise ValueError(f"{key!r} is not a phone key (expected one of 0-9, *)")
            if key in named:
                raise ValueError(f"key {key!r} is given twice")
            named[key] = option
        return named

    @field_validator("scenarios")
    @classmethod
    def _steps_given(cls, value: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for name, steps in value.items():
            if not steps:
                raise ValueError(f"{name}: a scenario needs at least one step")
        return value

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = cross_check(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # look-ups used by the rest of the service, on every call: computed once per configuration
    # (a configuration never changes; a new one is a new object)

    _CACHED: ClassVar[tuple[str, ...]] = ("extensions", "employees_by_extension")

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Config:
        copy = super().model_copy(update=update, deep=deep)
        for name in self._CACHED:
            copy.__dict__.pop(name, None)
        return copy

    @cached_property
    def employees_by_extension(self) -> dict[str, Employee]:
        return {employee.extension: employee for employee in self.employees}

    def employee(self, extension: str) -> Employee | None:
        return self.employees_by_extension.get(extension)

    @cached_property
    def extensions(self) -> frozenset[str]:
        return frozenset(self.employees_by_extension)

    def trainees_of(self, trainer: str) -> tuple[Employee, ...]:
        return tuple(employee for employee in self.employees if employee.trainer == trainer)

    def route_for(self, number: str) -> NumberRoute | None:
        key = number_or_none(number)
        return None if key is None else self.numbers.get(key)

    def goes_to_trunk(self, number: str) -> bool:
        """A dialed number leaves through the trunk: a trunk exists, the number is not ours,
        and it matches the trunk's prefixes or pattern."""
        if self.trunk is None or number in self.extensions or self.route_for(number):
            return False
        return self.trunk.carries(number)


def parse_config(data: Any, base_dir: Path | None = None) -> Config:
    """Validate configuration data (as read from YAML or JSON); ``base_dir`` anchors relative
    paths (default: the working directory)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError("config error: the configuration must be a mapping of sections")
    context = {"base_dir": Path(base_dir) if base_dir is not None else Path.cwd()}
    try:
        return Config.model_validate(dict(data), context=context)
    except ValidationError as error:
        raise ConfigError(describe_errors(error)) from None


def load_config(path: Path | None) -> Config:
    """The configuration in ``path``; ``None`` gives the embedded demo office."""
    if path is None:
        from b2bua.app.defaults import default_office

        return default_office()
    path = Path(path)
    return parse_config(read_yaml(path), base_dir=path.resolve().parent)


DATA_DIR_ENV = "B2BUA_DATA_DIR"
DEFAULT_DATA_DIR = Path("b2bua-data")


def resolve_data_dir(
    config: Config, override: Path | None = None, environ: Mapping[str, str] = os.environ
) -> Path:
    """The data directory, first found of: ``--data-dir``, ``$B2BUA_DATA_DIR``, the config's
    ``data_dir``, ``./b2bua-data``; made absolute against the working directory."""
    if override is not None:
        chosen = Path(override)
    elif environ.get(DATA_DIR_ENV):
        chosen = Path(environ[DATA_DIR_ENV])
    elif config.data_dir is not None:
        chosen = config.data_dir
    else:
        chosen = DEFAULT_DATA_DIR
    return chosen.expanduser().absolute()


def apply_overrides(config: Config, overrides: Mapping[str, Any]) -> Config:
    """A new configuration with whole top-level sections replaced (``{"keys": {...}}``), as
    changed live through the HTTP API; refused whole when any part is invalid."""
    unknown = sorted(set(overrides) - set(Config.model_fields))
    if unknown:
        raise ConfigError(
            "\n".join(f"config error: {name}: unknown section" for name in unknown)
        )
    data = config.model_dump(mode="json")
    data.update(overrides)
    return parse_config(data)


__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_DATA_DIR",
    "KEYS",
    "OPTION_NAMES",
    "STEP_KINDS",
    "BlacklistConfig",
    "BlacklistOption",
    "CallsConfig",
    "Config",
    "ConfigError",
    "ContactOption",
    "Employee",
    "HangupStep",
    "KeyOption",
    "ManagerOption",
    "MediaConfig",
    "MoveOption",
    "MusicStep",
    "NumberRoute",
    "PlayStep",
    "RecordOption",
    "RecordingConfig",
    "RegistrarConfig",
    "RingGroupStep",
    "RingStep",
    "ScenarioOption",
    "SipConfig",
    "SmsConfig",
    "SmsOption",
    "Step",
    "TagOption",
    "TrainerOption",
    "TransferConfig",
    "TrunkConfig",
    "WebConfig",
    "apply_overrides",
    "load_config",
    "parse_config",
    "resolve_data_dir",
]
