"""Keys on a leg over real UDP sockets: RFC 4733 detection, swallowing, INFO, sending keys."""

from __future__ import annotations

import asyncio
import struct

from b2bua.media.engine import MediaEngine
from b2bua.media.keys import KeyEvent, KeyStarted

from .conftest import Phone, Received
from .test_engine_relay import leg

LOUD = b"\x10" * 160
SILENCE = b"\xff" * 160
EVENT_PT = 101


async def press(phone: Phone, digit_code: int, frames: int, *, audio: bool = True) -> None:
    """A phone holding a key: audio keeps flowing, an event update every 20 ms, three ends."""
    event_ts = phone.timestamp
    for i in range(frames):
        if audio:
            phone.send_audio(LOUD)
        phone.send(struct.pack("!BBH", digit_code, 10, (i + 1) * 160), payload_type=EVENT_PT,
                   marker=i == 0, timestamp=event_ts, sequence=phone.sequence)
        phone.sequence = (phone.sequence + 1) & 0xFFFF
        await asyncio.sleep(0.02)
    for _ in range(3):
        phone.send(struct.pack("!BBH", digit_code, 0x80 | 10, frames * 160),
                   payload_type=EVENT_PT, timestamp=event_ts, sequence=phone.sequence)
        phone.sequence = (phone.sequence + 1) & 0xFFFF


class Keys:
    def __init__(self, engine: MediaEngine, swallow: str) -> None:
        self.started: list[KeyStarted] = []
        self.finished: list[KeyEvent] = []
        self.swallow = swallow
        engine.on_key_started = self.on_start
        engine.on_key = self.finished.append

    def on_start(self, key: KeyStarted) -> bool:
        self.started.append(key)
        return key.digit in self.swallow


def setup_call(engine: MediaEngine, phones: list[Phone]) -> tuple[Phone, Phone, int, int]:
    client, employee = Phone(ssrc=0xC), Phone(ssrc=0xE)
    phones += [client, employee]
    c = leg(engine, client, telephone_event_pt=96)
    e = leg(engine, employee, telephone_event_pt=EVENT_PT)
    engine.bridge(c, e)
    engine.set_detection(e, events=True)
    return client, employee, c, e


def events_of(packets: list[Received]) -> list[Received]:
    return [p for p in packets if p.payload_type == 96]


async def test_swallowed_key_is_dropped_and_audio_silenced(engine: MediaEngine,
                                                           phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="5")
    client, employee, _c, e = setup_call(engine, phones)
    employee.send_audio(LOUD)
    heard = await asyncio.gather(press(employee, 5, 6), client.collect(quiet=0.3))
    got = heard[1]
    await asyncio.sleep(0.2)
    assert [(k.stream, k.digit, k.source) for k in keys.started] == [(e, "5", "rfc4733")]
    assert len(keys.finished) == 1
    done = keys.finished[0]
    assert (done.stream, done.digit, done.sources, done.swallowed) == (e, "5", ("rfc4733",),
                                                                        True)
    assert done.end > done.start
    assert events_of(got) == []
    audio = [p for p in got if p.payload_type == 0]
    assert len(audio) == 7
    # the press's first audio packet left before its first event packet arrived
    assert [p.payload for p in audio[:2]] == [LOUD, LOUD]
    assert {p.payload for p in audio[2:]} == {SILENCE}
    seqs = [p.sequence for p in got]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))], "no gap for dropped"


async def test_key_not_swallowed_passes_through_remapped(engine: MediaEngine,
                                                         phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="5")
    client, employee, _c, _e = setup_call(engine, phones)
    heard = await asyncio.gather(press(employee, 1, 4), client.collect(quiet=0.3))
    got = heard[1]
    await asyncio.sleep(0.2)
    events = events_of(got)
    assert len(events) == 4 + 3
    assert events[0].marker and {p.payload[0] for p in events} == {1}
    assert len({p.timestamp for p in events}) == 1
    assert {p.payload for p in got if p.payload_type == 0} == {LOUD}
    assert [k.digit for k in keys.finished] == ["1"] and not keys.finished[0].swallowed


async def test_no_detection_means_no_key_events(engine: MediaEngine,
                                                phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="5")
    client, employee, _c, e = setup_call(engine, phones)
    engine.set_detection(e)
    heard = await asyncio.gather(press(employee, 5, 3), client.collect(quiet=0.3))
    assert len(events_of(heard[1])) == 6
    assert keys.started == [] and keys.finished == []


async def test_info_and_event_of_one_press_are_one_key(engine: MediaEngine,
                                                       phones: list[Phone]) -> None:
    keys = Keys(engine, swallow="7")
    client, employee, _c, e = setup_call(engine, phones)
    assert engine.info_key(e, "7", 120) is True
    await asyncio.gather(press(employee, 7, 5), client.collect(quiet=0.3))
    await asyncio.sleep(0.2)
    assert len(keys.started) == 1 and keys.started[0].source == "info"
    assert [(k.digit, k.sources, k.swallowed) for k in keys.finished] == [
        ("7", ("info", "rfc4733"), True)]


async def test_without_handler_the_swallow_set_decides(engine: MediaEngine,
                                                       phones: list[Phone]) -> None:
    client, employee, _c, e = setup_call(engine, phones)
    engine.set_detection(e, events=True, swallow=frozenset("#"))
    heard = await asyncio.gather(press(employee, 11, 3), client.collect(quiet=0.3))
    assert events_of(heard[1]) == []


async def test_send_key_uses_the_legs_payload_type_and_continues_stream(
        engine: MediaEngine, phones: list[Phone]) -> None:
    client, employee, c, _e = setup_call(engine, phones)
    employee.send_audio(LOUD)
    await client.collect(quiet=0.1)
    engine.send_key(c, "9", 100)
    got = await client.collect(quiet=0.3)
    events = events_of(got)
    assert len(events) == 5 + 3
    assert events[0].marker and {p.payload[0] for p in events} == {9}
    assert events[-1].payload[1] & 0x80 and struct.unpack("!H", events[-1].payload[2:])[0] == 800
    assert {p.ssrc for p in events} == {0xE}, "our events continue the stream the client knows"
