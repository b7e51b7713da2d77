"""Streaming DTMF detector for many channels at once (ITU-T Q.24, ETSI ES 201 235-3).

How it works. Every channel is cut into 5 ms blocks on a grid common to all channels, and a
Goertzel bank (:mod:`dsp.goertzel`, one matrix product for all channels) gives each block's
DFT coefficients at the eight DTMF frequencies and its energy.

A screen over all channels marks a block as a *hit* when the strongest row bin and the
strongest column bin are above ``SCREEN_LEVEL_DBM0``, within ``SCREEN_TWIST_DB`` of each other
and hold ``BLOCK_TONE_SHARE_DB`` of the block's energy. For the (few) hits only, the key is
read from the 10 ms window of the block and the one before (5 ms bins are too wide to tell
neighbouring rows apart), and a hit that follows a hit must also hold ``PAIR_TONE_SHARE_DB``
of those 10 ms: a DTMF tone does, speech rarely does.

A state machine, one small table (:mod:`dsp.dtmf_tables`), advances the live channels block
by block from (state, input), inputs MISS / SAME key / OTHER key. A run of
``KEY_MIN_BLOCKS`` hits of one key is analysed; a key ends after ``GAP_BLOCKS`` blocks
without it. With 5 ms blocks a 40 ms tone gives at least 7 hits, a 23 ms tone at most 5; a
10 ms break at most 3 misses, a 40 ms pause at least 7. Analyses and key-ends met in a
step of ``STEP_BLOCKS`` blocks are settled together, vectorized over the channels.

The analysis (:mod:`dsp.dtmf_analysis`) fits the two tones on the run's newest 40 ms:
frequency offsets from the phase advance between blocks (after unmixing the two tones'
leakage into each other's bins), then a coherent two-tone fit. The key is accepted when
both offsets are within ``FREQ_TOLERANCE_PCT`` and steady (``DRIFT_MAX_PCT``), the fitted
tones leave at most ``RESIDUAL_MAX_DB`` of the energy unexplained, their overtones stay
below ``OVERTONE_MAX_DB``, both are above ``MIN_TONE_LEVEL_DBM0`` and the twist is within
``NORMAL_TWIST_MAX_DB`` / ``REVERSE_TWIST_MAX_DB``. Start and end are the samples where the
fitted tones, cut there, best explain the edge blocks.

Levels follow :mod:`dsp.tones`: int16 scale, 0 dBm0 = a sine of RMS 16112.4.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt

from dsp import g711
from dsp.dtmf_analysis import (
    DIGITS,
    OVERTONE_COLUMN,
    OVERTONE_ROW,
    analyse_down,
    locate_up,
)
from dsp.dtmf_history import AnalysisWindow, BlockHistory
from dsp.dtmf_tables import ACTION, HOLD_RUN_BLOCKS, NEXT, RETRY_STATE, Action, State
from dsp.goertzel import BlockFramer, FilterBank
from dsp.tones import DBM0_RMS, DTMF_COLUMN_HZ, DTMF_ROW_HZ

BLOCK_MS = 5.0
BLOCK_TONE_SHARE_DB = -2.5  # screen: the key's two bins hold >= this share of block energy
PAIR_TONE_SHARE_DB = -3.0  # screen, a hit after a hit: the same over the 10 ms of both
SCREEN_LEVEL_DBM0 = -43.0  # screen: each bin's tone level floor (the analysis uses -40)
SCREEN_TWIST_DB = 16.0  # screen: the weaker bin within this of the stronger (one tone is no key)
HISTORY_BLOCKS = 20  # block features kept for the analysis (100 ms)
STEP_BLOCKS = 4  # the state loop settles its analyses every 4 blocks (20 ms)

KeyKind = Literal["down", "up"]
Samples = npt.NDArray[np.int16] | npt.NDArray[np.float32]
Item = TypeVar("Item", bound=np.generic)
# (block within the step, live rows, their actions, their keys) noted by the state loop
Mark = tuple[int, npt.NDArray[np.intp], npt.NDArray[np.int8], npt.NDArray[np.int8]]
# plain ints for the state loop (an enum member lookup per block costs more than the ops)
_IDLE, _START, _ANALYSE = int(State.IDLE), int(Action.START), int(Action.ANALYSE)


@dataclass(frozen=True)
class DtmfEvent:
    """A key going down (``position``: first sample of the tone) or up (one past its last)."""

    channel: int
    digit: str
    kind: KeyKind
    position: int  # sample index in that channel's stream since its last reset


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
        self._framer = BlockFramer(channels, block)
        self._history = BlockHistory(HISTORY_BLOCKS)
        keys = np.arange(16)
        self._unmixing = self._bank.unmixing(keys // 4, 4 + keys % 4)  # per key index
        share = 10.0 ** (BLOCK_TONE_SHARE_DB / 10.0)
        self._share = np.float32(share)
        self._pair_share = np.float32(10.0 ** (PAIR_TONE_SHARE_DB / 10.0))
        self._pair_weights = self._bank.pair_weights()
        self._floor = np.float32(block * DBM0_RMS**2 * 10.0 ** (SCREEN_LEVEL_DBM0 / 10.0))
        self._twist = np.float32(10.0 ** (-SCREEN_TWIST_DB / 10.0))
        self._last_coefficients = np.zeros((channels, 2 * self._bank.size), dtype=np.float32)
        self._last_energies = np.zeros(channels, dtype=np.float32)
        self._last_hits = np.zeros(channels, dtype=bool)
        self._decoded = np.empty((0, 0), dtype=np.float32)  # G.711 decoding buffer, reused
        self._state = np.zeros(channels, dtype=np.int8)
        self._digit = np.full(channels, -1, dtype=np.int8)
        self._origin = np.zeros(channels, dtype=np.int64)

    @property
    def channels(self) -> int:
        return int(self._state.size)

    def process(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> list[DtmfEvent]:
        """Feed the next ``n`` samples of every channel; return the key events they complete."""
        array = np.asarray(block)
        if array.ndim != 2 or array.shape[0] != self.channels:
            raise ValueError(f"expected a ({self.channels}, n) array, got {array.shape}")
        if array.dtype not in (np.int16, np.float32):
            raise TypeError(f"samples must be int16 or float32, got {array.dtype}")
        first = self._framer.blocks
        frames, m = self._framer.push(cast(Samples, array))
        if m == 0 or self.channels == 0:
            return []
        coefficients = self._bank.coefficients(frames)
        energies = FilterBank.energies(frames)
        hit = self._screen(coefficients, energies)
        code = self._keys(coefficients, energies, hit, m)
        overtones = np.zeros((frames.shape[0], 2 * self._overtones.size), dtype=np.float32)
        rows = np.flatnonzero(hit)
        if rows.size:
            overtones[rows] = self._overtones.coefficients(frames[rows])
        self._history.append(
            first,
            coefficients.reshape(self.channels, m, -1),
            energies.reshape(self.channels, m),
            code.reshape(self.channels, m),
            overtones.reshape(self.channels, m, -1),
        )
        hits, codes = hit.reshape(self.channels, m), code.reshape(self.channels, m)
        self._last_coefficients = coefficients.reshape(self.channels, m, -1)[:, -1]
        self._last_energies = energies.reshape(self.channels, m)[:, -1]
        self._last_hits = hits[:, -1]
        events: list[DtmfEvent] = []
        for step in range(0, m, STEP_BLOCKS):
            end = step + STEP_BLOCKS
            self._advance(first + step, hits[:, step:end], codes[:, step:end], events)
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
        self._state[index] = State.IDLE
        self._digit[index] = -1
        self._origin[index] = self._framer.samples
        self._framer.clear(index)

    def resize(self, channels: int) -> None:
        """Grow or shrink to ``channels`` slots, keeping the state of the ones that remain."""
        if channels < 0:
            raise ValueError("channels must not be negative")
        old = self.channels
        self._framer.resize(channels)
        self._state = _resized(self._state, channels, State.IDLE)
        self._digit = _resized(self._digit, channels, -1)
        self._origin = _resized(self._origin, channels, self._framer.samples)
        self._last_energies = _resized(self._last_energies, channels, 0)
        self._last_hits = _resized(self._last_hits, channels, 0)
        last = np.zeros((channels, 2 * self._bank.size), dtype=np.float32)
        last[: min(channels, old)] = self._last_coefficients[: min(channels, old)]
        self._last_coefficients = last
        if channels > old:
            self._framer.clear(np.arange(old, channels))

    def _screen(
        self, coefficients: npt.NDArray[np.float32], energies: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.bool_]:
        """Per block: do the strongest row and column bins hold the block's energy?"""
        half = self._bank.size
        squares = np.square(coefficients)
        power = np.empty((half, squares.shape[0]), dtype=np.float32)  # rows contiguous
        np.add(squares[:, :half].T, squares[:, half:].T, out=power)
        row = np.maximum(np.maximum(power[0], power[1]), np.maximum(power[2], power[3]))
        col = np.maximum(np.maximum(power[4], power[5]), np.maximum(power[6], power[7]))
        weaker = np.minimum(row, col)
        hit: npt.NDArray[np.bool_] = weaker >= self._floor
        hit &= weaker >= np.maximum(row, col) * self._twist
        hit &= (row + col) >= energies * self._share
        return hit

    def _keys(
        self,
        coefficients: npt.NDArray[np.float32],
        energies: npt.NDArray[np.float32],
        hit: npt.NDArray[np.bool_],
        m: int,
    ) -> npt.NDArray[np.int8]:
        """Key index (row * 4 + column) of each hit block, else -1; clears unsteady hits.

        5 ms bins are too wide to tell neighbouring rows apart reliably, so the key is read
        from the 10 ms window made of the block and the one before it (derotated sum). When
        the block before was a hit too, the two strongest 10 ms bins must also hold
        ``PAIR_TONE_SHARE_DB`` of the 10 ms energy: a DTMF tone does, speech rarely does.
        """
        code = np.full(hit.shape, -1, dtype=np.int8)
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            return code
        before = np.maximum(rows - 1, 0)
        pair = np.concatenate([coefficients[before], coefficients[rows]], axis=1)
        previous_energy, previous_hit = energies[before], hit[before]
        starts = np.flatnonzero(rows % m == 0)
        if starts.size:  # the block before is the last one of the previous call
            channels = rows[starts] // m
            pair[starts, : pair.shape[1] // 2] = self._last_coefficients[channels]
            previous_energy[starts] = self._last_energies[channels]
            previous_hit[starts] = self._last_hits[channels]
        squares = np.square(pair @ self._pair_weights)  # 10 ms coefficients, (rows, 16)
        half = self._bank.size
        power = squares[:, :half] + squares[:, half:]
        row, col = power[:, :4], power[:, 4:]
        share = (row.max(1) + col.max(1)) / (2.0 * (previous_energy + energies[rows]) + 1e-9)
        steady = ~previous_hit | (share >= self._pair_share)
        hit[rows] = steady
        code[rows] = np.where(steady, row.argmax(1) * 4 + col.argmax(1), -1)
        return code

    def _advance(
        self,
        first: int,
        hit: npt.NDArray[np.bool_],
        code: npt.NDArray[np.int8],
        events: list[DtmfEvent],
    ) -> None:
        """Run the state table over up to STEP_BLOCKS new blocks of the live channels.

        Analyses and key-ups met on the way are marked and settled together afterwards: in
        so few blocks a channel meets at most one of them, and a key accepted at a block
        cannot end (or start again) before the step is over.
        """
        live = np.flatnonzero((self._state != _IDLE) | hit.any(axis=1))
        if live.size == 0:
            return
        state = self._state[live]
        digit = self._digit[live]
        hit_live, code_live = hit[live], code[live]
        marks: list[Mark] = []
        for b in range(hit.shape[1]):
            hit_b, code_b = hit_live[:, b], code_live[:, b]
            other = hit_b & (code_b != digit)
            index = state.astype(np.intp) * 3 + hit_b + other
            action = ACTION[index]
            state = NEXT[index]
            np.copyto(digit, code_b, where=action == _START)
            if action.max() >= _ANALYSE:
                rows = np.flatnonzero(action >= _ANALYSE)
                marks.append((b, rows, action[rows], digit[rows]))
        if marks:
            step = _Step(first, live, state, digit, hit_live, code_live)
            self._settle(step, marks, events)
        self._state[live] = state
        self._digit[live] = digit

    def _settle(
        self,
        step: _Step,
        marks: list[Mark],
        events: list[DtmfEvent],
    ) -> None:
        """Locate the key-ups and analyse the ripe candidates marked during a step."""
        block = np.concatenate([np.full(rows.size, b) for b, rows, _, _ in marks])
        rows = np.concatenate([rows for _, rows, _, _ in marks])
        action = np.concatenate([action for _, _, action, _ in marks])
        digit = np.concatenate([digit for _, _, _, digit in marks])
        up = action == Action.UP
        if up.any():
            window = self._window(step, rows[up], block[up], digit[up])
            self._emit(step.live[rows[up]], digit[up], "up", locate_up(window, self._bank), events)
        ripe = ~up
        if ripe.any():
            window = self._window(step, rows[ripe], block[ripe], digit[ripe])
            accepted, starts, run = analyse_down(window, self._bank, self._overtones)
            failed = rows[ripe][~accepted]
            waiting = failed[step.state[failed] == State.PENDING]
            held = run[~accepted][step.state[failed] == State.PENDING] >= HOLD_RUN_BLOCKS
            step.state[waiting] = np.where(held, State.HOLD, RETRY_STATE)
            if accepted.any():
                keys, since = rows[ripe][accepted], block[ripe][accepted]
                step.digit[keys] = digit[ripe][accepted]
                step.state[keys] = _replay_key(step, keys, since)
                self._emit(step.live[keys], step.digit[keys], "down", starts[accepted], events)

    def _window(
        self,
        step: _Step,
        rows: npt.NDArray[np.intp],
        block: npt.NDArray[np.intp],
        digit: npt.NDArray[np.int8],
    ) -> AnalysisWindow:
        """The history window of some live rows, each ending at its own block of the step."""
        channels = step.live[rows]
        first_valid = -(-self._origin[channels] // self.block_size)  # origin's block or next
        return self._history.window(
            channels, step.first + block, digit, first_valid, self._unmixing, self.block_size
        )

    def _emit(
        self,
        channels: npt.NDArray[np.intp],
        digit: npt.NDArray[np.int8],
        kind: KeyKind,
        positions: npt.NDArray[np.float64],
        events: list[DtmfEvent],
    ) -> None:
        sample = np.maximum(np.rint(positions).astype(np.int64) - self._origin[channels], 0)
        for channel, key, position in zip(
            channels.tolist(), digit.tolist(), sample.tolist(), strict=True
        ):
            events.append(DtmfEvent(channel, DIGITS[key], kind, position))


@dataclass
class _Step:
    """The live channels of one step of the state loop and their working state."""

    first: int  # global index of the step's first block
    live: npt.NDArray[np.intp]
    state: npt.NDArray[np.int8]
    digit: npt.NDArray[np.int8]
    hit: npt.NDArray[np.bool_]  # (live, blocks)
    code: npt.NDArray[np.int8]  # (live, blocks)


def _replay_key(
    step: _Step, rows: npt.NDArray[np.intp], since: npt.NDArray[np.intp]
) -> npt.NDArray[np.int8]:
    """State of keys accepted at block ``since``, replayed over the rest of the step."""
    state = np.full(rows.size, State.KEY, dtype=np.int8)
    for b in range(step.hit.shape[1]):
        hit, code = step.hit[rows, b], step.code[rows, b]
        index = state.astype(np.intp) * 3 + hit + (hit & (code != step.digit[rows]))
        state = np.where(b > since, NEXT[index], state)
    return state


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
