"""SIPp processes for load: each in its own directory, its files read back when it ends."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load import sippfiles
from benchmarks.load.office import free_udp_port

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SIPP_PCAPS = Path("/usr/share/sip-tester")


@dataclass
class SippProcess:
    """One SIPp run. `scenario` is a file of ``benchmarks/scenarios`` (or a path); `remote`
    is host:port or None for a UAS; `args` follow the standard options."""

    workdir: Path
    scenario: str
    remote: str | None
    args: Sequence[str] = ()
    port: int = field(default_factory=free_udp_port)
    media_port: int | None = None
    trace_rtt: bool = False

    def __post_init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        path = Path(self.scenario)
        self.scenario_path = path if path.is_absolute() else SCENARIOS / path

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def command(self) -> list[str]:
        cmd = [SIPP, "-sf", str(self.scenario_path)]
        if self.remote:
            cmd.append(self.remote)
        cmd += ["-i", "127.0.0.1", "-p", str(self.port), "-nostdin",
                "-trace_stat", "-stf", "stat.csv", "-fd", "1",
                "-trace_err", "-error_file", "errors.log", "-buff_size", str(4 << 20)]
        if self.media_port is not None:
            cmd += ["-mi", "127.0.0.1", "-mp", str(self.media_port)]
        if self.trace_rtt:
            cmd += ["-trace_rtt", "-rtt_freq", "100"]
        return cmd + list(self.args)

    def start(self) -> SippProcess:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        (self.workdir / "command.txt").write_text(" ".join(self.command()) + "\n")
        with open(self.workdir / "screen.log", "wb") as screen:
            self.process = subprocess.Popen(self.command(), stdout=screen,
                                            stderr=subprocess.STDOUT, cwd=self.workdir)
        return self

    def wait(self, timeout: float) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.process.returncode if self.process.returncode is not None else -1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGUSR1 first (SIPp stops gracefully and writes its files), then SIGTERM/SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGUSR1, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                self.process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue

    # -- results ------------------------------------------------------------------------

    def stat_rows(self) -> list[dict[str, str]]:
        path = self.workdir / "stat.csv"
        return sippfiles.parse_stat_csv(path.read_text(errors="replace")) if path.exists() else []

    def last_stats(self) -> dict[str, str]:
        rows = self.stat_rows()
        return rows[-1] if rows else {}

    def counter(self, name: str) -> int:
        return sippfiles.counter(self.last_stats(), name)

    def responses(self) -> list[sippfiles.Response]:
        responses: list[sippfiles.Response] = []
        for path in sorted(self.workdir.glob("*_rtt.csv")):
            responses += sippfiles.parse_rtt_csv(path.read_text(errors="replace"))
        return responses

    def errors(self, size: int = 2000) -> str:
        text = ""
        for name in ("errors.log", "screen.log"):
            path = self.workdir / name
            if path.exists():
                text += path.read_text(errors="replace")[-size:]
        return text

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.workdir.glob("*_logs.log"))
