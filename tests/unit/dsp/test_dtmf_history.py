"""The block ring of the DTMF detector: cells, and the samples kept for overtone bins."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dsp.dtmf_history import BlockHistory

STEPS, STEP, WINDOW, BLOCK = 6, 4, 20, 40


def _history(channels: int) -> BlockHistory:
    return BlockHistory(channels, STEPS, STEP, WINDOW, 16)


def test_cells_are_unique_over_the_ring_and_wrap_round_it() -> None:
    history = _history(3)
    blocks = np.arange(STEPS * STEP)[:, None]
    cells = history.cells(blocks, np.arange(3)[None, :])
    assert sorted(cells.ravel().tolist()) == list(range(STEPS * STEP * 3))
    assert (history.cells(blocks + STEPS * STEP, np.arange(3)[None, :]) == cells).all()
    assert (history.cells(blocks - STEPS * STEP, np.arange(3)[None, :]) == cells).all()


Frames = dict[int, npt.NDArray[np.float32]]


def _keep(
    history: BlockHistory, rng: np.random.Generator, blocks: list[int], channel: int
) -> Frames:
    """Keep one random block of samples at each of ``blocks`` of ``channel``."""
    kept: Frames = {}
    for block in blocks:
        frames = rng.normal(size=(1, BLOCK)).astype(np.float32)
        cells = history.cells(np.array([block]), np.array([channel]))
        history.keep_keyed(block + 1, cells, frames)
        kept[block] = frames[0]
    return kept


def test_kept_blocks_give_their_bins_where_wanted_and_zero_elsewhere() -> None:
    rng = np.random.default_rng(1)
    history = _history(2)
    kept = _keep(history, rng, list(range(30, 42)), 1)
    weights = rng.normal(size=(1, BLOCK, 4)).astype(np.float32)
    blocks = np.arange(25, 45)[None, :]
    wanted = np.ones(blocks.shape, dtype=bool)
    wanted[0, -3] = False  # kept but not asked for
    bins = history.keyed_bins(history.cells(blocks, np.array([[1]])), wanted, weights)
    for column, block in enumerate(blocks[0]):
        expected = kept[block] @ weights[0] if block in kept and wanted[0, column] else 0.0
        np.testing.assert_allclose(bins[0, :, column], expected, rtol=1e-5, atol=1e-4)


def test_blocks_older_than_a_window_are_forgotten() -> None:
    rng = np.random.default_rng(2)
    history = _history(1)
    _keep(history, rng, [10], 0)
    _keep(history, rng, [10 + WINDOW + 1], 0)
    weights = np.ones((1, BLOCK, 4), dtype=np.float32)
    old = history.cells(np.array([[10 + STEPS * STEP]]), np.array([[0]]))  # same cell as 10
    assert not history.keyed_bins(old, np.ones((1, 1), dtype=bool), weights).any()


def test_kept_blocks_follow_their_channel_through_a_resize() -> None:
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(1, BLOCK, 4)).astype(np.float32)
    for channels in (1, 2, 5):
        history = _history(3)
        kept = _keep(history, rng, [40, 41, 42], 1)
        _keep(history, rng, [40, 41, 42], 2)
        history.resize(channels)
        blocks = np.array([[40, 41, 42]])
        wanted = np.ones(blocks.shape, dtype=bool)
        for channel in range(min(channels, 3)):
            bins = history.keyed_bins(history.cells(blocks, np.array([[channel]])), wanted, weights)
            if channel == 1:
                expected = np.stack([kept[b] @ weights[0] for b in (40, 41, 42)], axis=1)
                np.testing.assert_allclose(bins[0], expected, rtol=1e-5, atol=1e-4)
            elif channel == 0:
                assert not bins.any()
