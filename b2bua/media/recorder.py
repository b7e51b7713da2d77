"""Stereo call recording: 16-bit 8 kHz WAV whose header is kept current as the file grows.

The RIFF and data sizes are rewritten at every flush, so a file copied mid-call, or left by a
killed process, is a valid WAV holding everything flushed so far.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Final

RATE: Final = 8000
CHANNELS: Final = 2
SAMPLE_BYTES: Final = 2
HEADER_SIZE: Final = 44


def wav_header(data_bytes: int) -> bytes:
    """The 44-byte canonical PCM WAV header for ``data_bytes`` of stereo 16-bit 8 kHz audio."""
    block = CHANNELS * SAMPLE_BYTES
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, RATE, RATE * block, block,
                                    SAMPLE_BYTES * 8)
            + b"data" + struct.pack("<I", data_bytes))


class WavRecorder:
    """Appends interleaved stereo frames; :meth:`flush` writes them and refreshes the header."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - owned until close()
        self._file.write(wav_header(0))
        self._file.flush()
        self._pending: list[bytes] = []
        self.data_bytes = 0

    def append(self, interleaved: bytes) -> None:
        """Queue little-endian int16 left/right pairs."""
        self._pending.append(interleaved)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._file.seek(HEADER_SIZE + self.data_bytes)
        self._file.write(data)
        self.data_bytes += len(data)
        self._file.seek(4)
        self._file.write(struct.pack("<I", 36 + self.data_bytes))
        self._file.seek(40)
        self._file.write(struct.pack("<I", self.data_bytes))
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self.flush()
        self._file.close()
