"""SDP session descriptions (RFC 8866, formerly RFC 4566): parse, model, serialize.

The model keeps every line it does not interpret (``i=``, ``u=``, ``e=``, ``p=``, ``z=``, ``k=``,
``r=`` and unknown types) so that a well-formed description, lines in the RFC's order and
ended by CRLF, serializes back byte for byte. Lines out of order are accepted and written back
in the RFC's order; bare LF line ends are accepted and written back as CRLF.

Derived views on a media description answer what offer/answer needs: its codecs (``rtpmap``
and ``fmtp``, with the static payload types of RFC 3551), its direction (media level, else
session level, else ``sendrecv``, folding in the old ``c=0.0.0.0`` hold), ``ptime`` and the
RTCP address (RFC 3605 ``a=rtcp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, cast

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
DIRECTIONS: tuple[Direction, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")

# RFC 3551 table 4: static audio payload types usable without an rtpmap.
STATIC_AUDIO: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    13: ("CN", 8000, 1),
    18: ("G729", 8000, 1),
}

_SESSION_ORDER = "vosiuepcbtrzka"
_MEDIA_ORDER = "micbka"
_HOLD_ADDRESSES = ("0.0.0.0", "::")


class SdpError(ValueError):
    """A session description that does not follow RFC 8866 (answer 400)."""

    status_hint = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Origin:
    """``o=`` (RFC 8866 §5.2). Leading zeros of the numbers are not kept."""

    username: str
    session_id: int
    session_version: int
    address: str
    net_type: str = "IN"
    address_type: str = "IP4"

    def line(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.net_type} {self.address_type} {self.address}"
        )


@dataclass(slots=True)
class Connection:
    """``c=``; ``address`` keeps a multicast ``/ttl/count`` suffix as written."""

    address: str
    net_type: str = "IN"
    address_type: str = "IP4"

    @property
    def host(self) -> str:
        return self.address.split("/", 1)[0]

    @property
    def is_hold(self) -> bool:
        """The RFC 2543 way of putting a call on hold (RFC 3264 §8.4)."""
        return self.host in _HOLD_ADDRESSES

    def line(self) -> str:
        return f"{self.net_type} {self.address_type} {self.address}"


@dataclass(slots=True)
class Bandwidth:
    """``b=<type>:<kbps or bps>`` (AS, CT, TIAS, RS, RR…)."""

    type: str
    value: int

    def line(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(slots=True)
class Timing:
    """``t=`` and the ``r=`` lines that follow it (kept as written)."""

    start: int = 0
    stop: int = 0
    repeats: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Attribute:
    """``a=<name>`` or ``a=<name>:<value>``; the value is kept as written."""

    name: str
    value: str | None = None

    def line(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class Codec:
    """A payload format: ``payload_type`` with its ``rtpmap`` encoding and ``fmtp`` parameters."""

    payload_type: int
    name: str
    clock_rate: int = 8000
    channels: int = 1
    fmtp: str | None = None

    def same_format(self, other: Codec) -> bool:
        """Same encoding, whatever payload type number each side gave it."""
        return (
            self.name.lower() == other.name.lower()
            and self.clock_rate == other.clock_rate
            and self.channels == other.channels
        )


def _find(attributes: list[Attribute], name: str) -> Attribute | None:
    return next((a for a in attributes if a.name == name), None)


def _is_direction(attribute: Attribute) -> bool:
    return attribute.name in DIRECTIONS and attribute.value is None


def _direction_of(attributes: list[Attribute]) -> Direction | None:
    found = next((a for a in attributes if _is_direction(a)), None)
    return None if found is None else cast(Direction, found.name)


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section (RFC 8866 §5.14) with its lines."""

    media: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    other_lines: list[tuple[str, str]] = field(default_factory=list)
    _codecs: tuple[tuple[object, ...], list[Codec]] | None = field(
        default=None, init=False, repr=False, compare=False)

    # -- attributes ---------------------------------------------------------------------------

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name:value`` (None when absent or a flag)."""
        found = _find(self.attributes, name)
        return None if found is None else found.value

    def has_attribute(self, name: str) -> bool:
        return _find(self.attributes, name) is not None

    def set_direction(self, direction: Direction) -> None:
        """Replace the direction attributes with ``direction`` (in place of the first one, or
        added last)."""
        index = next((i for i, a in enumerate(self.attributes) if _is_direction(a)), None)
        kept = [a for a in self.attributes if not _is_direction(a)]
        kept.insert(len(kept) if index is None else index, Attribute(direction))
        self.attributes = kept

    # -- derived views ------------------------------------------------------------------------

    @property
    def codecs(self) -> list[Codec]:
        """The formats as codecs, in ``m=`` order; dynamic ones without an rtpmap are left out.
        Computed once while the formats and attributes stay the same (a copy is returned)."""
        key = (tuple(self.formats), id(self.attributes), len(self.attributes))
        cached = self._codecs
        if cached is None or cached[0] != key:
            cached = self._codecs = (key, self._derive_codecs())
        return list(cached[1])

    def _derive_codecs(self) -> list[Codec]:
        maps: dict[int, tuple[str, int, int]] = {}
        fmtps: dict[int, str] = {}
        for attribute in self.attributes:
            if attribute.value is None or attribute.name not in ("rtpmap", "fmtp"):
                continue
            number, _, rest = attribute.value.partition(" ")
            if not number.isdigit():
                continue
            if attribute.name == "fmtp":
                fmtps.setdefault(int(number), rest.strip())
            else:
                parsed = _parse_rtpmap(rest.strip())
                if parsed is not None:
                    maps.setdefault(int(number), parsed)
        codecs = []
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            pt = int(fmt)
            encoding = maps.get(pt) or STATIC_AUDIO.get(pt)
            if encoding is not None:
                name, rate, channels = encoding
                codecs.append(Codec(pt, name, rate, channels, fmtps.get(pt)))
        return codecs

    @property
    def ptime(self) -> int | None:
        return _int_attribute(self.attribute("ptime"))

    @property
    def maxptime(self) -> int | None:
        return _int_attribute(self.attribute("maxptime"))

    @property
    def rtcp(self) -> tuple[int, Connection | None] | None:
        """RFC 3605 ``a=rtcp:<port> [IN IP4 <address>]``, None when absent or unreadable."""
        value = self.attribute("rtcp")
        if value is None:
            return None
        parts = value.split()
        if not parts or not parts[0].isdigit():
            return None
        if len(parts) >= 4:
            return int(parts[0]), Connection(parts[3], parts[1], parts[2])
        return int(parts[0]), None

    @property
    def rtcp_mux(self) -> bool:
        return self.has_attribute("rtcp-mux")


def _parse_rtpmap(text: str) -> tuple[str, int, int] | None:
    parts = text.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
        return None
    channels = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    return parts[0], int(parts[1]), channels


def _int_attribute(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return round(float(value))
    except ValueError:
        return None


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: list[Timing] = field(default_factory=lambda: [Timing()])
    bandwidths: list[Bandwidth] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    other_lines: list[tuple[str, str]] = field(default_factory=list)
    version: int = 0

    def attribute(self, name: str) -> str | None:
        found = _find(self.attributes, name)
        return None if found is None else found.value

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """The connection that applies to a media section (its own, else the session's)."""
        return media.connection or self.connection

    def direction_of(self, media: MediaDescription) -> Direction:
        """The direction the sender of this description declares for ``media``.

        Media-level attribute, else session-level, else ``sendrecv``; a ``c=0.0.0.0`` (old hold)
        takes away receiving: ``sendrecv`` becomes ``sendonly``, ``recvonly`` ``inactive``.
        """
        declared = _direction_of(media.attributes) or _direction_of(self.attributes) or "sendrecv"
        connection = self.connection_for(media)
        if connection is not None and connection.is_hold:
            return "sendonly" if declared in ("sendrecv", "sendonly") else "inactive"
        return declared

    def serialize(self) -> bytes:
        lines = [f"v={self.version}", f"o={self.origin.line()}", f"s={self.session_name}"]
        extras = _by_type(self.other_lines)
        lines += extras.pop("i", []) + extras.pop("u", [])
        lines += extras.pop("e", []) + extras.pop("p", [])
        if self.connection is not None:
            lines.append(f"c={self.connection.line()}")
        lines += [f"b={b.line()}" for b in self.bandwidths]
        for timing in self.timing:
            lines.append(f"t={timing.start} {timing.stop}")
            lines += [f"r={r}" for r in timing.repeats]
        lines += extras.pop("z", []) + extras.pop("k", [])
        lines += [f"a={a.line()}" for a in self.attributes]
        lines += [line for rest in extras.values() for line in rest]
        for media in self.media:
            lines += _media_lines(media)
        return ("\r\n".join(lines) + "\r\n").encode()


def _by_type(other_lines: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, value in other_lines:
        grouped.setdefault(kind, []).append(f"{kind}={value}")
    return grouped


def _media_lines(media: MediaDescription) -> list[str]:
    port = f"{media.port}" if media.port_count is None else f"{media.port}/{media.port_count}"
    lines = [f"m={' '.join([media.media, port, media.proto, *media.formats])}"]
    extras = _by_type(media.other_lines)
    lines += extras.pop("i", [])
    if media.connection is not None:
        lines.append(f"c={media.connection.line()}")
    lines += [f"b={b.line()}" for b in media.bandwidths]
    lines += extras.pop("k", [])
    lines += [f"a={a.line()}" for a in media.attributes]
    lines += [line for rest in extras.values() for line in rest]
    return lines


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_sdp(data: bytes) -> SessionDescription:
    """Parse an SDP body; :class:`SdpError` says what is wrong with a malformed one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError(f"SDP is not UTF-8 text: {exc.reason}") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SdpError("empty SDP")
    fields = [_split_line(line, n + 1) for n, line in enumerate(lines)]
    if fields[0] != ("v", "0"):
        raise SdpError(f"SDP must start with v=0, not {lines[0].strip()!r}")
    session, media_sections = _sections(fields[1:])
    description = _parse_session(session)
    description.media = [_parse_media(section) for section in media_sections]
    return description


def _split_line(line: str, number: int) -> tuple[str, str]:
    if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
        raise SdpError(f"line {number} is not <type>=<value>: {line[:40]!r}")
    return line[0], line[2:]


def _sections(
    fields: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    session: list[tuple[str, str]] = []
    media: list[list[tuple[str, str]]] = []
    for kind, value in fields:
        if kind == "m":
            media.append([(kind, value)])
        elif media:
            media[-1].append((kind, value))
        else:
            session.append((kind, value))
    return session, media


def _parse_session(fields: list[tuple[str, str]]) -> SessionDescription:
    origin: Origin | None = None
    name: str | None = None
    description = SessionDescription(origin=Origin("-", 0, 0, "0.0.0.0"), timing=[])
    for kind, value in fields:
        if kind == "o":
            if origin is not None:
                raise SdpError("more than one o= line")
            origin = _parse_origin(value)
        elif kind == "s":
            if name is not None:
                raise SdpError("more than one s= line")
            name = value
        elif kind == "c":
            description.connection = _parse_connection(value)
        elif kind == "b":
            description.bandwidths.append(_parse_bandwidth(value))
        elif kind == "t":
            description.timing.append(_parse_timing(value))
        elif kind == "r" and description.timing:
            description.timing[-1].repeats.append(value)
        elif kind == "a":
            description.attributes.append(_parse_attribute(value))
        elif kind == "v":
            raise SdpError("v= may only be the first line")
        else:
            description.other_lines.append((kind, value))
    if origin is None:
        raise SdpError("missing o= line")
    if name is None:
        raise SdpError("missing s= line")
    description.origin = origin
    description.session_name = name
    return description


def _parse_origin(value: str) -> Origin:
    parts = value.split(" ")
    if len(parts) != 6 or not all(parts):
        raise SdpError(f"o= needs 6 fields: {value!r}")
    username, session_id, version, net_type, address_type, address = parts
    if not session_id.isdigit() or not version.isdigit():
        raise SdpError(f"o= session id and version must be numbers: {value!r}")
    return Origin(username, int(session_id), int(version), address, net_type, address_type)


def _parse_connection(value: str) -> Connection:
    parts = value.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SdpError(f"c= needs 3 fields: {value!r}")
    net_type, address_type, address = parts
    if address_type not in ("IP4", "IP6"):
        raise SdpError(f"c= address type {address_type!r} is not IP4 or IP6")
    return Connection(address, net_type, address_type)


def _parse_bandwidth(value: str) -> Bandwidth:
    kind, sep, amount = value.partition(":")
    if not sep or not kind or not amount.isdigit():
        raise SdpError(f"b= must be <type>:<number>: {value!r}")
    return Bandwidth(kind, int(amount))


def _parse_timing(value: str) -> Timing:
    parts = value.split(" ")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise SdpError(f"t= needs start and stop times: {value!r}")
    return Timing(int(parts[0]), int(parts[1]))


def _parse_attribute(value: str) -> Attribute:
    name, sep, rest = value.partition(":")
    if not name:
        raise SdpError(f"a= without a name: {value!r}")
    return Attribute(name, rest if sep else None)


def _parse_media(fields: list[tuple[str, str]]) -> MediaDescription:
    media = _parse_media_line(fields[0][1])
    for kind, value in fields[1:]:
        if kind == "c":
            media.connection = _parse_connection(value)
        elif kind == "b":
            media.bandwidths.append(_parse_bandwidth(value))
        elif kind == "a":
            media.attributes.append(_parse_attribute(value))
        elif kind in "vostrz":
            raise SdpError(f"{kind}= is not allowed in a media section")
        else:
            media.other_lines.append((kind, value))
    return media


def _parse_media_line(value: str) -> MediaDescription:
    parts = value.split(" ")
    if len(parts) < 4 or not all(parts):
        raise SdpError(f"m= needs media, port, proto and formats: {value!r}")
    media, port_text, proto, *formats = parts
    port_part, slash, count_part = port_text.partition("/")
    if not port_part.isdigit() or (slash and not count_part.isdigit()):
        raise SdpError(f"m= port is not a number: {port_text!r}")
    port = int(port_part)
    if port > 65535:
        raise SdpError(f"m= port {port} out of range")
    count = int(count_part) if slash else None
    return MediaDescription(media, port, proto, formats, port_count=count)
