"""Transfer with `#`: the employee presses `#`, then a colleague's extension.

While the digits are collected the client hears music on hold and the employee hears nothing
from the client. Collection stops when the number is complete (an extension no longer number
starts with), on `#`, or after the inter-digit timeout; `*` cancels. Then the colleague rings:
- blind: the first answer takes the client, and the transferring employee's leg is released;
- consult: the colleague talks to the transferring employee first (the client keeps its music);
  the employee hangs up or presses `#` to hand the client over, `*` to take the client back; the
  colleague hanging up gives the client back too.
No answer, busy, or a wrong number: the client goes back to the transferring employee (rung
again if they hung up meanwhile), or, with `return_on_no_answer: false`, hears goodbye and the
call ends. The client's leg is never cut while any of this happens.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

from b2bua.calls.call import Call
from b2bua.calls.leg import Leg
from b2bua.calls.ringing import Ringing
from b2bua.media.sounds import Samples, load_sound
from b2bua.options.base import OptionContext, Outcome
from b2bua.options.ringing_out import office_uri, ring_into_call
from dsp.tones import confirmation_beep, error_beep

CANCEL_KEY = "*"
END_KEY = "#"


class Stage(StrEnum):
    COLLECTING = "collecting"
    RINGING = "ringing"
    CONSULTING = "consulting"
    RETURNING = "returning"


@dataclass
class Transfer:
    context: OptionContext
    presser: Leg
    client: Leg
    mode: str
    stage: Stage = Stage.COLLECTING
    digits: str = ""
    target: Leg | None = None
    ringing: Ringing | None = None
    timer: asyncio.TimerHandle | None = None
    log: list[str] = field(default_factory=list)

    @property
    def call(self) -> Call:
        return self.context.call

    # -- collecting the number ----------------------------------------------------------------

    def start(self) -> None:
        engine = self.call.manager.engine
        self.call.media_bridged = False
        if self.presser.stream is not None:
            engine.set_sources(self.presser.stream, [])
            engine.play(self.presser.stream, confirmation_beep())
        if self.client.stream is not None:
            engine.set_sources(self.client.stream, [])
            engine.play(self.client.stream, self._music(), loop=True)
        self._event("started", mode=self.mode)
        self._arm_digit_timer()

    def key(self, leg: Leg, digit: str) -> bool:
        """A key of the transferring employee during the transfer (always swallowed)."""
        if leg is not self.presser:
            return False
        if self.stage is Stage.COLLECTING:
            self._collect(digit)
        elif self.stage is Stage.CONSULTING:
            if digit == END_KEY:
                self._complete()
            elif digit == CANCEL_KEY:
                self._event("consultation-cancelled", target=self.digits)
                self._return()
        return True

    def _collect(self, digit: str) -> None:
        if digit == CANCEL_KEY:
            self._event("cancelled")
            self._return(beep=False)
            return
        if digit == END_KEY:
            self._dial()
            return
        self.digits += digit
        extensions = self.call.manager.config.extensions
        complete = self.digits in extensions and not any(
            e != self.digits and e.startswith(self.digits) for e in extensions)
        if complete or not any(e.startswith(self.digits) for e in extensions):
            self._dial()
        else:
            self._arm_digit_timer()

    def _arm_digit_timer(self) -> None:
        self._stop_timer()
        wait = self.call.manager.config.transfer.digit_timeout
        self.timer = self.call.manager.schedule(wait, self._digit_timeout)

    def _digit_timeout(self) -> None:
        self.timer = None
        if self.stage is Stage.COLLECTING:
            if self.digits:
                self._dial()
            else:
                self._event("cancelled", reason="no digits")
                self._return(beep=False)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # -- ringing the colleague ----------------------------------------------------------------

    def _dial(self) -> None:
        self._stop_timer()
        manager = self.call.manager
        config = manager.config
        target = self.digits
        if target not in config.extensions or target == self.presser.extension:
            self._failed(404, "Not Found")
            return
        targets = manager.targets_for([target])
        if not targets:
            status = 486 if manager.is_busy(target) else 480
            self._failed(status, "Busy Here" if status == 486 else "Temporarily Unavailable")
            return
        self.stage = Stage.RINGING
        self._event("dialing", target=target)
        if self.presser.alive and self.presser.stream is not None:
            manager.engine.play(self.presser.stream, load_sound("builtin:ringback"), loop=True)
        self.ringing = ring_into_call(
            self.call, targets, role="employee", like=self.client,
            timeout=config.transfer.answer_timeout,
            caller=office_uri(self.call, self.call.caller_number),
            callee=office_uri(self.call, target), on_answer=self._answered,
            on_fail=self._failed)

    def _answered(self, leg: Leg) -> None:
        self.ringing = None
        self.target = leg
        leg.extension = self.digits
        if self.mode == "consult" and self.presser.alive:
            self.stage = Stage.CONSULTING
            self.call.extra_legs.append(leg)
            engine = self.call.manager.engine
            engine.stop_play(self.presser.stream)  # type: ignore[arg-type]
            engine.bridge(self.presser.stream, leg.stream)  # type: ignore[arg-type]
            self._event("consulting", target=self.digits, device=leg.label)
            return
        self._complete()

    def _complete(self) -> None:
        target = self.target
        if target is None:
            return
        self._finish()
        self.call.replace_party(self.presser, target, "transfer")
        self._event("completed", target=self.digits, device=target.label)
        self.context.finish(Outcome(True, {"target": self.digits, "mode": self.mode}))

    def _failed(self, status: int, reason: str) -> None:
        self.ringing = None
        self._event("failed", target=self.digits, status=status, reason=reason)
        self.context.finish(Outcome(False, {"target": self.digits, "status": status}))
        if self.call.manager.config.transfer.return_on_no_answer:
            self._return()
        else:
            self._goodbye()

    # -- giving the client back ---------------------------------------------------------------

    def _return(self, beep: bool = True) -> None:
        """The client goes back to the transferring employee."""
        if self.target is not None and self.target.alive:
            self.target.bye()
        if self.presser.alive:
            self._finish()
            self.call.rebridge()
            if beep and self.presser.stream is not None:
                self.call.manager.engine.play(self.presser.stream, error_beep(),
                                              over_sources=True)
            self._event("returned", to=self.presser.extension)
            return
        self._ring_back()

    def _ring_back(self) -> None:
        """The transferring employee hung up meanwhile: ring them again for the client."""
        manager = self.call.manager
        extension = self.presser.extension or ""
        targets = manager.targets_for([extension], skip_busy=False)
        if not targets:
            self._goodbye()
            return
        self.stage = Stage.RETURNING
        self._event("ringing-back", to=extension)

        def answered(leg: Leg) -> None:
            leg.extension = extension
            self._finish()
            self.call.replace_party(self.presser, leg, "transfer-return")
            self._event("returned", to=extension, device=leg.label)

        self.ringing = ring_into_call(
            self.call, targets, role="employee", like=self.client,
            timeout=manager.config.calls.ring_timeout,
            caller=office_uri(self.call, self.call.caller_number),
            callee=office_uri(self.call, extension), on_answer=answered,
            on_fail=lambda status, reason: self._goodbye())

    def _goodbye(self) -> None:
        self._finish()
        self._event("goodbye")
        self.call.end(None, reason="transfer-failed")

    def presser_hung_up(self) -> bool:
        """The transferring employee hung up during the transfer; True: the call goes on."""
        if self.stage is Stage.COLLECTING:
            if not self.digits:
                return False
            self._dial()
            return True
        if self.stage is Stage.CONSULTING:
            self._complete()
        return True

    def target_left(self, leg: Leg) -> bool:
        if leg is not self.target or self.stage is not Stage.CONSULTING:
            return False
        self._event("consultation-ended", target=self.digits)
        self.target = None
        self._return()
        return True

    # -- bookkeeping --------------------------------------------------------------------------

    def _music(self) -> Samples:
        return load_sound(self.call.manager.config.transfer.hold_music)

    def _finish(self) -> None:
        self._stop_timer()
        if self.ringing is not None:
            self.ringing.cancel()
            self.ringing = None
        if self.call.options.get("transfer") is self:
            del self.call.options["transfer"]

    def cancel(self) -> None:
        self._finish()

    def _event(self, stage: str, **detail: object) -> None:
        self.log.append(stage)
        self.call.report.event("transfer", stage=stage, by=self.presser.extension, **detail)


def start_transfer(context: OptionContext) -> None:
    """The `#` key: begin collecting the colleague's number."""
    if context.client is None:
        return
    mode = context.office.config().transfer.mode
    transfer = Transfer(context, context.presser, context.client, mode)
    context.call.options["transfer"] = transfer
    transfer.start()


def active(call: Call) -> Transfer | None:
    transfer = call.options.get("transfer")
    return transfer if isinstance(transfer, Transfer) else None
