"""Directories: blacklist, contact groups, personal managers, the SMS outbox, employees and
their registered devices."""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web

from b2bua.store import BlacklistEntry, Contact, number_or_none
from b2bua.store.records import SMS_STATUSES, SmsStatus
from b2bua.web.control import CLOCK, CONTROL
from b2bua.web.jsonio import (
    ApiError,
    answer,
    no_content,
    optional_text,
    query_limit,
    query_text,
    read_object,
    required_text,
)
from b2bua.web.records import binding_json, employee_json, plain

NAME_MAX_LENGTH = 64


def _number(raw: str | None) -> str:
    number = number_or_none(raw or "")
    if number is None:
        raise ApiError(400, f"number: not a phone number: {raw!r}")
    return number


# ---------------------------------------------------------------------------------- blacklist


async def list_blacklist(request: web.Request) -> web.Response:
    entries = request.app[CONTROL].store.list_blacklist()
    return answer({"blacklist": [plain(entry) for entry in entries]})


async def add_to_blacklist(request: web.Request) -> web.Response:
    """``POST /api/blacklist {"number", "reason"?}``: 201 when added, 200 when listed already
    (the first entry is kept)."""
    body = await read_object(request)
    number = _number(required_text(body, "number"))
    entry = BlacklistEntry(
        number=number, added_at=request.app[CLOCK](), reason=optional_text(body, "reason") or ""
    )
    store = request.app[CONTROL].store
    added = store.add_to_blacklist(entry)
    kept = store.get_blacklist_entry(number)
    return answer({"added": added, "entry": plain(kept)}, status=201 if added else 200)


async def remove_from_blacklist(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not request.app[CONTROL].store.remove_from_blacklist(number):
        raise ApiError(404, f"{number!r} is not on the blacklist")
    return no_content()


# ---------------------------------------------------------------------------------- contacts


def _configured_groups(request: web.Request) -> set[str]:
    """Contact groups the key options save into (listed even before their first contact)."""
    keys = request.app[CONTROL].config.keys
    return {option.group for option in keys.values() if option.option == "contact"}


async def list_contact_groups(request: web.Request) -> web.Response:
    stored = {group.name: group for group in request.app[CONTROL].store.list_contact_groups()}
    configured = _configured_groups(request)
    groups = [
        {
            "name": name,
            "size": stored[name].size if name in stored else 0,
            "created_at": stored[name].created_at if name in stored else None,
            "used_by_keys": name in configured,
        }
        for name in sorted(set(stored) | configured)
    ]
    return answer({"groups": groups})


async def create_contact_group(request: web.Request) -> web.Response:
    body = await read_object(request)
    name = required_text(body, "name", max_length=NAME_MAX_LENGTH)
    created = request.app[CONTROL].store.create_contact_group(name, request.app[CLOCK]())
    return answer({"created": created, "name": name}, status=201 if created else 200)


async def delete_contact_group(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    store = request.app[CONTROL].store
    if name not in {group.name for group in store.list_contact_groups()}:
        raise ApiError(404, f"no contact group {name!r}")
    store.delete_contact_group(name)
    return no_content()


def _known_group(request: web.Request) -> str:
    name = request.match_info["name"]
    stored = {group.name for group in request.app[CONTROL].store.list_contact_groups()}
    if name not in stored and name not in _configured_groups(request):
        raise ApiError(404, f"no contact group {name!r}")
    return name


async def list_contacts(request: web.Request) -> web.Response:
    group = _known_group(request)
    contacts = request.app[CONTROL].store.list_contacts(group)
    return answer({"group": group, "contacts": [plain(contact) for contact in contacts]})


async def add_contact(request: web.Request) -> web.Response:
    """``POST /api/contact-groups/{name}/contacts {"number", "display_name"?}``: creates the
    group if needed; 201 when saved, 200 when the number was there already."""
    group = request.match_info["name"]
    body = await read_object(request)
    number = _number(required_text(body, "number"))
    contact = Contact(
        group=group, number=number, saved_at=request.app[CLOCK](),
        display_name=optional_text(body, "display_name", max_length=NAME_MAX_LENGTH) or "",
    )
    added = request.app[CONTROL].store.save_contact(contact)
    return answer({"added": added, "contact": plain(contact)}, status=201 if added else 200)


async def delete_contact(request: web.Request) -> web.Response:
    group, number = request.match_info["name"], request.match_info["number"]
    if not request.app[CONTROL].store.delete_contact(group, number):
        raise ApiError(404, f"{number!r} is not in contact group {group!r}")
    return no_content()


# ---------------------------------------------------------------------------------- managers


async def list_managers(request: web.Request) -> web.Response:
    managers = request.app[CONTROL].store.list_managers()
    return answer({"managers": [plain(manager) for manager in managers]})


async def set_manager(request: web.Request) -> web.Response:
    """``PUT /api/managers/{number} {"extension": "101"}``: the client number rings that
    employee first."""
    number = _number(request.match_info["number"])
    body = await read_object(request)
    extension = required_text(body, "extension", max_length=6)
    control = request.app[CONTROL]
    if control.config.employee(extension) is None:
        raise ApiError(400, f"extension: no employee with extension {extension}")
    control.store.set_manager(number, extension, request.app[CLOCK]())
    return answer(plain(control.store.get_manager(number)))


async def delete_manager(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not request.app[CONTROL].store.delete_manager(number):
        raise ApiError(404, f"{number!r} has no personal manager")
    return no_content()


# ---------------------------------------------------------------------------------- SMS


async def list_sms(request: web.Request) -> web.Response:
    """``GET /api/sms?status=&limit=``: the outbox, newest first."""
    status = query_text(request, "status")
    if status is not None and status not in SMS_STATUSES:
        expected = ", ".join(sorted(SMS_STATUSES))
        raise ApiError(400, f"status: expected one of {expected}, got {status!r}")
    chosen = cast(SmsStatus | None, status)
    messages = request.app[CONTROL].store.list_sms(chosen, limit=query_limit(request))
    return answer({"messages": [plain(message) for message in messages]})


# ---------------------------------------------------------------------------------- people


async def list_employees(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    bindings = control.store.list_all_bindings(request.app[CLOCK]())
    return answer({
        "employees": [employee_json(employee, bindings) for employee in control.config.employees]
    })


async def list_registrations(request: web.Request) -> web.Response:
    bindings = request.app[CONTROL].store.list_all_bindings(request.app[CLOCK]())
    return answer({"registrations": [binding_json(binding) for binding in bindings]})


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/api/blacklist", list_blacklist),
    ("POST", "/api/blacklist", add_to_blacklist),
    ("DELETE", "/api/blacklist/{number}", remove_from_blacklist),
    ("GET", "/api/contact-groups", list_contact_groups),
    ("POST", "/api/contact-groups", create_contact_group),
    ("DELETE", "/api/contact-groups/{name}", delete_contact_group),
    ("GET", "/api/contact-groups/{name}/contacts", list_contacts),
    ("POST", "/api/contact-groups/{name}/contacts", add_contact),
    ("DELETE", "/api/contact-groups/{name}/contacts/{number}", delete_contact),
    ("GET", "/api/managers", list_managers),
    ("PUT", "/api/managers/{number}", set_manager),
    ("DELETE", "/api/managers/{number}", delete_manager),
    ("GET", "/api/sms", list_sms),
    ("GET", "/api/employees", list_employees),
    ("GET", "/api/registrations", list_registrations),
)
