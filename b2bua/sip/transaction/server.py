"""Server transactions: INVITE (RFC 3261 §17.2.1, figure 7, with the Accepted state of
RFC 6026 §7.1) and non-INVITE (§17.2.2, figure 8).

The transaction sends the TU's responses, answers retransmitted requests with the last response,
retransmits a non-2xx final to an INVITE on unreliable transports until the ACK (Timer G) or
gives up (Timer H), and absorbs the ACK of a non-2xx. After a 2xx to an INVITE it is Accepted
for 64*T1 (Timer L): retransmitted INVITEs are absorbed, 2xx retransmissions by the TU are sent,
and an ACK matching it goes to the TU.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from b2bua.sip.events import AckReceived, TransactionTimeout, TransportFailure
from b2bua.sip.message import Message, Request, Response
from b2bua.sip.peer import Peer
from b2bua.sip.transaction.base import Context, Handler, Input, State, Table, Transaction

S = State
I = Input  # noqa: E741 - short name keeps the tables readable


class ServerAction(StrEnum):
    SEND_RESPONSE = "SEND_RESPONSE"  # send the TU's response and keep it for retransmissions
    RESEND_RESPONSE = "RESEND_RESPONSE"  # send the last response again
    START_TIMER_G = "START_TIMER_G"
    BACK_OFF_TIMER_G = "BACK_OFF_TIMER_G"  # Timer G doubles, at most T2
    START_TIMER_H = "START_TIMER_H"
    START_TIMER_I = "START_TIMER_I"
    START_TIMER_J = "START_TIMER_J"
    START_TIMER_L = "START_TIMER_L"
    CANCEL_TIMERS = "CANCEL_TIMERS"
    ACK_TO_TU = "ACK_TO_TU"
    TIMEOUT_TO_TU = "TIMEOUT_TO_TU"
    TRANSPORT_ERROR_TO_TU = "TRANSPORT_ERROR_TO_TU"


A = ServerAction

# RFC 3261 figure 7 as updated by RFC 6026 figure 7.
INVITE_SERVER_TABLE: Table = {
    (S.PROCEEDING, I.REQUEST): ((A.RESEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_1XX): ((A.SEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_2XX): ((A.SEND_RESPONSE, A.START_TIMER_L), S.ACCEPTED),
    (S.PROCEEDING, I.TU_300_699): (
        (A.SEND_RESPONSE, A.START_TIMER_G, A.START_TIMER_H), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.ACCEPTED, I.REQUEST): ((), S.ACCEPTED),
    (S.ACCEPTED, I.ACK): ((A.ACK_TO_TU,), S.ACCEPTED),
    (S.ACCEPTED, I.TU_2XX): ((A.SEND_RESPONSE,), S.ACCEPTED),
    (S.ACCEPTED, I.TIMER_L): ((), S.TERMINATED),
    (S.ACCEPTED, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.COMPLETED, I.REQUEST): ((A.RESEND_RESPONSE,), S.COMPLETED),
    (S.COMPLETED, I.ACK): ((A.CANCEL_TIMERS, A.START_TIMER_I), S.CONFIRMED),
    (S.COMPLETED, I.TIMER_G): ((A.RESEND_RESPONSE, A.BACK_OFF_TIMER_G), S.COMPLETED),
    (S.COMPLETED, I.TIMER_H): ((A.TIMEOUT_TO_TU,), S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.CONFIRMED, I.REQUEST): ((), S.CONFIRMED),
    (S.CONFIRMED, I.ACK): ((), S.CONFIRMED),
    (S.CONFIRMED, I.TIMER_I): ((), S.TERMINATED),
}

_FINAL_NON_INVITE = ((A.SEND_RESPONSE, A.START_TIMER_J), S.COMPLETED)

# RFC 3261 figure 8 (with erratum 1470: a final response straight from Trying).
NON_INVITE_SERVER_TABLE: Table = {
    (S.TRYING, I.REQUEST): ((), S.TRYING),
    (S.TRYING, I.TU_1XX): ((A.SEND_RESPONSE,), S.PROCEEDING),
    (S.TRYING, I.TU_2XX): _FINAL_NON_INVITE,
    (S.TRYING, I.TU_300_699): _FINAL_NON_INVITE,
    (S.TRYING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.PROCEEDING, I.REQUEST): ((A.RESEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_1XX): ((A.SEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_2XX): _FINAL_NON_INVITE,
    (S.PROCEEDING, I.TU_300_699): _FINAL_NON_INVITE,
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.TRANSPORT_ERROR_TO_TU,), S.TERMINATED),
    (S.COMPLETED, I.REQUEST): ((A.RESEND_RESPONSE,), S.COMPLETED),
    (S.COMPLETED, I.TIMER_J): ((), S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): ((), S.TERMINATED),
}

INVITE_SERVER_STATES = (S.PROCEEDING, S.ACCEPTED, S.COMPLETED, S.CONFIRMED, S.TERMINATED)
NON_INVITE_SERVER_STATES = (S.TRYING, S.PROCEEDING, S.COMPLETED, S.TERMINATED)
SERVER_INPUTS = (
    I.REQUEST, I.ACK, I.TU_1XX, I.TU_2XX, I.TU_300_699, I.TIMER_G, I.TIMER_H, I.TIMER_I,
    I.TIMER_J, I.TIMER_L, I.TRANSPORT_ERROR,
)


def tu_response_input(status: int) -> Input:
    """The input a response of `status` from the TU is to a server transaction."""
    if status < 200:
        return Input.TU_1XX
    if status < 300:
        return Input.TU_2XX
    return Input.TU_300_699


class ServerTransaction(Transaction):
    """One request we received and our responses to it. `source` is where the request came
    from, `peer` where responses go (RFC 3261 §18.2.2, RFC 3581); `last_response` is the latest
    response sent (None once the transaction lingers; `response_data` keeps its bytes)."""

    __slots__ = ("_response_data", "last_response", "source")

    def __init__(self, request: Request, source: Peer, response_peer: Peer,
                 key: tuple[object, ...], context: Context) -> None:
        if request.method == "INVITE":
            state, table = S.PROCEEDING, INVITE_SERVER_TABLE
        else:
            state, table = S.TRYING, NON_INVITE_SERVER_TABLE
        super().__init__(request, response_peer, key, state, table, context,
                         request.top_via.branch or "")
        self.source = source
        self.reliable = source.transport != "udp"
        self.last_response: Response | None = None
        self._response_data: bytes | None = None

    def respond(self, response: Response, now: float) -> bool:
        """Send a response from the TU; False when the state does not allow it."""
        return self.handle(tu_response_input(response.status), now, response)

    def forget_response(self) -> None:
        """Drop the bytes of the last response once nothing can ask for them again (the 2xx
        to an INVITE, after its ACK)."""
        self._response_data = None

    @property
    def response_data(self) -> bytes | None:
        """The wire form of the last response sent."""
        return self._response_data

    # -- actions -----------------------------------------------------------------------

    def _send_response(self, now: float, message: Message | None) -> None:
        if isinstance(message, Response):
            if not self._lean:
                self.last_response = message
            data = self._response_data = message.serialize()
            self._context.send(data, self.peer)

    def _linger(self) -> None:
        super()._linger()
        self.last_response = None

    def _resend_response(self, now: float, message: Message | None) -> None:
        if self._response_data is not None:
            self._context.send(self._response_data, self.peer)

    def _start_timer_g(self, now: float, message: Message | None) -> None:
        if not self.reliable:
            self.interval = self._context.timers.g()
            self.start_timer(I.TIMER_G, self.interval, now)

    def _back_off_timer_g(self, now: float, message: Message | None) -> None:
        self.interval = self._context.timers.next_interval(self.interval)
        self.start_timer(I.TIMER_G, self.interval, now)

    def _start_timer_h(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_H, self._context.timers.h(), now)

    def _start_timer_i(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_I, self._context.timers.i(self.reliable), now)

    def _start_timer_j(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_J, self._context.timers.j(self.reliable), now)

    def _start_timer_l(self, now: float, message: Message | None) -> None:
        self.start_timer(I.TIMER_L, self._context.timers.l(), now)

    def _cancel_timers(self, now: float, message: Message | None) -> None:
        self.timers.clear()

    def _ack_to_tu(self, now: float, message: Message | None) -> None:
        if isinstance(message, Request):
            self._context.emit(AckReceived(message, self, self.source))

    def _timeout_to_tu(self, now: float, message: Message | None) -> None:
        self._context.emit(TransactionTimeout(self))

    def _transport_error_to_tu(self, now: float, message: Message | None) -> None:
        self._context.emit(TransportFailure(self))

    ACTIONS: ClassVar[Mapping[Any, Handler]] = {
        A.SEND_RESPONSE: _send_response,
        A.RESEND_RESPONSE: _resend_response,
        A.START_TIMER_G: _start_timer_g,
        A.BACK_OFF_TIMER_G: _back_off_timer_g,
        A.START_TIMER_H: _start_timer_h,
        A.START_TIMER_I: _start_timer_i,
        A.START_TIMER_J: _start_timer_j,
        A.START_TIMER_L: _start_timer_l,
        A.CANCEL_TIMERS: _cancel_timers,
        A.ACK_TO_TU: _ack_to_tu,
        A.TIMEOUT_TO_TU: _timeout_to_tu,
        A.TRANSPORT_ERROR_TO_TU: _transport_error_to_tu,
    }
