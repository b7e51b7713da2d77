"""Every mix of the media tick computed at once.

Each output that is not a plain packet relay (two or more sources, or a player) is one row of
a mix plan: the capture rows of its sources (padded with the bank's zero row), its codec, and
optionally a player frame added on top.  One gather, one sum, one clip and one table lookup
produce the G.711 codes of every output.

Whisper (DESIGN §4) is three such rows, not a conference: the trainer's row sums client and
employee, the employee's sums client and trainer, and the client simply relays the employee.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from b2bua.media.codec import BY_INDEX, Codes, Samples
from b2bua.media.jitter import FRAME

ENCODE_TABLES: Final = np.stack([codec.encode_table for codec in BY_INDEX])


class MixPlan:
    """The source rows and codec of every mixed output, as arrays."""

    def __init__(self, rows: Sequence[Sequence[int]], codec_index: Sequence[int],
                 zero_row: int) -> None:
        width = max((len(r) for r in rows), default=1) or 1
        self.index: npt.NDArray[np.intp] = np.full((len(rows), width), zero_row, np.intp)
        for i, sources in enumerate(rows):
            self.index[i, :len(sources)] = sources
        self.codec_index: npt.NDArray[np.intp] = np.asarray(codec_index, np.intp)
        self.zero_row = zero_row

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def mix(self, decoded: Samples, extra: Sequence[tuple[int, Samples]] = ()) -> Codes:
        """Codes ``(outputs, FRAME)``: sum of each output's sources plus ``(output, frame)``."""
        total = decoded[self.index].sum(axis=1, dtype=np.int32)
        for output, frame in extra:
            total[output] += frame
        np.clip(total, -32768, 32767, out=total)
        linear = total.astype(np.int16)
        codes: Codes = ENCODE_TABLES[self.codec_index[:, None], linear.view(np.uint16)]
        return codes


def silence_rows(decoded: Samples, rows: Sequence[int]) -> Samples:
    """``decoded`` with ``rows`` zeroed (legs whose audio is muted during a swallowed key)."""
    if not rows:
        return decoded
    muted = decoded.copy()
    muted[list(rows)] = 0
    return muted


__all__ = ["FRAME", "MixPlan", "silence_rows"]
