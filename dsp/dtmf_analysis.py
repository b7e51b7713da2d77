"""Tone analysis and sample positions for DTMF candidates, vectorized over the candidates.

Runs only for channels whose candidate key reached the hit count (key-down analysis) or whose
key just ended (key-up position), on a window of the last block features kept by
:class:`BlockHistory`.

The analysis of a candidate uses the *interior* blocks of its current run of hits (all but
the run's first block, which may be partly silent, and the newest block, which may be the
last and partial; at most the newest ``ANALYSIS_BLOCKS``). In a 5 ms block the two tones
leak into each other's bins, so the two bin coefficients are first *unmixed* into the two
sines' complex amplitudes (a 4x4 real solve, :meth:`FilterBank.unmixing`). Then, for each
tone:

- the frequency offset is the angle of ``sum a[b+1] * conj(a[b])`` derotated by the bin's own
  block-to-block advance; the same over the first and second half of the pairs gives the
  drift;
- the blocks are unmixed again at the measured frequencies, derotated, and averaged: a
  coherent long-window estimate of the tone's complex amplitude.

A candidate whose first fit is far from a key ends there (most talk-off candidates do).
The two fitted sines' energy over the interior (in closed form, cross terms included)
against the measured energy gives the share of energy they do not explain; the energy at
the tones' overtones, after subtracting the fitted tones' own leakage, must be small too.

Start and end are found to the sample: the fitted two-tone signal is cut at each sample of
the two edge blocks, and the cut whose bins best match the observed ones wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dsp.dtmf_history import AnalysisWindow, unmix
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
ROUGH_MARGIN_PCT = 0.5  # a first fit further off than tolerance + this ends the analysis

F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _ToneFit:
    """Both tones of K candidates: every field is (2, K), row tone first."""

    offset_pct: F64  # frequency offset from nominal
    drift_pct: F64  # change of that offset between the two halves of the window
    amplitude: F64  # |mean of the derotated blocks|: a full block's magnitude
    omega: F64  # measured frequency, radians per sample
    phasor: C128  # complex amplitude a: the tone is Re(a * exp(i*omega*n)), n from window start

    def subset(self, rows: npt.NDArray[np.intp]) -> _ToneFit:
        """The fits of some of the candidates only."""
        return _ToneFit(
            self.offset_pct[:, rows],
            self.drift_pct[:, rows],
            self.amplitude[:, rows],
            self.omega[:, rows],
            self.phasor[:, rows],
        )

    @property
    def power(self) -> F64:
        """Each tone's power (A**2 / 2)."""
        power: F64 = np.abs(self.phasor) ** 2 / 2.0
        return power


def _fit_tones(
    blocks: C128, interior: Bools, reference: F64, bins: npt.NDArray[np.intp], bank: FilterBank
) -> _ToneFit:
    """Fit steady sines to (2, K, H) block amplitudes of sines near ``reference`` rad/sample."""
    size = bank.block_size
    rotation = np.exp(1j * reference * size)[..., None]
    pairs = interior[..., 1:] & interior[..., :-1]
    advance = np.where(pairs, blocks[..., 1:] * np.conj(blocks[..., :-1] * rotation), 0)
    theta = np.angle(advance.sum(-1))
    number = np.cumsum(pairs, axis=-1)
    total = number[..., -1:]
    early = np.angle(np.where(pairs & (number <= total // 2), advance, 0).sum(-1))
    late = np.angle(np.where(pairs & (number > (total + 1) // 2), advance, 0).sum(-1))
    drift = np.angle(np.exp(1j * (late - early)))
    offset = theta / size  # radians per sample, from the reference
    omega = reference + offset
    steps = np.arange(blocks.shape[-1]) * size
    derotated = np.where(interior, blocks * np.exp(-1j * omega[..., None] * steps), 0)
    mean = derotated.sum(-1) / np.maximum(interior.sum(-1), 1)
    gain = block_gain(offset, size) * np.exp(0.5j * offset * (size - 1))
    to_pct = 100.0 / bank.frequencies_hz[bins]
    return _ToneFit(
        offset_pct=(omega - bank.omega[bins]) * bank.sample_rate / (2 * np.pi) * to_pct,
        drift_pct=frequency_offset_hz(drift, size, bank.sample_rate) * to_pct,
        amplitude=np.abs(mean),
        omega=omega,
        phasor=mean / gain,
    )


def _rough_fit(window: AnalysisWindow, interior: Bools, bank: FilterBank) -> _ToneFit:
    """Both tones fitted on their amplitudes unmixed at the nominal frequencies."""
    bins = np.stack([window.row, 4 + window.col])
    blocks = np.stack([window.low, window.high])
    return _fit_tones(blocks, interior, bank.omega[bins], bins, bank)


def _fine_fit(
    window: AnalysisWindow, interior: Bools, rough: _ToneFit, bank: FilterBank
) -> _ToneFit:
    """Both tones fitted again on their amplitudes unmixed at the roughly fitted frequencies."""
    bins = np.stack([window.row, 4 + window.col])
    measured = (rough.omega[0], rough.omega[1])
    low, high = unmix(window.bins, bank.unmixing(bins[0], bins[1], measured))
    return _fit_tones(np.stack([low, high]), interior, rough.omega, bins, bank)


def _exp_sum(omega: F64, first: F64, length: F64) -> C128:
    """sum of exp(i*omega*n) for n = first .. first+length-1."""
    ratio = np.exp(1j * omega)
    denominator = 1.0 - ratio
    flat = np.abs(denominator) < 1e-9
    series = (1.0 - np.exp(1j * omega * length)) / np.where(flat, 1.0, denominator)
    total: C128 = np.exp(1j * omega * first) * np.where(flat, length, series)
    return total


def _model_energy(fit: _ToneFit, first: F64, length: F64) -> F64:
    """Energy of the fitted two-tone signal over samples ``first .. first+length-1``.

    With x = Re(a e^{i w1 n}) + Re(b e^{i w2 n}): x^2 = (|a|^2 + |b|^2)/2 + Re(a^2 e^{2 i w1 n})/2
    + Re(b^2 e^{2 i w2 n})/2 + Re(a b e^{i (w1+w2) n}) + Re(a conj(b) e^{i (w1-w2) n}).
    """
    (a, b), (w1, w2) = fit.phasor, fit.omega
    weights = np.stack([a * a / 2.0, b * b / 2.0, a * b, a * np.conj(b)])
    omegas = np.stack([2.0 * w1, 2.0 * w2, w1 + w2, w1 - w2])
    energy = length * fit.power.sum(0) + np.real(weights * _exp_sum(omegas, first, length)).sum(0)
    return np.asarray(energy, dtype=np.float64)


def _tone_leakage(columns: F64, fit: _ToneFit, length: int, size: int) -> F64:
    """(K, H, 4): what the two fitted tones alone put into four weight ``columns`` (K, B, 4)."""
    steps = np.arange(size)
    response = np.einsum("tkb,kbc->tkc", np.exp(1j * fit.omega[..., None] * steps), columns)
    starts = np.arange(length)[None, None, :, None] * size
    phase = fit.phasor[..., None, None] * np.exp(1j * fit.omega[..., None, None] * starts)
    leakage: F64 = np.real(phase * response[:, :, None, :]).sum(0)
    return leakage


def _overtone_db(window: AnalysisWindow, interior: Bools, fit: _ToneFit, bank: FilterBank) -> F64:
    """Power of the tones' overtones relative to the tones' own power, in dB.

    Overtone bins: the row tone's 3rd harmonic (2091..2823 Hz) and the column tone's 2nd
    (2418..3266 Hz). The fitted tones' own leakage into them is subtracted first; the
    coherent average over the interior then separates the two overtones of one key.
    """
    size = bank.block_size
    weights = bank.weights.astype(np.float64)
    columns = np.stack([window.row, 8 + window.row, 4 + window.col, 12 + window.col], axis=1)
    picked = np.transpose(weights[:, columns], (1, 0, 2))  # (K, B, 4)
    cleaned = window.overtones - _tone_leakage(picked, fit, interior.shape[1], size)
    blocks = np.stack(
        [cleaned[..., 0] + 1j * cleaned[..., 1], cleaned[..., 2] + 1j * cleaned[..., 3]]
    )
    omega = np.array([[OVERTONE_ROW], [OVERTONE_COLUMN]]) * fit.omega
    steps = np.arange(interior.shape[1]) * size
    derotated = np.where(interior, blocks * np.exp(-1j * omega[..., None] * steps), 0)
    bins = np.stack([window.row, 4 + window.col])
    gain = block_gain(omega - bank.omega[bins], size) * np.sqrt(size / 2.0)
    amplitude = np.abs(derotated.sum(-1)) / np.maximum(interior.sum(-1), 1) / gain
    ratio = (amplitude**2 / 2.0).sum(0) / np.maximum(fit.power.sum(0), 1e-9)
    level: F64 = 10.0 * np.log10(np.maximum(ratio, 1e-12))
    return level


def _level_dbm0(power: F64) -> F64:
    level: F64 = 10.0 * np.log10(np.maximum(power, 1e-30) / DBM0_RMS**2)
    return level


def _is_dtmf(fit: _ToneFit, residual: F64) -> Bools:
    """The checks on the two fitted tones but the overtones; ``residual``: unexplained share."""
    level_low, level_high = _level_dbm0(fit.power)
    twist = level_high - level_low
    ok: Bools = residual <= 10.0 ** (RESIDUAL_MAX_DB / 10.0)
    ok &= np.minimum(level_low, level_high) >= MIN_TONE_LEVEL_DBM0
    ok &= (twist >= -NORMAL_TWIST_MAX_DB) & (twist <= REVERSE_TWIST_MAX_DB)
    ok &= (np.abs(fit.offset_pct) <= FREQ_TOLERANCE_PCT).all(0)
    ok &= (np.abs(fit.drift_pct) <= DRIFT_MAX_PCT).all(0)
    return ok


def _run_start(same: Bools, end: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """First block of the run of hits that contains block ``end`` (per row)."""
    steps = np.arange(same.shape[1])[None, :]
    before = (~same) & (steps < end[:, None])
    start: npt.NDArray[np.intp] = np.where(before, steps, -1).max(1) + 1
    return start


def _first_bridged(same: Bools, start: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Earliest hit reachable from ``start`` going back over gaps shorter than the split."""
    steps = np.arange(same.shape[1])[None, :]
    position = np.where(same, steps, -(GAP_BLOCKS + 1) - same.shape[1])
    previous = np.maximum.accumulate(position, axis=1)
    previous = np.concatenate([np.full_like(previous[:, :1], position.min()), previous[:, :-1]], 1)
    opens_chain = same & (steps - previous > GAP_BLOCKS) & (steps <= start[:, None])
    first: npt.NDArray[np.intp] = np.where(opens_chain, steps, -1).max(1)
    return np.where(first >= 0, first, start)


def _coverage(window: AnalysisWindow, reference: F64) -> F64:
    """(K, H): the fraction of each block the two tones fill, from their magnitudes."""
    magnitude = np.abs(window.low) + np.abs(window.high)
    return np.clip(magnitude / np.maximum(reference, 1e-9)[:, None], 0.0, 1.0)


def _edge(
    window: AnalysisWindow,
    fit: _ToneFit,
    bank: FilterBank,
    pair: npt.NDArray[np.intp],
    rising: bool,
) -> F64:
    """Sample (from window start) where the fitted tones start (``rising``) or stop in the two
    blocks ``pair``, ``pair + 1``: the cut whose predicted bins best match the observed ones.

    The fitted two-tone signal, cut at each of the 2B+1 possible samples, gives each block's
    four bin values through prefix sums; the least-squares cut is the edge, to the sample.
    """
    size = bank.block_size
    count = pair.size
    samples = pair[:, None] * size + np.arange(2 * size)[None, :]
    tone = np.real(fit.phasor[..., None] * np.exp(1j * fit.omega[..., None] * samples)).sum(0)
    columns = np.stack([window.row, 8 + window.row, 4 + window.col, 12 + window.col], axis=1)
    weights = np.transpose(bank.weights.astype(np.float64)[:, columns], (1, 0, 2))  # (K, B, 4)
    product = tone[..., None] * np.concatenate([weights, weights], axis=1)  # (K, 2B, 4)
    zero = np.zeros((count, 1, 4))
    first = np.cumsum(np.concatenate([zero, product[:, :size]], axis=1), axis=1)  # cut 0..B
    second = np.cumsum(np.concatenate([zero, product[:, size:]], axis=1), axis=1)
    before = np.concatenate([first, np.repeat(first[:, -1:], size, axis=1)], axis=1)  # 0..2B
    after = np.concatenate([np.repeat(zero, size, axis=1), second], axis=1)
    if rising:  # the tone is on from the cut onwards
        before, after = first[:, -1:] - before, second[:, -1:] - after
    keys = np.arange(count)
    observed = window.bins[keys, pair][:, None, :], window.bins[keys, pair + 1][:, None, :]
    error = ((observed[0] - before) ** 2 + (observed[1] - after) ** 2).sum(-1)
    cut: F64 = pair * size + np.argmin(error, axis=1).astype(np.float64)
    return cut


def analyse_down(
    window: AnalysisWindow, bank: FilterBank, overtones: FilterBank
) -> tuple[Bools, F64, npt.NDArray[np.intp]]:
    """Which candidates are DTMF keys, their start (global sample index; for keys only), and
    the length in blocks of the run of hits that was analysed.

    The checks run from the cheapest on, each on the candidates still standing.
    ``overtones`` is the bank at the tones' overtones (see :func:`_overtone_db`).
    """
    count, length = window.same.shape
    newest = length - 1
    start = _run_start(window.same, np.full(count, newest, dtype=np.intp))
    run = newest + 1 - start
    steps = np.arange(length)[None, :]
    oldest = np.maximum(start, newest - 1 - ANALYSIS_BLOCKS)
    interior = (steps > oldest[:, None]) & (steps < newest)
    blocks = interior.sum(1)
    rough = _rough_fit(window, interior, bank)
    plausible = (np.abs(rough.offset_pct) <= FREQ_TOLERANCE_PCT + ROUGH_MARGIN_PCT).all(0)
    plausible &= blocks >= MIN_INTERIOR_BLOCKS
    accepted = np.zeros(count, dtype=bool)
    starts = np.zeros(count)
    if not plausible.any():  # most talk-off candidates end here
        return accepted, starts, run
    fit = _fine_fit(window, interior, rough, bank)
    size = window.block_size
    first_sample = np.asarray((newest - blocks) * size, dtype=np.float64)
    explained = _model_energy(fit, first_sample, np.asarray(blocks * size, dtype=np.float64))
    energy = np.where(interior, window.energies, 0.0).sum(1)
    standing = np.flatnonzero(plausible & _is_dtmf(fit, 1.0 - explained / np.maximum(energy, 1e-9)))
    if standing.size:
        part, part_fit = window.subset(standing), fit.subset(standing)
        overtone = _overtone_db(part, interior[standing], part_fit, overtones)
        keys = standing[overtone <= OVERTONE_MAX_DB]
        accepted[keys] = True
        if keys.size:
            starts[keys] = _starts(window.subset(keys), fit.subset(keys), start[keys], bank)
    return accepted, starts, run


def _starts(
    window: AnalysisWindow, fit: _ToneFit, start: npt.NDArray[np.intp], bank: FilterBank
) -> F64:
    """Start (global sample index) of accepted keys whose current run begins at ``start``."""
    size = window.block_size
    first = _first_bridged(window.same, start)
    cover = _coverage(window, fit.amplitude.sum(0))
    keys = np.arange(start.size)
    filled = cover[keys, first] + np.where(first > 0, cover[keys, np.maximum(first - 1, 0)], 0.0)
    rough_start = (first + 1) * size - filled * size  # bridged over a break: phase unknown
    fitted_start = _edge(window, fit, bank, np.maximum(start - 1, 0), rising=True)
    starts = window.first_block * size + np.where(first < start, rough_start, fitted_start)
    return np.asarray(starts, dtype=np.float64)


def locate_up(window: AnalysisWindow, bank: FilterBank) -> F64:
    """End (global sample index) of each key whose last hit is in the window.

    The tones are fitted on the last blocks of the key's final run; when that run is too
    short to fit, the end is estimated from the edge blocks' magnitudes.
    """
    count, length = window.same.shape
    steps = np.arange(length)[None, :]
    last = np.maximum(np.where(window.same, steps, -1).max(1), 0)
    start = _run_start(window.same, last)
    interior = (steps > np.maximum(start, last - 1 - ANALYSIS_BLOCKS)[:, None]) & (
        steps < last[:, None]
    )
    keys = np.arange(count)
    size = window.block_size
    magnitude = np.abs(window.low) + np.abs(window.high)
    known = interior.sum(1)
    reference = np.where(
        known > 0,
        np.where(interior, magnitude, 0.0).sum(1) / np.maximum(known, 1),
        magnitude[keys, last],
    )
    cover = _coverage(window, reference)
    after = np.where(last + 1 < length, cover[keys, np.minimum(last + 1, length - 1)], 0.0)
    ends = last * size + (cover[keys, last] + after) * size
    fitted = known >= 2
    if fitted.any():
        fit = _fine_fit(window, interior, _rough_fit(window, interior, bank), bank)
        cut = _edge(window, fit, bank, np.minimum(last, length - 2), rising=False)
        ends = np.where(fitted, cut, ends)
    result: F64 = window.first_block * size + ends
    return result.astype(np.float64)
