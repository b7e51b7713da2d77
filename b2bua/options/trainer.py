"""Call the employee's trainer into the call, to whisper: the trainer hears the client and the
employee, the employee hears the client and the trainer, the client hears only the employee.
Three different mixes, computed on the media tick. The trainer hanging up brings the call back
to two; a trainer who does not answer (or is busy) leaves the call as it was."""

from __future__ import annotations

from dataclasses import dataclass

from b2bua.calls.call import Call
from b2bua.calls.leg import Leg
from b2bua.calls.ringing import Ringing
from b2bua.options.base import OptionContext, OptionFailed, Outcome
from b2bua.options.ringing_out import office_uri, ring_into_call


@dataclass
class Whisper:
    trainer: str
    employee: Leg
    client: Leg
    leg: Leg | None = None
    ringing: Ringing | None = None


def call_trainer(context: OptionContext) -> None:
    call, office = context.call, context.office
    state = context.call.options
    if isinstance(state.get("whisper"), Whisper):
        raise OptionFailed("the trainer is already on the call or being called")
    employee = office.config().employee(context.employee)
    trainer = employee.trainer if employee is not None else None
    if trainer is None or context.client is None:
        raise OptionFailed("no trainer is assigned to this employee")
    manager = office.manager
    targets = manager.targets_for([trainer])
    if not targets:
        raise OptionFailed(f"trainer {trainer} is busy or has no registered device")
    whisper = Whisper(trainer, context.presser, context.client)
    state["whisper"] = whisper

    def answered(leg: Leg) -> None:
        whisper.ringing = None
        whisper.leg = leg
        call.extra_legs.append(leg)
        apply(call)
        call.report.event("trainer-joined", trainer=trainer, device=leg.label)
        context.finish(Outcome(True, {"trainer": trainer, "device": leg.label}))

    def failed(status: int, reason: str) -> None:
        state.pop("whisper", None)
        context.finish(Outcome(False, {"trainer": trainer, "status": status, "reason": reason}))

    name = employee.name if employee is not None else None
    whisper.ringing = ring_into_call(
        call, targets, role="trainer", like=context.client,
        timeout=office.config().calls.ring_timeout,
        caller=office_uri(call, context.employee, f"Coaching {name}" if name else None),
        callee=office_uri(call, trainer), on_answer=answered, on_fail=failed)


def apply(call: Call) -> None:
    """Set the three whisper mixes for the call's current parties (after a party changed)."""
    whisper = call.options.get("whisper")
    if not isinstance(whisper, Whisper) or whisper.leg is None or len(call.parties) != 2:
        return
    client, employee = whisper.client, whisper.employee
    if client not in call.parties or employee not in call.parties:
        client, employee = _client_and_employee(call, whisper)
        whisper.client, whisper.employee = client, employee
    engine = call.manager.engine
    trainer = whisper.leg
    if None in (client.stream, employee.stream, trainer.stream):
        return
    engine.set_sources(client.stream, [employee.stream])  # type: ignore[list-item, arg-type]
    engine.set_sources(employee.stream, [client.stream, trainer.stream])  # type: ignore[list-item, arg-type]
    engine.set_sources(trainer.stream, [client.stream, employee.stream])  # type: ignore[list-item, arg-type]


def _client_and_employee(call: Call, whisper: Whisper) -> tuple[Leg, Leg]:
    first, second = call.parties
    if first.role == "employee" and second.role != "employee":
        return second, first
    return first, second


def left(call: Call, leg: Leg) -> bool:
    """A leg left the call: True when it was the trainer (the call goes back to two)."""
    whisper = call.options.get("whisper")
    if not isinstance(whisper, Whisper) or whisper.leg is not leg:
        return False
    call.options.pop("whisper", None)
    call.report.event("trainer-left", trainer=whisper.trainer)
    call.rebridge()
    return True


def stop(call: Call) -> None:
    whisper = call.options.pop("whisper", None)
    if isinstance(whisper, Whisper) and whisper.ringing is not None:
        whisper.ringing.cancel()
