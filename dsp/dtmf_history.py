"""Block features of the recent past, and windows on them for the DTMF analysis.

The features of every block (DFT coefficients, energy, key code, overtone bins) live in a
ring of ``length`` blocks per channel, block-major: global block ``g`` is in slot
``g % length``, and a slot holds that block for all channels side by side, so that the filter
bank writes a new block's coefficients straight into its slot. A window gathers, for a few
channels only, the last blocks up to a per-channel block, seen through the two bins of the
key each channel is tracking: one fancy index per field, whatever the chunk sizes were.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dsp.dtmf_keys import KeyTables

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.intp]


class AnalysisWindow(NamedTuple):
    """The last H blocks of K channels, seen through their candidate key's two bins."""

    first_block: Ints  # (K,) global index of each row's column 0
    block_size: int
    digit: Ints  # (K,) key index
    bins: F64  # (K, 4, H) Re, Im of the row bin then of the column bin
    tones: C128  # (K, 2, H) complex amplitudes of the row and the column tone (at the bins)
    same: Bools  # (K, H) the block is a hit for this key
    history: BlockHistory
    cells: Ints  # (K, H) the blocks' cells in the ring

    def energies(self) -> F32:
        """(K, H) block energies (meaningful on the key's hits only)."""
        energies: F32 = self.history.energies.reshape(-1).take(self.cells)
        return energies

    def overtones(self, weights: F32) -> F32:
        """(K, 4, H) the bins of the key's overtones, from their (K, B, 4) bank ``weights``
        (Re, Im of the row tone's then the column tone's); zero off the key's hits."""
        return self.history.keyed_bins(self.cells, self.same, weights)


class BlockHistory:
    """The features of the last ``steps`` steps of every channel, in a ring.

    Every field is (steps, C, step blocks, ...): global block ``g`` of channel ``c`` is in
    step slot ``(g // step_blocks) % steps`` at ``c, g % step_blocks``; flattened, that is the
    block's *cell* (see :meth:`cells`). A step slot is channel-major, as the filter bank
    computes a 20 ms call, so the bank writes such a call straight into its slot.
    """

    def __init__(
        self, channels: int, steps: int, step_blocks: int, window: int, coefficients: int
    ) -> None:
        if (window + step_blocks - 2) // step_blocks + 1 > steps:
            raise ValueError("the ring must hold a whole window behind any block of a step")
        self.steps = steps
        self.step_blocks = step_blocks
        self.window_blocks = window
        shape = (steps, channels, step_blocks)
        self.coefficients = np.zeros((*shape, coefficients), dtype=np.float32)
        self.energies = np.zeros(shape, dtype=np.float32)
        self.codes = np.full(shape, -1, dtype=np.int8)
        self.loud = np.zeros(shape, dtype=bool)  # the block passed the screen
        self._ahead = np.arange(window)
        self._cycle = steps * step_blocks  # blocks in the ring
        self._bases = self._cell_bases()
        # the samples of the recent blocks with a key: (end block, cells, (n, B) frames)
        self._keyed: deque[tuple[int, Ints, F32]] = deque()

    @property
    def channels(self) -> int:
        return int(self.codes.shape[1])

    def _cell_bases(self) -> Ints:
        """Channel 0's cell of each block of two turns of the ring (a window never wraps)."""
        block = np.arange(2 * self._cycle)
        step, within = np.divmod(block % self._cycle, self.step_blocks)
        bases: Ints = step * self.channels * self.step_blocks + within
        return bases

    def cells(self, blocks: Ints, channels: Ints) -> Ints:
        """Flat cells of global ``blocks`` of ``channels`` (broadcast together)."""
        step, block = np.divmod(blocks, self.step_blocks)
        cells: Ints = ((step % self.steps) * self.channels + channels) * self.step_blocks + block
        return cells

    def resize(self, channels: int) -> None:
        """Keep the first ``channels`` slots' features; new ones start silent."""
        before, keep = self.channels, min(channels, self.channels)
        for name, fill in (
            ("coefficients", 0),
            ("energies", 0),
            ("codes", -1),
            ("loud", 0),
        ):
            old = getattr(self, name)
            new = np.full((old.shape[0], channels, *old.shape[2:]), fill, dtype=old.dtype)
            new[:, :keep] = old[:, :keep]
            setattr(self, name, new)
        entries, self._keyed = list(self._keyed), deque()
        for end, cells, frames in entries:  # cells count channels: renumber them
            step_channel, block = np.divmod(cells, self.step_blocks)
            step, channel = np.divmod(step_channel, before)
            kept = channel < channels
            renumbered = (step * channels + channel) * self.step_blocks + block
            self._keyed.append((end, renumbered[kept], frames[kept]))
        self._bases = self._cell_bases()

    def keep_keyed(self, end: int, cells: Ints, frames: F32) -> None:
        """Keep the samples of blocks with a key up to block ``end`` (their ``cells``)."""
        while self._keyed and self._keyed[0][0] <= end - self.window_blocks:
            self._keyed.popleft()
        self._keyed.append((end, cells, frames))

    def keyed_bins(self, cells: Ints, wanted: Bools, weights: F32) -> F32:
        """(K, 4, H) four bins (``weights``, (K, B, 4)) of the kept blocks with a key at
        ``cells`` (K, H) where ``wanted``; zero elsewhere. Computed when an analysis asks,
        which is seldom, instead of for every block with a key."""
        count, length = cells.shape
        kept = np.concatenate([entry[1] for entry in self._keyed] or [cells[:0, 0]])
        if kept.size == 0:
            return np.zeros((count, 4, length), dtype=np.float32)
        frames = np.concatenate([entry[2] for entry in self._keyed])
        order = np.argsort(kept)
        at = np.minimum(np.searchsorted(kept, cells, sorter=order), kept.size - 1)
        found = (kept.take(order.take(at)) == cells) & wanted
        samples = frames.take(order.take(at), axis=0) * found[..., None]  # (K, H, B)
        bins: F32 = np.matmul(samples, weights).transpose(0, 2, 1)
        return bins

    def window(
        self,
        channels: Ints,
        last_block: Ints,
        digit: Ints,
        first_valid: npt.NDArray[np.int64],
        tables: KeyTables,
    ) -> AnalysisWindow:
        """Blocks ``last_block - H + 1 .. last_block`` (per row) of ``channels``.

        Seen through the two bins of each row's key ``digit``. Blocks before ``first_valid``
        (another stream) read as silence.
        """
        first = last_block - (self.window_blocks - 1)
        turn = (first % self._cycle)[:, None] + self._ahead
        cells = self._bases.take(turn) + (channels * self.step_blocks)[:, None]
        same = self.codes.reshape(-1).take(cells) == digit[:, None]
        columns = tables.columns[digit, :, None]
        bins = self.coefficients.reshape(-1, self.coefficients.shape[-1])[cells[:, None], columns]
        if int(first_valid.max()) > int(first.min()):  # a stream began inside the window
            valid = first[:, None] + self._ahead >= first_valid[:, None]
            same &= valid
            bins *= valid[:, None, :]
        wide = bins.astype(np.float64)
        tones = np.matmul(tables.unmixing[digit], wide)
        return AnalysisWindow(first, tables.block_size, digit, wide, tones, same, self, cells)
