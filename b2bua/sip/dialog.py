"""Dialogs (RFC 3261 §12): the state two user agents share between INVITE and BYE.

A dialog is built by the UAS from a request and its response (§12.1.1), or by the UAC from its
request and a response carrying a To tag (§12.1.2), early (1xx) or confirmed (2xx). It makes the
requests sent within it (§12.2.1.1: loose and strict routing) and checks those received in it
(§12.2.2: CSeq order, target refresh).
"""

from __future__ import annotations

from collections.abc import Iterable

from b2bua.sip.errors import LocalProtocolError, RemoteProtocolError
from b2bua.sip.message import Headers, Request, Response
from b2bua.sip.uri import URI, NameAddr, SipURI

DialogId = tuple[str, str, str]  # (Call-ID, local tag, remote tag)

EARLY = "early"
CONFIRMED = "confirmed"

# Requests that may change the remote target (RFC 3261 §12.2, RFC 3311, RFC 6665, RFC 3515).
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
# Parameters a Request-URI may not carry when taken from a strict route (§19.1.1 table 1).
_NOT_IN_REQUEST_URI = ("method", "ttl", "maddr", "lr")


def incoming_request_dialog_id(request: Request) -> DialogId:
    """The id of the dialog a received request belongs to, from our side: (Call-ID, To tag,
    From tag). The To tag is empty on a request outside any dialog."""
    return (request.call_id, request.to.tag or "", request.from_.tag or "")


def incoming_response_dialog_id(response: Response) -> DialogId:
    """The id of the dialog a received response belongs to, from our (UAC) side: (Call-ID,
    From tag, To tag)."""
    return (response.call_id, response.from_.tag or "", response.to.tag or "")


class Dialog:
    """One dialog. `local_cseq` is the CSeq number of the last request we sent in it,
    `remote_cseq` that of the last request received (None until one is). `local_contact`, when
    set, goes as Contact into the target refresh requests we send."""

    __slots__ = ("call_id", "local_contact", "local_cseq", "local_tag", "local_uri",
                 "remote_cseq", "remote_tag", "remote_target", "remote_uri", "route_set",
                 "secure", "state")

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        remote_target: URI,
        route_set: list[NameAddr],
        local_cseq: int,
        remote_cseq: int | None,
        secure: bool = False,
        state: str = CONFIRMED,
        local_contact: str | None = None,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri.replace(params={})
        self.remote_uri = remote_uri.replace(params={})
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.secure = secure
        self.state = state
        self.local_contact = local_contact

    @classmethod
    def from_uas(cls, request: Request, response: Response, *, local_cseq: int = 0) -> Dialog:
        """The UAS side (§12.1.1), from the request and our 1xx/2xx carrying our To tag."""
        local_tag = response.to.tag
        if local_tag is None:
            raise LocalProtocolError("a dialog-creating response needs a To tag")
        contacts = request.contact
        if not contacts:
            raise RemoteProtocolError("Missing Contact")
        own_contact = response.headers.get("Contact")
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=request.to,
            remote_uri=request.from_,
            remote_target=contacts[0].uri,
            route_set=list(request.record_route),
            local_cseq=local_cseq,
            remote_cseq=request.cseq.seq,
            secure=request.uri.scheme == "sips",
            state=CONFIRMED if 200 <= response.status < 300 else EARLY,
            local_contact=own_contact,
        )

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The UAC side (§12.1.2), from our request and a 1xx/2xx with a To tag."""
        remote_tag = response.to.tag
        if remote_tag is None:
            raise RemoteProtocolError("Missing To tag")
        contacts = response.contact
        if not contacts and 200 <= response.status < 300:
            raise RemoteProtocolError("Missing Contact")
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=remote_tag,
            local_uri=request.from_,
            remote_uri=request.to,
            remote_target=contacts[0].uri if contacts else request.uri,
            route_set=list(reversed(response.record_route)),
            local_cseq=request.cseq.seq,
            remote_cseq=None,
            secure=request.uri.scheme == "sips",
            state=CONFIRMED if 200 <= response.status < 300 else EARLY,
            local_contact=request.headers.get("Contact"),
        )

    @property
    def id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    def matches(self, message: Request | Response) -> bool:
        """True when a received request, or a response to our request, is in this dialog."""
        if isinstance(message, Request):
            return incoming_request_dialog_id(message) == self.id
        return incoming_response_dialog_id(message) == self.id

    # -- sending -----------------------------------------------------------------------

    @property
    def next_hop(self) -> URI:
        """Where requests in this dialog go first: the first route, else the remote target."""
        return self.route_set[0].uri if self.route_set else self.remote_target

    def create_request(
        self,
        method: str,
        *,
        cseq: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request within the dialog (§12.2.1.1), without Via (the core adds it).

        The CSeq number is the next local one, except for ACK, which takes `cseq` (the INVITE's;
        it must be given). Route and Request-URI follow the route set (loose or strict routing).
        """
        if method == "ACK":
            if cseq is None:
                raise LocalProtocolError("an ACK takes the CSeq number of its INVITE")
            number = cseq
        elif cseq is not None:
            number = cseq
            self.local_cseq = max(self.local_cseq, cseq)
        else:
            self.local_cseq += 1
            number = self.local_cseq
        request_uri, routes = self._routing()
        fields = [
            ("From", str(self.local_uri.with_tag(self.local_tag))),
            ("To", str(self.remote_uri.with_tag(self.remote_tag)) if self.remote_tag
             else str(self.remote_uri)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
            ("Max-Forwards", "70"),
        ]
        fields += [("Route", route) for route in routes]
        if self.local_contact and method in TARGET_REFRESH_METHODS:
            fields.append(("Contact", self.local_contact))
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        fields += list(headers)
        return Request(method, request_uri, Headers(fields), body)

    def _routing(self) -> tuple[str, list[str]]:
        """(Request-URI, Route values) for the next request (§12.2.1.1)."""
        target = str(self.remote_target)
        if not self.route_set:
            return target, []
        first = self.route_set[0]
        first_uri = first.uri
        if isinstance(first_uri, SipURI) and not first_uri.lr:
            params = {k: v for k, v in first_uri.params.items() if k not in _NOT_IN_REQUEST_URI}
            request_uri = str(first_uri.replace(params=params, headers={}))
            routes = [str(route) for route in self.route_set[1:]]
            routes.append(f"<{target}>")
            return request_uri, routes
        return target, [str(route) for route in self.route_set]

    # -- receiving ---------------------------------------------------------------------

    def receive_request(self, request: Request) -> None:
        """Check and take in a request received in this dialog (§12.2.2).

        Raises RemoteProtocolError(..., 500) for a CSeq lower than the last one; updates the
        remote CSeq and, on a target refresh request with a Contact, the remote target.
        """
        if request.method in ("ACK", "CANCEL"):
            return
        seq = request.cseq.seq
        if self.remote_cseq is not None and seq < self.remote_cseq:
            raise RemoteProtocolError("CSeq out of order", 500)
        self.remote_cseq = seq
        if request.method in TARGET_REFRESH_METHODS:
            contacts = request.contact
            if contacts and not contacts[0].is_wildcard:
                self.remote_target = contacts[0].uri

    def receive_response(self, response: Response, method: str) -> None:
        """Take in a response to our request `method` sent in this dialog: a 2xx confirms an
        early dialog (route set recomputed, §13.2.2.4), and a 1xx/2xx to a target refresh
        request with a Contact updates the remote target (§12.2.1.2)."""
        status = response.status
        if status < 101 or status >= 300:
            return
        if status >= 200 and self.state == EARLY and method == "INVITE":
            self.state = CONFIRMED
            self.route_set = list(reversed(response.record_route))
        if method in TARGET_REFRESH_METHODS:
            contacts = response.contact
            if contacts and not contacts[0].is_wildcard:
                self.remote_target = contacts[0].uri

    def __repr__(self) -> str:
        return f"<Dialog {self.call_id} {self.local_tag}/{self.remote_tag} {self.state}>"


def initial_request(
    method: str,
    uri: URI | str,
    *,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int = 1,
    contact: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """A request outside any dialog (§8.1.1), without Via. `from_` should carry our tag."""
    fields = [
        ("From", str(from_)),
        ("To", str(to)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", "70"),
    ]
    if contact is not None:
        fields.append(("Contact", contact))
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    fields += list(headers)
    return Request(method, uri, Headers(fields), body)
