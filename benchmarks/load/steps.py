"""Rate steps: one SIPp client run at a fixed rate, through the B2BUA or straight to SIPp,
measured while it runs; and the search over rates that both ``calls`` and ``register`` do.

At every rate the B2BUA's step runs first, then the same client against SIPp alone (the
baseline), so that the two are measured a few seconds apart on this shared machine and each
figure of the B2BUA can be read as a ratio to the load generator's.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import CpuWindow
from benchmarks.load.office import B2buaProcess
from benchmarks.load.profile import PySpy
from benchmarks.load.report import figure_path, pyplot, say, table
from benchmarks.load.sipp import SippProcess
from benchmarks.load.sippfiles import by_rtd, completion_rate
from benchmarks.load.stats import RateSearch, Step, ratio, step_passed, summarize

MAX_FAILED = 0.005


@dataclass
class StepResult:
    """One rate through one path (``b2bua`` or ``direct``)."""

    path: str
    target_rate: float
    placed: int
    successful: int
    failed: int
    retransmissions: int
    rate: float
    latency_ms: dict[str, Any]
    wall_seconds: float
    b2bua_cpu_seconds: float
    generator_cpu_seconds: float
    b2bua_rss_kib: int
    sip_drops: int
    machine_core_pct: float
    passed: bool

    @property
    def failed_pct(self) -> float:
        total = self.successful + self.failed
        return 100 * self.failed / total if total else math.nan

    @property
    def cpu_ms_each(self) -> float:
        return 1000 * self.b2bua_cpu_seconds / self.successful if self.successful else math.nan

    @property
    def generator_ms_each(self) -> float:
        return (1000 * self.generator_cpu_seconds / self.successful
                if self.successful else math.nan)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(failed_pct=self.failed_pct, cpu_ms_each=self.cpu_ms_each,
                    generator_ms_each=self.generator_ms_each)
        return data


def run_step(client: SippProcess, *, path: str, rate: float, rtd: str, timeout: float,
             generator_pids: list[int], b2bua: B2buaProcess | None,
             spy: PySpy | None = None) -> StepResult:
    """Run `client` to its end; measure the B2BUA (when given) and the load generator."""
    generator = CpuWindow(*generator_pids, children=True)
    service = CpuWindow(*(procfs.tree(b2bua.pid) if b2bua else []))
    sip_ports = range(b2bua.sip_port, b2bua.sip_port + 1) if b2bua else range(0)
    drops_before = procfs.udp_drops(sip_ports) if b2bua else 0
    machine = procfs.MachineWindow()
    started = time.monotonic()
    generator.begin()
    service.begin()
    machine.begin()
    sampler = procfs.Sampler(b2bua.pid, 0.5).start() if b2bua else None
    recording: subprocess.Popen[bytes] | None = None
    client.start()
    if spy is not None and b2bua is not None:
        recording = spy.record(b2bua.pid, f"{path}-{int(rate)}", seconds=timeout)
    client.wait(timeout)
    time.sleep(0.5)  # the last transactions
    generator.end()
    service.end()
    machine.end()
    if recording is not None:
        PySpy.finish(recording)
    wall = time.monotonic() - started
    samples = sampler.stop() if sampler else []
    stats = client.last_stats()
    answers = by_rtd(client.responses()).get(rtd, [])
    successful = int(stats.get("SuccessfulCall(C)", 0) or 0)
    failed = int(stats.get("FailedCall(C)", 0) or 0)
    achieved = completion_rate(answers)
    result = StepResult(
        path=path, target_rate=rate, placed=int(stats.get("OutgoingCall(C)", 0) or 0),
        successful=successful, failed=failed,
        retransmissions=int(stats.get("Retransmissions(C)", 0) or 0),
        rate=achieved, latency_ms=summarize([a.ms for a in answers]).as_dict(),
        wall_seconds=wall,
        b2bua_cpu_seconds=service.seconds if b2bua else math.nan,
        generator_cpu_seconds=generator.seconds,
        b2bua_rss_kib=max((s.rss_kib for s in samples), default=0),
        sip_drops=procfs.udp_drops(sip_ports) - drops_before if b2bua else 0,
        machine_core_pct=machine.core_pct,
        passed=step_passed(successful, failed, achieved, rate, max_failed=MAX_FAILED),
    )
    if failed:
        (client.workdir.parent / f"{path}-{int(rate)}-errors.txt").write_text(
            client.errors(20000))
    return result


def progress(step: StepResult, unit: str) -> None:
    latency = step.latency_ms
    cpu = f", b2bua {step.cpu_ms_each:.3f} ms cpu each" if step.path == "b2bua" else ""
    say(f"  {step.path:6} {step.target_rate:6.0f}/s: {step.successful} {unit} ok, "
        f"{step.failed_pct:.2f}% failed, {step.rate:.0f}/s reached, p50 {latency['p50']} "
        f"p99 {latency['p99']} ms{cpu}, sipp {step.generator_ms_each:.3f} ms cpu each: "
        f"{'held' if step.passed else 'FAILED'}")


StepRunner = Callable[[str, float], StepResult]
"""(path, rate) -> the measured step; path is ``b2bua`` or ``direct``."""


def search(runner: StepRunner, ladder: RateSearch, unit: str,
           settle_seconds: float) -> tuple[list[StepResult], float]:
    """Climb and bisect rates through the B2BUA, each followed by the same rate direct."""
    history: list[Step] = []
    steps: list[StepResult] = []
    while (rate := ladder.next_rate(history)) is not None:
        say(f"rate {rate:.0f} {unit}/s")
        through = runner("b2bua", rate)
        progress(through, unit)
        time.sleep(settle_seconds)
        direct = runner("direct", rate)
        progress(direct, unit)
        time.sleep(settle_seconds)
        steps += [through, direct]
        history.append(Step(rate, through.passed))
    return steps, ladder.highest_passed(history)


def pairs(steps: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(b2bua step, direct step) at each rate, by rate."""
    direct = {s["target_rate"]: s for s in steps if s["path"] == "direct"}
    through = sorted((s for s in steps if s["path"] == "b2bua"), key=lambda s: s["target_rate"])
    return [(s, direct[s["target_rate"]]) for s in through if s["target_rate"] in direct]


def print_steps(steps: list[dict[str, Any]], unit: str, latency: str) -> None:
    rows = []
    for through, direct in pairs(steps):
        rows.append([
            through["target_rate"], through["rate"], through["failed_pct"], direct["failed_pct"],
            through["latency_ms"]["p50"], through["latency_ms"]["p99"],
            direct["latency_ms"]["p99"], through["cpu_ms_each"], direct["generator_ms_each"],
            ratio(through["cpu_ms_each"], direct["generator_ms_each"]),
            100 * through["b2bua_cpu_seconds"] / through["wall_seconds"],
            through["b2bua_rss_kib"] / 1024, through["sip_drops"],
            through["machine_core_pct"], "held" if through["passed"] else "failed",
        ])
    print(table([f"{unit}/s", "reached/s", "fail%", "sipp fail%", f"{latency} p50 ms",
                 f"{latency} p99 ms", "sipp p99 ms", "b2bua cpu ms", "sipp cpu ms",
                 "cpu ratio", "b2bua core%", "rss MiB", "sip drops", "machine%", "step"],
                rows))
    print("(per step: B2BUA figures, then SIPp alone at the same rate; cpu ms are per "
          f"{unit[:-1] if unit.endswith('s') else unit}: the B2BUA's process vs SIPp's client "
          "and server together; core% is the B2BUA's CPU over the step's wall time; machine% "
          "is every process on the machine, of 200% for two cores)")


def plot_steps(data: dict[str, Any], directory: Path, command: str, unit: str,
               latency: str, title: str) -> str:
    plt = pyplot()
    matched = pairs(data["steps"])
    rates = [t["target_rate"] for t, _ in matched]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    axes[0].plot(rates, [t["rate"] for t, _ in matched], "o-", label="via B2BUA")
    axes[0].plot(rates, [d["rate"] for _, d in matched], "s--", label="SIPp alone")
    axes[0].plot(rates, rates, ":", color="grey", label="target")
    axes[0].set_xlabel(f"target {unit}/s")
    axes[0].set_ylabel(f"{unit}/s reached")
    failed = axes[0].twinx()
    failed.bar(rates, [t["failed_pct"] for t, _ in matched], width=max(rates) / 40,
               alpha=0.3, color="red")
    failed.set_ylabel("failed % via B2BUA")
    axes[0].legend(loc="upper left")
    for index, label in ((0, "B2BUA"), (1, "SIPp alone")):
        series = [pair[index]["latency_ms"] for pair in matched]
        axes[1].plot(rates, [s["p99"] for s in series], "o-", label=f"{label} p99")
        axes[1].plot(rates, [s["p50"] for s in series], "s--", label=f"{label} p50")
    axes[1].set_yscale("symlog", linthresh=1)
    axes[1].set_xlabel(f"target {unit}/s")
    axes[1].set_ylabel(f"{latency} (ms)")
    axes[1].legend()
    axes[2].plot(rates, [t["cpu_ms_each"] for t, _ in matched], "o-", label="B2BUA process")
    axes[2].plot(rates, [d["generator_ms_each"] for _, d in matched], "s--",
                 label="SIPp client + server alone")
    axes[2].set_xlabel(f"target {unit}/s")
    axes[2].set_ylabel("CPU ms each")
    axes[2].legend()
    figure.suptitle(title)
    figure.tight_layout()
    path = figure_path(command, directory)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)
