"""DTMF detector throughput: channels per core in real time, 20 ms ticks of 160 samples.

    python benchmarks/dtmf_throughput.py [--channels 1 100 1000 10000] [--seconds 1.0]
                                         [--traffic speech|music|silence|keys] [--cpu N]
                                         [--passes 5] [--baseline DIR]

Runs single-threaded (BLAS pinned to one thread, the process pinned to one core). The audio
is real traffic: by default the speech of the talk-off corpus (built on first use, cached),
what an employee's leg carries, with a DTMF key on one channel in 50; ``music`` is its music
part (harder: sustained notes keep candidates alive), ``silence`` low noise, ``keys`` a key
sequence on every channel (the worst case for the analysis). For each channel count it
prints the time per tick and the channels one core keeps in real time, for int16 input and
for G.711 input including the decode (``process_codes``).

The machine is shared, so every tick is timed on its own, ``--passes`` times over the same
audio (a fresh detector each pass), and the figure is the sum of each tick's best time: a
pass the scheduler interrupted costs one tick's best, not the whole figure.

``--baseline DIR`` times the detector of another checkout too (``DIR/dsp``, e.g. a
``git worktree`` of an older commit), its passes interleaved with ours, and prints the
ratio: before and after from one run, under the same load.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsp import g711, tones  # noqa: E402
from dsp.dtmf import DtmfDetector  # noqa: E402
from dsp.mix import saturate  # noqa: E402

TICK = 160
RATE = 8000
Detector = Callable[[int], Any]


def corpus_audio(part: str) -> npt.NDArray[np.int16]:
    """The speech or the music part of the talk-off corpus as one long int16 signal."""
    path = ROOT / "tests" / "unit" / "dsp" / "talkoff_corpus.py"
    spec = importlib.util.spec_from_file_location("talkoff_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    channels, speech_channels = module.cached_parts()
    chosen = channels[:speech_channels] if part == "speech" else channels[speech_channels:]
    return np.concatenate(chosen)  # type: ignore[no-any-return]


def traffic(
    kind: str, channels: int, samples: int, rng: np.random.Generator
) -> npt.NDArray[np.int16]:
    """(channels, samples) int16 of the chosen traffic."""
    if kind == "silence":
        return saturate(tones.white_noise(channels * samples, -60.0, rng)).reshape(channels, -1)
    if kind == "keys":
        keys = tones.dtmf_sequence("1234567890*#ABCD" * 4, 0.05, 0.05, level_dbm0=-15, rng=rng)
        base = saturate(np.resize(keys, samples))
        shifts = rng.integers(0, samples, channels)
        return np.stack([np.roll(base, int(s)) for s in shifts])
    audio = corpus_audio(kind)
    starts = rng.integers(0, audio.size - samples, channels)
    out = np.stack([audio[s : s + samples] for s in starts])
    key = saturate(tones.dtmf_tone("5", 0.08, level_dbm0=-12))
    for row in range(0, channels, 50):
        at = int(rng.integers(0, samples - key.size))
        out[row, at : at + key.size] = key
    return out


def baseline_detector(directory: Path) -> Detector:
    """``DtmfDetector`` of the ``dsp`` package under ``directory``, imported beside ours."""
    ours = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "dsp"}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(directory))
    try:
        module: ModuleType = importlib.import_module("dsp.dtmf")
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name.split(".")[0] == "dsp"]:
            del sys.modules[name]
        sys.modules.update(ours)
    detector: Detector = module.DtmfDetector
    return detector


def tick_times(
    make: Detector, ticks: list[npt.NDArray[np.generic]], law: g711.Law | None
) -> npt.NDArray[np.float64]:
    """Seconds of each tick, one pass over ``ticks`` with a fresh detector."""
    detector = make(ticks[0].shape[0])
    feed = detector.process if law is None else (lambda t: detector.process_codes(t, law))
    times = np.empty(len(ticks))
    for index, tick in enumerate(ticks):
        began = time.perf_counter()
        feed(tick)
        times[index] = time.perf_counter() - began
    return times


def measure(
    makers: list[Detector], ticks: list[npt.NDArray[np.generic]], law: g711.Law | None, passes: int
) -> list[float]:
    """Seconds per tick of each detector: each tick's best over the passes, averaged."""
    best = [np.full(len(ticks), np.inf) for _ in makers]
    for _ in range(passes):
        for index, make in enumerate(makers):
            best[index] = np.minimum(best[index], tick_times(make, ticks, law))
    return [float(times.mean()) for times in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 100, 1000, 10000])
    parser.add_argument("--seconds", type=float, default=1.0, help="audio per pass")
    parser.add_argument(
        "--traffic", choices=["speech", "music", "silence", "keys"], default="speech"
    )
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    parser.add_argument("--passes", type=int, default=5, help="passes over the audio per figure")
    parser.add_argument("--baseline", type=Path, default=None, help="checkout to compare with")
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    makers: list[Detector] = [DtmfDetector]
    if args.baseline is not None:
        makers.insert(0, baseline_detector(args.baseline.resolve()))
    rng = np.random.default_rng(1)
    print(f"# dtmf_throughput: traffic={args.traffic} seconds={args.seconds} tick={TICK} "
          f"cpu={cpu} passes={args.passes} baseline={args.baseline} "
          f"numpy={np.__version__} BLAS threads=1")  # fmt: skip
    header = f"{'channels':>9} {'input':>6} {'ms/tick':>9} {'channels/core':>14}"
    if args.baseline is not None:
        header += f" {'before ms':>10} {'before ch/core':>15} {'speed-up':>9}"
    print(header)
    for channels in args.channels:
        samples = max(TICK, int(args.seconds * RATE) // TICK * TICK)
        audio = traffic(args.traffic, channels, samples, rng)
        linear = [np.ascontiguousarray(audio[:, i : i + TICK]) for i in range(0, samples, TICK)]
        for label, ticks, law in (
            ("int16", linear, None),
            ("g711", [g711.encode(t, "ulaw") for t in linear], "ulaw"),
        ):
            seconds = measure(makers, ticks, law, args.passes)  # type: ignore[arg-type]
            per_core = [channels * (TICK / RATE) / s for s in seconds]
            line = f"{channels:>9} {label:>6} {seconds[-1] * 1e3:>9.3f} {per_core[-1]:>14,.0f}"
            if args.baseline is not None:
                line += f" {seconds[0] * 1e3:>10.3f} {per_core[0]:>15,.0f}"
                line += f" {seconds[0] / seconds[-1]:>8.2f}x"
            print(line)


if __name__ == "__main__":
    main()
