"""RTP packets: full parse/serialize, the relay's fast path, in-place rewriting, validation."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.rtp import (
    RtpError,
    RtpPacket,
    is_rtcp,
    pack_header,
    parse_header,
    payload_end,
    rewrite_header,
    set_marker,
    set_payload_type,
    set_sequence,
    set_ssrc,
    set_timestamp,
)

# The first packet of SIPp's dtmf_2833_5.pcap (UDP payload): marker, PT 101, key 5.
SIPP_EVENT = bytes.fromhex("80e51fdb0000a8c00e05384e050a0000")
# A PCMU packet: PT 0, seq 1000, ts 160000, 160 bytes of 0xff.
PCMU = bytes.fromhex("800003e8000271000000abcd") + b"\xff" * 160


def test_parse_sipp_event_packet() -> None:
    packet = RtpPacket.parse(SIPP_EVENT)
    assert packet.version == 2
    assert packet.marker is True
    assert packet.payload_type == 101
    assert packet.sequence == 0x1FDB
    assert packet.timestamp == 0xA8C0
    assert packet.ssrc == 0x0E05384E
    assert packet.payload == bytes.fromhex("050a0000")
    assert packet.csrc == ()
    assert not packet.has_extension and not packet.has_padding
    assert packet.serialize() == SIPP_EVENT


def test_parse_header_matches_full_parse() -> None:
    assert parse_header(SIPP_EVENT) == (101, True, 0x1FDB, 0xA8C0, 0x0E05384E, 12)
    assert parse_header(PCMU) == (0, False, 1000, 160000, 0xABCD, 12)
    assert parse_header(memoryview(PCMU)) == parse_header(PCMU)
    assert parse_header(bytearray(PCMU)) == parse_header(PCMU)


def test_csrc_extension_padding_round_trip() -> None:
    packet = RtpPacket(
        payload_type=8,
        marker=True,
        sequence=65535,
        timestamp=0xFFFFFFFF,
        ssrc=0x01020304,
        payload=b"\xd5" * 160,
        csrc=(1, 2, 3),
        extension_profile=0xBEDE,
        extension=b"\x10\xaa\x00\x00",
        padding=b"\x00\x00\x00\x04",
    )
    data = packet.serialize()
    assert data[0] == 0x80 | 0x20 | 0x10 | 3
    assert len(data) == 12 + 12 + 4 + 4 + 160 + 4
    assert RtpPacket.parse(data) == packet
    assert RtpPacket.parse(data).serialize() == data
    pt, marker, _, _, _, offset = parse_header(data)
    assert (pt, marker, offset) == (8, True, 12 + 12 + 8)
    assert payload_end(data, offset) == len(data) - 4
    assert data[offset : payload_end(data, offset)] == b"\xd5" * 160


def test_padding_with_nonzero_filler_round_trips_byte_for_byte() -> None:
    data = bytes.fromhex("a0000001000000020000000301020303")
    packet = RtpPacket.parse(data)
    assert packet.payload == b"\x01"
    assert packet.padding == b"\x02\x03\x03"
    assert packet.serialize() == data


def test_payload_end_without_padding_is_packet_end() -> None:
    assert payload_end(PCMU, 12) == len(PCMU)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (PCMU[:11], "too short"),
        (b"\x40" + PCMU[1:], "version 1"),
        (b"\x00" + PCMU[1:], "version 0"),
        (b"\xc0" + PCMU[1:], "version 3"),
        (b"\x8f" + PCMU[1:40], "header of 72 bytes"),  # 15 CSRCs in a 40-byte packet
        (b"\x90" + PCMU[1:12] + b"\xbe\xde", "extension truncated"),
        (b"\x90" + PCMU[1:12] + b"\xbe\xde\x00\x10", "header of 80 bytes"),
        (b"\xa0" + PCMU[1:12] + b"\x01\x00", "padding count 0"),
        (b"\xa0" + PCMU[1:12] + b"\x01\x05", "padding count 5"),
    ],
)
def test_garbage_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        RtpPacket.parse(data)


def test_serialize_rejects_inconsistent_fields() -> None:
    with pytest.raises(RtpError, match="CSRC"):
        RtpPacket(csrc=tuple(range(16))).serialize()
    with pytest.raises(RtpError, match="multiple of 4"):
        RtpPacket(extension_profile=1, extension=b"abc").serialize()
    with pytest.raises(RtpError, match="padding"):
        RtpPacket(padding=b"\x00\x00\x03\x02").serialize()


def test_in_place_rewrites() -> None:
    buf = bytearray(SIPP_EVENT)
    set_ssrc(buf, 0xCAFEBABE)
    set_sequence(buf, 0x1_0005)
    set_timestamp(buf, 0x1_0000_0010)
    set_payload_type(buf, 96)
    assert parse_header(buf)[:5] == (96, True, 5, 0x10, 0xCAFEBABE)
    set_marker(buf, False)
    assert parse_header(buf)[:2] == (96, False)
    set_payload_type(buf, 101)
    assert parse_header(buf)[:2] == (101, False)
    assert buf[12:] == SIPP_EVENT[12:]


def test_rewrite_header_in_one_call() -> None:
    buf = bytearray(PCMU)
    rewrite_header(buf, True, 8, 70000, -1, 0x11223344)
    assert parse_header(buf) == (8, True, 70000 - 65536, 0xFFFFFFFF, 0x11223344, 12)
    assert buf[0] == 0x80
    assert buf[12:] == PCMU[12:]


def test_pack_header() -> None:
    assert pack_header(True, 101, 0x1FDB, 0xA8C0, 0x0E05384E) == SIPP_EVENT[:12]


def test_rtcp_demultiplexing() -> None:
    assert not is_rtcp(PCMU)
    assert not is_rtcp(SIPP_EVENT)  # PT 101 with marker: 0xe5
    assert is_rtcp(bytes((0x80, 200)))
    assert is_rtcp(bytes((0x81, 201)))
    assert not is_rtcp(b"\x80")


rtp_packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    marker=st.booleans(),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    extension_profile=st.none() | st.integers(0, 0xFFFF),
    extension=st.binary(max_size=8).map(lambda b: b[: len(b) // 4 * 4]),
    padding=st.integers(0, 8).map(lambda n: b"\x00" * (n - 1) + bytes((n,)) if n else b""),
)


@given(rtp_packets)
def test_any_packet_round_trips(packet: RtpPacket) -> None:
    if packet.extension_profile is None:
        packet.extension = b""
    data = packet.serialize()
    assert RtpPacket.parse(data) == packet
    pt, marker, seq, ts, ssrc, offset = parse_header(data)
    assert (pt, marker, seq, ts, ssrc) == (
        packet.payload_type,
        packet.marker,
        packet.sequence,
        packet.timestamp,
        packet.ssrc,
    )
    assert data[offset : payload_end(data, offset)] == packet.payload


@given(st.binary(max_size=80))
def test_random_bytes_parse_or_raise_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpError as exc:
        assert exc.reason
    else:
        assert packet.serialize() == data


def test_header_struct_layout_is_network_order() -> None:
    data = pack_header(False, 0, 1, 2, 3)
    assert struct.unpack("!BBHII", data) == (0x80, 0, 1, 2, 3)
