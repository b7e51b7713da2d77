"""The media benchmark's streamer and echo, over real loopback sockets."""

from __future__ import annotations

import socket
import time

from benchmarks.load.stream import RtpEcho, RtpLoad


def test_streams_through_the_echo_come_back_whole_with_their_round_trips() -> None:
    echo, load = RtpEcho(), RtpLoad()
    try:
        load.aim([("127.0.0.1", echo.port)] * 30)
        time.sleep(0.2)
        figures = load.measure(0.5)
    finally:
        load.close()
        echo.close()
    assert 30 * 24 <= figures.sent <= 30 * 26  # 30 streams, a packet each every 20 ms
    assert figures.received == figures.sent
    assert len(figures.round_trips_ms) == figures.sent
    assert min(figures.round_trips_ms) > 0 and max(figures.round_trips_ms) < 100


def test_packets_that_do_not_come_back_are_counted_lost() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    echo, load = RtpEcho(), RtpLoad()
    try:
        load.aim([("127.0.0.1", echo.port), silent.getsockname()])
        figures = load.measure(0.4)
    finally:
        load.close()
        echo.close()
        silent.close()
    assert figures.sent >= 38
    assert abs(2 * figures.received - figures.sent) <= 1  # the silent stream's half is lost
