"""ITU-T G.711 μ-law and A-law companding with numpy lookup tables.

Linear samples are 16-bit signed integers. The encoder first rounds a 16-bit sample to the
law's uniform precision (14 bits for μ-law, 13 bits for A-law, round half up, saturating at
the top), then applies the G.711 segment coding. This is what `sox -D` does, bit for bit,
for all 65,536 inputs; decoding matches it for all 256 codes.

Tables (module constants, read-only):

- ``ULAW_DECODE``, ``ALAW_DECODE``: 256 int16 values, indexed by code.
- ``ULAW_DECODE_F32``, ``ALAW_DECODE_F32``: the same values as float32 (int16 scale).
- ``ULAW_ENCODE``, ``ALAW_ENCODE``: 65,536 uint8 codes, indexed by the sample's bits read as
  uint16 (``samples.view(np.uint16)``).

The float32 decoder used on the media tick reads the codes two at a time as uint16 and looks
them up in a 65,536-entry table of float32 pairs (stored as uint64), which halves the number
of gathers; see ``benchmarks/dtmf_throughput.py`` for the measured gain.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import numpy.typing as npt

Law = Literal["ulaw", "alaw"]
Codes = npt.NDArray[np.uint8] | bytes | bytearray | memoryview
LAWS: tuple[Law, ...] = ("ulaw", "alaw")

_ULAW_CLIP = 8159  # largest 14-bit magnitude μ-law codes (G.711 table 2a)
_ULAW_BIAS = 33


def _ulaw_codes(linear: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """μ-law codes for 16-bit linear samples (vectorized G.711 segment coding)."""
    x14 = np.minimum((linear + 2) >> 2, 8191)
    negative = x14 < 0
    biased = np.minimum(np.abs(x14), _ULAW_CLIP) + _ULAW_BIAS  # 33 .. 8192
    segment = np.floor(np.log2(biased)).astype(np.int64) - 5  # 0 .. 8
    mantissa = (biased >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)


def _alaw_codes(linear: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """A-law codes for 16-bit linear samples (vectorized G.711 segment coding)."""
    x13 = np.minimum((linear + 4) >> 3, 4095)
    negative = x13 < 0
    magnitude = np.where(negative, -x13 - 1, x13)  # 0 .. 4095
    segment = np.maximum(np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int64) - 4, 0)
    mantissa = (magnitude >> np.maximum(segment, 1)) & 0x0F
    code: npt.NDArray[np.int64] = (segment << 4) | mantissa
    return (code ^ np.where(negative, 0x55, 0xD5)).astype(np.uint8)


def _ulaw_values(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
    inverted = ~codes & 0xFF
    magnitude = (((inverted & 0x0F) << 3) + 0x84) << ((inverted & 0x70) >> 4)
    return np.where(inverted & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_values(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
    toggled = codes ^ 0x55
    segment = (toggled & 0x70) >> 4
    magnitude = ((toggled & 0x0F) << 4) + 8
    magnitude = np.where(segment == 0, magnitude, (magnitude + 0x100) << np.maximum(segment - 1, 0))
    return np.where(toggled & 0x80, magnitude, -magnitude).astype(np.int16)


def _frozen(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    array.setflags(write=False)
    return array


_ALL_CODES = np.arange(256, dtype=np.int64)
_ALL_SAMPLES = np.arange(65536, dtype=np.int64).astype(np.uint16).view(np.int16).astype(np.int64)

ULAW_DECODE: npt.NDArray[np.int16] = _frozen(_ulaw_values(_ALL_CODES))  # type: ignore[assignment]
ALAW_DECODE: npt.NDArray[np.int16] = _frozen(_alaw_values(_ALL_CODES))  # type: ignore[assignment]
ULAW_DECODE_F32: npt.NDArray[np.float32] = _frozen(  # type: ignore[assignment]
    ULAW_DECODE.astype(np.float32)
)
ALAW_DECODE_F32: npt.NDArray[np.float32] = _frozen(  # type: ignore[assignment]
    ALAW_DECODE.astype(np.float32)
)
ULAW_ENCODE: npt.NDArray[np.uint8] = _frozen(_ulaw_codes(_ALL_SAMPLES))  # type: ignore[assignment]
ALAW_ENCODE: npt.NDArray[np.uint8] = _frozen(_alaw_codes(_ALL_SAMPLES))  # type: ignore[assignment]

_DECODE = {"ulaw": ULAW_DECODE, "alaw": ALAW_DECODE}
_DECODE_F32 = {"ulaw": ULAW_DECODE_F32, "alaw": ALAW_DECODE_F32}
_ENCODE = {"ulaw": ULAW_ENCODE, "alaw": ALAW_ENCODE}


@functools.cache
def pair_table_f32(law: Law) -> npt.NDArray[np.uint64]:
    """65,536 float32 pairs (as uint64) indexed by two consecutive codes read as uint16.

    Entry ``i`` holds the decoded values of codes ``i & 0xFF`` (first in memory) and
    ``i >> 8`` on a little-endian machine; on a big-endian one the byte order of the index
    and of the pair swap together, so the same lookup stays correct.
    """
    single = _DECODE_F32[_law(law)]
    index = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    first, second = index.view(np.uint8).reshape(-1, 2).T
    pairs = np.empty((65536, 2), dtype=np.float32)
    pairs[:, 0] = single[first]
    pairs[:, 1] = single[second]
    return _frozen(pairs.view(np.uint64).reshape(65536))  # type: ignore[return-value]


def _law(law: str) -> Law:
    if law not in _DECODE:
        raise ValueError(f"unknown G.711 law {law!r}; expected 'ulaw' or 'alaw'")
    return law  # type: ignore[return-value]


def _codes_array(codes: Codes) -> npt.NDArray[np.uint8]:
    if isinstance(codes, bytes | bytearray | memoryview):
        return np.frombuffer(codes, dtype=np.uint8)
    array = np.asarray(codes)
    if array.dtype != np.uint8:
        raise TypeError(f"G.711 codes must be uint8, got {array.dtype}")
    return array


def _samples_array(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.uint16]:
    array = np.asarray(samples)
    if array.dtype != np.int16:
        raise TypeError(f"linear samples must be int16, got {array.dtype}")
    return array.view(np.uint16)


def decode(codes: Codes, law: Law) -> npt.NDArray[np.int16]:
    """Decode G.711 codes to int16 samples (same shape)."""
    return _DECODE[_law(law)][_codes_array(codes)]


def encode(samples: npt.NDArray[np.int16], law: Law) -> npt.NDArray[np.uint8]:
    """Encode int16 samples to G.711 codes (same shape)."""
    return _ENCODE[_law(law)][_samples_array(samples)]


def decode_f32(
    codes: Codes,
    law: Law,
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Decode G.711 codes to float32 samples on the int16 scale (same shape).

    When the codes are C-contiguous with an even last dimension, they are looked up two at a
    time in :func:`pair_table_f32`. ``out``, if given, must be a C-contiguous float32 array of
    the codes' shape; it is filled and returned.
    """
    array = _codes_array(codes)
    if out is None:
        out = np.empty(array.shape, dtype=np.float32)
    elif out.shape != array.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float32 array of the codes' shape")
    if array.ndim >= 1 and array.shape[-1] % 2 == 0 and array.flags.c_contiguous:
        table = pair_table_f32(law)
        # mode="clip" skips numpy's bounds-checking copy (uint16 indices are always in range)
        np.take(table, array.view(np.uint16), out=out.view(np.uint64), mode="clip")
    else:
        np.take(_DECODE_F32[_law(law)], array, out=out, mode="clip")
    return out


def ulaw_decode(codes: npt.NDArray[np.uint8] | bytes) -> npt.NDArray[np.int16]:
    """Decode μ-law codes to int16 samples."""
    return decode(codes, "ulaw")


def alaw_decode(codes: npt.NDArray[np.uint8] | bytes) -> npt.NDArray[np.int16]:
    """Decode A-law codes to int16 samples."""
    return decode(codes, "alaw")


def ulaw_encode(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """Encode int16 samples to μ-law codes."""
    return encode(samples, "ulaw")


def alaw_encode(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """Encode int16 samples to A-law codes."""
    return encode(samples, "alaw")
