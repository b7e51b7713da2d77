"""Ringing several devices at once: the first to answer wins, the others are cancelled.

A `Ringing` sends one INVITE per target (every registered device of the employees being rung,
or a number through the trunk), reports the first provisional response, hands the first answered
leg to its owner and cancels the rest; a 2xx arriving from a loser later is acknowledged and
hung up. When every target failed or the timeout passed it reports one failure status chosen
as RFC 3261 §16.7 suggests (busy and decline win over "no answer").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from b2bua.calls.leg import Leg, LegState
from b2bua.media.ports import PortsExhausted
from b2bua.sdp.session import SessionDescription
from b2bua.sip.message import Request, Response
from b2bua.sip.peer import Peer
from b2bua.sip.uri import NameAddr, SipURI

if TYPE_CHECKING:
    from b2bua.calls.manager import CallManager

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """One device or number to ring."""

    uri: SipURI
    peer: Peer
    label: str
    extension: str | None = None
    route: tuple[str, ...] = ()
    authorize: Callable[[Response], list[tuple[str, str]] | None] | None = None


OfferBuilder = Callable[[Leg], SessionDescription | None]


def failure_status(statuses: Sequence[tuple[int, str]]) -> tuple[int, str]:
    """The one failure to report when every target failed."""
    if not statuses:
        return 480, "Temporarily Unavailable"
    codes = [status for status, _ in statuses]
    for wanted in (600, 603, 486, 488):
        if wanted in codes:
            return next(s for s in statuses if s[0] == wanted)
    for status, reason in statuses:
        if status not in (408, 480, 487) and status < 500:
            return status, reason
    return 480, "Temporarily Unavailable"


class Ringing:
    """One attempt to reach someone on several targets at once."""

    def __init__(
        self,
        manager: CallManager,
        targets: Sequence[Target],
        *,
        role: str,
        from_: NameAddr,
        to: NameAddr,
        offer: OfferBuilder,
        timeout: float,
        on_answer: Callable[[Leg, Response], None],
        on_fail: Callable[[int, str], None],
        on_progress: Callable[[Leg, Response], None] | None = None,
        headers: Sequence[tuple[str, str]] = (),
        max_forwards: int = 70,
    ) -> None:
        self.manager = manager
        self.max_forwards = max_forwards
        self.targets = list(targets)
        self.role = role
        self.from_ = from_
        self.to = to
        self.offer = offer
        self.timeout = timeout
        self.on_answer = on_answer
        self.on_fail = on_fail
        self.on_progress = on_progress
        self.headers = list(headers)
        self.legs: list[Leg] = []
        self.failures: list[tuple[int, str]] = []
        self.done = False
        self.progressed = False
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if not self.targets:
            self._finish_failed(480, "Temporarily Unavailable")
            return
        for target in self.targets:
            leg = self.manager.new_leg(self, role=self.role, uas=False, peer=target.peer,
                                       label=target.label, extension=target.extension)
            leg.authorize = target.authorize
            self.legs.append(leg)
            try:
                sdp = self.offer(leg)
            except ValueError as error:
                log.info("no offer for %s: %s", target.label, error)
                self._drop(leg)
                self.failures.append((488, "Not Acceptable Here"))
                continue
            except PortsExhausted as error:
                log.error("not ringing %s: %s", target.label, error)
                self._drop(leg)
                self.failures.append((503, "Service Unavailable"))
                continue
            headers = [*self.headers, *(("Route", r) for r in target.route)]
            leg.send_invite(target.uri, from_=self.from_, to=self.to, sdp=sdp, headers=headers,
                            max_forwards=self.max_forwards)
        self._timer = self.manager.schedule(self.timeout, self._timed_out)
        self._check_all_failed()

    def cancel(self) -> None:
        """Give up: every leg still ringing is cancelled; nothing is reported."""
        self.done = True
        self._stop_timer()
        for leg in self.legs:
            if leg.alive:
                leg.cancel()
                self.manager.media.release(leg)

    @property
    def pending(self) -> bool:
        return not self.done

    def _timed_out(self) -> None:
        self._timer = None
        if self.done:
            return
        self.cancel()
        self.on_fail(480, "No Answer")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _drop(self, leg: Leg) -> None:
        leg.state = LegState.TERMINATED
        self.manager.media.release(leg)

    def _check_all_failed(self) -> None:
        if not self.done and all(not leg.alive for leg in self.legs):
            status, reason = failure_status(self.failures)
            self._finish_failed(status, reason)

    def _finish_failed(self, status: int, reason: str) -> None:
        self.done = True
        self._stop_timer()
        self.on_fail(status, reason)

    # -- LegOwner ----------------------------------------------------------------------------

    def leg_progress(self, leg: Leg, response: Response) -> None:
        if not self.done and self.on_progress is not None:
            self.on_progress(leg, response)

    def leg_answered(self, leg: Leg, response: Response) -> None:
        if self.done:
            leg.bye()
            self.manager.media.release(leg)
            return
        self.done = True
        self._stop_timer()
        for other in self.legs:
            if other is not leg and other.alive:
                other.cancel()
                self.manager.media.release(other)
        self.on_answer(leg, response)

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        self.manager.media.release(leg)
        self.failures.append((status, reason))
        self._check_all_failed()

    def leg_confirmed(self, leg: Leg) -> None:
        pass

    def leg_cancelled(self, leg: Leg) -> None:
        pass

    def leg_ended(self, leg: Leg, reason: str) -> None:
        self.manager.media.release(leg)
        self._check_all_failed()

    def leg_offer(self, leg: Leg, offer: SessionDescription | None,
                  reply: Callable[[int, SessionDescription | None], None]) -> None:
        reply(491, None)

    def leg_info(self, leg: Leg, request: Request) -> bool:
        return True
