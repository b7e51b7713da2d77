"""The registrar (RFC 3261 §10.3, RFC 5626 flows): REGISTER in, a response out, bindings stored.

Every REGISTER must carry digest credentials for the extension it registers. A wrong password
and an unknown extension get the same 403, so the answers never tell which extensions exist.
Times are wall-clock seconds (bindings and nonces outlive a restart of the service).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from b2bua.sip.auth import DigestServer
from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.peer import Peer
from b2bua.sip.uri import NameAddr, SipURI
from b2bua.store import Binding, Store

log = logging.getLogger(__name__)

MAX_BINDINGS_PER_EXTENSION = 10
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER, MESSAGE"


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """Binding lifetimes in seconds: a REGISTER asking less than `minimum` (but not 0) gets
    423, more than `maximum` is shortened, none at all gets `default`."""

    minimum: int = 60
    maximum: int = 3600
    default: int = 3600


class Registrar:
    """Answers REGISTER requests and keeps the bindings of every extension in the store."""

    def __init__(
        self,
        store: Store,
        digest: DigestServer,
        extensions: Callable[[], frozenset[str]],
        new_tag: Callable[[], str],
        *,
        policy: ExpiryPolicy = ExpiryPolicy(),
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.digest = digest
        self.extensions = extensions
        self.new_tag = new_tag
        self.policy = policy
        self.on_change = on_change

    def handle(self, request: Request, source: Peer, now: float) -> Response:
        """The response to one REGISTER received from `source` at wall-clock time `now`."""
        try:
            return self._handle(request, source, now)
        except RemoteProtocolError as error:
            return self._reply(request, error.status_hint, error.reason)

    def _reply(
        self, request: Request, status: int, reason: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        return make_response(request, status, reason, to_tag=self.new_tag(), headers=headers)

    def _handle(self, request: Request, source: Peer, now: float) -> Response:
        aor = request.to.uri
        if not isinstance(aor, SipURI) or not aor.user:
            return self._reply(request, 404, "Not Found")
        extension = aor.decoded_user or aor.user
        credentials = request.get("Authorization")
        if credentials is None:
            return self._challenge(request, now, stale=False)
        verdict = self.digest.verify(credentials, "REGISTER", request.uri_text, now)
        if verdict.stale:
            return self._challenge(request, now, stale=True)
        if (
            not verdict.ok
            or verdict.username != extension
            or extension not in self.extensions()
        ):
            log.info("REGISTER for %s from %s:%d refused: %s", extension, source.host,
                     source.port, verdict.reason)
            return self._reply(request, 403, "Forbidden")
        return self._update(request, extension, source, now)

    def _challenge(self, request: Request, now: float, *, stale: bool) -> Response:
        challenges = self.digest.challenges(now, stale=stale)
        headers = [("WWW-Authenticate", value) for value in challenges]
        return self._reply(request, 401, "Unauthorized", headers)

    def _update(self, request: Request, extension: str, source: Peer, now: float) -> Response:
        contacts = request.contact
        header_expires = request.expires
        if any(c.is_wildcard for c in contacts):
            if len(contacts) != 1 or header_expires != 0:
                raise RemoteProtocolError("Wildcard Contact needs Expires: 0 and no other Contact")
            removed = self.store.remove_bindings(extension)
            log.info("%s unregistered all %d device(s)", extension, removed)
            self._changed(extension)
            return self._ok(request, extension, now)
        current = {b.contact_uri: b for b in self.store.list_bindings(extension, now)}
        call_id = request.call_id
        cseq = request.cseq.seq
        for contact in contacts:
            asked = contact.expires if contact.expires is not None else header_expires
            expires = self.policy.default if asked is None else asked
            if 0 < expires < self.policy.minimum:
                return self._reply(
                    request, 423, "Interval Too Brief", [("Min-Expires", str(self.policy.minimum))]
                )
            uri = contact.uri_text
            known = current.get(uri)
            if known is not None and known.call_id == call_id and known.cseq >= cseq:
                raise RemoteProtocolError("Out of order REGISTER", 500)
            if expires == 0:
                self.store.remove_binding(extension, uri)
                current.pop(uri, None)
                continue
            if known is None and len(current) >= MAX_BINDINGS_PER_EXTENSION:
                return self._reply(request, 403, "Too Many Registered Devices")
            binding = self._binding(request, contact, extension, source, now, expires)
            self.store.save_binding(binding)
            current[uri] = binding
        if contacts:
            self._changed(extension)
        return self._ok(request, extension, now)

    def _binding(
        self, request: Request, contact: NameAddr, extension: str, source: Peer, now: float,
        expires: int,
    ) -> Binding:
        params = contact.params
        instance = params.get("+sip.instance")
        reg_id = params.get("reg-id")
        return Binding(
            aor=extension,
            contact_uri=contact.uri_text,
            transport=source.transport,
            source_host=source.host,
            source_port=source.port,
            expires_at=now + min(expires, self.policy.maximum),
            call_id=request.call_id,
            cseq=request.cseq.seq,
            user_agent=request.get("User-Agent") or "",
            path=tuple(request.headers.get_all("Path")),
            instance_id=instance.strip('"') if instance else None,
            reg_id=int(reg_id) if reg_id and reg_id.isdigit() else None,
            q=contact.q,
        )

    def _ok(self, request: Request, extension: str, now: float) -> Response:
        headers = [
            ("Contact", f"<{b.contact_uri}>;expires={max(0, int(b.expires_at - now))}")
            for b in self.store.list_bindings(extension, now)
        ]
        return self._reply(request, 200, "OK", headers)

    def _changed(self, extension: str) -> None:
        if self.on_change is not None:
            self.on_change(extension)


def binding_target(binding: Binding) -> tuple[SipURI, Peer]:
    """Where a request for a registered device goes: its contact as Request-URI, sent to the
    flow the REGISTER came from when the device is behind NAT or uses outbound (RFC 5626),
    else to the contact's own address."""
    uri = SipURI.parse(binding.contact_uri)
    flow = Peer(binding.transport, binding.source_host, binding.source_port)
    if binding.reg_id is not None or binding.transport == "tcp":
        return uri, flow
    contact_host = uri.maddr or uri.host
    if contact_host.strip("[]") != binding.source_host:
        return uri, flow
    transport = uri.transport or binding.transport
    port = uri.port if uri.port is not None else 5060
    return uri, Peer(transport, binding.source_host, port)
