"""What client and server transactions share: states, inputs, timers and the table runner.

A transaction is a state table ``(state, input) -> (actions, next state)``. An input with no
entry in the current state is ignored (a stale timer, a response after the end), so every pair
is legal. Actions send through, report to and set timers on the transaction's `Context`, which
the transaction layer provides.

Once a transaction only lingers to absorb retransmissions (Completed, Accepted, Confirmed: up to
64*T1), it keeps a lean copy of its request (the headers that identify it, no body) and the bytes
it may resend, and drops the rest: at hundreds of calls per second, those 32 seconds would
otherwise hold every message of every call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from b2bua.sip.message import Message, Request, lean_copy
from b2bua.sip.peer import Peer
from b2bua.sip.timers import Timers

if TYPE_CHECKING:
    from b2bua.sip.events import SipEvent


class State(StrEnum):
    """Transaction states in the words of RFC 3261 §17 and RFC 6026."""

    CALLING = "CALLING"
    TRYING = "TRYING"
    PROCEEDING = "PROCEEDING"
    COMPLETED = "COMPLETED"
    ACCEPTED = "ACCEPTED"
    CONFIRMED = "CONFIRMED"
    TERMINATED = "TERMINATED"


class Input(StrEnum):
    """What can happen to a transaction: messages from the wire or the TU, timers firing."""

    REQUEST = "REQUEST"  # a retransmission of the request that created a server transaction
    ACK = "ACK"
    RESPONSE_1XX = "RESPONSE_1XX"  # from the wire, to a client transaction
    RESPONSE_2XX = "RESPONSE_2XX"
    RESPONSE_300_699 = "RESPONSE_300_699"
    TU_1XX = "TU_1XX"  # from the TU, to a server transaction
    TU_2XX = "TU_2XX"
    TU_300_699 = "TU_300_699"
    TIMER_A = "TIMER_A"
    TIMER_B = "TIMER_B"
    TIMER_D = "TIMER_D"
    TIMER_E = "TIMER_E"
    TIMER_F = "TIMER_F"
    TIMER_G = "TIMER_G"
    TIMER_H = "TIMER_H"
    TIMER_I = "TIMER_I"
    TIMER_J = "TIMER_J"
    TIMER_K = "TIMER_K"
    TIMER_L = "TIMER_L"
    TIMER_M = "TIMER_M"
    CANCEL_EXPIRED = "CANCEL_EXPIRED"  # 64*T1 after our CANCEL, no final response (§9.1)
    TRANSPORT_ERROR = "TRANSPORT_ERROR"


# States in which a transaction only absorbs retransmissions until a timer ends it.
LINGERING = frozenset({State.COMPLETED, State.ACCEPTED, State.CONFIRMED})


class Context(Protocol):
    """The services a transaction uses: the transaction layer implements them."""

    timers: Timers

    def send(self, data: bytes, peer: Peer) -> None: ...

    def emit(self, event: SipEvent) -> None: ...

    def schedule(self, owner: Any, name: str, deadline: float) -> None: ...

    def remove(self, transaction: Transaction) -> None: ...


Table = Mapping[tuple[State, Input], tuple[tuple[Any, ...], State]]
Handler = Callable[[Any, float, Message | None], None]


class Transaction:
    """Common machinery. `timers` maps each running timer's input to its schedule number.
    `user` is the transaction user's own slot (its response handler, the leg an INVITE made):
    it lives exactly as long as the transaction (unless the user lets go of it sooner), with
    nothing to clean up when the core forgets it."""

    __slots__ = ("_context", "_immediate", "_lean", "branch", "interval", "is_invite", "key",
                 "method", "peer", "reliable", "request", "state", "table", "timers", "user")

    ACTIONS: ClassVar[Mapping[Any, Handler]]

    def __init__(self, request: Request, peer: Peer, key: tuple[Any, ...], state: State,
                 table: Table, context: Context, branch: str) -> None:
        self.request = request
        self.method = request.method
        self.is_invite = request.method == "INVITE"
        self.table = table
        self.branch = branch
        self.key = key
        self.peer = peer
        self.reliable = peer.transport != "udp"
        self.state = state
        self.timers: dict[str, int] = {}
        self.interval = context.timers.t1
        self._context = context
        self._immediate: list[Input] | None = None
        self._lean = False
        self.user: Any = None

    def handle(self, event: Input, now: float, message: Message | None = None) -> bool:
        """Feed one input; False when the current state has no transition for it (ignored)."""
        entry = self.table.get((self.state, event))
        if entry is None:
            return False
        actions, next_state = entry
        self.state = next_state
        run = self.ACTIONS
        for action in actions:
            run[action](self, now, message)
        if next_state is State.TERMINATED:
            self.timers.clear()
            self._context.remove(self)
            return True
        if next_state in LINGERING and not self._lean:
            self._linger()
        if self._immediate:
            self.handle(self._immediate.pop(), now)
        return True

    def _linger(self) -> None:
        """The transaction now only waits for retransmissions: keep what identifies it and the
        bytes it may have to send again, let go of the rest."""
        self._lean = True
        self.request = lean_copy(self.request)

    def on_timer(self, name: str, now: float) -> None:
        self.handle(Input(name), now)

    def start_timer(self, name: Input, delay: float, now: float) -> None:
        """Arm a timer; a zero delay (reliable transports) fires right after this step."""
        if delay <= 0:
            self.timers.pop(name, None)
            if self._immediate is None:
                self._immediate = [name]
            else:
                self._immediate.append(name)
        else:
            self._context.schedule(self, name, now + delay)

    def cancel_timers(self) -> None:
        self.timers.clear()

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.branch} {self.state}>"
