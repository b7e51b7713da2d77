"""Session timers (RFC 4028) on every answered leg: dead dialogs end instead of lingering.

Each leg negotiates its own timer with its own peer. On a leg the peer refreshes (refresher=uac
on a leg that called us, refresher=uas on a leg we called), a refresh must arrive within the
interval or the call ends (RFC 4028 §10: at the interval minus min(32 s, interval/3)). On a leg
we refresh, an UPDATE (or a re-INVITE repeating our SDP when the peer does not allow UPDATE) goes
out every half interval, and a refresh that fails ends the call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import parse_params
from b2bua.sip.message import Request, Response

if TYPE_CHECKING:
    from b2bua.calls.leg import Leg
    from b2bua.calls.manager import CallManager

log = logging.getLogger(__name__)

ABSOLUTE_MINIMUM = 90  # RFC 4028 §4


@dataclass
class _Timer:
    interval: int
    we_refresh: bool
    handle: asyncio.TimerHandle | None = None


def session_expires(message: Request | Response) -> tuple[int, str | None] | None:
    """(interval, refresher) from a Session-Expires header (compact form `x` included)."""
    value = message.get("Session-Expires")
    if value is None:
        return None
    head, _, tail = value.partition(";")
    try:
        interval = int(head.strip())
        params = parse_params(tail) if tail else {}
    except (ValueError, RemoteProtocolError):
        return None
    refresher = params.get("refresher")
    return interval, refresher.lower() if refresher else None


def supports_timer(message: Request | Response) -> bool:
    for name in ("Supported", "Require"):
        for value in message.headers.get_all(name):
            if value.strip().lower() == "timer":
                return True
    return False


class SessionTimers:
    """Negotiates and runs the session timer of each leg."""

    def __init__(self, manager: CallManager) -> None:
        self.manager = manager
        self._timers: dict[int, _Timer] = {}

    @property
    def wanted(self) -> int:
        return self.manager.config.calls.session_expires

    @property
    def minimum(self) -> int:
        return max(ABSOLUTE_MINIMUM, self.manager.config.calls.min_session_expires)

    def check_request(self, request: Request) -> tuple[int, str, list[tuple[str, str]]] | None:
        """A 422 for an INVITE asking for an interval below our minimum (RFC 4028 §8.1)."""
        asked = session_expires(request)
        if asked is not None and asked[0] < self.minimum:
            return 422, "Session Interval Too Small", [("Min-SE", str(self.minimum))]
        return None

    def offer_headers(self) -> list[tuple[str, str]]:
        """Headers of the INVITEs we send: we would like timers, the peer may refresh."""
        return [("Session-Expires", str(self.wanted)), ("Min-SE", str(self.minimum))]

    def answer_headers(self, leg: Leg) -> list[tuple[str, str]]:
        """Headers of our 2xx to a caller's INVITE, and what we settled with that caller."""
        request = leg.invite
        if request is None or not supports_timer(request):
            return []
        asked = session_expires(request)
        interval = max(asked[0], self.minimum) if asked else self.wanted
        refresher = (asked[1] if asked else None) or "uac"
        leg.extra["session_timer"] = _Timer(interval, we_refresh=refresher == "uas")
        return [("Session-Expires", f"{interval};refresher={refresher}"), ("Require", "timer")]

    def settle_answer(self, leg: Leg, response: Response) -> None:
        """What a callee's 2xx to our INVITE settled (no Session-Expires: no timer)."""
        granted = session_expires(response)
        if granted is None:
            return
        interval, refresher = granted
        leg.extra["session_timer"] = _Timer(max(interval, ABSOLUTE_MINIMUM),
                                            we_refresh=refresher != "uas")

    # -- running -----------------------------------------------------------------------------

    def start(self, leg: Leg) -> None:
        timer = leg.extra.get("session_timer")
        if not isinstance(timer, _Timer) or id(leg) in self._timers:
            return
        self._timers[id(leg)] = timer
        self._arm(leg, timer)

    def refreshed(self, leg: Leg) -> None:
        timer = self._timers.get(id(leg))
        if timer is not None and not timer.we_refresh:
            self._arm(leg, timer)

    def stop(self, leg: Leg) -> None:
        timer = self._timers.pop(id(leg), None)
        if timer is not None and timer.handle is not None:
            timer.handle.cancel()

    def _arm(self, leg: Leg, timer: _Timer) -> None:
        if timer.handle is not None:
            timer.handle.cancel()
        if timer.we_refresh:
            timer.handle = self.manager.schedule(timer.interval / 2, lambda: self._refresh(leg))
        else:
            wait = timer.interval - min(32, timer.interval / 3)
            timer.handle = self.manager.schedule(wait, lambda: self._expired(leg))

    def _expired(self, leg: Leg) -> None:
        if id(leg) in self._timers and leg.alive:
            log.info("%r: session expired without refresh", leg)
            self._end(leg, "session-expired")

    def _refresh(self, leg: Leg) -> None:
        timer = self._timers.get(id(leg))
        if timer is None or not leg.alive:
            return
        header = [("Session-Expires", f"{timer.interval};refresher=uac"
                   if not leg.uas else f"{timer.interval};refresher=uas")]

        def answered(response: Response | None) -> None:
            if response is not None and response.status < 300:
                return
            if response is not None and response.status not in (408, 481):
                return  # refused but alive (e.g. 491): try again next time
            log.info("%r: session refresh failed", leg)
            self._end(leg, "session-refresh-failed")

        allowed = leg.invite.get("Allow", "") if leg.invite is not None else ""
        if "UPDATE" in (allowed or "").upper() and leg.uas:
            leg.request("UPDATE", headers=header, on_response=answered)
        elif leg.local_sdp is not None and not leg.pending_reinvite:
            leg.pending_reinvite = True

            def reinvited(response: Response | None) -> None:
                if response is not None and response.status < 200:
                    return
                leg.pending_reinvite = False
                if response is not None and response.status < 300 and leg.dialog is not None:
                    ack = leg.dialog.create_request("ACK", cseq=leg.dialog.local_cseq)
                    self.manager.core.send_stateless(ack, leg.peer)
                answered(response)

            leg.request("INVITE", body=leg.local_sdp.serialize(), content_type="application/sdp",
                        headers=header, on_response=reinvited)
        else:
            leg.request("UPDATE", headers=header, on_response=answered)
        self._arm(leg, timer)

    def _end(self, leg: Leg, reason: str) -> None:
        self.stop(leg)
        if leg.alive:
            leg.bye()
            leg.owner.leg_ended(leg, reason)
