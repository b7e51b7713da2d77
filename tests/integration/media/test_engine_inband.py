"""In-band keys over real UDP sockets: detected on the tick, swallowed, merged with events."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from b2bua.media.codec import PCMU
from b2bua.media.engine import MediaEngine

from .conftest import Phone, frames
from .test_engine_keys import EVENT_PT, Keys, setup_call

pytest.importorskip("dsp.dtmf")

SILENT_FRAME = b"\xff" * 160


def key_audio(digit: str, tone_ms: int = 120, before_ms: int = 100,
              after_ms: int = 300) -> list[bytes]:
    from dsp.tones import dtmf_tone
    tone = dtmf_tone(digit, tone_ms / 1000, level_dbm0=-8.0)
    samples = np.concatenate([np.zeros(before_ms * 8), tone, np.zeros(after_ms * 8)])
    return frames(PCMU.encode(samples.astype(np.int16)))


async def send_with_events(phone: Phone, audio: list[bytes], digit_code: int,
                           tone_frames: range) -> None:
    """Audio in real time, with RFC 4733 packets for the same press alongside the tone."""
    event_ts = phone.timestamp + tone_frames.start * 160
    for i, payload in enumerate(audio):
        phone.send_audio(payload)
        if i in tone_frames:
            n = i - tone_frames.start + 1
            phone.send(struct.pack("!BBH", digit_code, 10, n * 160), payload_type=EVENT_PT,
                       marker=n == 1, timestamp=event_ts, sequence=phone.sequence)
            phone.sequence = (phone.sequence + 1) & 0xFFFF
        if i == tone_frames.stop:
            for _ in range(3):
                phone.send(struct.pack("!BBH", digit_code, 0x80 | 10, len(tone_frames) * 160),
                           payload_type=EVENT_PT, timestamp=event_ts, sequence=phone.sequence)
                phone.sequence = (phone.sequence + 1) & 0xFFFF
        await asyncio.sleep(0.02)


async def test_inband_key_detected_and_swallowed(engine: MediaEngine,
                                                 phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="5")
    client, employee, _, e = setup_call(engine, phones)
    engine.set_detection(e, inband=True)
    audio = key_audio("5")
    heard = await asyncio.gather(send_with_events(employee, audio, 0, range(0)),
                                 client.collect(quiet=0.3))
    await asyncio.sleep(0.3)
    assert [(k.digit, k.source) for k in keys.started] == [("5", "inband")]
    assert [(k.digit, k.sources, k.swallowed) for k in keys.finished] == [
        ("5", ("inband",), True)]
    got = [p.payload for p in heard[1] if p.payload_type == 0]
    tone_packets = [i for i, p in enumerate(audio) if p != SILENT_FRAME]
    passed = [i for i in tone_packets if got[i] == audio[i]]
    # the tone leaks until the detector has seen enough of it, then the leg is muted
    assert len(passed) < len(tone_packets) - 1
    assert all(got[i] == SILENT_FRAME for i in tone_packets[len(passed) + 1:])


async def test_inband_key_not_swallowed_passes_audio(engine: MediaEngine,
                                                     phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="")
    client, employee, _, e = setup_call(engine, phones)
    engine.set_detection(e, inband=True)
    audio = key_audio("#")
    heard = await asyncio.gather(send_with_events(employee, audio, 0, range(0)),
                                 client.collect(quiet=0.3))
    await asyncio.sleep(0.3)
    assert [k.digit for k in keys.finished] == ["#"]
    assert [p.payload for p in heard[1] if p.payload_type == 0] == audio


async def test_one_press_sent_as_tone_and_event_is_one_key(engine: MediaEngine,
                                                           phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="")
    client, employee, _, e = setup_call(engine, phones)
    engine.set_detection(e, inband=True, events=True)
    audio = key_audio("8", tone_ms=160)
    await asyncio.gather(send_with_events(employee, audio, 8, range(5, 13)),
                         client.collect(quiet=0.3))
    await asyncio.sleep(0.3)
    assert len(keys.started) == 1 and keys.started[0].source == "rfc4733"
    assert len(keys.finished) == 1
    key = keys.finished[0]
    assert key.digit == "8" and set(key.sources) == {"rfc4733", "inband"}
    assert abs(key.start - keys.started[0].time) < 0.1


async def test_inband_key_found_on_its_leg_among_many_that_come_and_go(
        engine: MediaEngine, phones: list[Phone]) -> None:
    """Detector channels are taken, freed, reused and cut off at the end while the audio bank
    grows past its first rows: a tone is still read from the right leg's audio, and from it
    alone."""
    keys = Keys(engine, swallow="")
    others = [engine.allocate() for _ in range(150)]
    for stream in others:
        engine.configure(stream, remote=("127.0.0.1", 9))
        engine.set_detection(stream, inband=True)
    for stream in others[::2] + others[-30:]:
        engine.release(stream)
    await asyncio.sleep(0.05)  # a tick with the channels freed, the tail cut off
    client, employee, _, e = setup_call(engine, phones)
    engine.set_detection(e, inband=True)
    for stream in others[:30:2]:  # freed ones, now taken again after the employee's
        stream = engine.allocate()
        engine.configure(stream, remote=("127.0.0.1", 9))
        engine.set_detection(stream, inband=True)
    audio = key_audio("7")
    await asyncio.gather(send_with_events(employee, audio, 0, range(0)),
                         client.collect(quiet=0.3))
    await asyncio.sleep(0.3)
    assert [(k.stream, k.digit) for k in keys.started] == [(e, "7")]
    assert [(k.stream, k.digit) for k in keys.finished] == [(e, "7")]
