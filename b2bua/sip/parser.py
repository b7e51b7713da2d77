"""Parsing SIP messages from bytes (RFC 3261 §7, §18.3) and framing them on streams.

`parse_message` reads the start line and the headers the transaction layer needs (Via, From,
To, Call-ID, CSeq, Content-Length) at once and checks them; every other header is only split
into name and value, and is read when asked for. A fault raises `RemoteProtocolError` whose
reason names it (``Missing Call-ID``, ``Bad CSeq``...) and whose status is the reply's: 400,
505 for another SIP version, 513 for a message over the size limit. When the head could be read,
the error carries the partial message so that a reply can still be addressed.
"""

from __future__ import annotations

import re

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import (
    CSeq,
    Via,
    header_key,
    is_token,
    known_header_key,
    split_values,
)
from b2bua.sip.message import SIP_VERSION, Entry, Headers, Request, Response
from b2bua.sip.uri import NameAddr, SipURI

MAX_MESSAGE_SIZE = 65535  # bytes; larger messages get 513 (RFC 3261 §18.1.1, §21.5.14)
MAX_HEADER_COUNT = 256  # header lines
MAX_LINE_LENGTH = 8192  # characters of one (unfolded) header line

_FOLD = re.compile(r"[ \t]*\r?\n[ \t]+")
_KNOWN_METHODS = frozenset(
    {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE", "PRACK",
     "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"}
)
_SINGLE = {"from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq",
           "content-length": "Content-Length"}


def parse_message(data: bytes, *, max_size: int = MAX_MESSAGE_SIZE) -> Request | Response:
    """Parse one whole message (a datagram or a framed stream message).

    CRLFs before the start line are ignored. On datagrams a missing Content-Length means the
    body runs to the end, and bytes beyond Content-Length are dropped (RFC 3261 §18.3).
    Raises RemoteProtocolError (see the module doc).
    """
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")
    if len(data) > max_size:
        _raise_too_large(data, max_size)
    head_end = data.find(b"\r\n\r\n")
    if head_end >= 0:
        head = data[:head_end].decode("utf-8", "surrogateescape")
        body = data[head_end + 4 :]
    else:
        head_end = data.find(b"\n\n")
        if head_end < 0:
            raise RemoteProtocolError("Missing empty line after headers")
        head = data[:head_end].decode("utf-8", "surrogateescape").replace("\r\n", "\n")
        head = head.replace("\n", "\r\n")
        body = data[head_end + 2 :]
    message, eager = _parse_head(head)
    _check(message, eager, body)
    return message


def _raise_too_large(data: bytes, max_size: int) -> None:
    message: Request | Response | None = None
    head_end = data.find(b"\r\n\r\n")
    if head_end >= 0:
        try:
            message, _ = _parse_head(data[:head_end].decode("utf-8", "surrogateescape"))
        except RemoteProtocolError:
            message = None
    raise RemoteProtocolError("Message Too Large", 513, message=message)


def _parse_head(head: str) -> tuple[Request | Response, dict[str, str]]:
    """The message without its body, and the first value of each header by key."""
    if "\n " in head or "\n\t" in head:
        head = _FOLD.sub(" ", head)
    lines = head.split("\r\n")
    if len(lines) > MAX_HEADER_COUNT + 1:
        raise RemoteProtocolError("Too many headers")
    if len(head) > MAX_LINE_LENGTH and max(map(len, lines)) > MAX_LINE_LENGTH:
        raise RemoteProtocolError("Header line too long")
    entries: list[Entry] = []
    append = entries.append
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise RemoteProtocolError("Malformed header line")
        append((known_header_key(name) or header_key(name), value.strip(" \t"), line))
    first = {key: value for key, value, _line in reversed(entries)}
    headers = Headers._from_entries(entries)
    start = lines[0]
    if start.startswith("SIP/"):
        return _response(start, headers), first
    return _request(start, headers), first


def _duplicate(entries: list[Entry]) -> str | None:
    """The name of a header that must appear once but appears more often."""
    seen: set[str] = set()
    for key, _value, _line in entries:
        if key in _SINGLE:
            if key in seen:
                return _SINGLE[key]
            seen.add(key)
    return None


def _request(start: str, headers: Headers) -> Request:
    parts = start.split(" ")
    if len(parts) != 3:
        partial = Request(parts[0], " ".join(parts[1:-1]), headers) if len(parts) > 3 else None
        raise RemoteProtocolError("Bad request line", message=partial)
    method, uri, version = parts
    if method not in _KNOWN_METHODS and not is_token(method):
        raise RemoteProtocolError("Bad request line")
    if version != SIP_VERSION and version.upper() != SIP_VERSION:
        if version[:4].upper() == "SIP/":
            request = Request(method, uri, headers, version=version)
            raise RemoteProtocolError("Version Not Supported", 505, message=request)
        raise RemoteProtocolError("Bad request line")
    request = Request._from_wire(method, uri, headers, version)
    if uri[:4].lower() in ("sip:", "sips"):
        try:
            request._uri = SipURI.parse(uri)
        except RemoteProtocolError:
            raise RemoteProtocolError("Bad Request-URI", message=request) from None
    elif ":" not in uri:
        raise RemoteProtocolError("Bad Request-URI", message=request)
    return request


def _response(start: str, headers: Headers) -> Response:
    parts = start.split(" ", 2)
    if len(parts) < 2:
        raise RemoteProtocolError("Bad status line")
    version, code = parts[0], parts[1]
    if version.upper() != SIP_VERSION:
        raise RemoteProtocolError("Version Not Supported", 505)
    if not (len(code) == 3 and code.isascii() and code.isdigit()) or not "100" <= code <= "699":
        raise RemoteProtocolError("Bad status line")
    return Response._from_wire(int(code), parts[2] if len(parts) == 3 else "", headers, version)


def _check(message: Request | Response, eager: dict[str, str], body: bytes) -> None:
    """Read and check the headers the transaction layer needs; set the body."""
    headers = message.headers
    parsed = headers._parsed
    if len(eager) < len(headers._entries):
        duplicate = _duplicate(headers._entries)
        if duplicate is not None:
            raise RemoteProtocolError(f"Duplicate {duplicate}", message=message)
    via = eager.get("via")
    if via is None:
        raise RemoteProtocolError("Missing Via", message=message)
    try:
        parsed["via-top"] = Via.parse(split_values(via)[0] if "," in via else via)
    except (RemoteProtocolError, IndexError):
        raise RemoteProtocolError("Malformed Via", message=message) from None
    for key, label in (("from", "From"), ("to", "To")):
        value = eager.get(key)
        if value is None:
            raise RemoteProtocolError(f"Missing {label}", message=message)
        try:
            parsed[key] = NameAddr.parse(value)
        except RemoteProtocolError:
            raise RemoteProtocolError(f"Malformed {label}", message=message) from None
    if not eager.get("call-id"):
        raise RemoteProtocolError("Missing Call-ID", message=message)
    cseq_text = eager.get("cseq")
    if cseq_text is None:
        raise RemoteProtocolError("Missing CSeq", message=message)
    try:
        cseq = parsed["cseq"] = CSeq.parse(cseq_text)
    except RemoteProtocolError:
        raise RemoteProtocolError("Bad CSeq", message=message) from None
    if isinstance(message, Request) and cseq.method != message.method:
        raise RemoteProtocolError("CSeq method mismatch", message=message)
    message.body = _body(eager.get("content-length"), body, message)


def _body(length_text: str | None, body: bytes, message: Request | Response) -> bytes:
    if length_text is None:
        return body
    if not (length_text.isascii() and length_text.isdigit() and len(length_text) < 10):
        raise RemoteProtocolError("Bad Content-Length", message=message)
    length = int(length_text)
    if length > len(body):
        raise RemoteProtocolError("Content-Length mismatch", message=message)
    return body if length == len(body) else body[:length]


class StreamFramer:
    """Cuts a TCP byte stream into whole messages by Content-Length (RFC 3261 §18.3).

    CRLFs between messages are skipped. A double CRLF is an RFC 5626 keep-alive ping, to be
    answered with a single CRLF: `pong_due()` says when. A message over the size limit or
    without Content-Length raises RemoteProtocolError; the connection cannot be resynchronised
    after that and should be closed.
    """

    __slots__ = ("_buffer", "_pongs", "max_message_size")

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._pongs = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; answers the messages now complete, in order."""
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        while buffer:
            if buffer[:2] == b"\r\n" or buffer[:1] == b"\r":
                if not self._skip_keepalives():
                    break
                continue
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buffer) > self.max_message_size:
                    raise RemoteProtocolError("Message Too Large", 513)
                break
            total = head_end + 4 + self._content_length(bytes(buffer[:head_end]))
            if total > self.max_message_size:
                raise RemoteProtocolError("Message Too Large", 513)
            if len(buffer) < total:
                break
            messages.append(bytes(buffer[:total]))
            del buffer[:total]
        return messages

    def _skip_keepalives(self) -> bool:
        """Drop leading CRLFs; False when what is left may still become a ping."""
        buffer = self._buffer
        if buffer[:4] == b"\r\n\r\n":
            del buffer[:4]
            self._pongs += 1
            return True
        if len(buffer) < 4 and b"\r\n\r\n".startswith(bytes(buffer)):
            return False
        if buffer[:2] == b"\r\n":
            del buffer[:2]
            return True
        raise RemoteProtocolError("Bad request line")

    @staticmethod
    def _content_length(head: bytes) -> int:
        for line in head.split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                continue
            try:
                key = header_key(name.decode("ascii"))
            except (UnicodeDecodeError, RemoteProtocolError):
                continue
            if key == "content-length":
                text = value.strip(b" \t")
                if not (text.isdigit() and len(text) < 10):
                    raise RemoteProtocolError("Bad Content-Length")
                return int(text)
        raise RemoteProtocolError("Missing Content-Length")

    def pong_due(self) -> bool:
        """True once after each batch of keep-alive pings: send a single CRLF back."""
        due = self._pongs > 0
        self._pongs = 0
        return due

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)
