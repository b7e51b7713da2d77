"""What the SIP core reports to its transaction user (the B2BUA or the registrar above it).

Each event is a frozen dataclass; `SipCore.pop_events()` returns them in the order they
happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from b2bua.sip.message import Request, Response
from b2bua.sip.peer import Peer

if TYPE_CHECKING:
    from b2bua.sip.transaction.client import ClientTransaction
    from b2bua.sip.transaction.server import ServerTransaction


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request (not ACK or CANCEL): answer it with `SipCore.respond(transaction, ...)`."""

    request: Request
    transaction: ServerTransaction
    source: Peer


@dataclass(frozen=True, slots=True)
class AckReceived:
    """An ACK for a 2xx (RFC 3261 §13.3.1.4). `transaction` is the INVITE server transaction
    whose 2xx it acknowledges, None when that is no longer known (e.g. a retransmitted ACK)."""

    request: Request
    transaction: ServerTransaction | None
    source: Peer


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL for a pending INVITE, already answered 200 by the core. The TU ends the INVITE
    with a 487 on `transaction`."""

    request: Request
    transaction: ServerTransaction
    source: Peer


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for one of our client transactions (2xx retransmissions included while the
    INVITE transaction is Accepted: the TU sends the ACK again)."""

    response: Response
    transaction: ClientTransaction


@dataclass(frozen=True, slots=True)
class StrayResponse:
    """A response that matched no client transaction, e.g. a 2xx retransmitted after Timer M."""

    response: Response
    source: Peer


@dataclass(frozen=True, slots=True)
class TransactionTimeout:
    """Timer B or F (no final response: act as on a 408), a CANCELled INVITE left without
    final response for 64*T1, or Timer H (the ACK for our non-2xx final never came)."""

    transaction: ClientTransaction | ServerTransaction


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """The transport could not deliver a message of this transaction (reported by the shell)."""

    transaction: ClientTransaction | ServerTransaction


@dataclass(frozen=True, slots=True)
class AckTimeout:
    """No ACK came for our 2xx to an INVITE within 64*T1: the TU should send BYE."""

    transaction: ServerTransaction
    response: Response


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A message that could not be parsed. `replied` is True when a request got an error reply
    (status `status`, reason phrase `reason`); malformed responses are dropped."""

    reason: str
    status: int
    source: Peer
    is_request: bool
    replied: bool
    data: bytes


SipEvent = (
    RequestReceived | AckReceived | CancelReceived | ResponseReceived | StrayResponse
    | TransactionTimeout | TransportFailure | AckTimeout | MalformedMessage
)
