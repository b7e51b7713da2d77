"""Saturating mixing and gain of int16 audio, vectorized over any shape.

Sources are summed in int32 (float64 when a gain is applied) and clipped to the int16 range,
so a mix of loud sources saturates instead of wrapping around.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

INT16_MIN = -32768
INT16_MAX = 32767


def saturate(
    samples: npt.ArrayLike, out: npt.NDArray[np.int16] | None = None
) -> npt.NDArray[np.int16]:
    """Round (half to even) and clip any real samples to int16."""
    array = np.asarray(samples)
    if array.dtype.kind == "f":
        array = np.rint(array)
    clipped = np.clip(array, INT16_MIN, INT16_MAX)
    if out is None:
        result: npt.NDArray[np.int16] = clipped.astype(np.int16)
        return result
    out[...] = clipped
    return out


def mix(
    sources: Sequence[npt.NDArray[np.int16]],
    out: npt.NDArray[np.int16] | None = None,
) -> npt.NDArray[np.int16]:
    """Sum int16 sources of the same (or broadcastable) shape, clipped to int16.

    An empty sequence is an error (there is no shape to produce).
    """
    if not sources:
        raise ValueError("mix needs at least one source")
    for source in sources:
        if np.asarray(source).dtype != np.int16:
            raise TypeError(f"mix sources must be int16, got {np.asarray(source).dtype}")
    total = np.asarray(sources[0], dtype=np.int32)
    if len(sources) > 1:
        total = np.add(total, sources[1], dtype=np.int32)
        for source in sources[2:]:
            np.add(total, source, out=total, dtype=np.int32)
    return saturate(total, out=out)


def db_to_gain(gain_db: float) -> float:
    """Amplitude factor of a gain in dB."""
    return float(10.0 ** (gain_db / 20.0))


def apply_gain(samples: npt.NDArray[np.int16], gain_db: float) -> npt.NDArray[np.int16]:
    """Scale int16 samples by ``gain_db``, rounded and clipped to int16."""
    return saturate(np.asarray(samples, dtype=np.float64) * db_to_gain(gain_db))


def mix_with_gains(
    sources: Sequence[npt.NDArray[np.int16]], gains_db: Sequence[float]
) -> npt.NDArray[np.int16]:
    """Sum int16 sources each scaled by its gain in dB, rounded once and clipped to int16."""
    if len(sources) != len(gains_db) or not sources:
        raise ValueError("mix_with_gains needs one gain per source and at least one source")
    total = np.zeros(np.broadcast_shapes(*(np.shape(s) for s in sources)), dtype=np.float64)
    for source, gain_db in zip(sources, gains_db, strict=True):
        total += np.asarray(source, dtype=np.float64) * db_to_gain(gain_db)
    return saturate(total)
