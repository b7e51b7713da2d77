"""What every in-call option gets and gives back.

An option runs when the employee of an answered call presses its key (or clicks its button in
the app). It gets an `OptionContext`: the call, the employee's leg (the presser), the other party
(the client), the key and the option's settings, and the office's services. It returns an
`Outcome` at once, or None when it finishes later (ringing someone) and reports through
`OptionContext.finish`. Either way the dispatcher writes the outcome to the report and plays the
employee a short confirmation or error tone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from b2bua.app.config import Config

if TYPE_CHECKING:
    from b2bua.calls.call import Call
    from b2bua.calls.leg import Leg
    from b2bua.calls.manager import CallManager
    from b2bua.options.outbox import SmsOutbox
    from b2bua.options.recording import Recordings
    from b2bua.store import Store


class OptionFailed(Exception):
    """An option could not do its work; the message says why (the call goes on)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Office:
    """The services options use."""

    manager: CallManager
    store: Store
    config: Callable[[], Config]
    data_dir: Path
    recordings: Recordings
    outbox: SmsOutbox

    def wall(self) -> float:
        return self.manager.wall()


@dataclass
class OptionContext:
    call: Call
    presser: Leg
    client: Leg | None
    key: str
    name: str
    settings: Any
    office: Office
    source: str = "app"
    """How the key arrived: rfc4733, inband, info, or app (a button of the app)."""
    finish: Callable[[Outcome], None] = lambda outcome: None

    @property
    def employee(self) -> str:
        return self.presser.extension or ""

    def client_number(self) -> str:
        """The client's number as the report knows it; OptionFailed when there is none."""
        leg = self.client
        if leg is None:
            raise OptionFailed("no client on the call")
        number = leg.number or (self.call.caller_number if leg is self.call.a else
                                self.call.called_number)
        if not any(ch.isdigit() for ch in number):
            raise OptionFailed(f"the client has no number ({number!r})")
        return number


class Option(Protocol):
    """One in-call option: None means it reports later through `context.finish`."""

    def __call__(self, context: OptionContext) -> Outcome | None: ...
