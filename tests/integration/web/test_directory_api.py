"""Blacklist, contact groups, personal managers, SMS outbox, employees and registrations."""

from __future__ import annotations

import pytest

from b2bua.store import Binding, Contact

from .conftest import EMPLOYEE_PASSWORD, NOW, Api, OfficeControl

# ---------------------------------------------------------------------------------- blacklist


async def test_blacklist_add_list_remove(api: Api, control: OfficeControl) -> None:
    assert await api.json("GET", "/api/blacklist") == {"blacklist": []}
    added = await api.json("POST", "/api/blacklist", status=201,
                           json={"number": "+7 (916) 000-11-22", "reason": "spam"})
    entry = {"number": "+79160001122", "added_at": NOW, "reason": "spam", "added_by": None}
    assert added == {"added": True, "entry": entry}
    again = await api.json("POST", "/api/blacklist", status=200,
                           json={"number": "+79160001122", "reason": "other"})
    assert again == {"added": False, "entry": entry}  # the first entry is kept
    assert control.store.is_blacklisted("+79160001122")
    assert await api.json("GET", "/api/blacklist") == {"blacklist": [entry]}
    response = await api.request("DELETE", "/api/blacklist/+79160001122")
    assert response.status == 204
    assert not control.store.is_blacklisted("+79160001122")
    body = await api.json("DELETE", "/api/blacklist/+79160001122", status=404)
    assert body["error"] == "'+79160001122' is not on the blacklist"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "number: required"),
        ({"number": "anonymous"}, "number: not a phone number: 'anonymous'"),
        ({"number": 79160001122}, "number: must be a string"),
        ({"number": "+7916", "reason": ["x"]}, "reason: must be a string"),
    ],
)
async def test_blacklist_refuses_bad_entries(api: Api, control: OfficeControl,
                                             body: dict[str, object], error: str) -> None:
    answer = await api.json("POST", "/api/blacklist", status=400, json=body)
    assert answer["error"] == error
    assert control.store.list_blacklist() == []


async def test_blacklist_post_needs_json(api: Api) -> None:
    response = await api.request("POST", "/api/blacklist", data="number=1")
    assert response.status == 415


# ---------------------------------------------------------------------------------- contacts


async def test_contact_groups_list_stored_and_key_groups(api: Api, control: OfficeControl) -> None:
    control.store.save_contact(Contact(group="Suppliers", number="+7495", saved_at=NOW))
    groups = (await api.json("GET", "/api/contact-groups"))["groups"]
    assert groups == [
        {"name": "Partners", "size": 0, "created_at": None, "used_by_keys": True},
        {"name": "Suppliers", "size": 1, "created_at": NOW, "used_by_keys": False},
        {"name": "VIP", "size": 0, "created_at": None, "used_by_keys": True},
    ]


async def test_contacts_add_list_remove(api: Api, control: OfficeControl) -> None:
    assert await api.json("GET", "/api/contact-groups/VIP/contacts") == {
        "group": "VIP", "contacts": []
    }
    added = await api.json("POST", "/api/contact-groups/VIP/contacts", status=201,
                           json={"number": "8 800 555-35-35", "display_name": "ACME"})
    contact = {"group": "VIP", "number": "88005553535", "saved_at": NOW,
               "display_name": "ACME", "saved_by": None}
    assert added == {"added": True, "contact": contact}
    again = await api.json("POST", "/api/contact-groups/VIP/contacts", status=200,
                           json={"number": "88005553535"})
    assert again["added"] is False
    assert (await api.json("GET", "/api/contact-groups/VIP/contacts"))["contacts"] == [contact]
    assert [c.number for c in control.store.list_contacts("VIP")] == ["88005553535"]
    response = await api.request("DELETE", "/api/contact-groups/VIP/contacts/8-800-555-35-35")
    assert response.status == 204
    assert control.store.list_contacts("VIP") == []
    body = await api.json("DELETE", "/api/contact-groups/VIP/contacts/88005553535", status=404)
    assert body["error"] == "'88005553535' is not in contact group 'VIP'"


async def test_contacts_of_an_unknown_group_answer_404(api: Api) -> None:
    body = await api.json("GET", "/api/contact-groups/Nobody/contacts", status=404)
    assert body["error"] == "no contact group 'Nobody'"


async def test_saving_a_contact_creates_its_group(api: Api, control: OfficeControl) -> None:
    await api.json("POST", "/api/contact-groups/New%20group/contacts", status=201,
                   json={"number": "+1 202 555 0100"})
    assert [g.name for g in control.store.list_contact_groups()] == ["New group"]
    contacts = (await api.json("GET", "/api/contact-groups/New%20group/contacts"))["contacts"]
    assert [c["number"] for c in contacts] == ["+12025550100"]


async def test_contact_groups_are_created_and_deleted(api: Api, control: OfficeControl) -> None:
    assert await api.json("POST", "/api/contact-groups", status=201, json={"name": "Press"}) == {
        "created": True, "name": "Press"
    }
    await api.json("POST", "/api/contact-groups", status=200, json={"name": "Press"})
    await api.json("POST", "/api/contact-groups/Press/contacts", status=201,
                   json={"number": "123"})
    response = await api.request("DELETE", "/api/contact-groups/Press")
    assert response.status == 204
    assert control.store.list_contact_groups() == []
    await api.json("DELETE", "/api/contact-groups/Press", status=404)


async def test_bad_contacts_are_refused(api: Api, control: OfficeControl) -> None:
    body = await api.json("POST", "/api/contact-groups/VIP/contacts", status=400,
                          json={"number": "no digits"})
    assert body["error"] == "number: not a phone number: 'no digits'"
    body = await api.json("POST", "/api/contact-groups", status=400, json={"name": ""})
    assert body["error"] == "name: must not be empty"
    assert control.store.list_contact_groups() == []


# ---------------------------------------------------------------------------------- managers


async def test_personal_managers_set_list_remove(api: Api, control: OfficeControl) -> None:
    manager = await api.json("PUT", "/api/managers/+7%20916%20123-45-67",
                             json={"extension": "102"})
    assert manager == {"number": "+79161234567", "extension": "102", "assigned_at": NOW}
    moved = await api.json("PUT", "/api/managers/+79161234567", json={"extension": "103"})
    assert moved["extension"] == "103"
    assert (await api.json("GET", "/api/managers"))["managers"] == [moved]
    stored = control.store.get_manager("+79161234567")
    assert stored is not None and stored.extension == "103"
    response = await api.request("DELETE", "/api/managers/+79161234567")
    assert response.status == 204
    assert control.store.get_manager("+79161234567") is None
    await api.json("DELETE", "/api/managers/+79161234567", status=404)


async def test_a_manager_must_be_an_employee(api: Api, control: OfficeControl) -> None:
    body = await api.json("PUT", "/api/managers/+79161234567", status=400,
                          json={"extension": "999"})
    assert body["error"] == "extension: no employee with extension 999"
    body = await api.json("PUT", "/api/managers/nobody", status=400, json={"extension": "101"})
    assert body["error"] == "number: not a phone number: 'nobody'"
    assert control.store.list_managers() == []


# ---------------------------------------------------------------------------------- SMS


async def test_the_sms_outbox_shows_status_attempts_and_errors(
    api: Api, control: OfficeControl
) -> None:
    first = control.store.queue_sms("+79161234567", "Card", NOW - 10)
    second = control.store.queue_sms("+79160000000", "Card", NOW - 5)
    control.store.update_sms(second.id, "failed", NOW, attempts=5, last_error="503 from gateway")
    messages = (await api.json("GET", "/api/sms"))["messages"]
    assert [m["id"] for m in messages] == [second.id, first.id]
    assert messages[0]["status"] == "failed"
    assert messages[0]["attempts"] == 5
    assert messages[0]["last_error"] == "503 from gateway"
    queued = (await api.json("GET", "/api/sms?status=queued"))["messages"]
    assert [m["id"] for m in queued] == [first.id]
    assert len((await api.json("GET", "/api/sms?limit=1"))["messages"]) == 1
    body = await api.json("GET", "/api/sms?status=lost", status=400)
    assert body["error"].startswith("status: expected one of delivered, failed, queued")


# ---------------------------------------------------------------------------------- people


async def test_employees_show_devices_and_never_passwords(
    api: Api, control: OfficeControl, registered: Binding
) -> None:
    control.store.save_binding(Binding(
        aor="102", contact_uri="sip:102@127.0.0.1:5064", transport="tcp",
        source_host="127.0.0.1", source_port=5064, expires_at=NOW - 1, call_id="old", cseq=1,
    ))  # expired: not a device any more
    response = await api.request("GET", "/api/employees")
    text = await response.text()
    assert EMPLOYEE_PASSWORD not in text and "password" not in text
    employees = (await response.json())["employees"]
    assert [e["extension"] for e in employees] == ["101", "102", "103", "104", "105"]
    anna = employees[0]
    assert anna["name"] == "Anna Ivanova" and anna["trainer"] == "105"
    assert anna["registered"] is True
    assert anna["devices"] == [{
        "extension": "101", "contact": "sip:101@127.0.0.1:5062", "transport": "udp",
        "source": "127.0.0.1:5062", "expires_at": NOW + 3600, "user_agent": "baresip",
        "instance_id": None,
    }]
    assert employees[1]["registered"] is False and employees[1]["devices"] == []


async def test_registrations_list_unexpired_bindings(
    api: Api, registered: Binding
) -> None:
    registrations = (await api.json("GET", "/api/registrations"))["registrations"]
    assert [r["contact"] for r in registrations] == [registered.contact_uri]
