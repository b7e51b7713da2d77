"""Key detection glue: RFC 4733 receivers, the in-band detector bank and INFO digits, per leg.

Edges from the three ways go into the leg's :class:`LegKeys`; a new key is offered at once to
the engine's swallow decision; finished keys are handed back on the media tick.  A swallowed
key mutes the leg toward its peers until it ends, and its RFC 4733 packets (all carrying the
event's timestamp) are dropped.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from b2bua.media.codec import Samples
from b2bua.media.events import EdgeKind, KeyEdge, TelephoneEventReceiver
from b2bua.media.keys import KeyEvent, KeySource, KeyStarted, LegKeys
from b2bua.media.legs import Leg
from b2bua.media.relay import RATE, Stream

log = logging.getLogger(__name__)

SwallowDecision = Callable[[KeyStarted, Leg], bool]


class KeySensing:
    """Owns every detecting leg's key state and the shared in-band detector."""

    def __init__(self, legs: dict[int, Leg], decide: SwallowDecision,
                 finished: Callable[[KeyEvent], None], clock: Callable[[], float]) -> None:
        self._legs = legs
        self._decide = decide
        self._finished = finished
        self._clock = clock
        self._active: set[Leg] = set()
        self._silenced: set[Leg] = set()
        self._channels: list[Leg | None] = []
        self._free_channels: list[int] = []
        """Unused channels, a heap: the lowest is reused first, so the tail can be cut."""
        self._origins: list[int] = []
        """Samples fed before each channel's stream (re)started: its positions count from there."""
        self._resets: list[int] = []
        """Channels taken since the last tick: the detector forgets them before it runs."""
        self._rows = np.empty(0, np.intp)
        """Bank row of every channel's audio, -1 where there is none (kept up to date)."""
        self._refit = False
        """Channels were taken or freed since the detector was last fitted to them."""
        self._detector: Any = None
        self._fed = 0
        self.inband_available = True

    # -- configuration --------------------------------------------------------------------

    def configure(self, leg: Leg) -> None:
        """Create or drop the leg's receivers after its detection or SDP settings changed."""
        detecting = leg.inband or leg.events
        if detecting and leg.keys is None:
            leg.keys = LegKeys(leg.stream.id)
        event_pt = leg.stream.event_pt
        if leg.events and event_pt is not None:
            receiver = leg.receiver
            if receiver is None or receiver.payload_type != event_pt:
                leg.receiver = TelephoneEventReceiver(event_pt, clock_rate=RATE)
        else:
            leg.receiver = None
        if leg.inband and leg.channel is None:
            self._add_channel(leg)
        elif not leg.inband and leg.channel is not None:
            self._drop_channel(leg.channel)
            leg.channel = None
        if not detecting:
            self._silenced.discard(leg)
            leg.stream.silenced = False

    def _add_channel(self, leg: Leg) -> None:
        if self._detector is None:
            try:
                from dsp.dtmf import DtmfDetector
            except ImportError:
                if self.inband_available:
                    log.warning("in-band key detection unavailable: dsp.dtmf is missing")
                self.inband_available = False
                return
            self._detector = DtmfDetector(0)
        if self._free_channels:
            channel = heapq.heappop(self._free_channels)
        else:
            channel = len(self._channels)
            self._channels.append(None)
            self._origins.append(self._fed)
            if channel == len(self._rows):
                self._rows = np.concatenate([self._rows, np.full(max(channel, 16), -1, np.intp)])
        self._channels[channel] = leg
        self._origins[channel] = self._fed
        self._resets.append(channel)
        self._refit = True
        leg.channel = channel
        self.capture_changed(leg)

    def _drop_channel(self, channel: int) -> None:
        self._channels[channel] = None
        self._rows[channel] = -1
        heapq.heappush(self._free_channels, channel)
        self._refit = True

    def capture_changed(self, leg: Leg) -> None:
        """The leg's stream got or lost its row in the audio bank."""
        if leg.channel is not None:
            capture = leg.stream.capture
            self._rows[leg.channel] = -1 if capture is None else capture.row

    def _fit_detector(self) -> None:
        """Bring the detector to the channels in use (unused ones at the end are cut off)."""
        self._refit = False
        channels = self._channels
        if channels and channels[-1] is None:
            while channels and channels[-1] is None:
                channels.pop()
                self._origins.pop()
            self._free_channels = [c for c in self._free_channels if c < len(channels)]
            heapq.heapify(self._free_channels)
        if self._detector.channels != len(channels):
            self._detector.resize(len(channels))
        if self._resets:
            self._detector.reset([c for c in self._resets if c < len(channels)])
            self._resets.clear()

    # -- the three ways -------------------------------------------------------------------

    def on_event_packet(self, stream: Stream, sequence: int, timestamp: int, ssrc: int,
                        marker: bool, payload: bytes) -> bool:
        """A telephone-event packet of a leg (packet path); True drops it (swallowed key)."""
        leg = self._legs[stream.id]
        receiver = leg.receiver
        if receiver is None:
            return False
        now = self._clock()
        self._edges(leg, receiver.receive(ssrc, sequence, timestamp, marker, payload, now), now)
        if receiver.next_deadline() is not None:
            self._active.add(leg)
        for stamp, key in leg.event_keys:
            if stamp == timestamp:
                return key.swallowed
        return False

    def _edges(self, leg: Leg, edges: list[KeyEdge], now: float) -> None:
        for edge in edges:
            if edge.digit is not None:
                self._edge(leg, "rfc4733", edge.kind == EdgeKind.START, edge.digit, now, now,
                           edge.timestamp)

    def info_key(self, leg: Leg, digit: str, duration: float, now: float,
                 decided: bool | None = None) -> bool:
        """A SIP INFO digit; its end is taken as ``now + duration``.  ``decided``: the swallow
        decision already taken by the owner, used when the digit starts a new key."""
        if leg.keys is None:
            leg.keys = LegKeys(leg.stream.id)
        swallowed = self._edge(leg, "info", True, digit, now, now, None, decided)
        leg.info_ends.append((now + duration, digit))
        self._active.add(leg)
        return swallowed

    def detect(self, decoded: Samples, capture_time: float) -> None:
        """Run the in-band detector over every detecting leg's frame of this tick.

        ``capture_time`` is when the last sample of the frame arrived (tick time minus the
        jitter delay); a tone's start is placed by the detector's sample position.  A channel
        without audio reads the bank's last row, always zero.
        """
        if self._detector is None:
            return
        if self._refit:
            self._fit_detector()
        channels = len(self._channels)
        if not channels:
            return
        events = self._detector.process(decoded[self._rows[:channels]])
        self._fed += decoded.shape[1]
        for event in events:
            owner = self._channels[event.channel]
            if owner is None:
                continue
            position = self._origins[event.channel] + event.position
            time = capture_time - (self._fed - position) / RATE
            self._edge(owner, "inband", event.kind == "down", event.digit, time,
                       capture_time, None)
            self._active.add(owner)

    # -- keys -----------------------------------------------------------------------------

    def _edge(self, leg: Leg, source: KeySource, started: bool, digit: str, time: float,
              now: float, event_timestamp: int | None, decided: bool | None = None) -> bool:
        keys = leg.keys
        if keys is None:
            return False
        if started:
            key, new = keys.start(source, digit, time, now)
            if new:
                key.swallowed = (self._decide(KeyStarted(leg.stream.id, digit, source, time), leg)
                                 if decided is None else decided)
            if event_timestamp is not None:
                leg.event_keys.append((event_timestamp, key))
            swallowed = key.swallowed
        else:
            keys.end(source, digit, time, now)
            swallowed = False
        self._update_silence(leg)
        self._active.add(leg)
        return swallowed

    def revise(self, leg: Leg, digit: str, swallowed: bool) -> None:
        """The owner's late answer for the leg's latest key ``digit`` (see the engine's
        ``revise_swallow``): its packets are dropped or passed, its audio muted or not."""
        if leg.keys is not None and leg.keys.revise(digit, swallowed):
            self._update_silence(leg)

    def _update_silence(self, leg: Leg) -> None:
        silenced = leg.keys is not None and leg.keys.silenced
        leg.stream.silenced = silenced
        if silenced:
            self._silenced.add(leg)
        else:
            self._silenced.discard(leg)

    def silenced_legs(self) -> list[Leg]:
        return list(self._silenced)

    def handle_timers(self, now: float) -> None:
        """Lost RFC 4733 ends, INFO key ends, and keys due to be reported."""
        for leg in list(self._active):
            receiver = leg.receiver
            if receiver is not None:
                deadline = receiver.next_deadline()
                if deadline is not None and deadline <= now:
                    self._edges(leg, receiver.handle_timer(now), now)
            for end in [e for e in leg.info_ends if e[0] <= now]:
                leg.info_ends.remove(end)
                self._edge(leg, "info", False, end[1], end[0], now, None)
            keys = leg.keys
            if keys is None:
                self._active.discard(leg)
                continue
            for event in keys.handle_timer(now):
                self._finished(event)
            self._update_silence(leg)
            if keys.idle and not leg.info_ends and (
                    receiver is None or receiver.next_deadline() is None):
                self._active.discard(leg)

    def forget(self, leg: Leg, now: float) -> None:
        """The leg is released: its keys in progress are reported now, then forgotten."""
        if leg.keys is not None:
            for event in leg.keys.flush(now):
                self._finished(event)
        self._active.discard(leg)
        self._silenced.discard(leg)
