"""Process and socket figures from /proc: CPU seconds, RSS, UDP drops.

Parsing is separate from reading so that it can be tested on captured text.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """User and system CPU seconds of a process (children not included)."""

    user: float
    system: float

    @property
    def total(self) -> float:
        return self.user + self.system

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user - other.user, self.system - other.system)


def parse_proc_stat(text: str, ticks: int = CLOCK_TICKS) -> CpuTimes:
    """``/proc/PID/stat``: utime and stime (fields 14 and 15) as seconds.

    The command name (field 2) is in parentheses and may hold spaces and parentheses itself,
    so fields are counted from the last ``)``."""
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): utime is field 14, stime field 15
    return CpuTimes(int(rest[11]) / ticks, int(rest[12]) / ticks)


def parse_rss_kib(status: str) -> int:
    """``VmRSS`` of ``/proc/PID/status`` in KiB (0 when absent: a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def parse_snmp_udp(text: str) -> dict[str, int]:
    """The ``Udp:`` counters of ``/proc/net/snmp`` (header line, then values)."""
    lines = [line.split() for line in text.splitlines() if line.startswith("Udp:")]
    if len(lines) < 2:
        return {}
    return {name: int(value) for name, value in zip(lines[0][1:], lines[1][1:], strict=False)}


def parse_udp_drops(text: str, ports: range) -> int:
    """Datagrams dropped by the sockets of ``/proc/net/udp`` bound to a port in `ports`
    (the last column of each row; a full receive buffer is the usual reason)."""
    dropped = 0
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 13:
            continue
        port = int(fields[1].rsplit(":", 1)[1], 16)
        if port in ports:
            dropped += int(fields[-1])
    return dropped


def parse_machine_ticks(text: str) -> tuple[int, int]:
    """(busy, all) clock ticks of every CPU together, from the ``cpu`` line of /proc/stat
    (idle and iowait are not busy)."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            ticks = [int(v) for v in line.split()[1:]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            # guest time is already counted in user time
            total = sum(ticks[:8])
            return total - idle, total
    raise ValueError("no cpu line in /proc/stat")


def machine_ticks() -> tuple[int, int]:
    return parse_machine_ticks(Path("/proc/stat").read_text())


class MachineWindow:
    """How busy the whole machine was between `begin()` and `end()`, in % of one core
    (200 = both cores of this machine busy all the time)."""

    def __init__(self) -> None:
        self._start = (0, 0)
        self.core_pct = float("nan")

    def begin(self) -> MachineWindow:
        self._start = machine_ticks()
        return self

    def end(self) -> float:
        busy, total = machine_ticks()
        spent = total - self._start[1]
        cpus = os.cpu_count() or 1
        self.core_pct = 100 * cpus * (busy - self._start[0]) / spent if spent else float("nan")
        return self.core_pct


def cpu_times(pid: int) -> CpuTimes:
    return parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())


def rss_kib(pid: int) -> int:
    return parse_rss_kib(Path(f"/proc/{pid}/status").read_text())


def udp_counters() -> dict[str, int]:
    return parse_snmp_udp(Path("/proc/net/snmp").read_text())


def udp_drops(ports: range) -> int:
    return parse_udp_drops(Path("/proc/net/udp").read_text(), ports)


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (e.g. the service's media workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and its child processes."""
    return [pid, *children(pid)]


def pin(pids: Iterable[int], cpus: set[int]) -> None:
    """Keep these processes, every thread of each, on ``cpus`` (processes gone are skipped)."""
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(ProcessLookupError):
                    os.sched_setaffinity(int(task.name), cpus)


def _summed(pids: Iterable[int], read: Callable[[int], float]) -> float:
    """``read`` of each process added up (processes gone count 0)."""
    total = 0.0
    for pid in pids:
        try:
            total += read(pid)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def total_cpu(pids: Iterable[int]) -> float:
    """CPU seconds of these processes and their threads (processes gone count 0)."""
    return _summed(pids, lambda pid: cpu_times(pid).total)


def total_rss_kib(pids: Iterable[int]) -> int:
    return int(_summed(pids, rss_kib))


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at a process: when (monotonic seconds), CPU seconds so far, RSS in KiB."""

    at: float
    cpu: float
    rss_kib: int


def sample(pid: int) -> Sample:
    """The process and its children (a service's media workers) together."""
    pids = tree(pid)
    return Sample(time.monotonic(), total_cpu(pids), total_rss_kib(pids))


class Sampler:
    """Samples a process every `interval` seconds on a thread, until stopped."""

    def __init__(self, pid: int, interval: float) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self.samples.append(sample(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            if self._stop.wait(self.interval):
                return

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples
