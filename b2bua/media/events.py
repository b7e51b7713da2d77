"""RFC 4733 telephone-events: turning event packets into key presses, and back. Sans-IO.

Receiving follows what real phones send rather than what the RFC hopes for:

- a key starts on the first packet seen for it; the marker bit is not needed (it is often lost
  or missing);
- packets are de-duplicated on (SSRC, RTP timestamp, event), never on the sequence number: SIPp
  repeats one sequence number on its three end packets, baresip numbers each one;
- the repeated end packets are one key end; a new timestamp is a new key, even for the same
  digit, and a new key ends the one before it; a key whose end packets are all lost ends after
  ``end_timeout`` seconds without packets (driven by :meth:`next_deadline` / ``handle_timer``);
- a long press sent as segments (RFC 4733 §2.5.1.3: a new timestamp continuing the same event
  once the duration nears 0xFFFF) stays one key, and a duration that wraps past 0xFFFF on one
  timestamp is counted on;
- several events in one packet (§2.5.1.5) and RFC 2198 redundancy (``red``) are unpacked;
- the volume field is never used as a filter; late or reordered packets of a key that already
  ended do not start it again.

Sending produces the packets of one key toward a leg with that leg's payload type and clock
rate; the caller owns the RTP timestamp base, the sequence numbers and the SSRC.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from b2bua.media.rtp import Buffer, RtpError, parse_header, payload_end

DTMF_DIGITS = "0123456789*#ABCD"
DEFAULT_END_TIMEOUT = 0.3  # seconds without a packet before a key missing its end is ended
DEFAULT_VOLUME = 10  # -10 dBm0, what SIPp and baresip send

_EVENT_BLOCK = struct.Struct("!BBH")
_END_BIT = 0x80
_VOLUME_MASK = 0x3F
_MAX_DURATION = 0xFFFF
_TIMESTAMP_MOD = 1 << 32
_RED_FOLLOWS = 0x80
_RECENT_ENDS = 16
_STALE_WINDOW_SECONDS = 5  # how far back a timestamp still counts as "late", not as a restart


def event_for_digit(digit: str) -> int:
    """The RFC 4733 event code of a digit ``0-9 * # A-D`` (letters in either case)."""
    index = DTMF_DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return index


def digit_for_event(event: int) -> str | None:
    """The digit of an event code 0-15, None for other events (flash, tones…)."""
    return DTMF_DIGITS[event] if 0 <= event < len(DTMF_DIGITS) else None


# --------------------------------------------------------------------------------------------
# Payload formats
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One 4-byte event report (RFC 4733 §2.3)."""

    event: int
    end: bool
    volume: int
    duration: int

    def serialize(self) -> bytes:
        return _EVENT_BLOCK.pack(
            self.event, (_END_BIT if self.end else 0) | (self.volume & _VOLUME_MASK), self.duration
        )


def parse_telephone_events(payload: bytes) -> list[TelephoneEvent]:
    """The event reports of a telephone-event payload, one per 4 bytes (§2.5.1.5)."""
    if len(payload) < 4 or len(payload) % 4:
        raise RtpError(f"telephone-event payload of {len(payload)} bytes")
    reports = []
    for offset in range(0, len(payload), 4):
        event, flags, duration = _EVENT_BLOCK.unpack_from(payload, offset)
        reports.append(
            TelephoneEvent(event, bool(flags & _END_BIT), flags & _VOLUME_MASK, duration)
        )
    return reports


@dataclass(frozen=True, slots=True)
class RedBlock:
    """One block of an RFC 2198 payload; ``timestamp_offset`` is 0 for the primary block."""

    payload_type: int
    timestamp_offset: int
    data: bytes


def parse_red(payload: bytes) -> list[RedBlock]:
    """Split an RFC 2198 redundant payload into its blocks, oldest first, primary last."""
    headers: list[tuple[int, int, int]] = []
    offset = 0
    while True:
        if offset >= len(payload):
            raise RtpError("RED header truncated")
        first = payload[offset]
        if not first & _RED_FOLLOWS:
            headers.append((first & 0x7F, 0, -1))
            offset += 1
            break
        if offset + 4 > len(payload):
            raise RtpError("RED block header truncated")
        word = int.from_bytes(payload[offset + 1 : offset + 4], "big")
        headers.append((first & 0x7F, word >> 10, word & 0x3FF))
        offset += 4
    blocks = []
    for payload_type, timestamp_offset, length in headers:
        size = len(payload) - offset if length < 0 else length
        if offset + size > len(payload):
            raise RtpError("RED block runs past the payload")
        blocks.append(RedBlock(payload_type, timestamp_offset, payload[offset : offset + size]))
        offset += size
    return blocks


def serialize_red(blocks: list[RedBlock]) -> bytes:
    """Build an RFC 2198 payload; the last block is the primary one."""
    if not blocks:
        raise RtpError("RED payload needs at least the primary block")
    headers = []
    for block in blocks[:-1]:
        if block.timestamp_offset >= 1 << 14 or len(block.data) >= 1 << 10:
            raise RtpError("RED block offset or length out of range")
        word = block.timestamp_offset << 10 | len(block.data)
        headers.append(bytes((_RED_FOLLOWS | block.payload_type,)) + word.to_bytes(3, "big"))
    headers.append(bytes((blocks[-1].payload_type,)))
    return b"".join(headers) + b"".join(block.data for block in blocks)


# --------------------------------------------------------------------------------------------
# Receiving
# --------------------------------------------------------------------------------------------


class EdgeKind(StrEnum):
    START = "start"
    END = "end"


class EndReason(StrEnum):
    END_BIT = "end_bit"  # the sender's end packet arrived
    NEXT_KEY = "next_key"  # another key started before this one's end arrived
    TIMEOUT = "timeout"  # no packet for end_timeout seconds


@dataclass(frozen=True, slots=True)
class KeyEdge:
    """A key going down (START) or up (END); ``digit`` is None for events other than 0-15.

    ``timestamp`` is the RTP timestamp of the key's first segment and identifies the press
    together with ``ssrc``; ``duration`` (in ``clock_rate`` units) is 0 on START and the length
    the sender reported on END; ``now`` is the time passed to the call that produced the edge.
    """

    kind: EdgeKind
    digit: str | None
    event: int
    timestamp: int
    ssrc: int
    duration: int
    clock_rate: int
    now: float
    reason: EndReason | None = None

    @property
    def duration_seconds(self) -> float:
        return self.duration / self.clock_rate


@dataclass(slots=True)
class _Press:
    ssrc: int
    event: int
    timestamp: int  # of the first segment
    segment_timestamp: int
    duration_base: int  # from earlier segments and wraps
    duration: int  # last raw 16-bit duration in the current segment
    last_seen: float
    ended: bool = False

    @property
    def total_duration(self) -> int:
        return self.duration_base + self.duration


class TelephoneEventReceiver:
    """Key presses from the telephone-event packets of one leg's incoming stream."""

    def __init__(
        self,
        payload_type: int,
        clock_rate: int = 8000,
        end_timeout: float = DEFAULT_END_TIMEOUT,
        red_payload_type: int | None = None,
    ) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.end_timeout = end_timeout
        self.red_payload_type = red_payload_type
        self._stale_window = clock_rate * _STALE_WINDOW_SECONDS
        # a segment that ends this close to 0xFFFF may be continued on a new timestamp
        self._segment_slack = clock_rate // 4
        self._active: _Press | None = None
        self._latest: dict[int, _Press] = {}
        self._recent_ends: deque[tuple[int, int, int]] = deque(maxlen=_RECENT_ENDS)

    @property
    def active_digit(self) -> str | None:
        """The digit held down right now, if any (used to silence audio during an event)."""
        press = self._active
        return None if press is None or press.ended else digit_for_event(press.event)

    def next_deadline(self) -> float | None:
        press = self._active
        if press is None or press.ended:
            return None
        return press.last_seen + self.end_timeout

    def handle_timer(self, now: float) -> list[KeyEdge]:
        deadline = self.next_deadline()
        if deadline is None or now < deadline or self._active is None:
            return []
        return [self._end(self._active, now, EndReason.TIMEOUT)]

    def receive(
        self, ssrc: int, sequence: int, timestamp: int, marker: bool, payload: bytes, now: float
    ) -> list[KeyEdge]:
        """Feed one telephone-event packet; returns the key edges it causes.

        ``sequence`` and ``marker`` are accepted for symmetry with the RTP header and are
        deliberately not used: de-duplication is on (SSRC, timestamp, event) and a key starts
        without the marker. A malformed payload is ignored (a peer fault, not ours).
        """
        del sequence, marker
        return self.handle_timer(now) + self._reports(ssrc, timestamp, payload, now)

    def receive_red(
        self, ssrc: int, sequence: int, timestamp: int, marker: bool, payload: bytes, now: float
    ) -> list[KeyEdge]:
        """Feed one RFC 2198 packet; its telephone-event blocks are read oldest first."""
        del sequence, marker
        edges = self.handle_timer(now)
        try:
            blocks = parse_red(payload)
        except RtpError:
            return edges
        for block in blocks:
            if block.payload_type == self.payload_type:
                block_timestamp = (timestamp - block.timestamp_offset) % _TIMESTAMP_MOD
                edges += self._reports(ssrc, block_timestamp, block.data, now)
        return edges

    def receive_packet(self, data: Buffer, now: float) -> list[KeyEdge]:
        """Feed a whole RTP packet of any payload type; audio and garbage give no edges."""
        try:
            payload_type, marker, sequence, timestamp, ssrc, offset = parse_header(data)
            payload = bytes(data[offset : payload_end(data, offset)])
        except RtpError:
            return self.handle_timer(now)
        if payload_type == self.payload_type:
            return self.receive(ssrc, sequence, timestamp, marker, payload, now)
        if payload_type == self.red_payload_type:
            return self.receive_red(ssrc, sequence, timestamp, marker, payload, now)
        return self.handle_timer(now)

    # -- event reports -------------------------------------------------------------------------

    def _reports(self, ssrc: int, timestamp: int, payload: bytes, now: float) -> list[KeyEdge]:
        try:
            reports = parse_telephone_events(payload)
        except RtpError:
            return []
        edges: list[KeyEdge] = []
        offset = 0
        for report in reports:
            edges += self._report(ssrc, (timestamp + offset) % _TIMESTAMP_MOD, report, now)
            offset += report.duration  # §2.5.1.5: later events follow the earlier ones
        return edges

    def _report(
        self, ssrc: int, timestamp: int, report: TelephoneEvent, now: float
    ) -> list[KeyEdge]:
        if (ssrc, timestamp, report.event) in self._recent_ends:
            return []  # a repeated end packet, or a late packet of a key already ended
        latest = self._latest.get(ssrc)
        if latest is not None:
            if timestamp == latest.segment_timestamp and report.event == latest.event:
                return self._update(latest, report, now)
            if self._is_stale(latest, timestamp):
                return []
            if self._continues(latest, timestamp, report.event):
                latest.duration_base += (timestamp - latest.segment_timestamp) % _TIMESTAMP_MOD
                latest.segment_timestamp = timestamp
                latest.duration = 0
                return self._update(latest, report, now)
        return self._start(ssrc, timestamp, report, now)

    def _start(
        self, ssrc: int, timestamp: int, report: TelephoneEvent, now: float
    ) -> list[KeyEdge]:
        edges = []
        if self._active is not None and not self._active.ended:
            edges.append(self._end(self._active, now, EndReason.NEXT_KEY))
        press = _Press(ssrc, report.event, timestamp, timestamp, 0, report.duration, now)
        self._active = press
        self._latest[ssrc] = press
        edges.append(self._edge(press, EdgeKind.START, 0, now, None))
        if report.end:  # everything before the end packets was lost
            edges.append(self._end(press, now, EndReason.END_BIT))
        return edges

    def _update(self, press: _Press, report: TelephoneEvent, now: float) -> list[KeyEdge]:
        if press.ended:
            return []
        step = (report.duration - press.duration) & _MAX_DURATION
        if 0 < step < 0x8000:  # newer report; older (reordered) ones do not shrink the key
            if report.duration < press.duration:  # the 16-bit duration wrapped
                press.duration_base += _MAX_DURATION + 1
            press.duration = report.duration
        press.last_seen = now
        if report.end:
            return [self._end(press, now, EndReason.END_BIT)]
        return []

    def _end(self, press: _Press, now: float, reason: EndReason) -> KeyEdge:
        press.ended = True
        self._recent_ends.append((press.ssrc, press.segment_timestamp, press.event))
        return self._edge(press, EdgeKind.END, press.total_duration, now, reason)

    def _edge(
        self, press: _Press, kind: EdgeKind, duration: int, now: float, reason: EndReason | None
    ) -> KeyEdge:
        return KeyEdge(
            kind=kind,
            digit=digit_for_event(press.event),
            event=press.event,
            timestamp=press.timestamp,
            ssrc=press.ssrc,
            duration=duration,
            clock_rate=self.clock_rate,
            now=now,
            reason=reason,
        )

    def _is_stale(self, latest: _Press, timestamp: int) -> bool:
        """A late packet: from an earlier segment of the latest press, or from a little
        before it began."""
        into_press = (timestamp - latest.timestamp) % _TIMESTAMP_MOD
        if into_press < (latest.segment_timestamp - latest.timestamp) % _TIMESTAMP_MOD:
            return True
        behind = (latest.timestamp - timestamp) % _TIMESTAMP_MOD
        return 0 < behind <= self._stale_window

    def _continues(self, latest: _Press, timestamp: int, event: int) -> bool:
        """A new segment of a long press (RFC 4733 §2.5.1.3) rather than a new press."""
        if latest.ended or event != latest.event:
            return False
        if latest.duration + self._segment_slack < _MAX_DURATION:
            return False
        gap = (timestamp - latest.segment_timestamp) % _TIMESTAMP_MOD
        return gap <= _MAX_DURATION + self._segment_slack


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventPacket:
    """One packet to send for a key.

    ``timestamp_offset`` is added to the key's RTP timestamp base (it is not 0 only for the
    later segments of a press longer than 0xFFFF units); ``send_offset_ms`` is when to send it,
    counted from the key's first packet.
    """

    marker: bool
    timestamp_offset: int
    payload: bytes
    send_offset_ms: int


class TelephoneEventSender:
    """The packets of one key toward one leg, with that leg's payload type and clock rate."""

    def __init__(
        self,
        payload_type: int,
        clock_rate: int = 8000,
        ptime_ms: int = 20,
        volume: int = DEFAULT_VOLUME,
        end_repeats: int = 3,
    ) -> None:
        if ptime_ms <= 0 or clock_rate <= 0 or end_repeats < 1:
            raise ValueError("ptime, clock rate and end repeats must be positive")
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.ptime_ms = ptime_ms
        self.volume = volume
        self.end_repeats = end_repeats
        self.units_per_packet = clock_rate * ptime_ms // 1000

    def packets(self, digit: str | int, duration_ms: int) -> list[EventPacket]:
        """Every packet of one press lasting ``duration_ms``: the first with the marker,
        updates every ptime with a growing duration, then the repeated end packets."""
        event = event_for_digit(digit) if isinstance(digit, str) else digit
        total = max(1, duration_ms * self.clock_rate // 1000)
        out = []
        elapsed = self.units_per_packet
        index = 0
        while True:
            out.append(self._packet(event, min(elapsed, total), False, index))
            index += 1
            if elapsed >= total:
                break
            elapsed += self.units_per_packet
        out += [self._packet(event, total, True, index + i) for i in range(self.end_repeats)]
        return out

    def start(self, digit: str | int) -> KeyTransmission:
        """A press of unknown length (a key detected in-band or relayed live)."""
        event = event_for_digit(digit) if isinstance(digit, str) else digit
        return KeyTransmission(self, event)

    def _packet(self, event: int, elapsed: int, end: bool, index: int) -> EventPacket:
        segment_offset = ((elapsed - 1) // _MAX_DURATION) * _MAX_DURATION if elapsed else 0
        report = TelephoneEvent(event, end, self.volume, elapsed - segment_offset)
        return EventPacket(
            marker=index == 0,
            timestamp_offset=segment_offset,
            payload=report.serialize(),
            send_offset_ms=index * self.ptime_ms,
        )


class KeyTransmission:
    """A press being sent live: :meth:`tick` every ptime while held, :meth:`finish` on release."""

    def __init__(self, sender: TelephoneEventSender, event: int) -> None:
        self._sender = sender
        self.event = event
        self._index = 0
        self.finished = False

    @property
    def elapsed(self) -> int:
        """Duration reported so far, in clock units."""
        return self._index * self._sender.units_per_packet

    def tick(self) -> EventPacket:
        if self.finished:
            raise ValueError("key already finished")
        self._index += 1
        return self._sender._packet(self.event, self.elapsed, False, self._index - 1)

    def finish(self) -> list[EventPacket]:
        if self.finished:
            return []
        self.finished = True
        if self._index == 0:  # released before the first tick: still send one start packet
            self._index = 1
            first = [self._sender._packet(self.event, self.elapsed, False, 0)]
        else:
            first = []
        total = self.elapsed
        return first + [
            self._sender._packet(self.event, total, True, self._index + i)
            for i in range(self._sender.end_repeats)
        ]
