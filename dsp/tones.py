"""Tone synthesis: DTMF keys, sums of sines, feedback beeps, white noise at an SNR.

Level convention (used by the detector and its tests alike): samples are on the int16 scale,
the G.711 full-scale sine has a peak of 32768, and 0 dBm0 is a sine whose RMS is 3.14 dB
below that full-scale sine, i.e. a peak of 32768 * 10**(-3.14/20) = 22786.6 (RMS 16112.4).
A level in dBm0 is always the level of one sine; a DTMF key at -10 dBm0 has two tones of
-10 dBm0 each (before twist).

Synthesis functions return float64 arrays on the int16 scale so that sources can be summed
before rounding; :func:`dsp.mix.saturate` turns them into int16. Beeps meant for playing are
returned as int16 directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dsp.mix import saturate

SAMPLE_RATE = 8000
FULL_SCALE_PEAK = 32768.0
DBM0_BELOW_FULL_SCALE_DB = 3.14
DBM0_PEAK = FULL_SCALE_PEAK * 10.0 ** (-DBM0_BELOW_FULL_SCALE_DB / 20.0)
DBM0_RMS = DBM0_PEAK / np.sqrt(2.0)

DTMF_ROW_HZ: tuple[float, ...] = (697.0, 770.0, 852.0, 941.0)
DTMF_COLUMN_HZ: tuple[float, ...] = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYPAD: tuple[str, ...] = ("123A", "456B", "789C", "*0#D")
DTMF_DIGITS = "".join(DTMF_KEYPAD)

CONFIRMATION_BEEP_HZ: tuple[float, ...] = (880.0, 1320.0)  # rising two-note chime
ERROR_BEEP_HZ: tuple[float, ...] = (950.0, 1400.0, 1800.0)  # the ITU-T E.180 SIT sequence
BEEP_LEVEL_DBM0 = -13.0

FloatArray = npt.NDArray[np.float64]


def peak_amplitude(level_dbm0: float) -> float:
    """Peak amplitude (int16 scale) of a sine at ``level_dbm0``."""
    return float(DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0))


def level_dbm0(samples: npt.ArrayLike) -> float:
    """RMS level of a signal in dBm0 (-inf for silence)."""
    array = np.asarray(samples, dtype=np.float64)
    power = float(np.mean(array * array)) if array.size else 0.0
    if power <= 0.0:
        return float("-inf")
    return float(10.0 * np.log10(power / DBM0_RMS**2))


def dtmf_frequencies(digit: str) -> tuple[float, float]:
    """(row, column) frequencies in Hz of a DTMF key ``0-9 * # A-D``."""
    for row, keys in enumerate(DTMF_KEYPAD):
        column = keys.find(digit.upper()) if len(digit) == 1 else -1
        if column >= 0:
            return DTMF_ROW_HZ[row], DTMF_COLUMN_HZ[column]
    raise ValueError(f"not a DTMF key: {digit!r}")


def samples_for(duration_s: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of samples in ``duration_s`` (rounded to the nearest sample)."""
    if duration_s < 0:
        raise ValueError("duration must not be negative")
    return round(duration_s * sample_rate)


def sines(
    frequencies_hz: Sequence[float],
    levels_dbm0: Sequence[float],
    n_samples: int,
    *,
    phases: Sequence[float] | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """Sum of sines, each at its level in dBm0 and starting phase in radians."""
    if len(frequencies_hz) != len(levels_dbm0):
        raise ValueError("one level per frequency")
    if phases is None:
        phases = [0.0] * len(frequencies_hz)
    if len(phases) != len(frequencies_hz):
        raise ValueError("one phase per frequency")
    t = np.arange(n_samples, dtype=np.float64) / sample_rate
    freqs = np.asarray(frequencies_hz, dtype=np.float64)[:, None]
    amps = np.array([peak_amplitude(level) for level in levels_dbm0])[:, None]
    phase0 = np.asarray(phases, dtype=np.float64)[:, None]
    total: FloatArray = np.sum(amps * np.sin(2.0 * np.pi * freqs * t + phase0), axis=0)
    return total


def dtmf_tone(
    digit: str,
    duration_s: float,
    *,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
    offset_pct: tuple[float, float] = (0.0, 0.0),
    phases: tuple[float, float] = (0.0, 0.0),
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """One DTMF key.

    ``level_dbm0`` is the row (low) tone's level; the column (high) tone is at
    ``level_dbm0 + twist_db`` (negative twist: high tone weaker). ``offset_pct`` shifts the
    (row, column) frequencies by that many percent.
    """
    low, high = dtmf_frequencies(digit)
    freqs = (low * (1.0 + offset_pct[0] / 100.0), high * (1.0 + offset_pct[1] / 100.0))
    levels = (level_dbm0, level_dbm0 + twist_db)
    n_samples = samples_for(duration_s, sample_rate)
    return sines(freqs, levels, n_samples, phases=phases, sample_rate=sample_rate)


def dtmf_sequence(
    digits: str,
    tone_s: float,
    pause_s: float,
    *,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
    lead_s: float = 0.0,
    rng: np.random.Generator | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """Keys of ``tone_s`` each followed by ``pause_s`` of silence, after ``lead_s`` of silence.

    With ``rng`` every tone starts at random phases; otherwise at phase zero.
    """
    parts = [np.zeros(samples_for(lead_s, sample_rate))]
    pause = np.zeros(samples_for(pause_s, sample_rate))
    for digit in digits:
        drawn = (0.0, 0.0) if rng is None else rng.uniform(0, 2 * np.pi, 2)
        phases = (float(drawn[0]), float(drawn[1]))
        parts.append(
            dtmf_tone(
                digit,
                tone_s,
                level_dbm0=level_dbm0,
                twist_db=twist_db,
                phases=phases,
                sample_rate=sample_rate,
            )
        )
        parts.append(pause)
    return np.concatenate(parts)


def white_noise(n_samples: int, level_dbm0: float, rng: np.random.Generator) -> FloatArray:
    """Gaussian white noise whose RMS is ``level_dbm0``."""
    noise: FloatArray = rng.standard_normal(n_samples) * (DBM0_RMS * 10.0 ** (level_dbm0 / 20.0))
    return noise


def noise_at_snr(
    signal: npt.ArrayLike,
    snr_db: float,
    rng: np.random.Generator,
    *,
    active: npt.ArrayLike | None = None,
) -> FloatArray:
    """White noise for ``signal`` at ``snr_db``, the signal power taken over ``active`` samples.

    ``active`` (a boolean mask, default: the non-zero samples) says where the signal is on, so
    that silent gaps do not lower the reference power.
    """
    array = np.asarray(signal, dtype=np.float64)
    mask = array != 0 if active is None else np.asarray(active, dtype=bool)
    power = float(np.mean(array[mask] ** 2)) if mask.any() else 0.0
    noise: FloatArray = rng.standard_normal(array.shape) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return noise


def _note_sequence(
    frequencies_hz: Sequence[float], note_s: float, gap_s: float, level: float, rate: int
) -> npt.NDArray[np.int16]:
    n_note = samples_for(note_s, rate)
    ramp = min(n_note // 4, samples_for(0.005, rate))
    envelope = np.ones(n_note)
    if ramp:
        envelope[:ramp] = np.linspace(0.0, 1.0, ramp, endpoint=False)
        envelope[n_note - ramp :] = envelope[:ramp][::-1]
    gap = np.zeros(samples_for(gap_s, rate))
    parts: list[FloatArray] = []
    for freq in frequencies_hz:
        parts.extend((sines([freq], [level], n_note, sample_rate=rate) * envelope, gap))
    return saturate(np.concatenate(parts[:-1]))


def confirmation_beep(
    *, level_dbm0: float = BEEP_LEVEL_DBM0, sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.int16]:
    """Short rising chime (880 Hz then 1320 Hz, 80 ms each) played when an option starts."""
    return _note_sequence(CONFIRMATION_BEEP_HZ, 0.08, 0.02, level_dbm0, sample_rate)


def error_beep(
    *, level_dbm0: float = BEEP_LEVEL_DBM0, sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.int16]:
    """Special information tone (950, 1400, 1800 Hz rising, 120 ms each) for a failed option."""
    return _note_sequence(ERROR_BEEP_HZ, 0.12, 0.0, level_dbm0, sample_rate)


def recording_beep(
    *, level_dbm0: float = BEEP_LEVEL_DBM0, sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.int16]:
    """A single 1400 Hz beep of 200 ms, the usual notice that recording has started."""
    return _note_sequence((1400.0,), 0.2, 0.0, level_dbm0, sample_rate)
