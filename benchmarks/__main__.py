"""SIPp load benchmarks of the B2BUA, side by side with SIPp alone.

    python -m benchmarks register|calls|media|soak|keys|all [options]

Every command starts its own ``b2bua serve`` (a generated office: UDP on 127.0.0.1, a large
RTP port range, every employee with a password), registers SIPp phones, drives SIPp, measures
the B2BUA process from /proc, runs the same load against SIPp alone in the same run, prints a
table with the B2BUA's figures and their ratios to SIPp's, and writes
``benchmarks/results/<command>-<date>.json`` and ``.png``. Traffic stays on 127.0.0.1; every
run is bounded in count and time. ``all`` runs every command with its default sizes (about
20 minutes, half of it the 10-minute soak).

The B2BUA is imported from this checkout, from ``--source DIR``, or from ``--commit REV``
(that commit's packages exported with ``git archive``: stable while others edit the checkout).
Profiling: ``--py-spy DIR`` (py-spy samples of every B2BUA step; the summary of the busiest
held step is printed), or ``B2BUA_PROFILE=FILE`` in the environment (cProfile of the whole
service, read with ``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.load import calls, keys, media, register, soak  # noqa: E402
from benchmarks.load.bench import Options  # noqa: E402
from benchmarks.load.office import PROFILE_ENV  # noqa: E402
from benchmarks.load.report import say  # noqa: E402


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rates like 100,200,400: {text!r}") from None
    if not rates or any(r <= 0 for r in rates) or list(rates) != sorted(rates):
        raise argparse.ArgumentTypeError("rates must be positive and increasing")
    return rates


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(r) for r in _rates(text))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="keep SIPp's and the B2BUA's files here (default: a temporary "
                             "directory, removed after the run)")
    parser.add_argument("--source", type=Path, default=ROOT, metavar="DIR",
                        help="import the b2bua and dsp packages from DIR (default: this checkout)")
    parser.add_argument("--commit", metavar="REV",
                        help="benchmark the B2BUA of this commit (exported with git archive "
                             "into a temporary directory; overrides --source)")
    parser.add_argument("--results", type=Path, metavar="DIR",
                        help="write JSON and PNG here (default: benchmarks/results)")
    parser.add_argument("--py-spy", type=Path, metavar="DIR",
                        help="record the B2BUA with py-spy during every rate step")


def _workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=0,
                        help="media worker processes of the B2BUA (default 0: in its process)")


def _add_commands(commands: Any) -> None:
    reg = commands.add_parser("register", help="registration storm")
    _common(reg)
    reg.add_argument("--extensions", type=int, default=register.RegisterSettings.employees)
    reg.add_argument("--rates", type=_rates, default=register.RegisterSettings.ladder,
                     help="ladder of REGISTER rates per second (then bisection)")
    reg.add_argument("--step-seconds", type=float,
                     default=register.RegisterSettings.step_seconds)

    cal = commands.add_parser("calls", help="call rate without media")
    _common(cal)
    cal.add_argument("--rates", type=_rates, default=calls.CallsSettings.ladder,
                     help="ladder of call rates per second (then bisection)")
    cal.add_argument("--step-seconds", type=float, default=calls.CallsSettings.step_seconds)
    cal.add_argument("--hold-ms", type=int, default=calls.CallsSettings.hold_ms)
    cal.add_argument("--employees", type=int, default=calls.CallsSettings.employees,
                     help="one per concurrent call at least (an employee in a call is busy)")
    cal.add_argument("--max-steps", type=int, default=calls.CallsSettings.max_steps)
    _workers(cal)

    med = commands.add_parser("media", help="concurrent calls relaying G.711 both ways")
    _common(med)
    med.add_argument("--calls", type=_counts, default=media.MediaSettings.counts,
                     help="numbers of concurrent calls to measure, e.g. 100,200,400")
    med.add_argument("--window-seconds", type=float, default=media.MediaSettings.window_seconds)
    med.add_argument("--generator", choices=media.GENERATORS, default=media.MediaSettings.generator,
                     help="who sends the calls' RTP: 'stream', the batched streamer (every call "
                          "measured), or 'sipp', a pcap played per call by SIPp (a thread "
                          "each) with a few probe calls measured")
    med.add_argument("--no-pin", action="store_true",
                     help="let the scheduler place the B2BUA and the load generator (by default,"
                          " with the streamer and no workers, the B2BUA has the first CPU)")
    med.add_argument("--no-inband", action="store_true",
                     help="turn in-band key detection off (default: on, as in the product)")
    _workers(med)

    so = commands.add_parser("soak", help="RSS over a long run with media")
    _common(so)
    so.add_argument("--minutes", type=float, default=soak.SoakSettings.minutes)
    so.add_argument("--rate", type=float, default=soak.SoakSettings.rate,
                    help="calls per second")
    so.add_argument("--hold-seconds", type=float, default=soak.SoakSettings.hold_seconds)
    _workers(so)

    ke = commands.add_parser("keys", help="keys sent by phones: every one detected, none extra")
    _common(ke)
    ke.add_argument("--calls", type=int, default=keys.KeysSettings.calls,
                    help="calls of each kind (RFC 4733, in-band)")

    everything = commands.add_parser("all", help="every benchmark with its default sizes")
    _common(everything)


def _export(commit: str) -> tuple[Path, str]:
    """The b2bua and dsp packages of `commit`, in a temporary directory (removed at exit)."""
    full = subprocess.run(["git", "rev-parse", "--short", commit], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    target = Path(tempfile.mkdtemp(prefix=f"b2bua-{full}-"))
    atexit.register(shutil.rmtree, target, True)
    archive = subprocess.run(["git", "archive", full, "b2bua", "dsp"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    say(f"benchmarking the B2BUA of commit {full} (exported to {target})")
    return target, full


def _options(args: argparse.Namespace) -> Options:
    profile = os.environ.get(PROFILE_ENV)
    source, commit = args.source, None
    if args.commit:
        source, commit = _export(args.commit)
    return Options(workdir=args.workdir, source=source, commit=commit, results=args.results,
                   profile=Path(profile) if profile else None, py_spy=args.py_spy)


def _register(args: argparse.Namespace) -> Any:
    return register.main(_options(args), register.RegisterSettings(
        employees=args.extensions, ladder=args.rates, step_seconds=args.step_seconds))


def _calls(args: argparse.Namespace) -> Any:
    return calls.main(_options(args), calls.CallsSettings(
        ladder=args.rates, step_seconds=args.step_seconds, hold_ms=args.hold_ms,
        employees=args.employees, max_steps=args.max_steps, workers=args.workers))


def _media(args: argparse.Namespace) -> Any:
    return media.main(_options(args), media.MediaSettings(
        counts=args.calls, window_seconds=args.window_seconds, inband=not args.no_inband,
        workers=args.workers, generator=args.generator, pin=not args.no_pin))


def _soak(args: argparse.Namespace) -> Any:
    return soak.main(_options(args), soak.SoakSettings(
        minutes=args.minutes, rate=args.rate, hold_seconds=args.hold_seconds,
        workers=args.workers))


def _keys(args: argparse.Namespace) -> Any:
    return keys.main(_options(args), keys.KeysSettings(calls=args.calls))


def _all(args: argparse.Namespace) -> Any:
    options = _options(args)
    results = {}
    runs: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("register", lambda: register.main(options, register.RegisterSettings())),
        ("calls", lambda: calls.main(options, calls.CallsSettings())),
        ("media", lambda: media.main(options, media.MediaSettings())),
        ("keys", lambda: keys.main(options, keys.KeysSettings())),
        ("soak", lambda: soak.main(options, soak.SoakSettings())),
    )
    for name, run in runs:
        say(f"=== {name}")
        started = time.monotonic()
        results[name] = run()
        say(f"=== {name} took {time.monotonic() - started:.0f} s")
    print("\nverdicts:")
    for name, data in results.items():
        figures = ", ".join(f"{key}={_short(value)}" for key, value in data["verdict"].items())
        print(f"  {name}: {figures}")
    return results


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "register": _register, "calls": _calls, "media": _media, "soak": _soak, "keys": _keys,
    "all": _all,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_commands(commands)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    started = time.monotonic()
    COMMANDS[args.command](args)
    say(f"{args.command}: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
