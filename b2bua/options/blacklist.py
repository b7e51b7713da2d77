"""Add the caller to the blacklist: later calls from the number are refused."""

from __future__ import annotations

from b2bua.options.base import OptionContext, Outcome
from b2bua.store import BlacklistEntry, normalize_number


def blacklist(context: OptionContext) -> Outcome:
    number = normalize_number(context.client_number())
    office = context.office
    added = office.store.add_to_blacklist(BlacklistEntry(
        number=number, added_at=office.wall(), reason=context.settings.reason or
        f"pressed during call {context.call.id}", added_by=context.employee or None))
    return Outcome(True, {"number": number, "new": added})
