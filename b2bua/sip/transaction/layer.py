"""The transaction layer: matching messages to transactions and running their timers.

Responses match client transactions by the branch of their top Via and the CSeq method
(RFC 3261 §17.1.3). Requests match server transactions by branch, sent-by and method, an ACK
matching its INVITE (§17.2.3); a CANCEL is its own transaction and finds the INVITE it cancels
by the same key with method INVITE. Requests whose branch lacks the ``z9hG4bK`` cookie
(RFC 2543 peers) are matched by Call-ID, From tag, CSeq number and top Via instead.

All timers live in one heap of ``(deadline, number, owner, name)``; an owner (a transaction or
anything with ``timers`` and ``on_timer``) holds the number of each of its running timers, so a
timer re-armed or cancelled leaves a stale heap entry that is skipped.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Protocol

from b2bua.sip.events import SipEvent
from b2bua.sip.headers import BRANCH_MAGIC_COOKIE
from b2bua.sip.message import Request, Response
from b2bua.sip.peer import Peer
from b2bua.sip.timers import Timers
from b2bua.sip.transaction.base import Transaction
from b2bua.sip.transaction.client import ClientTransaction
from b2bua.sip.transaction.server import ServerTransaction

ServerKey = tuple[object, ...]
ClientKey = tuple[object, ...]


class TimerOwner(Protocol):
    timers: dict[str, int]

    def on_timer(self, name: str, now: float) -> None: ...


def server_key(request: Request, method: str | None = None) -> ServerKey:
    """The key of the server transaction `request` belongs to (§17.2.3); `method` overrides
    the request's (an ACK belongs to its INVITE; pass "INVITE" to find what a CANCEL cancels)."""
    via = request.top_via
    if method is None:
        method = "INVITE" if request.method == "ACK" else request.method
    branch = via.params.get("branch")
    if branch is not None and branch.startswith(BRANCH_MAGIC_COOKIE):
        return (branch, via.host, via.port, method)
    return (None, request.call_id, request.from_.tag, request.cseq.seq, via.host, via.port,
            branch, method)


def client_key(response: Response) -> ClientKey:
    """The key of the client transaction `response` answers (§17.1.3)."""
    return (response.top_via.params.get("branch") or "", response.cseq.method)


class TransactionLayer:
    """Holds the live transactions and the timer heap; collects events and outgoing bytes."""

    def __init__(self, timers: Timers) -> None:
        self.timers = timers
        self.events: list[SipEvent] = []
        self.outgoing: list[tuple[bytes, Peer]] = []
        self.client: dict[ClientKey, ClientTransaction] = {}
        self.server: dict[ServerKey, ServerTransaction] = {}
        self._heap: list[tuple[float, int, Any, str]] = []
        self._numbers = itertools.count()

    # -- the Context of transactions ---------------------------------------------------

    def send(self, data: bytes, peer: Peer) -> None:
        self.outgoing.append((data, peer))

    def emit(self, event: SipEvent) -> None:
        self.events.append(event)

    def schedule(self, owner: TimerOwner, name: str, deadline: float) -> None:
        number = next(self._numbers)
        owner.timers[name] = number
        heapq.heappush(self._heap, (deadline, number, owner, name))

    def remove(self, transaction: Transaction) -> None:
        table: dict[Any, Any] = self.client if isinstance(transaction, ClientTransaction) \
            else self.server
        if table.get(transaction.key) is transaction:
            del table[transaction.key]

    # -- matching ----------------------------------------------------------------------

    def add_client(self, transaction: ClientTransaction) -> None:
        self.client[transaction.key] = transaction

    def add_server(self, transaction: ServerTransaction) -> None:
        self.server[transaction.key] = transaction

    def match_response(self, response: Response) -> ClientTransaction | None:
        return self.client.get(client_key(response))

    def match_request(self, request: Request) -> ServerTransaction | None:
        return self.server.get(server_key(request))

    def match_cancelled(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL cancels."""
        return self.server.get(server_key(cancel, "INVITE"))

    # -- timers ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            _deadline, number, owner, name = heap[0]
            if owner.timers.get(name) == number:
                return heap[0][0]
            heapq.heappop(heap)
        return None

    def fire_timers(self, now: float) -> None:
        """Fire every timer due at `now`, earliest first."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _deadline, number, owner, name = heapq.heappop(heap)
            if owner.timers.get(name) == number:
                del owner.timers[name]
                owner.on_timer(name, now)

    @property
    def pending_timers(self) -> int:
        """Heap entries, stale ones included (for monitoring)."""
        return len(self._heap)
