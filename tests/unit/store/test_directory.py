"""Contacts, personal managers, blacklist, credentials and settings in the SQLite store."""

import pytest

from b2bua.store import BlacklistEntry, Contact, SqliteStore


def test_contact_save_is_idempotent_per_group_and_number(store: SqliteStore) -> None:
    first = Contact(group="VIP", number="+7 (916) 123-45-67", saved_at=10.0,
                    display_name="Ivan", saved_by="101")
    assert store.save_contact(first) is True
    again = Contact(group="VIP", number="+79161234567", saved_at=20.0, saved_by="102")
    assert store.save_contact(again) is False
    assert store.save_contact(Contact(group="Partners", number="+79161234567", saved_at=30.0))
    assert store.list_contacts("VIP") == [
        Contact(group="VIP", number="+79161234567", saved_at=10.0, display_name="Ivan",
                saved_by="101")
    ]
    assert [c.group for c in store.find_contacts("8-916") + store.find_contacts("+79161234567")] \
        == ["Partners", "VIP"]


def test_groups_list_with_sizes_including_empty_ones(store: SqliteStore) -> None:
    assert store.create_contact_group("Suppliers", 1.0) is True
    assert store.create_contact_group("Suppliers", 2.0) is False
    store.save_contact(Contact(group="VIP", number="111", saved_at=3.0))
    store.save_contact(Contact(group="VIP", number="222", saved_at=4.0))
    groups = store.list_contact_groups()
    assert [(g.name, g.size, g.created_at) for g in groups] == [
        ("Suppliers", 0, 1.0), ("VIP", 2, 3.0)
    ]


def test_delete_contact_and_group(store: SqliteStore) -> None:
    store.save_contact(Contact(group="VIP", number="111", saved_at=1.0))
    store.save_contact(Contact(group="VIP", number="222", saved_at=2.0))
    assert store.delete_contact("VIP", "1-1-1") is True
    assert store.delete_contact("VIP", "111") is False
    assert store.delete_contact("VIP", "anonymous") is False
    assert [c.number for c in store.list_contacts("VIP")] == ["222"]
    assert store.delete_contact_group("VIP") == 1
    assert store.list_contact_groups() == []
    assert store.list_contacts("VIP") == []


def test_contact_without_number_is_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        store.save_contact(Contact(group="VIP", number="anonymous", saved_at=1.0))
    with pytest.raises(ValueError):
        store.save_contact(Contact(group="", number="111", saved_at=1.0))
    assert store.list_contact_groups() == []


def test_personal_manager_set_get_replace_delete(store: SqliteStore) -> None:
    store.set_manager("+7 916 111-22-33", "101", 5.0)
    manager = store.get_manager("+79161112233")
    assert manager is not None and (manager.extension, manager.assigned_at) == ("101", 5.0)
    store.set_manager("+79161112233", "102", 6.0)
    manager = store.get_manager("+7(916)1112233")
    assert manager is not None and manager.extension == "102"
    store.set_manager("222", "103", 7.0)
    assert [(m.number, m.extension) for m in store.list_managers()] == [
        ("+79161112233", "102"), ("222", "103")
    ]
    assert store.get_manager("anonymous") is None
    assert store.delete_manager("+79161112233") is True
    assert store.delete_manager("+79161112233") is False
    assert store.get_manager("+79161112233") is None


def test_blacklist_add_is_idempotent_check_and_remove(store: SqliteStore) -> None:
    entry = BlacklistEntry(number="+7 495 000-00-01", added_at=1.0, reason="spam",
                           added_by="101")
    assert store.add_to_blacklist(entry) is True
    assert store.add_to_blacklist(BlacklistEntry(number="+74950000001", added_at=2.0)) is False
    assert store.is_blacklisted("+7 (495) 000 00 01") is True
    assert store.is_blacklisted("+74950000002") is False
    assert store.is_blacklisted("anonymous") is False
    assert store.get_blacklist_entry("+74950000001") == BlacklistEntry(
        number="+74950000001", added_at=1.0, reason="spam", added_by="101"
    )
    store.add_to_blacklist(BlacklistEntry(number="333", added_at=3.0))
    assert [e.number for e in store.list_blacklist()] == ["+74950000001", "333"]
    assert store.remove_from_blacklist("+74950000001") is True
    assert store.remove_from_blacklist("+74950000001") is False
    assert store.is_blacklisted("+74950000001") is False


def test_credentials_are_kept_and_overwritten(store: SqliteStore) -> None:
    assert store.get_password("101") is None
    store.set_password("101", "first-secret", "generated", 1.0)
    store.set_password("102", "other", "config", 2.0)
    store.set_password("101", "second-secret", "config", 3.0)
    assert store.get_password("101") == "second-secret"
    listed = store.list_credentials()
    assert [(c.extension, c.password, c.source, c.updated_at) for c in listed] == [
        ("101", "second-secret", "config", 3.0), ("102", "other", "config", 2.0)
    ]
    assert store.delete_password("102") is True
    assert store.delete_password("102") is False
    with pytest.raises(ValueError):
        store.set_password("103", "", "generated", 4.0)
    with pytest.raises(ValueError):
        store.set_password("103", "x", "stolen", 4.0)  # type: ignore[arg-type]


def test_settings_hold_json_values(store: SqliteStore) -> None:
    assert store.get_setting("keys") is None
    assert store.get_setting("keys", {}) == {}
    keymap = {"1": {"option": "tag", "tag": "vip"}, "5": {"option": "blacklist"}}
    store.set_setting("keys", keymap, 1.0)
    store.set_setting("transfer.mode", "consult", 1.0)
    store.set_setting("flag", None, 1.0)
    assert store.get_setting("keys") == keymap
    assert store.get_setting("flag", "default") is None  # a stored null is a value
    store.set_setting("transfer.mode", "blind", 2.0)
    assert store.list_settings() == {"flag": None, "keys": keymap, "transfer.mode": "blind"}
    assert store.delete_setting("flag") is True
    assert store.delete_setting("flag") is False
