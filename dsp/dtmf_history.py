"""Block features of the recent past, and windows on them for the DTMF analysis.

The features of every block (DFT coefficients, energy, key code, overtone bins) live in a
ring of ``length`` blocks per channel, block-major: global block ``g`` is in slot
``g % length``, and a slot holds that block for all channels side by side, so that the filter
bank writes a new block's coefficients straight into its slot. A window gathers, for a few
channels only, the last blocks up to a per-channel block, seen through the two bins of the
key each channel is tracking: one fancy index per field, whatever the chunk sizes were.
"""

from __future__ import annotations

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
    slots: Ints  # (K, H) ring slots of the blocks
    channels: Ints  # (K, 1)

    def energies(self) -> F32:
        """(K, H) block energies (meaningful on the key's hits only)."""
        energies: F32 = self.history.energies[self.slots, self.channels]
        return energies

    def overtones(self) -> F32:
        """(K, 4, H) Re, Im of the row tone's then the column tone's overtone bin (meaningful
        on the key's hits only)."""
        overtones: F32 = self.history.overtones[self.slots, self.channels].transpose(0, 2, 1)
        return overtones


class BlockHistory:
    """The features of the last ``length`` blocks of every channel, in a ring."""

    def __init__(self, channels: int, length: int, window: int, coefficients: int) -> None:
        if window > length:
            raise ValueError("the ring must hold a whole window")
        self.length = length
        self.window_blocks = window
        self.coefficients = np.zeros((length, channels, coefficients), dtype=np.float32)
        self.energies = np.zeros((length, channels), dtype=np.float32)
        self.codes = np.full((length, channels), -1, dtype=np.int8)
        self.overtones = np.zeros((length, channels, 4), dtype=np.float32)
        self._steps = np.arange(1 - window, 1)
        self._ahead = np.arange(window)

    def resize(self, channels: int) -> None:
        """Keep the first ``channels`` slots' features; new ones start silent."""
        keep = min(channels, self.coefficients.shape[1])
        for name, fill in (("coefficients", 0), ("energies", 0), ("codes", -1), ("overtones", 0)):
            old = getattr(self, name)
            new = np.full((old.shape[0], channels, *old.shape[2:]), fill, dtype=old.dtype)
            new[:, :keep] = old[:, :keep]
            setattr(self, name, new)

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
        first = last_block + self._steps[0]
        blocks = first[:, None] + self._ahead
        slots = blocks % self.length
        each = channels[:, None]
        same = self.codes[slots, each] == digit[:, None]
        columns = tables.columns[digit, :, None]
        bins = self.coefficients[slots[:, None, :], each[:, :, None], columns]
        if int(first_valid.max()) > int(first.min()):  # a stream began inside the window
            valid = blocks >= first_valid[:, None]
            same &= valid
            bins *= valid[:, None, :]
        wide = bins.astype(np.float64)
        tones = np.matmul(tables.unmixing[digit], wide)
        return AnalysisWindow(
            first,
            tables.block_size,
            digit,
            wide,
            tones,
            same,
            self,
            slots,
            each,
        )
