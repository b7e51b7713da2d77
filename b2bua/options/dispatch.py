"""Keys to options: which key of which leg starts what, and what happens around every option.

Only the keys of an employee's leg in an answered, bridged call count. A key that starts an
option (or `#`, the transfer) is swallowed: the engine drops its event packets and silences the
leg's audio while it lasts; every other key passes through unchanged. The option runs at once;
when it is done the employee hears a short confirmation or error tone (unless the option's
`feedback` is off) and the report gets an `option` event. An option that fails (an exception, a
store error, nobody answering) plays the error tone and leaves the call as it was: a failing
option never drops the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from b2bua.calls.call import Call, CallState
from b2bua.calls.leg import Leg
from b2bua.media.keys import KeyEvent
from b2bua.options import move, trainer, transfer
from b2bua.options.base import Office, Option, OptionContext, OptionFailed, Outcome
from b2bua.options.blacklist import blacklist
from b2bua.options.contact import save_contact
from b2bua.options.manager import assign_manager
from b2bua.options.recording import record
from b2bua.options.scenario import run_scenario
from b2bua.options.sms import send_card
from b2bua.options.tag import tag
from dsp.tones import confirmation_beep, error_beep

log = logging.getLogger(__name__)

OPTIONS: dict[str, Option] = {
    "tag": tag,
    "scenario": run_scenario,
    "manager": assign_manager,
    "trainer": trainer.call_trainer,
    "blacklist": blacklist,
    "contact": save_contact,
    "record": record,
    "sms": send_card,
    "move": move.move,
}


class Options:
    """The in-call options of every call (the call manager's `CallFeatures`)."""

    def __init__(self, office: Office) -> None:
        self.office = office

    # -- keys ---------------------------------------------------------------------------------

    def key_started(self, call: Call, leg: Leg, digit: str, source: str) -> bool:
        """Whether to swallow this key of an employee's leg; runs what it starts."""
        pending = transfer.active(call)
        if pending is not None:
            return pending.key(leg, digit)
        if not call.bridged(leg):
            return False
        if digit == transfer.END_KEY:
            self._run(call, leg, digit, source, "transfer", None, transfer.start_transfer)
            return True
        settings = self.office.config().keys.get(digit)
        if settings is None:
            return False
        self._run(call, leg, digit, source, settings.option, settings,
                  OPTIONS[settings.option])
        return True

    def press(self, call: Call, digit: str, extension: str | None = None) -> dict[str, Any]:
        """The app's button: as if the call's employee pressed `digit`."""
        if call.state is not CallState.ANSWERED:
            raise ValueError("the call is not answered")
        legs = [leg for leg in call.parties if leg.role == "employee"
                and (extension is None or leg.extension == extension)]
        if not legs:
            raise ValueError("the call has no such employee")
        if digit != transfer.END_KEY and digit not in self.office.config().keys:
            raise ValueError(f"no option on key {digit!r}")
        taken = self.key_started(call, legs[0], digit, "app")
        settings = self.office.config().keys.get(digit)
        option = "transfer" if digit == transfer.END_KEY else settings.option if settings else None
        return {"call": call.id, "key": digit, "option": option, "taken": taken,
                "employee": legs[0].extension}

    def key_finished(self, call: Call, leg: Leg, event: KeyEvent) -> None:
        pass

    def _run(self, call: Call, leg: Leg, digit: str, source: str, name: str, settings: Any,
             option: Callable[[OptionContext], Outcome | None]) -> None:
        context = OptionContext(call, leg, call.other(leg), digit, name, settings, self.office,
                                source)
        context.finish = lambda outcome: self._finished(context, outcome)
        try:
            outcome = option(context)
        except OptionFailed as error:
            outcome = Outcome(False, {"error": str(error)})
        except Exception as error:
            call.log.exception("option %s failed", name)
            outcome = Outcome(False, {"error": f"{type(error).__name__}: {error}"})
        if outcome is not None:
            self._finished(context, outcome)
        else:
            call.report.event("option-started", option=name, key=digit, source=source,
                              by=leg.extension)

    def _finished(self, context: OptionContext, outcome: Outcome) -> None:
        call, leg = context.call, context.presser
        call.report.event("option", option=context.name, key=context.key, by=leg.extension,
                          source=context.source, ok=outcome.ok, **outcome.detail)
        call.log.info("option %s (key %s) by %s: %s", context.name, context.key,
                      leg.extension, "ok" if outcome.ok else outcome.detail)
        feedback = getattr(context.settings, "feedback", True)
        if feedback and leg.alive and leg in call.parties and leg.stream is not None:
            tone = confirmation_beep() if outcome.ok else error_beep()
            call.manager.engine.play(leg.stream, tone, over_sources=True)

    # -- the call's life ------------------------------------------------------------------------

    def call_answered(self, call: Call) -> None:
        config = self.office.config()
        for leg in call.parties:
            employee = config.employee(leg.extension or "") if leg.role == "employee" else None
            if employee is not None and employee.record_calls:
                try:
                    self.office.recordings.start(call, "default")
                except Exception:
                    call.log.exception("default recording did not start")
                break

    def parties_changed(self, call: Call, reason: str) -> None:
        trainer.apply(call)
        self.office.recordings.parties_changed(call)

    def party_hung_up(self, call: Call, leg: Leg) -> bool:
        pending = transfer.active(call)
        if pending is not None and leg is pending.presser:
            return pending.presser_hung_up()
        return move.old_device_hung_up(call, leg)

    def leg_left(self, call: Call, leg: Leg) -> None:
        pending = transfer.active(call)
        if pending is not None and pending.target_left(leg):
            return
        trainer.left(call, leg)

    def call_ended(self, call: Call) -> None:
        pending = transfer.active(call)
        if pending is not None:
            pending.cancel()
        trainer.stop(call)
        move.stop(call)
        self.office.recordings.forget(call)
