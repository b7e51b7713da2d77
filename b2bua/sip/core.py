"""`SipCore`: the sans-IO SIP endpoint the asyncio shell drives.

Bytes and the time go in (`receive`, `handle_timer`); events for the transaction user and bytes
to send come out (`pop_events`, `pop_outgoing`). The core parses, answers malformed requests,
stamps ``received``/``rport`` on the top Via (RFC 3261 §18.2.1, RFC 3581), runs the client and
server transactions, routes responses back (§18.2.2, RFC 3581 §4), answers CANCEL (§9.2),
retransmits 2xx responses to INVITE until the ACK comes (§13.3.1.4), and reports responses that
match no transaction. It never reads a clock, opens a socket or draws a random number: the
token generator is injected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from b2bua.sip.errors import LocalProtocolError, RemoteProtocolError
from b2bua.sip.events import (
    AckReceived,
    AckTimeout,
    CancelReceived,
    MalformedMessage,
    RequestReceived,
    SipEvent,
    StrayResponse,
)
from b2bua.sip.headers import BRANCH_MAGIC_COOKIE, Via, bare_host, format_host_port
from b2bua.sip.message import Entry, Headers, Request, Response, make_response
from b2bua.sip.parser import MAX_MESSAGE_SIZE, parse_message
from b2bua.sip.peer import Peer
from b2bua.sip.timers import DEFAULT_TIMERS, Timers
from b2bua.sip.transaction.base import Input, State
from b2bua.sip.transaction.client import ClientTransaction
from b2bua.sip.transaction.layer import TransactionLayer, server_key
from b2bua.sip.transaction.server import ServerTransaction

__all__ = ["Peer", "SipCore"]

BRANCH_TOKEN_BYTES = 10
TAG_TOKEN_BYTES = 8
CALL_ID_TOKEN_BYTES = 16

AckKey = tuple[str, str | None, int]
_RPORT_FLAG = re.compile(r";[ \t]*rport(?=[ \t]*(?:;|$))", re.IGNORECASE)


class _AnswerRetransmission:
    """A 2xx to an INVITE waiting for its ACK: resent at T1, 2*T1... up to T2, for 64*T1."""

    __slots__ = ("core", "data", "give_up_at", "interval", "key", "peer", "response", "timers",
                 "transaction")

    def __init__(self, core: SipCore, transaction: ServerTransaction, response: Response,
                 key: AckKey, now: float) -> None:
        self.core = core
        self.transaction = transaction
        self.response = response
        self.data = transaction.response_data or response.serialize()
        self.peer = transaction.peer
        self.key = key
        self.timers: dict[str, int] = {}
        timers = core.layer.timers
        self.interval = timers.t1
        self.give_up_at = now + 64 * timers.t1
        core.layer.schedule(self, "2XX", now + self.interval)

    def stop(self) -> None:
        """The ACK came: no more resends; drop the bytes (the heap entry lives until its time)."""
        self.timers.clear()
        self.data = b""
        self.transaction.forget_response()

    def on_timer(self, name: str, now: float) -> None:
        core = self.core
        if now >= self.give_up_at:
            core._awaiting_ack.pop(self.key, None)
            core.layer.emit(AckTimeout(self.transaction, self.response))
            return
        core.layer.send(self.data, self.peer)
        self.interval = core.layer.timers.next_interval(self.interval)
        core.layer.schedule(self, "2XX", min(now + self.interval, self.give_up_at))


def response_peer(via: Via, source: Peer) -> Peer:
    """Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4), given its stamped top
    Via: back over the same connection for TCP; else to ``received`` (or the sent-by host) at
    ``rport`` when the client asked for it, else at the sent-by port."""
    if source.transport != "udp":
        return source
    host = via.params.get("received") or bare_host(via.host)
    port = via.rport if via.rport_requested else None
    if port is None:
        port = via.port if via.port is not None else 5060
    return Peer(source.transport, host, port)


def stamp_via(request: Request, source: Peer) -> Via:
    """Add ``received`` (when the source address differs from sent-by, or rport was asked)
    and the ``rport`` value to the top Via; answers the top Via."""
    via = request.top_via
    params = via.params
    rport = "rport" in params
    if not rport and bare_host(via.host) == source.host:
        return via
    headers = request.headers
    entries = headers._entries
    index = next(i for i, entry in enumerate(entries) if entry[0] == "via")
    _key, value, line = entries[index]
    if "," in value or "received" in params or params.get("rport") is not None:
        stamped = via.copy()
        stamped.params["received"] = source.host
        if rport:
            stamped.params["rport"] = str(source.port)
        headers.replace_top("via", str(stamped))
        headers._parsed["via-top"] = stamped
        return stamped
    if rport:
        value = _RPORT_FLAG.sub(f";rport={source.port}", value, count=1)
        params["rport"] = str(source.port)
    value = f"{value};received={source.host}"
    params["received"] = source.host
    entries[index] = ("via", value, f"{line[: line.index(':')]}: {value}")
    headers._parsed.pop("via", None)
    return via


class SipCore:
    """A SIP endpoint without I/O. See the module doc; every method taking `now` uses it as the
    current time in seconds on the shell's monotonic clock.

    `local` maps each transport the shell listens on (``udp``, ``tcp``) to the (host, port) our
    Via headers advertise. `token(n)` returns a fresh random string of SIP token characters
    made from n random bytes (``secrets.token_urlsafe`` fits). With `send_trying`, the core
    answers each new INVITE with 100 Trying itself, before the TU sees it.
    """

    def __init__(
        self,
        *,
        local: Mapping[str, tuple[str, int]],
        token: Callable[[int], str],
        max_message_size: int = MAX_MESSAGE_SIZE,
        user_agent: str | None = "b2bua",
        timers: Timers = DEFAULT_TIMERS,
        send_trying: bool = True,
    ) -> None:
        self.local = dict(local)
        self.token = token
        self.max_message_size = max_message_size
        self.user_agent = user_agent
        self.send_trying = send_trying
        self.layer = TransactionLayer(timers)
        self._awaiting_ack: dict[AckKey, _AnswerRetransmission] = {}
        self.stats: dict[str, int] = {
            "received": 0, "malformed": 0, "malformed_replied": 0, "stray_responses": 0,
            "retransmissions_absorbed": 0,
        }

    # -- what the shell calls -----------------------------------------------------------

    def receive(self, data: bytes, source: Peer, now: float) -> None:
        """Take one datagram or one framed stream message from `source`."""
        if len(data) <= 4 and not data.strip(b"\r\n"):
            return  # a keep-alive (CRLF or double CRLF)
        self.stats["received"] += 1
        try:
            message = parse_message(data, max_size=self.max_message_size)
        except RemoteProtocolError as error:
            self._malformed(error, data, source)
            return
        if type(message) is Request:
            self._receive_request(message, source, now)
        else:
            self._receive_response(message, source, now)  # type: ignore[arg-type]

    def next_deadline(self) -> float | None:
        """When `handle_timer` must next be called (None: no timer runs)."""
        return self.layer.next_deadline()

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at `now`."""
        self.layer.fire_timers(now)

    def pop_events(self) -> list[SipEvent]:
        events = self.layer.events
        self.layer.events = []
        return events

    def pop_outgoing(self) -> list[tuple[bytes, Peer]]:
        outgoing = self.layer.outgoing
        self.layer.outgoing = []
        return outgoing

    def transport_failed(self, destination: Peer, now: float) -> None:
        """The shell could not deliver to `destination`: fail the transactions sending there."""
        layer = self.layer
        for transaction in [*layer.client.values(), *layer.server.values()]:
            if transaction.peer == destination:
                transaction.handle(Input.TRANSPORT_ERROR, now)

    # -- what the transaction user calls ------------------------------------------------

    def new_tag(self) -> str:
        return self.token(TAG_TOKEN_BYTES)

    def new_call_id(self) -> str:
        host = self.local[next(iter(self.local))][0]
        return f"{self.token(CALL_ID_TOKEN_BYTES)}@{host}"

    def new_branch(self) -> str:
        return BRANCH_MAGIC_COOKIE + self.token(BRANCH_TOKEN_BYTES)

    def via_for(self, transport: str, branch: str) -> str:
        """Our Via value for `transport` with `branch` and ``;rport``."""
        try:
            host, port = self.local[transport]
        except KeyError:
            raise LocalProtocolError(f"no local address for transport {transport!r}") from None
        return f"SIP/2.0/{transport.upper()} {format_host_port(host, port)};branch={branch};rport"

    def send_request(self, request: Request, destination: Peer, now: float) -> ClientTransaction:
        """Send a request in a new client transaction. The core puts a top Via with a fresh
        branch on it, and Max-Forwards and User-Agent when missing. Not for ACK (use
        `send_stateless`) nor CANCEL (use `cancel`)."""
        if request.method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"{request.method} is not sent with send_request")
        branch = self._prepare_request(request, destination.transport)
        transaction = ClientTransaction(request, destination, self.layer, branch)
        self.layer.add_client(transaction)
        transaction.start(now)
        return transaction

    def cancel(self, transaction: ClientTransaction, now: float) -> ClientTransaction | None:
        """Cancel a pending INVITE (RFC 3261 §9.1). Answers the CANCEL's client transaction;
        None when the CANCEL waits for a first provisional response (it is sent then) or when
        the INVITE already has its final response."""
        if not transaction.is_invite:
            raise LocalProtocolError("only an INVITE can be cancelled")
        if transaction.state is State.CALLING:
            transaction.cancel_pending = True
            return None
        if transaction.state is not State.PROCEEDING:
            return None
        return self._send_cancel(transaction, now)

    def respond(self, transaction: ServerTransaction, response: Response, now: float) -> None:
        """Send a response on a server transaction. A 2xx to an INVITE is then retransmitted by
        the core until its ACK arrives or 64*T1 passes (`AckTimeout`). Responding on a
        terminated transaction does nothing; a response the state forbids (a second final
        response) raises LocalProtocolError."""
        if transaction.state is State.TERMINATED:
            return
        if self.user_agent and response.headers._first("server") is None:
            response.headers.add("Server", self.user_agent)
        request = transaction.request
        if not transaction.respond(response, now):
            raise LocalProtocolError(
                f"cannot send {response.status} on a transaction in state {transaction.state}")
        if transaction.is_invite and 200 <= response.status < 300:
            self._await_ack(transaction, request, response, now)

    def send_stateless(self, message: Request | Response, destination: Peer) -> None:
        """Send outside any transaction (the ACK for a 2xx, a response retransmission...). A
        request without Via gets ours with a fresh branch."""
        if isinstance(message, Request) and message.headers._first("via") is None:
            self._prepare_request(message, destination.transport)
        self.layer.send(message.serialize(), destination)

    # -- requests from the wire ---------------------------------------------------------

    def _receive_request(self, request: Request, source: Peer, now: float) -> None:
        via = stamp_via(request, source)
        layer = self.layer
        method = request.method
        transaction = layer.server.get(server_key(request))
        if transaction is not None:
            self.stats["retransmissions_absorbed"] += 1
            if method == "ACK":
                if transaction.state is State.ACCEPTED:
                    self._stop_retransmission(request)
                transaction.handle(Input.ACK, now, request)
            else:
                transaction.handle(Input.REQUEST, now, request)
            return
        if method == "ACK":
            self._receive_ack(request, source)
            return
        transaction = ServerTransaction(request, source, response_peer(via, source),
                                        server_key(request), layer)
        layer.add_server(transaction)
        if method == "CANCEL":
            self._receive_cancel(request, transaction, source, now)
            return
        if method == "INVITE" and self.send_trying:
            transaction.respond(make_response(request, 100), now)
        layer.events.append(RequestReceived(request, transaction, source))

    def _receive_ack(self, ack: Request, source: Peer) -> None:
        """An ACK outside any transaction: for one of our 2xx (§13.3.1.4), or a stray."""
        key = (ack.call_id, ack.from_.tag, ack.cseq.seq)
        pending = self._awaiting_ack.pop(key, None)
        transaction = None
        if pending is not None:
            pending.stop()
            transaction = pending.transaction
        self.layer.events.append(AckReceived(ack, transaction, source))

    def _receive_cancel(self, cancel: Request, transaction: ServerTransaction, source: Peer,
                        now: float) -> None:
        invite = self.layer.match_cancelled(cancel)
        if invite is None:
            transaction.respond(make_response(cancel, 481, to_tag=self.new_tag()), now)
            return
        answered = invite.last_response
        tag = answered.to.tag if answered is not None and answered.status > 100 else None
        transaction.respond(make_response(cancel, 200, to_tag=tag or self.new_tag()), now)
        if invite.state is State.PROCEEDING:
            self.layer.events.append(CancelReceived(cancel, invite, source))

    # -- responses from the wire --------------------------------------------------------

    def _receive_response(self, response: Response, source: Peer, now: float) -> None:
        transaction = self.layer.match_response(response)
        if transaction is None:
            self.stats["stray_responses"] += 1
            self.layer.events.append(StrayResponse(response, source))
            return
        transaction.receive(response, now)
        if transaction.cancel_pending and transaction.state is State.PROCEEDING:
            transaction.cancel_pending = False
            self._send_cancel(transaction, now)

    # -- helpers ------------------------------------------------------------------------

    def _prepare_request(self, request: Request, transport: str) -> str:
        """Put our Via on top (answers its branch), and the missing defaults."""
        branch = self.new_branch()
        headers = request.headers
        headers.push_top("Via", self.via_for(transport, branch))
        if headers._first("max-forwards") is None:
            headers.add("Max-Forwards", "70")
        if self.user_agent and headers._first("user-agent") is None:
            headers.add("User-Agent", self.user_agent)
        return branch

    def _send_cancel(self, invite: ClientTransaction, now: float) -> ClientTransaction:
        """CANCEL per RFC 3261 §9.1: Request-URI, Call-ID, From, To, Route and CSeq number of
        the INVITE, and its top Via (same branch)."""
        request = invite.request
        via = request.headers._first("via") or ""
        entries: list[Entry] = [("via", via, f"Via: {via}")]
        entries += [e for e in request.headers._entries
                    if e[0] in ("max-forwards", "route", "from", "to", "call-id")]
        cseq = f"{request.cseq.seq} CANCEL"
        entries.append(("cseq", cseq, f"CSeq: {cseq}"))
        if self.user_agent:
            entries.append(("user-agent", self.user_agent, f"User-Agent: {self.user_agent}"))
        cancel = Request("CANCEL", request.uri_text, Headers._from_entries(entries))
        transaction = ClientTransaction(cancel, invite.peer, self.layer, invite.branch)
        self.layer.add_client(transaction)
        transaction.start(now)
        invite.start_cancel_timer(now)
        return transaction

    def _await_ack(self, transaction: ServerTransaction, request: Request, response: Response,
                   now: float) -> None:
        key = (request.call_id, request.from_.tag, request.cseq.seq)
        pending = self._awaiting_ack.get(key)
        if pending is not None and pending.transaction is transaction:
            pending.data = transaction.response_data or response.serialize()
            pending.response = response
            return
        self._awaiting_ack[key] = _AnswerRetransmission(self, transaction, response, key, now)

    def _stop_retransmission(self, ack: Request) -> None:
        key = (ack.call_id, ack.from_.tag, ack.cseq.seq)
        pending = self._awaiting_ack.pop(key, None)
        if pending is not None:
            pending.stop()

    def _malformed(self, error: RemoteProtocolError, data: bytes, source: Peer) -> None:
        message = error.message
        if message is None:
            is_request = not data.lstrip(b"\r\n").startswith(b"SIP/")
        else:
            is_request = isinstance(message, Request)
        replied = False
        if isinstance(message, Request) and message.method != "ACK":
            replied = self._reply_to_malformed(message, error, source)
        self.stats["malformed"] += 1
        if replied:
            self.stats["malformed_replied"] += 1
        self.layer.events.append(MalformedMessage(
            error.reason, error.status_hint, source, is_request, replied, data))

    def _reply_to_malformed(self, request: Request, error: RemoteProtocolError,
                            source: Peer) -> bool:
        """Answer a faulty request when its top Via can still address the reply."""
        try:
            via = stamp_via(request, source)
        except (RemoteProtocolError, LocalProtocolError):
            return False
        try:
            response = make_response(request, error.status_hint, error.reason,
                                     to_tag=self.new_tag())
        except RemoteProtocolError:
            response = make_response(request, error.status_hint, error.reason)
        if self.user_agent:
            response.headers.add("Server", self.user_agent)
        self.layer.send(response.serialize(), response_peer(via, source))
        return True

