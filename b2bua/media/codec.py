"""The G.711 codecs as the engine uses them: the tables of :mod:`dsp.g711`, applied in batch.

``Codec.decode`` maps a ``(rows, n)`` array of codes to int16 in one table lookup; ``encode``
maps int16 to codes through a 65536-entry table.  ``TRANSCODE`` holds the 256-byte tables that
``bytes.translate`` applies to a relayed payload when the two legs chose different laws (C speed,
no numpy call per packet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from dsp.g711 import ALAW_DECODE, ALAW_ENCODE, ULAW_DECODE, ULAW_ENCODE

Codes = npt.NDArray[np.uint8]
Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True, eq=False)
class Codec:
    """One G.711 law: its name, static payload type, silence code and tables."""

    name: str
    index: int
    static_pt: int
    silence: int
    decode_table: Samples
    encode_table: Codes

    def decode(self, codes: Codes) -> Samples:
        return self.decode_table[codes]

    def encode(self, samples: Samples) -> Codes:
        return self.encode_table[samples.view(np.uint16)]


PCMU: Final = Codec("PCMU", 0, 0, 0xFF, ULAW_DECODE, ULAW_ENCODE)
PCMA: Final = Codec("PCMA", 1, 8, 0xD5, ALAW_DECODE, ALAW_ENCODE)
CODECS: Final = {"PCMU": PCMU, "PCMA": PCMA}
BY_INDEX: Final = (PCMU, PCMA)

DECODE_TABLES: Final = np.stack([PCMU.decode_table, PCMA.decode_table])
"""``DECODE_TABLES[codec.index, code]``: decodes rows of mixed laws in one lookup."""

TRANSCODE: Final = {
    ("PCMU", "PCMA"): bytes(PCMA.encode(PCMU.decode_table).tolist()),
    ("PCMA", "PCMU"): bytes(PCMU.encode(PCMA.decode_table).tolist()),
}
"""``payload.translate(TRANSCODE[(from, to)])`` converts one law to the other."""


def codec_named(name: str) -> Codec:
    try:
        return CODECS[name.upper()]
    except KeyError:
        raise ValueError(f"unsupported codec {name!r} (PCMU and PCMA are)") from None
