"""The receiver against what real senders put on the wire.

SIPp: its own ``dtmf_2833_*.pcap`` files, read here with a small pcap reader. baresip 1.0.0:
packets captured from ``sndcode 55`` and ``sndcode 12#`` on a call answered with PCMU and
telephone-event/8000 on PT 101 (audio packets keep flowing during the events; their 160 bytes
of payload are written here as 0xff, the header is as captured).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from b2bua.media.events import EdgeKind, EndReason, KeyEdge, TelephoneEventReceiver
from b2bua.media.rtp import RtpPacket, parse_header

SIPP_DIR = Path("/usr/share/sip-tester")
SIPP_KEYS = {**{str(d): str(d) for d in range(10)}, "star": "*", "pound": "#"}

_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_PCAP_MAGIC_LE = 0xA1B2C3D4
_LINKTYPE_ETHERNET = 1


def read_pcap_udp(path: Path) -> list[tuple[float, bytes]]:
    """(capture time, UDP payload) of every IPv4/UDP frame of a classic Ethernet pcap."""
    data = path.read_bytes()
    magic, _, _, _, _, _, link = _PCAP_HEADER.unpack_from(data)
    assert magic == _PCAP_MAGIC_LE and link == _LINKTYPE_ETHERNET
    out = []
    offset = _PCAP_HEADER.size
    while offset < len(data):
        seconds, micros, captured, _ = _PCAP_RECORD.unpack_from(data, offset)
        frame = data[offset + _PCAP_RECORD.size : offset + _PCAP_RECORD.size + captured]
        offset += _PCAP_RECORD.size + captured
        if frame[12:14] != b"\x08\x00" or frame[14 + 9] != 17:  # IPv4, UDP
            continue
        ip_header = (frame[14] & 0x0F) * 4
        udp = frame[14 + ip_header :]
        udp_length = struct.unpack_from("!H", udp, 4)[0]
        out.append((seconds + micros / 1e6, udp[8:udp_length]))
    return out


def feed(receiver: TelephoneEventReceiver, packets: list[tuple[float, bytes]]) -> list[KeyEdge]:
    edges: list[KeyEdge] = []
    for now, data in packets:
        edges += receiver.receive_packet(data, now)
    return edges


def summary(edges: list[KeyEdge]) -> list[tuple[str, str | None, int, int]]:
    return [(e.kind.value, e.digit, e.timestamp, e.duration) for e in edges]


# -- SIPp ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIPP_KEYS))
def test_sipp_pcap_is_one_key(name: str) -> None:
    packets = read_pcap_udp(SIPP_DIR / f"dtmf_2833_{name}.pcap")
    receiver = TelephoneEventReceiver(payload_type=101)
    edges = feed(receiver, packets)
    first = RtpPacket.parse(packets[0][1])
    assert summary(edges) == [
        ("start", SIPP_KEYS[name], first.timestamp, 0),
        ("end", SIPP_KEYS[name], first.timestamp, 2240),
    ]
    assert edges[0].now == packets[0][0]  # the start comes with the first packet
    assert edges[1].now == packets[7][0]  # the end with the first end packet
    assert edges[1].reason is EndReason.END_BIT
    assert edges[1].duration_seconds == pytest.approx(0.28)
    assert receiver.next_deadline() is None


def test_what_the_sipp_pcaps_hold() -> None:
    """SIPp: 7 updates from duration 0, then 3 end packets sharing one sequence number."""
    packets = [RtpPacket.parse(d) for _, d in read_pcap_udp(SIPP_DIR / "dtmf_2833_5.pcap")]
    assert len(packets) == 10
    assert [p.marker for p in packets] == [True] + [False] * 9
    assert {p.payload_type for p in packets} == {101}
    assert len({p.timestamp for p in packets}) == 1
    assert [p.sequence - packets[0].sequence for p in packets] == [0, 1, 2, 3, 4, 5, 6, 7, 7, 7]
    durations = [struct.unpack("!H", p.payload[2:])[0] for p in packets]
    assert durations == [0, 320, 640, 960, 1280, 1600, 1920, 2240, 2240, 2240]
    assert [bool(p.payload[1] & 0x80) for p in packets] == [False] * 7 + [True] * 3
    assert {p.payload[1] & 0x3F for p in packets} == {10}


def test_all_sipp_keys_back_to_back_are_twelve_keys() -> None:
    """The twelve pcaps share one SSRC and one timeline: played in RTP timestamp order on one
    stream they are twelve keys."""
    captures = [read_pcap_udp(SIPP_DIR / f"dtmf_2833_{name}.pcap") for name in SIPP_KEYS]
    captures.sort(key=lambda packets: RtpPacket.parse(packets[0][1]).timestamp)
    receiver = TelephoneEventReceiver(payload_type=101)
    edges: list[KeyEdge] = []
    for now, packets in enumerate(captures):
        edges += feed(receiver, [(now + i * 0.02, data) for i, (_, data) in enumerate(packets)])
    starts = [e.digit for e in edges if e.kind is EdgeKind.START]
    assert starts == ["1", "0", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
    assert [e.kind for e in edges] == [EdgeKind.START, EdgeKind.END] * 12
    assert {e.reason for e in edges if e.kind is EdgeKind.END} == {EndReason.END_BIT}


# -- baresip ---------------------------------------------------------------------------------

# (milliseconds after the sndcode command, packet); 12-byte rows are PCMU audio headers.
BARESIP_55 = [
    (19, "80005f1400009d7b0eb3d92f"),
    (19, "80e55f1500009e1b0eb3d92f050a00a0"),
    (40, "80005f1600009e1b0eb3d92f"),
    (40, "80655f1700009e1b0eb3d92f050a0140"),
    (60, "80005f1800009ebb0eb3d92f"),
    (60, "80655f1900009e1b0eb3d92f050a01e0"),
    (81, "80005f1a00009f5b0eb3d92f"),
    (81, "80655f1b00009e1b0eb3d92f050a0280"),
    (102, "80005f1c00009ffb0eb3d92f"),
    (102, "80655f1d00009e1b0eb3d92f050a0320"),
    (122, "80005f1e0000a09b0eb3d92f"),
    (122, "80655f1f00009e1b0eb3d92f050a03c0"),
    (139, "80005f200000a13b0eb3d92f"),
    (139, "80655f2100009e1b0eb3d92f050a0460"),
    (159, "80005f220000a1db0eb3d92f"),
    (159, "80655f2300009e1b0eb3d92f050a0500"),
    (180, "80005f240000a27b0eb3d92f"),
    (180, "80655f2500009e1b0eb3d92f050a05a0"),
    (200, "80005f260000a31b0eb3d92f"),
    (200, "80655f2700009e1b0eb3d92f058a05a0"),
    (221, "80005f280000a3bb0eb3d92f"),
    (221, "80655f2900009e1b0eb3d92f058a05a0"),
    (241, "80005f2a0000a45b0eb3d92f"),
    (241, "80655f2b00009e1b0eb3d92f058a05a0"),
    (262, "80005f2c0000a4fb0eb3d92f"),
    (262, "80e55f2d0000a59b0eb3d92f050a00a0"),
    (278, "80005f2e0000a59b0eb3d92f"),
    (278, "80655f2f0000a59b0eb3d92f050a0140"),
    (299, "80005f300000a63b0eb3d92f"),
    (299, "80655f310000a59b0eb3d92f050a01e0"),
    (319, "80005f320000a6db0eb3d92f"),
    (319, "80655f330000a59b0eb3d92f050a0280"),
    (340, "80005f340000a77b0eb3d92f"),
    (340, "80655f350000a59b0eb3d92f050a0320"),
    (360, "80005f360000a81b0eb3d92f"),
    (360, "80655f370000a59b0eb3d92f050a03c0"),
    (381, "80005f380000a8bb0eb3d92f"),
    (381, "80655f390000a59b0eb3d92f050a0460"),
    (401, "80005f3a0000a95b0eb3d92f"),
    (401, "80655f3b0000a59b0eb3d92f050a0500"),
    (422, "80005f3c0000a9fb0eb3d92f"),
    (422, "80655f3d0000a59b0eb3d92f050a05a0"),
    (438, "80005f3e0000aa9b0eb3d92f"),
    (438, "80655f3f0000a59b0eb3d92f058a05a0"),
    (459, "80005f400000ab3b0eb3d92f"),
    (459, "80655f410000a59b0eb3d92f058a05a0"),
    (480, "80005f420000abdb0eb3d92f"),
    (480, "80655f430000a59b0eb3d92f058a05a0"),
    (500, "80005f440000ac7b0eb3d92f"),
    (521, "80005f450000ad1b0eb3d92f"),
    (541, "80005f460000adbb0eb3d92f"),
    (562, "80005f470000ae5b0eb3d92f"),
]

BARESIP_12_POUND = [
    (18, "80e55f5f0000bd5b0eb3d92f010a00a0"),
    (39, "80655f610000bd5b0eb3d92f010a0140"),
    (59, "80655f630000bd5b0eb3d92f010a01e0"),
    (80, "80655f650000bd5b0eb3d92f010a0280"),
    (100, "80655f670000bd5b0eb3d92f010a0320"),
    (121, "80655f690000bd5b0eb3d92f010a03c0"),
    (137, "80655f6b0000bd5b0eb3d92f010a0460"),
    (158, "80655f6d0000bd5b0eb3d92f010a0500"),
    (178, "80655f6f0000bd5b0eb3d92f010a05a0"),
    (199, "80655f710000bd5b0eb3d92f018a05a0"),
    (219, "80655f730000bd5b0eb3d92f018a05a0"),
    (240, "80655f750000bd5b0eb3d92f018a05a0"),
    (260, "80e55f770000c4db0eb3d92f020a00a0"),
    (281, "80655f790000c4db0eb3d92f020a0140"),
    (297, "80655f7b0000c4db0eb3d92f020a01e0"),
    (318, "80655f7d0000c4db0eb3d92f020a0280"),
    (339, "80655f7f0000c4db0eb3d92f020a0320"),
    (359, "80655f810000c4db0eb3d92f020a03c0"),
    (381, "80655f830000c4db0eb3d92f020a0460"),
    (397, "80655f850000c4db0eb3d92f020a0500"),
    (418, "80655f870000c4db0eb3d92f020a05a0"),
    (439, "80655f890000c4db0eb3d92f028a05a0"),
    (459, "80655f8b0000c4db0eb3d92f028a05a0"),
    (480, "80655f8d0000c4db0eb3d92f028a05a0"),
    (500, "80e55f8f0000cc5b0eb3d92f0b0a00a0"),
    (521, "80655f910000cc5b0eb3d92f0b0a0140"),
    (537, "80655f930000cc5b0eb3d92f0b0a01e0"),
    (558, "80655f950000cc5b0eb3d92f0b0a0280"),
    (578, "80655f970000cc5b0eb3d92f0b0a0320"),
    (599, "80655f990000cc5b0eb3d92f0b0a03c0"),
    (620, "80655f9b0000cc5b0eb3d92f0b0a0460"),
    (640, "80655f9d0000cc5b0eb3d92f0b0a0500"),
    (661, "80655f9f0000cc5b0eb3d92f0b0a05a0"),
    (677, "80655fa10000cc5b0eb3d92f0b8a05a0"),
    (698, "80655fa30000cc5b0eb3d92f0b8a05a0"),
    (719, "80655fa50000cc5b0eb3d92f0b8a05a0"),
]


def baresip_packets(rows: list[tuple[int, str]]) -> list[tuple[float, bytes]]:
    out = []
    for millis, text in rows:
        data = bytes.fromhex(text)
        if len(data) == 12:
            data += b"\xff" * 160
        out.append((millis / 1000, data))
    return out


def test_what_the_baresip_capture_holds() -> None:
    """baresip: audio keeps flowing; each end packet has its own sequence number."""
    packets = [RtpPacket.parse(d) for _, d in baresip_packets(BARESIP_55)]
    events = [p for p in packets if p.payload_type == 101]
    audio = [p for p in packets if p.payload_type == 0]
    assert len(events) == 24 and len(audio) == 28
    ends = [p for p in events if p.payload[1] & 0x80]
    assert len(ends) == 6
    assert len({p.sequence for p in ends}) == 6
    assert struct.unpack("!H", events[0].payload[2:])[0] == 160  # first report: one ptime
    assert [p.marker for p in events].count(True) == 2
    assert len({p.ssrc for p in packets}) == 1


def test_baresip_same_digit_twice_is_two_keys_despite_audio() -> None:
    receiver = TelephoneEventReceiver(payload_type=101)
    packets = baresip_packets(BARESIP_55)
    edges = feed(receiver, packets)
    first, second = (RtpPacket.parse(d).timestamp for _, d in packets if d[1] == 0xE5)
    assert summary(edges) == [
        ("start", "5", first, 0),
        ("end", "5", first, 1440),
        ("start", "5", second, 0),
        ("end", "5", second, 1440),
    ]
    assert all(e.reason in (None, EndReason.END_BIT) for e in edges)
    assert [round(e.now, 3) for e in edges] == [0.019, 0.2, 0.262, 0.438]


def test_baresip_three_keys_without_audio() -> None:
    receiver = TelephoneEventReceiver(payload_type=101)
    edges = feed(receiver, baresip_packets(BARESIP_12_POUND))
    assert [(e.kind.value, e.digit) for e in edges] == [
        ("start", "1"),
        ("end", "1"),
        ("start", "2"),
        ("end", "2"),
        ("start", "#"),
        ("end", "#"),
    ]
    assert {e.duration for e in edges if e.kind is EdgeKind.END} == {1440}


def test_baresip_packets_reordered_within_each_pair_still_two_keys() -> None:
    """Swap every event packet with the audio packet next to it, and deliver ends twice."""
    packets = baresip_packets(BARESIP_55)
    shuffled = []
    for i in range(0, len(packets) - 1, 2):
        shuffled += [packets[i + 1], packets[i]]
        if parse_header(packets[i + 1][1])[0] == 101 and packets[i + 1][1][13] & 0x80:
            shuffled.append(packets[i + 1])
    edges = feed(TelephoneEventReceiver(payload_type=101), shuffled)
    assert [(e.kind.value, e.digit, e.duration) for e in edges] == [
        ("start", "5", 0),
        ("end", "5", 1440),
        ("start", "5", 0),
        ("end", "5", 1440),
    ]
