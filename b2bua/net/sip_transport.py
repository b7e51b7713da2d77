"""The asyncio shell around the sans-IO SIP core: UDP and TCP listeners, one timer, no protocol.

Bytes received on a socket go into `SipCore.receive`; after every input the shell drains the
core: it sends the datagrams and stream writes the core produced, hands the core's events to the
transaction user, and re-arms its single timer at the core's next deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

from b2bua.sip.core import Peer, SipCore
from b2bua.sip.events import SipEvent
from b2bua.sip.parser import StreamFramer

log = logging.getLogger(__name__)
trace = logging.getLogger("b2bua.sip.trace")

EventHandler = Callable[[SipEvent], None]

TCP_IDLE_TIMEOUT = 600.0
UDP_RECEIVE_BUFFER = 4 << 20
"""Bytes of datagrams the SIP socket can queue while the loop is busy (the kernel's usual
208 KiB is about 150 requests: 50 ms of work at 400 calls/s, then SIPp saw drops and
retransmissions; SIP servers commonly raise it)."""
SO_RCVBUFFORCE: int | None = getattr(socket, "SO_RCVBUFFORCE",
                                     33 if sys.platform == "linux" else None)
"""Python's socket module does not name it; its number on Linux (asm-generic/socket.h)."""
SO_MEMINFO: int | None = getattr(socket, "SO_MEMINFO", 55 if sys.platform == "linux" else None)
_MEMINFO = struct.Struct("9I")  # SK_MEMINFO_*: the drop counter is the ninth


def receive_drops(sock: Any) -> int | None:
    """Datagrams the kernel dropped for ``sock`` because its receive buffer was full (None
    where the kernel does not tell)."""
    if SO_MEMINFO is None:
        return None
    try:
        drops: int = _MEMINFO.unpack(sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO,
                                                     _MEMINFO.size))[8]
    except OSError:
        return None
    return drops


def enlarge_receive_buffer(sock: Any, size: int) -> int:
    """Ask for a receive buffer of ``size`` bytes (past ``net.core.rmem_max`` when the process
    may: SO_RCVBUFFORCE needs CAP_NET_ADMIN); answers the size granted."""
    for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
            break
        except OSError:
            continue
    granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return granted // 2 if sys.platform == "linux" else granted  # Linux reports it doubled


class SipTransport:
    """Feeds one `SipCore` from sockets and sends what it produces."""

    def __init__(self, core: SipCore, handler: EventHandler) -> None:
        self.core = core
        self.handler = handler
        self._loop = asyncio.get_running_loop()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_servers: list[asyncio.Server] = []
        self._connections: dict[tuple[str, int], _StreamConnection] = {}
        self._pending_tcp: dict[tuple[str, int], list[bytes]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._pump_scheduled = False
        self._pumping = False

    # -- listening ---------------------------------------------------------------------------

    async def listen_udp(self, host: str, port: int) -> tuple[str, int]:
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _DatagramEndpoint(self), local_addr=(host, port)
        )
        self._udp = transport
        size = enlarge_receive_buffer(transport.get_extra_info("socket"), UDP_RECEIVE_BUFFER)
        if size < UDP_RECEIVE_BUFFER:
            log.warning("SIP over UDP: the kernel gave a %d-byte receive buffer, not %d; raise "
                        "net.core.rmem_max, or a burst of requests may be dropped", size,
                        UDP_RECEIVE_BUFFER)
        sockname = transport.get_extra_info("sockname")
        return sockname[0], sockname[1]

    @property
    def udp_drops(self) -> int | None:
        """Requests the kernel dropped before we could read them (receive buffer full)."""
        if self._udp is None:
            return None
        return receive_drops(self._udp.get_extra_info("socket"))

    async def listen_tcp(self, host: str, port: int) -> tuple[str, int]:
        server = await self._loop.create_server(
            lambda: _StreamConnection(self, None), host, port, reuse_address=True
        )
        self._tcp_servers.append(server)
        sockname = server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._udp is not None:
            self._udp.close()
        for connection in list(self._connections.values()):
            connection.close()
        for server in self._tcp_servers:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()

    # -- input -------------------------------------------------------------------------------

    def received(self, data: bytes, peer: Peer) -> None:
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("<<< %s %s:%d\n%s", peer.transport, peer.host, peer.port,
                        data.decode("utf-8", "replace"))
        self.core.receive(data, peer, self._loop.time())
        self.pump()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.core.handle_timer(self._loop.time())
        self.pump()

    # -- draining the core -------------------------------------------------------------------

    def pump(self) -> None:
        """Send what the core produced, deliver its events, re-arm the timer. Re-entrant safe."""
        if self._pumping:
            return
        self._pumping = True
        try:
            core = self.core
            while True:
                for data, peer in core.pop_outgoing():
                    self._send(data, peer)
                events = core.pop_events()
                if not events:
                    break
                for event in events:
                    try:
                        self.handler(event)
                    except Exception:
                        log.exception("error handling %s", type(event).__name__)
        finally:
            self._pumping = False
        self._arm_timer()

    def schedule_pump(self) -> None:
        """Drain the core soon: for code that used the core outside a receive or timer."""
        if not self._pump_scheduled:
            self._pump_scheduled = True
            self._loop.call_soon(self._scheduled_pump)

    def _scheduled_pump(self) -> None:
        self._pump_scheduled = False
        self.pump()

    def _arm_timer(self) -> None:
        deadline = self.core.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    # -- output ------------------------------------------------------------------------------

    def _send(self, data: bytes, peer: Peer) -> None:
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug(">>> %s %s:%d\n%s", peer.transport, peer.host, peer.port,
                        data.decode("utf-8", "replace"))
        if peer.transport == "udp":
            if self._udp is not None:
                self._udp.sendto(data, (peer.host, peer.port))
            return
        key = (peer.host, peer.port)
        connection = self._connections.get(key)
        if connection is not None:
            connection.write(data)
            return
        pending = self._pending_tcp.get(key)
        if pending is not None:
            pending.append(data)
            return
        self._pending_tcp[key] = [data]
        self._loop.create_task(self._connect(key))

    async def _connect(self, key: tuple[str, int]) -> None:
        try:
            await self._loop.create_connection(lambda: _StreamConnection(self, key), *key)
        except OSError as exc:
            dropped = self._pending_tcp.pop(key, [])
            log.warning("TCP connect to %s:%d failed (%s); %d message(s) dropped",
                        key[0], key[1], exc, len(dropped))

    def _connected(self, key: tuple[str, int], connection: _StreamConnection) -> None:
        self._connections[key] = connection
        for data in self._pending_tcp.pop(key, []):
            connection.write(data)

    def _disconnected(self, key: tuple[str, int], connection: _StreamConnection) -> None:
        if self._connections.get(key) is connection:
            del self._connections[key]


class _DatagramEndpoint(asyncio.DatagramProtocol):
    def __init__(self, shell: SipTransport) -> None:
        self.shell = shell

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.shell.received(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class _StreamConnection(asyncio.Protocol):
    """One TCP connection, accepted or opened by us, framed by Content-Length."""

    def __init__(self, shell: SipTransport, key: tuple[str, int] | None) -> None:
        self.shell = shell
        self.key = key
        self.framer = StreamFramer(max_message_size=shell.core.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.key = (host, port)
        self.peer = Peer("tcp", host, port)
        self.shell._connected(self.key, self)
        self._touch()

    def data_received(self, data: bytes) -> None:
        self._touch()
        try:
            messages = self.framer.feed(data)
        except Exception as exc:  # a peer that breaks framing loses its connection only
            log.info("closing TCP connection from %s: %s", self.key, exc)
            self.close()
            return
        if self.framer.pong_due():
            self.write(b"\r\n")
        for message in messages:
            assert self.peer is not None
            self.shell.received(message, self.peer)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self.key is not None:
            self.shell._disconnected(self.key, self)

    def _touch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(TCP_IDLE_TIMEOUT, self.close)
