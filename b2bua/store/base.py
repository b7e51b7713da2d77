"""What every store backend offers: the ``Store`` protocol and its errors.

The API is synchronous and short: each write is one transaction committed before the method
returns, so a crash of the service loses nothing a method already acknowledged. Methods taking
a client number normalize it (``normalize_number``); write methods refuse text holding no number
with ``ValueError``, look-ups answer "not found" for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from b2bua.store.records import (
    Binding,
    BlacklistEntry,
    CallDetail,
    CallEvent,
    CallRecord,
    Contact,
    ContactGroup,
    Credential,
    CredentialSource,
    PersonalManager,
    Recording,
    SmsMessage,
    SmsStatus,
)


class StoreError(Exception):
    """The store cannot do what was asked (the base of the errors below)."""


class NotFoundError(StoreError, LookupError):
    """An operation named a record the store does not hold."""


class UnknownCallError(NotFoundError):
    """An operation named a call id the store does not hold."""


class DuplicateCallError(StoreError):
    """``create_call`` was given an id that is already used."""


class SchemaError(StoreError):
    """The store file was written by another version of the service."""


@runtime_checkable
class Store(Protocol):
    """Persistence of the registrar, the report and the settings changed at run time."""

    def close(self) -> None: ...

    def batch(self, *, atomic_writes: bool = True) -> AbstractContextManager[None]:
        """Many writes in one transaction (one commit). With `atomic_writes` each write inside
        stays atomic on its own; without, a failing write rolls the whole batch back."""

    # bindings (registrar)
    def save_binding(self, binding: Binding) -> None:
        """Add or refresh: replaces the binding with the same AOR and contact URI, and the one
        with the same AOR, instance-id and reg-id when both are given."""

    def remove_binding(self, aor: str, contact_uri: str) -> bool: ...
    def remove_bindings(self, aor: str) -> int: ...
    def list_bindings(self, aor: str, now: float | None = None) -> list[Binding]:
        """Bindings of one AOR; with ``now``, only those not yet expired."""

    def list_all_bindings(self, now: float | None = None) -> list[Binding]: ...
    def purge_expired_bindings(self, now: float) -> int: ...

    # credentials
    def set_password(
        self, extension: str, password: str, source: CredentialSource, now: float
    ) -> None: ...
    def get_password(self, extension: str) -> str | None: ...
    def list_credentials(self) -> list[Credential]: ...
    def delete_password(self, extension: str) -> bool: ...

    # calls (the report)
    def create_call(self, call: CallRecord) -> None:
        """Raises ``DuplicateCallError`` when the id exists."""

    def update_call(self, call_id: str, **changes: object) -> None:
        """Set fields of ``CallRecord`` (not ``id``, not ``started_at``). Raises
        ``UnknownCallError`` for an unknown id, ``ValueError`` for a bad field or value."""

    def add_call_event(
        self, call_id: str, at: float, kind: str, detail: Mapping[str, Any] | None = None
    ) -> CallEvent: ...
    def add_call_events(
        self, events: Sequence[tuple[str, float, str, Mapping[str, Any] | None]]
    ) -> None:
        """Many ``add_call_event`` at once (call id, time, kind, detail), in this order.
        Raises ``UnknownCallError`` (and adds none) when one names an unknown call."""

    def add_call_tag(self, call_id: str, tag: str, at: float) -> bool:
        """``True`` when the tag is new on this call (a second press changes nothing)."""

    def remove_call_tag(self, call_id: str, tag: str) -> bool: ...
    def get_call(self, call_id: str) -> CallDetail | None: ...
    def list_calls(
        self,
        *,
        tag: str | None = None,
        employee: str | None = None,
        number: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[CallDetail]:
        """Most recent first. ``number`` matches the caller or the called number;
        ``since``/``until`` bound ``started_at`` (``since`` inclusive, ``until`` exclusive)."""

    # contacts
    def create_contact_group(self, name: str, now: float) -> bool: ...
    def list_contact_groups(self) -> list[ContactGroup]: ...
    def save_contact(self, contact: Contact) -> bool:
        """Creates the group if needed. ``False`` when the number is already in the group
        (the first save is kept)."""

    def list_contacts(self, group: str) -> list[Contact]: ...
    def find_contacts(self, number: str) -> list[Contact]: ...
    def delete_contact(self, group: str, number: str) -> bool: ...
    def delete_contact_group(self, name: str) -> int:
        """Removes the group and its contacts; answers how many contacts went with it."""

    # personal managers
    def set_manager(self, number: str, extension: str, now: float) -> None: ...
    def get_manager(self, number: str) -> PersonalManager | None: ...
    def delete_manager(self, number: str) -> bool: ...
    def list_managers(self) -> list[PersonalManager]: ...

    # blacklist
    def add_to_blacklist(self, entry: BlacklistEntry) -> bool:
        """``False`` when the number was already listed (the first entry is kept)."""

    def remove_from_blacklist(self, number: str) -> bool: ...
    def is_blacklisted(self, number: str) -> bool: ...
    def get_blacklist_entry(self, number: str) -> BlacklistEntry | None: ...
    def list_blacklist(self) -> list[BlacklistEntry]: ...

    # recordings
    def add_recording(
        self, call_id: str, path: str, started_at: float, channels: int, format: str
    ) -> Recording: ...
    def finish_recording(self, recording_id: int, ended_at: float, size_bytes: int) -> None: ...
    def get_recording(self, recording_id: int) -> Recording | None: ...
    def list_recordings(self, call_id: str) -> list[Recording]: ...

    # SMS outbox
    def queue_sms(
        self, to_number: str, text: str, now: float, call_id: str | None = None
    ) -> SmsMessage: ...
    def due_sms(self, now: float, limit: int = 20) -> list[SmsMessage]:
        """Queued messages whose next attempt time has come, oldest first."""

    def update_sms(
        self,
        sms_id: int,
        status: SmsStatus,
        now: float,
        *,
        attempts: int | None = None,
        next_attempt_at: float | None = None,
        last_error: str | None = None,
    ) -> SmsMessage: ...
    def requeue_sending_sms(self, now: float) -> int:
        """Put messages left ``sending`` (by a crash) back in the queue, due at ``now``."""

    def get_sms(self, sms_id: int) -> SmsMessage | None: ...
    def list_sms(self, status: SmsStatus | None = None, limit: int = 100) -> list[SmsMessage]: ...

    # settings (live overrides)
    def get_setting(self, key: str, default: Any = None) -> Any: ...
    def set_setting(self, key: str, value: Any, now: float) -> None: ...
    def delete_setting(self, key: str) -> bool: ...
    def list_settings(self) -> dict[str, Any]: ...
