"""Batched send and receive of the media load generator, over real loopback sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks.mmsg import Inbox, Outbox


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        opened.append(sock)
    yield opened
    for sock in opened:
        sock.close()


def drain(inbox: Inbox, expected: int) -> tuple[list[bytes], np.ndarray]:
    """Everything the inbox gets within a second, in order, and the arrival times."""
    packets: list[bytes] = []
    arrivals: list[np.ndarray] = []
    deadline = time.monotonic() + 1.0
    while len(packets) < expected and time.monotonic() < deadline:
        count = inbox.receive()
        lengths = inbox.lengths(count)
        packets += [inbox.data[i, :lengths[i]].tobytes() for i in range(count)]
        arrivals.append(inbox.arrivals_ns(count))
    return packets, np.concatenate(arrivals)


def test_rows_go_to_their_destinations_in_order_with_arrival_times(
        sockets: list[socket.socket]) -> None:
    sender, first, second = sockets
    inboxes = [Inbox(first, batch=16), Inbox(second, batch=16)]
    destinations = [s.getsockname() for s in (first, second)] * 50
    outbox = Outbox(destinations, 12)
    outbox.packets[:, :4] = np.arange(100, dtype=">u4").view(np.uint8).reshape(100, 4)
    outbox.packets[:, 4:] = 0xAB
    before = time.time_ns()
    outbox.send(sender, 0, 60)
    outbox.send(sender, 60, 100)
    after = time.time_ns()

    for parity, inbox in enumerate(inboxes):
        packets, arrivals = drain(inbox, 50)
        assert [int.from_bytes(p[:4], "big") for p in packets] == list(range(parity, 100, 2))
        assert all(p[4:] == b"\xab" * 8 for p in packets)
        assert ((arrivals >= before) & (arrivals <= after + 1_000_000_000)).all()
        assert inbox.receive() == 0  # nothing more waiting, and no blocking


def test_a_send_of_no_rows_sends_nothing(sockets: list[socket.socket]) -> None:
    sender, receiver, _ = sockets
    outbox = Outbox([receiver.getsockname()], 4)
    outbox.send(sender, 0, 0)
    assert Inbox(receiver).receive() == 0


def read(inbox: Inbox, expected: int) -> int:
    """Read until `expected` datagrams came in one batch (or a second passed)."""
    count = 0
    deadline = time.monotonic() + 1.0
    while count < expected and time.monotonic() < deadline:
        count = inbox.receive() or count
    return count


def test_send_back_returns_each_datagram_to_its_source(sockets: list[socket.socket]) -> None:
    echo, first, second = sockets
    inbox = Inbox(echo, batch=8)
    for sock, data in ((first, b"one"), (second, b"two-two"), (first, b"three")):
        sock.sendto(data, echo.getsockname())
        sock.settimeout(1.0)
    count = read(inbox, 3)
    assert count == 3
    inbox.send_back(count)
    assert [first.recv(64), first.recv(64)] == [b"one", b"three"]
    assert second.recv(64) == b"two-two"
    first.sendto(b"x" * 200, echo.getsockname())  # the buffers are whole again after an echo
    assert inbox.lengths(read(inbox, 1)).tolist() == [200]
