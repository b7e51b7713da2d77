"""Save the client's number (and the name its phone shows) in a contact group."""

from __future__ import annotations

from b2bua.options.base import OptionContext, Outcome
from b2bua.store import Contact, normalize_number


def save_contact(context: OptionContext) -> Outcome:
    number = normalize_number(context.client_number())
    office = context.office
    group = context.settings.group
    client = context.client
    name = client.display_name if client is not None else ""
    added = office.store.save_contact(Contact(group=group, number=number, saved_at=office.wall(),
                                              display_name=name, saved_by=context.employee or None))
    return Outcome(True, {"group": group, "number": number, "new": added})
