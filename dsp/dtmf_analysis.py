"""Tone analysis and sample positions for DTMF candidates, vectorized over the candidates.

Runs only for channels whose candidate key reached the hit count (key-down analysis) or whose
key just ended (key-up position), on a window of the last block features kept by
:class:`BlockHistory`.

The analysis of a candidate uses the *interior* blocks of its current run of hits (all but
the run's first block, which may be partly silent, and the newest block, which may be the
last and partial). In a 5 ms block the two tones leak into each other's bins, so the two bin
coefficients are first *unmixed* into the two sines' complex amplitudes (a 4x4 real solve,
:meth:`FilterBank.unmixing`). Then, for each tone:

- the frequency offset is the angle of ``sum a[b+1] * conj(a[b])`` derotated by the bin's own
  block-to-block advance; the same over the first and second half of the pairs gives the
  drift;
- the blocks are unmixed again at the measured frequencies, derotated, and averaged: a
  coherent long-window estimate of the tone's complex amplitude.

The two fitted sines' energy over the interior (computed in closed form, cross terms
included) against the measured energy gives the share of energy they do not explain.

Start and end are refined to the sample: the edge blocks' magnitudes, relative to the
interior amplitude, are the fractions of those blocks the tones fill.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dsp.dtmf_tables import GAP_BLOCKS
from dsp.goertzel import FilterBank, block_gain, frequency_offset_hz
from dsp.tones import DBM0_RMS, DTMF_KEYPAD

DIGITS = "".join(DTMF_KEYPAD)  # key index = row * 4 + column

FREQ_TOLERANCE_PCT = 2.0  # accept offsets within this (Q.24: detect 1.5 %, reject 3.5 %)
DRIFT_MAX_PCT = 1.0  # frequency change between the halves of the analysis window
RESIDUAL_MAX_DB = -10.0  # energy not explained by the two tones, relative to all energy
OVERTONE_MAX_DB = -20.0  # the overtones below vs both tones (music has them, DTMF not)
OVERTONE_ROW = 3  # the row tone's 3rd harmonic (its 2nd falls among the column tones)
OVERTONE_COLUMN = 2  # the column tone's 2nd harmonic
MIN_TONE_LEVEL_DBM0 = -40.0  # each tone (Q.24: detect -25, reject -55 dBm0)
NORMAL_TWIST_MAX_DB = 10.0  # column tone weaker than row tone by at most this (spec: 8)
REVERSE_TWIST_MAX_DB = 6.0  # column tone stronger than row tone by at most this (spec: 4)
MIN_INTERIOR_BLOCKS = 4  # interior blocks needed in the current run (20 ms)
ANALYSIS_BLOCKS = 8  # the analysis looks at the newest 8 interior blocks (40 ms) at most

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

    first_block: int  # global index of column 0
    block_size: int
    row: npt.NDArray[np.intp]  # (K,) row-tone bin
    col: npt.NDArray[np.intp]  # (K,) column-tone bin (0..3)
    bins: F64  # (K, H, 4) Re, Im of the row bin then of the column bin
    low: C128  # (K, H) complex amplitude of the row tone in each block (unmixed at the bins)
    high: C128  # (K, H) complex amplitude of the column tone in each block
    energies: F64  # (K, H)
    same: Bools  # (K, H) the block is a hit for this key
    overtones: F64  # (K, H, 4) Re, Im of the row tone's then the column tone's overtone bin


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
        chunk = _Chunk(first, coefficients, energies, codes, overtones)
        self._chunks.append(chunk)
        while len(self._chunks) > 1 and self._chunks[1].end <= chunk.end - self.keep_blocks:
            self._chunks.popleft()

    def last_block(
        self, channels: npt.NDArray[np.intp], width: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], Bools]:
        """Coefficients (K, width), energy and hit flag of the newest kept block (or zeros)."""
        coefficients = np.zeros((channels.size, width), dtype=np.float32)
        energy = np.zeros(channels.size, dtype=np.float32)
        hit = np.zeros(channels.size, dtype=bool)
        if self._chunks:
            chunk = self._chunks[-1]
            rows = np.flatnonzero(channels < chunk.coefficients.shape[0])
            coefficients[rows] = chunk.coefficients[channels[rows], -1]
            energy[rows] = chunk.energies[channels[rows], -1]
            hit[rows] = chunk.codes[channels[rows], -1] >= 0
        return coefficients, energy, hit

    def window(
        self,
        channels: npt.NDArray[np.intp],
        last_block: int,
        digit: npt.NDArray[np.int8],
        first_valid: npt.NDArray[np.int64],
        unmixing: F64,
        block_size: int,
    ) -> AnalysisWindow:
        """Blocks ``last_block - keep + 1 .. last_block`` of ``channels`` for key ``digit``.

        ``unmixing`` (16, 4, 4) turns each key's two bin coefficients into the complex
        amplitudes of its two sines at their nominal frequencies.
        """
        count, length = channels.size, self.keep_blocks
        first = last_block - length + 1
        row = (digit // 4).astype(np.intp)
        col = (digit % 4).astype(np.intp)
        bins = np.zeros((count, length, 4))
        energies = np.zeros((count, length))
        same = np.zeros((count, length), dtype=bool)
        overtones = np.zeros((count, length, 4))
        columns = np.stack([row, 8 + row, 4 + col, 12 + col], axis=1)[:, None, :]  # (K, 1, 4)
        for chunk in self._chunks:
            lo, hi = max(first, chunk.first), min(last_block + 1, chunk.end)
            rows = np.flatnonzero(channels < chunk.codes.shape[0])
            if lo >= hi or rows.size == 0:
                continue
            src, dst = slice(lo - chunk.first, hi - chunk.first), slice(lo - first, hi - first)
            picked = channels[rows]
            coefficients = chunk.coefficients[picked, src]  # (k, n, 16)
            bins[rows, dst] = np.take_along_axis(coefficients, columns[rows], axis=2)
            energies[rows, dst] = chunk.energies[picked, src]
            same[rows, dst] = chunk.codes[picked, src] == digit[rows][:, None]
            harmonic = chunk.overtones[picked, src]  # (k, n, 16)
            overtones[rows, dst] = np.take_along_axis(harmonic, columns[rows], axis=2)
        valid = np.arange(first, first + length)[None, :] >= first_valid[:, None]
        bins[~valid] = 0.0
        overtones[~valid] = 0.0
        energies[~valid] = 0.0
        same &= valid
        low, high = unmix(bins, unmixing[digit.astype(np.intp)])
        return AnalysisWindow(
            first, block_size, row, col, bins, low, high, energies, same, overtones
        )


@dataclass(frozen=True)
class _ToneFit:
    offset_pct: F64  # frequency offset from nominal
    drift_pct: F64  # change of that offset between the two halves of the window
    amplitude: F64  # |mean of the derotated blocks|: a full block's magnitude
    omega: F64  # measured frequency, radians per sample
    phasor: C128  # complex amplitude a: the tone is Re(a * exp(i*omega*n)), n from window start

    @property
    def power(self) -> F64:
        """The tone's power (A**2 / 2)."""
        return np.abs(self.phasor) ** 2 / 2.0


def _fit_tone(
    blocks: C128, interior: Bools, reference: F64, bin_index: npt.NDArray[np.intp], bank: FilterBank
) -> _ToneFit:
    """Fit a steady sine to ``blocks``, amplitudes of a sine near ``reference`` rad/sample."""
    size = bank.block_size
    rotation = np.exp(1j * reference * size)
    pairs = interior[:, 1:] & interior[:, :-1]
    advance = np.where(pairs, blocks[:, 1:] * np.conj(blocks[:, :-1] * rotation[:, None]), 0)
    theta = np.angle(advance.sum(1))
    number = np.cumsum(pairs, axis=1)
    total = number[:, -1:]
    early = np.angle(np.where(pairs & (number <= total // 2), advance, 0).sum(1))
    late = np.angle(np.where(pairs & (number > (total + 1) // 2), advance, 0).sum(1))
    drift = np.angle(np.exp(1j * (late - early)))
    offset = theta / size  # radians per sample, from the reference
    steps = np.arange(blocks.shape[1])[None, :]
    derotated = np.where(
        interior, blocks * np.exp(-1j * (reference + offset)[:, None] * size * steps), 0
    )
    mean = derotated.sum(1) / np.maximum(interior.sum(1), 1)
    gain = block_gain(offset, size) * np.exp(0.5j * offset * (size - 1))
    omega = reference + offset
    to_pct = 100.0 / bank.frequencies_hz[bin_index]
    return _ToneFit(
        offset_pct=(omega - bank.omega[bin_index]) * bank.sample_rate / (2 * np.pi) * to_pct,
        drift_pct=frequency_offset_hz(drift, size, bank.sample_rate) * to_pct,
        amplitude=np.abs(mean),
        omega=omega,
        phasor=mean / gain,
    )


def _fit_pair(
    window: AnalysisWindow, interior: Bools, bank: FilterBank
) -> tuple[_ToneFit, _ToneFit]:
    """Fit both tones: once on the amplitudes unmixed at the bins, then at the fitted freqs."""
    row, col = window.row, 4 + window.col
    rough_low = _fit_tone(window.low, interior, bank.omega[row], row, bank)
    rough_high = _fit_tone(window.high, interior, bank.omega[col], col, bank)
    measured = (rough_low.omega, rough_high.omega)
    low, high = unmix(window.bins, bank.unmixing(row, col, measured))
    return (
        _fit_tone(low, interior, rough_low.omega, row, bank),
        _fit_tone(high, interior, rough_high.omega, col, bank),
    )


def _exp_sum(omega: F64, first: F64, length: F64) -> C128:
    """sum of exp(i*omega*n) for n = first .. first+length-1."""
    ratio = np.exp(1j * omega)
    denominator = 1.0 - ratio
    flat = np.abs(denominator) < 1e-9
    series = (1.0 - np.exp(1j * omega * length)) / np.where(flat, 1.0, denominator)
    total: C128 = np.exp(1j * omega * first) * np.where(flat, length, series)
    return total


def _model_energy(low: _ToneFit, high: _ToneFit, first: F64, length: F64) -> F64:
    """Energy of the fitted two-tone signal over samples ``first .. first+length-1``."""
    a, b = low.phasor, high.phasor
    energy = length * (np.abs(a) ** 2 + np.abs(b) ** 2) / 2.0
    energy += np.real(a * a * _exp_sum(2 * low.omega, first, length)) / 2.0
    energy += np.real(b * b * _exp_sum(2 * high.omega, first, length)) / 2.0
    energy += np.real(a * b * _exp_sum(low.omega + high.omega, first, length))
    energy += np.real(a * np.conj(b) * _exp_sum(low.omega - high.omega, first, length))
    return np.asarray(energy, dtype=np.float64)


def _tone_leakage(columns: F64, low: _ToneFit, high: _ToneFit, length: int, size: int) -> F64:
    """(K, H, 4): what the two fitted tones alone put into four weight ``columns`` (K, B, 4)."""
    steps = np.arange(size)
    total = np.zeros((columns.shape[0], length, 4))
    starts = np.arange(length)[None, :, None] * size
    for fit in (low, high):
        response = np.einsum("kb,kbc->kc", np.exp(1j * fit.omega[:, None] * steps), columns)
        phase = fit.phasor[:, None, None] * np.exp(1j * fit.omega[:, None, None] * starts)
        total += np.real(phase * response[:, None, :])
    return total


def _overtone_db(
    window: AnalysisWindow, interior: Bools, low: _ToneFit, high: _ToneFit, bank: FilterBank
) -> F64:
    """Power of the tones' overtones relative to the tones' own power, in dB.

    Overtone bins: the row tone's 3rd harmonic (2091..2823 Hz) and the column tone's 2nd
    (2418..3266 Hz). The fitted tones' own leakage into them is subtracted first; the
    coherent average over the interior then separates the two overtones of one key.
    """
    size = bank.block_size
    weights = bank.weights.astype(np.float64)
    columns = np.stack([window.row, 8 + window.row, 4 + window.col, 12 + window.col], axis=1)
    picked = np.transpose(weights[:, columns], (1, 0, 2))  # (K, B, 4)
    cleaned = window.overtones - _tone_leakage(picked, low, high, interior.shape[1], size)
    steps = np.arange(interior.shape[1])[None, :]
    count = np.maximum(interior.sum(1), 1)
    power = np.zeros(interior.shape[0])
    for fit, multiple, part, index in (
        (low, OVERTONE_ROW, 0, window.row),
        (high, OVERTONE_COLUMN, 2, 4 + window.col),
    ):
        blocks = cleaned[..., part] + 1j * cleaned[..., part + 1]
        omega = multiple * fit.omega
        derotated = np.where(interior, blocks * np.exp(-1j * omega[:, None] * size * steps), 0)
        gain = block_gain(omega - bank.omega[index], size) * np.sqrt(size / 2.0)
        power += (np.abs(derotated.sum(1)) / count / gain) ** 2 / 2.0
    ratio = power / np.maximum(low.power + high.power, 1e-9)
    level: F64 = 10.0 * np.log10(np.maximum(ratio, 1e-12))
    return level


def _level_dbm0(power: F64) -> F64:
    level: F64 = 10.0 * np.log10(np.maximum(power, 1e-30) / DBM0_RMS**2)
    return level


def _is_dtmf(low: _ToneFit, high: _ToneFit, residual: F64, overtone_db: F64) -> Bools:
    """The checks on the two fitted tones; ``residual`` is the unexplained energy share."""
    level_low, level_high = _level_dbm0(low.power), _level_dbm0(high.power)
    twist = level_high - level_low
    ok: Bools = residual <= 10.0 ** (RESIDUAL_MAX_DB / 10.0)
    ok &= overtone_db <= OVERTONE_MAX_DB
    ok &= np.minimum(level_low, level_high) >= MIN_TONE_LEVEL_DBM0
    ok &= (twist >= -NORMAL_TWIST_MAX_DB) & (twist <= REVERSE_TWIST_MAX_DB)
    for fit in (low, high):
        ok &= np.abs(fit.offset_pct) <= FREQ_TOLERANCE_PCT
        ok &= np.abs(fit.drift_pct) <= DRIFT_MAX_PCT
    return ok


def _run_start(same: Bools, end: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """First block of the run of hits that contains block ``end`` (per row)."""
    steps = np.arange(same.shape[1])[None, :]
    before = (~same) & (steps < end[:, None])
    start: npt.NDArray[np.intp] = np.where(before, steps, -1).max(1) + 1
    return start


def _first_bridged(same: Bools, start: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Earliest hit reachable from ``start`` going back over gaps shorter than the split."""
    first = start.copy()
    for step in range(same.shape[1] - 2, -1, -1):
        reach = same[:, step] & (step < first) & (first - step <= GAP_BLOCKS)
        first = np.where(reach, step, first)
    return first


def _coverage(window: AnalysisWindow, reference: F64) -> F64:
    """(K, H): the fraction of each block the two tones fill, from their magnitudes."""
    magnitude = np.abs(window.low) + np.abs(window.high)
    return np.clip(magnitude / np.maximum(reference, 1e-9)[:, None], 0.0, 1.0)


def analyse_down(
    window: AnalysisWindow, bank: FilterBank, overtones: FilterBank
) -> tuple[Bools, F64]:
    """Which candidates are DTMF keys, and their start (global sample index, fractional).

    ``overtones`` is the bank at the tones' overtones (see :func:`_overtone_db`).
    """
    count, length = window.same.shape
    last = np.full(count, length - 1, dtype=np.intp)
    start = _run_start(window.same, last)
    steps = np.arange(length)[None, :]
    newest = length - 1
    interior = (steps > np.maximum(start, newest - 1 - ANALYSIS_BLOCKS)[:, None]) & (steps < newest)
    blocks = interior.sum(1)
    energy = np.where(interior, window.energies, 0.0).sum(1)
    low, high = _fit_pair(window, interior, bank)
    size = window.block_size
    interior_first = np.asarray((newest - blocks) * size, dtype=np.float64)
    explained = _model_energy(
        low, high, interior_first, np.asarray(blocks * size, dtype=np.float64)
    )
    residual = 1.0 - explained / np.maximum(energy, 1e-9)
    overtone = _overtone_db(window, interior, low, high, overtones)
    accepted = (blocks >= MIN_INTERIOR_BLOCKS) & _is_dtmf(low, high, residual, overtone)
    first = _first_bridged(window.same, start)
    cover = _coverage(window, low.amplitude + high.amplitude)
    keys = np.arange(count)
    filled = cover[keys, first] + np.where(first > 0, cover[keys, np.maximum(first - 1, 0)], 0.0)
    starts = (window.first_block + first + 1) * size - filled * size
    return accepted, starts.astype(np.float64)


def locate_up(window: AnalysisWindow) -> F64:
    """End (global sample index, fractional) of each key whose last hit is in the window."""
    count, length = window.same.shape
    steps = np.arange(length)[None, :]
    last = np.where(window.same, steps, -1).max(1)
    last = np.maximum(last, 0)
    start = _run_start(window.same, last)
    near = (steps > start[:, None]) & (steps < last[:, None]) & (steps >= last[:, None] - 4)
    magnitude = np.abs(window.low) + np.abs(window.high)
    keys = np.arange(count)
    known = near.sum(1)
    reference = np.where(
        known > 0,
        np.where(near, magnitude, 0.0).sum(1) / np.maximum(known, 1),
        magnitude[keys, last],
    )
    cover = _coverage(window, reference)
    after = np.where(last + 1 < length, cover[keys, np.minimum(last + 1, length - 1)], 0.0)
    size = window.block_size
    ends: F64 = (window.first_block + last) * size + (cover[keys, last] + after) * size
    return ends.astype(np.float64)
