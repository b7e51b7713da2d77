"""The filter bank: scaling, phase advance, block framing, unmixing, 10 ms pairs."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.goertzel import BlockFramer, FilterBank, block_gain, frequency_offset_hz

RATE = 8000
BANK = FilterBank([697.0, 1209.0, 1336.0], 40, RATE)


def _sine(freq: float, amplitude: float, phase: float, n: int, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n)
    return amplitude * np.cos(2 * np.pi * freq * t / RATE + phase)


def _complex(coefficients: np.ndarray) -> np.ndarray:
    k = BANK.size
    return coefficients[..., :k] + 1j * coefficients[..., k:]


def test_a_sine_on_its_bin_gives_its_block_energy() -> None:
    block = _sine(1209.0, 1000.0, 0.3, 40).astype(np.float32)[None, :]
    power = np.abs(_complex(BANK.coefficients(block)))[0] ** 2
    energy = FilterBank.energies(block)[0]
    assert power[1] == pytest.approx(energy, rel=0.01)
    assert energy == pytest.approx(1000.0**2 * 40 / 2, rel=0.01)
    assert power[0] < 0.05 * energy  # 512 Hz away: only a sidelobe


@pytest.mark.parametrize("offset_hz", [-30.0, -10.0, 0.0, 12.5, 40.0])
def test_phase_advance_between_blocks_measures_the_offset(offset_hz: float) -> None:
    signal = _sine(1336.0 + offset_hz, 800.0, 1.0, 400).astype(np.float32)
    x = _complex(BANK.coefficients(signal.reshape(10, 40)))[:, 2]
    advance = np.angle(np.sum(x[1:] * np.conj(x[:-1] * BANK.block_rotation[2])))
    # the real sine's negative frequency leaks a little into the bin: within 0.5 Hz
    assert frequency_offset_hz(np.array(advance), 40, RATE) == pytest.approx(offset_hz, abs=0.5)


def test_block_gain() -> None:
    assert block_gain(0.0, 40) == 1.0
    offset = 2 * np.pi * 25.0 / RATE  # 25 Hz: 1/8 of a bin
    expected = abs(np.sum(np.exp(1j * offset * np.arange(40)))) / 40
    assert block_gain(offset, 40) == pytest.approx(expected)


@pytest.mark.parametrize("sizes", [[160] * 5, [1, 39, 40, 41, 679], [0, 7, 7, 7, 779]])
def test_framer_cuts_any_chunks_into_the_same_blocks(sizes: list[int]) -> None:
    rng = np.random.default_rng(1)
    samples = rng.integers(-3000, 3000, (3, 800)).astype(np.int16)
    framer = BlockFramer(3, 40)
    blocks, at = [], 0
    for size in sizes:
        frames, m = framer.push(samples[:, at : at + size])
        blocks.append(frames.reshape(3, m, 40).copy())
        at += size
    assert framer.samples == 800 and framer.blocks == 20 and framer.fill == 0
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1).reshape(3, -1), samples)


def test_framer_clear_and_resize() -> None:
    framer = BlockFramer(2, 40)
    framer.push(np.full((2, 30), 5, dtype=np.int16))
    framer.clear(np.array([1]))
    frames, m = framer.push(np.full((2, 10), 7, dtype=np.int16))
    assert m == 1
    assert frames[0].tolist() == [5] * 30 + [7] * 10
    assert frames[1].tolist() == [0] * 30 + [7] * 10
    framer.resize(3)
    assert framer.pending.shape == (3, 40)


def test_unmixing_recovers_two_sines_in_one_block() -> None:
    rng = np.random.default_rng(2)
    first, second = np.array([0]), np.array([1])
    inverse = BANK.unmixing(first, second)[0]
    for _ in range(10):
        a, b = rng.normal(size=2) + 1j * rng.normal(size=2)
        m = np.arange(40)
        block = np.real(a * np.exp(1j * BANK.omega[0] * m) + b * np.exp(1j * BANK.omega[1] * m))
        c = BANK.coefficients(block[None, :].astype(np.float32)).astype(np.float64)[0]
        bins = np.array([c[0], c[3], c[1], c[4]])
        solved = inverse @ bins
        assert solved[0] + 1j * solved[1] == pytest.approx(a, abs=1e-4)
        assert solved[2] + 1j * solved[3] == pytest.approx(b, abs=1e-4)


def test_pair_weights_give_the_dft_of_two_blocks() -> None:
    rng = np.random.default_rng(3)
    signal = rng.normal(size=80).astype(np.float32)
    blocks = BANK.coefficients(signal.reshape(2, 40))
    pair = np.concatenate([blocks[0], blocks[1]])[None, :] @ BANK.pair_weights()
    long = FilterBank(BANK.frequencies_hz, 80, RATE).coefficients(signal[None, :])
    # the 80-sample bank scales by sqrt(2/80) instead of sqrt(2/40)
    np.testing.assert_allclose(pair[0] / np.sqrt(2.0), long[0], rtol=1e-4, atol=1e-3)
