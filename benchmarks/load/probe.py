"""Measuring media through a path: an RTP probe with send times in its payload, and a sink.

:class:`RtpProbe` owns a few RTP streams (one socket each, on ports the probe calls put in
their SDP). Every 20 ms it sends one PCMA packet per stream whose payload starts with the send
time (``CLOCK_REALTIME`` ns) and the stream's index; the far end echoes it back, and the
receive time is the kernel's (``SO_TIMESTAMPNS``), so the probe's own scheduling delays on
receive do not count. Round trips and losses are kept per packet, for packets sent inside a
measuring window.

:class:`PortSink` binds the media ports a SIPp client advertises but does not listen on (its
``[auto_media_port]``: ``-mp`` + 4 per call), so that RTP sent back to them is dropped quietly
instead of drawing ICMP port-unreachable errors; a small receive buffer keeps that cheap.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass

STAMP = struct.Struct("!qH")
RTP = struct.Struct("!BBHII")
PTIME_NS = 20_000_000
PAYLOAD = 160
SILENCE_PCMA = 0xD5
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")


def probe_packet(stream: int, sequence: int, sent_ns: int, ssrc: int) -> bytes:
    header = RTP.pack(0x80, 8, sequence & 0xFFFF, (sequence * PAYLOAD) & 0xFFFFFFFF, ssrc)
    stamp = STAMP.pack(sent_ns, stream)
    return header + stamp + bytes([SILENCE_PCMA]) * (PAYLOAD - len(stamp))


def read_stamp(packet: bytes) -> tuple[int, int] | None:
    """(send time ns, stream) of a probe packet, or None for anything else."""
    if len(packet) < RTP.size + STAMP.size or packet[0] != 0x80:
        return None
    sent_ns, stream = STAMP.unpack_from(packet, RTP.size)
    return sent_ns, stream


def kernel_time_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanos = TIMESPEC.unpack_from(data)
            return int(seconds) * 1_000_000_000 + int(nanos)
    return None


@dataclass
class ProbeFigures:
    sent: int
    received: int
    round_trips_ms: list[float]

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def loss_pct(self) -> float:
        return 100 * self.lost / self.sent if self.sent else float("nan")


class RtpProbe:
    """`streams` RTP streams sending every 20 ms to the addresses given to `aim`."""

    def __init__(self, streams: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(streams):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            self.sockets.append(sock)
        self.remotes: list[tuple[str, int] | None] = [None] * streams
        self.window = (0, 0)
        self._sent: dict[tuple[int, int], int] = {}
        self._round_trips: list[float] = []
        self._received = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send_loop, daemon=True),
                         threading.Thread(target=self._receive_loop, daemon=True)]

    @property
    def ports(self) -> list[int]:
        return [int(s.getsockname()[1]) for s in self.sockets]

    def aim(self, stream: int, remote: tuple[str, int]) -> None:
        self.remotes[stream] = remote

    def start(self) -> RtpProbe:
        for thread in self._threads:
            thread.start()
        return self

    def measure(self, seconds: float) -> ProbeFigures:
        """Count the packets sent during the next `seconds` and their round trips."""
        now = time.time_ns()
        with self._lock:
            self._sent.clear()
            self._round_trips.clear()
            self._received = 0
            self.window = (now, now + int(seconds * 1e9))
        time.sleep(seconds + 0.5)  # the last packets' way back
        with self._lock:
            return ProbeFigures(len(self._sent), self._received, list(self._round_trips))

    def _send_loop(self) -> None:
        sequence = 0
        next_at = time.monotonic_ns()
        while not self._stop.is_set():
            for index, (sock, remote) in enumerate(zip(self.sockets, self.remotes, strict=True)):
                if remote is None:
                    continue
                sent_ns = time.time_ns()
                with self._lock:  # before sending: the echo may be back before sendto returns
                    if self.window[0] <= sent_ns < self.window[1]:
                        self._sent[(index, sent_ns)] = sequence
                with contextlib.suppress(OSError):
                    sock.sendto(probe_packet(index, sequence, sent_ns, 0x9B0B0000 + index),
                                remote)
            sequence += 1
            next_at += PTIME_NS
            pause = (next_at - time.monotonic_ns()) / 1e9
            if pause > 0:
                time.sleep(pause)

    def _receive_loop(self) -> None:
        selector = selectors.DefaultSelector()
        for sock in self.sockets:
            selector.register(sock, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in selector.select(0.1):
                self._drain(key.fileobj)  # type: ignore[arg-type]
        selector.close()

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            stamp = read_stamp(data)
            if stamp is None:
                continue
            arrived = kernel_time_ns(ancillary) or time.time_ns()
            with self._lock:
                if (stamp[1], stamp[0]) in self._sent:
                    self._received += 1
                    self._round_trips.append((arrived - stamp[0]) / 1e6)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(2)
        for sock in self.sockets:
            sock.close()


class PortSink:
    """Binds the RTP and RTCP ports of SIPp's ``[auto_media_port]`` for `calls` calls."""

    def __init__(self, media_port: int, calls: int) -> None:
        self.sockets: list[socket.socket] = []
        self.unbound = 0
        wanted = {media_port + 1}
        for number in range(1, min(calls, 2500)):
            base = media_port + 4 * number
            wanted |= {base, base + 1}
        for port in sorted(wanted):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                self.unbound += 1
                continue
            self.sockets.append(sock)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
