"""Shared pytest configuration: the testbed package (baresip and SIPp drivers) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTBED = ROOT / "sip-testbed"
if str(TESTBED) not in sys.path:
    sys.path.insert(0, str(TESTBED))
