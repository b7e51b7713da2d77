"""Incoming-call scenarios: prompts, music, ringing employees or groups, hanging up.

A scenario takes the client alone: a caller routed to a scenario number (answered by us first,
so that it hears the prompts), or a client handed over by the "scenario" key option (the
employee's leg is hung up). Steps run in order: `play` a prompt to its end, `music` for some
seconds, `ring` an extension or `ring_group` a group (music goes on meanwhile; an answer ends the
scenario with a normal call), `hangup`. Running out of steps hangs up too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from b2bua.calls.call import CALLEE, Call, CallState
from b2bua.calls.leg import Leg, LegState
from b2bua.calls.ringing import Ringing
from b2bua.media.sounds import SoundError, load_sound
from b2bua.sdp.session import SdpError, parse_sdp
from b2bua.sip.message import Response

if TYPE_CHECKING:
    from b2bua.calls.manager import CallManager

log = logging.getLogger(__name__)


@dataclass
class _Run:
    call: Call
    client: Leg
    name: str
    steps: list[Any]
    timer: asyncio.TimerHandle | None = None
    ringing: Ringing | None = None
    waiting_for_play: bool = False
    done: bool = False
    music: str = "builtin:music"
    history: list[str] = field(default_factory=list)


class Scenarios:
    """Runs scenarios for the calls of one manager."""

    def __init__(self, manager: CallManager) -> None:
        self.manager = manager
        self._runs: dict[str, _Run] = {}

    def start(self, call: Call, name: str, client: Leg | None = None) -> bool:
        """Put `client` (default: the caller) into scenario `name`; False if it does not exist
        or the client cannot be answered."""
        config = self.manager.config
        steps = config.scenarios.get(name)
        client = client or call.a
        if steps is None or not client.alive:
            call.log.warning("no scenario %r", name)
            return False
        if client.state in (LegState.INCOMING, LegState.EARLY) and not self._answer(call, client):
            return False
        self.stop(call)
        call.state = CallState.SCENARIO
        call.media_bridged = False
        call.parties = [client]
        run = _Run(call, client, name, list(steps))
        self._runs[call.id] = run
        call.report.event("scenario", scenario=name)
        self.manager.stream_owner(client)
        self._next(run)
        return True

    def _answer(self, call: Call, client: Leg) -> bool:
        media = self.manager.media
        try:
            if client.remote_offer is not None:
                sdp = media.answer(client, client.remote_offer)
            else:
                sdp = media.offer_for(client)
        except SdpError as error:
            call.log.info("cannot answer for the scenario: %s", error.reason)
            call.end(None, status=488, reason="Not Acceptable Here")
            return False
        client.answer(sdp, headers=self.manager.session_timer_headers(client))
        call.report.update(answered_at=self.manager.wall(), disposition="answered")
        self.manager.party_joined(call, client)
        return True

    def stop(self, call: Call) -> None:
        run = self._runs.pop(call.id, None)
        if run is None:
            return
        run.done = True
        if run.timer is not None:
            run.timer.cancel()
        if run.ringing is not None:
            run.ringing.cancel()

    def played(self, call: Call, leg: Leg) -> None:
        """A prompt reached its end on `leg`."""
        run = self._runs.get(call.id)
        if run is not None and run.client is leg and run.waiting_for_play:
            run.waiting_for_play = False
            self._next(run)

    # -- steps --------------------------------------------------------------------------------

    def _next(self, run: _Run) -> None:
        if run.done or run.call.state is CallState.ENDED:
            return
        if not run.steps:
            self._hang_up(run)
            return
        step = run.steps.pop(0)
        run.history.append(step.kind)
        handler = getattr(self, f"_step_{step.kind}")
        try:
            handler(run, step)
        except SoundError as error:
            run.call.log.warning("scenario %s: %s", run.name, error)
            self._next(run)

    def _step_play(self, run: _Run, step: Any) -> None:
        if run.client.stream is None:
            self._next(run)
            return
        run.waiting_for_play = True
        self.manager.engine.play(run.client.stream, load_sound(step.file))

    def _step_music(self, run: _Run, step: Any) -> None:
        run.music = step.file
        self._play_music(run)
        run.timer = self.manager.schedule(step.seconds, lambda: self._music_over(run))

    def _music_over(self, run: _Run) -> None:
        run.timer = None
        if run.client.stream is not None:
            self.manager.engine.stop_play(run.client.stream)
        self._next(run)

    def _play_music(self, run: _Run) -> None:
        if run.client.stream is not None:
            self.manager.engine.play(run.client.stream, load_sound(run.music), loop=True)

    def _step_ring(self, run: _Run, step: Any) -> None:
        self._ring(run, (step.extension,), step.timeout)

    def _step_ring_group(self, run: _Run, step: Any) -> None:
        members = self.manager.config.groups.get(step.group, ())
        self._ring(run, tuple(members), step.timeout)

    def _step_hangup(self, run: _Run, step: Any) -> None:
        self._hang_up(run)

    def _ring(self, run: _Run, extensions: tuple[str, ...], timeout: float | None) -> None:
        manager = self.manager
        targets = manager.targets_for(extensions)
        if not targets:
            run.call.report.event("unreachable", extensions=list(extensions), step="scenario")
            self._next(run)
            return
        self._play_music(run)
        codec = manager.media.codec(run.client)
        run.call.report.event("ringing", step="scenario", devices=[t.label for t in targets])
        run.ringing = Ringing(
            manager, targets, role="employee",
            from_=manager.presented_caller(run.call),
            to=manager.presented_callee(run.call, "employee"),
            offer=lambda leg: manager.media.offer_for(leg, codec=codec, near=run.client),
            timeout=timeout or manager.config.calls.ring_timeout,
            on_answer=lambda leg, response: self._answered(run, leg, response),
            on_fail=lambda status, reason: self._ring_failed(run),
            headers=manager.invite_headers(run.call),
        )
        run.ringing.start()

    def _ring_failed(self, run: _Run) -> None:
        run.ringing = None
        self._next(run)

    def _answered(self, run: _Run, leg: Leg, response: Response) -> None:
        run.ringing = None
        manager = self.manager
        try:
            manager.media.take_answer(leg, parse_sdp(response.body))
        except SdpError as error:
            run.call.log.info("answer from %s unusable: %s", leg.label, error.reason)
            leg.bye()
            manager.media.release(leg)
            self._next(run)
            return
        self._runs.pop(run.call.id, None)
        run.done = True
        leg.extra["side"] = CALLEE
        manager.timers.settle_answer(leg, response)
        run.call.connect(run.client, leg)
        run.call.report.update(employee=leg.extension, answered_device=leg.label)
        run.call.report.event("answered", device=leg.label, extension=leg.extension,
                              scenario=run.name)

    def _hang_up(self, run: _Run) -> None:
        self._runs.pop(run.call.id, None)
        run.done = True
        run.call.report.event("scenario-end", scenario=run.name, steps=run.history)
        run.call.end(None, reason="scenario")
