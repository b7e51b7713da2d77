"""What SIPp writes, read back: ``-trace_stat`` rows, ``-trace_rtt`` response times, logs.

SIPp 3.6 formats (checked on this machine):

- the statistics file is ``;``-separated with a header row; counters come in pairs
  ``Name(P)`` (this period) and ``Name(C)`` (cumulative); times look like
  ``00:00:00:007000`` (hours:minutes:seconds:microseconds) and dates like
  ``2026-11-24<TAB>17:03:03.062080<TAB>1795539783.062080`` (the last field is epoch seconds);
- the response-time file has the header ``Date_ms;response_time_ms;rtd_no``, one row per
  measured response: when (ms since SIPp started), how long (whole milliseconds: SIPp's
  clock ticks in ms), and the rtd's name (or number).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def parse_stat_csv(text: str) -> list[dict[str, str]]:
    """Every data row of a ``-trace_stat`` file, keyed by the header's column names."""
    rows = [row for row in csv.reader(text.splitlines(), delimiter=";") if row]
    if len(rows) < 2:
        return []
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def counter(row: Mapping[str, str], name: str) -> int:
    """A counter of a statistics row (``SuccessfulCall(C)``); 0 when absent or blank."""
    value = row.get(name, "").strip()
    return int(float(value)) if value else 0


def parse_sipp_duration(text: str) -> float:
    """``HH:MM:SS:micros`` (SIPp's response times and call lengths) as seconds."""
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise ValueError(f"not a SIPp duration: {text!r}")
    hours, minutes, seconds, micros = (int(p) for p in parts)
    return hours * 3600 + minutes * 60 + seconds + micros / 1_000_000


def epoch_of(date: str) -> float:
    """The epoch seconds at the end of a SIPp date field."""
    return float(date.split()[-1].replace("\t", " ").split()[-1])


@dataclass(frozen=True, slots=True)
class Response:
    """One measured response time: at `at_ms` after SIPp started, it took `ms`."""

    at_ms: float
    ms: float
    rtd: str


def parse_rtt_csv(text: str) -> list[Response]:
    """The rows of a ``-trace_rtt`` file (the header line and blank lines skipped)."""
    responses: list[Response] = []
    for line in text.splitlines():
        fields = line.strip().split(";")
        if len(fields) < 3 or fields[0] == "Date_ms":
            continue
        try:
            responses.append(Response(float(fields[0]), float(fields[1]), fields[2]))
        except ValueError:
            continue
    return responses


def by_rtd(responses: Sequence[Response]) -> dict[str, list[Response]]:
    grouped: dict[str, list[Response]] = defaultdict(list)
    for response in responses:
        grouped[response.rtd].append(response)
    return dict(grouped)


def completion_rate(responses: Sequence[Response]) -> float:
    """Responses per second between the first and the last one (0 with fewer than two)."""
    if len(responses) < 2:
        return 0.0
    times = sorted(r.at_ms for r in responses)
    span = (times[-1] - times[0]) / 1000
    return (len(times) - 1) / span if span > 0 else 0.0


def injection_file(rows: Sequence[Sequence[str]], order: str = "SEQUENTIAL") -> str:
    """A ``-inf`` file: the order line, then one ``;``-terminated line per row."""
    if order not in ("SEQUENTIAL", "RANDOM", "USER"):
        raise ValueError(f"unknown -inf order {order!r}")
    lines = [order] + [";".join(row) + ";" for row in rows]
    return "\n".join(lines) + "\n"
