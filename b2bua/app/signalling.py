"""The SIP transaction user: each event of the core goes to the part of the service that owns it.

REGISTER goes to the registrar, OPTIONS is answered here, everything about calls (INVITE, ACK,
CANCEL, BYE, re-INVITE, UPDATE, INFO and the responses to what the call layer sent) goes to the
call manager.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from b2bua.registrar.registrar import ALLOW, Registrar
from b2bua.sip.core import SipCore
from b2bua.sip.events import MalformedMessage, RequestReceived, SipEvent
from b2bua.sip.message import Request, make_response

log = logging.getLogger(__name__)

ACCEPT = "application/sdp, application/dtmf-relay, application/dtmf"
SUPPORTED = "timer"
CALL_METHODS = frozenset({"INVITE", "BYE", "INFO", "UPDATE", "MESSAGE"})
KNOWN_METHODS = frozenset({
    "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "UPDATE", "MESSAGE",
    "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH",
})


class CallLayer(Protocol):
    def handle(self, event: SipEvent) -> None: ...


class Signalling:
    """Dispatches the events of one `SipCore`."""

    def __init__(
        self,
        core: SipCore,
        registrar: Registrar,
        calls: CallLayer | None,
        now: Callable[[], float],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        self.registrar = registrar
        self.calls = calls
        self.now = now
        self.wall_clock = wall_clock

    def handle(self, event: SipEvent) -> None:
        if type(event) is RequestReceived:
            method = event.request.method
            if method == "REGISTER":
                response = self.registrar.handle(event.request, event.source, self.wall_clock())
                self.core.respond(event.transaction, response, self.now())
                return
            if method == "OPTIONS" and not event.request.to.tag:
                self._answer_options(event)
                return
            if method not in CALL_METHODS or self.calls is None:
                self._refuse(event, method)
                return
        elif type(event) is MalformedMessage:
            log.info("malformed SIP message from %s:%d (%s%s)", event.source.host,
                     event.source.port, event.reason,
                     f", answered {event.status}" if event.replied else ", dropped")
            return
        if self.calls is not None:
            self.calls.handle(event)

    def _answer_options(self, event: RequestReceived) -> None:
        response = make_response(
            event.request, 200, "OK", to_tag=self.core.new_tag(),
            headers=[("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", SUPPORTED)],
        )
        self.core.respond(event.transaction, response, self.now())

    def _refuse(self, event: RequestReceived, method: str) -> None:
        request: Request = event.request
        if method in KNOWN_METHODS:
            response = make_response(request, 405, "Method Not Allowed", to_tag=self.core.new_tag(),
                                     headers=[("Allow", ALLOW)])
        else:
            response = make_response(request, 501, "Not Implemented", to_tag=self.core.new_tag())
        self.core.respond(event.transaction, response, self.now())
