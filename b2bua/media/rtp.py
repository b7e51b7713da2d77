"""RTP and RTCP packets (RFC 3550), sans-IO.

Two ways in:

- the relay's fast path, :func:`parse_header` and the in-place rewriting helpers, read and
  write the fixed 12-byte header with precompiled :mod:`struct` formats and allocate nothing
  but the returned tuple;
- :class:`RtpPacket` and the RTCP classes, full parsers and serializers that round-trip byte
  for byte, for everything that is not per-packet relaying (event packets, tests, RTCP
  termination).

Malformed input raises :class:`RtpError` (a ``ValueError``) naming the problem.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

RTP_VERSION = 2
RTP_HEADER_SIZE = 12

_VERSION_SHIFT = 6
_PADDING_BIT = 0x20
_EXTENSION_BIT = 0x10
_CSRC_COUNT_MASK = 0x0F
_MARKER_BIT = 0x80
_PAYLOAD_TYPE_MASK = 0x7F

_FIXED_HEADER = struct.Struct("!BBHII")
_REWRITE = struct.Struct("!BHII")  # byte 1 (marker + PT) .. SSRC
_EXTENSION_HEADER = struct.Struct("!HH")
_U8 = struct.Struct("!B")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")

# RTP/RTCP demultiplexing on one port (RFC 5761 §4): RTCP packet types 192-223 land in the
# second octet's range 64-95 once the marker bit is folded in.
_RTCP_DEMUX_LOW = 192
_RTCP_DEMUX_HIGH = 223

Buffer = bytes | bytearray | memoryview


class RtpError(ValueError):
    """An RTP or RTCP packet that does not follow RFC 3550."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Fast path for the relay
# --------------------------------------------------------------------------------------------


def parse_header(data: Buffer) -> tuple[int, bool, int, int, int, int]:
    """Read ``(payload_type, marker, sequence, timestamp, ssrc, payload_offset)``.

    ``payload_offset`` skips the CSRC list and the header extension. Padding (rare in
    practice) is not stripped here: when ``data[0] & 0x20`` is set, use :func:`payload_end`.
    """
    size = len(data)
    if size < RTP_HEADER_SIZE:
        raise RtpError(f"RTP packet too short: {size} bytes")
    first, second, sequence, timestamp, ssrc = _FIXED_HEADER.unpack_from(data)
    if first >> _VERSION_SHIFT != RTP_VERSION:
        raise RtpError(f"RTP version {first >> _VERSION_SHIFT}, expected 2")
    offset = RTP_HEADER_SIZE + 4 * (first & _CSRC_COUNT_MASK)
    if first & _EXTENSION_BIT:
        if size < offset + 4:
            raise RtpError("RTP header extension truncated")
        offset += 4 + 4 * _U16.unpack_from(data, offset + 2)[0]
    if offset > size:
        raise RtpError(f"RTP header of {offset} bytes in a {size}-byte packet")
    marker = bool(second & _MARKER_BIT)
    return second & _PAYLOAD_TYPE_MASK, marker, sequence, timestamp, ssrc, offset


def payload_end(data: Buffer, payload_offset: int) -> int:
    """Index just past the payload, the padding removed when the P bit is set."""
    size = len(data)
    if not data[0] & _PADDING_BIT:
        return size
    count = data[size - 1]
    if count == 0 or size - count < payload_offset:
        raise RtpError(f"RTP padding count {count} does not fit the packet")
    return size - count


def is_rtcp(data: Buffer) -> bool:
    """Whether a packet on a muxed RTP/RTCP port is RTCP (RFC 5761 §4)."""
    return len(data) >= 2 and _RTCP_DEMUX_LOW <= data[1] <= _RTCP_DEMUX_HIGH


def set_ssrc(packet: bytearray, ssrc: int) -> None:
    """Rewrite the SSRC in place."""
    _U32.pack_into(packet, 8, ssrc)


def set_sequence(packet: bytearray, sequence: int) -> None:
    """Rewrite the sequence number in place (taken modulo 2**16)."""
    _U16.pack_into(packet, 2, sequence & 0xFFFF)


def set_timestamp(packet: bytearray, timestamp: int) -> None:
    """Rewrite the timestamp in place (taken modulo 2**32)."""
    _U32.pack_into(packet, 4, timestamp & 0xFFFFFFFF)


def set_payload_type(packet: bytearray, payload_type: int) -> None:
    """Rewrite the payload type in place, keeping the marker bit."""
    _U8.pack_into(packet, 1, (packet[1] & _MARKER_BIT) | payload_type)


def set_marker(packet: bytearray, marker: bool) -> None:
    """Set or clear the marker bit in place."""
    packet[1] = (packet[1] & _PAYLOAD_TYPE_MASK) | (_MARKER_BIT if marker else 0)


def rewrite_header(
    packet: bytearray, marker: bool, payload_type: int, sequence: int, timestamp: int, ssrc: int
) -> None:
    """Rewrite marker, payload type, sequence, timestamp and SSRC with one ``pack_into``."""
    _REWRITE.pack_into(
        packet,
        1,
        (_MARKER_BIT if marker else 0) | payload_type,
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc,
    )


def pack_header(marker: bool, payload_type: int, sequence: int, timestamp: int, ssrc: int) -> bytes:
    """A plain 12-byte header (no CSRC, extension or padding) for packets we originate."""
    return _FIXED_HEADER.pack(
        RTP_VERSION << _VERSION_SHIFT,
        (_MARKER_BIT if marker else 0) | payload_type,
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc,
    )


# --------------------------------------------------------------------------------------------
# Full RTP packet
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 §5.1).

    ``extension_profile`` is None when the packet has no header extension; ``extension`` is the
    extension data without its 4-byte header. ``padding`` holds the padding octets as sent,
    the last one being their count; empty when the P bit is clear.
    """

    payload_type: int = 0
    marker: bool = False
    sequence: int = 0
    timestamp: int = 0
    ssrc: int = 0
    payload: bytes = b""
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension: bytes = b""
    padding: bytes = b""
    version: int = RTP_VERSION

    @property
    def has_padding(self) -> bool:
        return bool(self.padding)

    @property
    def has_extension(self) -> bool:
        return self.extension_profile is not None

    @classmethod
    def parse(cls, data: Buffer) -> RtpPacket:
        raw = bytes(data)
        payload_type, marker, sequence, timestamp, ssrc, offset = parse_header(raw)
        first = raw[0]
        count = first & _CSRC_COUNT_MASK
        csrc = struct.unpack_from(f"!{count}I", raw, RTP_HEADER_SIZE)
        profile: int | None = None
        extension = b""
        if first & _EXTENSION_BIT:
            start = RTP_HEADER_SIZE + 4 * count
            profile = _U16.unpack_from(raw, start)[0]
            extension = raw[start + 4 : offset]
        end = payload_end(raw, offset)
        return cls(
            payload_type=payload_type,
            marker=marker,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=raw[offset:end],
            csrc=tuple(csrc),
            extension_profile=profile,
            extension=extension,
            padding=raw[end:],
        )

    def serialize(self) -> bytes:
        if len(self.csrc) > _CSRC_COUNT_MASK:
            raise RtpError(f"{len(self.csrc)} CSRCs, at most 15")
        if len(self.extension) % 4:
            raise RtpError("RTP header extension length not a multiple of 4")
        if self.padding and self.padding[-1] != len(self.padding):
            raise RtpError("RTP padding must end with its own length")
        first = (
            (self.version << _VERSION_SHIFT)
            | (_PADDING_BIT if self.padding else 0)
            | (_EXTENSION_BIT if self.extension_profile is not None else 0)
            | len(self.csrc)
        )
        parts = [
            _FIXED_HEADER.pack(
                first,
                (_MARKER_BIT if self.marker else 0) | self.payload_type,
                self.sequence,
                self.timestamp,
                self.ssrc,
            ),
            struct.pack(f"!{len(self.csrc)}I", *self.csrc),
        ]
        if self.extension_profile is not None:
            parts.append(_EXTENSION_HEADER.pack(self.extension_profile, len(self.extension) // 4))
            parts.append(self.extension)
        parts.append(self.payload)
        parts.append(self.padding)
        return b"".join(parts)


# --------------------------------------------------------------------------------------------
# RTCP (RFC 3550 §6.4 - §6.6)
# --------------------------------------------------------------------------------------------

RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_APP = 204

SDES_END = 0
SDES_CNAME = 1

_RTCP_HEADER = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!IQIII")  # sender SSRC, NTP, RTP timestamp, packets, octets
_REPORT_BLOCK = struct.Struct("!IIIIII")
_NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


def ntp_timestamp(unix_time: float) -> int:
    """The 64-bit NTP timestamp for a Unix time in seconds."""
    seconds = int(unix_time)
    fraction = int((unix_time - seconds) * (1 << 32)) & 0xFFFFFFFF
    return ((seconds + _NTP_UNIX_OFFSET) & 0xFFFFFFFF) << 32 | fraction


def ntp_middle32(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp, as carried in LSR (RFC 3550 §6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report (RFC 3550 §6.4.1). ``packets_lost`` is signed 24-bit."""

    ssrc: int
    fraction_lost: int
    packets_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, loss, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        lost = loss & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, loss >> 24, lost, highest, jitter, lsr, dlsr)

    def serialize(self) -> bytes:
        loss = (self.fraction_lost & 0xFF) << 24 | (self.packets_lost & 0xFFFFFF)
        return _REPORT_BLOCK.pack(
            self.ssrc, loss, self.highest_sequence, self.jitter, self.lsr, self.dlsr
        )


@dataclass(frozen=True, slots=True)
class RtcpSenderReport:
    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    packet_type = RTCP_SR

    def count(self) -> int:
        return len(self.reports)

    def body(self) -> bytes:
        info = _SENDER_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        )
        return info + b"".join(r.serialize() for r in self.reports) + self.extension


@dataclass(frozen=True, slots=True)
class RtcpReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    packet_type = RTCP_RR

    def count(self) -> int:
        return len(self.reports)

    def body(self) -> bytes:
        return _U32.pack(self.ssrc) + b"".join(r.serialize() for r in self.reports) + self.extension


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SDES chunk: an SSRC and its ``(item type, value)`` items, CNAME being type 1."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]

    @property
    def cname(self) -> bytes | None:
        return next((value for kind, value in self.items if kind == SDES_CNAME), None)

    def serialize(self) -> bytes:
        parts = [_U32.pack(self.ssrc)]
        for kind, value in self.items:
            if len(value) > 255:
                raise RtpError("SDES item longer than 255 bytes")
            parts.append(bytes((kind, len(value))) + value)
        used = sum(len(p) for p in parts)
        parts.append(b"\x00" * (4 - used % 4))  # at least one null octet ends the list
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class RtcpSourceDescription:
    chunks: tuple[SdesChunk, ...]

    packet_type = RTCP_SDES

    def count(self) -> int:
        return len(self.chunks)

    def body(self) -> bytes:
        return b"".join(chunk.serialize() for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class RtcpBye:
    sources: tuple[int, ...]
    reason: bytes = b""

    packet_type = RTCP_BYE

    def count(self) -> int:
        return len(self.sources)

    def body(self) -> bytes:
        data = struct.pack(f"!{len(self.sources)}I", *self.sources)
        if self.reason:
            if len(self.reason) > 255:
                raise RtpError("BYE reason longer than 255 bytes")
            data += bytes((len(self.reason),)) + self.reason
            data += b"\x00" * (-len(data) % 4)
        return data


@dataclass(frozen=True, slots=True)
class RtcpOther:
    """Any other RTCP packet (APP, feedback, XR…), kept as its count field and raw body."""

    packet_type: int
    subtype: int
    payload: bytes

    def count(self) -> int:
        return self.subtype

    def body(self) -> bytes:
        return self.payload


RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSourceDescription | RtcpBye | RtcpOther


def _parse_reports(body: bytes, offset: int, count: int) -> tuple[tuple[ReportBlock, ...], int]:
    end = offset + count * _REPORT_BLOCK.size
    if end > len(body):
        raise RtpError(f"{count} report blocks do not fit the RTCP packet")
    reports = tuple(ReportBlock.parse(body, offset + i * _REPORT_BLOCK.size) for i in range(count))
    return reports, end


def _parse_sr(count: int, body: bytes) -> RtcpPacket:
    if len(body) < _SENDER_INFO.size:
        raise RtpError("RTCP SR shorter than its sender info")
    ssrc, ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body)
    reports, end = _parse_reports(body, _SENDER_INFO.size, count)
    return RtcpSenderReport(ssrc, ntp, rtp_ts, packets, octets, reports, body[end:])


def _parse_rr(count: int, body: bytes) -> RtcpPacket:
    if len(body) < 4:
        raise RtpError("RTCP RR without its SSRC")
    reports, end = _parse_reports(body, 4, count)
    return RtcpReceiverReport(_U32.unpack_from(body)[0], reports, body[end:])


def _parse_sdes(count: int, body: bytes) -> RtcpPacket:
    chunks: list[SdesChunk] = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            raise RtpError("RTCP SDES chunk truncated")
        ssrc = _U32.unpack_from(body, offset)[0]
        offset += 4
        items: list[tuple[int, bytes]] = []
        while True:
            if offset >= len(body):
                raise RtpError("RTCP SDES item list not terminated")
            kind = body[offset]
            if kind == SDES_END:
                offset = (offset + 4) & ~3  # the null octet and padding to 32 bits
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise RtpError("RTCP SDES item truncated")
            length = body[offset + 1]
            items.append((kind, body[offset + 2 : offset + 2 + length]))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return RtcpSourceDescription(tuple(chunks))


def _parse_bye(count: int, body: bytes) -> RtcpPacket:
    end = 4 * count
    if end > len(body):
        raise RtpError("RTCP BYE source list truncated")
    sources = struct.unpack_from(f"!{count}I", body)
    reason = b""
    if end < len(body):
        length = body[end]
        if end + 1 + length > len(body):
            raise RtpError("RTCP BYE reason truncated")
        reason = body[end + 1 : end + 1 + length]
    return RtcpBye(tuple(sources), reason)


_RTCP_PARSERS = {
    RTCP_SR: _parse_sr,
    RTCP_RR: _parse_rr,
    RTCP_SDES: _parse_sdes,
    RTCP_BYE: _parse_bye,
}


def parse_rtcp(data: Buffer) -> list[RtcpPacket]:
    """Parse a compound RTCP packet (RFC 3550 §6.1 and the checks of appendix A.2).

    Every packet must be version 2, lengths must add up to the datagram, and only the last
    packet may carry padding. A compound that does not start with SR or RR (reduced-size RTCP,
    RFC 5506) is accepted.
    """
    raw = bytes(data)
    if len(raw) < _RTCP_HEADER.size:
        raise RtpError(f"RTCP packet too short: {len(raw)} bytes")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(raw):
        if offset + _RTCP_HEADER.size > len(raw):
            raise RtpError("RTCP header truncated")
        first, packet_type, words = _RTCP_HEADER.unpack_from(raw, offset)
        if first >> _VERSION_SHIFT != RTP_VERSION:
            raise RtpError(f"RTCP version {first >> _VERSION_SHIFT}, expected 2")
        end = offset + 4 * (words + 1)
        if end > len(raw):
            raise RtpError(f"RTCP length {words} runs past the datagram")
        body = raw[offset + _RTCP_HEADER.size : end]
        if first & _PADDING_BIT:
            if end != len(raw):
                raise RtpError("RTCP padding on a packet that is not the last")
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise RtpError(f"RTCP padding count {pad} does not fit the packet")
            body = body[:-pad]
        count = first & 0x1F
        parser = _RTCP_PARSERS.get(packet_type)
        packets.append(parser(count, body) if parser else RtcpOther(packet_type, count, body))
        offset = end
    return packets


def serialize_rtcp(packets: Sequence[RtcpPacket]) -> bytes:
    """Serialize packets into one compound RTCP datagram (no padding)."""
    out = []
    for packet in packets:
        body = packet.body()
        if len(body) % 4:
            raise RtpError(f"RTCP packet type {packet.packet_type} body not 32-bit aligned")
        count = packet.count()
        if count > 0x1F:
            raise RtpError(f"RTCP count {count} above 31")
        header = _RTCP_HEADER.pack(
            RTP_VERSION << _VERSION_SHIFT | count, packet.packet_type, len(body) // 4
        )
        out.append(header + body)
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Reception statistics (RFC 3550 appendix A.1, A.3, A.8)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReceptionStatistics:
    """What one receiver learns about one source, to fill a :class:`ReportBlock`.

    Feed every accepted packet to :meth:`update` with its arrival time in RTP clock units.
    """

    ssrc: int
    base_sequence: int = -1
    max_sequence: int = 0
    cycles: int = 0
    received: int = 0
    jitter: float = 0.0
    _last_transit: int | None = field(default=None, repr=False)
    _expected_prior: int = field(default=0, repr=False)
    _received_prior: int = field(default=0, repr=False)

    def update(self, sequence: int, timestamp: int, arrival: int) -> None:
        if self.base_sequence < 0:
            self.base_sequence = sequence
            self.max_sequence = sequence
        else:
            delta = (sequence - self.max_sequence) & 0xFFFF
            if 0 < delta < 0x8000:
                if sequence < self.max_sequence:
                    self.cycles += 1 << 16
                self.max_sequence = sequence
        self.received += 1
        transit = arrival - timestamp
        if self._last_transit is not None:
            self.jitter += (abs(transit - self._last_transit) - self.jitter) / 16
        self._last_transit = transit

    @property
    def extended_highest_sequence(self) -> int:
        return self.cycles + self.max_sequence

    @property
    def expected(self) -> int:
        if self.base_sequence < 0:
            return 0
        return self.extended_highest_sequence - self.base_sequence + 1

    @property
    def cumulative_lost(self) -> int:
        return self.expected - self.received

    def report_block(self, lsr: int = 0, dlsr: int = 0) -> ReportBlock:
        """The report block for the interval since the previous call (fraction lost)."""
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = self.expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = (
            0
            if expected_interval <= 0 or lost_interval <= 0
            else ((lost_interval << 8) // expected_interval)
        )
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost))
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=min(fraction, 255),
            packets_lost=lost,
            highest_sequence=self.extended_highest_sequence & 0xFFFFFFFF,
            jitter=int(self.jitter),
            lsr=lsr,
            dlsr=dlsr,
        )
