"""Our DTMF detector against spandsp's dtmf_rx on the same test classes, talk-off and speed.

    python benchmarks/dtmf_vs_spandsp.py [--trials 32] [--channels 1000] [--cpu N]

Benchmark only: spandsp (Debian ``libspandsp2``, driven through ctypes, default parameters)
is never a runtime dependency. Every class is generated from a fixed seed exactly as in
``tests/unit/dsp/test_dtmf_matrix.py`` and passed through μ-law and A-law; a trial passes
when the detector reports exactly the expected keys. Talk-off runs both detectors over the
whole corpus of ``tests/unit/dsp/talkoff_corpus.py``. Speed is channels per core in real
time, single-threaded: spandsp fed one channel at a time a second per call (so the ctypes
call costs nothing), ours fed 20 ms ticks of all channels at once.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsp import g711, tones  # noqa: E402
from dsp.dtmf import DtmfDetector, detect_many  # noqa: E402
from dsp.mix import saturate  # noqa: E402

Int16 = npt.NDArray[np.int16]
Signal = npt.NDArray[np.float64]
DIGITS = tones.DTMF_DIGITS


class Spandsp:
    """spandsp's DTMF receiver through ctypes, one state per signal."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libspandsp.so.2")
        self.lib.dtmf_rx_init.restype = ctypes.c_void_p
        self.lib.dtmf_rx_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self.lib.dtmf_rx.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int]
        self.lib.dtmf_rx_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.lib.dtmf_rx_get.restype = ctypes.c_size_t
        self.lib.dtmf_rx_free.argtypes = [ctypes.c_void_p]

    def keys(self, signal: Int16) -> str:
        state = self.lib.dtmf_rx_init(None, None, None)
        padded = np.ascontiguousarray(np.concatenate([signal, np.zeros(800, dtype=np.int16)]))
        found = ""
        for at in range(0, padded.size, 8000):  # dtmf_rx_get holds 128 digits at most
            piece = padded[at : at + 8000]
            self.lib.dtmf_rx(
                state, piece.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), piece.size
            )
            buffer = ctypes.create_string_buffer(256)
            self.lib.dtmf_rx_get(state, buffer, 255)
            found += buffer.value.decode()
        self.lib.dtmf_rx_free(state)
        return found

    def seconds_per_channel_second(self, audio: Int16, channels: int) -> float:
        states = [self.lib.dtmf_rx_init(None, None, None) for _ in range(channels)]
        began = time.perf_counter()
        for index, state in enumerate(states):
            piece = np.ascontiguousarray(audio[index % audio.shape[0]])
            self.lib.dtmf_rx(
                state, piece.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), piece.size
            )
        elapsed = time.perf_counter() - began
        for state in states:
            self.lib.dtmf_rx_free(state)
        return elapsed / (channels * audio.shape[1] / 8000)


def _key(rng: np.random.Generator, digit: str, seconds: float, **options: object) -> Signal:
    phases = (float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi)))
    return tones.dtmf_tone(digit, seconds, phases=phases, **options)  # type: ignore[arg-type]


def _framed(rng: np.random.Generator, signal: Signal) -> Signal:
    return np.concatenate([np.zeros(int(rng.integers(80, 480))), signal, np.zeros(400)])


def _broken(
    rng: np.random.Generator, digit: str, first: float, gap: float, second: float
) -> Signal:
    silence = np.zeros(round(gap * 8000))
    return np.concatenate(
        [_key(rng, digit, first, level_dbm0=-10), silence, _key(rng, digit, second, level_dbm0=-10)]
    )


Case = tuple[str, list[Signal], list[str]]


def _simple(name: str, trials: int, seconds: float, detected: bool, **options: object) -> Case:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    digits = [DIGITS[i % 16] for i in range(trials)]
    signals = [
        _framed(rng, _key(rng, d, seconds, **{"level_dbm0": -10.0, **options})) for d in digits
    ]
    return name, signals, digits if detected else [""] * trials


def cases(trials: int) -> list[Case]:
    rng = np.random.default_rng(7)
    digits = [DIGITS[i % 16] for i in range(trials)]
    out = [_simple("every digit", trials, 0.06, True)]
    for low, high in [(1.5, 0), (-1.5, 0), (0, 1.5), (0, -1.5), (1.5, 1.5), (-1.5, -1.5)]:
        out.append(
            _simple(f"offset {low:+}/{high:+} % detect", trials, 0.06, True, offset_pct=(low, high))
        )
    for low, high in [(3.5, 0), (-3.5, 0), (0, 3.5), (0, -3.5)]:
        out.append(
            _simple(f"offset {low:+}/{high:+} % reject", trials, 0.2, False, offset_pct=(low, high))
        )
    out.append(_simple("40 ms detect", trials, 0.040, True))
    out.append(_simple("23 ms reject", trials, 0.023, False))
    out.append(_simple("20 ms reject", trials, 0.020, False))
    out.append(
        (
            "10 ms break: one key",
            [_framed(rng, _broken(rng, d, 0.05, 0.010, 0.05)) for d in digits],
            digits,
        )
    )
    out.append(
        (
            "40 ms pause: two keys",
            [_framed(rng, _broken(rng, d, 0.045, 0.040, 0.045)) for d in digits],
            [d * 2 for d in digits],
        )
    )
    strings = ["".join(rng.choice(list(DIGITS), 10)) for _ in range(max(4, trials // 4))]
    out.append(
        (
            "10 keys at 40+53 ms",
            [
                _framed(rng, tones.dtmf_sequence(s, 0.040, 0.053, level_dbm0=-12, rng=rng))
                for s in strings
            ],
            strings,
        )
    )
    out.append(_simple("twist -8 dB", trials, 0.06, True, twist_db=-8.0))
    out.append(_simple("twist +4 dB", trials, 0.06, True, twist_db=4.0))
    out.append(
        _simple("twist -8 dB, column -25 dBm0", trials, 0.06, True, level_dbm0=-17.0, twist_db=-8.0)
    )
    out.append(
        _simple("twist +4 dB, row -25 dBm0", trials, 0.06, True, level_dbm0=-25.0, twist_db=4.0)
    )
    out.append(_simple("0 dBm0", trials, 0.06, True, level_dbm0=0.0))
    out.append(_simple("-25 dBm0", trials, 0.06, True, level_dbm0=-25.0))
    out.append(_simple("-55 dBm0 reject", trials, 0.06, False, level_dbm0=-55.0))
    noisy = []
    for digit in digits:
        clean = _framed(rng, _key(rng, digit, 0.06, level_dbm0=-15))
        noisy.append(clean + tones.noise_at_snr(clean, 15.0, rng))
    out.append(("white noise 15 dB SNR", noisy, digits))
    return out  # fmt: skip


def _score(found: list[str], expected: list[str]) -> int:
    return sum(f == e for f, e in zip(found, expected, strict=True))


def classes(spandsp: Spandsp, trials: int) -> None:
    print(f"{'class (μ-law + A-law)':34} {'trials':>6} {'ours':>6} {'spandsp':>8}")
    for name, signals, expected in cases(trials):
        ours = theirs = 0
        for law in g711.LAWS:
            coded = [g711.decode(g711.encode(saturate(s), law), law) for s in signals]
            ours += _score(["".join(d for d, _ in k) for k in detect_many(coded)], expected)
            theirs += _score([spandsp.keys(c) for c in coded], expected)
        print(f"{name:34} {2 * len(expected):>6} {ours:>6} {theirs:>8}")


def talkoff(spandsp: Spandsp) -> npt.NDArray[np.int16]:
    path = ROOT / "tests" / "unit" / "dsp" / "talkoff_corpus.py"
    spec = importlib.util.spec_from_file_location("talkoff_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    channels, speech = module.cached_parts()
    minutes = sum(c.size for c in channels) / 8000 / 60
    ours = [len(keys) for keys in detect_many(channels)]
    theirs = [len(spandsp.keys(channel)) for channel in channels]
    print(f"\ntalk-off corpus: {minutes:.0f} min ({speech} min speech, the rest music-like)")
    print(f"  false keys: ours {sum(ours)} (speech {sum(ours[:speech])}), "
          f"spandsp {sum(theirs)} (speech {sum(theirs[:speech])})")  # fmt: skip
    return np.stack(channels[:speech])


def speed(spandsp: Spandsp, speech: npt.NDArray[np.int16], channels: int) -> None:
    audio = speech[:, :8000]
    theirs = 1.0 / spandsp.seconds_per_channel_second(audio, channels)
    rows = np.resize(np.arange(audio.shape[0]), channels)
    ticks = [np.ascontiguousarray(audio[rows, at : at + 160]) for at in range(0, 8000, 160)]
    ours = channels / min(_ours_seconds(ticks, channels) for _ in range(3))
    print(f"\nchannels per core in real time, speech, {channels} channels, int16 input:")
    print(f"  ours {ours:,.0f}   spandsp {theirs:,.0f}")


def _ours_seconds(ticks: list[Int16], channels: int) -> float:
    detector = DtmfDetector(channels)
    began = time.perf_counter()
    for tick in ticks:
        detector.process(tick)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=32, help="trials per class and law")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    print(f"# dtmf_vs_spandsp: trials={args.trials} channels={args.channels} cpu={cpu}")
    spandsp = Spandsp()
    classes(spandsp, args.trials)
    speech = talkoff(spandsp)
    speed(spandsp, speech, args.channels)


if __name__ == "__main__":
    main()
