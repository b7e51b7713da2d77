"""``soak``: a long run at a moderate call rate with media; does the B2BUA's memory grow?

Calls arrive at ``rate`` per second and last ``hold_seconds``, each playing speech-like PCMA
(echoed by the phone, relayed both ways, in-band detection on): about rate * hold calls at
once, for ``minutes``. The B2BUA's RSS and CPU are sampled every ``sample_seconds``. Growth
is judged after ``warmup_minutes``: the least-squares slope of RSS (MiB per minute) and the
difference between the first and the last sample after warm-up. Then SIPp alone runs the same
load for ``direct_minutes`` (shorter: only its CPU is compared).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import CpuWindow, Options, bench
from benchmarks.load.media import CLIENT_MEDIA_PORT, RTP_PORTS
from benchmarks.load.office import OfficeSpec, free_udp_port
from benchmarks.load.pcap import SPEECH_PCAP, SPEECH_SECONDS, ensure_captures
from benchmarks.load.probe import PortSink
from benchmarks.load.report import figure_path, pyplot, run_name, say, table, write_json
from benchmarks.load.sipp import SippProcess
from benchmarks.load.stats import ratio, slope


@dataclass(frozen=True)
class SoakSettings:
    minutes: float = 10.0
    rate: float = 10.0
    hold_seconds: float = 20.0
    sample_seconds: float = 10.0
    warmup_minutes: float = 2.0
    direct_minutes: float = 0.5
    workers: int = 0
    """Media worker processes of the B2BUA (RSS and CPU count all its processes)."""

    @property
    def employees(self) -> int:
        return int(self.rate * (self.hold_seconds + 10) * 1.5) + 10


def growth(samples: list[procfs.Sample], warmup_seconds: float) -> dict[str, float]:
    """RSS growth after warm-up: slope (MiB/min) and last minus first (MiB)."""
    if not samples:
        return {"slope_mib_per_min": math.nan, "after_warmup_mib": math.nan}
    start = samples[0].at
    steady = [s for s in samples if s.at - start >= warmup_seconds]
    if len(steady) < 2:
        return {"slope_mib_per_min": math.nan, "after_warmup_mib": math.nan}
    minutes = [(s.at - start) / 60 for s in steady]
    mib = [s.rss_kib / 1024 for s in steady]
    return {"slope_mib_per_min": slope(minutes, mib), "after_warmup_mib": mib[-1] - mib[0],
            "first_after_warmup_mib": mib[0], "last_mib": mib[-1],
            "peak_mib": max(s.rss_kib for s in samples) / 1024}


def client_args(settings: SoakSettings, numbers: Path, minutes: float) -> list[str]:
    calls = int(settings.rate * minutes * 60)
    return ["-key", "caller", "79160000003", "-key", "pcap", str(SPEECH_PCAP),
            "-inf", str(numbers), "-r", str(settings.rate), "-m", str(calls),
            "-d", str(int(settings.hold_seconds * 1000)),
            "-timeout", str(int(minutes * 60 + settings.hold_seconds + 60))]


def run(options: Options, settings: SoakSettings) -> dict[str, Any]:
    if settings.hold_seconds > SPEECH_SECONDS:
        raise ValueError(f"calls can hold at most {SPEECH_SECONDS:.0f} s (the capture's length)")
    ensure_captures()
    with bench(options, "soak") as b:
        b2bua = b.b2bua(OfficeSpec(employees=settings.employees, rtp_first=RTP_PORTS[0],
                                   rtp_last=RTP_PORTS[1], workers=settings.workers))
        phone = SippProcess(b.directory("phone"), "uas_load.xml", None,
                            media_port=free_udp_port(), args=["-rtp_echo"]).start()
        sink = PortSink(CLIENT_MEDIA_PORT, 2500)
        numbers = b.numbers_file(settings.employees)
        try:
            b.register(b2bua.address, settings.employees, f"127.0.0.1:{phone.port}")
            idle = procfs.sample(b2bua.pid)
            say(f"soak: {settings.rate:g} calls/s of {settings.hold_seconds:g} s for "
                f"{settings.minutes:g} min, RSS {idle.rss_kib / 1024:.1f} MiB idle")
            client = SippProcess(b.directory("b2bua"), "uac_media.xml", b2bua.address,
                                 media_port=CLIENT_MEDIA_PORT,
                                 args=client_args(settings, numbers, settings.minutes))
            sampler = procfs.Sampler(b2bua.pid, settings.sample_seconds)
            generator = CpuWindow(phone.pid, children=True).begin()
            machine = procfs.MachineWindow().begin()
            client.start()
            sampler.start()
            watch(client, sampler, settings)
            client.wait(settings.hold_seconds + 120)
            generator.end()
            machine.end()
            samples = sampler.stop()
            outcome: dict[str, float] = {"successful": client.counter("SuccessfulCall(C)"),
                       "failed": client.counter("FailedCall(C)")}
            say(f"direct: SIPp alone for {settings.direct_minutes:g} min")
            direct = SippProcess(b.directory("direct"), "uac_media.xml",
                                 f"127.0.0.1:{phone.port}", media_port=CLIENT_MEDIA_PORT,
                                 args=client_args(settings, numbers, settings.direct_minutes))
            direct_cpu = CpuWindow(phone.pid, children=True).begin()
            started = time.monotonic()
            direct.start()
            direct.wait(settings.direct_minutes * 60 + settings.hold_seconds + 120)
            direct_cpu.end()
            direct_wall = time.monotonic() - started
        finally:
            sink.close()
            phone.stop()
            b2bua.stop()
    outcome["machine_core_pct"] = machine.core_pct
    return verdict(settings, idle, samples, outcome, generator.seconds,
                   direct_cpu.seconds / direct_wall)


def watch(client: SippProcess, sampler: procfs.Sampler, settings: SoakSettings) -> None:
    """Print the RSS once a minute while the client runs."""
    shown = 0
    while client.running():
        time.sleep(1)
        samples = sampler.samples
        minute = int((samples[-1].at - samples[0].at) / 60) if samples else 0
        if samples and minute > shown:
            shown = minute
            say(f"  minute {minute}: RSS {samples[-1].rss_kib / 1024:.1f} MiB, "
                f"{client.counter('SuccessfulCall(C)')} calls done, "
                f"{client.counter('FailedCall(C)')} failed")


def verdict(settings: SoakSettings, idle: procfs.Sample, samples: list[procfs.Sample],
            outcome: dict[str, float], generator_cpu: float, direct_core: float
            ) -> dict[str, Any]:
    figures = growth(samples, settings.warmup_minutes * 60)
    wall = samples[-1].at - samples[0].at if len(samples) > 1 else math.nan
    b2bua_core = (samples[-1].cpu - samples[0].cpu) / wall if len(samples) > 1 else math.nan
    generator_core = generator_cpu / wall if wall else math.nan
    grows = figures["slope_mib_per_min"] > 0.5 or figures["after_warmup_mib"] > 5
    print(table(["minutes", "calls ok", "failed", "idle MiB", "after warm-up MiB", "last MiB",
                 "peak MiB", "growth MiB", "slope MiB/min", "b2bua core%", "sipp core%",
                 "sipp alone core%", "cpu ratio", "machine%"],
                [[settings.minutes, outcome["successful"], outcome["failed"],
                  idle.rss_kib / 1024, figures.get("first_after_warmup_mib"),
                  figures.get("last_mib"), figures.get("peak_mib"),
                  figures["after_warmup_mib"], figures["slope_mib_per_min"],
                  100 * b2bua_core, 100 * generator_core, 100 * direct_core,
                  ratio(b2bua_core, direct_core), outcome["machine_core_pct"]]]))
    print(f"RSS after warm-up ({settings.warmup_minutes:g} min): "
          f"{figures['after_warmup_mib']:+.1f} MiB over the rest of the run "
          f"({figures['slope_mib_per_min']:+.2f} MiB/min): "
          f"{'GROWS' if grows else 'no growth'}")
    return {
        "settings": asdict(settings),
        "verdict": {**figures, "grows": grows, "idle_mib": idle.rss_kib / 1024,
                    "b2bua_core_pct": 100 * b2bua_core, "sipp_core_pct": 100 * generator_core,
                    "sipp_alone_core_pct": 100 * direct_core, **outcome},
        "samples": [{"seconds": round(s.at - samples[0].at, 1), "rss_kib": s.rss_kib,
                     "cpu_seconds": round(s.cpu - samples[0].cpu, 2)} for s in samples],
    }


def plot(data: dict[str, Any], directory: Path) -> str:
    plt = pyplot()
    samples = data["samples"]
    minutes = [s["seconds"] / 60 for s in samples]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].plot(minutes, [s["rss_kib"] / 1024 for s in samples], "o-", markersize=3)
    axes[0].axvline(data["settings"]["warmup_minutes"], color="grey", linestyle=":",
                    label="end of warm-up")
    axes[0].set_xlabel("minutes")
    axes[0].set_ylabel("B2BUA RSS (MiB)")
    axes[0].legend()
    cpu = [s["cpu_seconds"] for s in samples]
    seconds = [s["seconds"] for s in samples]
    load = [100 * (cpu[i] - cpu[i - 1]) / (seconds[i] - seconds[i - 1])
            for i in range(1, len(samples))]
    axes[1].plot(minutes[1:], load, "o-", markersize=3)
    axes[1].set_xlabel("minutes")
    axes[1].set_ylabel("B2BUA CPU (% of a core)")
    verdict = data["verdict"]
    settings = data["settings"]
    figure.suptitle(f"Soak: {settings['rate']:g} calls/s of {settings['hold_seconds']:g} s with "
                    f"media for {settings['minutes']:g} min: RSS "
                    f"{verdict['after_warmup_mib']:+.1f} MiB after warm-up")
    figure.tight_layout()
    path = figure_path(run_name("soak", data["settings"]["workers"]), directory)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)


def main(options: Options, settings: SoakSettings) -> dict[str, Any]:
    data = run(options, settings)
    data["plot"] = plot(data, options.results_dir)
    path = write_json(run_name("soak", settings.workers), data, options.results_dir,
                      options.describe_source())
    say(f"wrote {path} and {data['plot']}")
    return data
