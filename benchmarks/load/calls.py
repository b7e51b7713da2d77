"""``calls``: the highest call rate one B2BUA process holds with < 0.5 % failed calls.

SIPp clients call company numbers (one per employee, in turn: an employee in a call is busy);
every employee is registered by one SIPp phone that rings and answers at once. Calls carry SDP
(the B2BUA anchors media on its own ports) but no RTP, hold for ``hold_ms`` and hang up. Rates
climb a ladder, then are bisected between the highest that held and the lowest that failed.
Each rate is run through the B2BUA, then by the same clients straight to the phone (SIPp alone).

Per step: calls, failed %, rate reached (answers per second between the first and the last),
setup latency INVITE -> 200 (SIPp ``-trace_rtt``: whole milliseconds), CPU ms per call of the
B2BUA (user + system from /proc) and of SIPp, the B2BUA's RSS, datagrams its SIP socket
dropped (/proc/net/udp).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import Options, bench
from benchmarks.load.office import OfficeSpec, free_udp_port
from benchmarks.load.profile import PySpy, print_summary
from benchmarks.load.report import run_name, say, write_json
from benchmarks.load.sipp import SippProcess
from benchmarks.load.stats import RateSearch
from benchmarks.load.steps import MAX_FAILED, StepResult, plot_steps, print_steps, run_step, search

CLIENT_NUMBER = "79160000000"
TARGET_RATE = 1500


@dataclass(frozen=True)
class CallsSettings:
    ladder: tuple[float, ...] = (100, 200, 400, 800, 1200, 1600)
    step_seconds: float = 8.0
    hold_ms: int = 1000
    employees: int = 2000
    """Each number is called again after employees / rate seconds; it must be free by then
    (hold + setup), so 2,000 employees carry up to ~1,600 calls/s with 1 s calls."""
    resolution: float = 0.1
    max_steps: int = 7
    settle_seconds: float = 2.0
    workers: int = 0
    """Media worker processes of the B2BUA (its CPU counts all its processes)."""


def run(options: Options, settings: CallsSettings) -> dict[str, Any]:
    spy = PySpy(options.py_spy / "calls") if options.py_spy else None
    with bench(options, "calls") as b:
        b2bua = b.b2bua(OfficeSpec(employees=settings.employees, workers=settings.workers))
        phone = SippProcess(b.directory("phone"), "uas_load.xml", None,
                            media_port=free_udp_port()).start()
        numbers = b.numbers_file(settings.employees)
        timeout = settings.step_seconds + settings.hold_ms / 1000 + 60

        def step(path: str, rate: float) -> StepResult:
            remote = b2bua.address if path == "b2bua" else f"127.0.0.1:{phone.port}"
            client = SippProcess(b.directory(f"{path}-{int(rate)}"), "uac_load.xml", remote,
                                 trace_rtt=True, args=[
                "-key", "caller", CLIENT_NUMBER, "-inf", str(numbers),
                "-r", str(int(rate)), "-m", str(max(1, round(rate * settings.step_seconds))),
                "-d", str(settings.hold_ms), "-timeout", str(int(timeout)),
            ])
            return run_step(client, path=path, rate=rate, rtd="setup", timeout=timeout + 30,
                            generator_pids=[phone.pid],
                            b2bua=b2bua if path == "b2bua" else None, spy=spy)

        try:
            say(f"registering {settings.employees} employees at the phone {phone.port}")
            b.register(b2bua.address, settings.employees, f"127.0.0.1:{phone.port}")
            idle_rss = procfs.rss_kib(b2bua.pid)
            ladder = RateSearch(settings.ladder, settings.resolution, settings.max_steps)
            steps, best = search(step, ladder, "calls", settings.settle_seconds)
        finally:
            phone.stop()
            b2bua.stop()
    data = verdict(settings, [s.as_dict() for s in steps], best, idle_rss)
    if spy is not None and best:
        summary = spy.summary(f"b2bua-{int(best)}")
        if summary is not None:
            print_summary(summary, f"py-spy, B2BUA at {best:.0f} calls/s")
            data["profile"] = asdict(summary)
    return data


def verdict(settings: CallsSettings, steps: list[dict[str, Any]], best: float,
            idle_rss: int) -> dict[str, Any]:
    print_steps(steps, "calls", "setup")
    at_best = next((s for s in steps if s["path"] == "b2bua" and s["target_rate"] == best), None)
    direct = next((s for s in steps if s["path"] == "direct" and s["target_rate"] == best), None)
    summary = {
        "highest_rate_held": best,
        "target_rate": TARGET_RATE,
        "meets_target": best >= TARGET_RATE,
        "cpu_ms_per_call_at_highest": at_best["cpu_ms_each"] if at_best else math.nan,
        "sipp_cpu_ms_per_call_at_highest": direct["generator_ms_each"] if direct else math.nan,
        "setup_p50_ms_at_highest": at_best["latency_ms"]["p50"] if at_best else math.nan,
        "setup_p99_ms_at_highest": at_best["latency_ms"]["p99"] if at_best else math.nan,
        "sipp_setup_p99_ms_at_highest": direct["latency_ms"]["p99"] if direct else math.nan,
        "rss_mib_at_highest": at_best["b2bua_rss_kib"] / 1024 if at_best else math.nan,
        "idle_rss_mib": idle_rss / 1024,
        "calls_per_core_second_at_highest": (1000 / at_best["cpu_ms_each"]
                                             if at_best and at_best["cpu_ms_each"] else math.nan),
    }
    print(f"highest rate held (< {100 * MAX_FAILED}% failed): {best:.0f} calls/s, target "
          f"{TARGET_RATE}: {'met' if summary['meets_target'] else 'NOT met'}; at that rate "
          f"{summary['cpu_ms_per_call_at_highest']:.2f} ms CPU per call (one core would do "
          f"{summary['calls_per_core_second_at_highest']:.0f} calls/s), setup p99 "
          f"{summary['setup_p99_ms_at_highest']} ms (SIPp alone "
          f"{summary['sipp_setup_p99_ms_at_highest']} ms)")
    return {"settings": asdict(settings), "verdict": summary, "steps": steps}


def main(options: Options, settings: CallsSettings) -> dict[str, Any]:
    data = run(options, settings)
    name = run_name("calls", settings.workers)
    data["plot"] = plot_steps(
        data, options.results_dir, name, "calls", "setup INVITE→200",
        f"Calls without media through one B2BUA process: "
        f"{data['verdict']['highest_rate_held']:.0f} calls/s held (< 0.5 % failed; "
        f"target {TARGET_RATE})")
    path = write_json(name, data, options.results_dir, options.describe_source())
    say(f"wrote {path} and {data['plot']}")
    return data
