"""Pool of local RTP ports: even RTP ports, RTCP on the odd port above.

Released ports go to the back of the queue, so a port freed by one call is reused only after
every other free port: a late packet of the old call does not land in a new one.
"""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass


class PortsExhausted(RuntimeError):
    """Every RTP port of the configured range is in use (or could not be bound)."""


@dataclass(frozen=True, slots=True)
class PortRange:
    """Where streams live: ``address`` and the even ports in ``[low, high]`` (RTCP on +1)."""

    address: str
    low: int
    high: int

    def __post_init__(self) -> None:
        if not 1024 <= self.low <= self.high <= 65535:
            raise ValueError(f"bad RTP port range {self.low}-{self.high}")
        if self.low % 2 or (self.high - self.low) < 1:
            raise ValueError(f"RTP port range {self.low}-{self.high} must start even "
                             "and hold at least one RTP/RTCP pair")


def open_udp(address: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``address:port`` (raises OSError when taken)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


class PortPool:
    """Hands out RTP/RTCP socket pairs from a range; ports held by other programs are skipped."""

    def __init__(self, ports: PortRange) -> None:
        self.range = ports
        last_even = ports.high - 1 if ports.high % 2 else ports.high - 2
        self._free: deque[int] = deque(range(ports.low, last_even + 1, 2))
        self._used: set[int] = set()
        self.capacity = len(self._free)

    @property
    def in_use(self) -> int:
        return len(self._used)

    def acquire(self) -> tuple[int, socket.socket, socket.socket]:
        """Bind the next free pair; return ``(rtp_port, rtp_socket, rtcp_socket)``."""
        for _ in range(len(self._free)):
            port = self._free.popleft()
            try:
                rtp = open_udp(self.range.address, port)
            except OSError:
                self._free.append(port)
                continue
            try:
                rtcp = open_udp(self.range.address, port + 1)
            except OSError:
                rtp.close()
                self._free.append(port)
                continue
            self._used.add(port)
            return port, rtp, rtcp
        raise PortsExhausted(
            f"no free RTP port in {self.range.address}:{self.range.low}-{self.range.high} "
            f"({len(self._used)} in use)")

    def release(self, port: int) -> None:
        """Give ``port`` back (its sockets must already be closed)."""
        if port not in self._used:
            raise ValueError(f"RTP port {port} is not in use")
        self._used.remove(port)
        self._free.append(port)
