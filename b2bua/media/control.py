"""The control surface the call layer drives media through, in-process or over workers.

:class:`~b2bua.media.engine.MediaEngine` (the default, in the service's process) and
:class:`~b2bua.media.workers.MediaWorkers` (worker processes owning port ranges) both offer it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from b2bua.media.codec import Samples
from b2bua.media.engine import KeyStartHandler, PlayFinished, RtpTimeout, StreamStats
from b2bua.media.keys import KeyEvent
from b2bua.media.legs import Direction


class MediaControl(Protocol):
    on_key_started: KeyStartHandler | None
    on_key: Callable[[KeyEvent], None] | None
    on_timeout: Callable[[RtpTimeout], None] | None
    on_play_finished: Callable[[PlayFinished], None] | None

    @property
    def stream_count(self) -> int: ...

    def allocate(self, *, near: int | None = None) -> int: ...

    def local_port(self, stream_id: int) -> int: ...

    def configure(self, stream_id: int, *, remote: tuple[str, int] | None, codec: str = "PCMU",
                  payload_type: int | None = None, telephone_event_pt: int | None = None,
                  ptime_ms: int = 20, direction: Direction = "sendrecv",
                  rtp_timeout: float | Literal["default"] | None = "default") -> None: ...

    def release(self, stream_id: int) -> None: ...

    def collect_stats(self, stream_ids: Sequence[int],
                      done: Callable[[dict[int, StreamStats]], None]) -> None: ...

    def set_sources(self, stream_id: int, sources: Sequence[int]) -> None: ...

    def bridge(self, a: int, b: int) -> None: ...

    def unbridge(self, a: int, b: int) -> None: ...

    def play(self, stream_id: int, samples: Samples, *, loop: bool = False,
             over_sources: bool = False) -> None: ...

    def stop_play(self, stream_id: int) -> None: ...

    def send_key(self, stream_id: int, digit: str, duration_ms: int = 160) -> None: ...

    def set_detection(self, stream_id: int, *, inband: bool = False, events: bool = False,
                      swallow: frozenset[str] = frozenset()) -> None: ...

    def info_key(self, stream_id: int, digit: str, duration_ms: int = 160) -> bool: ...

    def record(self, left_id: int, right_id: int, path: str) -> int: ...

    def stop_record(self, recorder_id: int) -> None: ...

    def close(self) -> None: ...
