"""Relay cost of the media engine next to a bare relay, measured in the same run.

N calls, each two legs relayed both ways. Both phones of every call are the streamer of the
``media`` benchmark (:class:`benchmarks.load.stream.RtpLoad`, one socket in a child process):
it sends 20 ms PCMA speech-like packets to every leg, spread evenly over each 20 ms, and
measures what comes back through the relay: loss, and latency from the send stamp in the
payload to the kernel's arrival time. It uses batched system calls, so it takes little of the
second core and the relay can be loaded up to a full core of its own (it is pinned to the first
CPU, the streamer to the others). The relay under test runs in this process on uvloop; its CPU
time over the measured window gives µs per packet and % of a core per call.  Cases:

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
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from b2bua.app.service import GC_THRESHOLDS
from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange
from benchmarks.load import procfs
from benchmarks.load.stream import RtpLoad

PTIME_MS = 20.0
PORTS = PortRange("127.0.0.1", 40000, 49999)


def udp_drops() -> int:
    """Datagrams the kernel dropped on full buffers, machine-wide (not those sent to no
    socket: the engine's RTCP reports go to the phones' RTP port + 1, where nothing listens)."""
    counters = procfs.udp_counters()
    return counters.get("InErrors", 0) + counters.get("SndbufErrors", 0)


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
    def __init__(self, loop: asyncio.AbstractEventLoop, calls: int, phones: tuple[str, int],
                 detect: bool) -> None:
        self.engine = MediaEngine(PORTS, rtp_timeout=None)
        self.engine.start(loop)
        self.legs = []
        self.pairs: list[tuple[int, int]] = []
        for _ in range(calls):
            a, b = self.engine.allocate(), self.engine.allocate()
            self.pairs.append((a, b))
            self.engine.configure(a, remote=phones, codec="PCMA")
            self.engine.configure(b, remote=phones, codec="PCMA")
            self.engine.bridge(a, b)
            if detect:
                self.engine.set_detection(b, inband=True)
            self.legs.append((self.engine.local_port(a), self.engine.local_port(b)))

    def dropped(self) -> int:
        """Packets the engine refused, or received on one leg and did not send on the other."""
        streams = {i: leg.stream for i, leg in self.engine._legs.items()}
        unsent = sum(max(0, streams[x].rx_packets - streams[y].tx_packets)
                     for a, b in self.pairs for x, y in ((a, b), (b, a)))
        return unsent + sum(s.rx_stray + s.rx_bad for s in streams.values())

    def close(self) -> None:
        self.engine.close()


def run_case(case: str, calls: int, seconds: float, warmup: float,
             service_gc: bool = True, generator_cpus: set[int] | None = None) -> dict[str, float]:
    import uvloop
    default_gc = gc.get_threshold()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    load = RtpLoad()  # both phones of every call, on one socket
    if generator_cpus:
        procfs.pin([load.pid], generator_cpus)
    phones = ("127.0.0.1", load.port)
    relay: Any
    if case == "bare-reader":
        relay = BareReader(loop, calls)
    elif case == "bare-protocol":
        relay = BareProtocol(loop, calls)
    else:
        relay = EngineCase(loop, calls, phones, detect=case == "engine-detect")
    if service_gc:  # as ``b2bua serve`` runs: start-up objects frozen, few young collections
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
    drops_before = udp_drops()
    load.aim([("127.0.0.1", port) for legs in relay.legs for port in legs])
    loop.run_until_complete(asyncio.sleep(warmup))
    load_cpu = procfs.total_cpu([load.pid])
    started = time.monotonic()
    cpu_start = time.process_time()
    load.begin(seconds)
    loop.run_until_complete(asyncio.sleep(seconds))
    cpu = time.process_time() - cpu_start
    loop.run_until_complete(asyncio.sleep(0.6))  # the last packets' way back
    figures = load.figures()
    generator_pct = (procfs.total_cpu([load.pid]) - load_cpu) / (time.monotonic() - started) * 100
    load.close()
    drops = udp_drops() - drops_before
    if isinstance(relay, EngineCase) and (refused := relay.dropped()):
        print(f"  ({case}: the engine refused or failed to send {refused} packets)")
    relay.close()
    loop.close()
    gc.unfreeze()
    gc.set_threshold(*default_gc)
    sent = max(1, figures.sent)
    latency = np.asarray(figures.round_trips_ms, np.float64) * 1e3
    return {
        "packets": figures.sent,
        "sender_lag_ms": load.worst_lag_ms,
        "generator_pct": generator_pct,
        "cpu_us_per_packet": cpu / sent * 1e6,
        "core_pct_per_call": cpu / seconds * 100 / calls,
        "core_pct": cpu / seconds * 100,
        "loss_pct": max(0.0, (figures.sent - figures.received) / sent * 100),
        "udp_drops": float(drops),
        "latency_p50_us": float(np.percentile(latency, 50)) if latency.size else float("nan"),
        "latency_p99_us": float(np.percentile(latency, 99)) if latency.size else float("nan"),
    }


def row(case: str, r: dict[str, float]) -> str:
    return (f"{case:<14} {r['cpu_us_per_packet']:>10.2f} {r['core_pct_per_call']:>11.3f} "
            f"{r['core_pct']:>7.1f} {r['loss_pct']:>7.2f} {r['latency_p50_us']:>8.0f} "
            f"{r['latency_p99_us']:>8.0f} {r['sender_lag_ms']:>14.1f} {r['generator_pct']:>16.1f} "
            f"{r['udp_drops']:>10.0f}")


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
    parser.add_argument("--no-pin", action="store_true",
                        help="let the scheduler place the relay and the generator (by default "
                             "the relay has the first CPU to itself, the generator the others)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the cases this many times, interleaved; report medians")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    generator_cpus = None
    if not args.no_pin and len(cpus) > 1:
        os.sched_setaffinity(0, cpus[:1])
        generator_cpus = set(cpus[1:])
    try:
        import dsp.dtmf  # noqa: F401
        detector = "dsp.dtmf"
    except ImportError:
        detector = "MISSING (capture and decode only)"
    print(f"media_relay: calls={args.calls} seconds={args.seconds} warmup={args.warmup} "
          f"repeat={args.repeat} gc={'default' if args.default_gc else 'service'} "
          f"ptime=20ms packets/s={args.calls * 100} detector={detector} "
          f"python={sys.version.split()[0]} cpus={len(cpus)} "
          f"relay pinned to CPU {cpus[0] if generator_cpus else '-'}")
    print(f"{'case':<14} {'µs/packet':>10} {'%core/call':>11} {'%core':>7} {'loss%':>7} "
          f"{'p50 µs':>8} {'p99 µs':>8} {'sender lag ms':>14} {'generator %core':>16}")
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for case in args.cases.split(","):
            r = run_case(case, args.calls, args.seconds, args.warmup, not args.default_gc,
                         generator_cpus)
            runs.setdefault(case, []).append(r)
            print(row(case, r), flush=True)
            if r["sender_lag_ms"] > PTIME_MS:
                print(f"  (the sender fell {r['sender_lag_ms']:.0f} ms behind: the machine is "
                      "saturated, figures of this case are not valid)")
    results = {case: {key: float(np.median([r[key] for r in rs])) for key in rs[0]}
               for case, rs in runs.items()}
    if args.repeat > 1:
        print(f"medians of {args.repeat} runs (cases interleaved):")
        for case, r in results.items():
            print(row(case, r))
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
