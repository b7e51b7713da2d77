"""Block features of the recent past, and windows on them for the DTMF analysis.

The detector appends the features of each call (DFT coefficients, energies, key codes and
overtone coefficients of every block) by reference: nothing is copied on the hot path. A
window gathers, for a few channels only, the last blocks up to a per-channel block, seen
through the two bins of the key each channel is tracking.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
Bools = npt.NDArray[np.bool_]


def unmix(bins: F64, unmixing: F64) -> tuple[C128, C128]:
    """Complex amplitudes of the two sines from (K, H, 4) bin values and (K, 4, 4) inverses."""
    amplitudes = np.einsum("kij,khj->khi", unmixing, bins)
    return amplitudes[..., 0] + 1j * amplitudes[..., 1], amplitudes[..., 2] + 1j * amplitudes[
        ..., 3
    ]


@dataclass(frozen=True)
class AnalysisWindow:
    """The last H blocks of K channels, seen through their candidate key's two bins."""

    first_block: npt.NDArray[np.intp]  # (K,) global index of each row's column 0
    block_size: int
    row: npt.NDArray[np.intp]  # (K,) row-tone bin
    col: npt.NDArray[np.intp]  # (K,) column-tone bin (0..3)
    bins: F64  # (K, H, 4) Re, Im of the row bin then of the column bin
    low: C128  # (K, H) complex amplitude of the row tone in each block (unmixed at the bins)
    high: C128  # (K, H) complex amplitude of the column tone in each block
    energies: F64  # (K, H)
    same: Bools  # (K, H) the block is a hit for this key
    overtones: F64  # (K, H, 4) Re, Im of the row tone's then the column tone's overtone bin

    def subset(self, rows: npt.NDArray[np.intp]) -> AnalysisWindow:
        """The window of some of the channels only."""
        return AnalysisWindow(
            self.first_block[rows],
            self.block_size,
            self.row[rows],
            self.col[rows],
            self.bins[rows],
            self.low[rows],
            self.high[rows],
            self.energies[rows],
            self.same[rows],
            self.overtones[rows],
        )


@dataclass(frozen=True)
class _Chunk:
    first: int
    coefficients: npt.NDArray[np.float32]  # (C, m, 16)
    energies: npt.NDArray[np.float32]  # (C, m)
    codes: npt.NDArray[np.int8]  # (C, m)
    overtones: npt.NDArray[np.float32]  # (C, m, 16), filled for hit blocks only

    @property
    def end(self) -> int:
        return self.first + int(self.codes.shape[1])


class BlockHistory:
    """The block features of the last calls, kept by reference (no copies on the hot path)."""

    def __init__(self, keep_blocks: int) -> None:
        self.keep_blocks = keep_blocks
        self._chunks: deque[_Chunk] = deque()

    def append(
        self,
        first: int,
        coefficients: npt.NDArray[np.float32],
        energies: npt.NDArray[np.float32],
        codes: npt.NDArray[np.int8],
        overtones: npt.NDArray[np.float32],
    ) -> None:
        # a window ending at the new chunk's first block reaches keep_blocks - 1 back
        while self._chunks and self._chunks[0].end <= first - self.keep_blocks:
            self._chunks.popleft()
        self._chunks.append(_Chunk(first, coefficients, energies, codes, overtones))

    def window(
        self,
        channels: npt.NDArray[np.intp],
        last_block: npt.NDArray[np.intp],
        digit: npt.NDArray[np.int8],
        first_valid: npt.NDArray[np.int64],
        unmixing: F64,
        block_size: int,
    ) -> AnalysisWindow:
        """Blocks ``last_block - keep + 1 .. last_block`` (per row) of ``channels``.

        Seen through the two bins of each row's key ``digit``; ``unmixing`` (16, 4, 4) turns
        a key's two bin coefficients into the complex amplitudes of its two sines at their
        nominal frequencies. Blocks before ``first_valid`` (another stream) read as silence.
        """
        length = self.keep_blocks
        low_block = int(last_block.min()) - length + 1
        span = int(last_block.max()) - low_block + 1
        row = (digit // 4).astype(np.intp)
        col = (digit % 4).astype(np.intp)
        columns = np.stack([row, 8 + row, 4 + col, 12 + col], axis=1)  # (K, 4)
        gathered = self._gather(channels, columns, low_block, span)
        each = np.arange(channels.size)[:, None]
        shift = (last_block - length + 1 - low_block)[:, None] + np.arange(length)[None, :]
        bins, energies, codes, overtones = (part[each, shift] for part in gathered)
        first = last_block - length + 1
        valid = (first[:, None] + np.arange(length)[None, :]) >= first_valid[:, None]
        bins[~valid] = 0.0
        overtones[~valid] = 0.0
        energies[~valid] = 0.0
        same = (codes == digit[:, None]) & valid
        low, high = unmix(bins, unmixing[digit.astype(np.intp)])
        return AnalysisWindow(
            first, block_size, row, col, bins, low, high, energies, same, overtones
        )

    def _gather(
        self, channels: npt.NDArray[np.intp], columns: npt.NDArray[np.intp], first: int, span: int
    ) -> tuple[F64, F64, npt.NDArray[np.int8], F64]:
        """Bins (K, span, 4), energies, codes and overtone bins of blocks ``first ..``."""
        count = channels.size
        bins = np.zeros((count, span, 4))
        energies = np.zeros((count, span))
        codes = np.full((count, span), -1, dtype=np.int8)
        overtones = np.zeros((count, span, 4))
        for chunk in self._chunks:
            lo, hi = max(first, chunk.first), min(first + span, chunk.end)
            if lo >= hi:
                continue
            rows = np.flatnonzero(channels < chunk.codes.shape[0])  # slots added later: none
            picked = channels[rows]
            src, dst = slice(lo - chunk.first, hi - chunk.first), slice(lo - first, hi - first)
            blocks = np.arange(lo - chunk.first, hi - chunk.first)[None, :, None]
            where = (picked[:, None, None], blocks, columns[rows][:, None, :])
            bins[rows, dst] = chunk.coefficients[where]
            overtones[rows, dst] = chunk.overtones[where]
            energies[rows, dst] = chunk.energies[picked, src]
            codes[rows, dst] = chunk.codes[picked, src]
        return bins, energies, codes, overtones
