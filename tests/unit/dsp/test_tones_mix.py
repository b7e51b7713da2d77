"""Tone synthesis levels and frequencies, beeps, noise at an SNR, saturating mixing."""

from __future__ import annotations

import numpy as np
import pytest

from dsp import mix, tones


def _peak_hz(signal: np.ndarray, top: int = 1) -> list[float]:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    freqs = np.fft.rfftfreq(signal.size, 1 / 8000)
    found: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[index] - f) > 30 for f in found):
            found.append(float(freqs[index]))
        if len(found) == top:
            break
    return sorted(found)


def test_zero_dbm0_is_3_14_db_below_full_scale_sine() -> None:
    full_scale = tones.sines([1000.0], [tones.DBM0_BELOW_FULL_SCALE_DB], 8000)
    assert np.max(np.abs(full_scale)) == pytest.approx(32768.0, rel=1e-6)
    zero = tones.sines([1000.0], [0.0], 8000)
    assert tones.level_dbm0(zero) == pytest.approx(0.0, abs=1e-6)
    assert tones.peak_amplitude(-20.0) == pytest.approx(tones.DBM0_PEAK / 10.0)
    assert tones.level_dbm0(np.zeros(10)) == float("-inf")


@pytest.mark.parametrize("digit", tones.DTMF_DIGITS)
def test_dtmf_key_frequencies(digit: str) -> None:
    signal = tones.dtmf_tone(digit, 1.0, level_dbm0=-10.0)
    assert _peak_hz(signal, 2) == pytest.approx(list(tones.dtmf_frequencies(digit)), abs=1.0)
    assert tones.level_dbm0(signal) == pytest.approx(-10.0 + 10 * np.log10(2), abs=0.05)


def test_dtmf_twist_offset_and_keypad() -> None:
    assert tones.dtmf_frequencies("5") == (770.0, 1336.0)
    assert tones.dtmf_frequencies("d") == (941.0, 1633.0)
    with pytest.raises(ValueError):
        tones.dtmf_frequencies("E")
    signal = tones.dtmf_tone("1", 1.0, level_dbm0=-12.0, twist_db=-8.0, offset_pct=(1.5, -3.5))
    assert _peak_hz(signal, 2) == pytest.approx([697 * 1.015, 1209 * 0.965], abs=1.0)
    low = tones.sines([697 * 1.015], [-12.0], 8000)
    assert tones.level_dbm0(signal - low) == pytest.approx(-20.0, abs=0.01)


def test_sequence_layout() -> None:
    rng = np.random.default_rng(3)
    signal = tones.dtmf_sequence("123", 0.05, 0.043, lead_s=0.01, rng=rng)
    assert signal.size == 80 + 3 * (400 + 344)
    on = np.abs(signal) > 0
    assert not on[:80].any() and on[80:480].mean() > 0.95 and not on[480:824].any()


def test_noise_at_snr() -> None:
    rng = np.random.default_rng(5)
    signal = np.concatenate([np.zeros(8000), tones.dtmf_tone("9", 2.0, level_dbm0=-20)])
    noise = tones.noise_at_snr(signal, 15.0, rng)
    on_power = np.mean(signal[8000:] ** 2)
    assert 10 * np.log10(on_power / np.mean(noise**2)) == pytest.approx(15.0, abs=0.1)
    white = tones.white_noise(80000, -30.0, rng)
    assert tones.level_dbm0(white) == pytest.approx(-30.0, abs=0.1)


def test_beeps() -> None:
    confirm, error, record = tones.confirmation_beep(), tones.error_beep(), tones.recording_beep()
    for beep in (confirm, error, record):
        assert beep.dtype == np.int16 and beep[0] == 0
    assert _peak_hz(confirm[:640].astype(float)) == pytest.approx([880.0], abs=15)
    assert _peak_hz(error[-960:].astype(float)) == pytest.approx([1800.0], abs=15)
    assert tones.level_dbm0(record[200:-200]) == pytest.approx(tones.BEEP_LEVEL_DBM0, abs=0.1)


def test_mix_saturates_instead_of_wrapping() -> None:
    a = np.array([[30000, -30000, 100], [1, 2, 3]], dtype=np.int16)
    b = np.array([[10000, -10000, -50], [1, 2, 3]], dtype=np.int16)
    assert mix.mix([a, b]).tolist() == [[32767, -32768, 50], [2, 4, 6]]
    assert mix.mix([a, b, b]).tolist() == [[32767, -32768, 0], [3, 6, 9]]
    out = np.empty_like(a)
    assert mix.mix([a], out=out) is out and out.tolist() == a.tolist()
    with pytest.raises(ValueError):
        mix.mix([])
    with pytest.raises(TypeError):
        mix.mix([a.astype(np.int32)])  # type: ignore[list-item]


def test_gain_and_saturate() -> None:
    x = np.array([1000, -1000, 20000], dtype=np.int16)
    assert mix.apply_gain(x, -6.0206).tolist() == [500, -500, 10000]
    assert mix.apply_gain(x, 6.0206).tolist() == [2000, -2000, 32767]
    assert mix.saturate(np.array([0.5, 1.5, -40000.0, 40000.0])).tolist() == [0, 2, -32768, 32767]
    assert mix.mix_with_gains([x, x], [0.0, -120.0]).tolist() == [1000, -1000, 20000]
