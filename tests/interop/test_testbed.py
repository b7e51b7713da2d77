"""The local office demo (sip-testbed/run_office.py) runs and everything happens as it tells."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

SCRIPT = Path(__file__).resolve().parents[2] / "sip-testbed" / "run_office.py"


async def test_local_office_demo_tells_a_true_story() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()
    assert process.returncode == 0, text
    assert "everything happened as told" in text
    assert "FAILED" not in text
    for line in ("dials the company number 7000", "presses 4 (call the trainer)",
                 "his phone rang and he answered", "the client never heard the trainer"):
        assert line in text
