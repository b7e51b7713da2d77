"""The packet path's look at an overdue media tick, on a real socket."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from b2bua.media.codec import PCMU
from b2bua.media.relay import PACKETS_PER_CHECK, Clock, Stream

HEADER = struct.Struct("!BBHII")


@pytest.fixture
def phone_and_stream() -> Iterator[tuple[socket.socket, Stream, list[bool]]]:
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    rtp, rtcp = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    rtp.bind(("127.0.0.1", 0))
    rtp.setblocking(False)
    clock = Clock(0.0)
    asked: list[bool] = []
    answers = iter([False, True])

    def run_if_overdue() -> bool:
        asked.append(ran := next(answers))
        return ran

    clock.run_if_overdue = run_if_overdue
    stream = Stream(1, rtp.getsockname()[1], rtp, rtcp, clock, PCMU)
    stream.remote = phone.getsockname()
    yield phone, stream, asked
    stream.close()
    phone.close()


def test_every_so_many_packets_the_tick_is_looked_at(
        phone_and_stream: tuple[socket.socket, Stream, list[bool]]) -> None:
    phone, stream, asked = phone_and_stream
    target = ("127.0.0.1", stream.port)
    for sequence in range(2 * PACKETS_PER_CHECK):
        phone.sendto(HEADER.pack(0x80, 0, sequence, sequence * 160, 7) + bytes(160), target)
    for _ in range(2 * PACKETS_PER_CHECK):
        stream.on_readable()
    assert asked == [False, True]
    # The call that ran the tick read nothing (the tick may have released the stream): its
    # packet is still there for the next call.
    assert stream.rx_packets == 2 * PACKETS_PER_CHECK - 1
    stream.on_readable()
    assert stream.rx_packets == 2 * PACKETS_PER_CHECK and stream.rx_seq == 2 * PACKETS_PER_CHECK - 1
