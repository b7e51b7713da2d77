"""The streaming detector: chunking, event order and positions, reset, resize, inputs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dsp import dtmf, g711, tones
from dsp.dtmf import DtmfDetector, DtmfEvent, detect_many
from dsp.mix import saturate

RATE = tones.SAMPLE_RATE


def _traffic(rng: np.random.Generator, channels: int, seconds: float) -> npt.NDArray[np.int16]:
    """Channels of low noise with keys at random places, some with breaks, some noisy."""
    out = tones.white_noise(channels * int(seconds * RATE), -50.0, rng).reshape(channels, -1)
    for row in range(channels):
        at = int(rng.integers(0, 400))
        while True:
            digits = "".join(rng.choice(list(tones.DTMF_DIGITS), int(rng.integers(1, 4))))
            keys = tones.dtmf_sequence(digits, float(rng.uniform(0.04, 0.12)), 0.05,
                                       level_dbm0=float(rng.uniform(-25, -5)), rng=rng)  # fmt: skip
            if at + keys.size + 800 > out.shape[1]:
                break
            out[row, at : at + keys.size] += keys
            at += keys.size + int(rng.integers(100, 3000))
    return saturate(out)


def _run(
    detector: DtmfDetector, samples: npt.NDArray[np.generic], sizes: list[int]
) -> list[DtmfEvent]:
    events: list[DtmfEvent] = []
    at = 0
    for size in sizes:
        events += detector.process(samples[:, at : at + size])  # type: ignore[arg-type]
        at += size
    events += detector.process(samples[:, at:])  # type: ignore[arg-type]
    return events


def _ordered(events: list[DtmfEvent]) -> list[DtmfEvent]:
    return sorted(events, key=lambda e: (e.channel, e.position, e.kind == "down"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunks_of_any_size_give_the_same_events_as_one_block(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = _traffic(rng, 12, 3.0)
    whole = DtmfDetector(12).process(samples)
    assert len([e for e in whole if e.kind == "down"]) >= 12  # the traffic has keys
    sizes = [int(s) for s in rng.choice([0, 1, 7, 40, 160, 161, 333, 1000], 60)]
    chunked = _run(DtmfDetector(12), samples, sizes)
    assert _ordered(chunked) == _ordered(whole)


@pytest.mark.parametrize("size", [40, 120, 200, 280, 360])
def test_steps_that_wrap_round_the_block_ring_give_the_same_events(size: int) -> None:
    """Calls of 1, 3, 5, 7 and 9 blocks put steps astride the ring's end, again and again."""
    rng = np.random.default_rng(6)
    samples = _traffic(rng, 8, 2.0)
    whole = _ordered(DtmfDetector(8).process(samples))
    assert whole
    chunked = _run(DtmfDetector(8), samples, [size] * (samples.shape[1] // size))
    assert _ordered(chunked) == whole


def test_the_bank_per_block_and_per_call_give_the_same_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Few channels run the bank block by block into the ring, many run it once per call."""
    rng = np.random.default_rng(7)
    samples = _traffic(rng, 10, 2.0)
    sizes = [160] * 25 + [333] * 20
    blockwise = _ordered(_run(DtmfDetector(10), samples, sizes))
    monkeypatch.setattr(dtmf, "BLOCKWISE_CHANNELS", 0)
    per_call = _ordered(_run(DtmfDetector(10), samples, sizes))
    assert blockwise and per_call == blockwise


def test_speech_with_keys_gives_the_same_events_in_any_chunks(
    talkoff_corpus: tuple[list[npt.NDArray[np.int16]], int],
) -> None:
    """Speech passes and fails the screen block after block, across every chunk boundary."""
    channels, speech_channels = talkoff_corpus
    rng = np.random.default_rng(8)
    samples = np.stack([channel[: 20 * RATE] for channel in channels[:speech_channels:9]])
    for row in range(samples.shape[0]):
        for at in rng.integers(0, samples.shape[1] - 800, 3):
            key = tones.dtmf_tone(str(rng.choice(list(tones.DTMF_DIGITS))), 0.06, level_dbm0=-15)
            samples[row, at : at + key.size] = saturate(samples[row, at : at + key.size] + key)
    count = samples.shape[0]
    whole = _ordered(DtmfDetector(count).process(samples))
    assert len([e for e in whole if e.kind == "down"]) >= count
    sizes = [int(s) for s in rng.choice([1, 7, 40, 80, 160, 161, 333, 1000], 400)]
    assert _ordered(_run(DtmfDetector(count), samples, sizes)) == whole


def test_float32_and_g711_inputs_match_int16() -> None:
    rng = np.random.default_rng(4)
    samples = _traffic(rng, 6, 2.0)
    codes = g711.encode(samples, "alaw")
    decoded = g711.decode(codes, "alaw")
    expected = _ordered(DtmfDetector(6).process(decoded))
    assert expected
    assert _ordered(DtmfDetector(6).process(decoded.astype(np.float32))) == expected
    detector = DtmfDetector(6)
    events: list[DtmfEvent] = []
    for at in range(0, codes.shape[1], 160):
        events += detector.process_codes(codes[:, at : at + 160], "alaw")
    assert _ordered(events) == expected


def test_down_is_reported_soon_and_before_up() -> None:
    rng = np.random.default_rng(5)
    for trial in range(16):
        start = int(rng.integers(200, 600))
        signal = np.zeros(2400)
        key = tones.dtmf_tone(tones.DTMF_DIGITS[trial], 0.06, level_dbm0=-10)
        signal[start : start + key.size] = key
        detector = DtmfDetector(1)
        seen: list[tuple[int, DtmfEvent]] = []
        for at in range(0, 2400, 160):
            seen += [(at + 160, e) for e in detector.process(saturate(signal[None, at : at + 160]))]
        assert [e.kind for _, e in seen] == ["down", "up"]
        reported_at, down = seen[0]
        assert abs(down.position - start) <= 2
        # confirmed within 40 ms of tone, plus at most one 20 ms tick of buffering
        assert reported_at - start <= (40 + 20) * RATE // 1000


def test_events_name_channel_digit_kind_and_position() -> None:
    signals = [np.zeros(100, dtype=np.int16), saturate(np.concatenate(
        [np.zeros(800), tones.dtmf_tone("#", 0.08, level_dbm0=-12), np.zeros(800)]))]  # fmt: skip
    events = DtmfDetector(2).process(np.stack([np.resize(signals[0], 2240), signals[1]]))
    assert [(e.channel, e.digit, e.kind) for e in events] == [(1, "#", "down"), (1, "#", "up")]
    assert abs(events[0].position - 800) <= 2 and abs(events[1].position - 1440) <= 2
    with pytest.raises(AttributeError):
        events[0].digit = "1"  # type: ignore[misc]


def test_keys_changing_without_a_pause_are_two_keys() -> None:
    signal = np.concatenate([tones.dtmf_tone("1", 0.1), tones.dtmf_tone("2", 0.1), np.zeros(800)])
    assert [d for d, _ in detect_many([saturate(signal)])[0]] == ["1", "2"]


def test_reset_starts_a_new_stream_in_the_slot() -> None:
    key = saturate(tones.dtmf_tone("4", 0.1, level_dbm0=-10))
    detector = DtmfDetector(2)
    first = np.zeros((2, 700), dtype=np.int16)
    first[0, 300:] = key[:400]  # key 4 still held when the slot is reset
    events = detector.process(first)
    assert [(e.channel, e.kind) for e in events] == [(0, "down")]
    detector.reset([0])
    second = np.zeros((2, 2400), dtype=np.int16)
    second[0, 500 : 500 + key.size] = key
    events = detector.process(second)
    # the old key's end is never reported; the new one counts from the reset
    assert [(e.channel, e.digit, e.kind) for e in events] == [(0, "4", "down"), (0, "4", "up")]
    assert abs(events[0].position - 500) <= 2


def test_resize_keeps_the_state_of_remaining_channels() -> None:
    key = saturate(tones.dtmf_tone("9", 0.1, level_dbm0=-10))
    detector = DtmfDetector(1)
    block = np.zeros((1, 600), dtype=np.int16)
    block[0, 200:] = key[:400]
    assert [e.kind for e in detector.process(block)] == ["down"]
    detector.resize(3)
    grown = np.zeros((3, 2000), dtype=np.int16)
    grown[0, : key.size - 400] = key[400:]
    grown[2, 300 : 300 + key.size] = key
    events = detector.process(grown)
    assert [(e.channel, e.kind, e.position) for e in events if e.channel == 0] == [(0, "up", 1000)]
    new = [(e.channel, e.kind) for e in events if e.channel == 2]
    assert new == [(2, "down"), (2, "up")]
    assert abs(next(e.position for e in events if e.channel == 2) - 300) <= 2
    detector.resize(1)
    assert detector.channels == 1
    assert detector.process(np.zeros((1, 160), dtype=np.int16)) == []


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_a_key_analysed_across_a_resize_is_the_same_key(channels: int) -> None:
    """The key's first blocks were screened before the resize, its analysis runs after."""
    key = saturate(tones.dtmf_tone("6", 0.1, level_dbm0=-20))
    signal = np.zeros(2400, dtype=np.int16)
    signal[300 : 300 + key.size] = key
    expected = DtmfDetector(1).process(signal[None, :])
    assert [e.kind for e in expected] == ["down", "up"]
    detector = DtmfDetector(2)
    events = detector.process(np.stack([np.zeros(400, dtype=np.int16), signal[:400]]))
    detector.resize(channels)
    rest = np.zeros((channels, signal.size - 400), dtype=np.int16)
    if channels > 1:
        rest[1] = signal[400:]
        events += detector.process(rest)
        assert [(e.digit, e.kind, e.position) for e in events if e.channel == 1] == [
            (e.digit, e.kind, e.position) for e in expected
        ]
    else:  # the key's slot is gone
        assert detector.process(rest) == []


def test_other_sample_rates() -> None:
    for rate in (16000, 48000):
        signal = np.concatenate([np.zeros(rate // 10), tones.dtmf_tone("7", 0.05, sample_rate=rate,
                                 level_dbm0=-10), np.zeros(rate // 10)])  # fmt: skip
        keys = detect_many([saturate(signal)], rate)[0]
        assert [d for d, _ in keys] == ["7"] and abs(keys[0][1] - 0.1) < 0.0005
    with pytest.raises(ValueError, match="5 ms"):
        DtmfDetector(1, 11025)


def test_bad_inputs() -> None:
    detector = DtmfDetector(2)
    assert detector.process(np.zeros((2, 0), dtype=np.int16)) == []
    with pytest.raises(ValueError, match=r"\(2, n\)"):
        detector.process(np.zeros((3, 160), dtype=np.int16))
    with pytest.raises(TypeError, match="int16 or float32"):
        detector.process(np.zeros((2, 160), dtype=np.float64))  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        detector.reset([2])
    with pytest.raises(ValueError):
        DtmfDetector(-1)
    assert detect_many([]) == []
    assert DtmfDetector(0).process(np.zeros((0, 160), dtype=np.int16)) == []
