"""Audio we play into a leg: prompts, music on hold, short feedback beeps (int16, 8 kHz)."""

from __future__ import annotations

import numpy as np

from b2bua.media.codec import Samples
from b2bua.media.jitter import FRAME


class Player:
    """Hands out one frame of ``samples`` per media tick, looping or not."""

    __slots__ = ("loop", "over_sources", "position", "samples")

    def __init__(self, samples: Samples, *, loop: bool = False, over_sources: bool = False) -> None:
        samples = np.asarray(samples)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError("play() takes a one-dimensional int16 array of 8 kHz samples")
        if loop and samples.size == 0:
            raise ValueError("cannot loop an empty sound")
        self.samples = samples
        self.loop = loop
        self.over_sources = over_sources
        """Mixed over what the leg hears from its sources, instead of replacing it."""
        self.position = 0

    @property
    def finished(self) -> bool:
        return not self.loop and self.position >= self.samples.size

    def next_frame(self) -> Samples:
        """The next 160 samples (zero-padded after the end of a sound played once)."""
        start = self.position
        end = start + FRAME
        size = self.samples.size
        if end <= size:
            self.position = end
            return self.samples[start:end]
        frame = np.zeros(FRAME, np.int16)
        if not self.loop:
            frame[:max(size - start, 0)] = self.samples[start:size]
            self.position = min(end, size)
            return frame
        filled = 0
        while filled < FRAME:
            take = min(FRAME - filled, size - start)
            frame[filled:filled + take] = self.samples[start:start + take]
            filled += take
            start = (start + take) % size
        self.position = start
        return frame
