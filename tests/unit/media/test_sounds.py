"""Sounds for the player: built-ins, and WAV files of any rate and width resampled to 8 kHz."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from b2bua.media.sounds import SoundError, load_sound, read_wav_8k
from dsp.dtmf import detect_many


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * 8000 / samples.size)


@pytest.mark.parametrize("name", ["builtin:music", "builtin:welcome", "builtin:goodbye",
                                  "builtin:ringback"])
def test_builtins_are_8k_int16_without_dtmf(name: str) -> None:
    samples = load_sound(name)
    assert samples.dtype == np.int16 and samples.size > 8000
    assert 1000 < np.abs(samples).max() < 20000
    assert detect_many([samples]) == [[]]


def test_unknown_builtin_is_a_clear_error() -> None:
    with pytest.raises(SoundError, match="unknown built-in sound 'builtin:nope'"):
        load_sound("builtin:nope")


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox makes the test files")
@pytest.mark.parametrize(("rate", "bits", "channels"), [
    (44100, 16, 2), (16000, 16, 1), (8000, 8, 1), (22050, 16, 1), (48000, 16, 2)])
def test_wav_files_are_resampled_to_8k_mono(tmp_path: Path, rate: int, bits: int,
                                            channels: int) -> None:
    path = tmp_path / "prompt.wav"
    subprocess.run(["sox", "-n", "-r", str(rate), "-b", str(bits), "-c", str(channels),
                    str(path), "synth", "1.0", "sine", "440"], check=True)
    samples = read_wav_8k(path)
    assert samples.dtype == np.int16
    assert abs(samples.size - 8000) <= 2
    assert abs(peak_hz(samples) - 440) < 2


def test_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SoundError, match="cannot read a WAV file"):
        read_wav_8k(tmp_path / "nothing.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(SoundError, match=r"text\.wav"):
        read_wav_8k(tmp_path / "text.wav")
