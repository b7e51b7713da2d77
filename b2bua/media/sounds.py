"""What the player plays: built-in sounds and WAV files, as int16 samples at 8 kHz.

A sound is named as in the configuration: ``builtin:music`` (music on hold), ``builtin:welcome``,
``builtin:goodbye``, ``builtin:ringback``, or a path to a WAV file of any rate, width and channel
count (mixed to mono and resampled to 8 kHz with scipy's polyphase filter). Sounds are made
once and cached.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from dsp.mix import saturate
from dsp.tones import SAMPLE_RATE, peak_amplitude

Samples = npt.NDArray[np.int16]
BUILTIN = "builtin:"
MUSIC_LEVEL_DBM0 = -18.0
PROMPT_LEVEL_DBM0 = -15.0


class SoundError(ValueError):
    """A sound that cannot be played (missing file, not a WAV, unknown built-in)."""


def _envelope(count: int, attack: int, release: int) -> npt.NDArray[np.float64]:
    shape = np.ones(count)
    attack, release = min(attack, count // 2), min(release, count // 2)
    if attack:
        shape[:attack] = np.linspace(0.0, 1.0, attack)
    if release:
        shape[-release:] = np.exp(-np.linspace(0.0, 5.0, release))
    return shape


def _note(frequency: float, seconds: float, level_dbm0: float) -> npt.NDArray[np.float64]:
    """A soft bell-like note: a fundamental with decaying, detuned overtones."""
    count = int(seconds * SAMPLE_RATE)
    t = np.arange(count) / SAMPLE_RATE
    amplitude = peak_amplitude(level_dbm0)
    tone = np.zeros(count)
    for harmonic, weight in ((1, 1.0), (2, 0.35), (3, 0.12)):
        decay = np.exp(-t * (1.5 + harmonic))
        tone += weight * decay * np.sin(2 * np.pi * frequency * harmonic * 1.002 * t)
    return amplitude * tone * _envelope(count, 80, count // 3)


def _music() -> Samples:
    """Twelve seconds of slow arpeggiated chords (I-vi-IV-V in C), looped as music on hold."""
    chords = ((261.6, 329.6, 392.0), (220.0, 261.6, 329.6),
              (174.6, 220.0, 261.6), (196.0, 246.9, 293.7))
    beat = 0.5
    total = np.zeros(int(len(chords) * 6 * beat * SAMPLE_RATE))
    position = 0
    for chord in chords:
        for step in range(6):
            frequency = chord[step % 3] * (2 if step >= 3 else 1)
            note = _note(frequency, beat * 2, MUSIC_LEVEL_DBM0)
            end = min(position + note.size, total.size)
            total[position:end] += note[: end - position]
            position += int(beat * SAMPLE_RATE)
    return saturate(total)


def _chime(frequencies: tuple[float, ...]) -> Samples:
    parts = [_note(f, 0.45, PROMPT_LEVEL_DBM0) for f in frequencies]
    parts.append(np.zeros(int(0.3 * SAMPLE_RATE)))
    return saturate(np.concatenate(parts))


def _ringback() -> Samples:
    """The European ringing tone: 425 Hz, one second on, four off."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    on = peak_amplitude(-15) * np.sin(2 * np.pi * 425 * t) * _envelope(SAMPLE_RATE, 40, 40)
    return saturate(np.concatenate([on, np.zeros(4 * SAMPLE_RATE)]))


_BUILTINS = {
    "music": _music,
    "welcome": lambda: _chime((523.3, 659.3, 784.0)),
    "goodbye": lambda: _chime((784.0, 659.3, 523.3)),
    "ringback": _ringback,
}


@lru_cache(maxsize=64)
def load_sound(name: str) -> Samples:
    """The samples of a sound name (see the module doc); raises SoundError."""
    if name.startswith(BUILTIN):
        maker = _BUILTINS.get(name[len(BUILTIN):])
        if maker is None:
            raise SoundError(f"unknown built-in sound {name!r} "
                             f"(expected one of {', '.join(BUILTIN + n for n in _BUILTINS)})")
        samples = maker()
    else:
        samples = read_wav_8k(Path(name))
    samples.setflags(write=False)
    return samples


def read_wav_8k(path: Path) -> Samples:
    """A WAV file as mono int16 at 8 kHz."""
    try:
        with wave.open(str(path), "rb") as source:
            rate = source.getframerate()
            channels = source.getnchannels()
            width = source.getsampwidth()
            frames = source.readframes(source.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise SoundError(f"{path}: cannot read a WAV file ({error})") from None
    if width == 1:
        data = (np.frombuffer(frames, np.uint8).astype(np.float64) - 128) * 256
    elif width == 2:
        data = np.frombuffer(frames, "<i2").astype(np.float64)
    elif width == 3:
        raw = np.frombuffer(frames, np.uint8).reshape(-1, 3)
        data = (raw[:, 0].astype(np.int32) << 8 | raw[:, 1].astype(np.int32) << 16
                | raw[:, 2].astype(np.int8).astype(np.int32) << 24).astype(np.float64) / 65536
    elif width == 4:
        data = np.frombuffer(frames, "<i4").astype(np.float64) / 65536
    else:
        raise SoundError(f"{path}: {8 * width}-bit samples are not supported")
    mono = data.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        ratio = Fraction(SAMPLE_RATE, rate).limit_denominator(1000)
        mono = resample_poly(mono, ratio.numerator, ratio.denominator)
    return saturate(mono)
