"""Checks across configuration sections: every name one section uses must exist in another.

Each check answers ``PATH: PROBLEM`` lines; an empty list means the configuration is coherent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from b2bua.app.config_source import format_path

if TYPE_CHECKING:
    from b2bua.app.config import Config

_ANY_ADDRESS = ("0.0.0.0", "::")


def _no_employee(extension: str) -> str:
    return f"no employee with extension {extension}"


def _check_employees(config: Config) -> Iterator[str]:
    first_seen: dict[str, int] = {}
    for index, employee in enumerate(config.employees):
        if employee.extension in first_seen:
            yield (
                f"employees[{index}].extension: extension {employee.extension} is already "
                f"used by employees[{first_seen[employee.extension]}]"
            )
        first_seen.setdefault(employee.extension, index)
    for index, employee in enumerate(config.employees):
        where = f"employees[{index}]"
        if employee.trainer == employee.extension:
            yield f"{where}.trainer: an employee cannot be their own trainer"
        elif employee.trainer is not None and employee.trainer not in first_seen:
            yield f"{where}.trainer: {_no_employee(employee.trainer)}"
        if employee.numbers and config.trunk is None:
            yield f"{where}.numbers: extra numbers are called through the trunk; no trunk is set"
        for position, number in enumerate(employee.numbers):
            if number in first_seen:
                yield f"{where}.numbers[{position}]: {number} is an extension"
            elif number in config.numbers:
                yield f"{where}.numbers[{position}]: {number} is a company number"


def _check_groups(config: Config) -> Iterator[str]:
    for name, members in config.groups.items():
        if not members:
            yield f"{format_path(['groups', name])}: a ring group needs at least one extension"
        seen: set[str] = set()
        for position, extension in enumerate(members):
            where = format_path(["groups", name, position])
            if extension not in config.extensions:
                yield f"{where}: {_no_employee(extension)}"
            elif extension in seen:
                yield f"{where}: {extension} is listed twice"
            seen.add(extension)


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    names = ", ".join(sorted(known))
    return f"no {kind} {name!r} (known: {names or 'none'})"


def _check_numbers(config: Config) -> Iterator[str]:
    for number, route in config.numbers.items():
        where = format_path(["numbers", number])
        if number in config.extensions:
            yield f"{where}: company number {number} is also an extension"
        if route.ring is not None and route.ring not in config.extensions:
            yield f"{where}.ring: {_no_employee(route.ring)}"
        if route.ring_group is not None and route.ring_group not in config.groups:
            yield f"{where}.ring_group: {_unknown('ring group', route.ring_group, config.groups)}"
        if route.scenario is not None and route.scenario not in config.scenarios:
            yield f"{where}.scenario: {_unknown('scenario', route.scenario, config.scenarios)}"


def _check_scenarios(config: Config) -> Iterator[str]:
    for name, steps in config.scenarios.items():
        for position, step in enumerate(steps):
            where = format_path(["scenarios", name, position])
            if step.kind == "ring" and step.extension not in config.extensions:
                yield f"{where}.ring: {_no_employee(step.extension)}"
            if step.kind == "ring_group" and step.group not in config.groups:
                yield f"{where}.ring_group: {_unknown('ring group', step.group, config.groups)}"
            if step.kind == "hangup" and position != len(steps) - 1:
                yield f"{where}: the steps after hangup are never reached"


def _check_keys(config: Config) -> Iterator[str]:
    for key, option in config.keys.items():
        where = format_path(["keys", key])
        if option.option == "scenario" and option.scenario not in config.scenarios:
            yield f"{where}.scenario: {_unknown('scenario', option.scenario, config.scenarios)}"
        if option.option == "sms" and config.sms is None:
            yield f"{where}: the sms option needs the sms section (the SMS gateway)"


def _check_sms(config: Config) -> Iterator[str]:
    sms = config.sms
    if sms is None:
        return
    if sms.gateway == "sip" and sms.uri is None and config.trunk is None:
        yield "sms.uri: required for the sip gateway when no trunk is set"
    if sms.gateway == "http" and sms.url is None:
        yield "sms.url: required for the http gateway"


def _same_address(one: str, other: str) -> bool:
    return one == other or one in _ANY_ADDRESS or other in _ANY_ADDRESS


def _check_sockets(config: Config) -> Iterator[str]:
    sip, web, media = config.sip, config.web, config.media
    if "tcp" in sip.transports and sip.port == web.port and _same_address(sip.listen, web.listen):
        yield f"web.port: port {web.port} is taken by SIP over TCP"
    if (
        "udp" in sip.transports
        and sip.port in media.rtp_ports
        and _same_address(sip.listen, media.address)
    ):
        yield f"media.rtp_ports: the range holds the SIP port {sip.port}"


_CHECKS: tuple[Callable[[Config], Iterator[str]], ...] = (
    _check_employees,
    _check_groups,
    _check_numbers,
    _check_scenarios,
    _check_keys,
    _check_sms,
    _check_sockets,
)


def cross_check(config: Config) -> list[str]:
    """Every problem found, as ``PATH: PROBLEM`` lines."""
    return [problem for check in _CHECKS for problem in check(config)]
