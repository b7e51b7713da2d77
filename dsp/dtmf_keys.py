"""Per-key constants of the DTMF analysis, built once per detector and looked up by key index.

A key index is ``row * 4 + column`` (0 .. 15). Each key is seen through two bins of the
filter bank, its row tone's and its column tone's; the tables below hold what the analysis
needs of those two bins, so that a candidate's constants are one gather away instead of being
rebuilt on every analysis. Per-tone fields are (16, 2), row tone first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dsp.goertzel import FilterBank

KEYS = 16
F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
Ints = npt.NDArray[np.intp]


@dataclass(frozen=True)
class KeyTables:
    """The two bins of every key, in the forms the analysis uses them."""

    block_size: int
    columns: Ints  # (16, 4) coefficient columns: Re, Im of the row bin, then of the column bin
    nominal: F64  # (16, 2) the bins' frequencies, radians per sample
    rotation: C128  # (16, 2) block-to-block phase advance of a sine on each bin
    to_pct: F64  # (16, 2) radians per sample to percent of the bin's frequency
    to_pct2: F64  # (16, 4) the same, twice over
    unmixing: C128  # (16, 2, 4) bin values to the two sines' complex amplitudes at the bins
    weights: F64  # (16, B, 4) the bank's weights of the key's four columns
    weights_by_bin: F64  # (16, 4, B) the same, one row per column
    overtone_weights: F64  # (16, B, 4) the overtone bank's weights of the same four columns
    overtone_weights32: npt.NDArray[np.float32]  # (16, B, 4) the same as the bank computes
    overtone_nominal: F64  # (16, 2) the overtone bins' frequencies, radians per sample
    overtone_scale: F64  # 0-d: sqrt(2 B), a block sum's magnitude to a sine's amplitude

    @classmethod
    def build(cls, bank: FilterBank, overtones: FilterBank) -> KeyTables:
        """Tables for ``bank`` (4 row then 4 column frequencies) and its ``overtones`` bank."""
        keys = np.arange(KEYS)
        row, col = keys // 4, 4 + keys % 4
        half = bank.size
        columns = np.stack([row, half + row, col, half + col], axis=1).astype(np.intp)
        bins = np.stack([row, col], axis=1)
        inverse = bank.unmixing(row, col)  # (16, 4, 4): rows Re a1, Im a1, Re a2, Im a2
        unmixing = np.stack(
            [inverse[:, 0] + 1j * inverse[:, 1], inverse[:, 2] + 1j * inverse[:, 3]], axis=1
        )
        weights = np.transpose(bank.weights.astype(np.float64)[:, columns], (1, 0, 2))
        overtone = np.transpose(overtones.weights.astype(np.float64)[:, columns], (1, 0, 2))
        return cls(
            block_size=bank.block_size,
            columns=columns,
            nominal=bank.omega[bins],
            rotation=np.exp(1j * bank.omega[bins] * bank.block_size),
            to_pct=100.0 / bank.omega[bins],
            to_pct2=np.tile(100.0 / bank.omega[bins], 2),
            unmixing=unmixing,
            weights=np.ascontiguousarray(weights),
            weights_by_bin=np.ascontiguousarray(weights.transpose(0, 2, 1)),
            overtone_weights=np.ascontiguousarray(overtone),
            overtone_weights32=np.ascontiguousarray(overtone.astype(np.float32)),
            overtone_nominal=overtones.omega[bins],
            overtone_scale=np.array(np.sqrt(2.0 * bank.block_size)),
        )
