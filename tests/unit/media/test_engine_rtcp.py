"""Our RTCP reports of one leg, built from the packet path's counters."""

from __future__ import annotations

import socket

from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.codec import PCMU
from b2bua.media.relay import Clock, Stream
from b2bua.media.reports import RtcpSession
from b2bua.media.rtp import (
    ReportBlock,
    RtcpPacket,
    RtcpReceiverReport,
    RtcpSenderReport,
    RtcpSourceDescription,
    SdesChunk,
    ntp_timestamp,
    parse_rtcp,
    serialize_rtcp,
)


def make_stream() -> Stream:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    return Stream(1, 40000, sockets[0], sockets[1], Clock(0.0), PCMU)


def test_receiver_report_with_loss_before_we_send() -> None:
    stream = make_stream()
    try:
        session = RtcpSession(stream, report_ssrc=0x5555)
        stream.rx_ssrc = 0xABCD
        stream.rx_seq, stream.rx_packets = 100, 1
        session.report(0.0)
        stream.rx_seq, stream.rx_packets = 199, 90  # 99 more expected, 89 arrived
        packets = parse_rtcp(session.report(1.0))
        report = packets[0]
        assert isinstance(report, RtcpReceiverReport) and report.ssrc == 0x5555
        block = report.reports[0]
        assert block.ssrc == 0xABCD and block.highest_sequence == 199
        assert block.packets_lost == 10
        assert block.fraction_lost == (10 << 8) // 99
    finally:
        stream.close()


def test_sender_report_once_we_send_and_sequence_wrap() -> None:
    stream = make_stream()
    try:
        session = RtcpSession(stream, report_ssrc=0x5555)
        stream.rx_ssrc, stream.rx_seq, stream.rx_packets = 7, 65000, 1
        session.report(0.0)
        stream.out_started, stream.out_ssrc, stream.out_ts = True, 0x77, 123456
        stream.tx_packets, stream.tx_octets = 50, 8000
        stream.rx_seq, stream.rx_packets = 464, 1001  # wrapped: 65000 .. 65535, 0 .. 464
        report = parse_rtcp(session.report(1_700_000_000.0))[0]
        assert isinstance(report, RtcpSenderReport)
        assert (report.ssrc, report.rtp_timestamp, report.packet_count, report.octet_count) == (
            0x77, 123456, 50, 8000)
        assert report.reports[0].highest_sequence == 65536 + 464
        assert report.reports[0].packets_lost == 0
    finally:
        stream.close()


@given(st.booleans(), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF), st.integers(0, 10**6),
       st.integers(0, 10**9), st.integers(0, 0xFFFFFFFF), st.floats(0, 4e9))
def test_report_bytes_are_those_of_the_rtcp_serializer(sent: bool, ssrc: int, seq: int,
                                                       received: int, octets: int, out_ts: int,
                                                       unix: float) -> None:
    stream = make_stream()
    try:
        session = RtcpSession(stream, report_ssrc=0x5555)
        stream.rx_ssrc, stream.rx_seq, stream.rx_packets = ssrc, seq, received
        if sent:
            stream.out_started, stream.out_ssrc, stream.out_ts = True, ssrc ^ 1, out_ts
            stream.tx_packets, stream.tx_octets = received + 1, octets
        ours = session.report(unix)
        own_ssrc = ssrc ^ 1 if sent else 0x5555
        blocks = (ReportBlock(ssrc, 0, 0, seq, 0, 0, 0),) if received else ()
        first: RtcpPacket = (
            RtcpSenderReport(own_ssrc, ntp_timestamp(unix), out_ts, received + 1, octets, blocks)
            if sent else RtcpReceiverReport(own_ssrc, blocks))
        sdes = RtcpSourceDescription((SdesChunk(own_ssrc, ((1, b"b2bua"),)),))
        assert ours == serialize_rtcp([first, sdes])
    finally:
        stream.close()
