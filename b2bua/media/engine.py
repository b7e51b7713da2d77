"""The media engine: all RTP of the B2BUA behind a narrow control surface.

The call layer refers to streams (one per leg) by integer ids and receives plain frozen
dataclasses through the callbacks it registers, so the same engine also runs in worker
processes owning port ranges, driven over a pipe (:mod:`b2bua.media.workers`).  Per packet
the work is in :mod:`b2bua.media.relay`; every 20 ms one media tick (:meth:`MediaEngine._tick`,
scheduled on absolute times) reads the jitter buffers of all capturing legs at once, runs the
in-band key detector over all detecting legs at once, computes every mix, feeds recorders,
plays prompts, sends our key events and RTCP, and checks RTP inactivity.

Control surface (all stream ids are ints; call :meth:`MediaEngine.start` inside the loop first):
``allocate() -> id``, ``local_port(id)``, ``configure(id, remote=..., codec=...,
telephone_event_pt=..., ptime_ms=..., direction=...)``, ``set_sources(id, [ids])``,
``bridge(a, b)``, ``unbridge(a, b)``, ``play(id, samples, loop=, over_sources=)``,
``stop_play(id)``, ``send_key(id, digit, duration_ms)``, ``set_detection(id, inband=,
events=, swallow=)``, ``info_key(id, digit, duration_ms) -> swallowed``, ``record(left, right,
path) -> recorder id``, ``stop_record(recorder id)``, ``release(id)``, ``collect_stats(ids,
done)``, ``close()``; for a worker's owner also ``reserve_port()``, ``allocate(port=,
stream_id=)`` and ``revise_swallow(id, digit, swallowed)``.
Events: ``on_key_started(KeyStarted) -> swallow``, ``on_key(KeyEvent)``,
``on_timeout(RtpTimeout)``, ``on_play_finished(PlayFinished)``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import numpy as np

from b2bua.media.codec import PCMU, Samples, codec_named
from b2bua.media.events import TelephoneEventSender, event_for_digit
from b2bua.media.jitter import DELAY_FRAMES, FRAME, AudioBank
from b2bua.media.keys import KeyEvent, KeyStarted
from b2bua.media.legs import Direction, Leg
from b2bua.media.mixer import MixPlan, silence_rows
from b2bua.media.player import Player
from b2bua.media.ports import PortPool, PortRange, SocketPair, drain, watch
from b2bua.media.recorder import WavRecorder
from b2bua.media.relay import BUFFER_SIZE, Clock, Route, Stream, do_nothing
from b2bua.media.reports import REPORT_INTERVAL, RtcpSession
from b2bua.media.sensing import KeySensing
from dsp.tones import dtmf_tone

log = logging.getLogger(__name__)

TICK: Final = FRAME / 8000
"""Seconds between media ticks."""

TIMEOUT_CHECK_TICKS: Final = 10
"""Each leg's RTP inactivity is checked every this many ticks (200 ms), legs spread evenly."""
RECORD_FLUSH_TICKS: Final = 25
REPORT_TICKS: Final = round(REPORT_INTERVAL / TICK)
MAX_CATCH_UP: Final = 5
"""Ticks run back to back when the loop fell behind; beyond that the schedule is reset."""
OVERDUE: Final = 2 * TICK
"""How late the tick's timer may be before the packet path runs the tick itself."""
STALE_GRACE: Final = 2.0
"""Seconds a stream on a reused port pair refuses to latch on its previous stream's phone."""


@dataclass(frozen=True, slots=True)
class RtpTimeout:
    """No RTP or RTCP arrived on ``stream`` for ``idle`` seconds while it should receive."""

    stream: int
    idle: float


@dataclass(frozen=True, slots=True)
class PlayFinished:
    """A sound played once on ``stream`` reached its end."""

    stream: int


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Counters of one stream (for metrics and tests)."""

    local_port: int
    remote: tuple[str, int] | None
    latched: bool
    received: int
    stray: int
    malformed: int
    other_payload: int
    sent: int
    send_errors: int
    rtcp_received: int


_Event = TypeVar("_Event", KeyEvent, RtpTimeout, PlayFinished)

KeyStartHandler = Callable[[KeyStarted], bool | None]
"""Called as a key begins on a detecting leg; returns True to swallow that key (None: swallow
it when its digit is in the leg's ``swallow`` set)."""


def check_ptime(ptime_ms: int) -> None:
    if ptime_ms % 10 or not 10 <= ptime_ms <= 200:
        raise ValueError(f"unsupported ptime {ptime_ms} ms")


def check_key(digit: str, duration_ms: int) -> None:
    event_for_digit(digit)
    if not 40 <= duration_ms <= 8000:
        raise ValueError(f"key duration {duration_ms} ms outside 40-8000 ms")


def decide_swallow(handler: KeyStartHandler | None, started: KeyStarted,
                   swallow: frozenset[str]) -> bool:
    """Whether the key ``started`` is swallowed: the owner's ``handler`` says so, else (no
    handler, or it answers None) the leg's ``swallow`` set; a failing handler passes the key."""
    decision: bool | None = None
    if handler is not None:
        try:
            decision = handler(started)
        except Exception:
            log.exception("key-start handler failed; key %s passed through", started.digit)
            return False
    return started.digit in swallow if decision is None else bool(decision)


def notify(handler: Callable[[_Event], None] | None, event: _Event) -> None:
    """Hand ``event`` to the owner's ``handler``; a failing handler is logged, not raised."""
    if handler is None:
        return
    try:
        handler(event)
    except Exception:
        log.exception("media event handler failed for %r", event)


class MediaEngine:
    """Owns the RTP streams of one process (or one port range); see the module docstring."""

    def __init__(self, ports: PortRange, *,
                 on_key_started: KeyStartHandler | None = None,
                 on_key: Callable[[KeyEvent], None] | None = None,
                 on_timeout: Callable[[RtpTimeout], None] | None = None,
                 on_play_finished: Callable[[PlayFinished], None] | None = None,
                 rtp_timeout: float | None = 30.0,
                 playout_delay_ms: int = DELAY_FRAMES * 20,
                 rng: random.Random | None = None, keep_ports: int | None = None) -> None:
        self.on_key_started = on_key_started
        self.on_key = on_key
        self.on_timeout = on_timeout
        self.on_play_finished = on_play_finished
        self.default_rtp_timeout = rtp_timeout
        self._rng = rng or random.Random()
        self._pool = PortPool(ports, keep_ports)
        self._previous: dict[int, tuple[tuple[str, int] | None, tuple[str, int] | None]] = {}
        """Kept port -> where its last stream's phone sent RTP and RTCP from."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock = Clock(0.0)
        self._buffer = bytearray(BUFFER_SIZE)
        """Where every stream reads its packets (one at a time, so one buffer serves all)."""
        self._legs: dict[int, Leg] = {}
        self._next_id = 1
        self._bank = AudioBank(delay_frames=playout_delay_ms // 20)
        self._sensing = KeySensing(self._legs, self._decide_swallow, self._key_finished,
                                   lambda: self.loop.time())
        self._plan = MixPlan([], [], self._bank.zero_row)
        self._plan_legs: list[Leg] = []
        self._plan_dirty = False
        self._plan_layout = self._bank.layout
        self._mixed: set[int] = set()
        self._recorders: dict[int, tuple[WavRecorder, int, int]] = {}
        self._recorded: dict[int, int] = {}
        """Stream id -> how many recorders take its audio."""
        self._next_recorder = 1
        self._reserved: dict[int, SocketPair] = {}
        """Pairs bound ahead by :meth:`reserve_port` for streams created later."""
        self._timer: asyncio.TimerHandle | None = None
        self._timeout_rota: list[dict[int, Leg]] = [{} for _ in range(TIMEOUT_CHECK_TICKS)]
        self._report_rota: list[dict[int, Leg]] = [{} for _ in range(REPORT_TICKS)]
        self._keying: set[int] = set()
        self._next_tick = 0.0
        self._ticks = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Attach to the running loop (or ``loop``) and start the media tick."""
        self._loop = loop or asyncio.get_running_loop()
        self._clock.now = self._loop.time()
        self._clock.run_if_overdue = self._run_if_overdue
        self._next_tick = self._clock.now + TICK
        self._timer = self._loop.call_at(self._next_tick, self._on_timer)

    def close(self) -> None:
        """Release every stream, close recorders, stop the tick."""
        for stream_id in list(self._legs):
            self.release(stream_id)
        for recorder_id in list(self._recorders):
            self.stop_record(recorder_id)
        for pair in [*self._pool.close_kept(), *self._reserved.values()]:
            if self._loop is not None:
                self._loop.remove_reader(pair.rtp.fileno())
                self._loop.remove_reader(pair.rtcp.fileno())
            pair.close()
        self._previous.clear()
        self._reserved.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("MediaEngine.start() was not called")
        return self._loop

    # -- streams --------------------------------------------------------------------------

    @property
    def stream_count(self) -> int:
        return len(self._legs)

    def reserve_port(self) -> int:
        """Bind a port pair now for a stream that :meth:`allocate` creates on it later (a
        worker process binds ahead so that its owner can write the port in SDP at once)."""
        pair = self._pool.acquire()
        watch(self.loop, pair.rtp.fileno(), drain, pair.rtp)
        watch(self.loop, pair.rtcp.fileno(), drain, pair.rtcp)
        self._reserved[pair.port] = pair
        return pair.port

    def allocate(self, *, near: int | None = None, port: int | None = None,
                 stream_id: int | None = None) -> int:
        """A new stream on an RTP/RTCP port pair; returns its id (see :meth:`local_port`).

        ``port``: on a pair bound by :meth:`reserve_port`; ``stream_id``: with that id (the
        owner numbers the streams of all its workers); ``near`` (a stream that will be relayed
        or mixed with this one) matters only to engines spread over processes.
        """
        if stream_id is None:
            stream_id = self._next_id
            self._next_id += 1
        elif stream_id in self._legs:
            raise ValueError(f"media stream {stream_id} exists")
        if port is not None:
            pair = self._reserved.pop(port)
            drain(pair.rtp)
            drain(pair.rtcp)
        else:
            pair = self._pool.acquire()
        port, rtp, rtcp = pair
        stream = Stream(stream_id, port, rtp, rtcp, self._clock, PCMU, self._buffer)
        stream.event_listener = self._sensing.on_event_packet
        leg = Leg(stream, RtcpSession(stream, self._rng.getrandbits(32)),
                  self.default_rtp_timeout, self._clock.now)
        previous = self._previous.pop(port, None)
        if previous is not None:
            stream.stale_source, leg.rtcp.stale_source = previous
            stream.stale_until = leg.rtcp.stale_until = self._clock.now + STALE_GRACE
        self._legs[stream_id] = leg
        self._timeout_rota[stream_id % TIMEOUT_CHECK_TICKS][stream_id] = leg
        self._report_rota[stream_id % REPORT_TICKS][stream_id] = leg
        self._read(leg)  # replaces a kept pair's drain
        stream.on_error = lambda: self._read(leg, again=True)
        return stream_id

    def _read(self, leg: Leg, *, again: bool = False) -> None:
        """Read the leg's RTP and RTCP sockets; ``again`` after a socket error (see
        :func:`~b2bua.media.ports.watch`)."""
        stream = leg.stream
        for sock, callback in ((stream.sock, stream.on_readable),
                               (stream.rtcp, leg.rtcp.on_readable)):
            if again:
                self.loop.remove_reader(sock.fileno())
            watch(self.loop, sock.fileno(), callback)

    def local_port(self, stream_id: int) -> int:
        return self._leg(stream_id).stream.port

    def configure(self, stream_id: int, *, remote: tuple[str, int] | None, codec: str = "PCMU",
                  payload_type: int | None = None, telephone_event_pt: int | None = None,
                  ptime_ms: int = 20, direction: Direction = "sendrecv",
                  rtp_timeout: float | Literal["default"] | None = "default") -> None:
        """Apply the negotiated SDP of a leg (again on every re-INVITE, hold or resume).

        ``remote`` is where the phone receives (None or 0.0.0.0: unknown / held);
        ``direction`` is our side's attribute toward that phone (``sendonly`` when the phone
        put us on hold).  Changing the remote address re-latches; keeping it keeps the latch.
        """
        leg = self._leg(stream_id)
        stream = leg.stream
        new_codec = codec_named(codec)
        check_ptime(ptime_ms)
        if remote is not None and remote[0] in ("0.0.0.0", "::"):
            remote = None
        if remote != leg.sdp_remote:
            leg.sdp_remote = remote
            leg.unlatch()
            stream.remote = remote
        codec_changed = new_codec is not stream.codec
        stream.audio_pt = new_codec.static_pt if payload_type is None else payload_type
        stream.event_pt = telephone_event_pt
        leg.ptime_ms = ptime_ms
        leg.direction = direction
        stream.sends = remote is not None and direction in ("sendrecv", "sendonly")
        if rtp_timeout != "default":
            leg.rtp_timeout = rtp_timeout
        leg.last_active = self._clock.now
        leg.timed_out = False
        if leg.events or leg.receiver is not None:
            self._sensing.configure(leg)
        for route in stream.routes:  # re-anchor: payload types may have changed
            route.in_ssrc = -1
        if stream.feeder is not None:
            stream.feeder.in_ssrc = -1
        if codec_changed:  # routes transcode, captures decode by the codec
            stream.codec = new_codec
            if stream.capture is not None:
                self._bank.set_codec(stream.capture, new_codec.index)
            if leg.sources or leg.listeners or leg.mixed:
                self._rewire({stream_id, *leg.sources, *leg.listeners})

    def release(self, stream_id: int) -> None:
        """Close the stream: unhook it from every mix, relay, recorder and detector."""
        leg = self._legs.get(stream_id)
        if leg is None:
            return
        touched = {stream_id}
        for listener in list(leg.listeners):
            other = self._legs[listener]
            touched |= self._link(other, tuple(s for s in other.sources if s != stream_id))
        touched |= self._link(leg, ())
        leg.player = None
        leg.inband = leg.events = False
        self._sensing.configure(leg)
        self._sensing.forget(leg, self._clock.now)
        self._rewire(touched)
        stream = leg.stream
        if stream.capture is not None:  # still held by a recorder: that side goes silent
            self._bank.remove(stream.capture)
            stream.capture = None
        if stream.tx_packets or leg.rtcp.sent:  # RFC 3550 6.3.7: no BYE from a silent member
            leg.rtcp.send(leg.rtcp.bye())
        del self._legs[stream_id]
        del self._timeout_rota[stream_id % TIMEOUT_CHECK_TICKS][stream_id]
        del self._report_rota[stream_id % REPORT_TICKS][stream_id]
        self._keying.discard(stream_id)
        self._mixed.discard(stream_id)
        self._give_back(leg)

    def _give_back(self, leg: Leg) -> None:
        """Return the leg's sockets to the pool, kept bound and drained when there is room."""
        stream = leg.stream
        loop = self.loop
        pair = SocketPair(stream.port, stream.sock, stream.rtcp)
        stream.on_error = do_nothing
        if self._pool.keep_bound(pair, connected=stream.latched):
            watch(loop, pair.rtp.fileno(), drain, pair.rtp)
            watch(loop, pair.rtcp.fileno(), drain, pair.rtcp)
            if stream.latched or leg.rtcp.destination is not None:
                self._previous[pair.port] = (stream.remote if stream.latched else None,
                                             leg.rtcp.destination)
            return
        loop.remove_reader(pair.rtp.fileno())
        loop.remove_reader(pair.rtcp.fileno())
        pair.close()
        self._pool.release(pair.port)

    def collect_stats(self, stream_ids: Sequence[int],
                      done: Callable[[dict[int, StreamStats]], None]) -> None:
        """``done`` gets the stats of those of ``stream_ids`` that exist (here: at once)."""
        done({i: self.stats(i) for i in stream_ids if i in self._legs})

    def stats(self, stream_id: int) -> StreamStats:
        leg = self._leg(stream_id)
        s = leg.stream
        return StreamStats(s.port, s.remote, s.latched, s.rx_packets, s.rx_stray, s.rx_bad,
                           s.rx_other, s.tx_packets, s.tx_errors, leg.rtcp.received)

    # -- what each stream sends -----------------------------------------------------------

    def set_sources(self, stream_id: int, sources: Sequence[int]) -> None:
        """What ``stream_id`` sends: nothing, one leg relayed packet by packet, or a mix."""
        leg = self._leg(stream_id)
        new = self._checked_sources(stream_id, sources)
        self._rewire(self._link(leg, new))

    def bridge(self, a: int, b: int) -> None:
        """Each of ``a`` and ``b`` sends what the other receives."""
        leg_a, leg_b = self._leg(a), self._leg(b)
        new_a, new_b = self._checked_sources(a, (b,)), self._checked_sources(b, (a,))
        self._rewire(self._link(leg_a, new_a) | self._link(leg_b, new_b))

    def unbridge(self, a: int, b: int) -> None:
        leg_a, leg_b = self._leg(a), self._leg(b)
        touched = self._link(leg_a, tuple(s for s in leg_a.sources if s != b))
        touched |= self._link(leg_b, tuple(s for s in leg_b.sources if s != a))
        self._rewire(touched)

    def play(self, stream_id: int, samples: Samples, *, loop: bool = False,
             over_sources: bool = False) -> None:
        """Play int16 8 kHz ``samples`` into the leg, replacing any sound already playing.

        Alone (the leg's sources are not heard meanwhile) or ``over_sources`` (mixed over
        them, e.g. a beep the employee hears over the client).
        """
        leg = self._leg(stream_id)
        leg.player = Player(samples, loop=loop, over_sources=over_sources)
        self._rewire({stream_id})

    def stop_play(self, stream_id: int) -> None:
        leg = self._leg(stream_id)
        if leg.player is not None:
            leg.player = None
            self._rewire({stream_id})

    def send_key(self, stream_id: int, digit: str, duration_ms: int = 160) -> None:
        """Send a key toward the leg as RFC 4733 events with its own PT (in-band without one)."""
        leg = self._leg(stream_id)
        check_key(digit, duration_ms)
        event_pt = leg.stream.event_pt
        if event_pt is None:
            tone = dtmf_tone(digit, duration_ms / 1000).astype(np.int16)
            self.play(stream_id, tone, over_sources=True)
            return
        leg.key_packets.extend(TelephoneEventSender(event_pt).packets(digit, duration_ms))
        self._keying.add(stream_id)

    # -- keys -----------------------------------------------------------------------------

    def set_detection(self, stream_id: int, *, inband: bool = False, events: bool = False,
                      swallow: frozenset[str] = frozenset()) -> None:
        """Detect the keys of this leg: ``inband`` tones and/or RFC 4733 ``events``.

        Keys seen are reported through ``on_key_started`` (whose answer swallows the key) and
        ``on_key``.  Without an ``on_key_started`` handler, keys in ``swallow`` are swallowed.
        """
        leg = self._leg(stream_id)
        capture_changes = leg.inband != inband
        leg.inband, leg.events, leg.swallow = inband, events, swallow
        self._sensing.configure(leg)
        if capture_changes:
            self._rewire({stream_id})

    def info_key(self, stream_id: int, digit: str, duration_ms: int = 160,
                 decided: bool | None = None) -> bool:
        """A key the phone sent by SIP INFO; returns True when it is (part of) a swallowed key.

        ``decided``: the owner already ran its key-start decision for this press (a worker's
        owner does, to answer at once); a new key takes it instead of asking again."""
        leg = self._leg(stream_id)
        return self._sensing.info_key(leg, digit, duration_ms / 1000, self.loop.time(), decided)

    def revise_swallow(self, stream_id: int, digit: str, swallowed: bool) -> None:
        """Change the decision taken for the latest key ``digit`` of the stream (an owner in
        another process answers ``on_key_started`` after the engine went on with the leg's
        ``swallow`` set)."""
        leg = self._legs.get(stream_id)
        if leg is not None:
            self._sensing.revise(leg, digit, swallowed)

    # -- recording ------------------------------------------------------------------------

    def record(self, left_id: int, right_id: int, path: str,
               recorder_id: int | None = None) -> int:
        """Record a stereo WAV: left = what ``left_id`` receives, right = ``right_id``'s."""
        self._leg(left_id)
        self._leg(right_id)
        if recorder_id is None:
            recorder_id = self._next_recorder
            self._next_recorder += 1
        self._recorders[recorder_id] = (WavRecorder(path), left_id, right_id)
        for stream_id in (left_id, right_id):
            self._recorded[stream_id] = self._recorded.get(stream_id, 0) + 1
        self._rewire({left_id, right_id})
        return recorder_id

    def stop_record(self, recorder_id: int) -> None:
        entry = self._recorders.pop(recorder_id, None)
        if entry is None:
            return
        recorder, left, right = entry
        recorder.close()
        for stream_id in (left, right):
            count = self._recorded.pop(stream_id) - 1
            if count:
                self._recorded[stream_id] = count
        self._rewire({left, right})

    # -- wiring ---------------------------------------------------------------------------

    def _leg(self, stream_id: int) -> Leg:
        try:
            return self._legs[stream_id]
        except KeyError:
            raise KeyError(f"no media stream {stream_id}") from None

    def _checked_sources(self, stream_id: int, sources: Sequence[int]) -> tuple[int, ...]:
        new = tuple(dict.fromkeys(sources))
        if stream_id in new:
            raise ValueError("a stream cannot be its own source")
        for source in new:
            self._leg(source)
        return new

    def _link(self, leg: Leg, sources: tuple[int, ...]) -> set[int]:
        """Set what ``leg`` sends, without rewiring; returns the streams to rewire."""
        old = leg.sources
        stream_id = leg.stream.id
        for source in old:
            self._legs[source].listeners.discard(stream_id)
        for source in sources:
            self._legs[source].listeners.add(stream_id)
        leg.sources = sources
        return {stream_id, *old, *sources}

    def _rewire(self, stream_ids: set[int]) -> None:
        """Recompute routes, captures and mixes of the streams touched by a change."""
        legs = self._legs
        touched = [legs[i] for i in stream_ids if i in legs]
        plan_changed = False
        for leg in touched:
            mixed = leg.player is not None or len(leg.sources) > 1
            if mixed or leg.mixed:
                plan_changed = True
                leg.mixed = mixed
                if mixed:
                    self._mixed.add(leg.stream.id)
                else:
                    self._mixed.discard(leg.stream.id)
        for leg in touched:
            self._rewire_routes(leg)
        for leg in touched:
            stream = leg.stream
            wanted = (leg.inband or stream.id in self._recorded
                      or any(legs[i].mixed for i in leg.listeners))
            if wanted and stream.capture is None:
                stream.capture = self._bank.add(stream.codec.index)
            elif not wanted and stream.capture is not None:
                self._bank.remove(stream.capture)
                stream.capture = None
            else:
                continue
            self._sensing.capture_changed(leg)
            plan_changed = plan_changed or bool(leg.listeners)
        if plan_changed:
            self._plan_dirty = True

    def _rewire_routes(self, leg: Leg) -> None:
        """Routes leaving ``leg``: to each listener that relays it alone, reusing anchors."""
        stream = leg.stream
        if not leg.listeners and not stream.routes:
            return
        dests = [self._legs[i] for i in sorted(leg.listeners)]
        dests = [d for d in dests if not d.mixed and d.sources == (stream.id,)]
        shared = len(dests) > 1
        old = {route.dest.id: route for route in stream.routes}
        routes = []
        for dest in dests:
            route = old.get(dest.stream.id)
            if route is None or not route.still_fits(shared):
                route = Route(stream, dest.stream, shared=shared)
            routes.append(route)
            dest.stream.feeder = route
        for dest_id, route in old.items():
            if route not in routes and dest_id in self._legs \
                    and self._legs[dest_id].stream.feeder is route:
                self._legs[dest_id].stream.feeder = None
        stream.set_routes(routes)

    def _rebuild_plan(self) -> None:
        legs = [self._legs[i] for i in sorted(self._mixed)]
        rows = [[self._legs[s].stream.capture.row for s in leg.sources  # type: ignore[union-attr]
                 if self._legs[s].stream.capture is not None]
                if leg.player is None or leg.player.over_sources else [] for leg in legs]
        self._plan = MixPlan(rows, [leg.stream.codec.index for leg in legs], self._bank.zero_row)
        self._plan_legs = legs
        self._plan_dirty = False
        self._plan_layout = self._bank.layout

    # -- the media tick -------------------------------------------------------------------

    def _run_if_overdue(self) -> bool:
        """Run the tick now if its timer is late by more than OVERDUE (called from the packet
        path, which uvloop may serve for a long time without running timers)."""
        if self.loop.time() - self._next_tick < OVERDUE:
            return False
        if self._timer is not None:
            self._timer.cancel()
        self._on_timer()
        return True

    def _on_timer(self) -> None:
        loop = self.loop
        for _ in range(MAX_CATCH_UP):
            try:
                self._tick(loop.time())
            except Exception:
                log.exception("media tick failed")
            self._next_tick += TICK
            if loop.time() < self._next_tick:
                break
        else:
            self._next_tick = loop.time() + TICK
        self._timer = loop.call_at(self._next_tick, self._on_timer)

    def _tick(self, now: float) -> None:
        self._clock.now = now
        self._ticks += 1
        bank = self._bank
        decoded = bank.take()
        self._sensing.detect(decoded, now - bank.delay_frames * TICK)
        self._sensing.handle_timers(now)
        if self._plan_dirty or self._plan_layout != bank.layout:
            self._rebuild_plan()
        self._mix(decoded)
        self._send_keys()
        self._record(decoded)
        self._check_timeouts(now)
        self._send_reports()

    def _mix(self, decoded: Samples) -> None:
        if not self._plan_legs:
            return
        muted = [leg.stream.capture.row for leg in self._sensing.silenced_legs()
                 if leg.stream.capture is not None]
        extra: list[tuple[int, Samples]] = []
        finished: list[Leg] = []
        for i, leg in enumerate(self._plan_legs):
            player = leg.player
            if player is not None:
                extra.append((i, player.next_frame()))
                if player.finished:
                    finished.append(leg)
        codes = self._plan.mix(silence_rows(decoded, muted), extra)
        for i, leg in enumerate(self._plan_legs):
            stream = leg.stream
            if stream.sends:
                leg.send_frame(codes[i].tobytes(), self._rng)
        for leg in finished:
            leg.player = None
            self._rewire({leg.stream.id})
            notify(self.on_play_finished, PlayFinished(leg.stream.id))

    def _send_keys(self) -> None:
        for stream_id in list(self._keying):
            leg = self._legs[stream_id]
            leg.send_key_packet(self._rng)
            if not leg.key_packets:
                self._keying.discard(stream_id)

    def _record(self, decoded: Samples) -> None:
        if not self._recorders:
            return
        zero = self._bank.zero_row
        entries = list(self._recorders.values())

        def row(stream_id: int) -> int:
            leg = self._legs.get(stream_id)
            return zero if leg is None or leg.stream.capture is None else leg.stream.capture.row

        stereo = np.empty((len(entries), FRAME, 2), "<i2")
        stereo[:, :, 0] = decoded[[row(left) for _, left, _ in entries]]
        stereo[:, :, 1] = decoded[[row(right) for _, _, right in entries]]
        blob = stereo.tobytes()
        size = FRAME * 4
        flush_phase = self._ticks % RECORD_FLUSH_TICKS
        for i, (recorder, _, _) in enumerate(entries):
            recorder.append(blob[i * size:(i + 1) * size])
            if i % RECORD_FLUSH_TICKS == flush_phase:
                recorder.flush()

    def _check_timeouts(self, now: float) -> None:
        idle = [(leg, seconds) for leg in self._timeout_rota[self._ticks % TIMEOUT_CHECK_TICKS]
                .values() if (seconds := leg.idle_for(now)) is not None]
        for leg, seconds in idle:
            stream_id = leg.stream.id
            if stream_id in self._legs:  # a handler may have released it meanwhile
                leg.timed_out = True
                notify(self.on_timeout, RtpTimeout(stream_id, seconds))

    def _send_reports(self) -> None:
        due = self._report_rota[self._ticks % REPORT_TICKS]
        if not due:
            return
        unix_now = time.time()
        for leg in due.values():
            rtcp = leg.rtcp
            rtcp.send(rtcp.report(unix_now))

    # -- events ---------------------------------------------------------------------------

    def _decide_swallow(self, started: KeyStarted, leg: Leg) -> bool:
        return decide_swallow(self.on_key_started, started, leg.swallow)

    def _key_finished(self, event: KeyEvent) -> None:
        notify(self.on_key, event)

