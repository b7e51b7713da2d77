"""One key stream per leg, merged from RFC 4733 events, in-band tones and SIP INFO digits.

A phone may report one physical press in several ways at once (an RFC 4733 event *and* the tone
left in the audio, or an INFO request *and* an event).  :class:`LegKeys` folds those edges into
one key: a start from a way that has not yet seen the current key joins it when the digit is
the same and the times overlap (within :data:`MERGE_WINDOW`).  A key is reported finished
:data:`REPORT_GRACE` after its last way ended, so that a slower way (the in-band detector
decides tens of milliseconds after the tone began) can still join it; a start that arrives after
the report but overlaps the reported key is absorbed instead of becoming a second key.

Sans-IO: every entry point takes ``now`` (seconds, the engine's clock); the owner asks for
:meth:`LegKeys.next_deadline` and calls :meth:`LegKeys.handle_timer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

KeySource = Literal["rfc4733", "inband", "info"]
"""The ways a key reaches us: RTP telephone-event, a tone in the audio, a SIP INFO request."""

DIGITS: Final = "0123456789*#ABCD"

MERGE_WINDOW: Final = 0.12
"""Seconds by which two ways' views of one press may miss each other and still be one key."""

REPORT_GRACE: Final = 0.12
"""Seconds after the last way ended before the key is reported finished."""

ABSORB_KEEP: Final = 1.0
"""Seconds a reported key is remembered to absorb late starts of the same press."""

LONGEST_KEY: Final = 30.0
"""A key still open after this long is ended by force (a way that never reported an end)."""


@dataclass(frozen=True, slots=True)
class KeyStarted:
    """A key began on ``stream``: the first way that saw it, and when (engine clock)."""

    stream: int
    digit: str
    source: KeySource
    time: float


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A finished key on ``stream``: which ways saw it, first start, last end, swallowed or not."""

    stream: int
    digit: str
    sources: tuple[KeySource, ...]
    start: float
    end: float
    swallowed: bool


@dataclass(slots=True)
class Key:
    """A key in progress on one leg (mutable, owned by :class:`LegKeys`)."""

    digit: str
    start: float
    end: float
    open_sources: set[str] = field(default_factory=set)
    sources: list[KeySource] = field(default_factory=list)
    swallowed: bool = False
    closed_at: float | None = None
    """``now`` when the last open way ended; the key is reported ``REPORT_GRACE`` later."""

    def overlaps(self, time: float) -> bool:
        return self.start - MERGE_WINDOW <= time <= self.end + MERGE_WINDOW or (
            bool(self.open_sources) and time >= self.start - MERGE_WINDOW)


class LegKeys:
    """Merges the key edges of one leg into keys; see the module docstring."""

    def __init__(self, stream: int) -> None:
        self.stream = stream
        self._keys: list[Key] = []
        self._reported: list[tuple[Key, float]] = []

    @property
    def silenced(self) -> bool:
        """True while a swallowed key is held down on at least one way."""
        return any(k.swallowed and k.open_sources for k in self._keys)

    def start(self, source: KeySource, digit: str, time: float, now: float) -> tuple[Key, bool]:
        """A way saw a key begin at ``time``; return the key and whether it is a new one.

        For a new key the caller decides at once whether it is swallowed (``key.swallowed``);
        a start merged into a key already seen returns that key and False.
        """
        if digit not in DIGITS:
            raise ValueError(f"not a key: {digit!r}")
        self._end_other_digits(source, digit, time, now)
        for key in self._keys:
            if key.digit == digit and source not in key.sources and key.overlaps(time):
                self._join(key, source, time)
                return key, False
        for key, _ in self._reported:
            if key.digit == digit and source not in key.sources and key.overlaps(time):
                key.sources.append(source)
                return key, False
        key = Key(digit=digit, start=time, end=time, open_sources={source}, sources=[source])
        self._keys.append(key)
        return key, True

    def end(self, source: KeySource, digit: str, time: float, now: float) -> None:
        """A way saw the key ``digit`` end at ``time`` (an end without a start is ignored)."""
        for key in self._keys:
            if key.digit == digit and source in key.open_sources:
                self._close(key, source, time, now)
                return

    @property
    def idle(self) -> bool:
        """Nothing in progress and nothing left to report or remember."""
        return not self._keys and not self._reported

    def next_deadline(self) -> float | None:
        deadlines = [k.closed_at + REPORT_GRACE for k in self._keys if k.closed_at is not None]
        deadlines += [k.start + LONGEST_KEY for k in self._keys if k.open_sources]
        deadlines += [at + ABSORB_KEEP for _, at in self._reported[:1]]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[KeyEvent]:
        """Report the keys whose grace ran out; forget old reported keys."""
        finished: list[KeyEvent] = []
        for key in list(self._keys):
            if key.open_sources and now >= key.start + LONGEST_KEY:
                for source in list(key.open_sources):
                    self._close(key, source, now, now)
            if key.closed_at is not None and now >= key.closed_at + REPORT_GRACE:
                self._keys.remove(key)
                self._reported.append((key, now))
                finished.append(KeyEvent(self.stream, key.digit, tuple(key.sources),
                                         key.start, key.end, key.swallowed))
        self._reported = [(k, at) for k, at in self._reported if now < at + ABSORB_KEEP]
        return finished

    def flush(self, now: float) -> list[KeyEvent]:
        """The leg goes away: every key still held ends now and is reported at once."""
        for key in self._keys:
            for source in list(key.open_sources):
                self._close(key, source, now, now)
            key.closed_at = now - REPORT_GRACE
        return self.handle_timer(now)

    def revise(self, digit: str, swallowed: bool) -> bool:
        """Set the swallow decision of the latest key ``digit`` (in progress or just reported);
        False when there is none."""
        candidates = [k for k in self._keys if k.digit == digit]
        candidates += [k for k, _ in self._reported if k.digit == digit]
        if not candidates:
            return False
        max(candidates, key=lambda k: k.start).swallowed = swallowed
        return True

    def _join(self, key: Key, source: KeySource, time: float) -> None:
        key.sources.append(source)
        key.open_sources.add(source)
        key.start = min(key.start, time)
        key.closed_at = None

    def _close(self, key: Key, source: str, time: float, now: float) -> None:
        key.open_sources.discard(source)
        key.end = max(key.end, time)
        if not key.open_sources:
            key.closed_at = now

    def _end_other_digits(self, source: KeySource, digit: str, time: float, now: float) -> None:
        """A way that starts a new digit has ended its previous one."""
        for key in self._keys:
            if key.digit != digit and source in key.open_sources:
                self._close(key, source, time, now)
