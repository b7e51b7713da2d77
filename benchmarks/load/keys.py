"""``keys``: keys pressed on employees' phones during calls: every one detected, none extra.

Two kinds of calls, ``calls`` of each, placed ``rate`` per second: the employee's phone (the
side registered as the extension: keys count only there) presses six keys as RFC 4733 events
(SIPp's own ``dtmf_2833_*.pcap``), or as in-band tones in PCMA audio
(``pcma_keys_inband.pcap``, generated here). The client sends no media. The B2BUA runs with no
in-call option bound to a key, so every key is detected, passed through and written to the
report as a ``key`` event; the benchmark reads the report (``call_events`` in the SQLite file)
and compares each call's keys with the ones pressed.

There is no SIPp-alone run: SIPp does not detect keys, and the figure is a count, not a cost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import procfs
from benchmarks.load.bench import Bench, CpuWindow, Options, bench
from benchmarks.load.office import B2buaProcess, OfficeSpec, free_udp_port
from benchmarks.load.pcap import INBAND_DIGITS, INBAND_PCAP, ensure_captures
from benchmarks.load.report import figure_path, pyplot, say, table, write_json
from benchmarks.load.sipp import SIPP_PCAPS, SippProcess

RFC4733_DIGITS = "159*#0"
"""SIPp's captures share one SSRC; in this order their sequence numbers increase (7984 ...
12080), as one phone's would. (Played as ``#`` then ``*``, the ``*`` capture's sequence
numbers run 39 back and a receiver rightly takes it for late packets.)"""
PCAP_NAMES = {"#": "pound", "*": "star"}


@dataclass(frozen=True)
class KeysSettings:
    calls: int = 20
    rate: float = 10.0
    hold_ms: int = 6500


def rfc4733_pcap(digit: str) -> Path:
    return SIPP_PCAPS / f"dtmf_2833_{PCAP_NAMES.get(digit, digit)}.pcap"


@dataclass
class KindResult:
    kind: str
    pressed: str
    calls: int
    answered: int
    keys_pressed: int
    keys_detected: int
    missed: int
    extra: int
    calls_exact: int
    sources: dict[str, int]
    b2bua_cpu_seconds: float

    @property
    def detected_pct(self) -> float:
        return 100 * (self.keys_pressed - self.missed) / self.keys_pressed if self.keys_pressed \
            else float("nan")


def compare_keys(pressed: str, detected: str) -> tuple[int, int]:
    """(missed, extra) between the keys pressed and the keys detected in one call, as
    multisets (the order is checked separately by ``calls_exact``)."""
    want, got = Counter(pressed), Counter(detected)
    return sum((want - got).values()), sum((got - want).values())


def call_keys(b2bua: B2buaProcess, since: float) -> dict[str, tuple[str, list[str]]]:
    """Per answered call started after `since`: (digits in order, their sources)."""
    database = f"file:{b2bua.data_dir / 'b2bua.sqlite3'}?mode=ro"
    with sqlite3.connect(database, uri=True, timeout=10) as db:
        calls = [row[0] for row in db.execute(
            "SELECT id FROM calls WHERE started_at >= ? AND disposition = 'answered'",
            (since,))]
        found: dict[str, tuple[str, list[str]]] = {call: ("", []) for call in calls}
        for call_id, detail in db.execute(
                "SELECT call_id, detail FROM call_events WHERE kind = 'key' AND call_id IN "
                f"({','.join('?' * len(calls))}) ORDER BY id", calls):
            event = json.loads(detail)
            if event.get("leg") != "employee":
                continue
            digits, sources = found[call_id]
            found[call_id] = (digits + event["digit"], sources + list(event.get("sources", [])))
    return found


def run_kind(b: Bench, b2bua: B2buaProcess, kind: str, first: int,
             settings: KeysSettings) -> KindResult:
    """Calls to employees first..first+calls-1, whose phone presses keys the `kind` way."""
    if kind == "rfc4733":
        pressed = RFC4733_DIGITS
        phone_args = [arg for i, digit in enumerate(pressed, 1)
                      for arg in ("-key", f"key{i}", str(rfc4733_pcap(digit)))]
        scenario = "uas_keys_rfc4733.xml"
    else:
        pressed = INBAND_DIGITS
        phone_args = ["-key", "pcap", str(INBAND_PCAP)]
        scenario = "uas_keys_inband.xml"
    phone = SippProcess(b.directory(f"phone-{kind}"), scenario, None,
                        media_port=free_udp_port(), args=phone_args).start()
    since = time.time()
    try:
        b.register(b2bua.address, settings.calls, f"127.0.0.1:{phone.port}",
                   name=f"register-{kind}", first=first)
        client = SippProcess(b.directory(f"client-{kind}"), "uac_load.xml", b2bua.address, args=[
            "-key", "caller", "79160000002", "-inf", str(b.numbers_file(settings.calls, first)),
            "-r", str(int(settings.rate)), "-m", str(settings.calls),
            "-d", str(settings.hold_ms), "-timeout", "120",
        ])
        cpu = CpuWindow(b2bua.pid).begin()
        client.start()
        client.wait(150)
        cpu.end()
        answered = client.counter("SuccessfulCall(C)")
    finally:
        phone.stop()
    time.sleep(1)
    found = call_keys(b2bua, since)
    missed = extra = exact = 0
    sources: Counter[str] = Counter()
    for digits, call_sources in found.values():
        lost, added = compare_keys(pressed, digits)
        missed += lost
        extra += added
        exact += digits == pressed
        sources.update(call_sources)
    missed += len(pressed) * max(0, settings.calls - len(found))
    return KindResult(kind, pressed, settings.calls, answered, len(pressed) * settings.calls,
                      sum(len(d) for d, _ in found.values()), missed, extra, exact,
                      dict(sources), cpu.seconds)


def run(options: Options, settings: KeysSettings) -> dict[str, Any]:
    ensure_captures()
    results: list[KindResult] = []
    with bench(options, "keys") as b:
        b2bua = b.b2bua(OfficeSpec(employees=2 * settings.calls))
        try:
            for index, kind in enumerate(("rfc4733", "inband")):
                say(f"{settings.calls} calls, keys as {kind}")
                result = run_kind(b, b2bua, kind, index * settings.calls, settings)
                say(f"  {result.keys_detected} of {result.keys_pressed} keys detected, "
                    f"{result.missed} missed, {result.extra} extra, {result.calls_exact}/"
                    f"{result.calls} calls exact")
                results.append(result)
            rss = procfs.rss_kib(b2bua.pid)
        finally:
            b2bua.stop()
    print(table(["kind", "keys pressed", "calls", "answered", "pressed", "detected", "missed",
                 "extra", "calls exact", "detected %", "sources"],
                [[r.kind, r.pressed, r.calls, r.answered, r.keys_pressed, r.keys_detected,
                  r.missed, r.extra, r.calls_exact, r.detected_pct,
                  ",".join(f"{k}:{v}" for k, v in sorted(r.sources.items()))]
                 for r in results]))
    perfect = all(r.missed == 0 and r.extra == 0 for r in results)
    print(f"every key detected and none extra: {'yes' if perfect else 'NO'}")
    return {"settings": asdict(settings), "verdict": {"every_key_once": perfect,
                                                      "rss_mib": rss / 1024},
            "kinds": [{**asdict(r), "detected_pct": r.detected_pct} for r in results]}


def plot(data: dict[str, Any], directory: Path) -> str:
    plt = pyplot()
    kinds = data["kinds"]
    figure, axis = plt.subplots(figsize=(7, 4))
    names = [k["kind"] for k in kinds]
    positions = range(len(names))
    axis.bar([p - 0.2 for p in positions], [k["keys_pressed"] for k in kinds], 0.2,
             label="pressed")
    axis.bar(list(positions), [k["keys_detected"] for k in kinds], 0.2, label="detected")
    axis.bar([p + 0.2 for p in positions], [k["extra"] for k in kinds], 0.2, label="extra")
    axis.bar([p + 0.4 for p in positions], [k["missed"] for k in kinds], 0.2, label="missed")
    axis.set_xticks(list(positions), names)
    axis.set_ylabel("keys")
    axis.legend()
    axis.set_title(f"Keys on the employee's leg: every key once = "
                   f"{'yes' if data['verdict']['every_key_once'] else 'no'}")
    figure.tight_layout()
    path = figure_path("keys", directory)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)


def main(options: Options, settings: KeysSettings) -> dict[str, Any]:
    data = run(options, settings)
    data["plot"] = plot(data, options.results_dir)
    path = write_json("keys", data, options.results_dir, options.describe_source())
    say(f"wrote {path} and {data['plot']}")
    return data
