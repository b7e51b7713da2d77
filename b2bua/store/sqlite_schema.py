"""The SQLite schema, as an ordered list of migrations applied in code at open time.

A migration is never edited once released: a change to the schema is a new entry at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first schema
    (
        """CREATE TABLE bindings (
            aor TEXT NOT NULL,
            contact_uri TEXT NOT NULL,
            transport TEXT NOT NULL,
            source_host TEXT NOT NULL,
            source_port INTEGER NOT NULL,
            expires_at REAL NOT NULL,
            call_id TEXT NOT NULL,
            cseq INTEGER NOT NULL,
            user_agent TEXT NOT NULL DEFAULT '',
            path TEXT NOT NULL DEFAULT '[]',
            instance_id TEXT,
            reg_id INTEGER,
            q REAL,
            PRIMARY KEY (aor, contact_uri)
        )""",
        "CREATE INDEX bindings_expires_at ON bindings (expires_at)",
        """CREATE TABLE credentials (
            extension TEXT PRIMARY KEY,
            password TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('generated', 'config', 'api')),
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            answered_at REAL,
            ended_at REAL,
            direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
            caller_number TEXT NOT NULL,
            caller_name TEXT NOT NULL DEFAULT '',
            called_number TEXT NOT NULL,
            employee TEXT,
            answered_device TEXT,
            disposition TEXT CHECK (disposition IS NULL OR disposition IN (
                'answered', 'busy', 'no-answer', 'cancelled', 'failed', 'rejected',
                'blacklisted')),
            hangup_side TEXT CHECK (hangup_side IS NULL OR hangup_side IN (
                'caller', 'callee', 'system')),
            duration REAL
        )""",
        "CREATE INDEX calls_started_at ON calls (started_at)",
        "CREATE INDEX calls_employee ON calls (employee, started_at)",
        "CREATE INDEX calls_caller_number ON calls (caller_number)",
        "CREATE INDEX calls_called_number ON calls (called_number)",
        """CREATE TABLE call_events (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX call_events_call_id ON call_events (call_id, id)",
        """CREATE TABLE call_tags (
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            added_at REAL NOT NULL,
            PRIMARY KEY (call_id, tag)
        )""",
        "CREATE INDEX call_tags_tag ON call_tags (tag)",
        """CREATE TABLE contact_groups (
            name TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE contacts (
            group_name TEXT NOT NULL REFERENCES contact_groups (name) ON DELETE CASCADE,
            number TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            saved_by TEXT,
            saved_at REAL NOT NULL,
            PRIMARY KEY (group_name, number)
        )""",
        "CREATE INDEX contacts_number ON contacts (number)",
        """CREATE TABLE personal_managers (
            number TEXT PRIMARY KEY,
            extension TEXT NOT NULL,
            assigned_at REAL NOT NULL
        )""",
        """CREATE TABLE blacklist (
            number TEXT PRIMARY KEY,
            reason TEXT NOT NULL DEFAULT '',
            added_by TEXT,
            added_at REAL NOT NULL
        )""",
        """CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            channels INTEGER NOT NULL,
            format TEXT NOT NULL,
            size_bytes INTEGER
        )""",
        "CREATE INDEX recordings_call_id ON recordings (call_id)",
        """CREATE TABLE sms_outbox (
            id INTEGER PRIMARY KEY,
            to_number TEXT NOT NULL,
            text TEXT NOT NULL,
            call_id TEXT REFERENCES calls (id) ON DELETE SET NULL,
            status TEXT NOT NULL CHECK (status IN (
                'queued', 'sending', 'sent', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX sms_outbox_due ON sms_outbox (status, next_attempt_at)",
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
