"""Keys we send toward a leg: RFC 4733 telephone-event packets, one per media tick."""

from __future__ import annotations

import struct
from typing import Final

from b2bua.media.jitter import FRAME

EVENT_CODES: Final = {d: i for i, d in enumerate("0123456789*#ABCD")}
END_REPEATS: Final = 3
VOLUME: Final = 10
"""Power level of the tone the event stands for, in -dBm0 (RFC 4733 §2.3.4)."""

_EVENT: Final = struct.Struct("!BBH")


class KeyOut:
    """The event packets of one key: an update each tick, then the end packet three times."""

    __slots__ = ("code", "duration", "elapsed", "ends_left", "started", "timestamp")

    def __init__(self, digit: str, duration_ms: int) -> None:
        if digit not in EVENT_CODES:
            raise ValueError(f"not a key: {digit!r}")
        if not 40 <= duration_ms <= 8000:
            raise ValueError(f"key duration {duration_ms} ms outside 40-8000 ms")
        self.code = EVENT_CODES[digit]
        self.duration = duration_ms * 8
        self.elapsed = 0
        self.ends_left = END_REPEATS
        self.started = False
        self.timestamp = 0
        """RTP timestamp of the event (its start), set by the engine on the first packet."""

    @property
    def done(self) -> bool:
        return self.ends_left == 0

    def next_payload(self) -> tuple[bytes, bool]:
        """``(payload, marker)`` for this tick."""
        marker = not self.started
        self.started = True
        if self.elapsed < self.duration:
            self.elapsed = min(self.elapsed + FRAME, self.duration)
            if self.elapsed < self.duration:
                return _EVENT.pack(self.code, VOLUME, self.elapsed), marker
        self.ends_left -= 1
        return _EVENT.pack(self.code, 0x80 | VOLUME, self.duration), marker
