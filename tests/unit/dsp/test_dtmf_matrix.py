"""ITU-T Q.24 (AT&T) and ETSI ES 201 235-3 classes, each trial through μ-law and A-law.

Every test builds its trials from a fixed seed (random phases, random silence before the
key) and runs them together through one detector (:func:`dsp.dtmf.detect_many`). A trial
passes when the detector reports exactly the expected keys, in order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dsp import g711, tones
from dsp.dtmf import DtmfDetector, detect_many
from dsp.mix import saturate

DIGITS = tones.DTMF_DIGITS
Signal = npt.NDArray[np.float64]


def _key(rng: np.random.Generator, digit: str, seconds: float, **options: object) -> Signal:
    phases = (float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi)))
    return tones.dtmf_tone(digit, seconds, phases=phases, **options)  # type: ignore[arg-type]


def _framed(rng: np.random.Generator, signal: Signal) -> Signal:
    """Silence of a random 10..60 ms before, 50 ms after."""
    lead = np.zeros(int(rng.integers(80, 480)))
    return np.concatenate([lead, signal, np.zeros(400)])


def _keys_found(signals: list[Signal], law: g711.Law) -> list[str]:
    coded = [g711.decode(g711.encode(saturate(s), law), law) for s in signals]
    return ["".join(digit for digit, _ in keys) for keys in detect_many(coded)]


def _check(signals: list[Signal], expected: list[str], law: g711.Law) -> None:
    found = _keys_found(signals, law)
    wrong = [
        (index, want, got)
        for index, (want, got) in enumerate(zip(expected, found, strict=True))
        if want != got
    ]
    assert not wrong, (
        f"{len(wrong)}/{len(expected)} trials wrong (index, expected, found): {wrong[:5]}"
    )


def _each_digit(times: int) -> list[str]:
    return [DIGITS[index % 16] for index in range(16 * times)]


@pytest.mark.parametrize("law", g711.LAWS)
def test_every_digit_is_detected(law: g711.Law) -> None:
    rng = np.random.default_rng(101)
    digits = _each_digit(4)
    _check([_framed(rng, _key(rng, d, 0.06, level_dbm0=-10)) for d in digits], digits, law)


OFFSETS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize("direction", OFFSETS, ids=str)
def test_offsets_of_1_5_percent_are_detected(law: g711.Law, direction: tuple[int, int]) -> None:
    rng = np.random.default_rng(102)
    offset = (1.5 * direction[0], 1.5 * direction[1])
    digits = _each_digit(2)
    signals = [_framed(rng, _key(rng, d, 0.06, level_dbm0=-10, offset_pct=offset)) for d in digits]
    _check(signals, digits, law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize("direction", OFFSETS, ids=str)
def test_offsets_of_3_5_percent_are_rejected(law: g711.Law, direction: tuple[int, int]) -> None:
    rng = np.random.default_rng(103)
    offset = (3.5 * direction[0], 3.5 * direction[1])
    digits = _each_digit(2)
    signals = [_framed(rng, _key(rng, d, 0.2, level_dbm0=-10, offset_pct=offset)) for d in digits]
    _check(signals, [""] * len(digits), law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(("seconds", "detected"), [(0.040, True), (0.023, False), (0.020, False)])
def test_duration(law: g711.Law, seconds: float, detected: bool) -> None:
    rng = np.random.default_rng(104)
    digits = _each_digit(3)
    signals = [_framed(rng, _key(rng, d, seconds, level_dbm0=-10)) for d in digits]
    _check(signals, digits if detected else [""] * len(digits), law)


def _broken(
    rng: np.random.Generator, digit: str, first: float, gap: float, second: float
) -> Signal:
    silence = np.zeros(round(gap * tones.SAMPLE_RATE))
    parts = [
        _key(rng, digit, first, level_dbm0=-10),
        silence,
        _key(rng, digit, second, level_dbm0=-10),
    ]
    return np.concatenate(parts)


@pytest.mark.parametrize("law", g711.LAWS)
def test_a_break_of_10_ms_does_not_split_a_key(law: g711.Law) -> None:
    rng = np.random.default_rng(105)
    digits = _each_digit(2)
    signals = [_framed(rng, _broken(rng, d, 0.05, 0.010, 0.05)) for d in digits]
    signals += [_framed(rng, _broken(rng, d, 0.02, 0.010, 0.05)) for d in digits]
    _check(signals, digits * 2, law)


@pytest.mark.parametrize("law", g711.LAWS)
def test_a_pause_of_40_ms_separates_two_keys(law: g711.Law) -> None:
    rng = np.random.default_rng(106)
    digits = _each_digit(2)
    signals = [_framed(rng, _broken(rng, d, 0.045, 0.040, 0.045)) for d in digits]
    _check(signals, [d * 2 for d in digits], law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(("tone", "pause"), [(0.040, 0.053), (0.053, 0.040), (0.047, 0.046)])
def test_ten_key_strings_at_93_ms_per_key(law: g711.Law, tone: float, pause: float) -> None:
    rng = np.random.default_rng(107)
    strings = ["".join(rng.choice(list(DIGITS), 10)) for _ in range(6)]
    signals = [
        _framed(rng, tones.dtmf_sequence(keys, tone, pause, level_dbm0=-12, rng=rng))
        for keys in strings
    ]
    _check(signals, strings, law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(
    ("twist", "row_level"),
    [(-8.0, -10.0), (-8.0, -17.0), (4.0, -10.0), (4.0, -25.0)],
    ids=["-8dB", "-8dB-column-at-25dBm0", "+4dB", "+4dB-row-at-25dBm0"],
)
def test_twist_is_detected(law: g711.Law, twist: float, row_level: float) -> None:
    rng = np.random.default_rng(108)
    digits = _each_digit(2)
    signals = [
        _framed(rng, _key(rng, d, 0.06, level_dbm0=row_level, twist_db=twist)) for d in digits
    ]
    _check(signals, digits, law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(("level", "detected"), [(0.0, True), (-25.0, True), (-55.0, False)])
def test_levels(law: g711.Law, level: float, detected: bool) -> None:
    rng = np.random.default_rng(109)
    digits = _each_digit(2)
    signals = [_framed(rng, _key(rng, d, 0.06, level_dbm0=level)) for d in digits]
    _check(signals, digits if detected else [""] * len(digits), law)


@pytest.mark.parametrize("law", g711.LAWS)
def test_white_noise_at_15_db_snr(law: g711.Law) -> None:
    rng = np.random.default_rng(110)
    digits = _each_digit(3)
    signals = []
    for digit in digits:
        clean = _framed(rng, _key(rng, digit, 0.06, level_dbm0=-15))
        signals.append(clean + tones.noise_at_snr(clean, 15.0, rng))
    _check(signals, digits, law)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(
    ("options", "snr_db", "tolerance"),
    [
        ({"level_dbm0": -10.0}, None, 2),
        ({"level_dbm0": -25.0, "twist_db": 4.0}, None, 2),
        ({"level_dbm0": -10.0, "offset_pct": (1.5, -1.5)}, None, 2),
        ({"level_dbm0": -10.0}, 15.0, 12),
    ],
    ids=["clean", "weak-twisted", "off-frequency", "15dB-SNR"],
)
def test_start_and_end_positions(
    law: g711.Law, options: dict[str, object], snr_db: float | None, tolerance: int
) -> None:
    rng = np.random.default_rng(111)
    count = 48
    starts = rng.integers(100, 700, count)
    lengths = rng.integers(320, 900, count)
    signals = np.zeros((count, 2000))
    for row in range(count):
        tone = _key(rng, DIGITS[row % 16], lengths[row] / 8000, **options)
        signals[row, starts[row] : starts[row] + tone.size] = tone
        if snr_db is not None:
            signals[row] += tones.noise_at_snr(signals[row], snr_db, rng)
    coded = g711.decode(g711.encode(saturate(signals), law), law)
    events = DtmfDetector(count).process(coded)
    down = {e.channel: e.position for e in events if e.kind == "down"}
    up = {e.channel: e.position for e in events if e.kind == "up"}
    assert sorted(down) == sorted(up) == list(range(count))
    start_error = np.array([down[row] - starts[row] for row in range(count)])
    end_error = np.array([up[row] - starts[row] - lengths[row] for row in range(count)])
    assert np.abs(start_error).max() <= tolerance, start_error
    assert np.abs(end_error).max() <= tolerance, end_error


MARGINS = [
    ("offset 1.9 %", {"offset_pct": (1.9, -1.9)}, 0.06, True),
    ("offset 2.1 %", {"offset_pct": (2.1, 0.0)}, 0.2, False),
    ("36 ms", {}, 0.036, True),
    ("29 ms", {}, 0.029, False),
    ("twist -9 dB", {"twist_db": -9.0}, 0.06, True),
    ("twist +5 dB", {"twist_db": 5.0, "level_dbm0": -16.0}, 0.06, True),
    ("-35 dBm0", {"level_dbm0": -35.0}, 0.06, True),
    ("-45 dBm0", {"level_dbm0": -45.0}, 0.06, False),
]


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize(
    ("name", "options", "seconds", "detected"), MARGINS, ids=[m[0] for m in MARGINS]
)
def test_margins_beyond_the_limits(
    law: g711.Law, name: str, options: dict[str, object], seconds: float, detected: bool
) -> None:
    rng = np.random.default_rng(112)
    digits = _each_digit(2)
    settings = {"level_dbm0": -10.0, **options}
    signals = [_framed(rng, _key(rng, d, seconds, **settings)) for d in digits]
    _check(signals, digits if detected else [""] * len(digits), law)


@pytest.mark.parametrize("law", g711.LAWS)
def test_margins_of_breaks_and_noise(law: g711.Law) -> None:
    rng = np.random.default_rng(113)
    digits = _each_digit(1)
    signals = [_framed(rng, _broken(rng, d, 0.05, 0.015, 0.05)) for d in digits]
    signals += [_framed(rng, _broken(rng, d, 0.05, 0.025, 0.05)) for d in digits]
    for digit in digits:
        clean = _framed(rng, _key(rng, digit, 0.06, level_dbm0=-15))
        signals.append(clean + tones.noise_at_snr(clean, 12.0, rng))
    _check(signals, digits + [d * 2 for d in digits] + digits, law)
