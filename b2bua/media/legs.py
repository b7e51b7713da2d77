"""Control-plane state of one leg (the hot-path part lives in :class:`relay.Stream`)."""

from __future__ import annotations

import random
from collections import deque
from typing import Final, Literal

from b2bua.media.events import EventPacket, TelephoneEventReceiver
from b2bua.media.keys import Key, LegKeys
from b2bua.media.player import Player
from b2bua.media.ports import disconnect
from b2bua.media.relay import WRAP, Stream
from b2bua.media.reports import RtcpSession

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
"""Our side's SDP direction toward the phone of a leg."""

RECEIVING: Final = frozenset({"sendrecv", "recvonly"})


class Leg:
    """What the call layer set for one stream, and the engine's bookkeeping around it."""

    def __init__(self, stream: Stream, rtcp: RtcpSession, rtp_timeout: float | None,
                 now: float) -> None:
        self.stream = stream
        self.rtcp = rtcp
        self.sdp_remote: tuple[str, int] | None = None
        self.direction: Direction = "sendrecv"
        self.ptime_ms = 20
        self.sources: tuple[int, ...] = ()
        self.listeners: set[int] = set()
        self.mixed = False
        """Sent on the tick (a mix, or a player) rather than relayed packet by packet."""
        self.player: Player | None = None
        self.inband = False
        self.events = False
        self.swallow: frozenset[str] = frozenset()
        self.keys: LegKeys | None = None
        self.channel: int | None = None
        """The leg's channel of the in-band detector while ``inband`` is on."""
        self.receiver: TelephoneEventReceiver | None = None
        self.event_keys: deque[tuple[int, Key]] = deque(maxlen=4)
        """RTP timestamp of each recent RFC 4733 event and its key: a swallowed key's packets
        are dropped (looked up per packet, so a revised decision applies at once)."""
        self.info_ends: list[tuple[float, str]] = []
        self.key_packets: deque[EventPacket] = deque()
        """RFC 4733 packets of the keys being sent toward this leg, one per media tick."""
        self._key_timestamp = 0
        self.rtp_timeout = rtp_timeout
        self.last_active = now
        self.seen = 0
        self.timed_out = False
        self._pending = b""

    def unlatch(self) -> None:
        stream = self.stream
        if stream.latched:
            disconnect(stream.sock)
            stream.latched = False

    def idle_for(self, now: float) -> float | None:
        """Seconds without RTP or RTCP when that is a timeout (reported once), else None."""
        count = self.stream.rx_packets + self.rtcp.received
        if count != self.seen:
            self.seen = count
            self.last_active = now
            self.timed_out = False
            return None
        if (self.timed_out or self.rtp_timeout is None or self.stream.remote is None
                or self.direction not in RECEIVING):
            return None
        idle = now - self.last_active
        return idle if idle >= self.rtp_timeout else None

    def send_frame(self, payload: bytes, rng: random.Random) -> None:
        """Send one tick of mixed or played audio, grouped into packets of the leg's ptime."""
        self._pending += payload
        if len(self._pending) < self.ptime_ms * 8:
            return
        self.stream.emit(self._pending, self.stream.audio_pt, new_ssrc=rng.getrandbits(32))
        self._pending = b""

    def send_key_packet(self, rng: random.Random) -> None:
        """The next RFC 4733 packet of the keys being sent toward this leg."""
        packet = self.key_packets.popleft()
        stream = self.stream
        if stream.event_pt is None:
            self.key_packets.clear()
            return
        if packet.marker:
            stream.emit(packet.payload, stream.event_pt, marker=True,
                        new_ssrc=rng.getrandbits(32))
            self._key_timestamp = stream.out_ts
        else:
            stream.emit(packet.payload, stream.event_pt,
                        timestamp=(self._key_timestamp + packet.timestamp_offset) & WRAP)
