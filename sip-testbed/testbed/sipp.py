"""SIPp runs on loopback: scenario files from sip-testbed/scenarios, results read from its stats."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PCAPS = Path("/usr/share/sip-tester")


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    stats: dict[str, str]
    messages: str
    errors: str

    def summary(self) -> str:
        tail = self.errors[-2000:] if self.errors else self.messages[-3000:]
        return f"sipp rc={self.returncode} ok={self.successful} failed={self.failed}\n{tail}"


@dataclass
class Sipp:
    """One SIPp process. `args` are SIPp options after the scenario and remote address."""

    workdir: Path
    scenario: str
    remote: str | None
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    media_port: int = field(default_factory=lambda: free_port(step=4))
    trace_messages: bool = True

    def __post_init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = Path(self.scenario).stem if self.scenario.endswith(".xml") else self.scenario

    def _file(self, suffix: str) -> Path:
        return self.workdir / f"{self.name}-{self.port}.{suffix}"

    def command(self) -> list[str]:
        scenario = ["-sn", self.scenario]
        if self.scenario.endswith(".xml"):
            scenario = ["-sf", str(SCENARIOS / self.scenario)]
        cmd = [SIPP, *scenario]
        if self.remote:
            cmd.append(self.remote)
        cmd += [
            "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(self.media_port),
            "-nostdin", "-trace_stat", "-stf", str(self._file("csv")), "-fd", "1",
            "-trace_err", "-error_file", str(self._file("errors")),
        ]
        if self.trace_messages:
            cmd += ["-trace_msg", "-message_file", str(self._file("messages"))]
        return cmd + self.args

    async def start(self) -> None:
        log = open(self._file("log"), "wb")  # noqa: SIM115 - owned by the process
        self._process = await asyncio.create_subprocess_exec(
            *self.command(), stdout=log, stderr=asyncio.subprocess.STDOUT, cwd=self.workdir
        )
        log.close()

    async def wait(self, timeout: float = 60.0) -> SippResult:
        assert self._process is not None
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            await self.stop()
        return self.result()

    async def run(self, timeout: float = 60.0) -> SippResult:
        await self.start()
        return await self.wait(timeout)

    async def stop(self) -> SippResult:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        return self.result()

    def result(self) -> SippResult:
        stats = _last_stats_row(self._file("csv"))
        returncode = self._process.returncode if self._process else -1
        return SippResult(
            returncode=returncode if returncode is not None else -1,
            successful=int(stats.get("SuccessfulCall(C)", "0") or 0),
            failed=int(stats.get("FailedCall(C)", "0") or 0),
            stats=stats,
            messages=_read(self._file("messages")),
            errors=_read(self._file("errors")) + _read(self._file("log")),
        )


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _last_stats_row(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))
