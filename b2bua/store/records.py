"""The records a store keeps: plain frozen dataclasses going in and out of every backend.

Times are POSIX seconds (``float``) supplied by the caller; a store never reads the clock.
Numbers of clients (blacklist, personal managers, contacts) are kept normalized by
``b2bua.store.numbers.normalize_number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Direction = Literal["inbound", "outbound", "internal"]
Disposition = Literal[
    "answered", "busy", "no-answer", "cancelled", "failed", "rejected", "blacklisted"
]
HangupSide = Literal["caller", "callee", "system"]
SmsStatus = Literal["queued", "sending", "sent", "delivered", "failed"]
CredentialSource = Literal["generated", "config", "api"]

DIRECTIONS: frozenset[str] = frozenset(get_args(Direction))
DISPOSITIONS: frozenset[str] = frozenset(get_args(Disposition))
HANGUP_SIDES: frozenset[str] = frozenset(get_args(HangupSide))
SMS_STATUSES: frozenset[str] = frozenset(get_args(SmsStatus))
CREDENTIAL_SOURCES: frozenset[str] = frozenset(get_args(CredentialSource))


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of an address of record (RFC 3261 section 10, RFC 5626).

    ``aor`` is the employee's extension. ``transport``/``source_host``/``source_port`` say
    where the REGISTER came from (the flow to reach the phone behind NAT). ``path`` holds the
    Path header URIs in order (RFC 3327). ``instance_id`` is the ``+sip.instance`` value and
    ``reg_id`` the ``reg-id`` (RFC 5626); a binding with both replaces any older binding of the
    same AOR with the same pair, whatever its contact URI.
    """

    aor: str
    contact_uri: str
    transport: str
    source_host: str
    source_port: int
    expires_at: float
    call_id: str
    cseq: int
    user_agent: str = ""
    path: tuple[str, ...] = ()
    instance_id: str | None = None
    reg_id: int | None = None
    q: float | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """The digest password of one extension and where it came from."""

    extension: str
    password: str
    source: CredentialSource
    updated_at: float


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of the report. Fields left ``None`` are filled in as the call goes on."""

    id: str
    started_at: float
    direction: Direction
    caller_number: str
    called_number: str
    caller_name: str = ""
    employee: str | None = None
    answered_device: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    disposition: Disposition | None = None
    hangup_side: HangupSide | None = None
    duration: float | None = None


CALL_UPDATABLE_FIELDS: frozenset[str] = frozenset(
    {
        "caller_number",
        "caller_name",
        "called_number",
        "employee",
        "answered_device",
        "answered_at",
        "ended_at",
        "disposition",
        "hangup_side",
        "duration",
        "direction",
    }
)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Something that happened during a call: ``ringing``, ``answered``, ``option``, ``transfer``,
    ``trainer-joined`` ... ``detail`` is any JSON-able mapping."""

    id: int
    call_id: str
    at: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording file of a call; ``ended_at`` and ``size_bytes`` are set when it is finished."""

    id: int
    call_id: str
    path: str
    started_at: float
    channels: int
    format: str
    ended_at: float | None = None
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class CallDetail:
    """A call with everything attached to it, events in the order they were added."""

    call: CallRecord
    events: tuple[CallEvent, ...] = ()
    tags: tuple[str, ...] = ()
    recordings: tuple[Recording, ...] = ()

    def options_used(self) -> tuple[str, ...]:
        """The in-call options applied, from the ``option`` events (``detail["option"]``)."""
        return tuple(
            str(event.detail["option"])
            for event in self.events
            if event.kind == "option" and "option" in event.detail
        )


@dataclass(frozen=True, slots=True)
class ContactGroup:
    name: str
    created_at: float
    size: int = 0


@dataclass(frozen=True, slots=True)
class Contact:
    """A client number saved in a contact group; ``saved_by`` is the employee's extension."""

    group: str
    number: str
    saved_at: float
    display_name: str = ""
    saved_by: str | None = None


@dataclass(frozen=True, slots=True)
class PersonalManager:
    """The employee a client number rings first."""

    number: str
    extension: str
    assigned_at: float


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    number: str
    added_at: float
    reason: str = ""
    added_by: str | None = None


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """A message of the SMS outbox and its delivery state."""

    id: int
    to_number: str
    text: str
    status: SmsStatus
    attempts: int
    next_attempt_at: float
    created_at: float
    updated_at: float
    call_id: str | None = None
    last_error: str = ""
