"""A media worker process: one :class:`MediaEngine` on its own port range, driven over a pipe.

Started by :class:`b2bua.media.workers.MediaWorkers` as ``python -m b2bua.media.worker`` with
the socket it inherited.  Commands arrive in the order the service issued them and run on the
engine; what the engine reports (keys, RTP timeouts, finished sounds) goes back in one frame
per loop turn.  Besides the engine's own calls there are three: ``reserve`` (bind more port
pairs ahead and report their ports), ``stats`` (counters of some streams, for a request id)
and ``close``.  A failing command is logged and reported; it does not stop the worker.  The
worker ends when its pipe closes (the service went away).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any, Final, cast

from b2bua.media.engine import MediaEngine
from b2bua.media.keys import KeyStarted
from b2bua.media.pipe import FrameError, Frames, Message, Outbox
from b2bua.media.ports import PortRange, PortsExhausted
from b2bua.net.loop import run as run_loop

log = logging.getLogger("b2bua.media.worker")

COMMANDS: Final = frozenset({
    "allocate", "configure", "release", "set_sources", "bridge", "unbridge", "play",
    "stop_play", "send_key", "set_detection", "info_key", "revise_swallow", "record",
    "stop_record",
})
"""Engine methods the service may call through the pipe."""


class WorkerLink(asyncio.Protocol):
    """The worker's end of the pipe: runs commands, sends events back."""

    def __init__(self, engine: MediaEngine, done: asyncio.Future[None]) -> None:
        self.engine = engine
        self.done = done
        self.frames = Frames()
        self.transport: asyncio.Transport | None = None
        self.outbox = Outbox(asyncio.get_running_loop().call_soon)
        engine.on_key_started = self._key_started
        engine.on_key = lambda event: self.emit("key", event)
        engine.on_timeout = lambda event: self.emit("timeout", event)
        engine.on_play_finished = lambda event: self.emit("play_finished", event)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = self.outbox.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            batches = self.frames.feed(data)
        except (FrameError, ValueError, EOFError) as error:
            log.error("corrupt command stream (%s); worker stops", error)
            self.close()
            return
        for messages in batches:
            for message in messages:
                self.run(message)

    def run(self, message: Message) -> None:
        name = message[0]
        try:
            if name == "reserve":
                self.emit("reserved", self._reserve(message[1]))
            elif name == "stats":
                request, ids = message[1], message[2]
                self.engine.collect_stats(ids, lambda found: self.emit("stats", request, found))
            elif name == "close":
                self.close()
            elif name in COMMANDS:
                getattr(self.engine, name)(*message[1], **message[2])
            else:
                raise ValueError(f"unknown command {name!r}")
        except Exception as error:
            log.warning("media command %s failed: %s", name, error,
                        exc_info=not isinstance(error, (KeyError, ValueError)))
            self.emit("error", f"{name}: {type(error).__name__}: {error}")

    def _reserve(self, count: int) -> list[int]:
        """Bind up to ``count`` more pairs ahead; always answered (the service waits for it),
        with fewer ports when the range is used up or binding fails."""
        ports: list[int] = []
        try:
            for _ in range(count):
                ports.append(self.engine.reserve_port())
        except PortsExhausted:
            pass
        except Exception:
            log.exception("binding RTP ports ahead failed")
        return ports

    def _key_started(self, event: KeyStarted) -> None:
        """Reported to the service, which runs the option and revises the decision when its
        answer differs from the leg's ``swallow`` set the engine applies meanwhile."""
        self.emit("key_started", event)

    def emit(self, *message: Any) -> None:
        self.outbox.put(*message)

    def close(self) -> None:
        self.outbox.flush()
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)


async def serve(sock: socket.socket, ports: PortRange, rtp_timeout: float | None) -> None:
    loop = asyncio.get_running_loop()
    engine = MediaEngine(ports, rtp_timeout=rtp_timeout)
    engine.start(loop)
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_unix_connection(lambda: WorkerLink(engine, done), sock=sock)
    try:
        await done
    finally:
        engine.close()


PR_SET_PDEATHSIG: Final = 1


def end_with_parent() -> None:
    """Ask Linux for SIGTERM when the service dies, even by SIGKILL (the closed pipe ends a
    worker too, once its loop runs)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b2bua.media.worker",
                                     description="A media worker of the b2bua service.")
    parser.add_argument("--fd", type=int, required=True, help="inherited socket to the service")
    parser.add_argument("--address", required=True)
    parser.add_argument("--ports", required=True, metavar="LOW-HIGH")
    parser.add_argument("--rtp-timeout", type=float, default=None)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    end_with_parent()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s media-worker[{os.getpid()}] %(levelname)s "
                               "%(name)s: %(message)s")
    low, high = (int(p) for p in args.ports.split("-"))
    sock = socket.socket(fileno=args.fd)
    sock.setblocking(False)
    run_loop(serve(sock, PortRange(args.address, low, high), args.rtp_timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
