"""Pool of local RTP ports: even RTP ports, RTCP on the odd port above.

Binding a socket pair and registering it with the event loop costs about as much as the rest
of a stream's set-up, so a released pair is kept bound (up to :attr:`PortPool.keep` pairs) and
handed out again, oldest first, before any unbound port.  The engine remembers where the last
stream of a kept pair latched, and the next stream refuses to latch on that address for a
while, so a late packet of the old call cannot capture the new one.  Datagrams that reach a
kept pair meanwhile are read and dropped (the engine leaves a draining reader on it), and
whatever is still queued is drained when the pair is handed out again.

Ports without a kept pair are bound in turn from the back of the queue they were released to,
so a port freed by one call is rebound only after every other free port.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import resource
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

KEEP_LIMIT: Final = 1024
"""Most released pairs kept bound (fewer when the process may open few files)."""
DRAIN_LIMIT: Final = 64


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


_UNSPECIFIED: Final = (ctypes.c_ubyte * 16)()
"""A ``sockaddr`` of family AF_UNSPEC (0): connecting to it dissolves a UDP association."""


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def disconnect(sock: socket.socket) -> None:
    """Dissolve a UDP socket's association (connect to AF_UNSPEC) so it hears everyone again."""
    if _libc().connect(sock.fileno(), _UNSPECIFIED, ctypes.sizeof(_UNSPECIFIED)) != 0:
        raise OSError(ctypes.get_errno(), "cannot disconnect UDP socket")


def drain(sock: socket.socket) -> None:
    """Read and drop the datagrams queued on ``sock`` (a pending ICMP error too).

    At most :data:`DRAIN_LIMIT` per call: as a reader callback, the loop calls again if more.
    """
    for _ in range(DRAIN_LIMIT):
        try:
            sock.recv(1)
        except BlockingIOError:
            return
        except OSError:
            continue


def watch(loop: asyncio.AbstractEventLoop, fd: int, callback: Callable[..., object],
          *args: object) -> None:
    """Read ``fd`` with ``callback`` (replacing its reader).

    libuv, under uvloop, stops polling a socket for good once the socket reports an error
    (POLLERR: an ICMP port unreachable queued on a connected UDP socket, when the phone closed
    its port); such a socket needs a fresh registration to be read again.
    """
    try:
        loop.add_reader(fd, callback, *args)
    except RuntimeError:
        loop.remove_reader(fd)
        loop.add_reader(fd, callback, *args)


class SocketPair(NamedTuple):
    """A bound RTP/RTCP socket pair, as handed out and taken back by the pool."""

    port: int
    rtp: socket.socket
    rtcp: socket.socket

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


def default_keep() -> int:
    """Pairs kept bound: :data:`KEEP_LIMIT`, or fewer so that their sockets take at most an
    eighth of the open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return KEEP_LIMIT
    return max(0, min(KEEP_LIMIT, soft // 16))


class PortPool:
    """Hands out RTP/RTCP socket pairs from a range; ports held by other programs are skipped."""

    def __init__(self, ports: PortRange, keep: int | None = None) -> None:
        self.range = ports
        last_even = ports.high - 1 if ports.high % 2 else ports.high - 2
        self._free: deque[int] = deque(range(ports.low, last_even + 1, 2))
        self._kept: deque[SocketPair] = deque()
        self._used: set[int] = set()
        self.capacity = len(self._free)
        self.keep = default_keep() if keep is None else keep
        """Most released pairs kept bound for reuse."""

    @property
    def in_use(self) -> int:
        return len(self._used)

    @property
    def kept(self) -> int:
        return len(self._kept)

    def acquire(self) -> SocketPair:
        """A pair for a new stream: the oldest kept one (drained), else bind the next free port."""
        if self._kept:
            pair = self._kept.popleft()
            drain(pair.rtp)
            drain(pair.rtcp)
            self._used.add(pair.port)
            return pair
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
            return SocketPair(port, rtp, rtcp)
        raise PortsExhausted(
            f"no free RTP port in {self.range.address}:{self.range.low}-{self.range.high} "
            f"({len(self._used)} in use)")

    def keep_bound(self, pair: SocketPair, connected: bool) -> bool:
        """Take back a released pair still bound; False when it must be closed instead.

        ``connected``: the RTP socket was connected to its phone; it is dissolved here.
        """
        if pair.port not in self._used:
            raise ValueError(f"RTP port {pair.port} is not in use")
        if len(self._kept) >= self.keep:
            return False
        if connected:
            try:
                disconnect(pair.rtp)
            except OSError:
                return False
        self._used.remove(pair.port)
        self._kept.append(pair)
        return True

    def release(self, port: int) -> None:
        """Give ``port`` back (its sockets must already be closed)."""
        if port not in self._used:
            raise ValueError(f"RTP port {port} is not in use")
        self._used.remove(port)
        self._free.append(port)

    def close_kept(self) -> list[SocketPair]:
        """Forget every kept pair (their ports become free); returns them for closing."""
        pairs = list(self._kept)
        self._kept.clear()
        self._free.extend(pair.port for pair in pairs)
        return pairs
