"""Registrar bindings in the SQLite store."""

from dataclasses import replace

from b2bua.store import Binding, SqliteStore


def binding(aor: str = "101", contact: str = "sip:101@10.0.0.5:5062", **changes: object) -> Binding:
    base = Binding(
        aor=aor,
        contact_uri=contact,
        transport="udp",
        source_host="10.0.0.5",
        source_port=5062,
        expires_at=1000.0,
        call_id="reg-1@10.0.0.5",
        cseq=1,
        user_agent="baresip 1.0.0",
        path=("<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_saved_binding_reads_back_field_for_field(store: SqliteStore) -> None:
    given = binding(instance_id="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>", reg_id=1,
                    q=0.7, transport="tcp")
    store.save_binding(given)
    assert store.list_bindings("101") == [given]
    assert store.list_all_bindings() == [given]


def test_refresh_replaces_the_same_contact(store: SqliteStore) -> None:
    store.save_binding(binding())
    refreshed = binding(expires_at=2000.0, cseq=2, source_port=40000)
    store.save_binding(refreshed)
    assert store.list_bindings("101") == [refreshed]


def test_same_instance_and_reg_id_replace_an_older_contact(store: SqliteStore) -> None:
    instance = "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"
    store.save_binding(binding(contact="sip:101@10.0.0.5:5062", instance_id=instance, reg_id=1))
    store.save_binding(binding(contact="sip:101@10.0.0.5:5063", instance_id=instance, reg_id=2))
    moved = binding(contact="sip:101@192.0.2.9:6000", instance_id=instance, reg_id=1)
    store.save_binding(moved)
    contacts = sorted(b.contact_uri for b in store.list_bindings("101"))
    assert contacts == ["sip:101@10.0.0.5:5063", "sip:101@192.0.2.9:6000"]


def test_bindings_without_instance_never_replace_each_other(store: SqliteStore) -> None:
    store.save_binding(binding(contact="sip:101@a"))
    store.save_binding(binding(contact="sip:101@b"))
    assert len(store.list_bindings("101")) == 2


def test_remove_one_and_remove_all_for_an_aor(store: SqliteStore) -> None:
    for contact in ("sip:101@a", "sip:101@b", "sip:101@c"):
        store.save_binding(binding(contact=contact))
    store.save_binding(binding(aor="102", contact="sip:102@a"))
    assert store.remove_binding("101", "sip:101@b") is True
    assert store.remove_binding("101", "sip:101@b") is False
    assert {b.contact_uri for b in store.list_bindings("101")} == {"sip:101@a", "sip:101@c"}
    assert store.remove_bindings("101") == 2
    assert store.list_bindings("101") == []
    assert [b.aor for b in store.list_all_bindings()] == ["102"]


def test_now_filters_expired_and_purge_deletes_them(store: SqliteStore) -> None:
    store.save_binding(binding(contact="sip:101@old", expires_at=100.0))
    store.save_binding(binding(contact="sip:101@new", expires_at=300.0))
    store.save_binding(binding(aor="102", contact="sip:102@old", expires_at=150.0))
    assert len(store.list_bindings("101")) == 2
    assert [b.contact_uri for b in store.list_bindings("101", now=200.0)] == ["sip:101@new"]
    assert [b.aor for b in store.list_all_bindings(now=200.0)] == ["101"]
    assert store.purge_expired_bindings(now=150.0) == 2  # expiring exactly now counts
    assert [b.contact_uri for b in store.list_all_bindings()] == ["sip:101@new"]


def test_bindings_of_an_aor_come_longest_lived_first(store: SqliteStore) -> None:
    store.save_binding(binding(contact="sip:101@a", expires_at=500.0))
    store.save_binding(binding(contact="sip:101@b", expires_at=900.0))
    store.save_binding(binding(contact="sip:101@c", expires_at=700.0))
    assert [b.contact_uri for b in store.list_bindings("101")] == [
        "sip:101@b", "sip:101@c", "sip:101@a"
    ]
