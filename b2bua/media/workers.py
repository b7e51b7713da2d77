"""The media engine spread over worker processes, one per core, each owning a port range.

:class:`MediaWorkers` offers the control surface of :class:`~b2bua.media.engine.MediaEngine`
to the call layer while the RTP of every stream is handled in a separate process
(:mod:`b2bua.media.worker`), so relaying and key detection use the other cores.  Commands are
batched per loop turn and sent down each worker's pipe; they run there in order.

What must be answered at once is answered here:

- ``allocate`` takes a port the worker bound ahead (each worker keeps a reserve, refilled in
  batches) and numbers the stream itself; a stream is put in the worker of the stream it is
  ``near`` (the other legs of its call: relays and mixes work inside one process), else in the
  least loaded worker.
- a key the worker detects is swallowed by the leg's ``swallow`` set until the service's own
  decision (``on_key_started``) comes back; when that decision differs, the worker is told to
  revise it (a key passed meanwhile lost at most the packets of one round trip, typically
  well under a millisecond). ``info_key`` is decided here at once and the worker takes that
  decision.
- ``collect_stats`` calls back when the worker replies.

A worker that dies takes its streams with it: each is reported as an RTP timeout (the calls
end cleanly) and a new worker takes over the port range.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

from b2bua.media.codec import Samples, codec_named
from b2bua.media.engine import (
    KeyStartHandler,
    PlayFinished,
    RtpTimeout,
    StreamStats,
    check_key,
    check_ptime,
    decide_swallow,
    notify,
)
from b2bua.media.keys import MERGE_WINDOW, KeyEvent, KeyStarted
from b2bua.media.legs import Direction
from b2bua.media.pipe import FrameError, Frames, Message, Outbox
from b2bua.media.ports import PortRange, PortsExhausted

log = logging.getLogger(__name__)

RESERVE: Final = 256
"""Ports each worker binds ahead; more are asked for when half are taken. 128 calls: at
400 calls/s a pause of 50 ms in either process must not leave a new call without a port (64
ran dry and turned calls away with 503)."""
START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 2.0
RESPAWN_DELAY: Final = 1.0
RESPAWN_MAX_DELAY: Final = 30.0


def split_ports(ports: PortRange, parts: int) -> list[PortRange]:
    """``parts`` consecutive sub-ranges of about equal size, each starting even."""
    pairs = (ports.high - ports.low + 1) // 2
    if parts < 1 or pairs < parts:
        raise ValueError(f"RTP port range {ports.low}-{ports.high} holds {pairs} pairs, "
                         f"fewer than {parts} workers")
    bounds = [ports.low + 2 * (pairs * i // parts) for i in range(parts + 1)]
    return [PortRange(ports.address, bounds[i], bounds[i + 1] - 1) for i in range(parts)]


class _Worker(asyncio.Protocol):
    """One worker process and the service's end of its pipe."""

    def __init__(self, owner: MediaWorkers, index: int, ports: PortRange) -> None:
        self.owner = owner
        self.index = index
        self.ports = ports
        self.process: subprocess.Popen[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.frames = Frames()
        self.outbox = Outbox(lambda callback: owner.loop.call_soon(callback))
        self.reserve: deque[int] = deque()
        self.refilling = False
        self.streams: set[int] = set()
        self.ready: asyncio.Future[None] | None = None
        self.stopping = False

    # -- process --------------------------------------------------------------------------

    async def spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "b2bua.media.worker", "--fd", str(theirs.fileno()),
                   "--address", self.ports.address,
                   "--ports", f"{self.ports.low}-{self.ports.high}",
                   "--log-level", logging.getLevelName(logging.getLogger().getEffectiveLevel())]
        if self.owner.rtp_timeout is not None:
            command += ["--rtp-timeout", str(self.owner.rtp_timeout)]
        try:
            self.process = subprocess.Popen(command, pass_fds=[theirs.fileno()], env=env)
        finally:
            theirs.close()
        ours.setblocking(False)
        self.frames = Frames()
        self.reserve.clear()
        self.refilling = False
        self.ready = loop.create_future()
        self.stopping = False
        await loop.create_unix_connection(lambda: self, sock=ours)
        self.refill()
        await asyncio.wait_for(self.ready, START_TIMEOUT)

    def abandon(self) -> None:
        """Give up a worker that did not start: close the pipe, kill the process."""
        self.stopping = True
        if self.transport is not None:
            self.transport.close()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def stop(self) -> None:
        self.stopping = True
        if self.transport is not None and not self.transport.is_closing():
            self.send("close")
            self.outbox.flush()
            self.transport.close()
        process = self.process
        if process is not None:
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- pipe -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = self.outbox.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = self.outbox.transport = None
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(RuntimeError(
                f"media worker {self.index} exited while starting (see its log above)"))
        elif not self.stopping:
            self.owner.worker_lost(self)

    def data_received(self, data: bytes) -> None:
        try:
            batches = self.frames.feed(data)
        except (FrameError, ValueError, EOFError) as error:
            log.error("media worker %d: corrupt event stream (%s)", self.index, error)
            if self.transport is not None:
                self.transport.close()
            return
        for messages in batches:
            for message in messages:
                self.owner.event(self, message)

    def send(self, *message: Any) -> None:
        self.outbox.put(*message)

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.send(name, args, kwargs)

    def refill(self) -> None:
        if not self.refilling and len(self.reserve) <= RESERVE // 2:
            self.refilling = True
            self.send("reserve", RESERVE - len(self.reserve))

    def reserved(self, ports: list[int]) -> None:
        self.reserve.extend(ports)
        self.refilling = False
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(None)


@dataclass(slots=True)
class _Entry:
    """What the service knows of one stream of a worker."""

    worker: _Worker
    port: int
    swallow: frozenset[str] = frozenset()
    recent: dict[str, tuple[float, str, bool]] = field(default_factory=dict)
    """Digit -> when its last key started, by which way, the decision taken."""


class MediaWorkers:
    """The media engine's control surface over ``processes`` worker processes."""

    def __init__(self, ports: PortRange, processes: int, *,
                 on_key_started: KeyStartHandler | None = None,
                 on_key: Callable[[KeyEvent], None] | None = None,
                 on_timeout: Callable[[RtpTimeout], None] | None = None,
                 on_play_finished: Callable[[PlayFinished], None] | None = None,
                 rtp_timeout: float | None = 30.0) -> None:
        self.on_key_started = on_key_started
        self.on_key = on_key
        self.on_timeout = on_timeout
        self.on_play_finished = on_play_finished
        self.rtp_timeout = rtp_timeout
        self._workers = [_Worker(self, i, r) for i, r in enumerate(split_ports(ports, processes))]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[int, _Entry] = {}
        self._recorders: dict[int, _Worker] = {}
        self._stats: dict[int, tuple[_Worker, Callable[[dict[int, StreamStats]], None]]] = {}
        self._ids = itertools.count(1)
        self._requests = itertools.count(1)
        self.restarts = 0
        self._respawning: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("MediaWorkers.start() was not awaited")
        return self._loop

    async def start(self) -> None:
        """Start every worker and wait until each has ports bound ahead."""
        self._loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(w.spawn(self._loop) for w in self._workers))
        except BaseException:
            for worker in self._workers:
                worker.abandon()
            raise

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._streams.clear()

    @property
    def processes(self) -> list[int]:
        """Process ids of the workers (for metrics and tests)."""
        return [w.process.pid for w in self._workers if w.process is not None]

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    # -- streams --------------------------------------------------------------------------

    def allocate(self, *, near: int | None = None) -> int:
        entry = self._streams.get(near) if near is not None else None
        worker = entry.worker if entry is not None else None
        if worker is None:
            ready = [w for w in self._workers if w.reserve]
            if not ready:
                raise PortsExhausted("no media worker has a free RTP port")
            worker = min(ready, key=lambda w: len(w.streams))
        elif not worker.reserve:
            raise PortsExhausted(f"media worker {worker.index} has no free RTP port")
        port = worker.reserve.popleft()
        stream_id = next(self._ids)
        worker.call("allocate", port=port, stream_id=stream_id)
        worker.refill()
        worker.streams.add(stream_id)
        self._streams[stream_id] = _Entry(worker, port)
        return stream_id

    def local_port(self, stream_id: int) -> int:
        return self._entry(stream_id).port

    def configure(self, stream_id: int, *, remote: tuple[str, int] | None, codec: str = "PCMU",
                  payload_type: int | None = None, telephone_event_pt: int | None = None,
                  ptime_ms: int = 20, direction: Direction = "sendrecv",
                  rtp_timeout: float | Literal["default"] | None = "default") -> None:
        codec_named(codec)
        check_ptime(ptime_ms)
        self._call(stream_id, "configure", stream_id, remote=remote, codec=codec,
                   payload_type=payload_type, telephone_event_pt=telephone_event_pt,
                   ptime_ms=ptime_ms, direction=direction, rtp_timeout=rtp_timeout)

    def release(self, stream_id: int) -> None:
        entry = self._streams.pop(stream_id, None)
        if entry is None:
            return
        entry.worker.streams.discard(stream_id)
        entry.worker.call("release", stream_id)

    def collect_stats(self, stream_ids: Sequence[int],
                      done: Callable[[dict[int, StreamStats]], None]) -> None:
        by_worker: dict[_Worker, list[int]] = {}
        for stream_id in stream_ids:
            entry = self._streams.get(stream_id)
            if entry is not None:
                by_worker.setdefault(entry.worker, []).append(stream_id)
        if not by_worker:
            done({})
            return
        found: dict[int, StreamStats] = {}
        waiting = len(by_worker)

        def part(stats: dict[int, StreamStats]) -> None:
            nonlocal waiting
            found.update(stats)
            waiting -= 1
            if not waiting:
                done(found)

        for worker, ids in by_worker.items():
            request = next(self._requests)
            self._stats[request] = (worker, part)
            worker.send("stats", request, ids)

    async def settled(self) -> None:
        """Return once every worker ran the commands issued so far."""
        waiting: list[asyncio.Future[dict[int, StreamStats]]] = []
        for worker in self._workers:
            request = next(self._requests)
            future: asyncio.Future[dict[int, StreamStats]] = self.loop.create_future()
            self._stats[request] = (worker, future.set_result)
            worker.send("stats", request, [])
            waiting.append(future)
        await asyncio.gather(*waiting)

    # -- what each stream sends -----------------------------------------------------------

    def set_sources(self, stream_id: int, sources: Sequence[int]) -> None:
        self._together(stream_id, *sources)
        self._call(stream_id, "set_sources", stream_id, list(sources))

    def bridge(self, a: int, b: int) -> None:
        self._together(a, b)
        self._call(a, "bridge", a, b)

    def unbridge(self, a: int, b: int) -> None:
        self._together(a, b)
        self._call(a, "unbridge", a, b)

    def play(self, stream_id: int, samples: Samples, *, loop: bool = False,
             over_sources: bool = False) -> None:
        self._call(stream_id, "play", stream_id, samples, loop=loop, over_sources=over_sources)

    def stop_play(self, stream_id: int) -> None:
        self._call(stream_id, "stop_play", stream_id)

    def send_key(self, stream_id: int, digit: str, duration_ms: int = 160) -> None:
        check_key(digit, duration_ms)
        self._call(stream_id, "send_key", stream_id, digit, duration_ms)

    # -- keys -----------------------------------------------------------------------------

    def set_detection(self, stream_id: int, *, inband: bool = False, events: bool = False,
                      swallow: frozenset[str] = frozenset()) -> None:
        self._call(stream_id, "set_detection", stream_id, inband=inband, events=events,
                   swallow=swallow)
        self._streams[stream_id].swallow = swallow

    def info_key(self, stream_id: int, digit: str, duration_ms: int = 160) -> bool:
        decision = self._decide(self._entry(stream_id),
                                KeyStarted(stream_id, digit, "info", self.loop.time()))
        self._call(stream_id, "info_key", stream_id, digit, duration_ms, decided=decision)
        return decision

    # -- recording ------------------------------------------------------------------------

    def record(self, left_id: int, right_id: int, path: str) -> int:
        worker = self._together(left_id, right_id)
        recorder_id = next(self._ids)
        worker.call("record", left_id, right_id, path, recorder_id=recorder_id)
        self._recorders[recorder_id] = worker
        return recorder_id

    def stop_record(self, recorder_id: int) -> None:
        worker = self._recorders.pop(recorder_id, None)
        if worker is not None:
            worker.call("stop_record", recorder_id)

    # -- plumbing -------------------------------------------------------------------------

    def _entry(self, stream_id: int) -> _Entry:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise KeyError(f"no media stream {stream_id}") from None

    def _together(self, first: int, *others: int) -> _Worker:
        worker = self._entry(first).worker
        for other in others:
            if self._entry(other).worker is not worker:
                raise ValueError(f"media streams {first} and {other} are in different workers")
        return worker

    def _call(self, stream_id: int, name: str, *args: Any, **kwargs: Any) -> None:
        self._entry(stream_id).worker.call(name, *args, **kwargs)

    def event(self, worker: _Worker, message: Message) -> None:
        """A message from ``worker``."""
        kind = message[0]
        if kind == "key_started":
            self._key_started(worker, message[1])
        elif kind == "key":
            notify(self.on_key, message[1])
        elif kind == "timeout":
            notify(self.on_timeout, message[1])
        elif kind == "play_finished":
            notify(self.on_play_finished, message[1])
        elif kind == "stats":
            asked = self._stats.pop(message[1], None)
            if asked is not None:
                asked[1](message[2])
        elif kind == "reserved":
            worker.reserved(message[1])
        elif kind == "error":
            log.warning("media worker %d: %s", worker.index, message[1])
        else:
            log.warning("media worker %d sent unknown %r", worker.index, kind)

    def _key_started(self, worker: _Worker, event: KeyStarted) -> None:
        entry = self._streams.get(event.stream)
        if entry is None:
            return  # released meanwhile
        decision = self._decide(entry, event)
        if decision != (event.digit in entry.swallow):
            worker.call("revise_swallow", event.stream, event.digit, decision)

    def _decide(self, entry: _Entry, event: KeyStarted) -> bool:
        """The owner's swallow decision for a key start (which runs what the key starts); a
        start of the same digit on the same stream by another way within one press (INFO and
        RFC 4733 reporting it together) gets the decision already taken."""
        now = self.loop.time()
        seen = entry.recent.get(event.digit)
        if seen is not None and seen[1] != event.source and now - seen[0] <= MERGE_WINDOW:
            return seen[2]
        decision = decide_swallow(self.on_key_started, event, entry.swallow)
        entry.recent[event.digit] = (now, event.source, decision)
        return decision

    def worker_lost(self, worker: _Worker) -> None:
        """The worker died: end its streams' calls, start a new one on its port range."""
        code = worker.process.poll() if worker.process is not None else None
        log.error("media worker %d (pid %s) ended (exit %s); %d streams lost, restarting",
                  worker.index, worker.process.pid if worker.process else "?", code,
                  len(worker.streams))
        lost = list(worker.streams)
        worker.streams.clear()
        worker.reserve.clear()
        for stream_id in lost:
            del self._streams[stream_id]
        for recorder_id in [r for r, w in self._recorders.items() if w is worker]:
            del self._recorders[recorder_id]
        for request, (asker, callback) in list(self._stats.items()):
            if asker is worker:
                del self._stats[request]
                callback({})
        for stream_id in lost:
            notify(self.on_timeout, RtpTimeout(stream_id, 0.0))
        self.restarts += 1
        task = self.loop.create_task(self._respawn(worker))
        self._respawning.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._respawning.discard)

    async def _respawn(self, worker: _Worker) -> None:
        """Start a new worker on the range, retrying with a growing delay until one runs."""
        delay = RESPAWN_DELAY
        while True:
            await asyncio.sleep(delay)
            process = worker.process
            deadline = self.loop.time() + STOP_TIMEOUT
            while process is not None and process.poll() is None:
                if self.loop.time() > deadline:
                    process.kill()
                await asyncio.sleep(0.05)
            try:
                await worker.spawn(self.loop)
                return
            except Exception as error:
                log.error("media worker %d did not restart (%s); again in %.0f s",
                          worker.index, error, delay)
                worker.abandon()
                delay = min(2 * delay, RESPAWN_MAX_DELAY)
