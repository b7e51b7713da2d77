"""Where a message comes from or goes to: transport, host address and port."""

from __future__ import annotations

from typing import NamedTuple

from b2bua.sip.headers import bare_host
from b2bua.sip.uri import SipURI

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


class Peer(NamedTuple):
    """A transport address. `transport` is ``udp`` or ``tcp``; `host` is a bare address (IPv6
    without brackets), as sockets report it."""

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


def peer_for_uri(uri: SipURI, default_transport: str = "udp") -> Peer:
    """The transport address a SIP URI names (maddr, then host; ``transport`` parameter, else
    `default_transport`; the port, else 5060). A host name is left for the caller to resolve."""
    transport = uri.transport or default_transport
    host = bare_host(uri.maddr or uri.host)
    port = uri.port if uri.port is not None else DEFAULT_PORTS.get(transport, 5060)
    return Peer(transport, host, port)
