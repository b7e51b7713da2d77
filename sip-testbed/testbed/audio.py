"""Audio files for phones under test, and what frequencies a recording holds."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_tone(path: Path, frequency: float, seconds: float, level: float = 0.3,
               rate: int = 8000) -> Path:
    """A 16-bit mono WAV of one sine (what a phone plays as its microphone)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * frequency * t) * level * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples as float in [-1, 1], shape (frames, channels), and the sample rate."""
    with wave.open(str(path), "rb") as source:
        rate = source.getframerate()
        channels = source.getnchannels()
        width = source.getsampwidth()
        data = source.readframes(source.getnframes())
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit samples, got {8 * width}-bit")
    samples = np.frombuffer(data, "<i2").astype(np.float64) / 32768
    return samples.reshape(-1, channels), rate


def tone_level(samples: np.ndarray, rate: int, frequency: float, width: float = 20) -> float:
    """Share of the signal's energy within ±`width` Hz of `frequency` (0..1)."""
    if samples.size == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = spectrum.sum()
    if total <= 0:
        return 0.0
    band = spectrum[(freqs > frequency - width) & (freqs < frequency + width)].sum()
    return float(band / total)
