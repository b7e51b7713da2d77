"""RFC 4733 receiving: loss, reordering, duplicates, repeated digits, long presses, wrap,
several events per packet, redundancy. Time is driven by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.events import (
    EdgeKind,
    EndReason,
    KeyEdge,
    RedBlock,
    TelephoneEvent,
    TelephoneEventReceiver,
    digit_for_event,
    parse_red,
    parse_telephone_events,
    serialize_red,
)
from b2bua.media.rtp import RtpError, pack_header

PT = 101
SSRC = 0x0E05384E


@dataclass(frozen=True)
class Sent:
    """One event packet as a sender emits it, with its arrival time."""

    now: float
    sequence: int
    timestamp: int
    marker: bool
    payload: bytes
    ssrc: int = SSRC


def sipp_key(
    event: int, timestamp: int, sequence: int, start: float, updates: int = 7, step: int = 320
) -> list[Sent]:
    """Shaped like SIPp's pcaps: updates from duration 0, three ends on one sequence number."""
    out = [
        Sent(start + i * 0.02, sequence + i, timestamp, i == 0, report(event, False, i * step))
        for i in range(updates)
    ]
    end = report(event, True, updates * step)
    last = sequence + updates
    out += [
        Sent(start + updates * 0.02 + i * 0.0001, last, timestamp, False, end) for i in range(3)
    ]
    return out


def baresip_key(event: int, timestamp: int, sequence: int, start: float) -> list[Sent]:
    """Shaped like baresip: first duration 160, ends each with their own sequence number."""
    out = [
        Sent(
            start + i * 0.02,
            sequence + 2 * i,
            timestamp,
            i == 0,
            report(event, False, 160 * (i + 1)),
        )
        for i in range(9)
    ]
    out += [
        Sent(
            start + (9 + i) * 0.02,
            sequence + 18 + 2 * i,
            timestamp,
            False,
            report(event, True, 1440),
        )
        for i in range(3)
    ]
    return out


def report(event: int, end: bool, duration: int, volume: int = 10) -> bytes:
    return TelephoneEvent(event, end, volume, duration).serialize()


def play(receiver: TelephoneEventReceiver, packets: list[Sent]) -> list[KeyEdge]:
    edges: list[KeyEdge] = []
    for p in packets:
        edges += receiver.receive(p.ssrc, p.sequence, p.timestamp, p.marker, p.payload, p.now)
    return edges


def kinds(edges: list[KeyEdge]) -> list[tuple[str, str | None]]:
    return [(e.kind.value, e.digit) for e in edges]


@pytest.fixture
def receiver() -> TelephoneEventReceiver:
    return TelephoneEventReceiver(PT, end_timeout=0.3)


# -- the normal case and its timing ------------------------------------------------------------


def test_start_comes_on_first_packet_without_marker(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(5, 1000, 1, 0.0)
    first = packets[0]
    edges = receiver.receive(SSRC, 1, 1000, False, first.payload, 0.0)
    assert kinds(edges) == [("start", "5")]
    assert (edges[0].timestamp, edges[0].ssrc, edges[0].duration, edges[0].now) == (
        1000,
        SSRC,
        0,
        0.0,
    )
    assert edges[0].reason is None
    assert receiver.active_digit == "5"
    assert receiver.next_deadline() == pytest.approx(0.3)


def test_three_end_packets_are_one_end(receiver: TelephoneEventReceiver) -> None:
    edges = play(receiver, baresip_key(11, 5000, 100, 1.0))
    assert kinds(edges) == [("start", "#"), ("end", "#")]
    assert edges[1].duration == 1440
    assert edges[1].now == pytest.approx(1.18)
    assert receiver.active_digit is None
    assert receiver.next_deadline() is None


def test_deadline_follows_the_last_packet(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(1, 0, 0, 10.0)
    play(receiver, packets[:4])
    assert receiver.next_deadline() == pytest.approx(packets[3].now + 0.3)
    assert receiver.handle_timer(packets[3].now + 0.29) == []
    assert receiver.active_digit == "1"


# -- loss ---------------------------------------------------------------------------------------


def test_start_packet_lost(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(7, 8000, 10, 0.0)[1:]
    edges = play(receiver, packets)
    assert kinds(edges) == [("start", "7"), ("end", "7")]
    assert edges[0].now == packets[0].now
    assert edges[1].duration == 2240


def test_all_end_packets_lost_ends_on_timeout(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(4, 8000, 10, 0.0)[:-3]
    assert kinds(play(receiver, packets)) == [("start", "4")]
    deadline = receiver.next_deadline()
    assert deadline is not None
    assert deadline == pytest.approx(packets[-1].now + 0.3)
    edges = receiver.handle_timer(deadline)
    assert kinds(edges) == [("end", "4")]
    assert edges[0].reason is EndReason.TIMEOUT
    assert edges[0].duration == 1920  # the last duration heard
    assert receiver.next_deadline() is None
    assert receiver.handle_timer(deadline + 5) == []


def test_end_packets_arriving_after_the_timeout_do_not_restart(
    receiver: TelephoneEventReceiver,
) -> None:
    packets = sipp_key(4, 8000, 10, 0.0)
    play(receiver, packets[:-3])
    receiver.handle_timer(1.0)
    late = [Sent(1.5, p.sequence, p.timestamp, p.marker, p.payload) for p in packets]
    assert play(receiver, late) == []


def test_timeout_is_also_noticed_by_a_late_receive(receiver: TelephoneEventReceiver) -> None:
    play(receiver, sipp_key(2, 0, 0, 0.0)[:-3])
    edges = play(receiver, sipp_key(3, 9000, 20, 5.0))
    assert [(e.kind.value, e.digit, e.reason) for e in edges] == [
        ("end", "2", EndReason.TIMEOUT),
        ("start", "3", None),
        ("end", "3", EndReason.END_BIT),
    ]


def test_some_end_packets_lost(receiver: TelephoneEventReceiver) -> None:
    packets = baresip_key(9, 0, 0, 0.0)
    edges = play(receiver, packets[:-3] + packets[-1:])
    assert kinds(edges) == [("start", "9"), ("end", "9")]
    assert edges[1].now == packets[-1].now


def test_only_end_packets_arrive(receiver: TelephoneEventReceiver) -> None:
    edges = play(receiver, sipp_key(0, 0, 0, 0.0)[-3:])
    assert kinds(edges) == [("start", "0"), ("end", "0")]
    assert edges[1].reason is EndReason.END_BIT
    assert edges[1].duration == 2240


def test_updates_lost_in_the_middle(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(6, 0, 0, 0.0)
    edges = play(receiver, [packets[0], packets[5], packets[9]])
    assert kinds(edges) == [("start", "6"), ("end", "6")]


# -- reordering and duplicates -------------------------------------------------------------------


def test_reordered_packets(receiver: TelephoneEventReceiver) -> None:
    p = sipp_key(8, 0, 0, 0.0)
    order = [p[1], p[0], p[3], p[2], p[4], p[6], p[5], p[7], p[8], p[9]]
    edges = play(receiver, order)
    assert kinds(edges) == [("start", "8"), ("end", "8")]
    assert edges[1].duration == 2240


def test_end_overtaking_updates(receiver: TelephoneEventReceiver) -> None:
    p = sipp_key(8, 0, 0, 0.0)
    edges = play(receiver, [p[0], p[1], p[7], p[2], p[3], p[8], p[4], p[9]])
    assert kinds(edges) == [("start", "8"), ("end", "8")]
    assert edges[1].duration == 2240


def test_every_packet_twice(receiver: TelephoneEventReceiver) -> None:
    packets = [p for p in baresip_key(3, 0, 0, 0.0) for _ in range(2)]
    assert kinds(play(receiver, packets)) == [("start", "3"), ("end", "3")]


def test_late_update_after_end_does_not_restart(receiver: TelephoneEventReceiver) -> None:
    packets = sipp_key(5, 0, 0, 0.0)
    play(receiver, packets)
    late = Sent(0.5, packets[2].sequence, 0, False, packets[2].payload)
    assert play(receiver, [late]) == []
    assert receiver.active_digit is None


def test_late_packets_of_an_older_key_after_a_newer_one(receiver: TelephoneEventReceiver) -> None:
    first = sipp_key(1, 1000, 0, 0.0)
    second = sipp_key(2, 4000, 20, 0.1)
    edges = play(receiver, first[:3] + second[:2] + first[3:] + second[2:])
    assert kinds(edges) == [("start", "1"), ("end", "1"), ("start", "2"), ("end", "2")]
    assert edges[1].reason is EndReason.NEXT_KEY


def test_an_older_key_seen_only_after_the_next_one_is_dropped(
    receiver: TelephoneEventReceiver,
) -> None:
    edges = play(receiver, sipp_key(2, 4000, 20, 0.0) + sipp_key(1, 1000, 0, 0.5))
    assert kinds(edges) == [("start", "2"), ("end", "2")]


# -- repeated digits, next key ends the previous one ---------------------------------------------


def test_two_quick_presses_of_the_same_digit(receiver: TelephoneEventReceiver) -> None:
    edges = play(receiver, baresip_key(5, 40475, 0, 0.0) + baresip_key(5, 42395, 24, 0.24))
    assert kinds(edges) == [("start", "5"), ("end", "5"), ("start", "5"), ("end", "5")]
    assert [e.timestamp for e in edges] == [40475, 40475, 42395, 42395]


def test_same_digit_again_with_first_ends_lost(receiver: TelephoneEventReceiver) -> None:
    first = baresip_key(5, 40475, 0, 0.0)[:-3]
    second = baresip_key(5, 42395, 24, 0.24)
    edges = play(receiver, first + second)
    assert [(e.kind.value, e.timestamp, e.reason) for e in edges] == [
        ("start", 40475, None),
        ("end", 40475, EndReason.NEXT_KEY),
        ("start", 42395, None),
        ("end", 42395, EndReason.END_BIT),
    ]
    assert edges[1].now == second[0].now
    assert edges[1].duration == 1440


def test_new_ssrc_key_ends_the_active_one(receiver: TelephoneEventReceiver) -> None:
    a = sipp_key(1, 1000, 0, 0.0)[:4]
    b = [
        Sent(p.now + 0.1, p.sequence, p.timestamp, p.marker, p.payload, ssrc=77)
        for p in sipp_key(2, 50, 0, 0.0)
    ]
    edges = play(receiver, a + b)
    assert [(e.kind.value, e.digit, e.ssrc) for e in edges] == [
        ("start", "1", SSRC),
        ("end", "1", SSRC),
        ("start", "2", 77),
        ("end", "2", 77),
    ]


def test_timestamp_wrap_between_keys(receiver: TelephoneEventReceiver) -> None:
    edges = play(receiver, sipp_key(1, 0xFFFFF000, 0, 0.0) + sipp_key(2, 0x200, 20, 0.3))
    assert kinds(edges) == [("start", "1"), ("end", "1"), ("start", "2"), ("end", "2")]


def test_timestamp_far_behind_is_a_restarted_stream(receiver: TelephoneEventReceiver) -> None:
    """A sender that re-randomizes its timestamps keeps being heard."""
    edges = play(receiver, sipp_key(1, 900_000, 0, 0.0) + sipp_key(2, 100, 20, 1.0))
    assert kinds(edges) == [("start", "1"), ("end", "1"), ("start", "2"), ("end", "2")]


# -- long presses ----------------------------------------------------------------------------------


def test_long_press_in_segments_is_one_key(receiver: TelephoneEventReceiver) -> None:
    """RFC 4733 §2.5.1.3: 10 s at 8 kHz (80000 units) as a segment up to 0xFFFF and a second
    segment on timestamp + 0xFFFF."""
    base = 1_000_000
    packets = []
    for i in range(500):
        elapsed = 160 * (i + 1)
        segment = 0 if elapsed <= 0xFFFF else 0xFFFF
        packets.append(
            Sent(i * 0.02, i, base + segment, i == 0, report(2, False, elapsed - segment))
        )
    end = report(2, True, 80000 - 0xFFFF)
    packets += [Sent(10.0 + i * 0.02, 500 + i, base + 0xFFFF, False, end) for i in range(3)]
    edges = play(receiver, packets)
    assert kinds(edges) == [("start", "2"), ("end", "2")]
    assert edges[1].duration == 80000
    assert edges[1].timestamp == base
    assert edges[1].duration_seconds == pytest.approx(10.0)


def test_late_packet_of_the_first_segment_is_ignored(receiver: TelephoneEventReceiver) -> None:
    packets = [
        Sent(0.0, 0, 0, True, report(2, False, 65440)),
        Sent(0.02, 1, 0xFFFF, False, report(2, False, 65)),
        Sent(0.03, 2, 0, False, report(2, False, 65280)),  # reordered, from the first segment
        Sent(0.04, 3, 0xFFFF, True, report(2, True, 225)),
    ]
    edges = play(receiver, packets)
    assert kinds(edges) == [("start", "2"), ("end", "2")]
    assert edges[1].duration == 0xFFFF + 225


def test_duration_wrap_on_one_timestamp(receiver: TelephoneEventReceiver) -> None:
    """A sender that lets the 16-bit duration wrap instead of starting a segment."""
    packets = [
        Sent(i * 0.02, i, 500, i == 0, report(3, False, (160 * (i + 1)) & 0xFFFF))
        for i in range(450)
    ]
    late = packets[405]  # a pre-wrap packet arriving after the wrap
    packets.insert(420, Sent(packets[420].now, late.sequence, 500, False, late.payload))
    total = 160 * 451
    packets += [Sent(9.0, 451, 500, False, report(3, True, total & 0xFFFF))] * 3
    edges = play(receiver, packets)
    assert kinds(edges) == [("start", "3"), ("end", "3")]
    assert edges[1].duration == total


def test_a_short_key_on_a_new_timestamp_is_not_a_segment(receiver: TelephoneEventReceiver) -> None:
    packets = [
        Sent(0.0, 0, 0, True, report(2, False, 60000)),
        Sent(0.02, 1, 60000 + 8000, False, report(2, False, 160)),
    ]
    edges = play(receiver, packets)
    assert kinds(edges) == [("start", "2"), ("end", "2"), ("start", "2")]


# -- volume, odd events, malformed payloads --------------------------------------------------------


@pytest.mark.parametrize("volume", [0, 10, 36, 63])
def test_volume_is_never_a_filter(receiver: TelephoneEventReceiver, volume: int) -> None:
    packets = [Sent(0.0, 0, 0, True, report(4, False, 160, volume))]
    assert kinds(play(receiver, packets)) == [("start", "4")]


def test_non_dtmf_event_has_no_key(receiver: TelephoneEventReceiver) -> None:
    edges = play(receiver, sipp_key(16, 0, 0, 0.0))  # flash
    assert [(e.kind.value, e.digit, e.event) for e in edges] == [
        ("start", None, 16),
        ("end", None, 16),
    ]
    assert digit_for_event(15) == "D" and digit_for_event(16) is None


@pytest.mark.parametrize("payload", [b"", b"\x05\x0a\x00", b"\x05\x0a\x00\xa0\x05"])
def test_malformed_payload_is_ignored(receiver: TelephoneEventReceiver, payload: bytes) -> None:
    assert receiver.receive(SSRC, 0, 0, True, payload, 0.0) == []
    assert receiver.active_digit is None


def test_receive_packet_dispatches_on_payload_type(receiver: TelephoneEventReceiver) -> None:
    event = pack_header(True, PT, 1, 160, SSRC) + report(1, False, 160)
    audio = pack_header(False, 0, 2, 160, SSRC) + b"\xff" * 160
    assert receiver.receive_packet(audio, 0.0) == []
    assert receiver.receive_packet(b"\x00garbage", 0.0) == []
    assert kinds(receiver.receive_packet(event, 0.0)) == [("start", "1")]
    assert receiver.receive_packet(audio, 0.1) == []
    assert kinds(receiver.receive_packet(audio, 0.4)) == [("end", "1")]  # timeout on any packet
    padded = bytes((0xA0,)) + event[1:12] + report(2, False, 160) + b"\x00\x00\x03"
    assert kinds(receiver.receive_packet(padded, 0.5)) == [("start", "2")]


# -- several events in one packet (RFC 4733 §2.5.1.5) ---------------------------------------------


def test_end_of_one_key_and_start_of_next_in_one_packet(receiver: TelephoneEventReceiver) -> None:
    packets = [
        Sent(0.00, 0, 1000, True, report(5, False, 400)),
        Sent(0.05, 1, 1000, False, report(5, True, 800) + report(6, False, 160)),
        Sent(0.10, 2, 1800, False, report(6, False, 560)),
        Sent(0.15, 3, 1800, False, report(6, True, 800)),
        Sent(0.15, 4, 1800, False, report(6, True, 800)),
    ]
    edges = play(receiver, packets)
    assert [(e.kind.value, e.digit, e.timestamp, e.duration) for e in edges] == [
        ("start", "5", 1000, 0),
        ("end", "5", 1000, 800),
        ("start", "6", 1800, 0),
        ("end", "6", 1800, 800),
    ]
    assert edges[1].reason is EndReason.END_BIT


def test_parse_telephone_events() -> None:
    reports = parse_telephone_events(bytes.fromhex("058a08c0060a0140"))
    assert reports == [TelephoneEvent(5, True, 10, 2240), TelephoneEvent(6, False, 10, 320)]
    assert [r.serialize() for r in reports] == [
        bytes.fromhex("058a08c0"),
        bytes.fromhex("060a0140"),
    ]
    with pytest.raises(RtpError, match="6 bytes"):
        parse_telephone_events(b"\x00" * 6)


# -- RFC 2198 redundancy -----------------------------------------------------------------------


def red_packet(blocks: list[tuple[int, bytes]], primary: bytes) -> bytes:
    """Redundant event reports (timestamp offset, report) followed by the primary report."""
    return serialize_red(
        [RedBlock(PT, off, data) for off, data in blocks] + [RedBlock(PT, 0, primary)]
    )


def test_red_round_trip_and_layout() -> None:
    payload = red_packet([(320, b"\x05\x0a\x00\xa0")], b"\x05\x0a\x01\x40")
    assert payload[:5] == bytes((0x80 | PT,)) + (320 << 10 | 4).to_bytes(3, "big") + bytes((PT,))
    assert parse_red(payload) == [
        RedBlock(PT, 320, b"\x05\x0a\x00\xa0"),
        RedBlock(PT, 0, b"\x05\x0a\x01\x40"),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "header truncated"),
        (b"\xe5\x00\x01", "block header truncated"),
        (b"\xe5\x00\x04\x04\x65\x05", "runs past"),
    ],
)
def test_red_malformed(payload: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse_red(payload)


def test_red_carrying_events_with_primaries_lost() -> None:
    """Keys 1 then 2 where each packet repeats the previous report; the packets whose
    primary block started key 2 and ended it are lost, their redundancy still tells."""
    receiver = TelephoneEventReceiver(PT, red_payload_type=99)
    k1_start, k1_end = report(1, False, 160), report(1, True, 480)
    k2_start, k2_mid, k2_end = report(2, False, 160), report(2, False, 320), report(2, True, 480)
    packets = [
        (0.00, 1000, red_packet([], k1_start)),
        (0.06, 1000, red_packet([(0, k1_start)], k1_end)),
        # lost: ts 2000 primary k2_start
        (0.14, 2000, red_packet([(0, k2_start)], k2_mid)),
        # lost: primary k2_end; its redundant copy arrives with a later packet of other audio
        (0.30, 2160, serialize_red([RedBlock(PT, 160, k2_end), RedBlock(0, 0, b"\xff" * 160)])),
    ]
    edges: list[KeyEdge] = []
    for now, timestamp, payload in packets:
        edges += receiver.receive_red(SSRC, 0, timestamp, False, payload, now)
    assert [(e.kind.value, e.digit, e.timestamp, e.duration) for e in edges] == [
        ("start", "1", 1000, 0),
        ("end", "1", 1000, 480),
        ("start", "2", 2000, 0),
        ("end", "2", 2000, 480),
    ]
    data = pack_header(False, 99, 9, 3000, SSRC) + red_packet([], report(3, False, 160))
    assert kinds(receiver.receive_packet(data, 0.4)) == [("start", "3")]
    assert receiver.receive_red(SSRC, 0, 0, False, b"\xe5", 0.41) == []


# -- properties --------------------------------------------------------------------------------


@st.composite
def mangled_key(draw: st.DrawFn) -> list[Sent]:
    """One key's packets with any loss, duplication and local reordering."""
    packets = baresip_key(7, 123456, 0, 0.0) if draw(st.booleans()) else sipp_key(7, 123456, 0, 0.0)
    kept = [p for p in packets if draw(st.integers(0, 3))]  # each kept 3 times in 4
    kept += draw(st.lists(st.sampled_from(packets), max_size=4)) if packets else []
    kept = kept or [packets[draw(st.integers(0, len(packets) - 1))]]
    order = draw(st.permutations(range(len(kept))))
    return [
        Sent(i * 0.02, kept[j].sequence, kept[j].timestamp, kept[j].marker, kept[j].payload)
        for i, j in enumerate(order)
    ]


@given(mangled_key())
def test_any_mangling_of_one_key_is_one_press(packets: list[Sent]) -> None:
    receiver = TelephoneEventReceiver(PT)
    edges = play(receiver, packets)
    edges += receiver.handle_timer(100.0)
    assert kinds(edges) == [("start", "7"), ("end", "7")]
    assert edges[0].timestamp == edges[1].timestamp == 123456
    assert receiver.next_deadline() is None


@given(st.lists(st.tuples(st.integers(0, 15), st.booleans()), min_size=1, max_size=6))
def test_edges_alternate_and_every_key_is_counted(keys: list[tuple[int, bool]]) -> None:
    """A series of presses, some losing all their end packets: starts and ends alternate and
    each press is exactly one start."""
    receiver = TelephoneEventReceiver(PT)
    packets: list[Sent] = []
    for n, (event, ends_lost) in enumerate(keys):
        key = sipp_key(event, 10_000 + 4000 * n, 20 * n, 0.5 * n)
        packets += key[:-3] if ends_lost else key
    edges = play(receiver, packets) + receiver.handle_timer(100.0)
    assert [e.kind for e in edges] == [EdgeKind.START, EdgeKind.END] * len(keys)
    assert [e.event for e in edges[::2]] == [event for event, _ in keys]
