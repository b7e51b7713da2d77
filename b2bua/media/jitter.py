"""Receive-side jitter buffers of all capturing streams, in one numpy ring.

Each capturing stream owns one row of a ``(rows, FRAMES * FRAME)`` uint8 array of G.711 codes.
A packet is copied into its row at the position given by its RTP timestamp (a memoryview slice
assignment: no numpy call per packet), so reordered packets land in place and lost ones leave
silence.  Every media tick :meth:`AudioBank.take` reads the frame under each row's head for all
rows at once and refills it with silence; heads advance with a shared tick count, so a tick
costs a few numpy calls whatever the number of rows.

The head starts a playout delay (:data:`DELAY_FRAMES` by default) behind the first packet.
Clock drift between a phone and us is absorbed on the packet path: a frame is dropped when
packets run too far ahead, and the head steps back when packets keep arriving late.
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
"""Default playout delay: how far behind the first packet the head starts (40 ms)."""

TOO_FAR_AHEAD: Final = (DELAY_FRAMES + 6) * FRAME
"""A packet ending this many samples past the head drops a frame (the sender runs fast)."""

MAX_STEP_BACK: Final = 4
"""Packets later than this many frames are dropped, never waited for."""

LATE_MEMORY: Final = 50
"""Two late packets within this many ticks move the head back a frame (the sender is slow)."""

WRAP: Final = 0xFFFFFFFF

SILENT_FRAME: Final = tuple(bytes([codec.silence]) * FRAME for codec in BY_INDEX)


class Ticker:
    """Media ticks since the bank was made (shared by all captures of a bank)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Capture:
    """The receive buffer state of one stream.

    The head (the frame the next tick reads) is ``ticker.count - offset``: it advances with
    the shared tick count, so a tick moves every head without touching any capture.  The
    RTP timestamp of frame ``h`` is ``origin + h * FRAME``.  Drift is corrected here, on the
    packet path, by moving ``offset`` one frame: forward when too much is buffered, back when
    packets keep arriving late.
    """

    __slots__ = ("codec_index", "delay", "last_late", "offset", "offsets", "origin", "row",
                 "row_view", "started", "ticker")

    def __init__(self, row: int, codec_index: int, row_view: memoryview, ticker: Ticker,
                 offsets: npt.NDArray[np.int64], delay_frames: int = DELAY_FRAMES) -> None:
        self.row = row
        self.delay = delay_frames
        self.codec_index = codec_index
        self.row_view = row_view
        self.ticker = ticker
        self.offsets = offsets
        """The bank's array of every row's offset, read by the vectorised tick."""
        self.offset = ticker.count
        self.offsets[row] = self.offset
        self.origin = 0
        self.started = False
        self.last_late = -LATE_MEMORY
        """Tick of the last late packet: a second one soon after moves the head back."""

    def write(self, timestamp: int, packet: memoryview, start: int, end: int) -> None:
        """Copy the payload ``packet[start:end]`` (RTP ``timestamp``) into the ring."""
        if not self.started:
            self.restart(timestamp)
        head = self.ticker.count - self.offset
        ahead = (timestamp - self.origin - head * FRAME) & WRAP
        size = end - start
        if ahead + size > TOO_FAR_AHEAD:  # late, far ahead or running ahead: rarely
            placed = self._place(timestamp, head, ahead, size)
            if placed is None:
                return
            head, ahead = placed
        position = (head * FRAME + ahead) % RING
        stop = position + size
        if stop <= RING:
            self.row_view[position:stop] = packet[start:end]
        else:
            first = RING - position
            self.row_view[position:] = packet[start:start + first]
            self.row_view[:stop - RING] = packet[start + first:end]

    def _place(self, timestamp: int, head: int, ahead: int, size: int) -> tuple[int, int] | None:
        """Where a packet that is not simply a little ahead of the head goes (None: dropped)."""
        if ahead >= 0x80000000:
            shift = self._late(0x100000000 - ahead)
            if not shift:
                return None
            head -= shift
            ahead = (ahead + shift * FRAME) & WRAP
        if ahead + size > RING - FRAME:
            self.restart(timestamp)
            return self.ticker.count - self.offset, self.delay * FRAME
        if ahead + size > TOO_FAR_AHEAD:
            self._skip(head)
        return head, ahead

    def restart(self, timestamp: int) -> None:
        """Resynchronise on ``timestamp`` (first packet, a new SSRC, or a jump)."""
        self.started = True
        head = self.ticker.count - self.offset
        self.origin = (timestamp - self.delay * FRAME - head * FRAME) & WRAP
        self.row_view[:] = SILENT_FRAME[self.codec_index] * FRAMES

    def _late(self, behind: int) -> int:
        """A packet came ``behind`` samples after its frame was played.

        The first is dropped (a jitter spike).  A second one soon after means the sender is
        slower than us: the head steps back far enough to give the packet the full playout
        delay again; returns how many frames it stepped (0 when the packet is dropped).
        """
        now = self.ticker.count
        recent = now - self.last_late < LATE_MEMORY
        self.last_late = now
        if not recent or behind > MAX_STEP_BACK * FRAME:
            return 0
        shift = -(-behind // FRAME) + self.delay
        self.offset += shift
        self.offsets[self.row] = self.offset
        self.last_late = -LATE_MEMORY
        return shift

    def _skip(self, head: int) -> None:
        """Too much buffered (the sender's clock is faster): drop the frame at the head."""
        dropped = (head % FRAMES) * FRAME
        self.row_view[dropped:dropped + FRAME] = SILENT_FRAME[self.codec_index]
        self.offset -= 1
        self.offsets[self.row] = self.offset


class AudioBank:
    """All capture rows; :meth:`take` gives the decoded frame of every row, vectorised."""

    def __init__(self, rows: int = 64, delay_frames: int = DELAY_FRAMES) -> None:
        if not 1 <= delay_frames <= 4:
            raise ValueError(f"playout delay of {delay_frames} frames outside 1-4")
        self.delay_frames = delay_frames
        self.ticker = Ticker()
        self._codes = np.empty((0, RING), np.uint8)
        self._silence = np.empty(0, np.uint8)
        self._codec_index = np.empty(0, np.intp)
        self._offsets = np.empty(0, np.int64)
        self.decoded: Samples = np.zeros((1, FRAME), np.int16)
        """``(rows + 1, FRAME)`` int16 of the last tick; the extra last row is always zero."""
        self._captures: dict[int, Capture] = {}
        self._groups: list[tuple[Samples, npt.NDArray[np.intp]]] = []
        """Active rows by codec, with that codec's decode table."""
        self._changed = True
        self.layout = 0
        """Bumped whenever rows were taken, freed or regrouped (cached row lists go stale)."""
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
        capture = Capture(row, codec_index, memoryview(self._codes[row]), self.ticker,
                          self._offsets, self.delay_frames)
        self._captures[row] = capture
        self._changed = True
        return capture

    def remove(self, capture: Capture) -> None:
        del self._captures[capture.row]
        self.decoded[capture.row] = 0
        self._free.append(capture.row)
        self._changed = True

    def set_codec(self, capture: Capture, codec_index: int) -> None:
        capture.codec_index = codec_index
        self._codec_index[capture.row] = codec_index
        self._silence[capture.row] = BY_INDEX[codec_index].silence
        capture.started = False
        self._changed = True

    def take(self) -> Samples:
        """Decode the frame at every head into :attr:`decoded`, clear it, advance the heads.

        Rows are decoded codec by codec with ``np.take`` (a plain 256-entry lookup, several
        times cheaper than one lookup indexed by codec and code together).
        """
        if self._changed:
            self._regroup()
        tick = self.ticker.count
        self.ticker.count = tick + 1
        for table, rows in self._groups:
            frames = (tick - self._offsets[rows]) % FRAMES
            codes: Codes = self._codes3[rows, frames]
            self._codes3[rows, frames] = self._silence[rows, None]
            self.decoded[rows] = np.take(table, codes)
        return self.decoded

    def _regroup(self) -> None:
        self._changed = False
        self.layout += 1
        active = np.fromiter(self._captures, np.intp, len(self._captures))
        active.sort()
        codecs = self._codec_index[active]
        self._groups = [(DECODE_TABLES[index], active[codecs == index])
                        for index in range(len(BY_INDEX)) if (codecs == index).any()]

    def _grow(self, rows: int) -> None:
        old = self.rows
        codes = np.empty((rows, RING), np.uint8)
        codes[:old] = self._codes
        self._codes = codes
        self._codes3: npt.NDArray[np.uint8] = codes.reshape(rows, FRAMES, FRAME)
        self._silence = np.concatenate([self._silence, np.full(rows - old, 0xFF, np.uint8)])
        self._codec_index = np.concatenate([self._codec_index, np.zeros(rows - old, np.intp)])
        self._offsets = np.concatenate([self._offsets, np.zeros(rows - old, np.int64)])
        decoded = np.zeros((rows + 1, FRAME), np.int16)
        decoded[:old] = self.decoded[:old]
        self.decoded = decoded
        for capture in self._captures.values():
            capture.row_view = memoryview(codes[capture.row])
            capture.offsets = self._offsets
        self._free.extend(range(rows - 1, old - 1, -1))
        self._changed = True
