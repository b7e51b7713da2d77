"""RTCP compound packets (SR, RR, SDES, BYE) and reception statistics."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.rtp import (
    RTCP_APP,
    SDES_CNAME,
    ReceptionStatistics,
    ReportBlock,
    RtcpBye,
    RtcpOther,
    RtcpPacket,
    RtcpReceiverReport,
    RtcpSenderReport,
    RtcpSourceDescription,
    RtpError,
    SdesChunk,
    ntp_middle32,
    ntp_timestamp,
    parse_rtcp,
    serialize_rtcp,
)

BLOCK = ReportBlock(
    ssrc=0x11111111,
    fraction_lost=25,
    packets_lost=-3,
    highest_sequence=0x0001_0005,
    jitter=40,
    lsr=0x12345678,
    dlsr=0x00010000,
)


def _hand_built_compound() -> bytes:
    """SR with one block + SDES CNAME, laid out by hand from RFC 3550 §6.4.1 and §6.5."""
    sr = struct.pack(
        "!BBHIQIII", 0x81, 200, 12, 0xAABBCCDD, 0xE000000080000000, 160000, 50, 8000
    ) + struct.pack("!IIIIII", 0x11111111, 25 << 24 | 0xFFFFFD, 0x00010005, 40, 0x12345678, 0x10000)
    cname = b"user@host"  # 4 (SSRC) + 2 + 9 = 15, one null octet ends and pads to 16
    sdes = struct.pack("!BBHI", 0x81, 202, 4, 0xAABBCCDD) + bytes((1, 9)) + cname + b"\x00"
    return sr + sdes


def test_parse_hand_built_sr_and_sdes() -> None:
    data = _hand_built_compound()
    sr, sdes = parse_rtcp(data)
    assert isinstance(sr, RtcpSenderReport)
    assert sr.ssrc == 0xAABBCCDD
    assert sr.ntp_timestamp == 0xE000000080000000
    assert (sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (160000, 50, 8000)
    assert sr.reports == (BLOCK,)
    assert isinstance(sdes, RtcpSourceDescription)
    assert sdes.chunks[0].ssrc == 0xAABBCCDD
    assert sdes.chunks[0].cname == b"user@host"
    assert serialize_rtcp([sr, sdes]) == data


def test_rr_sdes_bye_compound_round_trip() -> None:
    packets: list[RtcpPacket] = [
        RtcpReceiverReport(0x01020304, (BLOCK, BLOCK)),
        RtcpSourceDescription(
            (
                SdesChunk(0x01020304, ((SDES_CNAME, b"b2bua@10.0.0.1"),)),
                SdesChunk(0x05060708, ((SDES_CNAME, b"abc"), (6, b"tool"))),
            )
        ),
        RtcpBye((0x01020304,), b"call ended"),
    ]
    data = serialize_rtcp(packets)
    assert len(data) % 4 == 0
    assert parse_rtcp(data) == packets
    assert data[1] == 201 and data[0] == 0x82


def test_bye_without_reason_and_sdes_chunk_already_aligned() -> None:
    chunk = SdesChunk(7, ((SDES_CNAME, b"ab"),))  # 4 + 2 + 2 = 8: needs four null octets
    assert chunk.serialize() == struct.pack("!I", 7) + b"\x01\x02ab" + b"\x00" * 4
    packets: list[RtcpPacket] = [RtcpSourceDescription((chunk,)), RtcpBye((1, 2))]
    assert parse_rtcp(serialize_rtcp(packets)) == packets


def test_unknown_packet_types_are_kept() -> None:
    app = RtcpOther(RTCP_APP, 3, b"NAME" + b"\x00" * 4)
    data = serialize_rtcp([RtcpReceiverReport(9), app])
    assert parse_rtcp(data) == [RtcpReceiverReport(9), app]


def test_padding_on_last_packet_is_stripped() -> None:
    bye = serialize_rtcp([RtcpBye((5,))])
    padded = bytes((bye[0] | 0x20, bye[1])) + struct.pack("!H", 2) + bye[4:] + b"\x00\x00\x00\x04"
    assert parse_rtcp(padded) == [RtcpBye((5,))]


def test_sr_profile_extension_is_kept() -> None:
    sr = RtcpSenderReport(1, 2, 3, 4, 5, (), b"\xde\xad\xbe\xef")
    assert parse_rtcp(serialize_rtcp([sr])) == [sr]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\xc8", "too short"),
        (b"\x40\xc9\x00\x01\x00\x00\x00\x01", "version 1"),
        (b"\x80\xc9\x00\x05\x00\x00\x00\x01", "runs past"),
        (b"\x81\xc9\x00\x01\x00\x00\x00\x01", "report blocks"),
        (b"\x80\xc8\x00\x01\x00\x00\x00\x01", "sender info"),
        (b"\x80\xc9\x00\x00", "without its SSRC"),
        (b"\x81\xca\x00\x01\x00\x00\x00\x01", "not terminated"),
        (b"\x81\xca\x00\x02\x00\x00\x00\x01\x01\x09ab", "item truncated"),
        (b"\x82\xcb\x00\x01\x00\x00\x00\x01", "source list"),
        (b"\x81\xcb\x00\x02\x00\x00\x00\x01\x09abc", "reason truncated"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x01" + b"\x80\xc9\x00\x01\x00\x00\x00\x01", "not the last"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x00", "padding count 0"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x09", "padding count 9"),
        (b"\x80\xc9\x00\x01\x00\x00\x00\x01\x80", "header truncated"),
    ],
)
def test_garbage_rtcp_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse_rtcp(data)


def test_serialize_rejects_unaligned_and_oversized() -> None:
    with pytest.raises(RtpError, match="aligned"):
        serialize_rtcp([RtcpOther(RTCP_APP, 0, b"abc")])
    with pytest.raises(RtpError, match="count 32"):
        serialize_rtcp([RtcpBye(tuple(range(32)))])
    with pytest.raises(RtpError, match="255"):
        serialize_rtcp([RtcpBye((1,), b"x" * 256)])
    with pytest.raises(RtpError, match="255"):
        SdesChunk(1, ((SDES_CNAME, b"x" * 256),)).serialize()


def test_ntp_timestamp() -> None:
    ntp = ntp_timestamp(1.5)
    assert ntp >> 32 == 2_208_988_801
    assert ntp & 0xFFFFFFFF == 0x80000000
    assert ntp_middle32(0x0102030405060708) == 0x03040506


def test_reception_statistics_loss_wrap_and_jitter() -> None:
    stats = ReceptionStatistics(ssrc=42)
    # 65530..65535, 0..9 with 65533 and 3 lost; perfect timing (no jitter).
    sequences = [s & 0xFFFF for s in range(65530, 65546) if s & 0xFFFF not in (65533, 3)]
    for seq in sequences:
        n = (seq - 65530) & 0xFFFF
        stats.update(seq, 160 * n, 1000 + 160 * n)
    assert stats.extended_highest_sequence == 0x1_0009
    assert stats.expected == 16 and stats.received == 14
    block = stats.report_block(lsr=7, dlsr=8)
    assert block.packets_lost == 2
    assert block.fraction_lost == (2 << 8) // 16
    assert block.highest_sequence == 0x1_0009
    assert block.jitter == 0
    assert (block.lsr, block.dlsr, block.ssrc) == (7, 8, 42)
    # next interval: nothing lost; a late duplicate does not move the highest sequence
    stats.update(65531, 160, 1000 + 160 + 320)  # 320 units late
    stats.update(10, 160 * 16, 1000 + 160 * 16)
    block = stats.report_block()
    assert block.fraction_lost == 0
    assert block.highest_sequence == 0x1_000A
    assert stats.jitter == pytest.approx(320 / 16 + (320 - 320 / 16) / 16)


def test_reception_statistics_empty() -> None:
    block = ReceptionStatistics(ssrc=1).report_block()
    assert (block.packets_lost, block.fraction_lost, block.highest_sequence) == (0, 0, 0)


report_blocks = st.builds(
    ReportBlock,
    ssrc=st.integers(0, 0xFFFFFFFF),
    fraction_lost=st.integers(0, 255),
    packets_lost=st.integers(-0x800000, 0x7FFFFF),
    highest_sequence=st.integers(0, 0xFFFFFFFF),
    jitter=st.integers(0, 0xFFFFFFFF),
    lsr=st.integers(0, 0xFFFFFFFF),
    dlsr=st.integers(0, 0xFFFFFFFF),
)
sdes_items = st.tuples(st.integers(1, 8), st.binary(max_size=20))
rtcp_packets = st.one_of(
    st.builds(
        RtcpSenderReport,
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 2**64 - 1),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.lists(report_blocks, max_size=3).map(tuple),
    ),
    st.builds(
        RtcpReceiverReport,
        st.integers(0, 0xFFFFFFFF),
        st.lists(report_blocks, max_size=3).map(tuple),
    ),
    st.builds(
        RtcpSourceDescription,
        st.lists(
            st.builds(
                SdesChunk,
                st.integers(0, 0xFFFFFFFF),
                st.lists(sdes_items, max_size=3).map(tuple),
            ),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(
        RtcpBye,
        st.lists(st.integers(0, 0xFFFFFFFF), max_size=4).map(tuple),
        st.binary(max_size=30),
    ),
)


@given(st.lists(rtcp_packets, min_size=1, max_size=4))
def test_any_compound_round_trips(packets: list[RtcpPacket]) -> None:
    data = serialize_rtcp(packets)
    parsed = parse_rtcp(data)
    assert parsed == packets
    assert serialize_rtcp(parsed) == data


@given(st.binary(max_size=64))
def test_random_bytes_parse_or_raise_rtp_error(data: bytes) -> None:
    try:
        packets = parse_rtcp(data)
    except RtpError as exc:
        assert exc.reason
    else:
        assert packets
