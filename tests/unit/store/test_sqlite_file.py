"""The SQLite file itself: durability across restarts and crashes, mode, schema, sharing."""

import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from b2bua.store import (
    Binding,
    BlacklistEntry,
    CallRecord,
    Contact,
    SchemaError,
    SqliteStore,
    StoreError,
    open_store,
    store_path,
)
from b2bua.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION


def fill(store: SqliteStore) -> None:
    store.save_binding(Binding(aor="101", contact_uri="sip:101@a", transport="udp",
                               source_host="10.0.0.5", source_port=5062, expires_at=99.0,
                               call_id="r1", cseq=3))
    store.set_password("101", "s3cret-pass", "generated", 1.0)
    store.create_call(CallRecord(id="c1", started_at=1.0, direction="inbound",
                                 caller_number="+79161234567", called_number="7000"))
    store.add_call_event("c1", 2.0, "option", {"option": "record"})
    store.add_call_tag("c1", "vip", 3.0)
    store.add_recording("c1", "/r/c1.wav", 2.0, 2, "wav")
    store.save_contact(Contact(group="VIP", number="+79161234567", saved_at=4.0))
    store.set_manager("+79161234567", "101", 5.0)
    store.add_to_blacklist(BlacklistEntry(number="+74950000001", added_at=6.0))
    store.queue_sms("+79161234567", "card", 7.0, "c1")
    store.set_setting("keys", {"1": {"option": "tag", "tag": "vip"}}, 8.0)


def assert_filled(store: SqliteStore) -> None:
    assert [b.contact_uri for b in store.list_all_bindings()] == ["sip:101@a"]
    assert store.get_password("101") == "s3cret-pass"
    detail = store.get_call("c1")
    assert detail is not None
    assert detail.tags == ("vip",) and detail.options_used() == ("record",)
    assert [r.path for r in detail.recordings] == ["/r/c1.wav"]
    assert [c.number for c in store.list_contacts("VIP")] == ["+79161234567"]
    manager = store.get_manager("+79161234567")
    assert manager is not None and manager.extension == "101"
    assert store.is_blacklisted("+74950000001")
    assert [m.text for m in store.list_sms()] == ["card"]
    assert store.get_setting("keys") == {"1": {"option": "tag", "tag": "vip"}}


def test_everything_survives_a_restart(data_dir: Path) -> None:
    with open_store(data_dir) as store:
        fill(store)
    with open_store(data_dir) as store:
        assert_filled(store)
        assert store.schema_version == SCHEMA_VERSION


def test_everything_survives_a_crash(data_dir: Path) -> None:
    script = (
        "import os, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from pathlib import Path\n"
        "from b2bua.store import open_store\n"
        "sys.path.insert(0, sys.argv[3])\n"
        "from test_sqlite_file import fill\n"
        "fill(open_store(Path(sys.argv[1])))\n"
        "os._exit(0)  # no close, no checkpoint\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script, str(data_dir), str(root), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with open_store(data_dir) as store:
        assert_filled(store)


def test_file_is_private_and_in_wal_mode(data_dir: Path) -> None:
    with open_store(data_dir) as store:
        fill(store)
        mode = stat.S_IMODE(store_path(data_dir).stat().st_mode)
        assert mode == 0o600
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        raw = sqlite3.connect(store_path(data_dir))
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            raw.close()


def test_existing_file_is_made_private(data_dir: Path) -> None:
    data_dir.mkdir()
    path = store_path(data_dir)
    path.touch(mode=0o644)
    path.chmod(0o644)
    open_store(data_dir).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_newer_schema_is_refused(data_dir: Path) -> None:
    open_store(data_dir).close()
    raw = sqlite3.connect(store_path(data_dir))
    raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(SchemaError, match="newer"):
        open_store(data_dir)


def test_read_only_lists_but_never_writes(data_dir: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        open_store(data_dir, read_only=True)
    assert not data_dir.exists()
    with open_store(data_dir) as store:
        fill(store)
    with open_store(data_dir, read_only=True) as reader:
        assert_filled(reader)
        with pytest.raises(StoreError, match="read-only"):
            reader.set_setting("x", 1, 1.0)


def test_a_reader_sees_what_a_live_writer_commits(data_dir: Path) -> None:
    with open_store(data_dir) as writer, open_store(data_dir, read_only=True) as reader:
        writer.add_to_blacklist(BlacklistEntry(number="111", added_at=1.0))
        assert reader.is_blacklisted("111")
        writer.add_to_blacklist(BlacklistEntry(number="222", added_at=2.0))
        assert [e.number for e in reader.list_blacklist()] == ["111", "222"]


def test_two_writers_interleave_on_one_file(data_dir: Path) -> None:
    with open_store(data_dir) as service, open_store(data_dir) as admin:
        service.create_call(CallRecord(id="c1", started_at=1.0, direction="internal",
                                       caller_number="101", called_number="102"))
        admin.add_call_tag("c1", "from-admin", 2.0)
        service.add_call_tag("c1", "from-service", 3.0)
        detail = admin.get_call("c1")
        assert detail is not None and detail.tags == ("from-admin", "from-service")


def test_one_store_shared_by_threads_loses_nothing(store: SqliteStore) -> None:
    store.create_call(CallRecord(id="c1", started_at=1.0, direction="internal",
                                 caller_number="101", called_number="102"))
    errors: list[BaseException] = []

    def add_events(worker: int) -> None:
        try:
            for n in range(50):
                store.add_call_event("c1", float(n), "tick", {"worker": worker, "n": n})
                store.get_call("c1")
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=add_events, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    detail = store.get_call("c1")
    assert detail is not None
    assert len(detail.events) == 200
    assert len({event.id for event in detail.events}) == 200
    assert {(e.detail["worker"], e.detail["n"]) for e in detail.events} == {
        (w, n) for w in range(4) for n in range(50)
    }


def test_an_older_file_is_migrated_in_place(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(data_dir) as store:
        fill(store)
    later = (*MIGRATIONS, ("ALTER TABLE calls ADD COLUMN note TEXT",))
    monkeypatch.setattr("b2bua.store.sqlite_base.MIGRATIONS", later)
    monkeypatch.setattr("b2bua.store.sqlite_base.SCHEMA_VERSION", len(later))
    with pytest.raises(SchemaError, match="needs migrating"):
        open_store(data_dir, read_only=True)
    with open_store(data_dir) as store:
        assert store.schema_version == len(later)
        assert_filled(store)
    raw = sqlite3.connect(store_path(data_dir))
    try:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(calls)")]
    finally:
        raw.close()
    assert "note" in columns


def test_sqlite_store_is_a_store(store: SqliteStore) -> None:
    from b2bua.store import Store

    assert isinstance(store, Store)
    protocol = {name for name in vars(Store) if not name.startswith("_")}
    offered = {name for name in dir(SqliteStore) if not name.startswith("_")}
    assert protocol <= offered
    # everything public on the SQLite class beyond the protocol is about the file itself
    assert offered - protocol == {"schema_version"}
