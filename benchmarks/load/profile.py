"""Where the B2BUA spends its time under load: py-spy samples of the running process.

``python -m benchmarks calls --py-spy DIR`` records every B2BUA step with
``py-spy record --format raw`` (collapsed stacks, one ``frame;frame;... count`` line per
distinct stack) without stopping the process, and the run prints the functions that dominate
the step at the highest rate held. py-spy is a separate install: ``pip install py-spy``.
For a deterministic profile instead, set ``B2BUA_PROFILE=FILE`` (cProfile, see
:mod:`benchmarks.load.office`).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 100
ENTRY_FRAMES = 5
"""Frames on every stack of ``b2bua serve`` (module, main, _serve, _run_loop, Runner.run),
left out of the inclusive ranking."""


@dataclass(frozen=True)
class ProfileSummary:
    samples: int
    own: list[tuple[str, float]]
    """(function, % of samples where it is the innermost frame), most first."""
    inclusive: list[tuple[str, float]]
    """(function, % of samples where it is anywhere on the stack), most first."""


def parse_collapsed(text: str, top: int = 20, skip: int = 0) -> ProfileSummary:
    """Own and inclusive shares of functions in py-spy's raw (collapsed) output.

    `skip` leaves out that many outermost frames of each stack when ranking inclusive time
    (the entry point and the event loop are on every stack)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames[skip:]):
            inclusive[frame] += samples
    if total == 0:
        return ProfileSummary(0, [], [])

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return ProfileSummary(total, shares(own), shares(inclusive))


class PySpy:
    """Records the B2BUA's stacks into `directory`, one file per step."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = shutil.which("py-spy")
        if self.binary is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.txt"

    def record(self, pid: int, name: str, seconds: float) -> subprocess.Popen[bytes]:
        assert self.binary is not None
        return subprocess.Popen(
            [self.binary, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE),
             "--duration", str(int(seconds)), "--format", "raw", "--nonblocking", "--function",
             "--output", str(self.path(name))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def finish(recording: subprocess.Popen[bytes]) -> None:
        """Stop recording now (py-spy writes its file on SIGINT)."""
        if recording.poll() is None:
            recording.send_signal(signal.SIGINT)
            try:
                recording.wait(15)
            except subprocess.TimeoutExpired:
                recording.kill()
                recording.wait()

    def summary(self, name: str, top: int = 20) -> ProfileSummary | None:
        path = self.path(name)
        if not path.exists():
            return None
        return parse_collapsed(path.read_text(errors="replace"), top, skip=ENTRY_FRAMES)


def print_summary(summary: ProfileSummary, title: str) -> None:
    print(f"{title}: {summary.samples} samples")
    print("  own time (innermost frame):")
    for name, share in summary.own:
        print(f"    {share:5.1f}%  {name}")
    print("  inclusive (anywhere on the stack):")
    for name, share in summary.inclusive:
        print(f"    {share:5.1f}%  {name}")
