"""G.711 tables: bit-exact with sox over every input, and the fast float32 decoder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dsp import g711

SOX = shutil.which("sox")
needs_sox = pytest.mark.skipif(SOX is None, reason="sox is not installed (apt-get install sox)")
SOX_ENCODING = {"ulaw": "mu-law", "alaw": "a-law"}
ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def _sox(args: list[str]) -> None:
    # -D: no dither, so that the conversion is the plain G.711 quantizer
    subprocess.run([str(SOX), "-D", *args], check=True, capture_output=True)


@needs_sox
@pytest.mark.parametrize("law", g711.LAWS)
def test_encode_matches_sox_for_all_samples(law: g711.Law, tmp_path: Path) -> None:
    source, coded = tmp_path / "in.raw", tmp_path / "out.raw"
    ALL_SAMPLES.tofile(source)
    raw16 = ["-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1"]
    _sox([*raw16, str(source), "-t", "raw", "-e", SOX_ENCODING[law], str(coded)])
    expected = np.fromfile(coded, dtype=np.uint8)
    assert expected.size == 65536
    np.testing.assert_array_equal(g711.encode(ALL_SAMPLES, law), expected)


@needs_sox
@pytest.mark.parametrize("law", g711.LAWS)
def test_decode_matches_sox_for_all_codes(law: g711.Law, tmp_path: Path) -> None:
    source, decoded = tmp_path / "in.raw", tmp_path / "out.raw"
    ALL_CODES.tofile(source)
    coded = ["-t", "raw", "-r", "8000", "-e", SOX_ENCODING[law], "-b", "8", "-c", "1"]
    _sox([*coded, str(source), "-t", "raw", "-e", "signed", "-b", "16", str(decoded)])
    expected = np.fromfile(decoded, dtype=np.int16)
    assert expected.size == 256
    np.testing.assert_array_equal(g711.decode(ALL_CODES, law), expected)


def test_named_functions_and_bytes_input() -> None:
    codes = g711.ulaw_encode(ALL_SAMPLES)
    np.testing.assert_array_equal(g711.ulaw_decode(codes.tobytes()), g711.ulaw_decode(codes))
    np.testing.assert_array_equal(
        g711.alaw_decode(g711.alaw_encode(ALL_SAMPLES)),
        g711.ALAW_DECODE[g711.ALAW_ENCODE[ALL_SAMPLES.view(np.uint16)]],
    )
    assert g711.ulaw_decode(b"\xff\x7f\x00\x80").tolist() == [0, 0, -32124, 32124]
    assert g711.alaw_decode(b"\xd5\x55\x2a\xaa").tolist() == [8, -8, -32256, 32256]


@pytest.mark.parametrize("law", g711.LAWS)
def test_decode_of_encode_is_idempotent(law: g711.Law) -> None:
    once = g711.decode(g711.encode(ALL_SAMPLES, law), law)
    np.testing.assert_array_equal(g711.decode(g711.encode(once, law), law), once)
    # every code decodes to a value that encodes back to itself, except μ-law 0x7f,
    # a second zero that encodes as 0xff
    values = g711.decode(ALL_CODES, law)
    reencoded = g711.encode(values, law)
    same = reencoded == ALL_CODES
    assert same.sum() == (255 if law == "ulaw" else 256)


@pytest.mark.parametrize("law", g711.LAWS)
@pytest.mark.parametrize("shape", [(3, 160), (5, 159), (0, 160), (7,), (2, 3, 4)])
def test_float32_decoder_equals_int16_decoder(law: g711.Law, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, shape, dtype=np.uint8)
    expected = g711.decode(codes, law).astype(np.float32)
    got = g711.decode_f32(codes, law)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    out = np.full(shape, np.nan, dtype=np.float32)
    assert g711.decode_f32(codes, law, out=out) is out
    np.testing.assert_array_equal(out, expected)
    if codes.ndim == 2 and shape[0] > 1:  # a strided view takes the one-code path
        np.testing.assert_array_equal(g711.decode_f32(codes[:, ::2], law), expected[:, ::2])


def test_pair_table_covers_every_code_pair() -> None:
    table = g711.pair_table_f32("alaw")
    pairs = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.uint8).reshape(-1, 2)
    values = table.view(np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(values, g711.ALAW_DECODE_F32[pairs])


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown G\.711 law"):
        g711.decode(ALL_CODES, "pcmx")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8"):
        g711.decode(np.arange(4, dtype=np.int16), "ulaw")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int16"):
        g711.encode(np.zeros(4, dtype=np.float32), "alaw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out must be"):
        g711.decode_f32(ALL_CODES, "ulaw", out=np.empty(255, dtype=np.float32))
    assert not g711.ULAW_ENCODE.flags.writeable
