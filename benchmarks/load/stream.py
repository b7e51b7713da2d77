"""RTP for many calls from one process, cheaply: the client side of the ``media`` benchmark.

:class:`RtpLoad` runs in a child process with one UDP socket. Every 20 ms it sends one PCMA
packet of speech-like audio to each call's media address (the B2BUA's port in the answer, or
the echoing phone's), spread evenly over the period, with ``sendmmsg``; each payload starts with
its send time (``CLOCK_REALTIME`` ns). The far end echoes the packets back to the socket they
came from; they are read with ``recvmmsg`` and the kernel's arrival time (``SO_TIMESTAMPNS``),
so the round trip does not include this process's own scheduling. Where SIPp's pcap play needs a
thread per call, this costs a few microseconds of kernel time per packet, which lets one core of
relay be loaded for real on a two-core machine.

Measuring works as with :class:`~benchmarks.load.probe.RtpProbe`: packets sent inside a
window, how many came back, and their round trips. :class:`RtpEcho` is the far end for the
employees' phones: every datagram goes back where it came from, in batches too.
"""

from __future__ import annotations

import multiprocessing
import select
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from benchmarks.load.pcap import SPEECH_SECONDS, speech_like
from benchmarks.load.probe import ProbeFigures
from benchmarks.mmsg import Inbox, Outbox
from dsp.g711 import encode

PTIME = 0.02
SLOTS = 20
"""Each 20 ms is cut in this many slots; every call sends in one of them."""
PAYLOAD = 160
PCMA = 8
SSRC_BASE = 0x10AD0000


class _Child:
    """A child process that owns one UDP socket on 127.0.0.1 and runs ``target`` on it."""

    def __init__(self, target: Callable[[socket.socket, Connection], None]) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(target, child), daemon=True)
        self._process.start()
        self.port: int = self._control.recv()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid


def _serve(target: Callable[[socket.socket, Connection], None], control: Connection) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    control.send(sock.getsockname()[1])
    target(sock, control)


class RtpLoad(_Child):
    """Streams to the addresses given to `aim`, from a child process, until `close`."""

    def __init__(self) -> None:
        super().__init__(_stream)
        self.targets = 0
        self.worst_lag_ms = 0.0

    def aim(self, targets: list[tuple[str, int]]) -> None:
        """Send to these addresses from now on (one stream each; the list may only grow)."""
        self.targets = len(targets)
        self._control.send(("aim", targets))

    def measure(self, seconds: float) -> ProbeFigures:
        """Count the packets sent during the next `seconds` and their round trips."""
        self.begin(seconds)
        return self.figures()

    def begin(self, seconds: float) -> None:
        """Start counting the packets sent during the next `seconds` (see `figures`)."""
        self._control.send(("measure", seconds))

    def figures(self) -> ProbeFigures:
        """What `begin` counted: ready half a second after its window, waited for until then.
        `worst_lag_ms` is then how far the sending fell behind its schedule in the window."""
        sent, received, round_trips, worst_lag = self._control.recv()
        self.worst_lag_ms = worst_lag * 1e3
        return ProbeFigures(sent, received, round_trips)

    def close(self) -> None:
        if self._process.is_alive():
            self._control.send(("stop", None))
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
        self._control.close()


class RtpEcho(_Child):
    """The employees' phones' media: every datagram sent straight back where it came from.

    One socket in a child process, read with ``recvmmsg`` and answered with ``sendmmsg``; it
    waits for the socket to be readable, then lets up to half a millisecond of packets gather
    before each read, which costs far less than one wake-up per packet.
    """

    def __init__(self) -> None:
        super().__init__(_echo)

    def close(self) -> None:
        self._process.kill()
        self._process.join(5)
        self._control.close()


def _echo(sock: socket.socket, control: Connection) -> None:
    inbox = Inbox(sock, batch=512)
    while True:
        select.select([sock], [], [])
        time.sleep(0.0005)
        while count := inbox.receive():
            inbox.send_back(count)


class _Streams:
    """The packets of the calls aimed at, in rows ordered by slot."""

    def __init__(self, targets: list[tuple[str, int]]) -> None:
        order = sorted(range(len(targets)), key=lambda call: call % SLOTS)
        self.outbox = Outbox([targets[call] for call in order], 12 + PAYLOAD)
        packets = self.outbox.packets
        packets[:, 0] = 0x80
        packets[:, 1] = PCMA
        packets[:, 8:12].view(">u4")[:, 0] = [SSRC_BASE + call for call in order]
        self.sequence = packets[:, 2:4].view(">u2")[:, 0]
        self.timestamp = packets[:, 4:8].view(">u4")[:, 0]
        self.stamps = packets[:, 12:20].view(">i8")[:, 0]
        slots = [call % SLOTS for call in order]
        self.bounds = [(slots.index(s), len(slots) - slots[::-1].index(s)) if s in slots
                       else (0, 0) for s in range(SLOTS)]


def _stream(sock: socket.socket, control: Connection) -> None:
    inbox = Inbox(sock, batch=512)
    audio = np.frombuffer(encode(speech_like(SPEECH_SECONDS), "alaw").tobytes(), np.uint8)
    streams: _Streams | None = None
    window = (0, 0)
    report_at: float | None = None
    sent = received = 0
    worst_lag = 0.0
    round_trips: list[np.ndarray[Any, Any]] = []
    start = time.monotonic()
    period = 0
    while True:
        while control.poll():
            command, argument = control.recv()
            if command == "stop":
                sock.close()
                return
            if command == "aim":
                streams = _Streams(argument)
            else:
                now = time.time_ns()
                window = (now, now + int(argument * 1e9))
                report_at = time.monotonic() + argument + 0.5  # the last packets' way back
                sent = received = 0
                worst_lag = 0.0
                round_trips = []
        base = start + period * PTIME
        if streams is not None:
            offset = (period * PAYLOAD) % (len(audio) - PAYLOAD)
            streams.outbox.packets[:, 20:] = audio[offset + 8:offset + PAYLOAD]
            streams.sequence[:] = period & 0xFFFF
            streams.timestamp[:] = (period * PAYLOAD) & 0xFFFFFFFF
        for slot in range(SLOTS):
            wait = base + slot * PTIME / SLOTS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if streams is not None:
                first, last = streams.bounds[slot]
                now = time.time_ns()
                streams.stamps[first:last] = now
                if window[0] <= now < window[1]:
                    sent += last - first
                    worst_lag = max(worst_lag, -wait)
                streams.outbox.send(sock, first, last)
            while count := inbox.receive():
                data = inbox.data[:count]
                stamps = data[:, 12:20].view(">i8")[:, 0].astype(np.int64)
                keep = (inbox.lengths(count) >= 20) & (data[:, 1] & 0x7F == PCMA) & \
                    (stamps >= window[0]) & (stamps < window[1])
                received += int(keep.sum())
                round_trips.append((inbox.arrivals_ns(count) - stamps)[keep])
        if report_at is not None and time.monotonic() >= report_at:
            trips = np.concatenate(round_trips) / 1e6 if round_trips else np.zeros(0)
            control.send((sent, received, trips.tolist(), worst_lag))
            report_at = None
        period += 1
