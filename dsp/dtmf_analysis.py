"""Tone analysis and sample positions for DTMF candidates, vectorized over the candidates.

Runs only for channels whose candidate key reached the hit count (key-down analysis) or whose
key just ended (key-up position), on a window of the last block features kept by
:class:`BlockHistory`. A step's candidates are analysed together; the cost is a fixed number
of small numpy operations per step, however many candidates (about a hundred and thirty for
a key, thirty for a candidate rejected by its first frequency estimate), so every constant
comes from a table: the keys' bins from :class:`KeyTables`, the blocks an analysis uses (its
span) from :func:`_grid`.

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

A candidate whose first frequency estimate is far from a key ends there (most talk-off
candidates do). The two fitted sines' energy over the interior (in closed form, cross terms
included) against the measured energy gives the share of energy they do not explain; the
energy at the tones' overtones, after subtracting the fitted tones' own leakage, must be
small too.

Start and end are found to the sample: the fitted two-tone signal is cut at each sample of
the two edge blocks, and the cut whose bins best match the observed ones wins. The end fit
unmixes the key's last blocks as the key-down analysis did (:class:`ToneModel`), which spares
it the first frequency estimate and the 4x4 inverse; it still measures the frequencies.

Constants that meet arrays are 0-d arrays of the arrays' type: numpy spends more on a
Python scalar, or on a real-to-complex promotion, than on the arithmetic of these small arrays.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dsp.dtmf_history import AnalysisWindow
from dsp.dtmf_keys import KeyTables
from dsp.dtmf_tables import GAP_BLOCKS
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
Ints = npt.NDArray[np.intp]


# the checks as limits on (offset, offset, drift, drift) in percent of the bin frequency
_PCT_LIMITS = np.array([FREQ_TOLERANCE_PCT] * 2 + [DRIFT_MAX_PCT] * 2)
_ROUGH_LIMIT = np.array(FREQ_TOLERANCE_PCT + ROUGH_MARGIN_PCT)
# (row power, column power) @ _LEVELS >= _LEVEL_FLOORS: both tones loud enough, twist within
_TWIST_LOW = 10.0 ** (-NORMAL_TWIST_MAX_DB / 10.0)  # column power / row power
_TWIST_HIGH = 10.0 ** (REVERSE_TWIST_MAX_DB / 10.0)
_LEVELS = np.array([[1.0, 0.0, -_TWIST_LOW, _TWIST_HIGH], [0.0, 1.0, 1.0, -1.0]])
_LEVEL_FLOORS = np.array([DBM0_RMS**2 * 10.0 ** (MIN_TONE_LEVEL_DBM0 / 10.0)] * 2 + [0.0, 0.0])
_EXPLAINED_MIN = np.array(1.0 - 10.0 ** (RESIDUAL_MAX_DB / 10.0))
_OVERTONE_MAX = np.array(10.0 ** (OVERTONE_MAX_DB / 10.0))
_OVERTONE_ORDERS = np.array([OVERTONE_ROW, OVERTONE_COLUMN], dtype=np.float64)
# the fitted tones' energy: (w1, w2) @ _SQUARE_OMEGAS gives 2 w1, 2 w2, w1 + w2, w1 - w2
_SQUARE_OMEGAS = np.array([[2.0, 0.0, 1.0, 1.0], [0.0, 2.0, 1.0, -1.0]]) * 1j
_SQUARE_WEIGHTS = np.array([0.5, 0.5, 1.0, 1.0], dtype=np.complex128)
_SQUARE_LEFT = np.array([0, 1, 0, 0])
_TONE_ROWS = np.array([0, 0, 1, 1])  # the 4 unmixing inputs: cos, sin of each tone
_QUARTER = np.array([0.0, np.pi / 2, 0.0, np.pi / 2])[:, None]
_TO_COMPLEX = np.array([[1.0, 1j, 0.0, 0.0], [0.0, 0.0, 1.0, 1j]])  # (Re, Im) pairs -> complex
_ONE, _HALF, _TINY = np.array(1.0), np.array(0.5), np.array(1e-9)
_PAIR = np.arange(2)
# reductions called straight (the ndarray methods go through a Python wrapper)
_SUM, _MAX = np.add.reduce, np.maximum.reduce
_ALL, _ANY = np.logical_and.reduce, np.logical_or.reduce


class _Grid(NamedTuple):
    """Constants of a window of H blocks of B samples; spans by index ``lo * (H + 1) + hi``
    (interior blocks ``lo .. hi - 1``)."""

    size: int  # B
    steps: Ints  # (H,) 0 .. H - 1
    after: Ints  # (H,) 1 .. H: a block's index plus one (zero stays "none")
    block_phase: C128  # (H,) i * first sample of each block
    sample_phase: C128  # (2B,) i * 0 .. 2B - 1
    samples: F64  # (B,) 0 .. B - 1
    rotation: C128  # i * B
    per_block: F64  # 1 / B
    falling: F64  # (2B, 2 (2B + 1)) the two edge blocks' samples before each cut, per block
    rising: F64  # (2B, 2 (2B + 1)) the same from each cut on
    real: F64  # (spans, H + 5): interior (H), count, blocks, 1, first sample, samples
    complex: C128  # (spans, H + 3 (H - 1)): interior (H), pairs ((H - 1, 3): all, halves)


@functools.cache
def _grid(size: int, length: int) -> _Grid:
    lo, hi = (side.ravel() for side in np.meshgrid(*[np.arange(length + 1)] * 2, indexing="ij"))
    steps = np.arange(length)
    blocks = np.maximum(hi - lo, 0)
    total = np.maximum(blocks - 1, 0)  # pairs (b, b + 1) with both blocks inside
    first = np.stack([lo, lo, lo + (total + 1) // 2], axis=1)[:, None, :]
    stop = np.stack([hi - 1, lo + total // 2, hi - 1], axis=1)[:, None, :]
    pairs = (steps[:-1, None] >= first) & (steps[:-1, None] < stop)
    interior = ((steps >= lo[:, None]) & (steps < hi[:, None])).astype(np.float64)
    cuts = np.arange(2 * size + 1)
    sample = np.arange(size)[:, None]
    before = np.zeros((2 * size, 2, 2 * size + 1))  # samples of each block before each cut
    before[:size, 0] = sample < np.minimum(cuts, size)
    before[size:, 1] = sample < np.maximum(cuts - size, 0)
    after = np.zeros_like(before)
    after[:size, 0] = 1.0 - before[:size, 0]
    after[size:, 1] = 1.0 - before[size:, 1]
    spans = lo.size
    real = np.concatenate(
        [interior, np.maximum(blocks, 1)[:, None], blocks[:, None], np.ones((spans, 1)),
         (lo * size)[:, None], (blocks * size)[:, None]], axis=1
    )  # fmt: skip
    return _Grid(
        size=size,
        steps=steps,
        after=steps + 1,
        block_phase=(steps * size * 1j).astype(np.complex128),
        sample_phase=(np.arange(2 * size) * 1j).astype(np.complex128),
        samples=np.arange(size, dtype=np.float64),
        rotation=np.array(size * 1j),
        per_block=np.array(1.0 / size),
        falling=before.reshape(2 * size, -1),
        rising=after.reshape(2 * size, -1),
        real=real.astype(np.float64),
        complex=np.concatenate([interior, pairs.reshape(spans, -1)], axis=1).astype(np.complex128),
    )


class _Span(NamedTuple):
    """The interior blocks of each candidate (K rows of the grid's spans)."""

    interior: F64  # (K, H)
    divisor: F64  # (K, 1) interior blocks, at least 1
    blocks: F64  # (K,) interior blocks
    samples: F64  # (K, 1, 3) 1, the first sample and the samples of the interior
    weights: C128  # (K, H, 1) interior, for a coherent sum by matmul
    pairs: C128  # (K, H - 1, 3) interior pairs: all, the first half, the second half


def _span(grid: _Grid, lo: Ints, hi: Ints | int) -> _Span:
    length = grid.steps.size
    index = lo * (length + 1) + hi
    real = grid.real.take(index, axis=0)
    complex_ = grid.complex.take(index, axis=0)
    count = index.size
    return _Span(
        real[:, :length],
        real[:, length : length + 1],
        real[:, length + 1],
        real[:, None, length + 2 :],
        complex_[:, :length, None],
        complex_[:, length:].reshape(count, length - 1, 3),
    )


class ToneModel(NamedTuple):
    """How a key's tones were unmixed at key-down, (K, ...) per key: at ``reference``
    (rad/sample, (K, 2)), by ``unmixing`` ((K, 2, 4) bins to complex amplitudes). The key-up
    position refits the tones on the key's last blocks unmixed the same way."""

    reference: F64
    unmixing: C128


class _ToneFit(NamedTuple):
    """Both tones of K candidates: per-tone fields are (K, 2), row tone first."""

    model: ToneModel
    omega: F64  # measured frequency, radians per sample
    drift: C128  # advance over the window's second half times conj(over its first half)
    phasor: C128  # complex amplitude a: the tone is Re(a * exp(i*omega*n)), n from window start
    power: F64  # each tone's power (A**2 / 2)
    mean: C128  # the mean derotated block amplitude (a full block's response to the tone)
    spin: C128  # (K, 2, H) exp(i * omega * n) at each block's first sample
    units: C128  # (K, 2, 2B) exp(i * omega * m), m = 0 .. 2B - 1


def _advance(tones: C128, rotation: C128) -> C128:
    """(K, 2, H - 1) block-to-block advance of each tone, derotated by ``rotation`` (K, 2)."""
    advance: C128 = tones[..., 1:] * np.conj(tones[..., :-1] * rotation[..., None])
    return advance


def _rough_omega(window: AnalysisWindow, span: _Span, grid: _Grid, tables: KeyTables) -> F64:
    """(K, 2) the tones' frequencies from their amplitudes unmixed at the nominal ones."""
    advance = _advance(window.tones, tables.rotation[window.digit])
    total = np.matmul(advance, span.pairs[..., :1])[..., 0]
    omega: F64 = tables.nominal[window.digit] + np.arctan2(total.imag, total.real) * grid.per_block
    return omega


def _unmixing_at(window: AnalysisWindow, omega: F64, grid: _Grid, tables: KeyTables) -> C128:
    """(K, 2, 4): the window's bins to the complex amplitudes of sines at ``omega`` (K, 2)."""
    angles = omega[:, _TONE_ROWS, None] * grid.samples + _QUARTER  # (K, 4, B)
    response = np.matmul(np.cos(angles), tables.weights[window.digit])  # unit sines -> bins
    inverse = np.linalg.inv(response.transpose(0, 2, 1))  # bins -> Re a1, Im a1, Re a2, Im a2
    unmixing: C128 = np.matmul(_TO_COMPLEX, inverse)
    return unmixing


def _fit(
    window: AnalysisWindow,
    span: _Span,
    reference: F64,
    grid: _Grid,
    tables: KeyTables,
    unmixing: C128 | None = None,
) -> _ToneFit:
    """Steady sines fitted to the tones unmixed at ``reference`` (K, 2) rad/sample (by
    ``unmixing`` when given, else by the unmixing computed at ``reference``)."""
    if unmixing is None:
        unmixing = _unmixing_at(window, reference, grid, tables)
    tones = np.matmul(unmixing, window.bins)
    advance = _advance(tones, np.exp(reference * grid.rotation))
    sums = np.matmul(advance, span.pairs)  # (K, 2, 3): all pairs, the first half, the second
    offset = np.arctan2(sums[..., 0].imag, sums[..., 0].real) * grid.per_block
    omega = reference + offset  # offset: radians per sample, from the reference
    spin = np.exp(omega[..., None] * grid.block_phase)
    mean = np.matmul(tones * np.conj(spin), span.weights)[..., 0] / span.divisor
    gain = _SUM(np.exp(offset[..., None] * grid.sample_phase[: grid.size]), -1) * grid.per_block
    phasor = mean / gain
    return _ToneFit(
        ToneModel(reference, unmixing),
        omega,
        sums[..., 2] * np.conj(sums[..., 1]),
        phasor,
        (phasor.real**2 + phasor.imag**2) * _HALF,
        mean,
        spin,
        np.exp(omega[..., None] * grid.sample_phase),
    )


def _model_energy(fit: _ToneFit, span: _Span) -> F64:
    """Energy of the fitted two-tone signal over the span's samples.

    With x = Re(a e^{i w1 n}) + Re(b e^{i w2 n}): x^2 = (|a|^2 + |b|^2)/2 + Re(a^2 e^{2 i w1 n})/2
    + Re(b^2 e^{2 i w2 n})/2 + Re(a b e^{i (w1+w2) n}) + Re(a conj(b) e^{i (w1-w2) n}); none of
    those four frequencies is near zero for DTMF tones, so each sums as a geometric series.
    """
    a = fit.phasor
    right = np.concatenate([a, a[:, 1:], np.conj(a[:, 1:])], axis=1)
    weights = a[:, _SQUARE_LEFT] * right * _SQUARE_WEIGHTS
    omegas = np.matmul(fit.omega, _SQUARE_OMEGAS)  # (K, 4) i * (2 w1, 2 w2, w1 + w2, w1 - w2)
    terms = np.exp(omegas[..., None] * span.samples)  # e^{i w}, e^{i w first}, e^{i w length}
    sums = terms[..., 1] * (_ONE - terms[..., 2]) / (_ONE - terms[..., 0])
    energy: F64 = span.samples[:, 0, 2] * _SUM(fit.power, 1) + _SUM(weights * sums, 1).real
    return energy


def _is_dtmf(
    window: AnalysisWindow, span: _Span, fit: _ToneFit, grid: _Grid, tables: KeyTables
) -> Bools:
    """The checks on the two fitted tones but the overtones."""
    digit = window.digit
    drift = np.arctan2(fit.drift.imag, fit.drift.real) * grid.per_block
    offsets = np.abs(np.concatenate([fit.omega - tables.nominal[digit], drift], 1))
    ok = offsets * tables.to_pct2[digit] <= _PCT_LIMITS
    ok &= np.matmul(fit.power, _LEVELS) >= _LEVEL_FLOORS
    energy = _SUM(window.energies() * span.interior, 1)
    explained = _model_energy(fit, span) >= np.maximum(energy, _TINY) * _EXPLAINED_MIN
    passed: Bools = _ALL(ok, 1) & explained
    return passed


def _overtone_share(
    window: AnalysisWindow, span: _Span, fit: _ToneFit, grid: _Grid, tables: KeyTables
) -> F64:
    """Power of the tones' overtones relative to the tones' own power.

    Overtone bins: the row tone's 3rd harmonic (2091..2823 Hz) and the column tone's 2nd
    (2418..3266 Hz). The fitted tones' own leakage into them is subtracted first; the
    coherent average over the interior then separates the two overtones of one key.
    """
    size, digit = grid.size, window.digit
    response = np.matmul(fit.units[..., :size], tables.overtone_weights[digit])  # (K, 2, 4)
    leakage = np.matmul(response.transpose(0, 2, 1), fit.phasor[..., None] * fit.spin).real
    observed = window.overtones(tables.overtone_weights32[digit])
    cleaned = np.matmul(_TO_COMPLEX, observed - leakage)  # (K, 2, H)
    omega = fit.omega * _OVERTONE_ORDERS
    derotate = np.exp(omega[..., None] * -grid.block_phase)
    coherent = np.matmul(cleaned * derotate, span.weights)[..., 0]
    offset = omega - tables.overtone_nominal[digit]
    gain = np.abs(_SUM(np.exp(offset[..., None] * grid.sample_phase[:size]), -1))
    amplitude = np.abs(coherent) / (span.divisor * gain) * tables.overtone_scale
    share: F64 = _SUM(amplitude * amplitude, 1) * _HALF / np.maximum(_SUM(fit.power, 1), _TINY)
    return share


def _run_start(same: Bools, end: Ints, grid: _Grid) -> Ints:
    """First block of the run of hits that contains block ``end`` (per row)."""
    missed = ~same & (grid.after <= end[:, None])
    start: Ints = _MAX(missed * grid.after, 1)  # one past the last miss before ``end``
    return start


def _first_bridged(same: Bools, start: Ints, grid: _Grid) -> Ints:
    """Earliest hit reachable from ``start`` going back over gaps shorter than the split."""
    steps = grid.steps
    earlier = same & (steps < start[:, None] - 1)
    if not _ANY(earlier, None):  # no hit before the run: nothing to bridge
        return start
    position = np.where(same, steps, -(GAP_BLOCKS + 1) - steps.size)
    previous = np.empty_like(position)
    previous[:, 0] = position.min()
    np.maximum.accumulate(position[:, :-1], axis=1, out=previous[:, 1:])
    opens_chain = same & (steps - previous > GAP_BLOCKS) & (steps <= start[:, None])
    first: Ints = (opens_chain * grid.after).max(1) - 1
    return np.where(first >= 0, first, start)


def _coverage(window: AnalysisWindow, blocks: Ints, reference: F64) -> F64:
    """(K, n): the fraction of blocks ``blocks`` (K, n) the tones fill, from their magnitudes."""
    each = np.arange(blocks.shape[0])[:, None]
    magnitude = np.abs(window.tones[each, :, blocks]).sum(-1)
    cover: F64 = np.minimum(magnitude / np.maximum(reference, _TINY)[:, None], _ONE)
    return cover


def _edge(
    window: AnalysisWindow, fit: _ToneFit, grid: _Grid, tables: KeyTables, pair: Ints, rising: bool
) -> F64:
    """Sample (from window start) where the fitted tones start (``rising``) or stop in the two
    blocks ``pair``, ``pair + 1``: the cut whose predicted bins best match the observed ones.

    The fitted two-tone signal, cut at each of the 2B+1 possible samples, gives each block's
    four bin values as sums of its samples before (or from) the cut, one product with a 0/1
    matrix; the least-squares cut is the edge, to the sample.
    """
    size = grid.size
    count = pair.size
    keys = np.arange(count)
    at_pair = fit.phasor * fit.spin[keys, :, pair]  # the tones' phasors at the pair's start
    tone = np.matmul(at_pair[:, None, :], fit.units).real  # (K, 1, 2B) the two blocks
    weighted = tone.reshape(count, 1, 2, size) * tables.weights_by_bin[window.digit][:, :, None]
    cuts = grid.rising if rising else grid.falling
    predicted = np.matmul(weighted.reshape(count, 4, 2 * size), cuts)
    observed = window.bins[keys[:, None], :, pair[:, None] + _PAIR]  # (K, 2, 4)
    predicted = predicted.reshape(count, 4, 2, -1) - observed.transpose(0, 2, 1)[..., None]
    miss = np.add.reduce(np.square(predicted, out=predicted).reshape(count, 8, -1), axis=1)
    cut: F64 = (pair * size + miss.argmin(1)).astype(np.float64)
    return cut


def analyse_down(
    window: AnalysisWindow, tables: KeyTables
) -> tuple[Bools, F64, Ints, ToneModel | None]:
    """Which candidates are DTMF keys, their start (global sample index; for keys only), the
    length in blocks of the run of hits that was analysed, and how the tones were fitted (for
    the keys' up positions; None when no candidate got that far).

    The checks run from the cheapest on; the later ones only when a candidate still stands.
    """
    count, length = window.same.shape
    grid = _grid(window.block_size, length)
    newest = length - 1
    missed = ~window.same[:, :newest]
    start: Ints = _MAX(missed * grid.after[:newest], 1)  # one past the run's last miss
    run = newest + 1 - start
    span = _span(grid, np.maximum(start, newest - 1 - ANALYSIS_BLOCKS) + 1, newest)
    accepted = np.zeros(count, dtype=bool)
    starts = np.zeros(count)
    rough = _rough_omega(window, span, grid, tables)
    offset = np.abs(rough - tables.nominal[window.digit]) * tables.to_pct[window.digit]
    plausible = _ALL(offset <= _ROUGH_LIMIT, 1) & (span.blocks >= MIN_INTERIOR_BLOCKS)
    if not _ANY(plausible, None):  # most talk-off candidates end here
        return accepted, starts, run, None
    fit = _fit(window, span, rough, grid, tables)
    ok = plausible & _is_dtmf(window, span, fit, grid, tables)
    if _ANY(ok, None):
        ok &= _overtone_share(window, span, fit, grid, tables) <= _OVERTONE_MAX
    if _ANY(ok, None):
        accepted = ok
        starts = _starts(window, fit, start, grid, tables) * ok
    return accepted, starts, run, fit.model


def _starts(
    window: AnalysisWindow, fit: _ToneFit, start: Ints, grid: _Grid, tables: KeyTables
) -> F64:
    """Start (global sample index) of keys whose current run begins at ``start``."""
    size = grid.size
    edge = _edge(window, fit, grid, tables, np.maximum(start - 1, 0), rising=True)
    first = _first_bridged(window.same, start, grid)
    bridged = first < start
    if bridged.any():  # bridged over a break: the phase is unknown, use the magnitudes
        blocks = np.stack([first, np.maximum(first - 1, 0)], axis=1)
        cover = _coverage(window, blocks, np.abs(fit.mean).sum(1))
        filled = cover[:, 0] + np.where(first > 0, cover[:, 1], 0.0)
        edge = np.where(bridged, (first + 1) * size - filled * size, edge)
    starts: F64 = window.first_block * size + edge
    return starts


def locate_up(window: AnalysisWindow, tables: KeyTables, model: ToneModel) -> F64:
    """End (global sample index) of each key whose last hit is in the window.

    The tones are fitted on the last blocks of the key's final run, unmixed as the key-down
    analysis unmixed them (``model``); when that run is too short to fit, the end is
    estimated from the edge blocks' magnitudes.
    """
    count, length = window.same.shape
    grid = _grid(window.block_size, length)
    last = np.maximum(_MAX(window.same * grid.after, 1) - 1, 0)
    start = _run_start(window.same, last, grid)
    span = _span(grid, np.maximum(start, last - 1 - ANALYSIS_BLOCKS) + 1, last)
    size = grid.size
    fitted = span.blocks >= 2
    ends = np.zeros(count)
    if not _ALL(fitted, None):
        magnitude = _SUM(np.abs(window.tones), 1)
        keys = np.arange(count)
        reference = np.where(
            span.blocks > 0, _SUM(magnitude * span.interior, 1) / span.divisor[:, 0],
            magnitude[keys, last],
        )  # fmt: skip
        blocks = np.stack([last, np.minimum(last + 1, length - 1)], axis=1)
        cover = _coverage(window, blocks, reference)
        after = np.where(last + 1 < length, cover[:, 1], 0.0)
        ends = last * size + (cover[:, 0] + after) * size
    if _ANY(fitted, None):
        fit = _fit(window, span, model.reference, grid, tables, model.unmixing)
        cut = _edge(window, fit, grid, tables, np.minimum(last, length - 2), rising=False)
        ends = np.where(fitted, cut, ends)
    result: F64 = window.first_block * size + ends
    return result.astype(np.float64)
