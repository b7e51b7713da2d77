"""Streaming DTMF detector for many channels at once (ITU-T Q.24, ETSI ES 201 235-3).

How it works. Every channel is cut into 5 ms blocks on a grid common to all channels, and a
Goertzel bank (:mod:`dsp.goertzel`, a matrix product for all channels) gives each block's
DFT coefficients at the eight DTMF frequencies. They go straight into a ring of the last
``RING_STEPS`` steps of every channel (:class:`~dsp.dtmf_history.BlockHistory`); a step is
``STEP_BLOCKS`` blocks on a grid common to all channels (one 20 ms tick), and the blocks are
screened, advanced and settled a step (or the part of it a call brings) at a time.

A screen over all channels marks a block as a *hit* when the strongest row bin and the
strongest column bin are above ``SCREEN_LEVEL_DBM0``, within ``SCREEN_TWIST_DB`` of each other
and hold ``BLOCK_TONE_SHARE_DB`` of the block's energy (computed only for the blocks that pass
the first two checks). For the (few) hits only, the key is read from the 10 ms window of the
block and the one before (5 ms bins are too wide to tell neighbouring rows apart), and a hit
that follows a block that passed the screen must also hold ``PAIR_TONE_SHARE_DB`` of those
10 ms: a DTMF tone does, speech rarely does.

A state machine (:mod:`dsp.dtmf_tables`) advances the live channels block by block; its
(state, input) table, inputs MISS / SAME key / OTHER key, is unrolled over the tracked key
and the block's key code, so one lookup per block advances every live channel. A run of
``KEY_MIN_BLOCKS`` hits of one key is analysed; a key ends after ``GAP_BLOCKS`` blocks
without it. With 5 ms blocks a 40 ms tone gives at least 7 hits, a 23 ms tone at most 5; a
10 ms break at most 3 misses, a 40 ms pause at least 7. Analyses and key-ends met in a step
are settled together, vectorized over the channels, with a fixed number of numpy calls.

The analysis (:mod:`dsp.dtmf_analysis`) fits the two tones on the run's newest 40 ms:
frequency offsets from the phase advance between blocks (after unmixing the two tones'
leakage into each other's bins), then a coherent two-tone fit. The key is accepted when
both offsets are within ``FREQ_TOLERANCE_PCT`` and steady (``DRIFT_MAX_PCT``), the fitted
tones leave at most ``RESIDUAL_MAX_DB`` of the energy unexplained, their overtones stay
below ``OVERTONE_MAX_DB``, both are above ``MIN_TONE_LEVEL_DBM0`` and the twist is within
``NORMAL_TWIST_MAX_DB`` / ``REVERSE_TWIST_MAX_DB``. Start and end are the samples where the
fitted tones, cut there, best explain the edge blocks; the end refits the key's last blocks
with the unmixing the key-down analysis built for it.

Levels follow :mod:`dsp.tones`: int16 scale, 0 dBm0 = a sine of RMS 16112.4.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt

from dsp import g711
from dsp.dtmf_analysis import (
    DIGITS,
    OVERTONE_COLUMN,
    OVERTONE_ROW,
    ToneModel,
    analyse_down,
    locate_up,
)
from dsp.dtmf_history import AnalysisWindow, BlockHistory
from dsp.dtmf_keys import KeyTables
from dsp.dtmf_tables import (
    CODES,
    HOLD_RUN_BLOCKS,
    KEYED_ACTION,
    KEYED_NEXT,
    RETRY_STATE,
    Action,
    State,
    keyed_position,
)
from dsp.goertzel import BlockFramer, FilterBank
from dsp.tones import DBM0_RMS, DTMF_COLUMN_HZ, DTMF_ROW_HZ

BLOCK_MS = 5.0
BLOCK_TONE_SHARE_DB = -2.5  # screen: the key's two bins hold >= this share of block energy
PAIR_TONE_SHARE_DB = -3.0  # screen, after a block that passed it: the same over both (10 ms)
SCREEN_LEVEL_DBM0 = -43.0  # screen: each bin's tone level floor (the analysis uses -40)
SCREEN_TWIST_DB = 16.0  # screen: the weaker bin within this of the stronger (one tone is no key)
HISTORY_BLOCKS = 20  # blocks an analysis window looks at (100 ms)
STEP_BLOCKS = 4  # blocks screened, advanced and settled together (20 ms, on a common grid)
RING_STEPS = (HISTORY_BLOCKS + STEP_BLOCKS - 2) // STEP_BLOCKS + 1  # steps of features kept
BLOCKWISE_CHANNELS = 1536  # up to here (a call in L2) the bank goes block by block

KeyKind = Literal["down", "up"]
Samples = npt.NDArray[np.int16] | npt.NDArray[np.float32]
Item = TypeVar("Item", bound=np.generic)
Ints = npt.NDArray[np.intp]
F32 = npt.NDArray[np.float32]
Codes = npt.NDArray[np.int8]
_LIVE = CODES * CODES  # loop positions from here on are past IDLE
_IDLE = int(keyed_position(State.IDLE, -1))
_KEY = int(keyed_position(State.KEY, 0))  # KEY tracking key k: _KEY + k * CODES
_HOLD, _RETRY = int(State.HOLD) * _LIVE, RETRY_STATE * _LIVE  # state parts of a position
_PENDING = int(State.PENDING)
_ANALYSE, _UP = int(Action.ANALYSE), int(Action.UP)


@dataclass(frozen=True)
class DtmfEvent:
    """A key going down (``position``: first sample of the tone) or up (one past its last)."""

    channel: int
    digit: str
    kind: KeyKind
    position: int  # sample index in that channel's stream since its last reset


class _Piece(NamedTuple):
    """The blocks of one call within one step: ``length`` blocks from global block ``first``.

    Rows number them channel-major (``channel * length + block``), as the ring's step slot
    holds them; ``frames`` are the call's samples, channel-major too.
    """

    first: int
    slot: int  # the ring's step slot
    low: int  # the first block's place in its step
    length: int  # blocks
    frames: F32  # (C * m, B) the call's blocks
    blocks: int  # m
    offset: int  # the piece's first block within the call

    def frame_rows(self, rows: Ints) -> Ints:
        """Rows of ``frames`` for the piece's ``rows``."""
        if self.length == self.blocks:
            return rows
        channel, block = np.divmod(rows, self.length)
        frame_rows: Ints = channel * self.blocks + (self.offset + block)
        return frame_rows

    def cells(self, rows: Ints, channels: int) -> Ints:
        """Ring cells of the piece's ``rows``."""
        base = self.slot * channels * STEP_BLOCKS
        if self.length == STEP_BLOCKS:
            shifted: Ints = rows + base
            return shifted
        channel, block = np.divmod(rows, self.length)
        cells: Ints = base + channel * STEP_BLOCKS + (self.low + block)
        return cells


class DtmfDetector:
    """DTMF detector for ``channels`` streams advancing together, fed by any chunk length.

    ``process`` takes (channels, n) int16, or float32 on the int16 scale. Positions count
    samples since the channel's stream began (construction, :meth:`reset` or :meth:`resize`).
    """

    def __init__(self, channels: int, sample_rate: int = 8000) -> None:
        if channels < 0:
            raise ValueError("channels must not be negative")
        block = round(sample_rate * BLOCK_MS / 1000.0)
        if block < 8 or abs(block * 1000.0 / sample_rate - BLOCK_MS) > 1e-9:
            raise ValueError(f"sample rate {sample_rate} does not give whole 5 ms blocks")
        self.sample_rate = sample_rate
        self.block_size = block
        self._bank = FilterBank(DTMF_ROW_HZ + DTMF_COLUMN_HZ, block, sample_rate)
        self._overtones = FilterBank(
            [OVERTONE_ROW * hz for hz in DTMF_ROW_HZ]
            + [OVERTONE_COLUMN * hz for hz in DTMF_COLUMN_HZ],
            block,
            sample_rate,
        )
        self._tables = KeyTables.build(self._bank, self._overtones)
        self._framer = BlockFramer(channels, block)
        self._history = BlockHistory(
            channels, RING_STEPS, STEP_BLOCKS, HISTORY_BLOCKS, 2 * self._bank.size
        )
        self._share = np.float32(10.0 ** (BLOCK_TONE_SHARE_DB / 10.0))
        self._pair_share = np.float32(10.0 ** (PAIR_TONE_SHARE_DB / 10.0))
        self._pair_weights = self._bank.pair_weights()
        self._floor = np.float32(block * DBM0_RMS**2 * 10.0 ** (SCREEN_LEVEL_DBM0 / 10.0))
        self._twist = np.float32(10.0 ** (-SCREEN_TWIST_DB / 10.0))
        self._ones = np.ones(block, dtype=np.float32)
        self._squares = np.empty((0, 2 * self._bank.size), dtype=np.float32)
        self._power = np.empty((self._bank.size, 0), dtype=np.float32)
        # 10 ms steadiness: strongest two >= share * (2 * energy of both blocks + 1e-9)
        self._half_tiny = np.float32(0.5e-9)
        self._pair_share2 = np.float32(2.0) * self._pair_share
        # the 10 ms window's coefficients: X[b-1] + rotated X[b] (the pair weights' lower half)
        self._rotation = np.ascontiguousarray(self._pair_weights[2 * self._bank.size :])
        self._decoded = np.empty((0, 0), dtype=np.float32)  # G.711 decoding buffer, reused
        self._step_back = (channels - 1) * STEP_BLOCKS  # cell of a step's first block - 1 -> before
        self._position = np.full(channels, _IDLE, dtype=np.intp)  # state loop position
        self._key_tones = _KeyTones(channels)  # how each key that is down was fitted
        self._origin = np.zeros(channels, dtype=np.int64)
        self._first_valid = np.zeros(channels, dtype=np.int64)  # origin's block, or the next

    @property
    def channels(self) -> int:
        return int(self._position.size)

    def process(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> list[DtmfEvent]:
        """Feed the next ``n`` samples of every channel; return the key events they complete."""
        array = np.asarray(block)
        if array.ndim != 2 or array.shape[0] != self.channels:
            raise ValueError(f"expected a ({self.channels}, n) array, got {array.shape}")
        if array.dtype not in (np.int16, np.float32):
            raise TypeError(f"samples must be int16 or float32, got {array.dtype}")
        first = self._framer.blocks
        frames, m = self._framer.push(cast(Samples, array))
        events: list[DtmfEvent] = []
        if m == 0 or self.channels == 0:
            return events
        channels = self.channels
        whole = None  # the call's coefficients, when they cannot go straight into the ring
        if channels > BLOCKWISE_CHANNELS and (m != STEP_BLOCKS or first % STEP_BLOCKS):
            whole = self._bank.coefficients(frames).reshape(channels, m, -1)
        at = first
        while at < first + m:
            step, low = divmod(at, STEP_BLOCKS)
            count = min(STEP_BLOCKS - low, first + m - at)
            piece = _Piece(at, step % RING_STEPS, low, count, frames, m, at - first)
            self._bank_into_ring(piece, whole)
            codes, touched = self._screen(piece)
            self._advance(piece.first, codes, touched, events)
            at += count
        return events

    def process_codes(self, codes: npt.NDArray[np.uint8], law: g711.Law) -> list[DtmfEvent]:
        """Decode (channels, n) G.711 codes straight to float32 and :meth:`process` them."""
        if self._decoded.shape != codes.shape:
            self._decoded = np.empty(codes.shape, dtype=np.float32)
        return self.process(g711.decode_f32(np.ascontiguousarray(codes), law, out=self._decoded))

    def reset(self, channels: npt.NDArray[np.integer] | Sequence[int]) -> None:
        """Start new streams in these slots: forget their state, positions restart at 0."""
        index = np.asarray(channels, dtype=np.intp)
        if index.size and (index.min() < 0 or index.max() >= self.channels):
            raise IndexError("channel out of range")
        self._position[index] = _IDLE
        self._origin[index] = self._framer.samples
        self._first_valid[index] = -(-self._framer.samples // self.block_size)
        self._framer.clear(index)

    def resize(self, channels: int) -> None:
        """Grow or shrink to ``channels`` slots, keeping the state of the ones that remain."""
        if channels < 0:
            raise ValueError("channels must not be negative")
        old = self.channels
        self._framer.resize(channels)
        self._history.resize(channels)
        self._step_back = (channels - 1) * STEP_BLOCKS
        self._position = _resized(self._position, channels, _IDLE)
        self._origin = _resized(self._origin, channels, self._framer.samples)
        first_valid = -(-self._framer.samples // self.block_size)
        self._first_valid = _resized(self._first_valid, channels, first_valid)
        self._key_tones.resize(channels)
        if channels > old:
            self._framer.clear(np.arange(old, channels))

    def _bank_into_ring(self, piece: _Piece, whole: F32 | None) -> None:
        """The piece's coefficients into its ring slot: block by block for few channels, one
        product for a whole 20 ms call of many, else copied from the call's ``whole``."""
        ring = self._history.coefficients[piece.slot]  # (C, step blocks, 2K)
        low, count = piece.low, piece.length
        if whole is not None:
            ring[:, low : low + count] = whole[:, piece.offset : piece.offset + count]
        elif self.channels > BLOCKWISE_CHANNELS:  # a whole aligned step
            np.matmul(piece.frames, self._bank.weights, out=ring.reshape(-1, ring.shape[-1]))
        else:
            frames = piece.frames.reshape(self.channels, piece.blocks, -1)
            for b in range(count):
                np.matmul(frames[:, piece.offset + b], self._bank.weights, out=ring[:, low + b])

    def _screen(self, piece: _Piece) -> tuple[Codes, Ints]:
        """(C, count) key index of each block of the piece, -1 for none (a view of the ring),
        and the channels with a key.

        A block passes when its strongest row and column bins are loud enough, within the
        twist of each other and hold the block's energy (computed for the blocks that pass
        the first two checks only). Its key is then read by :meth:`_keys`.
        """
        history, channels = self._history, self.channels
        low, count = piece.low, piece.length
        coefficients = history.coefficients[piece.slot, :, low : low + count]
        coefficients = coefficients.reshape(-1, coefficients.shape[-1])
        half, total = self._bank.size, coefficients.shape[0]
        if self._power.shape[1] != total:  # scratch kept from step to step: stays in cache
            self._squares = np.empty(coefficients.shape, dtype=np.float32)
            self._power = np.empty((half, total), dtype=np.float32)
        squares = np.square(coefficients, out=self._squares)
        power = np.add(squares[:, :half].T, squares[:, half:].T, out=self._power)
        row, col = np.maximum.reduce(power.reshape(2, half // 2, -1), axis=1)  # strongest of each
        weaker = np.minimum(row, col)
        level = weaker >= self._floor
        level &= weaker >= np.maximum(row, col) * self._twist
        rows = np.flatnonzero(level)  # channel * count + block
        cells = piece.cells(rows, channels)
        picked = piece.frames.take(piece.frame_rows(rows), axis=0)
        energy = np.square(picked) @ self._ones
        held = np.flatnonzero((row + col).take(rows) >= energy * self._share)
        history.loud[piece.slot, :, low : low + count] = False
        codes = history.codes[piece.slot, :, low : low + count]
        codes.fill(-1)
        touched = held
        if held.size:  # only these blocks' energies are ever read again
            held_cells, held_energy = cells.take(held), energy.take(held)
            history.energies.reshape(-1).put(held_cells, held_energy)
            history.loud.reshape(-1).put(held_cells, True)
            keyed = self._keys(coefficients, rows.take(held), held_cells, held_energy)
            history.codes.reshape(-1).put(held_cells, keyed)
            steady = np.flatnonzero(keyed >= 0)
            touched = rows.take(held.take(steady)) // count
            if steady.size:  # their samples, for the overtones of a key's analysis
                frames = picked.take(held.take(steady), axis=0)
                history.keep_keyed(piece.first + count, held_cells.take(steady), frames)
        return codes, touched

    def _keys(self, coefficients: F32, rows: Ints, ring: Ints, energy: F32) -> Codes:
        """Key index (row * 4 + column) of the loud blocks ``rows`` (ring cells ``ring``,
        energies ``energy``); -1 if unsteady.

        5 ms bins are too wide to tell neighbouring rows apart reliably, so the key is read
        from the 10 ms window made of the block and the one before it (derotated sum). When
        the block before was loud too, the two strongest 10 ms bins must also hold
        ``PAIR_TONE_SHARE_DB`` of the 10 ms energy: a DTMF tone does, speech rarely does.
        """
        history = self._history
        # the block before: the cell before, or the last of the step before (round the ring)
        before = ring - 1
        before -= (ring % STEP_BLOCKS == 0) * self._step_back
        ten = history.coefficients.reshape(-1, coefficients.shape[1]).take(before, 0, mode="wrap")
        ten += coefficients.take(rows, axis=0) @ self._rotation  # 10 ms coefficients, (rows, 16)
        squares = np.square(ten, out=ten)
        half = squares.shape[1] // 2
        power = np.add(squares[:, :half], squares[:, half:]).T.copy()  # (8, rows)
        strongest = np.add.reduce(np.maximum.reduce(power.reshape(2, 4, -1), axis=1), axis=0)
        key = power[:4].argmax(0) * 4 + power[4:].argmax(0)
        both = history.energies.reshape(-1).take(before, mode="wrap") + energy
        steady = strongest >= (both + self._half_tiny) * self._pair_share2
        steady |= ~history.loud.reshape(-1).take(before, mode="wrap")
        key[~steady] = -1
        keyed: Codes = key.astype(np.int8)
        return keyed

    def _advance(self, first: int, codes: Codes, touched: Ints, events: list[DtmfEvent]) -> None:
        """Run the state table over the piece's blocks (``codes``, (C, count), from global
        block ``first``) of the live channels; ``touched``: the channels with a key.

        Analyses and key-ups met on the way are marked and settled together afterwards: in
        so few blocks a channel meets at most one of them, and a key accepted at a block
        cannot end (or start again) before the step is over.
        """
        running = self._position >= _LIVE
        running[touched] = True
        live = np.flatnonzero(running)
        if live.size == 0:
            return
        position = self._position.take(live)
        inputs = codes.take(live, axis=0)  # (live, blocks)
        indices = np.empty(inputs.shape, dtype=np.intp)
        for b in range(inputs.shape[1]):
            position = KEYED_NEXT.take(np.add(position, inputs[:, b], out=indices[:, b]))
        actions = KEYED_ACTION.take(indices)
        noted = np.flatnonzero(actions >= _ANALYSE)  # row * blocks + block
        if noted.size:
            step = _Step(first, live, position, inputs)
            position = self._settle(step, noted, actions.take(noted), indices.take(noted), events)
        self._position[live] = position

    def _settle(
        self, step: _Step, noted: Ints, action: Codes, index: Ints, events: list[DtmfEvent]
    ) -> Ints:
        """Locate the key-ups and analyse the ripe candidates marked during a step (``noted``:
        row * blocks + block, with the loop's ``action`` and table ``index`` there); return
        the live channels' loop positions at the end of the step."""
        rows, block = np.divmod(noted, step.inputs.shape[1])
        digit = (index // CODES) % CODES - 1
        up = action == _UP
        position = step.position
        if up.any():
            window = self._window(step, rows[up], block[up], digit[up])
            ends = locate_up(window, self._tables, self._key_tones.take(step.live.take(rows[up])))
            self._emit(step.live.take(rows[up]), digit[up], "up", ends, events)
            if up.all():
                return position
            ripe = ~up
            rows, block, digit = rows[ripe], block[ripe], digit[ripe]
        window = self._window(step, rows, block, digit)
        accepted, starts, run, model = analyse_down(window, self._tables)
        if not accepted.all():
            failed, run = rows[~accepted], run[~accepted]
            pending = position.take(failed) // _LIVE == _PENDING  # still awaiting this analysis
            waiting = failed[pending]
            held = np.where(run[pending] >= HOLD_RUN_BLOCKS, _HOLD, _RETRY)
            position[waiting] = held + position.take(waiting) % _LIVE
        if model is not None and accepted.any():
            keys = rows[accepted]
            position[keys] = _replay_key(step, keys, block[accepted], digit[accepted])
            channels = step.live.take(keys)
            self._key_tones.put(channels, model, accepted)
            self._emit(channels, digit[accepted], "down", starts[accepted], events)
        return position

    def _window(self, step: _Step, rows: Ints, block: Ints, digit: Ints) -> AnalysisWindow:
        """The history window of some live rows, each ending at its own block of the step."""
        channels = step.live.take(rows)
        first_valid = self._first_valid.take(channels)
        return self._history.window(channels, step.first + block, digit, first_valid, self._tables)

    def _emit(
        self,
        channels: Ints,
        digit: Ints,
        kind: KeyKind,
        positions: npt.NDArray[np.float64],
        events: list[DtmfEvent],
    ) -> None:
        sample = np.maximum(np.rint(positions).astype(np.int64) - self._origin[channels], 0)
        for channel, key, position in zip(
            channels.tolist(), digit.tolist(), sample.tolist(), strict=True
        ):
            events.append(DtmfEvent(channel, DIGITS[key], kind, position))


class _Step(NamedTuple):
    """The live channels of one step of the state loop and their working state."""

    first: int  # global index of the step's first block
    live: Ints
    position: Ints  # loop positions at the end of the step
    inputs: Codes  # (live, blocks) block key codes


class _KeyTones:
    """Per channel, the tone model of the key that is down (see :class:`ToneModel`), in one
    complex row: the reference frequencies (2), then the unmixing (2 x 4)."""

    def __init__(self, channels: int) -> None:
        self.rows = np.zeros((channels, 10), dtype=np.complex128)

    def put(self, channels: Ints, model: ToneModel, rows: npt.NDArray[np.bool_]) -> None:
        """Keep the models of ``rows`` of ``model`` for ``channels``."""
        unmixing = model.unmixing.reshape(-1, 8)
        self.rows[channels] = np.concatenate([model.reference, unmixing], axis=1)[rows]

    def take(self, channels: Ints) -> ToneModel:
        rows = self.rows.take(channels, axis=0)
        return ToneModel(rows[:, :2].real, rows[:, 2:].reshape(-1, 2, 4))

    def resize(self, channels: int) -> None:
        rows = np.zeros((channels, 10), dtype=np.complex128)
        keep = min(channels, self.rows.shape[0])
        rows[:keep] = self.rows[:keep]
        self.rows = rows


def _replay_key(step: _Step, rows: Ints, since: Ints, digit: Ints) -> Ints:
    """Loop positions of keys accepted at block ``since``, replayed over the rest of the step."""
    position = digit * CODES + _KEY
    for b in range(int(since.min()) + 1, step.inputs.shape[1]):
        moved = KEYED_NEXT.take(position + step.inputs[:, b].take(rows))
        position = np.where(b > since, moved, position)
    return position


def _resized(array: npt.NDArray[Item], size: int, fill: int) -> npt.NDArray[Item]:
    out = np.full(size, fill, dtype=array.dtype)
    keep = min(size, array.size)
    out[:keep] = array[:keep]
    return out


def detect_many(
    channels: list[npt.NDArray[np.int16]], sample_rate: int = 8000
) -> list[list[tuple[str, float]]]:
    """Keys (digit, start in seconds) of each int16 signal, all run through one detector.

    Shorter signals are padded with silence; 100 ms of silence after the longest one lets
    every key end.
    """
    if not channels:
        return []
    length = max(signal.size for signal in channels) + round(sample_rate * 0.1)
    detector = DtmfDetector(len(channels), sample_rate)
    found: list[list[tuple[str, float]]] = [[] for _ in channels]
    step = sample_rate  # one second per call bounds the memory used
    for start in range(0, length, step):
        chunk = np.zeros((len(channels), min(step, length - start)), dtype=np.int16)
        for index, signal in enumerate(channels):
            piece = signal[start : start + chunk.shape[1]]
            chunk[index, : piece.size] = piece
        for event in detector.process(chunk):
            if event.kind == "down":
                found[event.channel].append((event.digit, event.position / sample_rate))
    return found


if __name__ == "__main__":
    from dsp.dtmf_cli import main

    sys.exit(main(sys.argv[1:]))
