"""Call recording: started by the key (if not on already) or by the employee's default, stereo
WAV with the client on the left and the employee on the right, linked to the call's report row.

The engine keeps each file's header current as it grows (a killed service leaves a playable
file). When a party changes (move, transfer) the recording goes on in a new file, so each file
holds one pair of voices; every file is listed under the call.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from b2bua.options.base import OptionContext, OptionFailed, Outcome
from dsp.tones import recording_beep

if TYPE_CHECKING:
    from b2bua.calls.call import Call
    from b2bua.calls.leg import Leg
    from b2bua.calls.manager import CallManager
    from b2bua.store import Store

log = logging.getLogger(__name__)


@dataclass
class _Active:
    recorder: int
    record_id: int
    path: Path
    reason: str


class Recordings:
    """Starts and stops the recordings of calls."""

    def __init__(self, manager: CallManager, store: Store, directory: Callable[[], Path],
                 mono: Callable[[], bool]) -> None:
        self.manager = manager
        self.store = store
        self.directory = directory
        self.mono = mono
        self._active: dict[str, _Active] = {}
        self._files: dict[str, int] = {}

    def active(self, call: Call) -> bool:
        return call.id in self._active

    def start(self, call: Call, reason: str) -> Outcome:
        if call.id in self._active:
            return Outcome(True, {"already": True, "file": self._active[call.id].path.name})
        client, employee = _sides(call)
        if client is None or employee is None or client.stream is None or employee.stream is None:
            raise OptionFailed("the call has no two parties to record")
        folder = self.directory()
        folder.mkdir(parents=True, exist_ok=True)
        count = self._files.get(call.id, 0) + 1
        self._files[call.id] = count
        path = folder / f"{call.id}-{count}.wav"
        engine = self.manager.engine
        recorder = engine.record(client.stream, employee.stream, str(path))
        record = self.store.add_recording(call.id, str(path), self.manager.wall(),
                                          1 if self.mono() else 2,
                                          "mono-wav" if self.mono() else "stereo-wav")
        self._active[call.id] = _Active(recorder, record.id, path, reason)
        beep = recording_beep()
        for leg in (client, employee):
            engine.play(leg.stream, beep, over_sources=True)  # type: ignore[arg-type]
        call.report.event("recording", file=path.name, recording=record.id, reason=reason)
        return Outcome(True, {"file": path.name, "recording": record.id})

    def stop(self, call: Call) -> None:
        active = self._active.pop(call.id, None)
        if active is None:
            return
        self.manager.engine.stop_record(active.recorder)
        try:
            if self.mono():
                _mix_to_mono(active.path)
            size = active.path.stat().st_size
        except OSError as error:
            log.warning("recording %s: %s", active.path, error)
            size = 0
        self.store.finish_recording(active.record_id, self.manager.wall(), size)

    def forget(self, call: Call) -> None:
        self.stop(call)
        self._files.pop(call.id, None)

    def parties_changed(self, call: Call) -> None:
        active = self._active.get(call.id)
        if active is not None:
            self.stop(call)
            self.start(call, active.reason)


def record(context: OptionContext) -> Outcome:
    """The "record" key option."""
    return context.office.recordings.start(context.call, "key")


def _sides(call: Call) -> tuple[Leg | None, Leg | None]:
    """(client, employee) of the call's two parties (caller first when both are employees)."""
    if len(call.parties) != 2:
        return None, None
    first, second = call.parties
    if first.role == "employee" and second.role != "employee":
        return second, first
    return first, second


def _mix_to_mono(path: Path) -> None:
    with wave.open(str(path), "rb") as source:
        frames = source.readframes(source.getnframes())
    stereo = np.frombuffer(frames, "<i2").reshape(-1, 2).astype(np.int32)
    mono = np.clip(stereo.sum(axis=1), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(mono.tobytes())
