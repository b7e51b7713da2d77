"""``python -m dsp.dtmf FILE.wav``: keys on stdout, clear errors for other formats."""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dsp import tones
from dsp.mix import saturate

ROOT = Path(__file__).resolve().parents[3]
SOX = shutil.which("sox")
needs_sox = pytest.mark.skipif(SOX is None, reason="sox is not installed (apt-get install sox)")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsp.dtmf", *args], cwd=ROOT, capture_output=True, text=True
    )


def _write_wav(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


@needs_sox
def test_key_made_with_sox(tmp_path: Path) -> None:
    path = tmp_path / "key5.wav"
    subprocess.run(
        [str(SOX), "-n", "-r", "8000", "-c", "1", "-b", "16", str(path),
         "synth", "0.06", "sine", "770", "sine", "1336"],
        check=True,
    )  # fmt: skip
    done = _cli(str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "5 0.000\n"
    assert done.stderr == ""


def test_a_dialled_number(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    signal = tones.dtmf_sequence("0800*12#", 0.07, 0.06, level_dbm0=-14, lead_s=0.25, rng=rng)
    path = tmp_path / "number.wav"
    _write_wav(path, saturate(signal))
    done = _cli(str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list("0800*12#")
    starts = [float(line.split()[1]) for line in lines]
    assert starts == pytest.approx([0.25 + 0.13 * i for i in range(8)], abs=0.001)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _write_wav(p, np.zeros(1600, dtype=np.int16), channels=2), "mono"),
        (lambda p: _write_wav(p, np.zeros(1600, dtype=np.int16), rate=16000), "8000 Hz"),
        (lambda p: p.write_text("not audio at all\n"), "not a PCM WAV"),
    ],
    ids=["stereo", "16 kHz", "text"],
)
def test_other_formats_are_refused(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / "input.wav"
    make(path)
    done = _cli(str(path))
    assert done.returncode != 0
    assert done.stdout == ""
    assert message in done.stderr


@needs_sox
def test_8_bit_wav_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "eight.wav"
    subprocess.run(
        [
            str(SOX),
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "8",
            str(path),
            "synth",
            "0.1",
            "sine",
            "770",
        ],
        check=True,
    )
    done = _cli(str(path))
    assert done.returncode != 0 and done.stdout == ""
    assert "8-bit" in done.stderr


def test_missing_file_and_usage(tmp_path: Path) -> None:
    done = _cli(str(tmp_path / "absent.wav"))
    assert done.returncode != 0 and done.stdout == ""
    assert "absent.wav" in done.stderr
    done = _cli()
    assert done.returncode != 0 and "usage" in done.stderr
