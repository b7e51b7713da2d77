"""Receive-side jitter buffers of all capturing streams, in one numpy ring.

Each capturing stream owns one row of a ``(rows, FRAMES * FRAME)`` uint8 array of G.711 codes.
A packet is copied into its row at the position given by its RTP timestamp (a memoryview slice
assignment: no numpy call per packet), so reordered packets land in place and lost ones leave
silence.  Every media tick :meth:`AudioBank.take` reads the frame under each row's head for all
rows at once, refills it with silence and advances the heads.

The head trails the newest timestamp by :data:`DELAY_FRAMES` frames.  Clock drift between a
phone and us is absorbed by dropping a frame when the buffer runs too far ahead and by stepping
back one frame when packets start arriving late.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from b2bua.media.codec import BY_INDEX, DECODE_TABLES, Codes, Samples

FRAME: Final = 160
"""Samples per media tick (20 ms at 8 kHz)."""

FRAMES: Final = 16
"""Frames in each row's ring (320 ms)."""

RING: Final = FRAMES * FRAME
DELAY_FRAMES: Final = 2
"""Playout delay: how far behind the newest packet the head starts (40 ms)."""

TOO_FAR_AHEAD: Final = (DELAY_FRAMES + 6) * FRAME
"""A buffer filled beyond this many samples ahead of the head drops a frame (drift)."""

WRAP: Final = 0xFFFFFFFF

SILENT_FRAME: Final = tuple(bytes([codec.silence]) * FRAME for codec in BY_INDEX)


class Capture:
    """The receive buffer state of one stream: which row, where the head is, drift counters."""

    __slots__ = ("ahead", "codec_index", "head", "late", "origin", "row", "row_view",
                 "started")

    def __init__(self, row: int, codec_index: int, row_view: memoryview) -> None:
        self.row = row
        self.codec_index = codec_index
        self.row_view = row_view
        self.origin = 0
        """RTP timestamp of sample 0 of frame 0 (frame ``head`` is read on the next tick)."""
        self.head = 0
        self.started = False
        self.ahead = 0
        """After the last packet: samples buffered ahead of the head (for drift control)."""
        self.late = 0
        """Packets that arrived after their frame was played since the last tick."""

    def write(self, timestamp: int, packet: memoryview, start: int, end: int) -> None:
        """Copy the payload ``packet[start:end]`` (RTP ``timestamp``) into the ring."""
        size = end - start
        if not self.started:
            self.restart(timestamp)
        ahead = (timestamp - self.origin - self.head * FRAME) & WRAP
        if ahead >= 0x80000000:
            self.late += 1
            return
        if ahead + size > RING - FRAME:
            self.restart(timestamp)
            ahead = DELAY_FRAMES * FRAME
        position = (self.head * FRAME + ahead) % RING
        first = min(size, RING - position)
        self.row_view[position:position + first] = packet[start:start + first]
        if first < size:
            self.row_view[0:size - first] = packet[start + first:end]
        if ahead + size > self.ahead:
            self.ahead = ahead + size

    def restart(self, timestamp: int) -> None:
        """Resynchronise on ``timestamp`` (first packet, a new SSRC, or a jump)."""
        self.started = True
        self.origin = (timestamp - DELAY_FRAMES * FRAME - self.head * FRAME) & WRAP
        self.row_view[:] = SILENT_FRAME[self.codec_index] * FRAMES
        self.ahead = 0


class AudioBank:
    """All capture rows; :meth:`take` gives the decoded frame of every row, vectorised."""

    def __init__(self, rows: int = 64) -> None:
        self._codes = np.empty((0, RING), np.uint8)
        self._silence = np.empty(0, np.uint8)
        self._codec_index = np.empty(0, np.intp)
        self.decoded: Samples = np.zeros((1, FRAME), np.int16)
        """``(rows + 1, FRAME)`` int16 of the last tick; the extra last row is always zero."""
        self._captures: dict[int, Capture] = {}
        self._free: list[int] = []
        self._grow(rows)

    @property
    def rows(self) -> int:
        return int(self._codes.shape[0])

    @property
    def zero_row(self) -> int:
        """Index of the all-zero row of :attr:`decoded` (padding for mixes)."""
        return self.rows

    def add(self, codec_index: int) -> Capture:
        if not self._free:
            self._grow(self.rows * 2)
        row = self._free.pop()
        self._codec_index[row] = codec_index
        self._silence[row] = BY_INDEX[codec_index].silence
        self._codes[row] = self._silence[row]
        capture = Capture(row, codec_index, memoryview(self._codes[row]))
        self._captures[row] = capture
        return capture

    def remove(self, capture: Capture) -> None:
        del self._captures[capture.row]
        self.decoded[capture.row] = 0
        self._free.append(capture.row)

    def set_codec(self, capture: Capture, codec_index: int) -> None:
        capture.codec_index = codec_index
        self._codec_index[capture.row] = codec_index
        self._silence[capture.row] = BY_INDEX[codec_index].silence
        capture.started = False

    def take(self) -> Samples:
        """Decode the frame at every head into :attr:`decoded`, clear it, advance the heads."""
        captures = list(self._captures.values())
        if not captures:
            return self.decoded
        rows = np.fromiter((c.row for c in captures), np.intp, len(captures))
        frames = np.fromiter((self._advance(c) for c in captures), np.intp, len(captures))
        codes: Codes = self._codes3[rows, frames]
        self._codes3[rows, frames] = self._silence[rows, None]
        self.decoded[rows] = DECODE_TABLES[self._codec_index[rows, None], codes]
        return self.decoded

    @staticmethod
    def _advance(capture: Capture) -> int:
        """The frame to read now; moves the head on, adjusting for drift."""
        head = capture.head
        if capture.late > 1:
            head -= 1
            capture.ahead = DELAY_FRAMES * FRAME
        elif capture.ahead > TOO_FAR_AHEAD:
            skipped = (head % FRAMES) * FRAME
            capture.row_view[skipped:skipped + FRAME] = SILENT_FRAME[capture.codec_index]
            head += 1
            capture.ahead -= FRAME
        capture.late = 0
        capture.ahead = max(capture.ahead - FRAME, 0)
        capture.head = head + 1
        return head % FRAMES

    def _grow(self, rows: int) -> None:
        old = self.rows
        codes = np.empty((rows, RING), np.uint8)
        codes[:old] = self._codes
        self._codes = codes
        self._codes3: npt.NDArray[np.uint8] = codes.reshape(rows, FRAMES, FRAME)
        self._silence = np.concatenate([self._silence, np.full(rows - old, 0xFF, np.uint8)])
        self._codec_index = np.concatenate([self._codec_index, np.zeros(rows - old, np.intp)])
        decoded = np.zeros((rows + 1, FRAME), np.int16)
        decoded[:old] = self.decoded[:old]
        self.decoded = decoded
        for capture in self._captures.values():
            capture.row_view = memoryview(codes[capture.row])
        self._free.extend(range(rows - 1, old - 1, -1))
