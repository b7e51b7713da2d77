"""The demo office on free loopback ports with known passwords, for tests and the testbed."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import yaml

from b2bua.app.config import Config, parse_config
from b2bua.app.defaults import DEMO_OFFICE_YAML

from .ports import free_port

PASSWORDS = {ext: f"secret-{ext}-pw" for ext in ("101", "102", "103", "104", "105")}


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into `base`, section by section (an empty mapping empties a section)."""
    for key, value in changes.items():
        if isinstance(value, dict) and value and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


def office_data(data_dir: Path, **changes: Any) -> dict[str, Any]:
    """The demo office as plain data: free SIP/web ports, a random RTP range, fixed passwords,
    media workers when ``B2BUA_MEDIA_WORKERS`` says how many, then `changes` merged in (e.g.
    ``calls={"ring_timeout": 2}``)."""
    data: dict[str, Any] = yaml.safe_load(DEMO_OFFICE_YAML)
    rtp_base = random.randrange(10000, 30000, 400)  # below the ephemeral ports
    deep_update(data, {
        "sip": {"port": free_port()},
        "media": {"rtp_ports": f"{rtp_base}-{rtp_base + 399}"},
        "web": {"port": free_port()},
        "data_dir": str(data_dir),
    })
    workers = os.environ.get("B2BUA_MEDIA_WORKERS")
    if workers:  # run a suite with the media in worker processes
        data["media"]["workers"] = int(workers)
    for employee in data["employees"]:
        employee["password"] = PASSWORDS[employee["extension"]]
    return deep_update(data, changes)


def office_config(data_dir: Path, **changes: Any) -> Config:
    return parse_config(office_data(data_dir, **changes), base_dir=data_dir.parent)
