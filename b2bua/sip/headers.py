"""Header names, parameters, comma lists, and the Via and CSeq headers (RFC 3261 §7.3, §20).

Values stay the text the peer sent; these functions read them on demand. Parameter names are
case-insensitive, so parsed parameter dicts use lower-case keys; a parameter without a value
(``;lr``, ``;rport``) maps to None. Quoted parameter values keep their quotes (use `unquote`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from b2bua.sip.errors import RemoteProtocolError

# RFC 3261 §7.3.3 and the compact forms later RFCs registered with IANA.
COMPACT_FORMS: dict[str, str] = {
    "a": "accept-contact",  # RFC 3841
    "b": "referred-by",  # RFC 3892
    "c": "content-type",
    "d": "request-disposition",  # RFC 3841
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",  # RFC 3841
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",  # RFC 4474
    "o": "event",  # RFC 6665
    "r": "refer-to",  # RFC 3515
    "s": "subject",
    "t": "to",
    "u": "allow-events",  # RFC 6665
    "v": "via",
    "x": "session-expires",  # RFC 4028
    "y": "identity",  # RFC 8224
}

# Spellings that plain capitalisation of each dash-separated word gets wrong.
_SPECIAL_SPELLINGS: dict[str, str] = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
    "p-asserted-identity": "P-Asserted-Identity",
    "session-id": "Session-ID",
}

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1): one line may carry several
# values, and several lines of the same name form one list. Every other header is one value per
# line and is never split: the authentication headers, Date, Retry-After, User-Agent, Server and
# any extension header we do not know.
LIST_HEADERS: frozenset[str] = frozenset(
    {
        "accept", "accept-contact", "accept-encoding", "accept-language", "alert-info",
        "allow", "allow-events", "call-info", "contact", "content-encoding",
        "content-language", "error-info", "history-info", "in-reply-to", "p-asserted-identity",
        "p-associated-uri", "p-preferred-identity", "path", "proxy-require", "reason",
        "record-route", "reject-contact", "require", "route", "security-client",
        "security-server", "security-verify", "service-route", "supported", "unsupported",
        "via", "warning",
    }
)

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_HOST = re.compile(r"[A-Za-z0-9\-._]+|\[[0-9A-Fa-f:.]+\]")
_KEY_CACHE: dict[str, str] = {}
_KEY_CACHE_LIMIT = 4096
# The key of a header name seen before, else None: the parser's fast path before `header_key`.
known_header_key = _KEY_CACHE.get


def is_token(text: str) -> bool:
    """True when `text` is an RFC 3261 token (method names, header names, parameter names)."""
    return _TOKEN.fullmatch(text) is not None


def header_key(name: str) -> str:
    """The case-insensitive key of a header name: lower case, compact forms expanded.

    Raises RemoteProtocolError when `name` (surrounding blanks allowed) is not a token.
    """
    key = _KEY_CACHE.get(name)
    if key is not None:
        return key
    stripped = name.strip(" \t")
    if _TOKEN.fullmatch(stripped) is None:
        raise RemoteProtocolError("Malformed header name")
    key = stripped.lower()
    key = COMPACT_FORMS.get(key, key)
    if len(_KEY_CACHE) < _KEY_CACHE_LIMIT:
        _KEY_CACHE[name] = key
    return key


def canonical_name(name: str) -> str:
    """The usual spelling of a header name: ``call-id`` and ``i`` give ``Call-ID``."""
    key = header_key(name)
    special = _SPECIAL_SPELLINGS.get(key)
    if special is not None:
        return special
    return "-".join(part[:1].upper() + part[1:] for part in key.split("-"))


# -- quoted strings and parameters ---------------------------------------------------------


def quote(text: str) -> str:
    """`text` as a quoted-string, backslash-escaping quotes and backslashes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text: str) -> str:
    """The content of a quoted-string with escapes resolved; other text is returned as is."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    i = 0
    while i < len(inner):
        char = inner[i]
        if char == "\\" and i + 1 < len(inner):
            i += 1
            char = inner[i]
        out.append(char)
        i += 1
    return "".join(out)


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split `text` on `separator`, except inside quoted strings.

    Raises RemoteProtocolError on an unterminated quoted string.
    """
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    start = 0
    i = 0
    end = len(text)
    quoted = False
    while i < end:
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == separator:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise RemoteProtocolError("Unterminated quoted string")
    parts.append(text[start:])
    return parts


def split_values(value: str) -> list[str]:
    """Split a comma-separated header value, not inside quotes or ``<...>``; drop empty items."""
    if '"' not in value and "<" not in value:
        if "," not in value:
            stripped = value.strip(" \t")
            return [stripped] if stripped else []
        return [item for item in (part.strip(" \t") for part in value.split(",")) if item]
    items: list[str] = []
    start = 0
    i = 0
    end = len(value)
    quoted = False
    angle = False
    while i < end:
        char = value[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "<":
            angle = True
        elif char == ">":
            angle = False
        elif char == "," and not angle:
            items.append(value[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise RemoteProtocolError("Unterminated quoted string")
    items.append(value[start:])
    return [item for item in (part.strip(" \t") for part in items) if item]


_KNOWN_PARAMS = frozenset(
    {"branch", "rport", "received", "maddr", "ttl", "alias", "tag", "lr", "transport", "user",
     "method", "expires", "q", "ob", "reg-id", "+sip.instance", "gr", "cause", "text"}
)


def parse_params(text: str) -> dict[str, str | None]:
    """Parameters from the text after the first ``;`` (``a=1;lr;b="x;y"``).

    Keys are lower-cased; a parameter without ``=`` maps to None. Raises RemoteProtocolError on
    an empty or malformed parameter name.
    """
    params: dict[str, str | None] = {}
    if '"' in text or " " in text or "\t" in text:
        parts = split_outside_quotes(text, ";")
        strip = True
    else:
        parts = text.split(";")
        strip = False
    for part in parts:
        name, eq, value = part.partition("=")
        if name not in _KNOWN_PARAMS:
            if strip:
                name = name.strip(" \t")
            if _TOKEN.fullmatch(name) is None:
                raise RemoteProtocolError("Malformed parameter")
            name = name.lower()
        if not eq:
            params[name] = None
        else:
            params[name] = value.strip(" \t") if strip else value
    return params


def format_params(params: dict[str, str | None]) -> str:
    """``;name=value`` for each parameter, ``;name`` for those without a value."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` into (host, port); IPv6 keeps its brackets.

    Raises RemoteProtocolError("Bad host") or ("Bad port").
    """
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise RemoteProtocolError("Bad host")
        host = text[: close + 1]
        rest = text[close + 1 :]
        if rest and rest[0] != ":":
            raise RemoteProtocolError("Bad host")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_or_empty = text.partition(":")
        port_text = port_text_or_empty if colon else None
    if _HOST.fullmatch(host) is None:
        raise RemoteProtocolError("Bad host")
    if port_text is None:
        return host, None
    return host, parse_port(port_text)


def parse_port(text: str) -> int:
    """A port number 1-65535; raises RemoteProtocolError("Bad port")."""
    if not (0 < len(text) <= 5 and text.isascii() and text.isdigit()):
        raise RemoteProtocolError("Bad port")
    port = int(text)
    if not 0 < port <= 65535:
        raise RemoteProtocolError("Bad port")
    return port


def format_host_port(host: str, port: int | None) -> str:
    """Inverse of `split_host_port`; a bare IPv6 address gets its brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def bare_host(host: str) -> str:
    """A host without IPv6 brackets, as sockets name addresses."""
    return host[1:-1] if host.startswith("[") else host


# -- Via ----------------------------------------------------------------------------------

BRANCH_MAGIC_COOKIE = "z9hG4bK"

# The shape nearly every Via has: read by one regular expression; anything else goes the long way.
_SWS_COLON = re.compile(r"[ \t]*:[ \t]*")
_VIA_COMMON = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(;[^ \t\"]*)?"
)


class Via:
    """One Via value (RFC 3261 §20.42, RFC 3581 rport). Treat as a value: change a `copy()`."""

    __slots__ = ("host", "params", "port", "protocol", "transport")

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        transport: str = "UDP",
        protocol: str = "SIP/2.0",
        params: dict[str, str | None] | None = None,
    ) -> None:
        self.protocol = protocol
        self.transport = transport
        self.host = host
        self.port = port
        self.params: dict[str, str | None] = {} if params is None else params

    @classmethod
    def parse(cls, value: str) -> Via:
        """Parse one Via value; raises RemoteProtocolError("Malformed Via")."""
        try:
            match = _VIA_COMMON.fullmatch(value)
            if match is None:
                return cls._parse(value)
            transport, host, port_text, params_text = match.groups()
            via = cls.__new__(cls)
            via.protocol = "SIP/2.0"
            via.transport = transport if transport.isupper() else transport.upper()
            via.host = host
            via.port = None if port_text is None else parse_port(port_text)
            via.params = parse_params(params_text[1:]) if params_text else {}
            return via
        except RemoteProtocolError:
            raise RemoteProtocolError("Malformed Via") from None

    @classmethod
    def _parse(cls, value: str) -> Via:
        semi = value.find(";")
        head = value if semi < 0 else value[:semi]
        slash = head.rfind("/")
        if slash < 0:
            raise RemoteProtocolError("Malformed Via")
        protocol = head[:slash].replace(" ", "").replace("\t", "")
        name, sep, version = protocol.partition("/")
        if not sep or not is_token(name) or not is_token(version):
            raise RemoteProtocolError("Malformed Via")
        parts = head[slash + 1 :].split(None, 1)
        if len(parts) != 2 or not is_token(parts[0]):
            raise RemoteProtocolError("Malformed Via")
        host, port = split_host_port(_SWS_COLON.sub(":", parts[1].strip(" \t")))
        params = parse_params(value[semi + 1 :]) if semi >= 0 else {}
        return cls(host, port, transport=parts[0].upper(), protocol=protocol, params=params)

    def __str__(self) -> str:
        sent_by = self.host if self.port is None else f"{self.host}:{self.port}"
        text = f"{self.protocol}/{self.transport} {sent_by}"
        return text + format_params(self.params) if self.params else text

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Via):
            return NotImplemented
        return str(self) == str(other)

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Via:
        return Via(self.host, self.port, transport=self.transport, protocol=self.protocol,
                   params=dict(self.params))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport_requested(self) -> bool:
        """True when the sender asked for symmetric response routing (``;rport``, RFC 3581)."""
        return "rport" in self.params

    @property
    def rport(self) -> int | None:
        """The rport value stamped by the receiver, None when absent or empty."""
        value = self.params.get("rport")
        if value and value.isascii() and value.isdigit():
            return int(value)
        return None

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    @property
    def reliable(self) -> bool:
        """True for the connection-oriented transports (TCP, TLS, SCTP, WS, WSS)."""
        return self.transport != "UDP"


def parse_via_list(values: list[str]) -> list[Via]:
    """Every Via value of a list of header values, top first."""
    return [Via.parse(item) for value in values for item in split_values(value)]


# -- CSeq ---------------------------------------------------------------------------------

CSEQ_LIMIT = 2**31
_COMMON_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO",
                             "UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE"})


class CSeq(NamedTuple):
    """CSeq (RFC 3261 §20.16): sequence number below 2**31 and method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"

    @classmethod
    def parse(cls, value: str) -> CSeq:
        """Parse a CSeq value; raises RemoteProtocolError("Bad CSeq")."""
        parts = value.split()
        if len(parts) != 2:
            raise RemoteProtocolError("Bad CSeq")
        number, method = parts
        if not (len(number) <= 10 and number.isascii() and number.isdigit()):
            raise RemoteProtocolError("Bad CSeq")
        seq = int(number)
        if seq >= CSEQ_LIMIT or (method not in _COMMON_METHODS and not is_token(method)):
            raise RemoteProtocolError("Bad CSeq")
        return cls(seq, method)
