"""Hand the client to an incoming-call scenario: the employee's leg is hung up, the client hears
the scenario's prompts and music and goes where its steps lead."""

from __future__ import annotations

from b2bua.options.base import OptionContext, OptionFailed, Outcome


def run_scenario(context: OptionContext) -> Outcome:
    call, client, presser = context.call, context.client, context.presser
    name = context.settings.scenario
    manager = context.office.manager
    if client is None or name not in manager.config.scenarios:
        raise OptionFailed(f"cannot start scenario {name!r}")
    if not manager.scenarios.start(call, name, client=client):
        raise OptionFailed(f"scenario {name!r} did not start")
    manager.party_left(call, presser)
    presser.bye()
    manager.media.release(presser)
    return Outcome(True, {"scenario": name, "employee_hung_up": presser.extension})
