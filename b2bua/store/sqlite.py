"""The embedded store: one SQLite file in the data directory (WAL journal, foreign keys on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from b2bua.store.numbers import normalize_number, number_or_none
from b2bua.store.records import (
    CREDENTIAL_SOURCES,
    Binding,
    BlacklistEntry,
    Contact,
    ContactGroup,
    Credential,
    CredentialSource,
    PersonalManager,
)
from b2bua.store.sqlite_base import Row
from b2bua.store.sqlite_calls import CallTables

STORE_FILE_NAME = "b2bua.sqlite3"


def _binding_from_row(row: Row) -> Binding:
    return Binding(
        aor=row["aor"],
        contact_uri=row["contact_uri"],
        transport=row["transport"],
        source_host=row["source_host"],
        source_port=row["source_port"],
        expires_at=row["expires_at"],
        call_id=row["call_id"],
        cseq=row["cseq"],
        user_agent=row["user_agent"],
        path=tuple(json.loads(row["path"])),
        instance_id=row["instance_id"],
        reg_id=row["reg_id"],
        q=row["q"],
    )


def _contact_from_row(row: Row) -> Contact:
    return Contact(
        group=row["group_name"],
        number=row["number"],
        saved_at=row["saved_at"],
        display_name=row["display_name"],
        saved_by=row["saved_by"],
    )


def _blacklist_from_row(row: Row) -> BlacklistEntry:
    return BlacklistEntry(
        number=row["number"], added_at=row["added_at"], reason=row["reason"],
        added_by=row["added_by"],
    )


class SqliteStore(CallTables):
    """The ``Store`` protocol on a SQLite file. ``read_only=True`` opens it for listings
    (the command line) without taking write locks or migrating."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        super().__init__(path, read_only=read_only)

    # bindings

    def save_binding(self, binding: Binding) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM bindings WHERE aor = ? AND (contact_uri = ?"
                " OR (instance_id IS NOT NULL AND reg_id IS NOT NULL"
                " AND instance_id = ? AND reg_id = ?))",
                (binding.aor, binding.contact_uri, binding.instance_id, binding.reg_id),
            )
            conn.execute(
                "INSERT INTO bindings (aor, contact_uri, transport, source_host, source_port,"
                " expires_at, call_id, cseq, user_agent, path, instance_id, reg_id, q)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    binding.aor, binding.contact_uri, binding.transport, binding.source_host,
                    binding.source_port, binding.expires_at, binding.call_id, binding.cseq,
                    binding.user_agent, json.dumps(list(binding.path)), binding.instance_id,
                    binding.reg_id, binding.q,
                ),
            )

    def remove_binding(self, aor: str, contact_uri: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM bindings WHERE aor = ? AND contact_uri = ?", (aor, contact_uri)
            )
        return cursor.rowcount > 0

    def remove_bindings(self, aor: str) -> int:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM bindings WHERE aor = ?", (aor,))
        return cursor.rowcount

    def list_bindings(self, aor: str, now: float | None = None) -> list[Binding]:
        if now is None:
            rows = self._fetch_all(
                "SELECT * FROM bindings WHERE aor = ? ORDER BY expires_at DESC", (aor,)
            )
        else:
            rows = self._fetch_all(
                "SELECT * FROM bindings WHERE aor = ? AND expires_at > ?"
                " ORDER BY expires_at DESC",
                (aor, now),
            )
        return [_binding_from_row(row) for row in rows]

    def list_all_bindings(self, now: float | None = None) -> list[Binding]:
        if now is None:
            rows = self._fetch_all("SELECT * FROM bindings ORDER BY aor, expires_at DESC")
        else:
            rows = self._fetch_all(
                "SELECT * FROM bindings WHERE expires_at > ? ORDER BY aor, expires_at DESC",
                (now,),
            )
        return [_binding_from_row(row) for row in rows]

    def purge_expired_bindings(self, now: float) -> int:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM bindings WHERE expires_at <= ?", (now,))
        return cursor.rowcount

    # credentials

    def set_password(
        self, extension: str, password: str, source: CredentialSource, now: float
    ) -> None:
        if not password:
            raise ValueError("a password cannot be empty")
        if source not in CREDENTIAL_SOURCES:
            raise ValueError(f"source must be one of {', '.join(sorted(CREDENTIAL_SOURCES))}")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO credentials (extension, password, source, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (extension) DO UPDATE SET"
                " password = excluded.password, source = excluded.source,"
                " updated_at = excluded.updated_at",
                (extension, password, source, now),
            )

    def get_password(self, extension: str) -> str | None:
        row = self._fetch_one(
            "SELECT password FROM credentials WHERE extension = ?", (extension,)
        )
        return None if row is None else str(row["password"])

    def list_credentials(self) -> list[Credential]:
        rows = self._fetch_all("SELECT * FROM credentials ORDER BY extension")
        return [
            Credential(
                extension=row["extension"], password=row["password"], source=row["source"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    def delete_password(self, extension: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM credentials WHERE extension = ?", (extension,))
        return cursor.rowcount > 0

    # contacts

    def create_contact_group(self, name: str, now: float) -> bool:
        if not name:
            raise ValueError("a contact group needs a name")
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO contact_groups (name, created_at) VALUES (?, ?)",
                (name, now),
            )
        return cursor.rowcount == 1

    def list_contact_groups(self) -> list[ContactGroup]:
        rows = self._fetch_all(
            "SELECT g.name, g.created_at, COUNT(c.number) AS size FROM contact_groups g"
            " LEFT JOIN contacts c ON c.group_name = g.name GROUP BY g.name ORDER BY g.name"
        )
        return [
            ContactGroup(name=row["name"], created_at=row["created_at"], size=row["size"])
            for row in rows
        ]

    def save_contact(self, contact: Contact) -> bool:
        if not contact.group:
            raise ValueError("a contact group needs a name")
        number = normalize_number(contact.number)
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO contact_groups (name, created_at) VALUES (?, ?)",
                (contact.group, contact.saved_at),
            )
            cursor = conn.execute(
                "INSERT OR IGNORE INTO contacts (group_name, number, display_name, saved_by,"
                " saved_at) VALUES (?, ?, ?, ?, ?)",
                (contact.group, number, contact.display_name, contact.saved_by,
                 contact.saved_at),
            )
        return cursor.rowcount == 1

    def list_contacts(self, group: str) -> list[Contact]:
        rows = self._fetch_all(
            "SELECT * FROM contacts WHERE group_name = ? ORDER BY saved_at, number", (group,)
        )
        return [_contact_from_row(row) for row in rows]

    def find_contacts(self, number: str) -> list[Contact]:
        key = number_or_none(number)
        if key is None:
            return []
        rows = self._fetch_all(
            "SELECT * FROM contacts WHERE number = ? ORDER BY group_name", (key,)
        )
        return [_contact_from_row(row) for row in rows]

    def delete_contact(self, group: str, number: str) -> bool:
        key = number_or_none(number)
        if key is None:
            return False
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM contacts WHERE group_name = ? AND number = ?", (group, key)
            )
        return cursor.rowcount > 0

    def delete_contact_group(self, name: str) -> int:
        with self._write() as conn:
            size = conn.execute(
                "SELECT COUNT(*) FROM contacts WHERE group_name = ?", (name,)
            ).fetchone()[0]
            conn.execute("DELETE FROM contact_groups WHERE name = ?", (name,))
        return int(size)

    # personal managers

    def set_manager(self, number: str, extension: str, now: float) -> None:
        key = normalize_number(number)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO personal_managers (number, extension, assigned_at) VALUES (?, ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET extension = excluded.extension,"
                " assigned_at = excluded.assigned_at",
                (key, extension, now),
            )

    def get_manager(self, number: str) -> PersonalManager | None:
        key = number_or_none(number)
        if key is None:
            return None
        row = self._fetch_one("SELECT * FROM personal_managers WHERE number = ?", (key,))
        if row is None:
            return None
        return PersonalManager(
            number=row["number"], extension=row["extension"], assigned_at=row["assigned_at"]
        )

    def delete_manager(self, number: str) -> bool:
        key = number_or_none(number)
        if key is None:
            return False
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM personal_managers WHERE number = ?", (key,))
        return cursor.rowcount > 0

    def list_managers(self) -> list[PersonalManager]:
        rows = self._fetch_all("SELECT * FROM personal_managers ORDER BY number")
        return [
            PersonalManager(
                number=row["number"], extension=row["extension"], assigned_at=row["assigned_at"]
            )
            for row in rows
        ]

    # blacklist

    def add_to_blacklist(self, entry: BlacklistEntry) -> bool:
        key = normalize_number(entry.number)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO blacklist (number, reason, added_by, added_at)"
                " VALUES (?, ?, ?, ?)",
                (key, entry.reason, entry.added_by, entry.added_at),
            )
        return cursor.rowcount == 1

    def remove_from_blacklist(self, number: str) -> bool:
        key = number_or_none(number)
        if key is None:
            return False
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM blacklist WHERE number = ?", (key,))
        return cursor.rowcount > 0

    def is_blacklisted(self, number: str) -> bool:
        return self.get_blacklist_entry(number) is not None

    def get_blacklist_entry(self, number: str) -> BlacklistEntry | None:
        key = number_or_none(number)
        if key is None:
            return None
        row = self._fetch_one("SELECT * FROM blacklist WHERE number = ?", (key,))
        return None if row is None else _blacklist_from_row(row)

    def list_blacklist(self) -> list[BlacklistEntry]:
        rows = self._fetch_all("SELECT * FROM blacklist ORDER BY added_at, number")
        return [_blacklist_from_row(row) for row in rows]

    # settings

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self._fetch_one("SELECT value FROM settings WHERE key = ?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_setting(self, key: str, value: Any, now: float) -> None:
        encoded = json.dumps(value, sort_keys=True)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, encoded, now),
            )

    def delete_setting(self, key: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM settings WHERE key = ?", (key,))
        return cursor.rowcount > 0

    def list_settings(self) -> dict[str, Any]:
        rows = self._fetch_all("SELECT key, value FROM settings ORDER BY key")
        return {row["key"]: json.loads(row["value"]) for row in rows}


def store_path(data_dir: Path) -> Path:
    """Where the store file of a data directory lives."""
    return Path(data_dir) / STORE_FILE_NAME


def open_store(data_dir: Path, *, read_only: bool = False) -> SqliteStore:
    """Open (creating and migrating when writable) the store of a data directory."""
    return SqliteStore(store_path(data_dir), read_only=read_only)

