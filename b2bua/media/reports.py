"""RTCP terminated per leg (RFC 3550 §6): we report on what we receive and send our own SR/RR.

Each leg is its own RTP session toward its phone, so RTCP is not passed through: the reports a
phone sends describe the stream we send it, and the SSRCs and counts it expects are ours.
Received RTCP counts as liveness; the last SR's NTP time gives LSR/DLSR for our reports.
Reports go out every :data:`REPORT_INTERVAL` seconds per leg, spread over the media ticks.
"""

from __future__ import annotations

import contextlib
import struct
import time
from typing import Final

from b2bua.media.relay import Stream, is_stale
from b2bua.media.rtp import (
    RTCP_RR,
    RTCP_SDES,
    RTCP_SR,
    SDES_CNAME,
    RtcpBye,
    RtcpReceiverReport,
    RtcpSenderReport,
    RtpError,
    ntp_middle32,
    ntp_timestamp,
    parse_rtcp,
    serialize_rtcp,
)

REPORT_INTERVAL: Final = 5.0
CNAME: Final = b"b2bua"

_SENDER_REPORT: Final = struct.Struct("!BBHIQIII")
_RECEIVER_REPORT: Final = struct.Struct("!BBHI")
_REPORT_BLOCK: Final = struct.Struct("!IIIIII")
_SDES_HEAD: Final = struct.Struct("!BBHI")
_CNAME_ITEM: Final = bytes((SDES_CNAME, len(CNAME))) + CNAME + bytes(4 - (6 + len(CNAME)) % 4)
"""The CNAME item of our SDES chunk, ending with the null octets that pad it to 32 bits."""


class RtcpSession:
    """RTCP state of one leg: what arrived, what we report next, where to send it."""

    def __init__(self, stream: Stream, report_ssrc: int) -> None:
        self.stream = stream
        self.report_ssrc = report_ssrc
        """Our SSRC in reports before we send any RTP on this leg."""
        self.received = 0
        self.sent = 0
        self.destination: tuple[str, int] | None = None
        self.stale_source: tuple[str, int] | None = None
        """Where the previous RTCP session on this port pair heard from: refused a while."""
        self.stale_until = 0.0
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
        except BlockingIOError:
            return
        except OSError:
            self.stream.on_error()
            return
        remote = self.stream.remote
        if remote is None or source[0] != remote[0]:
            return
        if self.stale_source is not None and is_stale(source, (remote[0], remote[1] + 1),
                                                      self.stale_source, self.stale_until,
                                                      self.stream.clock.now):
            return
        try:
            packets = parse_rtcp(data)
        except RtpError:
            return
        self.destination = (source[0], source[1])
        self.received += 1
        for packet in packets:
            if isinstance(packet, RtcpSenderReport):
                self._last_sr = (ntp_middle32(packet.ntp_timestamp), time.monotonic())

    def report(self, now_unix: float) -> bytes:
        """The compound packet due now: SR if we sent RTP since the last one, else RR.

        Packed straight with :mod:`struct` (one report per leg every few seconds adds up with
        thousands of legs); the layout is :func:`~b2bua.media.rtp.serialize_rtcp`'s.
        """
        stream = self.stream
        block = self._report_block()
        count = 0 if block is None else 1
        ssrc = stream.out_ssrc if stream.out_started else self.report_ssrc
        if stream.tx_packets != self._prior_sent:
            self._prior_sent = stream.tx_packets
            first = _SENDER_REPORT.pack(0x80 | count, RTCP_SR, 6 + 6 * count, ssrc,
                                        ntp_timestamp(now_unix), stream.out_ts,
                                        stream.tx_packets & 0xFFFFFFFF,
                                        stream.tx_octets & 0xFFFFFFFF)
        else:
            first = _RECEIVER_REPORT.pack(0x80 | count, RTCP_RR, 1 + 6 * count, ssrc)
        sdes = _SDES_HEAD.pack(0x81, RTCP_SDES, len(_CNAME_ITEM) // 4 + 1, ssrc)
        if block is None:
            return first + sdes + _CNAME_ITEM
        return first + block + sdes + _CNAME_ITEM

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
            self.sent += 1

    def _report_block(self) -> bytes | None:
        """One block about the phone's stream, from counters the packet path keeps anyway.

        The highest sequence number is the last one seen (reordering is ignored); a wrap is
        noticed between two reports, which are far closer than 65536 packets apart.
        """
        stream = self.stream
        if stream.rx_packets == 0:
            return None
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
        return _REPORT_BLOCK.pack(stream.rx_ssrc, min(fraction, 255) << 24 | min(lost, 0x7FFFFF),
                                  extended & 0xFFFFFFFF, 0, lsr, dlsr)
