"""SIP and SIPS URIs (RFC 3261 §19.1), tel URIs (RFC 3966) and name-addr (§20.10, §25.1).

Parsed URIs and name-addrs are values: read their fields, and build a changed one with
`replace()` or `with_tag()`. Escaped characters (``%40``) are kept as received in every field, so
``str(SipURI.parse(text)) == text`` for a well-formed URI; `decoded_user` resolves them.
Parameter keys are lower-cased (names are case-insensitive).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote as percent_decode

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import (
    format_host_port,
    format_params,
    parse_params,
    parse_port,
    quote,
    split_host_port,
    unquote,
)

_USER_FORBIDDEN = frozenset(' \t<>"@')
# The shape of nearly every SIP URI (no ';' or '?' in the user part): one regular expression.
_SIP_URI_COMMON = re.compile(
    r"(sips?):(?:([^:@;?<>\"\s]+)(?::([^@;?<>\"\s]*))?@)?"
    r"([A-Za-z0-9\-._]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(?:;([^?<>\"\s@]*))?(?:\?(\S*))?",
    re.IGNORECASE,
)
# name-addr with a quoted or token display name, or none; and a bare addr-spec.
_NAME_ADDR = re.compile(
    r'(?:"((?:[^"\\]|\\.)*)"[ \t]*|([^"<]*?)[ \t]*)<([^<>\s":]+:[^<>\s"]*)>[ \t]*(?:;(.*))?',
    re.DOTALL)
_ADDR_SPEC = re.compile(r'([^\s<>";]+:[^\s<>";]*)[ \t]*(?:;(.*))?', re.DOTALL)
_NOT_PLAIN_TAG = frozenset(';" \t')
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _parse_uri_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in text.split("&"):
        name, _, value = pair.partition("=")
        if not name:
            raise RemoteProtocolError("Bad URI")
        headers[name] = value
    return headers


class SipURI:
    """``sip:user:password@host:port;params?headers`` (scheme ``sip`` or ``sips``)."""

    __slots__ = ("headers", "host", "params", "password", "port", "scheme", "user")

    def __init__(
        self,
        host: str,
        user: str | None = None,
        *,
        scheme: str = "sip",
        password: str | None = None,
        port: int | None = None,
        params: dict[str, str | None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params: dict[str, str | None] = {} if params is None else params
        self.headers: dict[str, str] = {} if headers is None else headers

    @classmethod
    def parse(cls, text: str) -> SipURI:
        """Parse a sip: or sips: URI; raises RemoteProtocolError("Bad URI")."""
        try:
            match = _SIP_URI_COMMON.fullmatch(text)
            if match is None:
                return cls._parse(text)
            scheme, user, password, host, port, params, headers = match.groups()
            uri = cls.__new__(cls)
            uri.scheme = scheme.lower()
            uri.user = user
            uri.password = password
            uri.host = host
            uri.port = None if port is None else parse_port(port)
            uri.params = parse_params(params) if params else {}
            uri.headers = _parse_uri_headers(headers) if headers else {}
            return uri
        except RemoteProtocolError:
            raise RemoteProtocolError("Bad URI") from None

    @classmethod
    def _parse(cls, text: str) -> SipURI:
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips") or not rest:
            raise RemoteProtocolError("Bad URI")
        user = password = None
        at = rest.find("@")
        if at >= 0:
            userinfo = rest[:at]
            rest = rest[at + 1 :]
            user, sep, password_text = userinfo.partition(":")
            password = password_text if sep else None
            if not user or not _USER_FORBIDDEN.isdisjoint(userinfo):
                raise RemoteProtocolError("Bad URI")
        headers: dict[str, str] = {}
        question = rest.find("?")
        if question >= 0:
            headers = _parse_uri_headers(rest[question + 1 :])
            rest = rest[:question]
        semi = rest.find(";")
        params = parse_params(rest[semi + 1 :]) if semi >= 0 else {}
        hostport = rest if semi < 0 else rest[:semi]
        host, port = split_host_port(hostport)
        return cls(host, user, scheme=scheme, password=password, port=port, params=params,
                   headers=headers)

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts.append(":" + self.password)
            parts.append("@")
        parts.append(format_host_port(self.host, self.port))
        if self.params:
            parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    def __repr__(self) -> str:
        return f"SipURI({str(self)!r})"

    def _key(self) -> tuple[object, ...]:
        return (self.scheme, self.user, self.password, self.host.lower(), self.port,
                tuple(self.params.items()), tuple(self.headers.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SipURI):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def replace(self, **changes: Any) -> SipURI:
        """A copy with the named fields changed (``uri.replace(port=5070, params={})``)."""
        fields: dict[str, Any] = {
            "host": self.host, "user": self.user, "scheme": self.scheme,
            "password": self.password, "port": self.port, "params": dict(self.params),
            "headers": dict(self.headers),
        }
        fields.update(changes)
        return SipURI(**fields)

    @property
    def decoded_user(self) -> str | None:
        """The user part with %-escapes resolved."""
        if self.user is None:
            return None
        return percent_decode(self.user, errors="surrogateescape")

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter in lower case, None when absent."""
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def lr(self) -> bool:
        """True for a loose router (``;lr``)."""
        return "lr" in self.params

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def secure(self) -> bool:
        return self.scheme == "sips"

    @property
    def aor(self) -> str:
        """The address of record: ``scheme:user@host``, user unescaped, host in lower case."""
        user = self.decoded_user
        host = self.host.lower()
        return f"{self.scheme}:{user}@{host}" if user is not None else f"{self.scheme}:{host}"


class TelURI:
    """``tel:+1-201-555-0123;phone-context=example.com`` (RFC 3966), passed through."""

    __slots__ = ("number", "params")

    def __init__(self, number: str, params: dict[str, str | None] | None = None) -> None:
        self.number = number
        self.params: dict[str, str | None] = {} if params is None else params

    scheme = "tel"

    @classmethod
    def parse(cls, text: str) -> TelURI:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "tel" or not rest:
            raise RemoteProtocolError("Bad URI")
        number, semi, params = rest.partition(";")
        if not number or " " in number:
            raise RemoteProtocolError("Bad URI")
        return cls(number, parse_params(params) if semi else {})

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    def __repr__(self) -> str:
        return f"TelURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelURI):
            return NotImplemented
        return (self.number, self.params) == (other.number, other.params)

    def __hash__(self) -> int:
        return hash((self.number, tuple(self.params.items())))


class AbsoluteURI:
    """Any other ``scheme:...`` URI, kept verbatim."""

    __slots__ = ("scheme", "text")

    def __init__(self, text: str) -> None:
        scheme, colon, rest = text.partition(":")
        if not colon or not scheme or not rest or not scheme[0].isalpha():
            raise RemoteProtocolError("Bad URI")
        self.scheme = scheme.lower()
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"AbsoluteURI({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbsoluteURI):
            return NotImplemented
        return self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


URI = SipURI | TelURI | AbsoluteURI


def parse_uri(text: str) -> URI:
    """A SipURI for sip:/sips:, a TelURI for tel:, an AbsoluteURI otherwise.

    Raises RemoteProtocolError("Bad URI") on text that is no URI.
    """
    if any(c in text for c in " \t\r\n<>"):
        raise RemoteProtocolError("Bad URI")
    head = text[:5].lower()
    if head.startswith(("sip:", "sips:")):
        return SipURI.parse(text)
    if head.startswith("tel:"):
        return TelURI.parse(text)
    return AbsoluteURI(text)


class NameAddr:
    """``"Display Name" <uri>;tag=x;expires=60`` or a bare addr-spec (From, To, Contact...).

    `display_name` holds the unquoted, unescaped name (None when absent). The URI is parsed on
    first access of `uri`; `params` are the header parameters (``tag``, ``expires``, ``q``...).
    The special Contact value ``*`` parses to a NameAddr whose `is_wildcard` is True.
    """

    __slots__ = ("_uri", "_uri_text", "display_name", "params")

    def __init__(
        self,
        uri: URI | str,
        display_name: str | None = None,
        params: dict[str, str | None] | None = None,
    ) -> None:
        if isinstance(uri, str):
            self._uri: URI | None = None
            self._uri_text = uri
        else:
            self._uri = uri
            self._uri_text = str(uri)
        self.display_name = display_name
        self.params: dict[str, str | None] = {} if params is None else params

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse one name-addr or addr-spec with its parameters.

        Raises RemoteProtocolError("Bad name-addr").
        """
        try:
            match = _NAME_ADDR.fullmatch(text) or _ADDR_SPEC.fullmatch(text)
            if match is None:
                return cls._parse(text.strip(" \t"))
            if match.re is _NAME_ADDR:
                quoted, token, uri_text, params = match.groups()
                if quoted is None:
                    display = token or None
                elif "\\" in quoted:
                    display = _ESCAPED.sub(r"\1", quoted)
                else:
                    display = quoted
            else:
                display = None
                uri_text, params = match.groups()
            addr = cls.__new__(cls)
            addr._uri = None
            addr._uri_text = uri_text
            addr.display_name = display
            if params is None:
                addr.params = {}
            elif params[:4] == "tag=" and _NOT_PLAIN_TAG.isdisjoint(params):
                addr.params = {"tag": params[4:]}
            else:
                addr.params = parse_params(params)
            return addr
        except RemoteProtocolError:
            raise RemoteProtocolError("Bad name-addr") from None

    @classmethod
    def _parse(cls, text: str) -> NameAddr:
        display: str | None = None
        if text.startswith('"'):
            end = _closing_quote(text)
            display = unquote(text[: end + 1])
            text = text[end + 1 :].lstrip(" \t")
            if not text.startswith("<"):
                raise RemoteProtocolError("Bad name-addr")
        less = text.find("<")
        if less >= 0:
            if display is None:
                name = text[:less].strip(" \t")
                display = name or None
                if name and '"' in name:
                    raise RemoteProtocolError("Bad name-addr")
            greater = text.find(">", less)
            if greater < 0:
                raise RemoteProtocolError("Bad name-addr")
            uri_text = text[less + 1 : greater].strip(" \t")
            rest = text[greater + 1 :].strip(" \t")
        else:
            semi = text.find(";")
            uri_text = text if semi < 0 else text[:semi]
            uri_text = uri_text.strip(" \t")
            rest = "" if semi < 0 else text[semi:]
        if " " in uri_text or (":" not in uri_text and uri_text != "*"):
            raise RemoteProtocolError("Bad name-addr")
        if rest:
            if rest[0] != ";":
                raise RemoteProtocolError("Bad name-addr")
            params = parse_params(rest[1:])
        else:
            params = {}
        return cls(uri_text, display, params)

    @property
    def uri(self) -> URI:
        """The URI, parsed on first use (raises RemoteProtocolError("Bad URI"))."""
        uri = self._uri
        if uri is None:
            uri = self._uri = parse_uri(self._uri_text)
        return uri

    @property
    def uri_text(self) -> str:
        return self._uri_text

    @property
    def is_wildcard(self) -> bool:
        return self._uri_text == "*"

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter as an int, None when absent or not a number."""
        value = self.params.get("expires")
        if value and value.isascii() and value.isdigit():
            return int(value)
        return None

    @property
    def q(self) -> float | None:
        """The ``q`` parameter (0 to 1), None when absent or malformed."""
        value = self.params.get("q")
        try:
            q = float(value) if value else None
        except ValueError:
            return None
        return q if q is not None and 0.0 <= q <= 1.0 else None

    def with_tag(self, tag: str) -> NameAddr:
        """A copy with the ``tag`` parameter set."""
        return NameAddr(self._uri if self._uri is not None else self._uri_text,
                        self.display_name, {**self.params, "tag": tag})

    def replace(self, **changes: Any) -> NameAddr:
        """A copy with `uri`, `display_name` or `params` changed."""
        uri: URI | str = self._uri if self._uri is not None else self._uri_text
        fields: dict[str, Any] = {"uri": uri, "display_name": self.display_name,
                                  "params": dict(self.params)}
        fields.update(changes)
        return NameAddr(**fields)

    def __str__(self) -> str:
        if self._uri_text == "*":
            return "*"
        text = f"<{self._uri_text}>"
        if self.display_name is not None:
            text = f"{quote(self.display_name)} {text}"
        return text + format_params(self.params) if self.params else text

    def __repr__(self) -> str:
        return f"NameAddr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameAddr):
            return NotImplemented
        return (self._uri_text, self.display_name, self.params) == (
            other._uri_text, other.display_name, other.params)

    __hash__ = None  # type: ignore[assignment]


def _closing_quote(text: str) -> int:
    """Index of the quote closing the quoted string that starts `text`."""
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i
        i += 1
    raise RemoteProtocolError("Bad name-addr")
