"""Talk-off: no key in an hour of speech and music; keys placed in it are all found."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dsp import tones
from dsp.dtmf import detect_many
from dsp.mix import saturate

RATE = tones.SAMPLE_RATE
Corpus = tuple[list[npt.NDArray[np.int16]], int]


def test_the_corpus_is_an_hour_of_speech_and_music(talkoff_corpus: Corpus) -> None:
    channels, speech_channels = talkoff_corpus
    seconds = sum(channel.size for channel in channels) / RATE
    assert seconds >= 3600
    assert speech_channels * 60 >= 2400  # at least 40 minutes of speech
    assert (len(channels) - speech_channels) * 60 >= 1200  # at least 20 minutes of music
    levels = [tones.level_dbm0(channel) for channel in channels]
    assert min(levels) > -40 and max(levels) < -5  # real levels, neither silence nor clipping


def test_no_false_key_in_the_corpus(talkoff_corpus: Corpus) -> None:
    channels, speech_channels = talkoff_corpus
    found = detect_many(channels)
    false_keys = [
        (("speech" if index < speech_channels else "music"), index, key)
        for index, keys in enumerate(found)
        for key in keys
    ]
    assert false_keys == [], f"{len(false_keys)} false keys (part, channel, key): {false_keys[:10]}"


def _quiet_spans(signal: npt.NDArray[np.int16], length: int) -> list[int]:
    """Starts of non-overlapping spans of ``length`` samples below -55 dBm0 (10 ms frames)."""
    frames = signal[: signal.size // 80 * 80].reshape(-1, 80).astype(np.float64)
    quiet = np.sqrt(np.mean(frames**2, axis=1)) < tones.DBM0_RMS * 10 ** (-55 / 20)
    starts, run = [], 0
    for index, is_quiet in enumerate(quiet):
        run = run + 1 if is_quiet else 0
        if run * 80 >= length:
            starts.append((index + 1) * 80 - length)
            run = 0
    return starts


def test_keys_placed_in_the_corpus_are_all_found(talkoff_corpus: Corpus) -> None:
    channels, speech_channels = talkoff_corpus
    rng = np.random.default_rng(7)
    signals, expected = [], []
    for channel in channels[:speech_channels:3]:
        signal = channel.copy()
        placed: list[tuple[int, str]] = []
        for start in _quiet_spans(signal, 1200)[:4]:
            digit = str(rng.choice(list(tones.DTMF_DIGITS)))
            key = tones.dtmf_tone(digit, 0.06, level_dbm0=float(rng.uniform(-20, -8)))
            at = start + 400
            signal[at : at + key.size] = saturate(signal[at : at + key.size] + key)
            placed.append((at, digit))
        signals.append(signal)
        expected.append(placed)
    assert sum(len(p) for p in expected) >= 40
    for keys, placed in zip(detect_many(signals), expected, strict=True):
        assert [d for d, _ in keys] == [d for _, d in placed]
        assert all(abs(t * RATE - at) <= 4 for (_, t), (at, _) in zip(keys, placed, strict=True))
