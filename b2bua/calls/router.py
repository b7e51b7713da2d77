"""Where a call goes: the checks every new INVITE passes, in order.

Inbound (a client dials us): blacklist → personal manager (rung first, for a while) → the number
plan (a company number rings an extension, a group or runs a scenario; an extension rings that
employee) → 403 for a number only the trunk could reach (no open relay) → 404.
Outbound (an authenticated employee dials): an extension or a company number is an internal
call, a number the trunk carries goes out, anything else is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from b2bua.app.config import Config
from b2bua.store import Store, number_or_none

RouteKind = Literal["ring", "scenario", "trunk", "reject"]


@dataclass(frozen=True, slots=True)
class RingStep:
    """Ring these employees at once for `timeout` seconds."""

    extensions: tuple[str, ...]
    timeout: float
    reason: str  # "manager", "extension", "group", "scenario"


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    steps: tuple[RingStep, ...] = ()
    scenario: str | None = None
    number: str = ""
    status: int = 0
    reason: str = ""
    disposition: str | None = None


def reject(status: int, reason: str, disposition: str = "rejected") -> Route:
    return Route("reject", status=status, reason=reason, disposition=disposition)


class Router:
    """Decides routes from the current configuration and the store."""

    def __init__(self, config: Callable[[], Config], store: Store) -> None:
        self.config = config
        self.store = store

    def inbound(self, caller: str, dialed: str) -> Route:
        config = self.config()
        caller_key = number_or_none(caller)
        if caller_key is not None and self.store.is_blacklisted(caller_key):
            status = config.blacklist.reject_status
            return reject(status, _REASONS[status], "blacklisted")
        route = self._by_number(config, caller_key, dialed)
        if route.kind == "reject" and config.goes_to_trunk(dialed):
            return reject(403, "Forbidden")  # outside numbers are for employees: no open relay
        return route

    def outbound(self, employee: str, dialed: str) -> Route:
        config = self.config()
        if dialed == employee:
            return reject(482, "Loop Detected")
        route = self._by_number(config, None, dialed)
        if route.kind != "reject":
            return route
        if config.goes_to_trunk(dialed):
            return Route("trunk", number=dialed)
        return route

    def _by_number(self, config: Config, caller_key: str | None, dialed: str) -> Route:
        calls = config.calls
        if dialed in config.extensions:
            return Route("ring", (RingStep((dialed,), calls.ring_timeout, "extension"),))
        plan = config.route_for(dialed)
        if plan is None:
            return reject(404, "Not Found")
        steps: list[RingStep] = []
        manager = self.store.get_manager(caller_key) if caller_key else None
        if manager is not None and manager.extension in config.extensions:
            steps.append(RingStep((manager.extension,), calls.manager_ring_timeout, "manager"))
        if plan.scenario is not None:
            return Route("scenario", tuple(steps), scenario=plan.scenario)
        if plan.ring is not None:
            members: tuple[str, ...] = (plan.ring,)
            reason = "extension"
        else:
            assert plan.ring_group is not None
            members = tuple(config.groups[plan.ring_group])
            reason = "group"
        if steps and steps[0].extensions == members:
            steps.clear()  # the manager is the target anyway: ring once, for the full time
        steps.append(RingStep(members, calls.ring_timeout, reason))
        return Route("ring", tuple(steps))


_REASONS = {403: "Forbidden", 480: "Temporarily Unavailable", 486: "Busy Here", 603: "Decline"}
