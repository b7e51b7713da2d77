"""Frames between the service and its media workers: cut at any byte, refused when corrupt."""

from __future__ import annotations

import numpy as np
import pytest

from b2bua.media.keys import KeyStarted
from b2bua.media.pipe import HEADER, MAX_FRAME, FrameError, Frames, frame


def test_frames_fed_byte_by_byte_come_out_whole_and_in_order() -> None:
    first = [("allocate", (), {"port": 20000, "stream_id": 1}),
             ("play", (1, np.arange(4, dtype=np.int16)), {"loop": True})]
    second = [("key_started", KeyStarted(1, "5", "inband", 12.5))]
    data = frame(first) + frame(second)
    frames = Frames()
    out = [batch for i in range(len(data)) for batch in frames.feed(data[i:i + 1])]
    assert len(out) == 2
    assert out[0][0] == first[0] and out[0][1][2] == {"loop": True}
    assert out[0][1][1][1].tolist() == [0, 1, 2, 3]
    assert out[1] == second


def test_several_frames_in_one_read_and_a_partial_tail() -> None:
    data = frame([("a",)]) + frame([("b",)]) + frame([("c",)])
    frames = Frames()
    assert frames.feed(data[:-3]) == [[("a",)], [("b",)]]
    assert frames.feed(data[-3:]) == [[("c",)]]


def test_oversized_or_wrongly_shaped_frames_are_refused() -> None:
    with pytest.raises(FrameError, match="frame of"):
        Frames().feed(HEADER.pack(MAX_FRAME + 1) + b"x")
    pickled_none = b"\x80\x05N."
    with pytest.raises(FrameError, match="not a list"):
        Frames().feed(HEADER.pack(len(pickled_none)) + pickled_none)
