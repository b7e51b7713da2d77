"""Move the call to another device of the employee: every other registered device and every
extra number (through the trunk) rings at once; the first to answer takes the call and only
then is the old device's leg released. Nobody answers: the call stays where it was. The client
is never cut off; if the employee hangs up the old device while the others ring, the client
hears music until one answers."""

from __future__ import annotations

from dataclasses import dataclass

from b2bua.calls.call import Call
from b2bua.calls.leg import Leg
from b2bua.calls.ringing import Ringing
from b2bua.media.sounds import load_sound
from b2bua.options.base import OptionContext, OptionFailed, Outcome
from b2bua.options.ringing_out import office_uri, ring_into_call


@dataclass
class Move:
    old: Leg
    ringing: Ringing | None = None
    abandoned: bool = False


def move(context: OptionContext) -> None:
    call, office, presser = context.call, context.office, context.presser
    if isinstance(call.options.get("move"), Move):
        raise OptionFailed("a move is already ringing")
    manager = office.manager
    config = office.config()
    extension = context.employee
    targets = [t for t in manager.targets_for([extension], skip_busy=False)
               if t.peer != presser.peer and t.label != presser.label]
    employee = config.employee(extension)
    if employee is not None and config.trunk is not None:
        targets += [manager.trunk_target(number) for number in employee.numbers]
    if not targets:
        raise OptionFailed("the employee has no other device or number")
    state = Move(presser)
    call.options["move"] = state

    def answered(leg: Leg) -> None:
        call.options.pop("move", None)
        leg.extension = extension
        leg.role = "employee"
        old = state.old
        if old not in call.parties:
            context.finish(Outcome(False, {"reason": "the call changed meanwhile"}))
            leg.bye()
            return
        call.replace_party(old, leg, "move")
        call.report.event("moved", employee=extension, old=old.label, new=leg.label)
        context.finish(Outcome(True, {"from": old.label, "to": leg.label}))

    def failed(status: int, reason: str) -> None:
        call.options.pop("move", None)
        if state.abandoned:
            call.report.event("move-failed", status=status)
            call.end(None, reason="move-failed")
            return
        context.finish(Outcome(False, {"status": status, "reason": reason}))

    state.ringing = ring_into_call(
        call, targets, role="employee", like=context.client,
        timeout=config.calls.ring_timeout, caller=office_uri(call, call.caller_number),
        callee=office_uri(call, extension), on_answer=answered, on_fail=failed)




def old_device_hung_up(call: Call, leg: Leg) -> bool:
    """The moving employee hung up the old device while the others ring: keep the client on
    music until one answers (True: the call goes on)."""
    state = call.options.get("move")
    if not isinstance(state, Move) or state.old is not leg:
        return False
    state.abandoned = True
    other = call.other(leg)
    if other is not None and other.stream is not None:
        call.manager.engine.play(other.stream, load_sound(call.manager.config.transfer.hold_music),
                                 loop=True)
    call.media_bridged = False
    return True


def stop(call: Call) -> None:
    state = call.options.pop("move", None)
    if isinstance(state, Move) and state.ringing is not None:
        state.ringing.cancel()
