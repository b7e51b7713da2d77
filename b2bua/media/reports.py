"""RTCP terminated per leg (RFC 3550 §6): we report on what we receive and send our own SR/RR.

Each leg is its own RTP session toward its phone, so RTCP is not passed through: the reports a
phone sends describe the stream we send it, and the SSRCs and counts it expects are ours.
Received RTCP counts as liveness; the last SR's NTP time gives LSR/DLSR for our reports.
Reports go out every :data:`REPORT_INTERVAL` seconds per leg, spread over the media ticks.
"""

from __future__ import annotations

import contextlib
import time
from typing import Final

from b2bua.media.relay import Stream
from b2bua.media.rtp import (
    ReportBlock,
    RtcpBye,
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

REPORT_INTERVAL: Final = 5.0
CNAME: Final = b"b2bua"


class RtcpSession:
    """RTCP state of one leg: what arrived, what we report next, where to send it."""

    def __init__(self, stream: Stream, report_ssrc: int) -> None:
        self.stream = stream
        self.report_ssrc = report_ssrc
        """Our SSRC in reports before we send any RTP on this leg."""
        self.received = 0
        self.destination: tuple[str, int] | None = None
        self._last_sr: tuple[int, float] | None = None
        self._base_seq: int | None = None
        self._cycles = 0
        self._highest = 0
        self._prior_expected = 0
        self._prior_received = 0
        self._prior_sent = 0

    def on_readable(self) -> None:
        """Reader callback of the RTCP socket."""
        try:
            data, source = self.stream.rtcp.recvfrom(2048)
        except OSError:
            return
        remote = self.stream.remote
        if remote is None or source[0] != remote[0]:
            return
        self.destination = (source[0], source[1])
        self.received += 1
        try:
            packets = parse_rtcp(data)
        except RtpError:
            return
        for packet in packets:
            if isinstance(packet, RtcpSenderReport):
                self._last_sr = (ntp_middle32(packet.ntp_timestamp), time.monotonic())

    def report(self, now_unix: float) -> bytes:
        """The compound packet due now: SR if we sent RTP since the last one, else RR."""
        stream = self.stream
        blocks = self._report_blocks()
        ssrc = stream.out_ssrc if stream.out_started else self.report_ssrc
        first: RtcpPacket
        if stream.tx_packets != self._prior_sent:
            self._prior_sent = stream.tx_packets
            first = RtcpSenderReport(ssrc, ntp_timestamp(now_unix), stream.out_ts,
                                     stream.tx_packets & 0xFFFFFFFF,
                                     stream.tx_octets & 0xFFFFFFFF, blocks)
        else:
            first = RtcpReceiverReport(ssrc, blocks)
        sdes = RtcpSourceDescription((SdesChunk(ssrc, ((1, CNAME),)),))
        return serialize_rtcp([first, sdes])

    def bye(self) -> bytes:
        ssrc = self.stream.out_ssrc if self.stream.out_started else self.report_ssrc
        return serialize_rtcp([RtcpReceiverReport(ssrc), RtcpBye((ssrc,))])

    def send(self, data: bytes) -> None:
        target = self.destination
        if target is None and self.stream.remote is not None:
            target = (self.stream.remote[0], self.stream.remote[1] + 1)
        if target is None or not self.stream.sends:
            return
        with contextlib.suppress(OSError):
            self.stream.rtcp.sendto(data, target)

    def _report_blocks(self) -> tuple[ReportBlock, ...]:
        """One block about the phone's stream, from counters the packet path keeps anyway.

        The highest sequence number is the last one seen (reordering is ignored); a wrap is
        noticed between two reports, which are far closer than 65536 packets apart.
        """
        stream = self.stream
        if stream.rx_packets == 0:
            return ()
        if self._base_seq is None:
            self._base_seq = self._highest = stream.rx_seq
        if stream.rx_seq < self._highest and self._highest - stream.rx_seq > 0x8000:
            self._cycles += 0x10000
        self._highest = stream.rx_seq
        extended = self._cycles + self._highest
        expected = extended - self._base_seq + 1
        lost = max(0, expected - stream.rx_packets)
        interval_expected = expected - self._prior_expected
        interval_lost = interval_expected - (stream.rx_packets - self._prior_received)
        self._prior_expected, self._prior_received = expected, stream.rx_packets
        fraction = (interval_lost << 8) // interval_expected if interval_lost > 0 < \
            interval_expected else 0
        lsr, dlsr = 0, 0
        if self._last_sr is not None:
            lsr = self._last_sr[0]
            dlsr = int((time.monotonic() - self._last_sr[1]) * 65536) & 0xFFFFFFFF
        return (ReportBlock(stream.rx_ssrc, min(fraction, 255), min(lost, 0x7FFFFF),
                            extended & 0xFFFFFFFF, 0, lsr, dlsr),)
