"""Shared pytest configuration: the testbed package on sys.path, and a running office."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTBED = ROOT / "sip-testbed"
if str(TESTBED) not in sys.path:
    sys.path.insert(0, str(TESTBED))

from testbed.office import office_config  # noqa: E402

from b2bua.app.config import Config  # noqa: E402

OfficeFactory = Callable[..., Config]


@pytest.fixture
def office(tmp_path: Path) -> OfficeFactory:
    """Build the demo office on free loopback ports with known passwords; keyword arguments
    replace (nested) sections, e.g. ``office(calls={"ring_timeout": 2})``."""

    def build(**changes: Any) -> Config:
        return office_config(tmp_path / "data", **changes)

    return build


@pytest.fixture
async def start_office(
    office: OfficeFactory, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start the demo office (with section changes) in this test's event loop; stopped after."""
    from b2bua.app.service import Service

    started: list[Service] = []

    async def start(**changes: Any) -> Service:
        running = Service(office(**changes), tmp_path / "data")
        await running.start()
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            await running.stop()


@pytest.fixture
async def service(start_office: Callable[..., Awaitable[Any]]) -> Any:
    """The demo office running in this test's event loop."""
    return await start_office()
