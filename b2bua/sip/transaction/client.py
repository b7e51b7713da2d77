"""Client transactions: INVITE (RFC 3261 §17.1.1, figure 5, with the Accepted state of
RFC 6026 §7.2) and non-INVITE (§17.1.2, figure 6).

The transaction sends the request on `start` and retransmits it on unreliable transports
(timers A and E), reports responses to the TU, builds and sends the ACK for a non-2xx final
response (§17.1.1.3), absorbs retransmitted finals, and reports a timeout (B, F). In Accepted,
retransmitted 2xx responses still go to the TU, which acknowledges each (RFC 6026).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from b2bua.sip.events import ResponseReceived, TransactionTimeout, TransportFailure
from b2bua.sip.headers import split_values
from b2bua.sip.message import Entry, Headers, Message, Request, Response
from b2bua.sip.peer import Peer
from b2bua.sip.transaction.base import Context, Handler, Input, State, Table, Transaction

S = State
I = Input  # noqa: E741 - short name keeps the tables readable


class ClientAction(StrEnum):
    SEND_REQUEST = "SEND_REQUEST"  # (re)transmit the request
    BACK_OFF_TIMER_A = "BACK_OFF_TIMER_A"  # Timer A doubles
    BACK_OFF_TIMER_E = "BACK_OFF_TIMER_E"  # Timer E doubles, at most T2
    START_TIMER_E_T2 = "START_TIMER_E_T2"  # Proceeding: Timer E runs at T2
    START_TIMER_D = "START_TIMER_D"
    START_TIMER_K = "START_TIMER_K"
    START_TIMER_M = "START_TIMER_M"
    CANCEL_TIMERS = "CANCEL_TIMERS"
    RESPONSE_TO_TU = "RESPONSE_TO_TU"
    SEND_ACK = "SEND_ACK"  # build (once) and send the ACK for a non-2xx final
    TIMEOUT_TO_TU = "TIMEOUT_TO_TU"
    TRANSPORT_ERROR_TO_TU = "TRANSPORT_ERROR_TO_TU"


A = ClientAction

# RFC 3261 figure 5 as updated by RFC 6026 figure 5.
INVITE_CLIENT_TABLE: Table = {
    (S.CALLING, I.TIMER_A): ((A.SEND_REQUEST, A.BACK_OFF_TIMER_A), S.CALLING),
    (S.CALLING, I.TIMER_B): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.CALLING, I.RESPONSE_1XX): ((A.CANCEL_TIMERS, A.RESPONSE_TO_TU), S.PROCEEDING),
    (S.CALLING, I.RESPONSE_2XX): (
        (A.CANCEL_TIMERS, A.RESPONSE_TO_TU, A.START_TIMER_M), S.ACCEPTED),
    (S.CALLING, I.RESPONSE_300_699): (
        (A.CANCEL_TIMERS, A.RESPONSE_TO_TU, A.SEND_ACK, A.START_TIMER_D), S.COMPLETED),
    (S.CALLING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.CALLING, I.CANCEL_EXPIRED): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.PROCEEDING, I.RESPONSE_1XX): ((A.RESPONSE_TO_TU,), S.PROCEEDING),
    (S.PROCEEDING, I.RESPONSE_2XX): (
        (A.CANCEL_TIMERS, A.RESPONSE_TO_TU, A.START_TIMER_M), S.ACCEPTED),
    (S.PROCEEDING, I.RESPONSE_300_699): (
        (A.CANCEL_TIMERS, A.RESPONSE_TO_TU, A.SEND_ACK, A.START_TIMER_D), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.PROCEEDING, I.CANCEL_EXPIRED): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.COMPLETED, I.RESPONSE_300_699): ((A.SEND_ACK,), S.COMPLETED),
    (S.COMPLETED, I.RESPONSE_1XX): ((), S.COMPLETED),
    (S.COMPLETED, I.RESPONSE_2XX): ((), S.COMPLETED),
    (S.COMPLETED, I.TIMER_D): ((), S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.ACCEPTED, I.RESPONSE_2XX): ((A.RESPONSE_TO_TU,), S.ACCEPTED),
    (S.ACCEPTED, I.RESPONSE_1XX): ((), S.ACCEPTED),
    (S.ACCEPTED, I.RESPONSE_300_699): ((), S.ACCEPTED),
    (S.ACCEPTED, I.TIMER_M): ((), S.TERMINATED),
}

_FINAL_NON_INVITE = ((A.CANCEL_TIMERS, A.RESPONSE_TO_TU, A.START_TIMER_K), S.COMPLETED)

# RFC 3261 figure 6.
NON_INVITE_CLIENT_TABLE: Table = {
    (S.TRYING, I.TIMER_E): ((A.SEND_REQUEST, A.BACK_OFF_TIMER_E), S.TRYING),
    (S.TRYING, I.TIMER_F): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.TRYING, I.RESPONSE_1XX): ((A.RESPONSE_TO_TU,), S.PROCEEDING),
    (S.TRYING, I.RESPONSE_2XX): _FINAL_NON_INVITE,
    (S.TRYING, I.RESPONSE_300_699): _FINAL_NON_INVITE,
    (S.TRYING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.PROCEEDING, I.TIMER_E): ((A.SEND_REQUEST, A.START_TIMER_E_T2), S.PROCEEDING),
    (S.PROCEEDING, I.TIMER_F): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.PROCEEDING, I.RESPONSE_1XX): ((A.RESPONSE_TO_TU,), S.PROCEEDING),
    (S.PROCEEDING, I.RESPONSE_2XX): _FINAL_NON_INVITE,
    (S.PROCEEDING, I.RESPONSE_300_699): _FINAL_NON_INVITE,
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.COMPLETED, I.RESPONSE_1XX): ((), S.COMPLETED),
    (S.COMPLETED, I.RESPONSE_2XX): ((), S.COMPLETED),
    (S.COMPLETED, I.RESPONSE_300_699): ((), S.COMPLETED),
    (S.COMPLETED, I.TIMER_K): ((), S.TERMINATED),
}

INVITE_CLIENT_STATES = (S.CALLING, S.PROCEEDING, S.COMPLETED, S.ACCEPTED, S.TERMINATED)
NON_INVITE_CLIENT_STATES = (S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED)
CLIENT_INPUTS = (
    I.RESPONSE_1XX, I.RESPONSE_2XX, I.RESPONSE_300_699, I.TIMER_A, I.TIMER_B, I.TIMER_D,
    I.TIMER_E, I.TIMER_F, I.TIMER_K, I.TIMER_M, I.CANCEL_EXPIRED, I.TRANSPORT_ERROR,
)


def response_input(status: int) -> Input:
    """The input a received response of `status` is to a client transaction."""
    if status < 200:
        return Input.RESPONSE_1XX
    if status < 300:
        return Input.RESPONSE_2XX
    return Input.RESPONSE_300_699


class ClientTransaction(Transaction):
    """One request we sent and its responses. `request` carries our top Via, whose branch is
    `branch` (read from the Via when not given); `last_response` is the latest response
    received (None once the transaction lingers); `cancel_pending` is set when the TU asked to
    cancel before any provisional response arrived (§9.1)."""

    __slots__ = ("_ack_data", "_data", "cancel_pending", "last_response")

    def __init__(self, request: Request, destination: Peer, context: Context,
                 branch: str | None = None) -> None:
        if branch is None:
            branch = request.top_via.branch or ""
        if request.method == "INVITE":
            state, table = S.CALLING, INVITE_CLIENT_TABLE
        else:
            state, table = S.TRYING, NON_INVITE_CLIENT_TABLE
        super().__init__(request, destination, (branch, request.method), state, table, context,
                         branch)
        self._data = request.serialize()
        self._ack_data: bytes | None = None
        self.last_response: Response | None = None
        self.cancel_pending = False

    def start(self, now: float) -> None:
        """Send the request and arm the timers of the initial state."""
        context = self._context
        context.send(self._data, self.peer)
        timers = context.timers
        if self.method == "INVITE":
            if not self.reliable:
                self.start_timer(I.TIMER_A, timers.a(), now)
            self.start_timer(I.TIMER_B, timers.b(), now)
        else:
            if not self.reliable:
                self.start_timer(I.TIMER_E, timers.e(), now)
            self.start_timer(I.TIMER_F, timers.f(), now)

    def receive(self, response: Response, now: float) -> bool:
        """Feed a response from the wire; False when it was ignored."""
        return self.handle(response_input(response.status), now, response)

    def start_cancel_timer(self, now: float) -> None:
        """We sent a CANCEL: give up on a final response 64*T1 from now (RFC 3261 §9.1)."""
        self.start_timer(I.CANCEL_EXPIRED, 64 * self._context.timers.t1, now)

    def build_ack(self, response: Response) -> Request:
        """The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): Request-URI, Call-ID,
        From, CSeq number and Route of the request, To of the response, the request's top Via."""
        request = self.request
        via = request.headers._first("via") or ""
        if "," in via:
            via = split_values(via)[0]
        entries: list[Entry] = [("via", via, f"Via: {via}")]
        for entry in request.headers._entries:
            if entry[0] in ("call-id", "from", "route", "max-forwards"):
                entries.append(entry)
        to_value = response.headers._first("to") or ""
        entries.append(("to", to_value, f"To: {to_value}"))
        cseq = f"{request.cseq.seq} ACK"
        entries.append(("cseq", cseq, f"CSeq: {cseq}"))
        return Request("ACK", request.uri_text, Headers._from_entries(entries))

    # -- actions -----------------------------------------------------------------------

    def _send_request(self, now: float, message: Message | None) -> None:
        self._context.send(self._data, self.peer)

    def _back_off_timer_a(self, now: float, message: Message | None) -> None:
        self.interval *= 2
        self.start_timer(I.TIMER_A, self.interval, now)

    def _back_off_timer_e(self, now: float, message: Message | None) -> None:
        self.interval = self._context.timers.next_interval(self.interval)
        self.start_timer(I.TIMER_E, self.interval, now)

    def _start_timer_e_t2(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_E, self._context.timers.t2, now)

    def _start_timer_d(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_D, self._context.timers.d(self.reliable), now)

    def _start_timer_k(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_K, self._context.timers.k(self.reliable), now)

    def _start_timer_m(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_M, self._context.timers.m(), now)

    def _cancel_timers(self, now: float, message: Message | None) -> None:
        self.timers.clear()

    def _response_to_tu(self, now: float, message: Message | None) -> None:
        if isinstance(message, Response):
            if not self._lean:
                self.last_response = message
            self._context.emit(ResponseReceived(message, self))

    def _linger(self) -> None:
        super()._linger()
        self.last_response = None

    def _send_ack(self, now: float, message: Message | None) -> None:
        if self._ack_data is None:
            if not isinstance(message, Response):
                return
            self._ack_data = self.build_ack(message).serialize()
        self._context.send(self._ack_data, self.peer)

    def _timeout_to_tu(self, now: float, message: Message | None) -> None:
        self._context.emit(TransactionTimeout(self))

    def _transport_error_to_tu(self, now: float, message: Message | None) -> None:
        self._context.emit(TransportFailure(self))

    ACTIONS: ClassVar[Mapping[Any, Handler]] = {
        A.SEND_REQUEST: _send_request,
        A.BACK_OFF_TIMER_A: _back_off_timer_a,
        A.BACK_OFF_TIMER_E: _back_off_timer_e,
        A.START_TIMER_E_T2: _start_timer_e_t2,
        A.START_TIMER_D: _start_timer_d,
        A.START_TIMER_K: _start_timer_k,
        A.START_TIMER_M: _start_timer_m,
        A.CANCEL_TIMERS: _cancel_timers,
        A.RESPONSE_TO_TU: _response_to_tu,
        A.SEND_ACK: _send_ack,
        A.TIMEOUT_TO_TU: _timeout_to_tu,
        A.TRANSPORT_ERROR_TO_TU: _transport_error_to_tu,
    }
