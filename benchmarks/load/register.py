"""``register``: a registration storm, the highest REGISTER rate held with < 0.5 % failures.

Many distinct extensions (``employees``, each with its password in the configuration)
register through SIPp, each registration answering the B2BUA's MD5 digest challenge (two
transactions: REGISTER -> 401, REGISTER with credentials -> 200). A step sends
``rate * step_seconds`` registrations at ``rate``, going round the extensions (a repeated one
refreshes its binding). The baseline is SIPp's own registrar (``uas_registrar.xml``: it
challenges and accepts without checking the digest) at the same rates.

Latency: the authorized REGISTER to its 200 (SIPp ``-trace_rtt``, whole milliseconds).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import Options, bench
from benchmarks.load.office import OfficeSpec
from benchmarks.load.profile import PySpy, print_summary
from benchmarks.load.report import say, write_json
from benchmarks.load.sipp import SippProcess
from benchmarks.load.stats import RateSearch
from benchmarks.load.steps import MAX_FAILED, StepResult, plot_steps, print_steps, run_step, search


@dataclass(frozen=True)
class RegisterSettings:
    employees: int = 2000
    ladder: tuple[float, ...] = (250, 500, 1000, 1500, 2000, 3000, 4000)
    step_seconds: float = 5.0
    resolution: float = 0.1
    max_steps: int = 7
    settle_seconds: float = 1.0


def run(options: Options, settings: RegisterSettings) -> dict[str, Any]:
    spy = PySpy(options.py_spy / "register") if options.py_spy else None
    with bench(options, "register") as b:
        b2bua = b.b2bua(OfficeSpec(employees=settings.employees))
        registrar = SippProcess(b.directory("sipp-registrar"), "uas_registrar.xml", None).start()
        users = b.users_file(settings.employees)
        timeout = settings.step_seconds + 60

        def step(path: str, rate: float) -> StepResult:
            remote = b2bua.address if path == "b2bua" else f"127.0.0.1:{registrar.port}"
            client = SippProcess(b.directory(f"{path}-{int(rate)}"), "register_load.xml",
                                 remote, trace_rtt=True, args=[
                "-inf", str(users), "-key", "contact", "127.0.0.1:5999",
                "-key", "expires", "3600", "-nd",
                "-r", str(int(rate)), "-m", str(max(1, round(rate * settings.step_seconds))),
                "-timeout", str(int(timeout)),
            ])
            return run_step(client, path=path, rate=rate, rtd="register", timeout=timeout + 30,
                            generator_pids=[registrar.pid],
                            b2bua=b2bua if path == "b2bua" else None, spy=spy)

        try:
            idle_rss = procfs.rss_kib(b2bua.pid)
            ladder = RateSearch(settings.ladder, settings.resolution, settings.max_steps)
            steps, best = search(step, ladder, "registrations", settings.settle_seconds)
        finally:
            registrar.stop()
            b2bua.stop()
    data = verdict(settings, [s.as_dict() for s in steps], best, idle_rss)
    if spy is not None and best:
        summary = spy.summary(f"b2bua-{int(best)}")
        if summary is not None:
            print_summary(summary, f"py-spy, B2BUA at {best:.0f} registrations/s")
            data["profile"] = asdict(summary)
    return data


def verdict(settings: RegisterSettings, steps: list[dict[str, Any]], best: float,
            idle_rss: int) -> dict[str, Any]:
    print_steps(steps, "registrations", "REGISTER→200")
    at_best = next((s for s in steps if s["path"] == "b2bua" and s["target_rate"] == best), None)
    direct = next((s for s in steps if s["path"] == "direct" and s["target_rate"] == best), None)
    summary = {
        "highest_rate_held": best,
        "extensions": settings.employees,
        "cpu_ms_per_registration_at_highest": at_best["cpu_ms_each"] if at_best else math.nan,
        "sipp_cpu_ms_per_registration_at_highest": (direct["generator_ms_each"]
                                                    if direct else math.nan),
        "p99_ms_at_highest": at_best["latency_ms"]["p99"] if at_best else math.nan,
        "sipp_p99_ms_at_highest": direct["latency_ms"]["p99"] if direct else math.nan,
        "idle_rss_mib": idle_rss / 1024,
    }
    print(f"highest registration rate held (< {100 * MAX_FAILED}% failed, "
          f"{settings.employees} extensions): {best:.0f}/s; at that rate "
          f"{summary['cpu_ms_per_registration_at_highest']:.2f} ms CPU per registration "
          f"(SIPp alone {summary['sipp_cpu_ms_per_registration_at_highest']:.2f} ms), "
          f"p99 {summary['p99_ms_at_highest']} ms (SIPp alone {summary['sipp_p99_ms_at_highest']}"
          " ms)")
    return {"settings": asdict(settings), "verdict": summary, "steps": steps}


def main(options: Options, settings: RegisterSettings) -> dict[str, Any]:
    data = run(options, settings)
    data["plot"] = plot_steps(
        data, options.results_dir, "register", "registrations", "REGISTER→200",
        f"Registration storm, {settings.employees} extensions with MD5 digest: "
        f"{data['verdict']['highest_rate_held']:.0f}/s held (< 0.5 % failed)")
    path = write_json("register", data, options.results_dir, options.describe_source())
    say(f"wrote {path} and {data['plot']}")
    return data
