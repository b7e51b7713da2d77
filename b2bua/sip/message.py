"""SIP requests and responses (RFC 3261 §7) and their header container.

A header is kept as the line it arrived in, so an untouched message serializes back byte for
byte (compact names stay compact). Values are `str`: the head is decoded as UTF-8 with
``surrogateescape``, so any byte survives the round trip; bodies are `bytes`. Parsed views of
the common headers (`via`, `cseq`, `from_`...) are computed on first access and cached until the
header changes. Parsed objects are values: to change a header, set it (`headers.set`,
`replace_top`...) rather than editing the object a getter returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from b2bua.sip.errors import LocalProtocolError, RemoteProtocolError
from b2bua.sip.headers import (
    LIST_HEADERS,
    CSeq,
    Via,
    header_key,
    parse_via_list,
    split_values,
)
from b2bua.sip.uri import URI, NameAddr, parse_uri

SIP_VERSION = "SIP/2.0"

# Entry of the header container: (key, value, line). `key` is the lower-case full name, `value`
# the text after the colon without surrounding blanks, `line` the whole line as it is sent.
Entry = tuple[str, str, str]


def _name_of(line: str) -> str:
    return line[: line.index(":")].rstrip(" \t")


class Headers:
    """Ordered, case-insensitive, multi-valued header fields.

    Names may be given in any case or compact form (``i`` is Call-ID). `get` answers the first
    value as written; `get_all` answers every value, splitting comma lists for the headers whose
    grammar is a list (Via, Contact, Route...; never the authentication headers or Date).
    """

    __slots__ = ("_entries", "_parsed")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._entries: list[Entry] = [
            (header_key(name), value, f"{name}: {value}") for name, value in items
        ]
        self._parsed: dict[str, Any] = {}

    @classmethod
    def _from_entries(cls, entries: list[Entry]) -> Headers:
        headers = cls.__new__(cls)
        headers._entries = entries
        headers._parsed = {}
        return headers

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """(name as written, value) for every header line, in order."""
        for _key, value, line in self._entries:
            yield _name_of(line), value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = header_key(name)
        return any(entry[0] == key for entry in self._entries)

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def copy(self) -> Headers:
        return Headers._from_entries(list(self._entries))

    def lines(self) -> list[str]:
        """Every header line as it will be sent."""
        return [entry[2] for entry in self._entries]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name` as written (unsplit), or `default`."""
        key = header_key(name)
        for entry in self._entries:
            if entry[0] == key:
                return entry[1]
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, comma lists split for list headers."""
        key = header_key(name)
        values = [entry[1] for entry in self._entries if entry[0] == key]
        if key in LIST_HEADERS:
            return [item for value in values for item in split_values(value)]
        return values

    def add(self, name: str, value: str) -> None:
        """Append a header line at the end."""
        key = header_key(name)
        self._entries.append((key, value, f"{name}: {value}"))
        self._parsed.pop(key, None)

    def push_top(self, name: str, value: str) -> None:
        """Insert a line above the first line of the same name (or first of all): a new Via,
        Record-Route or Route on top."""
        key = header_key(name)
        entries = self._entries
        index = next((i for i, entry in enumerate(entries) if entry[0] == key), 0)
        entries.insert(index, (key, value, f"{name}: {value}"))
        self._invalidate(key)

    def set(self, name: str, value: str) -> None:
        """Replace every line of `name` with one line, where the first one was (else at the end)."""
        key = header_key(name)
        line = f"{name}: {value}"
        entries = self._entries
        index = next((i for i, entry in enumerate(entries) if entry[0] == key), None)
        if index is None:
            entries.append((key, value, line))
        else:
            entries[index] = (key, value, line)
            self._entries = entries[: index + 1] + [e for e in entries[index + 1 :] if e[0] != key]
        self._invalidate(key)

    def remove(self, name: str) -> int:
        """Remove every line of `name`; answers how many there were."""
        key = header_key(name)
        before = len(self._entries)
        self._entries = [entry for entry in self._entries if entry[0] != key]
        self._invalidate(key)
        return before - len(self._entries)

    def replace_top(self, name: str, value: str) -> None:
        """Replace the first value of a list header (the first item of a comma list)."""
        key = header_key(name)
        for i, (entry_key, old, line) in enumerate(self._entries):
            if entry_key == key:
                items = split_values(old) if "," in old else [old]
                new_value = ", ".join([value, *items[1:]])
                self._entries[i] = (key, new_value, f"{_name_of(line)}: {new_value}")
                self._invalidate(key)
                return
        raise LocalProtocolError(f"no {name} header to replace")

    def pop_top(self, name: str) -> str | None:
        """Remove and answer the first value of a list header (None when absent)."""
        key = header_key(name)
        for i, (entry_key, old, line) in enumerate(self._entries):
            if entry_key == key:
                items = split_values(old) if "," in old else [old]
                if len(items) > 1:
                    rest = ", ".join(items[1:])
                    self._entries[i] = (key, rest, f"{_name_of(line)}: {rest}")
                else:
                    del self._entries[i]
                self._invalidate(key)
                return items[0] if items else None
        return None

    def _first(self, key: str) -> str | None:
        for entry in self._entries:
            if entry[0] == key:
                return entry[1]
        return None

    def _values(self, key: str) -> list[str]:
        values = [entry[1] for entry in self._entries if entry[0] == key]
        if key in LIST_HEADERS:
            return [item for value in values for item in split_values(value)]
        return values

    def _invalidate(self, key: str) -> None:
        parsed = self._parsed
        if parsed:
            parsed.pop(key, None)
            if key == "via":
                parsed.pop("via-top", None)


class Message:
    """What requests and responses share: headers, body and the common header accessors."""

    __slots__ = ("body", "headers", "version")

    headers: Headers
    body: bytes
    version: str

    def start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        """The wire form; Content-Length is set from the body (added when missing)."""
        body = self.body
        length = str(len(body))
        lines = [self.start_line()]
        seen_length = False
        for key, value, line in self.headers._entries:
            if key == "content-length":
                if seen_length:
                    continue
                seen_length = True
                if value != length:
                    line = f"{_name_of(line)}: {length}"
            lines.append(line)
        if not seen_length:
            lines.append(f"Content-Length: {length}")
        lines.append("")
        lines.append("")
        head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
        return head + body if body else head

    __bytes__ = serialize

    def __str__(self) -> str:
        return self.serialize().decode("utf-8", "replace")

    # -- parsed views ------------------------------------------------------------------

    def _required(self, key: str, label: str) -> str:
        value = self.headers._first(key)
        if value is None:
            raise LocalProtocolError(f"message has no {label} header")
        return value

    @property
    def top_via(self) -> Via:
        """The top Via (raises LocalProtocolError when there is none)."""
        parsed = self.headers._parsed
        via = parsed.get("via-top")
        if via is None:
            value = self._required("via", "Via")
            via = Via.parse(split_values(value)[0] if "," in value else value)
            parsed["via-top"] = via
        return via

    @property
    def via(self) -> list[Via]:
        """Every Via, top first."""
        parsed = self.headers._parsed
        vias = parsed.get("via")
        if vias is None:
            vias = parsed["via"] = parse_via_list(
                [e[1] for e in self.headers._entries if e[0] == "via"])
        return vias

    @property
    def call_id(self) -> str:
        return self._required("call-id", "Call-ID")

    @property
    def cseq(self) -> CSeq:
        parsed = self.headers._parsed
        cseq = parsed.get("cseq")
        if cseq is None:
            cseq = parsed["cseq"] = CSeq.parse(self._required("cseq", "CSeq"))
        return cseq

    def _name_addr(self, key: str, label: str) -> NameAddr:
        parsed = self.headers._parsed
        value = parsed.get(key)
        if value is None:
            value = parsed[key] = NameAddr.parse(self._required(key, label))
        return value

    @property
    def from_(self) -> NameAddr:
        return self._name_addr("from", "From")

    @property
    def to(self) -> NameAddr:
        return self._name_addr("to", "To")

    def _name_addr_list(self, key: str) -> list[NameAddr]:
        parsed = self.headers._parsed
        value = parsed.get(key)
        if value is None:
            value = parsed[key] = [NameAddr.parse(v) for v in self.headers._values(key)]
        return value

    @property
    def contact(self) -> list[NameAddr]:
        """Every Contact (``*`` gives one NameAddr with `is_wildcard`)."""
        return self._name_addr_list("contact")

    @property
    def route(self) -> list[NameAddr]:
        return self._name_addr_list("route")

    @property
    def record_route(self) -> list[NameAddr]:
        return self._name_addr_list("record-route")

    @property
    def content_type(self) -> str | None:
        """The media type in lower case without parameters (``application/sdp``)."""
        value = self.headers._first("content-type")
        if value is None:
            return None
        return value.partition(";")[0].strip(" \t").lower()

    def _integer(self, key: str) -> int | None:
        value = self.headers._first(key)
        if value is None:
            return None
        value = value.strip(" \t")
        if not (value.isascii() and value.isdigit()):
            raise RemoteProtocolError(f"Bad {key.title()}")
        return int(value)

    @property
    def max_forwards(self) -> int | None:
        return self._integer("max-forwards")

    @property
    def expires(self) -> int | None:
        return self._integer("expires")

    def get(self, name: str, default: str | None = None) -> str | None:
        """Shortcut for ``headers.get``."""
        return self.headers.get(name, default)


class Request(Message):
    """A SIP request. `uri` is the Request-URI (a str is parsed on first access)."""

    __slots__ = ("_uri", "_uri_text", "method")

    _uri: URI | None
    _uri_text: str

    def __init__(
        self,
        method: str,
        uri: URI | str,
        headers: Headers | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        version: str = SIP_VERSION,
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self.version = version

    @classmethod
    def _from_wire(cls, method: str, uri_text: str, headers: Headers, version: str) -> Request:
        request = cls.__new__(cls)
        request.method = method
        request._uri = None
        request._uri_text = uri_text
        request.headers = headers
        request.body = b""
        request.version = version
        return request

    @property
    def uri(self) -> URI:
        uri = self._uri
        if uri is None:
            uri = self._uri = parse_uri(self._uri_text)
        return uri

    @uri.setter
    def uri(self, value: URI | str) -> None:
        if isinstance(value, str):
            self._uri = None
            self._uri_text = value
        else:
            self._uri = value
            self._uri_text = str(value)

    @property
    def uri_text(self) -> str:
        """The Request-URI as written."""
        return self._uri_text

    def start_line(self) -> str:
        return f"{self.method} {self._uri_text} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self._uri_text}>"


class Response(Message):
    """A SIP response."""

    __slots__ = ("reason", "status")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        version: str = SIP_VERSION,
    ) -> None:
        self.status = status
        self.reason = reason_phrase(status) if reason is None else reason
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self.version = version

    @classmethod
    def _from_wire(cls, status: int, reason: str, headers: Headers, version: str) -> Response:
        response = cls.__new__(cls)
        response.status = status
        response.reason = reason
        response.headers = headers
        response.body = b""
        response.version = version
        return response

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


_IDENTIFYING = frozenset({"via", "from", "to", "call-id", "cseq", "route"})


def lean_copy(request: Request) -> Request:
    """`request` with only Via, From, To, Call-ID, CSeq and Route, and no body."""
    entries = [entry for entry in request.headers._entries if entry[0] in _IDENTIFYING]
    return Request._from_wire(request.method, request.uri_text, Headers._from_entries(entries),
                              request.version)


# Headers a response copies from its request (RFC 3261 §8.2.6.2), and Record-Route for the
# responses that can create a dialog (§12.1.1).
_COPIED = frozenset({"via", "from", "to", "call-id", "cseq"})
_COPIED_IN_DIALOG = frozenset({"via", "from", "to", "call-id", "cseq", "record-route"})


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to `request` per RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied
    (and Record-Route for 101-299), `to_tag` added to To when To has no tag yet, then `headers`.
    """
    copied = _COPIED_IN_DIALOG if 100 < status < 300 else _COPIED
    entries = [entry for entry in request.headers._entries if entry[0] in copied]
    if to_tag is not None and status != 100:
        for i, (key, value, line) in enumerate(entries):
            if key == "to":
                if "tag=" not in value or request.to.tag is None:
                    new_value = f"{value};tag={to_tag}"
                    entries[i] = ("to", new_value, f"{_name_of(line)}: {new_value}")
                break
    for name, value in headers:
        entries.append((header_key(name), value, f"{name}: {value}"))
    response = Response(status, reason, Headers._from_entries(entries), body)
    parsed = request.headers._parsed
    for key in ("via-top", "cseq", "from"):
        if key in parsed:
            response.headers._parsed[key] = parsed[key]
    return response


REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated",
    200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 417: "Unknown Resource-Priority", 420: "Bad Extension",
    421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
    428: "Use Identity Header", 429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
    436: "Bad Identity-Info", 437: "Unsupported Certificate", 438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support", 470: "Consent Needed",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable", 607: "Unwanted", 608: "Rejected",
}


def reason_phrase(status: int) -> str:
    """The usual reason phrase of `status` (the class's generic one when unknown)."""
    phrase = REASON_PHRASES.get(status)
    if phrase is not None:
        return phrase
    return REASON_PHRASES.get(status // 100 * 100, "Unknown")
