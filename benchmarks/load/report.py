"""Printing figures while a benchmark runs, and keeping them: JSON and a PNG per run."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    """Progress, flushed at once (runs take minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100 or digits == 0:
            return f"{value:.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 2) -> str:
    """A plain text table, columns right-aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(v, digits) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    try:
        sipp = subprocess.run(["sipp", "-v"], capture_output=True, text=True, check=False)
        sipp_version = next((line.strip() for line in sipp.stdout.splitlines()
                             if "SIPp" in line), "")
    except OSError:
        sipp_version = ""
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "sipp": sipp_version,
        "commit": commit,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def result_path(command: str, suffix: str, directory: Path = RESULTS) -> Path:
    return directory / f"{command}-{datetime.now():%Y-%m-%d}.{suffix}"


def write_json(command: str, data: dict[str, Any], directory: Path = RESULTS,
               source: dict[str, Any] | None = None) -> Path:
    """`data` with when, where and what was measured, as ``<command>-<date>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = result_path(command, "json", directory)
    payload = {"command": command, "measured_at": datetime.now().isoformat(timespec="seconds"),
               "machine": machine(), "b2bua_source": source or {}, **data}
    path.write_text(json.dumps(_clean(payload), indent=2) + "\n")
    return path


def run_name(command: str, workers: int) -> str:
    """How a run's results are named: the command, and the media workers when there were."""
    return f"{command}-workers{workers}" if workers else command


def figure_path(command: str, directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return result_path(command, "png", directory)


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
