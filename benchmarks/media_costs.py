"""CPU cost of the media engine's three paths, measured in this process without other traffic.

- ``control``: one call's media life as the call layer drives it (two streams allocated and
  configured, bridged, in-band detection on the second, stats read, both released), µs per
  call, with the time of each control call;
- ``packet``: the per-packet path (:meth:`Stream.on_readable` called by hand on loopback
  sockets with queued packets, so no event-loop or sender noise), µs per packet for a plain
  relay and for a relay that also copies into the jitter ring, next to a bare
  ``recv_into`` + ``send`` closure measured the same way;
- ``tick``: one media tick for N bridged calls with detection on every employee leg, every
  capture fed one packet per tick, µs per tick and per detecting leg, split into the bank's
  decode, the detector and the rest.

Usage: ``python -m benchmarks.media_costs [--calls 400] [--rounds 2000] [--parts control,...]``
Figures are CPU seconds of this process (``time.process_time``); compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange

PORTS = PortRange("127.0.0.1", 63000, 64999)
HEADER = struct.Struct("!BBHII")
CLIENT = ("127.0.0.1", 40010)
PHONE = ("127.0.0.1", 41000)


def control(rounds: int) -> dict[str, float]:
    """µs per call of the control surface, and of each method over the same calls."""
    spent: dict[str, float] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = call()
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return result

    async def run() -> float:
        engine = MediaEngine(PORTS, rtp_timeout=None)
        engine.start()
        for _ in range(rounds // 10):  # warm up: the detector, the bank rows, the port pool
            _call(engine, lambda name, call: call())
        spent.clear()
        started = time.process_time()
        for n in range(rounds):
            _call(engine, timed)
            if n % 50 == 49:
                await asyncio.sleep(0)
        cpu = time.process_time() - started
        engine.close()
        return cpu

    cpu = _run(run())
    figures = {"µs/call": cpu / rounds * 1e6}
    figures.update({f"{name} µs": value / rounds * 1e6 for name, value in spent.items()})
    return figures


def _call(engine: MediaEngine, timed: Callable[[str, Callable[[], Any]], Any]) -> None:
    a = timed("allocate", engine.allocate)
    b = timed("allocate", engine.allocate)
    timed("configure", lambda: engine.configure(a, remote=CLIENT, telephone_event_pt=101))
    timed("configure", lambda: engine.configure(b, remote=PHONE, telephone_event_pt=101))
    timed("bridge", lambda: engine.bridge(a, b))
    timed("set_detection", lambda: engine.set_detection(b, inband=True, events=True))
    timed("stats", lambda: (engine.stats(a), engine.stats(b)))
    timed("release", lambda: engine.release(a))
    timed("release", lambda: engine.release(b))


def _run(coroutine: Any) -> Any:
    try:
        import uvloop
        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


def _phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def packet(calls: int, rounds: int) -> dict[str, float]:
    """µs per packet through ``on_readable`` (relay, relay + ring copy) and a bare closure."""
    async def run() -> dict[str, float]:
        engine = MediaEngine(PORTS, rtp_timeout=None)
        engine.start()
        loop = asyncio.get_running_loop()
        clients, phones = _phone(), _phone()
        pairs = []
        for _ in range(calls):
            a, b = engine.allocate(), engine.allocate()
            engine.configure(a, remote=clients.getsockname())
            engine.configure(b, remote=phones.getsockname())
            engine.bridge(a, b)
            pairs.append((a, b))
        legs = engine._legs
        for a, b in pairs:  # nothing dispatched by the loop: the readers are called by hand
            for stream_id in (a, b):
                loop.remove_reader(legs[stream_id].stream.sock.fileno())
        payload = bytes(160)
        streams = [legs[a].stream for a, _ in pairs]

        def feed(count: int) -> None:
            for stream in streams:
                for i in range(count):
                    clients.sendto(HEADER.pack(0x80, 0, i, i * 160, 0xC0) + payload,
                                   ("127.0.0.1", stream.port))

        def drain(sock: socket.socket) -> None:
            while True:
                try:
                    sock.recv(2048)
                except BlockingIOError:
                    return

        def measure(readers: list[Callable[[], None]], count: int) -> float:
            feed(count)
            started = time.process_time()
            for _ in range(count):
                for reader in readers:
                    reader()
            cpu = time.process_time() - started
            drain(phones)
            return cpu / (count * len(readers)) * 1e6

        per_round = max(1, min(rounds // 10, 100))
        for a, b in pairs:  # latch both legs of every call: the engine sends with send()
            for sender, stream in ((clients, legs[a].stream), (phones, legs[b].stream)):
                sender.sendto(HEADER.pack(0x80, 0, 0, 0, 0xC0) + bytes(160),
                              ("127.0.0.1", stream.port))
                stream.on_readable()
        drain(clients)
        drain(phones)
        figures: dict[str, float] = {}
        readers = [stream.on_readable for stream in streams]
        bare = [_bare_reader(legs[a].stream.sock, legs[b].stream.sock) for a, b in pairs]
        relay_cpu, bare_cpu, capture_cpu = [], [], []
        for _ in range(max(1, rounds // per_round)):
            relay_cpu.append(measure(readers, per_round))
            bare_cpu.append(measure(bare, per_round))
        with tempfile.TemporaryDirectory() as folder:
            recorders = [engine.record(a, b, f"{folder}/{a}.wav") for a, b in pairs]
            for _ in range(max(1, rounds // per_round)):  # recorded: every leg captured
                capture_cpu.append(measure(readers, per_round))
                engine._bank.take()
            for recorder in recorders:
                engine.stop_record(recorder)
        figures["bare µs/packet"] = float(np.median(bare_cpu))
        figures["relay µs/packet"] = float(np.median(relay_cpu))
        figures["relay+ring µs/packet"] = float(np.median(capture_cpu))
        figures["relay - bare µs"] = figures["relay µs/packet"] - figures["bare µs/packet"]
        figures["ring copy µs"] = figures["relay+ring µs/packet"] - figures["relay µs/packet"]
        engine.close()
        clients.close()
        phones.close()
        return figures

    result: dict[str, float] = _run(run())
    return result


def _bare_reader(this: socket.socket, other: socket.socket) -> Callable[[], None]:
    buffer = bytearray(2048)
    view = memoryview(buffer)

    def readable() -> None:
        try:
            size = this.recv_into(buffer)
            other.send(view[:size])
        except OSError:
            pass
    return readable


def tick(calls: int, rounds: int) -> dict[str, float]:
    """µs per media tick with ``calls`` calls, detection on every employee leg."""
    async def run() -> dict[str, float]:
        engine = MediaEngine(PORTS, rtp_timeout=30.0)
        engine.start()
        pairs = []
        for _ in range(calls):
            a, b = engine.allocate(), engine.allocate()
            engine.configure(a, remote=CLIENT)
            engine.configure(b, remote=PHONE)
            engine.bridge(a, b)
            engine.set_detection(b, inband=True)
            pairs.append((a, b))
        engine._timer.cancel() if engine._timer else None
        captures = [engine._legs[b].stream.capture for _, b in pairs]
        rng = np.random.default_rng(1)
        payload = memoryview(rng.integers(0, 256, 160, np.uint8).tobytes())
        bank, sensing = engine._bank, engine._sensing
        parts = {"take": 0.0, "detect": 0.0}
        real_take, real_detect = bank.take, sensing.detect

        def take() -> Any:
            started = time.process_time()
            try:
                return real_take()
            finally:
                parts["take"] += time.process_time() - started

        def detect(*args: Any) -> None:
            started = time.process_time()
            try:
                real_detect(*args)
            finally:
                parts["detect"] += time.process_time() - started

        bank.take = take  # type: ignore[method-assign]
        sensing.detect = detect  # type: ignore[method-assign]
        now = engine.loop.time()
        for n in range(rounds // 10):
            for capture in captures:
                capture.write(n * 160, payload, 0, 160)  # type: ignore[union-attr]
            engine._tick(now + n * 0.02)
        parts.update(take=0.0, detect=0.0)
        cpu = 0.0
        for n in range(rounds // 10, rounds // 10 + rounds):
            for capture in captures:
                capture.write(n * 160, payload, 0, 160)  # type: ignore[union-attr]
            started = time.process_time()
            engine._tick(now + n * 0.02)
            cpu += time.process_time() - started
        engine.close()
        figures = {"µs/tick": cpu / rounds * 1e6,
                   "µs/tick/call": cpu / rounds / calls * 1e6,
                   "take µs/tick": parts["take"] / rounds * 1e6,
                   "detect µs/tick": parts["detect"] / rounds * 1e6}
        figures["rest µs/tick"] = (figures["µs/tick"] - figures["take µs/tick"]
                                   - figures["detect µs/tick"])
        return figures

    result: dict[str, float] = _run(run())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="calls for packet and tick")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--parts", default="control,packet,tick")
    args = parser.parse_args()
    print(f"media_costs: calls={args.calls} rounds={args.rounds} "
          f"python={sys.version.split()[0]}")
    for part in args.parts.split(","):
        if part == "control":
            figures = control(args.rounds)
        elif part == "packet":
            figures = packet(args.calls, args.rounds)
        elif part == "tick":
            figures = tick(args.calls, args.rounds)
        else:
            raise SystemExit(f"unknown part {part!r}")
        print(f"{part}: " + "  ".join(f"{name} {value:.2f}" for name, value in figures.items()),
              flush=True)


if __name__ == "__main__":
    main()
