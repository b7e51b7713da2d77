"""One call through the B2BUA: the caller's leg, the ringing, the answered pair and the report.

The caller's INVITE makes leg A. Routing gives ring steps (manager first, then the number's
target); each step rings every device of its employees at once. The first device to answer
becomes leg B: its answer settles the codec, leg A is answered with that codec under A's own
payload type numbers, and the media engine relays between the two streams. From then on the
call is a pair of *parties* (caller side and callee side); options may replace a party (move,
transfer) or add one (trainer) without the other ever being cut off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from b2bua.calls.dtmf_info import parse_dtmf_info
from b2bua.calls.leg import Leg, LegState
from b2bua.calls.report import CallReport
from b2bua.calls.ringing import Ringing
from b2bua.calls.router import RingStep, Route
from b2bua.sdp.session import SdpError, SessionDescription, parse_sdp
from b2bua.sip.message import Request, Response
from b2bua.store import CallRecord

if TYPE_CHECKING:
    from b2bua.calls.manager import CallManager
    from b2bua.media.engine import StreamStats

log = logging.getLogger(__name__)

CALLER = "caller"
CALLEE = "callee"

_DISPOSITIONS = {486: "busy", 600: "busy", 480: "no-answer", 408: "no-answer", 487: "cancelled",
                 603: "rejected", 403: "rejected", 404: "failed"}


class CallState(StrEnum):
    ROUTING = "routing"
    RINGING = "ringing"
    SCENARIO = "scenario"  # the client is with a scenario (prompts, music, ringing on)
    ANSWERED = "answered"
    ENDED = "ended"


class CallLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"call {self.extra['call']}: {msg}", kwargs  # type: ignore[index]


class Call:
    """A call and everything that happens to it until both sides hung up."""

    def __init__(self, manager: CallManager, a: Leg, *, call_id: str, direction: str,
                 caller_number: str, caller_name: str, called_number: str,
                 employee: str | None) -> None:
        self.manager = manager
        self.id = call_id
        self.a = a
        a.owner = self
        a.extra["side"] = CALLER
        self.direction = direction
        self.caller_number = caller_number
        self.called_number = called_number
        self.employee = employee
        self.parties: list[Leg] = [a]
        self.extra_legs: list[Leg] = []
        self.busy_legs: list[Leg] = []
        self.media_bridged = False
        self.state = CallState.ROUTING
        self.ringing: Ringing | None = None
        self.steps: list[RingStep] = []
        self.scenario_after_steps: str | None = None
        self.log = CallLog(log, {"call": call_id})
        self.report = CallReport(manager.reports, manager.wall, CallRecord(
            id=call_id, started_at=manager.wall(), direction=direction,  # type: ignore[arg-type]
            caller_number=caller_number, called_number=called_number, caller_name=caller_name,
            employee=employee,
        ))
        self.options: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.state} {self.caller_number}->{self.called_number}>"

    # -- who is who ----------------------------------------------------------------------------

    def other(self, leg: Leg) -> Leg | None:
        """The party bridged with `leg` (None before the answer)."""
        if leg in self.parties and len(self.parties) == 2:
            return self.parties[1] if self.parties[0] is leg else self.parties[0]
        return None

    def bridged(self, leg: Leg) -> bool:
        """Whether `leg`'s audio is relayed to and from the other party right now."""
        return self.media_bridged and leg in self.parties

    def legs(self) -> list[Leg]:
        return [*self.parties, *self.extra_legs]

    def employee_legs(self) -> list[Leg]:
        return [leg for leg in self.parties if leg.role == "employee"]

    # -- routing and ringing ---------------------------------------------------------------

    def route(self, route: Route) -> None:
        if route.kind == "reject":
            self.report.event("rejected", status=route.status, reason=route.reason)
            self.end(None, status=route.status, reason=route.reason,
                     disposition=route.disposition)
        elif route.kind == "trunk":
            self.state = CallState.RINGING
            self._ring([self.manager.trunk_target(route.number)], role="client",
                       timeout=self.manager.config.calls.ring_timeout, reason="trunk",
                       on_fail=self._ringing_failed)
        elif route.kind == "scenario":
            self.steps = list(route.steps)
            self.scenario_after_steps = route.scenario
            self.state = CallState.RINGING
            self._next_step(480, "Temporarily Unavailable")
        else:
            self.steps = list(route.steps)
            self.state = CallState.RINGING
            self._next_step(480, "Temporarily Unavailable")

    def _next_step(self, status: int, reason: str) -> None:
        if self.state is CallState.ENDED:
            return
        while self.steps:
            step = self.steps.pop(0)
            targets = self.manager.targets_for(step.extensions)
            if not targets:
                self.report.event("unreachable", extensions=list(step.extensions),
                                  step=step.reason)
                busy = [e for e in step.extensions if self.manager.is_busy(e)]
                if busy and len(busy) == len(step.extensions):
                    status, reason = 486, "Busy Here"
                continue
            self._ring(targets, role="employee", timeout=step.timeout, reason=step.reason,
                       on_fail=self._step_failed)
            return
        if self.scenario_after_steps is not None:
            name, self.scenario_after_steps = self.scenario_after_steps, None
            self.manager.scenarios.start(self, name)
            return
        self._ringing_failed(status, reason)

    def _ring(self, targets: list[Any], *, role: str, timeout: float, reason: str,
              on_fail: Callable[[int, str], None]) -> None:
        manager = self.manager
        offer = self.a.remote_offer
        self.report.event("ringing", step=reason, devices=[t.label for t in targets])
        self.ringing = Ringing(
            manager, targets, role=role,
            from_=manager.presented_caller(self),
            to=manager.presented_callee(self, role),
            offer=(lambda leg: manager.media.offer_like(leg, offer, near=self.a))
            if offer is not None else (lambda leg: manager.media.offer_for(leg, near=self.a)),
            timeout=timeout, on_answer=self._answered, on_fail=on_fail,
            on_progress=self._progress, headers=manager.invite_headers(self),
            max_forwards=max(1, min(70, (self.a.invite.max_forwards or 70) - 1))
            if self.a.invite is not None else 70,
        )
        self.ringing.start()

    def _progress(self, leg: Leg, response: Response) -> None:
        if self.a.state is LegState.INCOMING:
            self.a.ring()

    def _step_failed(self, status: int, reason: str) -> None:
        self.ringing = None
        self._next_step(status, reason)

    def _ringing_failed(self, status: int, reason: str) -> None:
        self.ringing = None
        if self.state is not CallState.ENDED:
            self.end(None, status=status, reason=reason,
                     disposition=_DISPOSITIONS.get(status, "failed"))

    def _answered(self, leg: Leg, response: Response) -> None:
        self.ringing = None
        manager = self.manager
        leg.owner = self
        leg.extra["side"] = CALLEE
        try:
            if not response.body:
                raise SdpError("the answer has no SDP")
            manager.media.take_answer(leg, parse_sdp(response.body))
            if self.a.remote_offer is not None:
                sdp = manager.media.answer_like(self.a, self.a.remote_offer, leg.media)  # type: ignore[arg-type]
            else:
                sdp = manager.media.offer_for(self.a, codec=manager.media.codec(leg), only=True)
        except SdpError as error:
            self.log.info("media of %r unusable: %s", leg, error.reason)
            leg.bye()
            manager.media.release(leg)
            self._next_step(488, "Not Acceptable Here")
            return
        self.a.answer(sdp, headers=manager.session_timer_headers(self.a))
        manager.timers.settle_answer(leg, response)
        self.connect(self.a, leg)
        self.report.update(answered_at=manager.wall(), disposition="answered",
                           employee=self.employee, answered_device=leg.label)
        self.report.event("answered", device=leg.label, extension=leg.extension)
        self.log.info("answered by %s", leg.label)

    # -- who talks to whom ---------------------------------------------------------------

    def connect(self, first: Leg, second: Leg) -> None:
        """Make `first` and `second` the two parties of the answered call, relayed to each
        other (at the answer, and when a scenario's ring step is answered)."""
        manager = self.manager
        for leg in self.parties:
            if leg not in (first, second):
                manager.party_left(self, leg)
        self.parties = [first, second]
        self.state = CallState.ANSWERED
        for leg in (first, second):
            leg.owner = self
            if leg.role == "employee" and leg.extension and leg.extra.get("side") == CALLEE:
                self.employee = leg.extension
        self.rebridge()
        manager.call_answered(self)

    def rebridge(self) -> None:
        """Relay the two parties to each other again (after music, a whisper, a consultation)."""
        if len(self.parties) != 2:
            return
        first, second = self.parties
        engine = self.manager.engine
        for leg in (first, second):
            if leg.stream is not None:
                engine.stop_play(leg.stream)
        if first.stream is not None and second.stream is not None:
            engine.set_sources(first.stream, [second.stream])
            engine.set_sources(second.stream, [first.stream])
            self.media_bridged = True

    def replace_party(self, old: Leg, new: Leg, reason: str) -> None:
        """`new` takes `old`'s place (a move to another device, a transfer): the other party is
        relayed to `new` at once, then `old` is hung up. The other party never notices more
        than the switch itself: its own stream keeps its SSRC and sequence."""
        index = self.parties.index(old)
        new.owner = self
        new.extra["side"] = old.extra.get("side", CALLEE)
        self.parties[index] = new
        if self.extra_legs and new in self.extra_legs:
            self.extra_legs.remove(new)
        self.rebridge()
        self.manager.party_left(self, old)
        self.manager.party_joined(self, new)
        if old.alive:
            old.bye()
        self.manager.media.release(old)
        if new.role == "employee" and new.extension and new.extension != self.employee:
            self.employee = new.extension
            self.report.update(employee=new.extension)
        self.manager.options.parties_changed(self, reason)

    # -- LegOwner --------------------------------------------------------------------------

    def leg_progress(self, leg: Leg, response: Response) -> None:
        pass

    def leg_answered(self, leg: Leg, response: Response) -> None:
        pass

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        pass

    def leg_confirmed(self, leg: Leg) -> None:
        if leg.media is None and leg.remote_sdp is not None and leg.our_offer is not None:
            try:  # a late offer: the caller's answer came in the ACK
                self.manager.media.take_answer(leg, leg.remote_sdp)
            except SdpError as error:
                self.log.info("answer in ACK unusable: %s", error.reason)
                self.end(leg, reason="bad-sdp")

    def leg_cancelled(self, leg: Leg) -> None:
        if leg is self.a:
            self.report.event("cancelled")
            self.end(leg, disposition="cancelled")

    def leg_ended(self, leg: Leg, reason: str) -> None:
        if leg in self.parties:
            if self.manager.options.party_hung_up(self, leg):
                return  # an option keeps the call going without this party (a transfer)
            self.report.event("hangup", side=leg.extra.get("side"), reason=reason)
            self.end(leg, reason=reason)
        elif leg in self.extra_legs:
            self.extra_legs.remove(leg)
            self.manager.media.release(leg)
            self.manager.options.leg_left(self, leg)

    def leg_offer(self, leg: Leg, offer: SessionDescription | None,
                  reply: Callable[[int, SessionDescription | None], None]) -> None:
        self.manager.offers.relay(self, leg, offer, reply)

    def leg_info(self, leg: Leg, request: Request) -> bool:
        """SIP INFO in a party's dialog. A key (dtmf-relay or dtmf) joins the leg's key stream;
        unless an option swallows it, it reaches the other party the way that party negotiated
        (RFC 4733 events, else in-band tones). Other INFO is passed on as INFO."""
        other = self.other(leg)
        digit = parse_dtmf_info(request.content_type, request.body)
        if digit is not None:
            key, duration = digit
            swallowed = False
            if leg.stream is not None and leg.role == "employee" and self.bridged(leg):
                swallowed = self.manager.engine.info_key(leg.stream, key, duration)
            if not swallowed and other is not None and other.stream is not None:
                self.manager.engine.send_key(other.stream, key, duration)
            return True
        if other is not None and other.state is LegState.CONFIRMED:
            other.request("INFO", body=request.body, content_type=request.content_type)
        return True

    # -- the end ---------------------------------------------------------------------------

    def _media_summary(self) -> None:
        """RTP counters of every leg that had a stream, into the report."""
        # What the legs say is taken now: the counters may come back later (from a media
        # worker), when the legs have let go of their session state.
        media = self.manager.media
        legs = {leg.stream: (str(leg.extra.get("side", leg.role)), leg.role, media.codec(leg))
                for leg in self.legs() if leg.stream is not None}
        report = self.report

        def write(found: dict[int, StreamStats]) -> None:
            streams: dict[str, dict[str, object]] = {}
            for stream, stats in found.items():
                side, role, codec = legs[stream]
                streams[side] = {"role": role, "port": stats.local_port,
                                 "received": stats.received, "sent": stats.sent, "codec": codec}
            if streams:
                report.event("media", **streams)

        if legs:
            self.manager.engine.collect_stats(list(legs), write)

    def end(self, by: Leg | None, *, status: int = 480, reason: str = "",
            disposition: str | None = None) -> None:
        """Hang up every leg (the caller gets `status` if never answered) and close the
        report. `by` is the leg that hung up (None: the system)."""
        if self.state is CallState.ENDED:
            return
        answered = self.state in (CallState.ANSWERED, CallState.SCENARIO)
        self.state = CallState.ENDED
        if self.ringing is not None:
            self.ringing.cancel()
            self.ringing = None
        self.manager.scenarios.stop(self)
        self.manager.options.call_ended(self)
        for leg in self.legs():
            if leg is by or not leg.alive:
                continue
            if leg is self.a and leg.state in (LegState.INCOMING, LegState.EARLY):
                leg.reject(status, reason or None)
            else:
                leg.bye()
        self._media_summary()
        for leg in self.legs():
            self.manager.media.release(leg)
        now = self.manager.wall()
        fields: dict[str, Any] = {"ended_at": now}
        if by is not None:
            fields["hangup_side"] = by.extra.get("side", CALLER)
        elif answered:
            fields["hangup_side"] = "system"
        if answered:
            fields["duration"] = round(now - self.report.started_at, 3)
        elif disposition is not None:
            fields["disposition"] = disposition
        else:
            fields["disposition"] = _DISPOSITIONS.get(status, "failed")
        self.report.update(**fields)
        self.log.info("ended (%s)", reason or fields.get("disposition", "hangup"))
        self.manager.call_ended(self)
