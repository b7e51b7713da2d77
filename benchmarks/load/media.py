"""``media``: N concurrent calls relaying G.711 both ways, in-band key detection on.

SIPp places the calls and answers them as the employees' phones; the B2BUA relays every call
both ways and runs its in-band key detector on every employee leg (the default configuration),
so it receives and sends 100 packets/s per call. Who sends the audio is the ``generator``:

- ``stream`` (the default): SIPp's clients send no RTP. Each call's answer port is read from
  SIPp's log, and the benchmark's streamer (:mod:`benchmarks.load.stream`) sends 20 ms PCMA
  speech-like audio to it, with the send time in every payload; the phones' media is an echo
  of the same kind that sends every packet back. Every packet of every call is measured: loss,
  and round trip through the B2BUA twice (client -> phone -> client) from the send time to
  the kernel's receive time. Both use batched system calls, so 1,000 calls fit beside the
  B2BUA on a two-core machine; the B2BUA is pinned to the first CPU and the generator to the
  others (``pin``).
- ``sipp``: each SIPp client plays ``pcma_speech_20ms.pcap`` (a thread per call) and one SIPp
  ``-rtp_echo`` sends it back; a few probe calls carry the benchmark's own RTP and are the ones
  measured. SIPp's threads cap this at a few hundred calls here.

At each N the calls start at ``ramp_rate`` per second, settle, and are measured over
``window_seconds``: the B2BUA's CPU (% of one core; per call), RSS (and per call over idle),
datagrams its RTP sockets dropped (/proc/net/udp), loss and round trips, key events detected
in the speech (talk-off), and the load generator's CPU. Then the same N runs without the B2BUA
(client straight to the phone). An N is valid only while that run shows no loss. The B2BUA
holds an N when it is valid, nothing is lost through the B2BUA, its RTP sockets drop nothing,
and the round trip it adds has p99 under 5 ms; calls per core are extrapolated from its CPU per
call at the largest N it held.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import Bench, CpuWindow, Options, bench
from benchmarks.load.office import B2buaProcess, OfficeSpec, company_number, free_udp_port
from benchmarks.load.pcap import SCENARIOS, SPEECH_PCAP, SPEECH_SECONDS, ensure_captures
from benchmarks.load.probe import PortSink, ProbeFigures, RtpProbe
from benchmarks.load.profile import PySpy, print_summary
from benchmarks.load.report import figure_path, pyplot, run_name, say, table, write_json
from benchmarks.load.sipp import SippProcess
from benchmarks.load.stats import ratio, summarize
from benchmarks.load.stream import RtpEcho, RtpLoad

CLIENT_NUMBER = "79160000001"
CLIENT_MEDIA_PORT = 30000
"""SIPp clients advertise -mp + 4 per call: 30000-39999, above the B2BUA's RTP ports."""
RTP_PORTS = (10000, 29999)
TARGET_PER_CORE = 1000
TARGET_ADDED_P99_MS = 5.0


GENERATORS = ("stream", "sipp")


@dataclass(frozen=True)
class MediaSettings:
    counts: tuple[int, ...] = (200, 400, 600, 800, 1000)
    generator: str = "stream"
    """``stream``: every call's RTP from the batched streamer (RtpLoad); ``sipp``: SIPp plays
    a pcap per call (a thread each), and a few probe calls measure."""
    probes: int = 4
    ramp_rate: float = 100.0
    settle_seconds: float = 3.0
    window_seconds: float = 8.0
    inband: bool = True
    workers: int = 0
    """Media worker processes of the B2BUA; its CPU and RSS count all its processes."""
    pin: bool = True
    """With the streamer and no workers: the B2BUA gets the first CPU to itself and the load
    generator the others, so that 'per core' means one core."""


@dataclass
class MediaStep:
    path: str
    calls: int
    answered: int
    window_seconds: float
    b2bua_cpu_seconds: float
    generator_cpu_seconds: float
    b2bua_rss_kib: int
    rtp_drops: int
    phone_drops: int
    machine_core_pct: float
    probe_sent: int
    probe_lost: int
    round_trip_ms: dict[str, Any]
    talk_off_keys: int = 0
    relay: dict[str, int] = field(default_factory=dict)

    @property
    def b2bua_core_pct(self) -> float:
        return 100 * self.b2bua_cpu_seconds / self.window_seconds

    @property
    def generator_core_pct(self) -> float:
        return 100 * self.generator_cpu_seconds / self.window_seconds

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(b2bua_core_pct=self.b2bua_core_pct,
                    generator_core_pct=self.generator_core_pct)
        return data


def placement(settings: MediaSettings) -> tuple[set[int], set[int]] | None:
    """(the B2BUA's CPUs, the load generator's) when the run pins them."""
    cpus = sorted(os.sched_getaffinity(0))
    if not settings.pin or settings.generator != "stream" or settings.workers or len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def pin_generator(settings: MediaSettings, *pids: int) -> None:
    if (split := placement(settings)) is not None:
        procfs.pin(pids, split[1])


@dataclass
class Phones:
    """The employees' phones: one SIPp answering every call, and what echoes the media:
    SIPp itself (``-rtp_echo``) or, with the streamer, :class:`RtpEcho`."""

    sipp: SippProcess
    media_port: int
    echo: RtpEcho | None = None

    @classmethod
    def start(cls, b: Bench, generator: str) -> Phones:
        if generator == "sipp":
            port = free_udp_port()
            sipp = SippProcess(b.directory("phone"), "uas_load.xml", None, media_port=port,
                               args=["-rtp_echo"])
            return cls(sipp.start(), port)
        echo = RtpEcho()
        scenario = b.directory("scenarios") / "uas_echo.xml"  # answers with the echo's port
        scenario.write_text(
            (SCENARIOS / "uas_load.xml").read_text().replace("[media_port]", "[echo_port]"))
        sipp = SippProcess(b.directory("phone"), str(scenario), None,
                           args=["-key", "echo_port", str(echo.port)])
        return cls(sipp.start(), echo.port, echo)

    @property
    def pids(self) -> list[int]:
        return [self.sipp.pid] + ([self.echo.pid] if self.echo is not None else [])

    def stop(self) -> None:
        self.sipp.stop()
        if self.echo is not None:
            self.echo.close()


def hold_ms(calls: int, settings: MediaSettings) -> int:
    seconds = calls / settings.ramp_rate + settings.settle_seconds + settings.window_seconds + 3
    if settings.generator == "sipp" and seconds > SPEECH_SECONDS:
        raise ValueError(f"{calls} calls at {settings.ramp_rate}/s need {seconds:.0f} s of audio; "
                         f"the capture has {SPEECH_SECONDS:.0f} s: raise ramp_rate")
    return int(seconds * 1000)


def answer_ports(client: SippProcess) -> list[int]:
    """The media ports of the answers a client has logged so far, in call order."""
    return [int(line.rsplit(maxsplit=1)[-1]) for line in client.logs().splitlines()
            if "answer-port" in line]


def answer_port(probe_call: SippProcess, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ports := answer_ports(probe_call):
            return ports[0]
        time.sleep(0.1)
    return None


def media_step(b: Bench, path: str, calls: int, settings: MediaSettings, phone: Phones,
               b2bua: B2buaProcess, spy: PySpy | None = None) -> MediaStep:
    remote = b2bua.address if path == "b2bua" else f"127.0.0.1:{phone.sipp.port}"
    hold = hold_ms(calls, settings)
    sink = PortSink(CLIENT_MEDIA_PORT, calls + 1)
    client_args = [
        "-key", "caller", CLIENT_NUMBER, "-inf", str(b.numbers_file(calls)),
        "-r", str(int(settings.ramp_rate)), "-m", str(calls), "-d", str(hold),
        "-timeout", str(int(hold / 1000 + 60)), "-l", str(calls + 10),
    ]
    streamed = settings.generator == "stream"
    client = SippProcess(
        b.directory(f"{path}-{calls}"), "uac_hold.xml" if streamed else "uac_media.xml", remote,
        media_port=CLIENT_MEDIA_PORT,
        args=[*client_args, "-trace_logs"] if streamed else [
            *client_args, "-key", "pcap", str(SPEECH_PCAP)])
    keys_before = count_keys(b2bua)
    try:
        if streamed:
            step = streamed_calls(path, calls, settings, client, phone, b2bua, spy)
        else:
            step = played_calls(b, path, calls, settings, client, phone, b2bua, spy)
    finally:
        client.stop()
        sink.close()
    if path == "b2bua":
        time.sleep(1)  # the report rows of the last calls
        step.talk_off_keys = count_keys(b2bua) - keys_before
        step.relay = relay_counters(b2bua, calls + (0 if streamed else settings.probes))
    return step


def streamed_calls(path: str, calls: int, settings: MediaSettings, client: SippProcess,
                   phone: Phones, b2bua: B2buaProcess, spy: PySpy | None) -> MediaStep:
    """Every call's RTP from the streamer, aimed at each answer's port as the calls come up."""
    load = RtpLoad()
    try:
        client.start()
        pin_generator(settings, client.pid, load.pid)
        ramped = time.monotonic() + calls / settings.ramp_rate + settings.settle_seconds - 1
        while True:
            ports = answer_ports(client)
            if len(ports) > load.targets:
                load.aim([("127.0.0.1", port) for port in ports])
            if time.monotonic() >= ramped:
                break
            time.sleep(0.5)
        step = measured(path, calls, settings, load, client, phone, b2bua, spy, load.pid)
        client.wait(hold_ms(calls, settings) / 1000 + 90)  # streaming until the calls end
        return step
    finally:
        load.close()


def played_calls(b: Bench, path: str, calls: int, settings: MediaSettings, client: SippProcess,
                 phone: Phones, b2bua: B2buaProcess, spy: PySpy | None) -> MediaStep:
    """SIPp plays the audio of every call; a few probe calls of their own measure."""
    remote = client.remote
    hold = hold_ms(calls, settings)
    probe = RtpProbe(settings.probes)
    probe_calls = [
        SippProcess(b.directory(f"{path}-{calls}-probe{i}"), "uac_probe.xml", remote, args=[
            "-s", company_number(calls + i), "-key", "caller", f"7916555000{i}",
            "-key", "probe_port", str(port), "-m", "1", "-d", str(hold), "-trace_logs",
            "-timeout", str(int(hold / 1000 + 60)),
        ]) for i, port in enumerate(probe.ports)
    ]
    try:
        client.start()
        for index, probe_call in enumerate(probe_calls):
            probe_call.start()
            port = answer_port(probe_call, 10)
            if port is not None:
                probe.aim(index, ("127.0.0.1", port))
        probe.start()
        time.sleep(max(0.0, calls / settings.ramp_rate + settings.settle_seconds - 1))
        step = measured(path, calls, settings, probe, client, phone, b2bua, spy)
        client.wait(hold / 1000 + 90)
        for probe_call in probe_calls:
            probe_call.wait(30)
        return step
    finally:
        probe.close()
        for probe_call in probe_calls:
            probe_call.stop()


def measured(path: str, calls: int, settings: MediaSettings, probe: RtpProbe | RtpLoad,
             client: SippProcess, phone: Phones, b2bua: B2buaProcess,
             spy: PySpy | None, *generator_pids: int) -> MediaStep:
    """The measuring window once the calls are up, under py-spy if asked."""
    answered = client.counter("SuccessfulCall(C)") + int(
        client.last_stats().get("CurrentCall", 0) or 0)
    recording = (spy.record(b2bua.pid, f"b2bua-{calls}", settings.window_seconds)
                 if spy is not None and path == "b2bua" else None)
    step = measure_window(path, calls, answered, settings, probe, client, phone, b2bua,
                          *generator_pids)
    if recording is not None and spy is not None:
        spy.finish(recording)
    return step


def measure_window(path: str, calls: int, answered: int, settings: MediaSettings,
                   probe: RtpProbe | RtpLoad, client: SippProcess, phone: Phones,
                   b2bua: B2buaProcess, *generator_pids: int) -> MediaStep:
    ports = range(RTP_PORTS[0], RTP_PORTS[1] + 1)
    echo_ports = range(phone.media_port, phone.media_port + 3)
    processes = procfs.tree(b2bua.pid)
    service = CpuWindow(*(processes if path == "b2bua" else []))
    generator = CpuWindow(client.pid, *phone.pids, *generator_pids)
    machine = procfs.MachineWindow()
    drops = procfs.udp_drops(ports)
    echo_drops = procfs.udp_drops(echo_ports)
    started = time.monotonic()
    service.begin()
    generator.begin()
    machine.begin()
    figures: ProbeFigures = probe.measure(settings.window_seconds)
    service.end()
    generator.end()
    machine.end()
    window = time.monotonic() - started
    return MediaStep(
        path=path, calls=calls, answered=answered, window_seconds=window,
        b2bua_cpu_seconds=service.seconds if path == "b2bua" else math.nan,
        generator_cpu_seconds=generator.seconds,
        b2bua_rss_kib=procfs.total_rss_kib(processes),
        rtp_drops=procfs.udp_drops(ports) - drops if path == "b2bua" else 0,
        phone_drops=procfs.udp_drops(echo_ports) - echo_drops,
        machine_core_pct=machine.core_pct,
        probe_sent=figures.sent, probe_lost=figures.lost,
        round_trip_ms=summarize(figures.round_trips_ms).as_dict(4),
    )


def _store(b2bua: B2buaProcess) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{b2bua.data_dir / 'b2bua.sqlite3'}?mode=ro", uri=True,
                           timeout=10)


def count_keys(b2bua: B2buaProcess) -> int:
    with _store(b2bua) as db:
        return int(db.execute("SELECT count(*) FROM call_events WHERE kind = 'key'")
                   .fetchone()[0])


def relay_counters(b2bua: B2buaProcess, last: int) -> dict[str, int]:
    """Packets of the last `last` calls' media reports: what the B2BUA received from the
    client and sent to the phone, and back."""
    totals = {"client_in": 0, "phone_out": 0, "phone_in": 0, "client_out": 0}
    with _store(b2bua) as db:
        rows = db.execute("SELECT detail FROM call_events WHERE kind = 'media' "
                          "ORDER BY id DESC LIMIT ?", (last,)).fetchall()
    for (detail,) in rows:
        media = json.loads(detail)
        caller, callee = media.get("caller", {}), media.get("callee", {})
        totals["client_in"] += caller.get("received", 0)
        totals["client_out"] += caller.get("sent", 0)
        totals["phone_in"] += callee.get("received", 0)
        totals["phone_out"] += callee.get("sent", 0)
    return totals


def run(options: Options, settings: MediaSettings) -> dict[str, Any]:
    ensure_captures()
    largest = max(settings.counts)
    steps: list[MediaStep] = []
    spy = PySpy(options.py_spy / "media") if options.py_spy else None
    with bench(options, "media") as b:
        employees = largest + settings.probes
        b2bua = b.b2bua(OfficeSpec(employees=employees, inband_detection=settings.inband,
                                   rtp_first=RTP_PORTS[0], rtp_last=RTP_PORTS[1],
                                   workers=settings.workers))
        phone = Phones.start(b, settings.generator)
        pin_generator(settings, *phone.pids)
        if (split := placement(settings)) is not None:
            procfs.pin(procfs.tree(b2bua.pid), split[0])
            say(f"B2BUA pinned to CPU {min(split[0])}, the load generator to the others")
        try:
            b.register(b2bua.address, employees, f"127.0.0.1:{phone.sipp.port}")
            idle_rss = procfs.total_rss_kib(procfs.tree(b2bua.pid))
            for calls in settings.counts:
                for path in ("b2bua", "direct"):
                    say(f"{calls} calls with media, {path}")
                    step = media_step(b, path, calls, settings, phone, b2bua, spy)
                    progress(step)
                    steps.append(step)
                    time.sleep(2)
        finally:
            phone.stop()
            b2bua.stop()
    data = verdict(settings, [s.as_dict() for s in steps], idle_rss)
    held = data["verdict"].get("largest_held_calls")
    summary = spy.summary(f"b2bua-{held}") if spy is not None and held else None
    if summary is not None:
        print_summary(summary, f"py-spy, B2BUA relaying {held} calls")
        data["profile"] = asdict(summary)
    return data


def progress(step: MediaStep) -> None:
    rtt = step.round_trip_ms
    cpu = (f"b2bua {step.b2bua_core_pct:.0f}% of a core, " if step.path == "b2bua" else "")
    say(f"  {step.path}: {step.answered}/{step.calls} up, {cpu}load generator "
        f"{step.generator_core_pct:.0f}%, machine {step.machine_core_pct:.0f}% of 200, probe "
        f"{step.probe_lost}/{step.probe_sent} lost, round trip p50 {rtt['p50']} p99 "
        f"{rtt['p99']} ms, drops: B2BUA {step.rtp_drops}, phone {step.phone_drops}")


def per_call_rows(steps: list[dict[str, Any]], idle_rss: int) -> list[dict[str, Any]]:
    direct = {s["calls"]: s for s in steps if s["path"] == "direct"}
    rows = []
    for through in (s for s in steps if s["path"] == "b2bua"):
        alone = direct.get(through["calls"])
        if alone is None:
            continue
        calls = through["calls"]
        relay = through["relay"]
        forwarded = relay.get("phone_out", 0) + relay.get("client_out", 0)
        taken = relay.get("client_in", 0) + relay.get("phone_in", 0)
        rows.append({
            "calls": calls,
            "b2bua_core_pct": through["b2bua_core_pct"],
            "core_pct_per_call": through["b2bua_core_pct"] / calls,
            "calls_per_core": 100 * calls / through["b2bua_core_pct"]
            if through["b2bua_core_pct"] else math.nan,
            "rss_kib_per_call": (through["b2bua_rss_kib"] - idle_rss) / calls,
            "rtp_drops": through["rtp_drops"],
            "phone_drops": through["phone_drops"],
            "sipp_phone_drops": alone["phone_drops"],
            "machine_core_pct": through["machine_core_pct"],
            "sipp_machine_core_pct": alone["machine_core_pct"],
            "probe_loss_pct": 100 * through["probe_lost"] / max(1, through["probe_sent"]),
            "sipp_probe_loss_pct": 100 * alone["probe_lost"] / max(1, alone["probe_sent"]),
            "relay_loss_pct": 100 * (taken - forwarded) / taken if taken else math.nan,
            "rtt_p50_ms": through["round_trip_ms"]["p50"],
            "rtt_p99_ms": through["round_trip_ms"]["p99"],
            "sipp_rtt_p50_ms": alone["round_trip_ms"]["p50"],
            "sipp_rtt_p99_ms": alone["round_trip_ms"]["p99"],
            "added_p50_ms": through["round_trip_ms"]["p50"] - alone["round_trip_ms"]["p50"],
            "added_p99_ms": through["round_trip_ms"]["p99"] - alone["round_trip_ms"]["p99"],
            "sipp_core_pct": alone["generator_core_pct"],
            "cpu_ratio": ratio(through["b2bua_core_pct"], alone["generator_core_pct"]),
            "talk_off_keys": through["talk_off_keys"],
            "generator_ok": (alone["probe_lost"] == 0 and alone["answered"] >= calls
                             and alone["phone_drops"] == 0),
        })
        row = rows[-1]
        row["held"] = (row["generator_ok"] and through["answered"] >= calls
                       and through["probe_lost"] == 0 and through["rtp_drops"] == 0
                       and row["added_p99_ms"] < TARGET_ADDED_P99_MS)
    return rows


def verdict(settings: MediaSettings, steps: list[dict[str, Any]], idle_rss: int
            ) -> dict[str, Any]:
    rows = per_call_rows(steps, idle_rss)
    print(table(["calls", "b2bua core%", "core% /call", "calls/core", "KiB/call", "rtp drops",
                 "phone drops", "probe loss%", "sipp loss%", "relay loss%", "rtt p50", "rtt p99",
                 "sipp p50", "sipp p99", "added p50", "added p99", "sipp core%", "cpu ratio",
                 "machine%", "talk-off keys", "sipp ok", "held"],
                [[r["calls"], r["b2bua_core_pct"], r["core_pct_per_call"], r["calls_per_core"],
                  r["rss_kib_per_call"], r["rtp_drops"], r["phone_drops"], r["probe_loss_pct"],
                  r["sipp_probe_loss_pct"], r["relay_loss_pct"], r["rtt_p50_ms"],
                  r["rtt_p99_ms"], r["sipp_rtt_p50_ms"], r["sipp_rtt_p99_ms"],
                  r["added_p50_ms"], r["added_p99_ms"], r["sipp_core_pct"], r["cpu_ratio"],
                  r["machine_core_pct"], r["talk_off_keys"], "yes" if r["generator_ok"] else "no",
                  "yes" if r["held"] else "no"] for r in rows], digits=3))
    print("(round trips in ms: client -> B2BUA -> phone echo -> B2BUA -> client, vs client -> "
          "phone echo -> client without the B2BUA ('sipp' columns); 'added' is the difference, "
          "two passes through the B2BUA; cpu ratio: B2BUA's CPU over the load generator's at "
          "the same N; machine%: /proc/stat's busy time of the machine, of 200% for two cores "
          "(only indicative on some VMs); phone drops: datagrams the echoing phone's socket "
          "dropped)")
    summary: dict[str, Any] = {"target_calls_per_core": TARGET_PER_CORE,
                               "target_added_p99_ms": TARGET_ADDED_P99_MS,
                               "idle_rss_mib": idle_rss / 1024}
    valid = [r for r in rows if r["generator_ok"]]
    held = [r for r in valid if r["held"]]
    if valid:
        summary["largest_valid_calls"] = max(r["calls"] for r in valid)
    if held:
        best = max(held, key=lambda r: r["calls"])
        summary.update(
            largest_held_calls=best["calls"],
            core_pct_per_call=best["core_pct_per_call"],
            calls_per_core_extrapolated=best["calls_per_core"],
            added_p50_ms=best["added_p50_ms"],
            added_p99_ms=best["added_p99_ms"],
            rss_kib_per_call=best["rss_kib_per_call"],
            meets_per_core=best["calls_per_core"] >= TARGET_PER_CORE,
        )
        print(f"largest N the B2BUA held (no loss, no drops, added p99 < "
              f"{TARGET_ADDED_P99_MS:g} ms, clean without the B2BUA): {best['calls']} calls, at "
              f"{best['core_pct_per_call']:.3f}% of a core per call: about "
              f"{best['calls_per_core']:.0f} relayed calls per core, an extrapolation from "
              f"{best['calls']} calls (target {TARGET_PER_CORE}); added round trip p50 "
              f"{best['added_p50_ms']:.2f} ms, p99 {best['added_p99_ms']:.2f} ms")
    else:
        print("the B2BUA held none of the sizes tried")
    failed = [r for r in valid if not r["held"]]
    if failed:
        first = min(failed, key=lambda r: r["calls"])
        summary["smallest_not_held_calls"] = first["calls"]
        print(f"not held from {first['calls']} calls: probe loss {first['probe_loss_pct']:.2f}%,"
              f" drops at the B2BUA's sockets {first['rtp_drops']} and the phone's "
              f"{first['phone_drops']}, added round trip p99 {first['added_p99_ms']:.1f} ms; "
              f"B2BUA at {first['b2bua_core_pct']:.0f}% of a core, load generator at "
              f"{first['sipp_core_pct']:.0f}%")
    return {"settings": asdict(settings), "verdict": summary, "rows": rows, "steps": steps}


def plot(data: dict[str, Any], directory: Path) -> str:
    plt = pyplot()
    rows = data["rows"]
    calls = [r["calls"] for r in rows]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    axes[0].plot(calls, [r["b2bua_core_pct"] for r in rows], "o-", label="B2BUA")
    axes[0].plot(calls, [r["sipp_core_pct"] for r in rows], "s--",
                 label="load generator (SIPp, RTP sender, echo)")
    axes[0].set_xlabel("concurrent calls")
    axes[0].set_ylabel("% of one core")
    axes[0].legend()
    axes[1].plot(calls, [r["calls_per_core"] for r in rows], "o-",
                 label="B2BUA: calls per core (extrapolated)")
    axes[1].axhline(TARGET_PER_CORE, color="grey", linestyle=":", label="target")
    axes[1].set_xlabel("concurrent calls measured")
    axes[1].set_ylabel("calls per core")
    axes[1].legend()
    for key, label, style in (("rtt_p99_ms", "via B2BUA p99", "o-"),
                              ("rtt_p50_ms", "via B2BUA p50", "o--"),
                              ("sipp_rtt_p99_ms", "without the B2BUA p99", "s-"),
                              ("sipp_rtt_p50_ms", "without the B2BUA p50", "s--")):
        axes[2].plot(calls, [r[key] for r in rows], style, label=label)
    axes[2].set_yscale("symlog", linthresh=1)
    axes[2].set_xlabel("concurrent calls")
    axes[2].set_ylabel("RTP round trip (ms)")
    axes[2].legend()
    verdict = data["verdict"]
    figure.suptitle(f"Relayed G.711 calls with in-band key detection: "
                    f"~{verdict.get('calls_per_core_extrapolated', math.nan):.0f} calls per core "
                    f"(extrapolated from {verdict.get('largest_held_calls', 0)}), added p99 "
                    f"{verdict.get('added_p99_ms', math.nan):.2f} ms")
    figure.tight_layout()
    path = figure_path(run_name("media", data["settings"]["workers"]), directory)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)


def main(options: Options, settings: MediaSettings) -> dict[str, Any]:
    data = run(options, settings)
    data["plot"] = plot(data, options.results_dir)
    path = write_json(run_name("media", settings.workers), data, options.results_dir,
                      options.describe_source())
    say(f"wrote {path} and {data['plot']}")
    return data
