"""The call manager: the SIP transaction user for everything about calls.

It turns new INVITEs into calls (authenticating employees, routing), finds the leg every later
request, ACK, CANCEL and response belongs to, and offers legs and calls the services they share:
the SIP core, the clock and timers, the media engine, the store, the devices of employees.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from b2bua.app.config import Config
from b2bua.calls.call import Call, CallState
from b2bua.calls.leg import Leg, LegOwner, LegState, ResponseHandler
from b2bua.calls.media import CallMedia
from b2bua.calls.offers import OfferRelay
from b2bua.calls.report import REPORT_DELAY, CallReport, ReportWriter
from b2bua.calls.ringing import Target
from b2bua.calls.router import Router
from b2bua.calls.scenario import Scenarios
from b2bua.calls.session_timer import SessionTimers
from b2bua.media.control import MediaControl
from b2bua.media.engine import PlayFinished, RtpTimeout
from b2bua.media.keys import KeyEvent, KeyStarted
from b2bua.media.ports import PortsExhausted
from b2bua.registrar.registrar import binding_target
from b2bua.sdp.session import SdpError, parse_sdp
from b2bua.sip.auth import DigestServer, authorization, choose_challenge
from b2bua.sip.core import SipCore
from b2bua.sip.dialog import DialogId, incoming_request_dialog_id, initial_request
from b2bua.sip.events import (
    AckReceived,
    AckTimeout,
    CancelReceived,
    RequestReceived,
    ResponseReceived,
    SipEvent,
    StrayResponse,
    TransactionTimeout,
    TransportFailure,
)
from b2bua.sip.headers import format_host_port
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.peer import Peer, peer_for_uri
from b2bua.sip.transaction.client import ClientTransaction
from b2bua.sip.uri import NameAddr, SipURI
from b2bua.store import Store

log = logging.getLogger(__name__)

DEVICES_KEPT = 2.0
"""Seconds the ringing targets of an extension are kept between reads of its bindings."""
RELEASED_KEPT = 2.0
"""Seconds a released stream's keys are still written to its call's report: keys in progress
end with their stream, and a media worker reports them after the release."""


class CallFeatures(Protocol):
    """What the in-call options add to calls."""

    def key_started(self, call: Call, leg: Leg, digit: str, source: str) -> bool: ...
    def key_finished(self, call: Call, leg: Leg, event: KeyEvent) -> None: ...
    def call_answered(self, call: Call) -> None: ...
    def parties_changed(self, call: Call, reason: str) -> None: ...
    def party_hung_up(self, call: Call, leg: Leg) -> bool: ...
    def leg_left(self, call: Call, leg: Leg) -> None: ...
    def call_ended(self, call: Call) -> None: ...


class CallManager:
    """Owns every call in progress."""

    def __init__(
        self,
        *,
        core: SipCore,
        engine: MediaControl,
        store: Store,
        config: Callable[[], Config],
        digest: DigestServer,
        loop: asyncio.AbstractEventLoop,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        self.engine = engine
        self.store = store
        self._config = config
        self.digest = digest
        self.loop = loop
        self.wall = wall
        settings = config()
        self.media = CallMedia(engine, settings.media.sdp_address)
        self.media.on_release = self._forget_stream
        self.offers = OfferRelay(self.media)
        self.router = Router(config, store)
        self.reports = ReportWriter(store, lambda flush: loop.call_later(REPORT_DELAY, flush))
        self.timers = SessionTimers(self)
        self.options: CallFeatures = _NoFeatures()
        self.scenarios = Scenarios(self)
        self.calls: dict[str, Call] = {}
        self.busy: dict[str, int] = {}
        self._dialogs: dict[DialogId, Leg] = {}
        self._streams: dict[int, Leg] = {}
        self._released: dict[int, tuple[float, CallReport, str, str | None]] = {}
        self._device_cache: dict[str, tuple[float, list[Target]]] = {}
        self.stats = {"calls": 0, "answered": 0}
        self.wake: Callable[[], None] = lambda: None
        """Called after work done outside SIP input (timers, media events), so that the SIP
        shell sends what that work queued in the core."""
        engine.on_key_started = self._woken(self._key_started)
        engine.on_key = self._woken(self._key_finished)
        engine.on_timeout = self._woken(self._rtp_timeout)
        engine.on_play_finished = self._woken(self._play_finished)

    @property
    def config(self) -> Config:
        return self._config()

    # -- LegContext ------------------------------------------------------------------------

    def now(self) -> float:
        return self.loop.time()

    def contact_for(self, transport: str) -> str:
        host, port = self.core.local.get(transport) or next(iter(self.core.local.values()))
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:b2bua@{format_host_port(host, port)}{suffix}>"

    def expect_responses(self, transaction: ClientTransaction, handler: ResponseHandler) -> None:
        transaction.user = handler

    def track(self, leg: Leg) -> None:
        if leg.dialog is not None:
            self._dialogs[leg.dialog.id] = leg
        if leg.stream is not None:
            self._streams[leg.stream] = leg

    def forget(self, leg: Leg) -> None:
        if leg.dialog is not None and self._dialogs.get(leg.dialog.id) is leg:
            del self._dialogs[leg.dialog.id]
        self.timers.stop(leg)
        # the owner hears of the end right after this (same turn); detach on the next one
        self.loop.call_soon(leg.detach, _DETACHED)

    def refreshed(self, leg: Leg) -> None:
        self.timers.refreshed(leg)

    # -- services for calls ----------------------------------------------------------------

    def schedule(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, self._woken(callback))

    def _woken(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            try:
                return handler(*args)
            finally:
                self.wake()

        return run

    def new_leg(self, owner: LegOwner, *, role: str, uas: bool, peer: Peer, label: str = "",
                extension: str | None = None) -> Leg:
        return Leg(self, owner, role, uas, peer, label=label, extension=extension)

    def stream_owner(self, leg: Leg) -> None:
        """Index `leg` by its media stream, for key and timeout events."""
        if leg.stream is not None:
            self._streams[leg.stream] = leg

    def is_busy(self, extension: str) -> bool:
        return self.busy.get(extension, 0) > 0

    def targets_for(self, extensions: Iterable[str], *, skip_busy: bool = True,
                    exclude: Iterable[str] = ()) -> list[Target]:
        """Every registered device of these employees (busy ones left out)."""
        excluded = set(exclude)
        targets = []
        for extension in extensions:
            if skip_busy and self.is_busy(extension):
                continue
            targets += [t for t in self._devices(extension) if t.label not in excluded]
        return targets

    def _devices(self, extension: str) -> list[Target]:
        """The ringing targets of one extension's bindings, kept until the registrar changes
        them, one expires, or `DEVICES_KEPT` seconds pass (bindings written by anything else)."""
        now = self.wall()
        kept = self._device_cache.get(extension)
        if kept is not None and now < kept[0]:
            return kept[1]
        bindings = self.store.list_bindings(extension, now)
        targets = []
        for binding in bindings:
            uri, peer = binding_target(binding)
            targets.append(Target(uri, peer, binding.contact_uri, extension, binding.path))
        until = min([now + DEVICES_KEPT, *(b.expires_at for b in bindings)])
        self._device_cache[extension] = (until, targets)
        return targets

    def bindings_changed(self, extension: str) -> None:
        """The registrar changed `extension`'s bindings."""
        self._device_cache.pop(extension, None)

    def trunk_target(self, number: str) -> Target:
        trunk = self.config.trunk
        if trunk is None:
            raise LookupError("no trunk configured")
        uri = SipURI.parse(f"sip:{number}@{format_host_port(trunk.host, trunk.port)}")
        if trunk.transport != "udp":
            uri = uri.replace(params={**uri.params, "transport": trunk.transport})

        def authorize(response: Response) -> list[tuple[str, str]] | None:
            return self._trunk_credentials(response, "INVITE", str(uri))

        return Target(uri, Peer(trunk.transport, trunk.host, trunk.port), f"trunk:{number}",
                      authorize=authorize)

    def presented_caller(self, call: Call) -> NameAddr:
        """From of the INVITEs we send for `call`: the caller as the callee should see it."""
        config = self.config
        number = call.caller_number
        name = call.a.display_name or None
        if call.direction == "outbound" and config.trunk is not None:
            number = config.trunk.caller_id or number
        elif call.employee and call.direction != "inbound":
            employee = config.employee(call.employee)
            name = employee.name if employee else name
        return NameAddr(f"sip:{number}@{config.sip.realm}", name)

    def presented_callee(self, call: Call, role: str) -> NameAddr:
        return NameAddr(f"sip:{call.called_number}@{self.config.sip.realm}")

    def invite_headers(self, call: Call) -> list[tuple[str, str]]:
        return self.timers.offer_headers()

    def session_timer_headers(self, leg: Leg) -> list[tuple[str, str]]:
        return self.timers.answer_headers(leg)

    def call_answered(self, call: Call) -> None:
        self.stats["answered"] += 1
        for leg in call.parties:
            self.party_joined(call, leg)
        self.options.call_answered(call)

    def _detect_keys(self, leg: Leg) -> None:
        if leg.stream is not None:
            config = self.config
            self.engine.set_detection(leg.stream, inband=config.media.inband_detection,
                                      events=True, swallow=frozenset(config.keys) | {"#"})

    def party_joined(self, call: Call, leg: Leg) -> None:
        """`leg` is now a party of an answered call (at the answer, or after a move or a
        transfer): index its stream, run its session timer, detect the keys of employees."""
        self.stream_owner(leg)
        self.timers.start(leg)
        if leg.role == "employee":
            self._detect_keys(leg)
            if leg.extension and leg not in call.busy_legs:
                call.busy_legs.append(leg)
                self.busy[leg.extension] = self.busy.get(leg.extension, 0) + 1

    def party_left(self, call: Call, leg: Leg) -> None:
        """`leg` is no longer a party (its employee is free again)."""
        self.timers.stop(leg)
        if leg in call.busy_legs:
            call.busy_legs.remove(leg)
            count = self.busy.get(leg.extension or "", 0) - 1
            if count > 0:
                self.busy[leg.extension or ""] = count
            else:
                self.busy.pop(leg.extension or "", None)

    def call_ended(self, call: Call) -> None:
        self.calls.pop(call.id, None)
        for leg in call.legs():
            self.party_left(call, leg)

    # -- SIP events --------------------------------------------------------------------------

    def _forget_stream(self, stream: int) -> None:
        leg = self._streams.pop(stream, None)
        now = self.loop.time()
        released = self._released
        while released:
            oldest = next(iter(released))
            if released[oldest][0] > now - RELEASED_KEPT:
                break
            del released[oldest]
        if leg is not None and isinstance(leg.owner, Call):
            released[stream] = (now, leg.owner.report, leg.role, leg.extension)

    def handle(self, event: SipEvent) -> None:
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_response(self, event: ResponseReceived) -> None:
        transaction = event.transaction
        handler: ResponseHandler | None = transaction.user
        if handler is None:
            return
        status = event.response.status
        if status >= 300 or (status >= 200 and not transaction.is_invite):
            # Final: the transaction lingers (up to 32 s) but passes nothing up any more, so
            # it need not keep the handler, nor the leg behind it. (After a 2xx to an INVITE
            # it still passes up retransmitted 2xx, each to be acknowledged.)
            transaction.user = None
        handler(event.response)

    def _on_failure(self, event: TransactionTimeout | TransportFailure) -> None:
        transaction = event.transaction
        if isinstance(transaction, ClientTransaction):
            handler: ResponseHandler | None = transaction.user
            if handler is not None:
                handler(None)

    def _on_ack(self, event: AckReceived) -> None:
        leg = self._dialogs.get(incoming_request_dialog_id(event.request))
        if leg is not None:
            leg.on_ack(event.request)

    def _on_cancel(self, event: CancelReceived) -> None:
        leg: Leg | None = event.transaction.user
        if leg is not None:
            leg.on_cancel()

    def _on_ack_timeout(self, event: AckTimeout) -> None:
        leg: Leg | None = event.transaction.user
        if leg is not None and leg.state is LegState.CONNECTING:
            leg.state = LegState.CONFIRMED
            leg.bye()
            leg.owner.leg_ended(leg, "no-ack")

    def _on_stray(self, event: StrayResponse) -> None:
        log.debug("stray %d for %s", event.response.status, event.response.call_id)

    def _request(self, event: RequestReceived) -> None:
        request = event.request
        if request.to.tag:
            leg = self._dialogs.get(incoming_request_dialog_id(request))
            if leg is None:
                self._respond(event, 481, "Call/Transaction Does Not Exist")
            else:
                leg.on_request(request, event.transaction)
        elif request.method == "INVITE":
            self._new_invite(event)
        else:
            self._respond(event, 481, "Call/Transaction Does Not Exist")

    def _respond(self, event: RequestReceived, status: int, reason: str | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        response = make_response(event.request, status, reason, to_tag=self.core.new_tag(),
                                 headers=headers)
        self.core.respond(event.transaction, response, self.now())

    # -- a new call ------------------------------------------------------------------------

    def _new_invite(self, event: RequestReceived) -> None:
        request = event.request
        config = self.config
        if len(self.calls) >= config.calls.max_calls:
            self._respond(event, 503, "Service Unavailable", [("Retry-After", "5")])
            return
        if (request.max_forwards or 0) <= 0:
            self._respond(event, 483, "Too Many Hops")
            return
        problem = self.timers.check_request(request)
        if problem is not None:
            self._respond(event, *problem)
            return
        offer = None
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SdpError as error:
                self._respond(event, 400, f"Bad SDP: {error.reason}")
                return
        caller_uri = request.from_.uri
        caller = (caller_uri.decoded_user or "") if isinstance(caller_uri, SipURI) else ""
        dialed = _dialed_number(request)
        employee = None
        if caller in config.extensions:
            employee = self._authenticate(event, caller)
            if employee is None:
                return
        contacts = request.contact
        if not contacts or contacts[0].is_wildcard:
            self._respond(event, 400, "Missing Contact")
            return
        leg = Leg(self, _Unowned(), "employee" if employee else "client", True,
                  _peer_for(contacts[0], event.source), label=caller, extension=employee,
                  number=caller, display_name=request.from_.display_name or "",
                  state=LegState.INCOMING, invite=request,
                  server_transaction=event.transaction)
        try:
            self.media.attach(leg)  # also without an offer: the legs it rings join its media
        except PortsExhausted as error:
            log.error("call refused: %s", error)
            self._respond(event, 503, "Service Unavailable", [("Retry-After", "5")])
            return
        leg.remote_offer = offer
        event.transaction.user = leg
        if employee is not None:
            route = self.router.outbound(employee, dialed)
            direction = "outbound" if route.kind == "trunk" else "internal"
        else:
            route = self.router.inbound(caller, dialed)
            direction = "inbound"
        call = Call(self, leg, call_id=_new_call_id(), direction=direction,
                    caller_number=caller, caller_name=leg.display_name, called_number=dialed,
                    employee=employee)
        self.calls[call.id] = call
        self.stats["calls"] += 1
        self.stream_owner(leg)
        call.route(route)

    def _authenticate(self, event: RequestReceived, extension: str) -> str | None:
        """The extension when the INVITE carries its valid credentials; else a 407 is sent."""
        request = event.request
        credentials = request.get("Proxy-Authorization")
        now = self.wall()
        if credentials is not None:
            verdict = self.digest.verify(credentials, "INVITE", request.uri_text, now)
            if verdict.ok and verdict.username == extension:
                return extension
            if not verdict.stale:
                self._respond(event, 403, "Forbidden")
                return None
        challenges = self.digest.challenges(now, stale=credentials is not None)
        self._respond(event, 407, "Proxy Authentication Required",
                      [("Proxy-Authenticate", value) for value in challenges])
        return None

    # -- media events --------------------------------------------------------------------------

    def _leg_call(self, stream: int) -> tuple[Leg, Call] | None:
        leg = self._streams.get(stream)
        if leg is None or not isinstance(leg.owner, Call):
            return None
        return leg, leg.owner

    def _key_started(self, event: KeyStarted) -> bool:
        found = self._leg_call(event.stream)
        if found is None:
            return False
        leg, call = found
        if call.state is not CallState.ANSWERED or leg.role != "employee":
            return False
        try:
            return self.options.key_started(call, leg, event.digit, event.source)
        except Exception:
            call.log.exception("key %s failed", event.digit)
            return False

    def _key_finished(self, event: KeyEvent) -> None:
        found = self._leg_call(event.stream)
        if found is None:
            late = self._released.get(event.stream)
            if late is not None:
                _report_key(late[1], late[2], late[3], event)
            return
        leg, call = found
        _report_key(call.report, leg.role, leg.extension, event)
        try:
            self.options.key_finished(call, leg, event)
        except Exception:
            call.log.exception("key %s failed", event.digit)

    def _play_finished(self, event: PlayFinished) -> None:
        found = self._leg_call(event.stream)
        if found is not None:
            self.scenarios.played(found[1], found[0])

    def _rtp_timeout(self, event: RtpTimeout) -> None:
        found = self._leg_call(event.stream)
        if found is None:
            return
        leg, call = found
        if leg in call.parties and call.state in (CallState.ANSWERED, CallState.SCENARIO):
            call.report.event("rtp-timeout", leg=leg.role, idle=round(event.idle, 1))
            call.end(None, reason="rtp-timeout")

    def send_message(self, target: str, sender: str, text: str) -> asyncio.Future[tuple[int, str]]:
        """A SIP MESSAGE (RFC 3428) with `text` to `target`; the future gets (status, reason)
        of its final response (408 when none came). A challenge from the trunk is answered
        once with the trunk's credentials."""
        uri = SipURI.parse(target)
        realm = self.config.sip.realm
        future: asyncio.Future[tuple[int, str]] = self.loop.create_future()
        request = initial_request(
            "MESSAGE", uri, from_=NameAddr(f"sip:{_user_part(sender)}@{realm}", sender,
                                           {"tag": self.core.new_tag()}),
            to=NameAddr(str(uri)), call_id=self.core.new_call_id(),
            body=text.encode("utf-8"), content_type="text/plain;charset=UTF-8")
        peer = peer_for_uri(uri)
        retried = False

        def answered(response: Response | None) -> None:
            nonlocal retried
            if future.done() or (response is not None and response.status < 200):
                return
            if response is not None and response.status in (401, 407) and not retried:
                credentials = self._trunk_credentials(response, "MESSAGE", str(uri))
                if credentials:
                    retried = True
                    request.headers.remove("Via")
                    request.headers.set("CSeq", f"{request.cseq.seq + 1} MESSAGE")
                    for name, value in credentials:
                        request.headers.set(name, value)
                    send()
                    return
            future.set_result((408, "Request Timeout") if response is None
                              else (response.status, response.reason))

        def send() -> None:
            transaction = self.core.send_request(request, peer, self.now())
            self.expect_responses(transaction, answered)
            self.wake()

        send()
        return future

    def _trunk_credentials(self, response: Response, method: str,
                           uri: str) -> list[tuple[str, str]] | None:
        trunk = self.config.trunk
        if trunk is None or trunk.username is None or trunk.password is None:
            return None
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = choose_challenge(response.headers.get_all(header))
        if challenge is None:
            return None
        value = authorization(challenge, method, uri, trunk.username, trunk.password,
                              cnonce=secrets.token_hex(8))
        return [("Authorization" if response.status == 401 else "Proxy-Authorization", value)]

    async def close(self) -> None:
        """Hang up every call (service shutdown)."""
        for call in list(self.calls.values()):
            call.end(None, status=503, reason="shutdown")
        self.reports.flush()


_EVENT_HANDLERS: dict[type, Callable[[CallManager, Any], None]] = {
    ResponseReceived: CallManager._on_response,
    RequestReceived: CallManager._request,
    AckReceived: CallManager._on_ack,
    CancelReceived: CallManager._on_cancel,
    TransactionTimeout: CallManager._on_failure,
    TransportFailure: CallManager._on_failure,
    AckTimeout: CallManager._on_ack_timeout,
    StrayResponse: CallManager._on_stray,
}


def _user_part(text: str) -> str:
    """A SIP user part from a sender name ("Demo Office" -> "Demo-Office")."""
    cleaned = "".join(ch if ch.isalnum() or ch in "+-_." else "-" for ch in text.strip())
    return cleaned or "sms"


def _dialed_number(request: Request) -> str:
    uri = request.uri
    if isinstance(uri, SipURI) and uri.user:
        return uri.decoded_user or uri.user
    to_uri = request.to.uri
    if isinstance(to_uri, SipURI) and to_uri.user:
        return to_uri.decoded_user or to_uri.user
    return ""


def _peer_for(contact: NameAddr, source: Peer) -> Peer:
    """Where requests to the caller go: the flow it came from when it is behind NAT or on TCP,
    else its Contact address."""
    uri = contact.uri
    if source.transport != "udp" or not isinstance(uri, SipURI):
        return source
    host = (uri.maddr or uri.host).strip("[]")
    if host != source.host:
        return source
    return Peer("udp", host, uri.port or 5060)


def _new_call_id() -> str:
    return f"{int(time.time()):x}-{secrets.token_hex(4)}"


class _Unowned:
    """The owner of a leg before its call takes it, and after it ended: hears nothing."""

    def __getattr__(self, name: str) -> Any:
        def ignore(*args: Any, **kwargs: Any) -> Any:
            return None

        return ignore


class _NoFeatures:
    """Calls without options: keys pass through, nothing else happens."""

    def key_started(self, call: Call, leg: Leg, digit: str, source: str) -> bool:
        return False

    def key_finished(self, call: Call, leg: Leg, event: KeyEvent) -> None:
        pass

    def call_answered(self, call: Call) -> None:
        pass

    def parties_changed(self, call: Call, reason: str) -> None:
        pass

    def party_hung_up(self, call: Call, leg: Leg) -> bool:
        return False

    def leg_left(self, call: Call, leg: Leg) -> None:
        pass

    def call_ended(self, call: Call) -> None:
        pass


_DETACHED = _Unowned()


def _report_key(report: CallReport, role: str, extension: str | None, event: KeyEvent) -> None:
    report.event("key", digit=event.digit, sources=list(event.sources), leg=role,
                 extension=extension, swallowed=event.swallowed,
                 duration=round(event.end - event.start, 3))
