"""What every load benchmark shares: a scratch directory, the B2BUA, phones that register,
the injection files of extensions and numbers, and CPU accounting of the load generator."""

from __future__ import annotations

import math
import resource
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load import procfs
from benchmarks.load.office import (
    ROOT,
    B2buaProcess,
    OfficeSpec,
    company_number,
    extension,
    password,
)
from benchmarks.load.report import RESULTS, say
from benchmarks.load.sipp import SippProcess
from benchmarks.load.sippfiles import injection_file


@dataclass
class Options:
    """Settings every command shares."""

    workdir: Path | None = None
    """Keep SIPp's and the B2BUA's files here (default: a temporary directory, removed)."""
    source: Path = ROOT
    commit: str | None = None
    """The commit exported into `source` (``--commit``), recorded with the figures."""
    results: Path | None = None
    """Where JSON and PNG files go (default: benchmarks/results)."""
    profile: Path | None = None
    """Run the B2BUA under cProfile, statistics written here (B2BUA_PROFILE)."""
    py_spy: Path | None = None
    """Record the B2BUA with py-spy during every step, files here."""

    def describe_source(self) -> dict[str, str | None]:
        return {"path": str(self.source), "commit": self.commit}

    @property
    def results_dir(self) -> Path:
        return self.results if self.results is not None else RESULTS


@dataclass
class Bench:
    root: Path
    options: Options
    _counter: int = field(default=0)

    def directory(self, name: str) -> Path:
        self._counter += 1
        path = self.root / f"{self._counter:02d}-{name}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def b2bua(self, spec: OfficeSpec, name: str = "b2bua") -> B2buaProcess:
        process = B2buaProcess(self.directory(name), spec, profile=self.options.profile,
                               source=self.options.source)
        process.start()
        say(f"b2bua serve: pid {process.pid}, SIP {process.address}, "
            f"{spec.employees} employees")
        return process

    def users_file(self, count: int, first: int = 0) -> Path:
        """``-inf`` file of employees first..first+count-1: extension, credentials."""
        path = self.root / f"users-{first}-{count}.csv"
        if not path.exists():
            rows = [(extension(i), f"[authentication username={extension(i)} "
                                   f"password={password(extension(i))}]")
                    for i in range(first, first + count)]
            path.write_text(injection_file(rows))
        return path

    def numbers_file(self, count: int, first: int = 0) -> Path:
        """``-inf`` file of the company numbers ringing employees first..first+count-1."""
        path = self.root / f"numbers-{first}-{count}.csv"
        if not path.exists():
            rows = [(company_number(i),) for i in range(first, first + count)]
            path.write_text(injection_file(rows))
        return path

    def register(self, registrar: str, count: int, contact: str, rate: float = 1000,
                 name: str = "register", first: int = 0) -> SippProcess:
        """REGISTER employees first..first+count-1 with `contact`; raise unless every one
        succeeded."""
        sipp = SippProcess(self.directory(name), "register_load.xml", registrar, args=[
            "-inf", str(self.users_file(count, first)), "-key", "contact", contact,
            "-key", "expires", "7200", "-r", str(int(rate)), "-m", str(count), "-nd",
            "-timeout", str(int(count / rate) + 60),
        ]).start()
        sipp.wait(count / rate + 90)
        ok = sipp.counter("SuccessfulCall(C)")
        if ok != count:
            raise RuntimeError(f"only {ok} of {count} registrations succeeded:\n{sipp.errors()}")
        return sipp


@contextmanager
def bench(options: Options, command: str) -> Iterator[Bench]:
    if options.workdir is not None:
        root = options.workdir / command
        root.mkdir(parents=True, exist_ok=True)
        yield Bench(root, options)
        return
    with tempfile.TemporaryDirectory(prefix=f"b2bua-{command}-") as scratch:
        yield Bench(Path(scratch), options)


def children_cpu() -> float:
    """CPU seconds of the child processes this process has waited for (SIPp runs that ended:
    /proc forgets a process once it is reaped, its rusage stays here)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuWindow:
    """CPU seconds that a set of live processes spend between `begin()` and `end()`, plus
    (with ``children=True``) the children reaped meanwhile."""

    def __init__(self, *pids: int, children: bool = False) -> None:
        self.pids = list(pids)
        self.children = children
        self._start = math.nan
        self.seconds = math.nan

    def add(self, pid: int) -> None:
        self.pids.append(pid)

    def _now(self) -> float:
        return procfs.total_cpu(self.pids) + (children_cpu() if self.children else 0.0)

    def begin(self) -> CpuWindow:
        self._start = self._now()
        return self

    def end(self) -> float:
        self.seconds = self._now() - self._start
        return self.seconds
