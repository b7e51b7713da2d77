"""The per-packet path: one RTP endpoint per leg, and routes that relay packets between legs.

A :class:`Stream` owns the leg's RTP socket.  It latches on the first packet from the address
the SDP announced (same IP, any port), then connects the socket to that source: the kernel
drops packets from anyone else and ``send`` is cheaper than ``sendto``.  Each received packet
is read into one preallocated buffer with ``recv_into``; the header is read with one
``struct`` call; the payload is copied into the leg's jitter buffer only when the media tick
needs it; then every :class:`Route` from this leg rewrites the header in place and sends.

A route keeps the outgoing stream of its destination continuous: the destination keeps one
SSRC for life (the first source's, or its own), and sequence numbers and timestamps are shifted
so that they follow on from the last packet sent, whatever fed it before (another leg, the
mixer, the player, our own key events).  When nothing changed, the shift is zero and the
packet goes out untouched.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Final

from b2bua.media.codec import BY_INDEX, TRANSCODE, Codec
from b2bua.media.jitter import FRAME, Capture
from b2bua.media.rtp import RtpError, is_rtcp, parse_header, payload_end

HEADER: Final = struct.Struct("!BBHII")
unpack_header: Final = HEADER.unpack_from
REWRITE: Final = struct.Struct("!BHII")
WRAP: Final = 0xFFFFFFFF
RATE: Final = 8000
BUFFER_SIZE: Final = 2048

EventListener = Callable[["Stream", int, int, int, bool, bytes], bool]
"""``(stream, sequence, timestamp, ssrc, marker, payload) -> drop``: telephone-event packets of
a leg with key detection on; returning True drops the packet (a swallowed key)."""


def elapsed_samples(seconds: float) -> int:
    """Timestamp advance for a pause of ``seconds``: whole frames, at least one."""
    return max(FRAME, round(seconds * RATE / FRAME) * FRAME)


def continuation(last_sequence: int, last_timestamp: int, elapsed: int, sequence: int,
                 timestamp: int) -> tuple[int, int]:
    """Shifts that make a packet ``(sequence, timestamp)`` follow the last one sent.

    The next packet goes out as ``last_sequence + 1`` and ``last_timestamp + elapsed``, all
    modulo 2**16 and 2**32; later packets of the same source keep the same shifts.
    """
    return (last_sequence + 1 - sequence) & 0xFFFF, (last_timestamp + elapsed - timestamp) & WRAP


def is_stale(source: tuple[str, int], remote: tuple[str, int], stale: tuple[str, int],
             until: float, now: float) -> bool:
    """Whether a packet from ``source`` is a late one of the port pair's previous stream.

    It is when it comes from exactly where that stream latched, before ``until``, unless the
    SDP announces that very address for the new stream.
    """
    address = (source[0], source[1])
    return now < until and address == stale and address != remote


PACKETS_PER_CHECK: Final = 256
"""Packets between two looks, from the packet path, at whether the media tick is overdue."""


def never_overdue() -> bool:
    return False


class Clock:
    """The engine's coarse clock (updated on every media tick), shared by all streams.

    It also counts packets down to the next look at whether the tick is overdue: under heavy
    load uvloop keeps serving ready sockets for up to 48 polls in a row (when each returns
    1,024 of them) before it runs any timer, and the tick would starve for hundreds of ms.
    ``run_if_overdue`` runs it then, and says whether it did.
    """

    __slots__ = ("countdown", "now", "run_if_overdue")

    def __init__(self, now: float) -> None:
        self.now = now
        self.countdown = PACKETS_PER_CHECK
        self.run_if_overdue: Callable[[], bool] = never_overdue


SILENT_PAYLOAD: Final = {index: bytes([codec.silence]) * BUFFER_SIZE
                          for index, codec in enumerate(BY_INDEX)}


def do_nothing() -> None:
    pass


class Stream:
    """One leg's RTP endpoint: socket, latching, what it receives and what it sends.

    ``buffer`` is where packets are read; the engine gives all its streams the same one (a
    packet is done with before the next is read, and one buffer stays in the CPU cache).
    """

    __slots__ = ("audio_pt", "buffer", "capture", "clock", "codec", "event_listener",
                 "event_pt", "feeder", "id", "latched", "on_error", "out_seq", "out_ssrc",
                 "out_started", "out_time", "out_ts", "port", "recv_into", "remote", "route",
                 "routes", "rtcp", "rx_bad", "rx_other", "rx_packets", "rx_seq", "rx_ssrc",
                 "rx_stray", "sends", "silenced", "sock", "stale_source", "stale_until",
                 "tx_errors", "tx_octets", "tx_packets", "view")

    def __init__(self, stream_id: int, port: int, sock: socket.socket, rtcp: socket.socket,
                 clock: Clock, codec: Codec, buffer: bytearray | None = None) -> None:
        self.id = stream_id
        self.port = port
        self.sock = sock
        self.recv_into = sock.recv_into
        self.rtcp = rtcp
        self.clock = clock
        self.buffer = bytearray(BUFFER_SIZE) if buffer is None else buffer
        self.view = memoryview(self.buffer)
        self.codec = codec
        self.audio_pt = codec.static_pt
        self.event_pt: int | None = None
        self.remote: tuple[str, int] | None = None
        """Where the SDP says the leg receives; None while unknown or on hold (0.0.0.0)."""
        self.latched = False
        self.stale_source: tuple[str, int] | None = None
        """Where the previous stream on this port pair latched: refused until ``stale_until``."""
        self.stale_until = 0.0
        self.sends = False
        self.routes: list[Route] = []
        self.route: Route | None = None
        """The only route leaving this stream, when there is exactly one (the usual bridge)."""
        self.feeder: Route | None = None
        self.capture: Capture | None = None
        self.silenced = False
        self.event_listener: EventListener | None = None
        self.on_error: Callable[[], None] = do_nothing
        """Called when a read fails with a socket error (a queued ICMP error, say): with
        uvloop the socket's reader must then be registered again."""
        self.out_started = False
        self.out_ssrc = 0
        self.out_seq = 0
        self.out_ts = 0
        self.out_time = 0.0
        self.rx_packets = 0
        self.rx_stray = 0
        self.rx_bad = 0
        self.rx_other = 0
        self.rx_seq = 0
        self.rx_ssrc = 0
        self.tx_packets = 0
        self.tx_octets = 0
        self.tx_errors = 0

    # -- receiving ------------------------------------------------------------------------

    def on_readable(self) -> None:
        """Event-loop reader callback: one datagram per call (the loop calls again if more)."""
        clock = self.clock
        clock.countdown -= 1
        if not clock.countdown:
            clock.countdown = PACKETS_PER_CHECK
            if clock.run_if_overdue():
                return  # the tick may have released this stream: read on the next call
        buffer = self.buffer
        try:
            if self.latched:
                size = self.recv_into(buffer)
            else:
                size, source = self.sock.recvfrom_into(buffer)
                if not self._accept(source, size):
                    return
        except BlockingIOError:
            return
        except OSError:
            self.on_error()
            return
        if size < 12:
            self.rx_bad += 1
            return
        first, second, sequence, timestamp, ssrc = unpack_header(buffer)
        self.rx_packets += 1
        self.rx_seq = sequence
        self.rx_ssrc = ssrc
        if first == 0x80:
            start = 12
            end = size
        else:
            bounds = self._payload_bounds(size)
            if bounds is None:
                return
            start, end = bounds
        payload_type = second & 0x7F
        if payload_type == self.audio_pt:
            view = self.view
            capture = self.capture
            if capture is not None:
                capture.write(timestamp, view, start, end)
            if self.silenced:
                view[start:end] = SILENT_PAYLOAD[self.codec.index][:end - start]
            route = self.route
            if route is not None and route.passthrough and ssrc == route.in_ssrc:
                # Route.audio of an unchanged packet, inlined: nearly every packet comes here
                dest = route.dest
                dest.out_seq = sequence
                dest.out_ts = timestamp
                dest.out_time = self.clock.now
                if dest.sends:
                    try:
                        if dest.latched:
                            dest.sock.send(view[:size])
                        else:
                            dest.sock.sendto(view[:size], dest.remote)  # type: ignore[arg-type]
                    except OSError:
                        dest.tx_errors += 1
                        return
                    dest.tx_packets += 1
                    dest.tx_octets += size - 12
                return
            for route in self.routes:
                route.audio(view, size, start, second, sequence, timestamp, ssrc)
        elif payload_type == self.event_pt:
            self._event(size, start, end, second, sequence, timestamp, ssrc)
        else:
            self.rx_other += 1
            for route in self.routes:
                route.skip()

    def _accept(self, source: tuple[str, int], size: int) -> bool:
        """Before latching: take the first RTP packet from the SDP's address and connect to it.

        Only what looks like RTP latches: RTCP (types 192-223, RFC 5761 §4), STUN or stubs
        from that address (another stream's reports, say) would tie the leg to the wrong port.
        """
        remote = self.remote
        if remote is None or source[0] != remote[0] or size < 12 or \
                self.buffer[0] >> 6 != 2 or is_rtcp(self.buffer) or (
                self.stale_source is not None and is_stale(source, remote, self.stale_source,
                                                           self.stale_until, self.clock.now)):
            self.rx_stray += 1
            return False
        try:
            self.sock.connect(source)
        except OSError:
            self.rx_stray += 1
            return False
        self.remote = (source[0], source[1])
        self.latched = True
        return True

    def _payload_bounds(self, size: int) -> tuple[int, int] | None:
        view = self.view[:size]
        try:
            if view[0] >> 6 != 2:
                raise RtpError("not RTP version 2")
            start = parse_header(view)[5]
            return start, payload_end(view, start)
        except RtpError:
            self.rx_bad += 1
            self.rx_packets -= 1
            return None

    def _event(self, size: int, start: int, end: int, second: int, sequence: int,
               timestamp: int, ssrc: int) -> None:
        listener = self.event_listener
        if listener is not None and listener(self, sequence, timestamp, ssrc, bool(second & 0x80),
                                             bytes(self.view[start:end])):
            for route in self.routes:
                route.skip()
            return
        for route in self.routes:
            route.event(self.view, size, second, sequence, timestamp, ssrc)

    # -- sending --------------------------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if not self.sends:
            return
        try:
            if self.latched:
                self.sock.send(data)
            else:
                assert self.remote is not None  # sends is only set with a remote
                self.sock.sendto(data, self.remote)
        except OSError:
            self.tx_errors += 1
            return
        self.tx_packets += 1
        self.tx_octets += len(data) - 12

    def emit(self, payload: bytes, payload_type: int, *, marker: bool = False,
             timestamp: int | None = None, new_ssrc: int = 0) -> None:
        """Send a packet we originate (mixer, player, key events), continuing the stream."""
        if not self.out_started:
            self.out_started = True
            self.out_ssrc = new_ssrc
            self.out_seq = new_ssrc & 0x7FFF
            self.out_ts = new_ssrc >> 1
            marker = True
        else:
            self.out_ts = (self.out_ts + elapsed_samples(self.clock.now - self.out_time)) & WRAP
        self.out_seq = (self.out_seq + 1) & 0xFFFF
        self.out_time = self.clock.now
        feeder = self.feeder
        if feeder is not None:
            feeder.seq_shift = (feeder.seq_shift + 1) & 0xFFFF
            feeder.passthrough = False
        header = HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, self.out_seq,
                             self.out_ts if timestamp is None else timestamp, self.out_ssrc)
        self.send(header + payload)

    def set_routes(self, routes: list[Route]) -> None:
        self.routes = routes
        self.route = routes[0] if len(routes) == 1 else None

    def close(self) -> None:
        self.sock.close()
        self.rtcp.close()


class Route:
    """Packets received on ``source`` relayed to ``dest``, rewritten to keep ``dest`` continuous."""

    __slots__ = ("clock", "dest", "in_ssrc", "mark", "passthrough", "seq_shift", "shared",
                 "source", "transcode", "ts_shift")

    def __init__(self, source: Stream, dest: Stream, *, shared: bool = False) -> None:
        self.source = source
        self.dest = dest
        self.clock = dest.clock
        self.shared = shared
        """Several routes leave ``source``: each must rewrite the whole header."""
        self.in_ssrc = -1
        self.seq_shift = 0
        self.ts_shift = 0
        self.passthrough = False
        self.mark = False
        self.transcode = (None if source.codec is dest.codec
                          else TRANSCODE[(source.codec.name, dest.codec.name)])

    def still_fits(self, shared: bool) -> bool:
        """Whether this route can go on after a rewiring (same sharing, same codecs)."""
        transcode = (None if self.source.codec is self.dest.codec
                     else TRANSCODE[(self.source.codec.name, self.dest.codec.name)])
        return shared == self.shared and transcode is self.transcode

    def anchor(self, sequence: int, timestamp: int, ssrc: int) -> None:
        """First packet of a source (or a new SSRC): compute the shifts that continue ``dest``."""
        dest = self.dest
        self.in_ssrc = ssrc
        if not dest.out_started:
            dest.out_started = True
            dest.out_ssrc = ssrc
            self.seq_shift = self.ts_shift = 0
        else:
            elapsed = elapsed_samples(self.clock.now - dest.out_time)
            self.seq_shift, self.ts_shift = continuation(dest.out_seq, dest.out_ts, elapsed,
                                                         sequence, timestamp)
            self.mark = True
        self.passthrough = (self.seq_shift == 0 and self.ts_shift == 0 and not self.mark
                            and ssrc == dest.out_ssrc and self.transcode is None
                            and not self.shared and self.source.audio_pt == dest.audio_pt)

    def audio(self, view: memoryview, size: int, start: int, second: int, sequence: int,
              timestamp: int, ssrc: int) -> None:
        dest = self.dest
        if ssrc != self.in_ssrc:
            self.anchor(sequence, timestamp, ssrc)
        if not self.passthrough:
            self._rewritten(view, size, start, second, sequence, timestamp)
            return
        dest.out_seq = sequence
        dest.out_ts = timestamp
        dest.out_time = self.clock.now
        if dest.sends:  # Stream.send, inlined: this is the path of nearly every packet
            try:
                if dest.latched:
                    dest.sock.send(view[:size])
                else:
                    dest.sock.sendto(view[:size], dest.remote)  # type: ignore[arg-type]
            except OSError:
                dest.tx_errors += 1
                return
            dest.tx_packets += 1
            dest.tx_octets += size - 12

    def _rewritten(self, view: memoryview, size: int, start: int, second: int, sequence: int,
                   timestamp: int) -> None:
        """Relay with the header rewritten (new sequence, timestamp, SSRC, PT; transcoded)."""
        dest = self.dest
        sequence = (sequence + self.seq_shift) & 0xFFFF
        timestamp = (timestamp + self.ts_shift) & WRAP
        marker = second & 0x80
        if self.mark:
            marker = 0x80
            self.mark = False
        REWRITE.pack_into(view, 1, marker | dest.audio_pt, sequence, timestamp, dest.out_ssrc)
        if self.transcode is None:
            dest.send(view[:size])
        else:
            dest.send(bytes(view[:start]) + bytes(view[start:size]).translate(self.transcode))
        dest.out_seq = sequence
        dest.out_ts = timestamp
        dest.out_time = self.clock.now

    def event(self, view: memoryview, size: int, second: int, sequence: int, timestamp: int,
              ssrc: int) -> None:
        dest = self.dest
        if dest.event_pt is None:
            self.skip()
            return
        if ssrc != self.in_ssrc:
            self.anchor(sequence, timestamp, ssrc)
        sequence = (sequence + self.seq_shift) & 0xFFFF
        timestamp = (timestamp + self.ts_shift) & WRAP
        REWRITE.pack_into(view, 1, (second & 0x80) | dest.event_pt, sequence, timestamp,
                          dest.out_ssrc)
        dest.send(view[:size])
        dest.out_seq = sequence
        dest.out_time = self.clock.now

    def skip(self) -> None:
        """A packet of the source is not relayed: close the gap in ``dest``'s sequence."""
        self.seq_shift = (self.seq_shift - 1) & 0xFFFF
        self.passthrough = False
