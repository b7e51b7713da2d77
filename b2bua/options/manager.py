"""Make the pressing employee the client's personal manager: the number is saved in the
contacts and, from then on, a call from it rings this employee first."""

from __future__ import annotations

from b2bua.options.base import OptionContext, OptionFailed, Outcome
from b2bua.store import Contact, normalize_number

CLIENTS_GROUP = "Clients"


def assign_manager(context: OptionContext) -> Outcome:
    if not context.employee:
        raise OptionFailed("the pressing leg is no employee")
    number = normalize_number(context.client_number())
    office = context.office
    now = office.wall()
    office.store.set_manager(number, context.employee, now)
    client = context.client
    office.store.save_contact(Contact(group=CLIENTS_GROUP, number=number, saved_at=now,
                                      display_name=client.display_name if client else "",
                                      saved_by=context.employee))
    return Outcome(True, {"number": number, "manager": context.employee})
