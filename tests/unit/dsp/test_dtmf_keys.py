"""Per-key tables of the DTMF analysis: each key's two bins, unmixing and weights."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.dtmf_keys import KEYS, KeyTables
from dsp.goertzel import FilterBank
from dsp.tones import DTMF_COLUMN_HZ, DTMF_ROW_HZ

RATE = 8000
BANK = FilterBank(DTMF_ROW_HZ + DTMF_COLUMN_HZ, 40, RATE)
OVERTONES = FilterBank([3 * hz for hz in DTMF_ROW_HZ] + [2 * hz for hz in DTMF_COLUMN_HZ], 40, RATE)
TABLES = KeyTables.build(BANK, OVERTONES)


def test_every_key_is_seen_through_its_row_and_column_bins() -> None:
    for key in range(KEYS):
        row, col = key // 4, 4 + key % 4
        assert TABLES.columns[key].tolist() == [row, 8 + row, col, 8 + col]
        assert TABLES.nominal[key].tolist() == [BANK.omega[row], BANK.omega[col]]
        np.testing.assert_allclose(TABLES.weights[key], BANK.weights[:, TABLES.columns[key]])
        np.testing.assert_allclose(TABLES.weights_by_bin[key], TABLES.weights[key].T)
        np.testing.assert_allclose(
            TABLES.overtone_weights[key], OVERTONES.weights[:, TABLES.columns[key]]
        )
        # one percent of a bin's frequency, in radians per sample, is one percent
        assert TABLES.to_pct[key] * TABLES.nominal[key] * 0.01 == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("key", [0, 5, 10, 15])
def test_the_unmixing_recovers_both_tones_of_a_key_from_one_block(key: int) -> None:
    rng = np.random.default_rng(key)
    m = np.arange(40)
    for _ in range(5):
        a, b = rng.normal(size=2) + 1j * rng.normal(size=2)
        low, high = TABLES.nominal[key]
        block = np.real(a * np.exp(1j * low * m) + b * np.exp(1j * high * m)) * 1000
        bins = BANK.coefficients(block[None, :].astype(np.float32))[0, TABLES.columns[key]]
        amplitudes = TABLES.unmixing[key] @ bins.astype(np.float64) / 1000
        assert amplitudes == pytest.approx([a, b], abs=1e-4)
        rotated = np.exp(1j * TABLES.nominal[key] * 40)
        np.testing.assert_allclose(TABLES.rotation[key], rotated)
