"""Relay cost of the media engine next to a bare relay, measured in the same run.

N calls, each two legs relayed both ways, 20 ms G.711 packets from a sender process on
loopback (spread evenly over each 20 ms), received back by a receiver process that measures
loss and latency (send to receive, through the relay).  The relay under test runs in this
process on uvloop; its CPU time over the measured window gives µs per packet and % of a core
per call.  Cases:

- ``bare-reader``: no logic, ``add_reader`` + ``recv_into`` + ``send`` on connected sockets;
- ``bare-protocol``: no logic, ``DatagramProtocol`` + ``send`` (the other uvloop style);
- ``engine``: :class:`MediaEngine` with every call bridged;
- ``engine-detect``: the same with in-band key detection on every employee leg.

BLAS threads are limited to one (the script restarts itself with the variables set): the
media tick's matrix products are small, and a BLAS thread pool spinning on a second core costs
more than it saves.

Usage: ``python -m benchmarks.media_relay --calls 200 --seconds 5``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from b2bua.app.service import GC_THRESHOLDS
from b2bua.media.codec import PCMU
from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange

PTIME = 0.02
SLOTS = 20
"""Each 20 ms is cut in this many slots; the packets of a period are spread over them."""
STAMP = struct.Struct("!qI")  # send time (monotonic ns), call index: the payload's start
HEADER = struct.Struct("!BBHII")
PORTS = PortRange("127.0.0.1", 40000, 49999)


def phone_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    return sock


def speech_like(seconds: float) -> bytes:
    """Noise shaped a little like speech (not a key), as μ-law."""
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 3000, int(seconds * 8000))
    envelope = 0.5 + 0.5 * np.sin(np.arange(noise.size) * 2 * np.pi * 3 / 8000)
    return PCMU.encode(np.clip(noise * envelope, -32768, 32767).astype(np.int16)).tobytes()


def sender(clients: socket.socket, employees: socket.socket, legs: list[tuple[int, int]],
           start_at: float, seconds: float, window: tuple[float, float],
           result: Connection) -> None:
    """Both phones of every call send a packet every 20 ms, spread evenly over the period.

    Reports how many packets it sent inside ``window`` and how far behind schedule it fell
    (a sender that cannot keep up makes every figure of the run meaningless).
    """
    audio = speech_like(2.0)
    targets = [(clients, port_a, i, 0xC000 + i) for i, (port_a, _) in enumerate(legs)]
    targets += [(employees, port_b, i, 0xE000 + i) for i, (_, port_b) in enumerate(legs)]
    per_slot = [targets[k::SLOTS] for k in range(SLOTS)]
    packet = bytearray(12 + 160)
    period = 0
    in_window = 0
    worst_lag = 0.0
    while True:
        base = start_at + period * PTIME
        if base >= start_at + seconds:
            result.send((in_window, worst_lag))
            return
        offset = (period * 160) % (len(audio) - 160)
        packet[12:] = audio[offset:offset + 160]
        for slot, batch in enumerate(per_slot):
            wait = base + slot * PTIME / SLOTS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            worst_lag = max(worst_lag, -wait)
            if window[0] <= base < window[1]:
                in_window += len(batch)
            for sock, port, call, ssrc in batch:
                HEADER.pack_into(packet, 0, 0x80, 0, period & 0xFFFF, period * 160, ssrc)
                STAMP.pack_into(packet, 12, time.monotonic_ns(), call)
                sock.sendto(packet, ("127.0.0.1", port))
        period += 1


def receiver(clients: socket.socket, employees: socket.socket, window: tuple[float, float],
             until: float, result: Connection) -> None:
    """Count packets sent inside ``window`` and how long each took to come back."""
    import selectors
    selector = selectors.DefaultSelector()
    for sock in (clients, employees):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    low, high = int(window[0] * 1e9), int(window[1] * 1e9)
    latencies: list[int] = []
    received = 0
    while time.monotonic() < until:
        for key, _ in selector.select(0.05):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            while True:
                try:
                    data = sock.recv(2048)
                except BlockingIOError:
                    break
                now = time.monotonic_ns()
                if len(data) < 24 or data[1] & 0x7F != 0:
                    continue
                sent, _ = STAMP.unpack_from(data, 12)
                if low <= sent < high:
                    received += 1
                    latencies.append(now - sent)
    result.send((received, latencies))


class BareReader:
    """The cheapest relay we know how to write: latched, connected, recv_into, send."""

    def __init__(self, loop: asyncio.AbstractEventLoop, calls: int) -> None:
        self.sockets: list[socket.socket] = []
        self.legs: list[tuple[int, int]] = []
        buffer = bytearray(2048)
        view = memoryview(buffer)
        for _ in range(calls):
            a, b = self._open(), self._open()
            for this, other in ((a, b), (b, a)):
                loop.add_reader(this.fileno(), self._relay(this, other, buffer, view))
            self.legs.append((a.getsockname()[1], b.getsockname()[1]))

    def _open(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    @staticmethod
    def _relay(this: socket.socket, other: socket.socket, buffer: bytearray,
               view: memoryview) -> Callable[[], None]:
        latched = [False]

        def readable() -> None:
            try:
                if latched[0]:
                    size = this.recv_into(buffer)
                else:
                    size, source = this.recvfrom_into(buffer)
                    this.connect(source)
                    latched[0] = True
                other.send(view[:size])
            except OSError:
                pass
        return readable

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


class BareProtocol:
    """The same relay written as ``DatagramProtocol`` endpoints."""

    def __init__(self, loop: asyncio.AbstractEventLoop, calls: int) -> None:
        self.transports: list[Any] = []
        self.legs: list[tuple[int, int]] = []
        for _ in range(calls):
            a, b = self._open(), self._open()
            for this, other in ((a, b), (b, a)):
                endpoint = loop.create_datagram_endpoint(
                    lambda this=this, other=other: _Forward(this, other), sock=this)
                self.transports.append(loop.run_until_complete(endpoint)[0])
            self.legs.append((a.getsockname()[1], b.getsockname()[1]))

    @staticmethod
    def _open() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        for transport in self.transports:
            transport.close()


class _Forward(asyncio.DatagramProtocol):
    def __init__(self, this: socket.socket, other: socket.socket) -> None:
        self.this, self.other = this, other
        self.latched = False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.latched:
            self.this.connect(addr)
            self.latched = True
        with contextlib.suppress(OSError):
            self.other.send(data)


class EngineCase:
    def __init__(self, loop: asyncio.AbstractEventLoop, calls: int, clients: tuple[str, int],
                 employees: tuple[str, int], detect: bool) -> None:
        self.engine = MediaEngine(PORTS, rtp_timeout=None)
        self.engine.start(loop)
        self.legs = []
        for _ in range(calls):
            a, b = self.engine.allocate(), self.engine.allocate()
            self.engine.configure(a, remote=clients)
            self.engine.configure(b, remote=employees)
            self.engine.bridge(a, b)
            if detect:
                self.engine.set_detection(b, inband=True)
            self.legs.append((self.engine.local_port(a), self.engine.local_port(b)))

    def close(self) -> None:
        self.engine.close()


def run_case(case: str, calls: int, seconds: float, warmup: float,
             service_gc: bool = True) -> dict[str, float]:
    import uvloop
    default_gc = gc.get_threshold()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    clients, employees = phone_socket(), phone_socket()
    relay: Any
    if case == "bare-reader":
        relay = BareReader(loop, calls)
    elif case == "bare-protocol":
        relay = BareProtocol(loop, calls)
    else:
        relay = EngineCase(loop, calls, clients.getsockname(), employees.getsockname(),
                           detect=case == "engine-detect")
    if service_gc:  # as ``b2bua serve`` runs: start-up objects frozen, few young collections
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
    start_at = time.monotonic() + 0.5
    window = (start_at + warmup, start_at + warmup + seconds)
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    sender_end, sender_child_end = context.Pipe()
    processes = [
        context.Process(target=sender, args=(clients, employees, relay.legs, start_at,
                                             warmup + seconds, window, sender_child_end)),
        context.Process(target=receiver, args=(clients, employees, window, window[1] + 0.5,
                                               child_end)),
    ]
    for process in processes:
        process.start()
    loop.run_until_complete(asyncio.sleep(window[0] - time.monotonic()))
    cpu_start = time.process_time()
    loop.run_until_complete(asyncio.sleep(window[1] - time.monotonic()))
    cpu = time.process_time() - cpu_start
    loop.run_until_complete(asyncio.sleep(0.6))
    received, latencies = parent_end.recv()
    sent, sender_lag = sender_end.recv()
    for process in processes:
        process.join()
    relay.close()
    loop.close()
    gc.unfreeze()
    gc.set_threshold(*default_gc)
    lat = np.asarray(latencies, np.float64) / 1e3
    return {
        "packets": sent,
        "sender_lag_ms": sender_lag * 1e3,
        "cpu_us_per_packet": cpu / sent * 1e6,
        "core_pct_per_call": cpu / seconds * 100 / calls,
        "core_pct": cpu / seconds * 100,
        "loss_pct": max(0.0, (sent - received) / sent * 100),
        "latency_p50_us": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "latency_p99_us": float(np.percentile(lat, 99)) if lat.size else float("nan"),
    }


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main() -> None:
    if any(os.environ.get(name) != "1" for name in BLAS_THREADS):
        os.environ.update({name: "1" for name in BLAS_THREADS})
        os.execv(sys.executable, [sys.executable, "-m", "benchmarks.media_relay", *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--cases", default="bare-reader,bare-protocol,engine,engine-detect")
    parser.add_argument("--default-gc", action="store_true",
                        help="keep Python's GC thresholds (the service freezes and raises them)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the cases this many times, interleaved; report medians")
    args = parser.parse_args()
    try:
        import dsp.dtmf  # noqa: F401
        detector = "dsp.dtmf"
    except ImportError:
        detector = "MISSING (capture and decode only)"
    print(f"media_relay: calls={args.calls} seconds={args.seconds} warmup={args.warmup} "
          f"repeat={args.repeat} gc={'default' if args.default_gc else 'service'} "
          f"ptime=20ms packets/s={args.calls * 100} detector={detector} "
          f"python={sys.version.split()[0]} cpus={os.cpu_count()}")
    print(f"{'case':<14} {'µs/packet':>10} {'%core/call':>11} {'%core':>7} {'loss%':>7} "
          f"{'p50 µs':>8} {'p99 µs':>8} {'sender lag ms':>14}")
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for case in args.cases.split(","):
            r = run_case(case, args.calls, args.seconds, args.warmup, not args.default_gc)
            runs.setdefault(case, []).append(r)
            print(f"{case:<14} {r['cpu_us_per_packet']:>10.2f} {r['core_pct_per_call']:>11.3f} "
                  f"{r['core_pct']:>7.1f} {r['loss_pct']:>7.2f} {r['latency_p50_us']:>8.0f} "
                  f"{r['latency_p99_us']:>8.0f} {r['sender_lag_ms']:>14.1f}", flush=True)
            if r["sender_lag_ms"] > PTIME * 1e3:
                print(f"  (the sender fell {r['sender_lag_ms']:.0f} ms behind: the machine is "
                      "saturated, figures of this case are not valid)")
    results = {case: {key: float(np.median([r[key] for r in rs])) for key in rs[0]}
               for case, rs in runs.items()}
    if args.repeat > 1:
        print(f"medians of {args.repeat} runs (cases interleaved):")
        for case, r in results.items():
            print(f"{case:<14} {r['cpu_us_per_packet']:>10.2f} {r['core_pct_per_call']:>11.3f} "
                  f"{r['core_pct']:>7.1f} {r['loss_pct']:>7.2f} {r['latency_p50_us']:>8.0f} "
                  f"{r['latency_p99_us']:>8.0f} {r['sender_lag_ms']:>14.1f}")
    base = results.get("bare-reader")
    if base:
        for case, r in results.items():
            if case != "bare-reader":
                print(f"{case}: {r['cpu_us_per_packet'] / base['cpu_us_per_packet']:.2f}x bare "
                      f"CPU, added latency p50 {r['latency_p50_us'] - base['latency_p50_us']:.0f}"
                      f" µs p99 {r['latency_p99_us'] - base['latency_p99_us']:.0f} µs")
        per_call = results.get("engine-detect", results.get("engine", base))
        calls_per_core = 100 / per_call["core_pct_per_call"]
        print(f"projected calls per core at 100% CPU: {calls_per_core:.0f}")


if __name__ == "__main__":
    main()
