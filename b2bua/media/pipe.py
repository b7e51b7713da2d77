"""Framing of the messages between the service and its media worker processes.

Both ends are our own processes on one machine (a socketpair made by the service), so a frame
is a pickled list of messages behind a 4-byte big-endian length.  Each side batches what one
loop turn produced into one frame.  Sans-IO: :func:`frame` makes the bytes, :class:`Frames`
cuts a byte stream back into message lists.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from collections.abc import Callable
from typing import Any, Final

HEADER: Final = struct.Struct(">I")
MAX_FRAME: Final = 64 * 1024 * 1024
"""A frame longer than this means the stream is corrupt (a prompt is a few MiB at most)."""

Message = tuple[Any, ...]


class FrameError(ValueError):
    """The byte stream is not a sequence of frames."""


def frame(messages: list[Message]) -> bytes:
    body = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class Frames:
    """Accumulates received bytes; :meth:`feed` returns the message lists completed."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[list[Message]]:
        buffer = self._buffer
        buffer += data
        done: list[list[Message]] = []
        start = 0
        while len(buffer) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, start)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes")
            end = start + HEADER.size + size
            if end > len(buffer):
                break
            messages = pickle.loads(buffer[start + HEADER.size:end])
            if not isinstance(messages, list):
                raise FrameError(f"frame holds {type(messages).__name__}, not a list")
            done.append(messages)
            start = end
        del buffer[:start]
        return done


class Outbox:
    """The messages one loop turn produced, written as one frame when the turn ends.

    ``soon`` schedules a callback for the end of the turn (the loop's ``call_soon``);
    ``transport`` is the pipe, None while there is none (what is put then is dropped).
    """

    def __init__(self, soon: Callable[[Callable[[], None]], object]) -> None:
        self.soon = soon
        self.transport: asyncio.Transport | None = None
        self._messages: list[Message] = []

    def put(self, *message: Any) -> None:
        if not self._messages:
            self.soon(self.flush)
        self._messages.append(message)

    def flush(self) -> None:
        transport = self.transport
        if self._messages and transport is not None and not transport.is_closing():
            transport.write(frame(self._messages))
        self._messages = []
