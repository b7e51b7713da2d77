"""One leg of a call: one SIP dialog on one side of the B2BUA, and the RTP stream behind it.

A leg is either a UAS leg (the INVITE came to us) or a UAC leg (we sent the INVITE). Its states
follow the INVITE session states of pjsip: CALLING / INCOMING, EARLY, CONNECTING (2xx sent,
waiting for the ACK), CONFIRMED, TERMINATED. The leg speaks SIP for itself (provisional and
final answers, ACK, CANCEL, BYE, re-INVITE, UPDATE, INFO) and reports what the other side did
to its owner (a call or a ringing attempt) through the `LegOwner` methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from b2bua.sdp.negotiate import LocalSession, NegotiatedAudio
from b2bua.sdp.session import SdpError, SessionDescription, parse_sdp
from b2bua.sip.dialog import Dialog, initial_request
from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.peer import Peer
from b2bua.sip.uri import URI, NameAddr

if TYPE_CHECKING:
    from b2bua.sip.core import SipCore
    from b2bua.sip.transaction.client import ClientTransaction
    from b2bua.sip.transaction.server import ServerTransaction

log = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
SUPPORTED = "timer"

ResponseHandler = Callable[[Response | None], None]
"""Gets each response to a request we sent; None when the request got none (timeout or
transport failure, treated as 408)."""


class LegState(StrEnum):
    CALLING = "calling"
    INCOMING = "incoming"
    EARLY = "early"
    CONNECTING = "connecting"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class LegOwner(Protocol):
    """What a leg tells the call (or ringing attempt) it belongs to."""

    def leg_progress(self, leg: Leg, response: Response) -> None: ...
    def leg_answered(self, leg: Leg, response: Response) -> None: ...
    def leg_failed(self, leg: Leg, status: int, reason: str) -> None: ...
    def leg_confirmed(self, leg: Leg) -> None: ...
    def leg_cancelled(self, leg: Leg) -> None: ...
    def leg_ended(self, leg: Leg, reason: str) -> None: ...
    def leg_offer(self, leg: Leg, offer: SessionDescription | None,
                  reply: Callable[[int, SessionDescription | None], None]) -> None: ...
    def leg_info(self, leg: Leg, request: Request) -> bool: ...


class LegContext(Protocol):
    """The services every leg uses: the SIP core, the clock and the indexes of the manager."""

    @property
    def core(self) -> SipCore: ...
    def now(self) -> float: ...
    def contact_for(self, transport: str) -> str: ...
    def expect_responses(
        self, transaction: ClientTransaction, handler: ResponseHandler
    ) -> None: ...
    def track(self, leg: Leg) -> None: ...
    def forget(self, leg: Leg) -> None: ...
    def refreshed(self, leg: Leg) -> None: ...


@dataclass(eq=False)
class Leg:
    """One side of a call. `role` says who is on it (client, employee, trainer, target, device,
    scenario); `label` is what the report shows (an extension, a device contact, a number)."""

    context: LegContext
    owner: LegOwner
    role: str
    uas: bool
    peer: Peer
    label: str = ""
    extension: str | None = None
    number: str = ""
    display_name: str = ""
    state: LegState = LegState.CALLING
    dialog: Dialog | None = None
    invite: Request | None = None
    server_transaction: ServerTransaction | None = None
    client_transaction: ClientTransaction | None = None
    stream: int | None = None
    session: LocalSession | None = None
    remote_offer: SessionDescription | None = None
    remote_sdp: SessionDescription | None = None
    our_offer: SessionDescription | None = None
    local_sdp: SessionDescription | None = None
    media: NegotiatedAudio | None = None
    local_tag: str = ""
    pending_reinvite: bool = False
    was_answered: bool = False
    auth_retried: bool = False
    authorize: Callable[[Response], list[tuple[str, str]] | None] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        side = "uas" if self.uas else "uac"
        return f"<Leg {self.role} {side} {self.label or self.number} {self.state}>"

    @property
    def alive(self) -> bool:
        return self.state is not LegState.TERMINATED

    @property
    def answered(self) -> bool:
        return self.state in (LegState.CONNECTING, LegState.CONFIRMED)

    # -- UAS: answering an INVITE we received ----------------------------------------------

    def _reply(self, status: int, reason: str | None = None, *,
               headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> Response:
        assert self.invite is not None and self.server_transaction is not None
        if not self.local_tag:
            self.local_tag = self.context.core.new_tag()
        response = make_response(self.invite, status, reason, to_tag=self.local_tag,
                                 headers=headers, body=body)
        self.context.core.respond(self.server_transaction, response, self.context.now())
        return response

    def ring(self, sdp: SessionDescription | None = None) -> None:
        """180 Ringing (or 183 with early media when `sdp` is given) toward the caller."""
        if self.state not in (LegState.INCOMING, LegState.EARLY):
            return
        contact = [("Contact", self.context.contact_for(self.peer.transport))]
        if sdp is None:
            response = self._reply(180, headers=contact)
        else:
            self.local_sdp = sdp
            response = self._reply(183, headers=[*contact, ("Content-Type", SDP)],
                                   body=sdp.serialize())
        if self.dialog is None:
            assert self.invite is not None
            self.dialog = Dialog.from_uas(self.invite, response)
            self.context.track(self)
        self.state = LegState.EARLY

    def answer(
        self, sdp: SessionDescription | None, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """200 OK to the INVITE with our SDP; the leg is CONNECTING until the ACK."""
        if self.state not in (LegState.INCOMING, LegState.EARLY):
            return
        fields = [("Contact", self.context.contact_for(self.peer.transport)), ("Allow", ALLOW),
                  ("Supported", SUPPORTED), *headers]
        body = b""
        if sdp is not None:
            fields.append(("Content-Type", SDP))
            body = sdp.serialize()
            self.local_sdp = sdp
        response = self._reply(200, headers=fields, body=body)
        assert self.invite is not None
        if self.dialog is None:
            self.dialog = Dialog.from_uas(self.invite, response)
            self.context.track(self)
        else:
            self.dialog.state = "confirmed"
        self.state = LegState.CONNECTING

    def reject(self, status: int, reason: str | None = None,
               headers: Iterable[tuple[str, str]] = ()) -> None:
        """A final error answer to the INVITE; the leg ends."""
        if self.state in (LegState.INCOMING, LegState.EARLY):
            self._reply(status, reason, headers=headers)
        self._terminate()

    def on_ack(self, request: Request) -> None:
        if self.state is LegState.CONNECTING:
            self.state = LegState.CONFIRMED
            if request.body and self.our_offer is not None and self.media is None:
                try:  # a late offer: the answer to our offer came in the ACK
                    self.remote_sdp = parse_sdp(request.body)
                except SdpError as error:
                    log.info("%r: bad SDP in ACK: %s", self, error.reason)
            self.owner.leg_confirmed(self)

    def on_cancel(self) -> None:
        if self.state in (LegState.INCOMING, LegState.EARLY):
            self._reply(487, "Request Terminated")
            self._terminate()
            self.owner.leg_cancelled(self)

    # -- UAC: an INVITE we send --------------------------------------------------------------

    def send_invite(self, uri: URI | str, *, from_: NameAddr, to: NameAddr,
                    sdp: SessionDescription | None, headers: Iterable[tuple[str, str]] = (),
                    call_id: str | None = None, max_forwards: int = 70) -> None:
        core = self.context.core
        self.local_tag = core.new_tag()
        self.our_offer = self.local_sdp = sdp
        request = initial_request(
            "INVITE", uri, from_=from_.with_tag(self.local_tag), to=to,
            call_id=call_id or core.new_call_id(),
            contact=self.context.contact_for(self.peer.transport),
            headers=[("Allow", ALLOW), ("Supported", SUPPORTED), *headers],
            body=sdp.serialize() if sdp is not None else b"",
            content_type=SDP if sdp is not None else None,
        )
        request.headers.set("Max-Forwards", str(max_forwards))
        self._send_invite(request)

    def _send_invite(self, request: Request) -> None:
        self.invite = request
        self.state = LegState.CALLING
        transaction = self.context.core.send_request(request, self.peer, self.context.now())
        self.client_transaction = transaction
        self.context.expect_responses(transaction, self._on_invite_response)

    def _on_invite_response(self, response: Response | None) -> None:
        if response is None:
            if self.state in (LegState.CALLING, LegState.EARLY):
                self._terminate()
                self.owner.leg_failed(self, 408, "Request Timeout")
            return
        status = response.status
        if status < 200:
            self._on_provisional(response)
        elif status < 300:
            self._on_success(response)
        elif self.state in (LegState.CALLING, LegState.EARLY):
            if status in (401, 407) and self._retry_with_credentials(response):
                return
            self._terminate()
            self.owner.leg_failed(self, status, response.reason)

    def _on_provisional(self, response: Response) -> None:
        if self.state not in (LegState.CALLING, LegState.EARLY) or response.status == 100:
            return
        if response.to.tag and response.contact and self.dialog is None:
            assert self.invite is not None
            self.dialog = Dialog.from_uac(self.invite, response)
            self.context.track(self)
        self.state = LegState.EARLY
        self.owner.leg_progress(self, response)

    def _on_success(self, response: Response) -> None:
        assert self.invite is not None
        if self.dialog is not None and response.to.tag != self.dialog.remote_tag:
            if self.was_answered:
                self._ack_and_bye_stray(response)
                return
            self.context.forget(self)
            self.dialog = None
        if self.dialog is None:
            try:
                self.dialog = Dialog.from_uac(self.invite, response)
            except RemoteProtocolError as error:
                log.info("%r: unusable 2xx (%s)", self, error.reason)
                return
            if self.alive:
                self.context.track(self)
        else:
            self.dialog.receive_response(response, "INVITE")
        self._ack(response)
        if self.was_answered:
            return  # a retransmitted 2xx: the ACK again, nothing else
        self.was_answered = True
        if not self.alive:
            self.request("BYE")  # answered after we gave up: a CANCEL crossed the 2xx
            return
        self.state = LegState.CONFIRMED
        self.owner.leg_answered(self, response)

    def _ack(self, response: Response) -> None:
        assert self.dialog is not None and self.invite is not None
        ack = self.dialog.create_request("ACK", cseq=self.invite.cseq.seq)
        self.context.core.send_stateless(ack, self.peer)

    def _ack_and_bye_stray(self, response: Response) -> None:
        """A 2xx from a second fork of the same INVITE: acknowledge it and hang it up."""
        assert self.invite is not None
        stray = Dialog.from_uac(self.invite, response)
        core = self.context.core
        core.send_stateless(stray.create_request("ACK", cseq=self.invite.cseq.seq), self.peer)
        transaction = core.send_request(stray.create_request("BYE"), self.peer, self.context.now())
        self.context.expect_responses(transaction, lambda _response: None)

    def _retry_with_credentials(self, response: Response) -> bool:
        if self.auth_retried or self.authorize is None or self.invite is None:
            return False
        credentials = self.authorize(response)
        if not credentials:
            return False
        self.auth_retried = True
        previous = self.invite
        retry = Request("INVITE", previous.uri_text, previous.headers.copy(), previous.body)
        retry.headers.remove("Via")
        retry.headers.set("CSeq", f"{previous.cseq.seq + 1} INVITE")
        for name, value in credentials:
            retry.headers.set(name, value)
        self._send_invite(retry)
        return True

    def cancel(self) -> None:
        """Give up a UAC leg that was not answered yet (CANCEL); an answer arriving anyway is
        acknowledged and hung up."""
        if self.uas or self.state not in (LegState.CALLING, LegState.EARLY):
            return
        transaction = self.client_transaction
        self._terminate()
        if transaction is not None:
            cancel = self.context.core.cancel(transaction, self.context.now())
            if cancel is not None:
                self.context.expect_responses(cancel, lambda _response: None)

    # -- in the dialog ---------------------------------------------------------------------

    def request(self, method: str, *, body: bytes = b"", content_type: str | None = None,
                headers: Iterable[tuple[str, str]] = (),
                on_response: ResponseHandler | None = None) -> None:
        """Send a request within the dialog."""
        if self.dialog is None:
            return
        request = self.dialog.create_request(method, body=body, content_type=content_type,
                                             headers=headers)
        transaction = self.context.core.send_request(request, self.peer, self.context.now())
        self.context.expect_responses(transaction, on_response or (lambda _response: None))

    def bye(self) -> None:
        """Hang up: BYE when answered, CANCEL or an error answer before that."""
        if self.state is LegState.TERMINATED:
            return
        if self.state in (LegState.CONNECTING, LegState.CONFIRMED):
            self.request("BYE")
            self._terminate()
        elif self.uas:
            self.reject(480, "Temporarily Unavailable")
        else:
            self.cancel()

    def offer(self, sdp: SessionDescription, on_answer: Callable[[int, SessionDescription | None],
                                                               None]) -> None:
        """re-INVITE with a new offer; `on_answer(status, answer)` gets the outcome."""
        if self.state is not LegState.CONFIRMED or self.pending_reinvite:
            on_answer(491, None)
            return
        self.pending_reinvite = True
        self.our_offer = self.local_sdp = sdp

        def answered(response: Response | None) -> None:
            if response is not None and response.status < 200:
                return
            self.pending_reinvite = False
            if response is None:
                on_answer(408, None)
                return
            if response.status >= 300:
                on_answer(response.status, None)
                return
            assert self.dialog is not None
            self.dialog.receive_response(response, "INVITE")
            ack = self.dialog.create_request("ACK", cseq=self.dialog.local_cseq)
            self.context.core.send_stateless(ack, self.peer)
            answer = None
            if response.body:
                try:
                    answer = parse_sdp(response.body)
                except SdpError as error:
                    log.info("%r: bad SDP in re-INVITE answer: %s", self, error.reason)
            on_answer(response.status, answer)

        self.request("INVITE", body=sdp.serialize(), content_type=SDP, on_response=answered)

    def on_request(self, request: Request, transaction: ServerTransaction) -> None:
        """A request received within this leg's dialog."""
        core = self.context.core
        assert self.dialog is not None
        try:
            self.dialog.receive_request(request)
        except RemoteProtocolError as error:
            core.respond(transaction, make_response(request, error.status_hint, error.reason),
                         self.context.now())
            return
        method = request.method
        if method == "BYE":
            core.respond(transaction, make_response(request, 200, "OK"), self.context.now())
            if self.alive:
                self._terminate()
                self.owner.leg_ended(self, "bye")
        elif method in ("INVITE", "UPDATE"):
            self._on_offer(request, transaction)
        elif method == "INFO":
            handled = self.owner.leg_info(self, request)
            status = 200 if handled else 415
            core.respond(transaction, make_response(request, status), self.context.now())
        else:
            core.respond(transaction, make_response(request, 405, headers=[("Allow", ALLOW)]),
                         self.context.now())

    def _on_offer(self, request: Request, transaction: ServerTransaction) -> None:
        core = self.context.core
        if request.method == "INVITE" and self.pending_reinvite:
            core.respond(transaction, make_response(request, 491), self.context.now())
            return
        self.context.refreshed(self)
        if request.method == "UPDATE" and not request.body:
            core.respond(transaction, make_response(request, 200), self.context.now())
            return  # a session refresh (RFC 4028) without a new offer
        offer = None
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SdpError as error:
                core.respond(transaction, make_response(request, 400, f"Bad SDP: {error.reason}"),
                             self.context.now())
                return

        def reply(status: int, answer: SessionDescription | None) -> None:
            fields: list[tuple[str, str]] = []
            body = b""
            if 200 <= status < 300:
                fields = [("Contact", self.context.contact_for(self.peer.transport)),
                          ("Allow", ALLOW), ("Supported", SUPPORTED)]
                if answer is not None:
                    fields.append(("Content-Type", SDP))
                    body = answer.serialize()
                    self.local_sdp = answer
            response = make_response(request, status, headers=fields, body=body)
            core.respond(transaction, response, self.context.now())

        self.owner.leg_offer(self, offer, reply)

    # -- end ----------------------------------------------------------------------------------

    def _terminate(self) -> None:
        if self.state is LegState.TERMINATED:
            return
        self.state = LegState.TERMINATED
        self.context.forget(self)

    def detach(self, owner: LegOwner) -> None:
        """The leg is over and its owner was told: let go of the owner and of the transactions
        (whose handlers still reach this leg), so that nothing refers back and the call is
        freed by reference counting the moment the last of them ends, without waiting for a
        full garbage collection. What still arrives (a 487, an answer crossing a CANCEL) the
        leg handles alone."""
        self.owner = owner
        if self.server_transaction is not None:
            self.server_transaction.user = None  # a late CANCEL or a lost ACK is nothing to us
        self.server_transaction = self.client_transaction = None
        # An INVITE transaction lingers for 32 s after a 2xx and still reaches this leg: what
        # it may need then is the dialog and the INVITE (to acknowledge a 2xx again), not the
        # session descriptions, the bulk of a leg.
        self.session = self.media = None
        self.remote_offer = self.remote_sdp = self.our_offer = self.local_sdp = None
