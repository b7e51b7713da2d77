"""Persistence: the registrar's bindings, the call report, contacts, managers, blacklist,
recordings, the SMS outbox and live settings, behind the ``Store`` protocol."""

from b2bua.store.base import (
    DuplicateCallError,
    NotFoundError,
    SchemaError,
    Store,
    StoreError,
    UnknownCallError,
)
from b2bua.store.numbers import normalize_number, number_or_none
from b2bua.store.records import (
    CALL_UPDATABLE_FIELDS,
    Binding,
    BlacklistEntry,
    CallDetail,
    CallEvent,
    CallRecord,
    Contact,
    ContactGroup,
    Credential,
    PersonalManager,
    Recording,
    SmsMessage,
)
from b2bua.store.sqlite import STORE_FILE_NAME, SqliteStore, open_store, store_path

__all__ = [
    "CALL_UPDATABLE_FIELDS",
    "STORE_FILE_NAME",
    "Binding",
    "BlacklistEntry",
    "CallDetail",
    "CallEvent",
    "CallRecord",
    "Contact",
    "ContactGroup",
    "Credential",
    "DuplicateCallError",
    "NotFoundError",
    "PersonalManager",
    "Recording",
    "SchemaError",
    "SmsMessage",
    "SqliteStore",
    "Store",
    "StoreError",
    "UnknownCallError",
    "normalize_number",
    "number_or_none",
    "open_store",
    "store_path",
]
