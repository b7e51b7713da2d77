"""RFC 4733 sending: packet shapes for a key of known length and a key sent live, and the
round trip through the receiver with another leg's payload type and clock rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.events import (
    DTMF_DIGITS,
    EventPacket,
    KeyEdge,
    TelephoneEvent,
    TelephoneEventReceiver,
    TelephoneEventSender,
    event_for_digit,
    parse_telephone_events,
)
from b2bua.media.rtp import pack_header

SSRC = 0x1234


def reports(packets: list[EventPacket]) -> list[TelephoneEvent]:
    return [parse_telephone_events(p.payload)[0] for p in packets]


def transmit(
    receiver: TelephoneEventReceiver,
    sender: TelephoneEventSender,
    packets: list[EventPacket],
    timestamp_base: int,
    first_sequence: int,
    start: float,
) -> list[KeyEdge]:
    """What the media engine does: header from its own counters, packets at their offsets."""
    edges: list[KeyEdge] = []
    for n, packet in enumerate(packets):
        header = pack_header(
            packet.marker,
            sender.payload_type,
            first_sequence + n,
            timestamp_base + packet.timestamp_offset,
            SSRC,
        )
        edges += receiver.receive_packet(
            header + packet.payload, start + packet.send_offset_ms / 1000
        )
    return edges


def test_key_of_100_ms_at_8khz() -> None:
    packets = TelephoneEventSender(payload_type=101).packets("5", 100)
    assert [p.marker for p in packets] == [True] + [False] * 7
    assert [p.send_offset_ms for p in packets] == [0, 20, 40, 60, 80, 100, 120, 140]
    assert {p.timestamp_offset for p in packets} == {0}
    assert reports(packets) == [
        TelephoneEvent(5, False, 10, 160),
        TelephoneEvent(5, False, 10, 320),
        TelephoneEvent(5, False, 10, 480),
        TelephoneEvent(5, False, 10, 640),
        TelephoneEvent(5, False, 10, 800),
        TelephoneEvent(5, True, 10, 800),
        TelephoneEvent(5, True, 10, 800),
        TelephoneEvent(5, True, 10, 800),
    ]


def test_other_clock_rate_ptime_and_volume() -> None:
    sender = TelephoneEventSender(payload_type=96, clock_rate=48000, ptime_ms=30, volume=20)
    packets = sender.packets("#", 70)
    assert sender.units_per_packet == 1440
    assert [(r.event, r.end, r.volume, r.duration) for r in reports(packets)] == [
        (11, False, 20, 1440),
        (11, False, 20, 2880),
        (11, False, 20, 3360),
        (11, True, 20, 3360),
        (11, True, 20, 3360),
        (11, True, 20, 3360),
    ]
    assert [p.send_offset_ms for p in packets] == [0, 30, 60, 90, 120, 150]


def test_key_shorter_than_one_packet_still_has_a_start_packet() -> None:
    packets = TelephoneEventSender(101, end_repeats=2).packets("D", 5)
    assert [(r.end, r.duration) for r in reports(packets)] == [(False, 40), (True, 40), (True, 40)]
    assert packets[0].marker


def test_event_code_instead_of_key() -> None:
    assert reports(TelephoneEventSender(101).packets(16, 20))[0].event == 16


def test_long_key_is_sent_in_segments() -> None:
    packets = TelephoneEventSender(101).packets("2", 10_000)
    offsets = sorted({p.timestamp_offset for p in packets})
    assert offsets == [0, 0xFFFF]
    first_of_second = next(p for p in packets if p.timestamp_offset)
    assert not first_of_second.marker
    assert reports([first_of_second])[0].duration == 160 * 410 - 0xFFFF
    last_of_first = [p for p in packets if not p.timestamp_offset][-1]
    assert reports([last_of_first])[0].duration == 160 * 409
    assert all(r.duration <= 0xFFFF for r in reports(packets))
    assert reports(packets)[-1].duration == 80000 - 0xFFFF


@pytest.mark.parametrize("bad", ["", "E", "55", "x"])
def test_unknown_key_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a DTMF digit"):
        TelephoneEventSender(101).packets(bad, 100)


def test_bad_sender_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TelephoneEventSender(101, ptime_ms=0)
    with pytest.raises(ValueError, match="positive"):
        TelephoneEventSender(101, end_repeats=0)


def test_event_codes() -> None:
    assert [event_for_digit(k) for k in "0123456789*#ABCD"] == list(range(16))
    assert event_for_digit("a") == 12


def test_live_key() -> None:
    sender = TelephoneEventSender(101)
    live = sender.start("7")
    ticks = [live.tick() for _ in range(3)]
    assert [p.marker for p in ticks] == [True, False, False]
    assert [r.duration for r in reports(ticks)] == [160, 320, 480]
    assert live.elapsed == 480
    ends = live.finish()
    assert [(r.end, r.duration) for r in reports(ends)] == [(True, 480)] * 3
    assert [p.send_offset_ms for p in ends] == [60, 80, 100]
    assert live.finished
    assert live.finish() == []
    with pytest.raises(ValueError, match="finished"):
        live.tick()


def test_live_key_released_before_the_first_tick() -> None:
    packets = TelephoneEventSender(101).start("1").finish()
    assert [
        (p.marker, r.end, r.duration) for p, r in zip(packets, reports(packets), strict=True)
    ] == [
        (True, False, 160),
        (False, True, 160),
        (False, True, 160),
        (False, True, 160),
    ]


def test_live_long_key_crosses_into_a_second_segment() -> None:
    live = TelephoneEventSender(101).start("9")
    ticks = [live.tick() for _ in range(420)]
    assert ticks[408].timestamp_offset == 0 and ticks[409].timestamp_offset == 0xFFFF
    assert all(p.timestamp_offset == 0xFFFF for p in live.finish())


@pytest.mark.parametrize("key", list(DTMF_DIGITS))
def test_round_trip_every_key(key: str) -> None:
    sender = TelephoneEventSender(payload_type=98, clock_rate=8000)
    receiver = TelephoneEventReceiver(payload_type=98)
    edges = transmit(receiver, sender, sender.packets(key, 120), 5000, 65530, 1.0)
    assert [(e.kind.value, e.digit, e.timestamp, e.duration) for e in edges] == [
        ("start", key, 5000, 0),
        ("end", key, 5000, 960),
    ]


def test_round_trip_long_key_at_16khz() -> None:
    sender = TelephoneEventSender(payload_type=100, clock_rate=16000)
    receiver = TelephoneEventReceiver(payload_type=100, clock_rate=16000)
    edges = transmit(receiver, sender, sender.packets("*", 9000), 0xFFFF0000, 0, 0.0)
    assert [(e.kind.value, e.digit) for e in edges] == [("start", "*"), ("end", "*")]
    assert edges[1].duration == 144000
    assert edges[1].duration_seconds == pytest.approx(9.0)


@given(
    st.sampled_from(DTMF_DIGITS),
    st.integers(1, 3000),
    st.sampled_from([(8000, 20), (8000, 30), (16000, 20), (48000, 10)]),
)
def test_round_trip_any_length(key: str, duration_ms: int, clock: tuple[int, int]) -> None:
    rate, ptime = clock
    sender = TelephoneEventSender(101, clock_rate=rate, ptime_ms=ptime)
    receiver = TelephoneEventReceiver(101, clock_rate=rate)
    edges = transmit(receiver, sender, sender.packets(key, duration_ms), 777, 1, 0.0)
    assert [(e.kind.value, e.digit) for e in edges] == [("start", key), ("end", key)]
    assert edges[1].duration == max(1, duration_ms * rate // 1000)
