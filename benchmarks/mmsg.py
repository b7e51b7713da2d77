"""Batched UDP for load generators: ``sendmmsg`` and ``recvmmsg`` through ctypes (Linux).

A Python ``sendto`` costs a few microseconds of interpreter per datagram, as much as the relay
under test spends on it; a generator built on it needs a core of its own to load one core of
relay. Here one system call moves a whole batch, and the per-datagram work (RTP header fields,
send stamps, reading arrival times) is done on numpy views of the batch's buffers.

`Outbox` holds fixed-size datagrams to fixed destinations; `Inbox` reads what a socket has
waiting, with the kernel's arrival time of each datagram (``SO_TIMESTAMPNS``, wall clock), and
can send what it read back to where each datagram came from (an echo).
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import time

import numpy as np

_LIBC = ctypes.CDLL(None, use_errno=True)
_RETRY = (errno.EAGAIN, errno.ENOBUFS, errno.EINTR)
SO_TIMESTAMPNS = 35
CONTROL_SIZE = 32
"""CMSG_SPACE(sizeof(struct timespec)): a 16-byte cmsghdr, then the timespec."""


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_IoVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


class _SockAddrIn(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint16), ("port", ctypes.c_uint16),
                ("addr", ctypes.c_uint8 * 4), ("zero", ctypes.c_uint8 * 8)]


_MMSG_SIZE = ctypes.sizeof(_MMsgHdr)
_CONTROLLEN = _MsgHdr.controllen.offset // 8  # as a uint64 index into one header
_NAMELEN = _MsgHdr.namelen.offset // 4  # as a uint32 index into one header
_MSG_LEN = _MMsgHdr.len.offset // 4  # as a uint32 index into one header
_sendmmsg = _LIBC.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
_recvmmsg = _LIBC.recvmmsg
_recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                      ctypes.c_void_p]


def _headers(count: int, buffers: np.ndarray, size: int) -> tuple[ctypes.Array, ctypes.Array]:
    """mmsghdr and iovec arrays whose message i points at row i of ``buffers``."""
    iovecs = (_IoVec * count)()
    messages = (_MMsgHdr * count)()
    base = buffers.ctypes.data
    for i in range(count):
        iovecs[i].base = base + i * buffers.strides[0]
        iovecs[i].len = size
        messages[i].hdr.iov = ctypes.pointer(iovecs[i])
        messages[i].hdr.iovlen = 1
    return iovecs, messages


def _failed() -> OSError:
    code = ctypes.get_errno()
    return OSError(code, os.strerror(code))


class Outbox:
    """``size``-byte datagrams, row i of `packets` going to ``destinations[i]`` (IPv4)."""

    def __init__(self, destinations: list[tuple[str, int]], size: int) -> None:
        count = len(destinations)
        self.packets = np.zeros((count, size), np.uint8)
        self._names = (_SockAddrIn * count)()
        self._iovecs, self._messages = _headers(count, self.packets, size)
        for i, (host, port) in enumerate(destinations):
            name = self._names[i]
            name.family = socket.AF_INET
            name.port = socket.htons(port)
            name.addr[:] = list(socket.inet_aton(host))
            self._messages[i].hdr.name = ctypes.addressof(name)
            self._messages[i].hdr.namelen = ctypes.sizeof(_SockAddrIn)

    def send(self, sock: socket.socket, start: int, stop: int) -> None:
        """Send rows ``start:stop`` from ``sock``, waiting while its buffer is full."""
        _send_all(sock.fileno(), self._messages, start, stop)


def _send_all(fd: int, messages: ctypes.Array, start: int, stop: int) -> None:
    address = ctypes.addressof(messages)
    while start < stop:
        sent = _sendmmsg(fd, address + start * _MMSG_SIZE, stop - start, 0)
        if sent < 0:
            if ctypes.get_errno() not in _RETRY:
                raise _failed()
            time.sleep(0.0001)
            continue
        start += sent


class Inbox:
    """Reads up to ``batch`` waiting datagrams of ``sock`` per call, with arrival times."""

    def __init__(self, sock: socket.socket, batch: int = 256, size: int = 256) -> None:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._fd = sock.fileno()
        self._batch = batch
        self._size = size
        self.data = np.zeros((batch, size), np.uint8)
        self._control = np.zeros((batch, CONTROL_SIZE), np.uint8)
        self._iovecs, self._messages = _headers(batch, self.data, size)
        self._names = (_SockAddrIn * batch)()
        for i in range(batch):
            self._messages[i].hdr.control = self._control.ctypes.data + i * CONTROL_SIZE
            self._messages[i].hdr.name = ctypes.addressof(self._names[i])
        self._words = np.frombuffer(self._messages, np.uint64).reshape(batch, -1)
        halves = np.frombuffer(self._messages, np.uint32).reshape(batch, -1)
        self._lengths = halves[:, _MSG_LEN]
        self._name_lengths = halves[:, _NAMELEN]
        self._iov_lengths = np.frombuffer(self._iovecs, np.uint64).reshape(batch, 2)[:, 1]
        self._seconds = self._control[:, 16:24].view(np.int64)[:, 0]
        self._nanoseconds = self._control[:, 24:32].view(np.int64)[:, 0]

    def receive(self) -> int:
        """How many datagrams were read into the first rows of `data` (0: none waiting)."""
        self._words[:, _CONTROLLEN] = CONTROL_SIZE  # the kernel shrinks these to what it wrote
        self._name_lengths[:] = ctypes.sizeof(_SockAddrIn)
        count = _recvmmsg(self._fd, ctypes.addressof(self._messages), self._batch,
                          socket.MSG_DONTWAIT, None)
        if count < 0:
            if ctypes.get_errno() in _RETRY:
                return 0
            raise _failed()
        return int(count)

    def send_back(self, count: int) -> None:
        """Send the first ``count`` datagrams read back to where each came from, unchanged."""
        self._iov_lengths[:count] = self._lengths[:count]
        self._words[:count, _CONTROLLEN] = 0  # no ancillary data goes out
        try:
            _send_all(self._fd, self._messages, 0, count)
        finally:
            self._iov_lengths[:count] = self._size

    def lengths(self, count: int) -> np.ndarray:
        return self._lengths[:count].copy()

    def arrivals_ns(self, count: int) -> np.ndarray:
        """Wall-clock arrival time of each datagram read, in ns since the epoch."""
        return self._seconds[:count] * 1_000_000_000 + self._nanoseconds[:count]
