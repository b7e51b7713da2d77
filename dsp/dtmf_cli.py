"""``python -m dsp.dtmf FILE.wav``: print the DTMF keys of a 16-bit mono 8 kHz WAV file.

One line per key on stdout, ``<digit> <start seconds>`` (three decimals); errors go to stderr
with exit status 2.
"""

from __future__ import annotations

import sys
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 8000
USAGE = "usage: python -m dsp.dtmf FILE.wav  (16-bit PCM, mono, 8000 Hz)"


class WavFormatError(ValueError):
    """The file is not a WAV file this tool reads."""


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    """Samples of a 16-bit mono 8 kHz PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise WavFormatError(f"{path}: not a PCM WAV file ({error})") from error
    if channels != 1:
        raise WavFormatError(f"{path}: {channels} channels; only mono is supported")
    if width != 2:
        raise WavFormatError(f"{path}: {8 * width}-bit samples; only 16-bit is supported")
    if rate != SAMPLE_RATE:
        raise WavFormatError(f"{path}: {rate} Hz; only {SAMPLE_RATE} Hz is supported")
    return np.frombuffer(frames, dtype="<i2").astype(np.int16)


def main(argv: Sequence[str]) -> int:
    from dsp.dtmf import detect_many

    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        samples = read_wav(path)
    except OSError as error:
        print(f"error: {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    except WavFormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for digit, start in detect_many([samples], SAMPLE_RATE)[0]:
        print(f"{digit} {start:.3f}")
    return 0
