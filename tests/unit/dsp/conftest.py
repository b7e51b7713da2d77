"""Fixtures for the DSP tests: the talk-off corpus (generated once, cached on disk)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest


def _corpus_module() -> ModuleType:
    path = Path(__file__).with_name("talkoff_corpus.py")
    spec = importlib.util.spec_from_file_location("dsp_talkoff_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def talkoff_corpus() -> tuple[list[npt.NDArray[np.int16]], int]:
    """(channels of 60 s, how many leading channels are speech); the rest is music-like."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): no speech corpus")
    channels, speech_channels = _corpus_module().cached_parts()
    return channels, speech_channels
