"""Phones made of plain UDP sockets, and a media engine on 127.0.0.1, for the engine tests."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange

HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True)
class Received:
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


class Phone:
    """A UDP socket that sends and receives RTP the way a phone does."""

    def __init__(self, ssrc: int = 0x1111, payload_type: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence = 1000
        self.timestamp = 50_000
        self.target: tuple[str, int] | None = None

    def send(self, payload: bytes, *, payload_type: int | None = None, marker: bool = False,
             sequence: int | None = None, timestamp: int | None = None) -> None:
        assert self.target is not None
        header = HEADER.pack(0x80, (0x80 if marker else 0) | (
            self.payload_type if payload_type is None else payload_type),
            self.sequence if sequence is None else sequence,
            self.timestamp if timestamp is None else timestamp, self.ssrc)
        self.sock.sendto(header + payload, self.target)

    def send_audio(self, payload: bytes) -> None:
        """One audio packet; sequence and timestamp advance."""
        self.send(payload)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(payload)) & 0xFFFFFFFF

    async def collect(self, quiet: float = 0.15, limit: float = 3.0) -> list[Received]:
        """Everything that arrives until ``quiet`` seconds pass without a packet."""
        loop = asyncio.get_running_loop()
        packets: list[Received] = []
        deadline = loop.time() + limit
        while loop.time() < deadline:
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 2048), quiet)
            except TimeoutError:
                break
            _, second, seq, ts, ssrc = HEADER.unpack_from(data)
            packets.append(Received(second & 0x7F, bool(second & 0x80), seq, ts, ssrc,
                                    data[12:]))
        return packets

    def close(self) -> None:
        self.sock.close()


def phone_with_rtcp(**kwargs: int) -> tuple[Phone, socket.socket]:
    """A phone and a socket on its RTCP port (the RTP port + 1), retried while that is taken."""
    for _ in range(50):
        phone = Phone(**kwargs)
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtcp.bind(("127.0.0.1", phone.address[1] + 1))
        except OSError:
            rtcp.close()
            phone.close()
            continue
        rtcp.setblocking(False)
        return phone, rtcp
    raise RuntimeError("no free pair of ports for a phone with RTCP")


async def stream_audio(phones_and_payloads: list[tuple[Phone, list[bytes]]],
                       ptime: float = 0.02) -> None:
    """Each phone sends its payloads in real time, all phones together."""
    count = max(len(p) for _, p in phones_and_payloads)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(count):
        for phone, payloads in phones_and_payloads:
            if i < len(payloads):
                phone.send_audio(payloads[i])
        await asyncio.sleep(max(0.0, start + (i + 1) * ptime - loop.time()))


def frames(codes: np.ndarray, size: int = 160) -> list[bytes]:
    return [codes[i:i + size].tobytes() for i in range(0, len(codes) - size + 1, size)]


@pytest.fixture
async def engine() -> AsyncIterator[MediaEngine]:
    media = MediaEngine(PortRange("127.0.0.1", 62000, 62999), rtp_timeout=None)
    media.start()
    yield media
    media.close()


@pytest.fixture
def phones() -> Iterator[list[Phone]]:
    made: list[Phone] = []
    yield made
    for phone in made:
        phone.close()


def tone_codes(frequency: float, seconds: float, level: float = 6000.0,
               law: str = "PCMU") -> np.ndarray:
    from b2bua.media.codec import codec_named
    t = np.arange(int(seconds * 8000)) / 8000
    samples = (level * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
    return codec_named(law).encode(samples)


def spectrum_levels(packets: list[Received], frequencies: list[float],
                    law: str = "PCMU") -> dict[float, float]:
    """Relative magnitude at each frequency of the audio carried by ``packets``."""
    from b2bua.media.codec import codec_named
    codes = np.frombuffer(b"".join(p.payload for p in packets), np.uint8)
    samples = codec_named(law).decode(codes).astype(np.float64)
    window = np.hanning(samples.size)
    magnitude = np.abs(np.fft.rfft(samples * window))
    bins = np.fft.rfftfreq(samples.size, 1 / 8000)
    total = float(np.sqrt(np.sum(magnitude ** 2))) or 1.0
    out = {}
    for f in frequencies:
        near = np.abs(bins - f) < 15
        out[f] = float(np.sqrt(np.sum(magnitude[near] ** 2))) / total
    return out
