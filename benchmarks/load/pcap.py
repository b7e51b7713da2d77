"""RTP captures for SIPp to play: G.711 in RTP in UDP in IPv4 in Ethernet, in a pcap file.

SIPp's ``play_pcap_audio`` reads a classic pcap (link type Ethernet), keeps the UDP payload
and the timing between packets, and rewrites addresses and ports to the call's. So the
addresses written here are placeholders (documentation ranges); what matters is the RTP
header, the payload, and the capture timestamps (20 ms apart for a 50 packets/s stream).

:func:`write_pcap` and :func:`read_pcap` round-trip; checksums (IPv4 header, UDP with its
pseudo-header) are written correct so that any reader accepts the file.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dsp.g711 import Law, encode
from dsp.tones import dtmf_tone, peak_amplitude

PCAP_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")
ETHERNET = struct.Struct("!6s6sH")
IPV4 = struct.Struct("!BBHHHBBH4s4s")
UDP = struct.Struct("!HHHH")
RTP = struct.Struct("!BBHII")

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
SAMPLE_RATE = 8000
PTIME = 0.02
FRAME = 160
"""Samples in one 20 ms G.711 packet."""

PAYLOAD_TYPES: dict[Law, int] = {"ulaw": 0, "alaw": 8}
SOURCE = ("192.0.2.1", 6000)
DESTINATION = ("192.0.2.2", 6000)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet and the capture time it is written at (seconds from the start)."""

    time: float
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        second = (0x80 if self.marker else 0) | self.payload_type
        return RTP.pack(0x80, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                        self.ssrc) + self.payload

    @classmethod
    def from_bytes(cls, data: bytes, time: float) -> RtpPacket:
        if len(data) < RTP.size or data[0] >> 6 != 2:
            raise ValueError("not an RTP version 2 packet")
        first, second, sequence, timestamp, ssrc = RTP.unpack_from(data)
        start = RTP.size + 4 * (first & 0x0F)
        return cls(time, second & 0x7F, sequence, timestamp, ssrc, bytes(data[start:]),
                   bool(second & 0x80))


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """A UDP datagram read back from a capture."""

    time: float
    source: tuple[str, int]
    destination: tuple[str, int]
    rtp: RtpPacket


def internet_checksum(data: bytes) -> int:
    """RFC 1071 ones' complement sum of 16-bit words, complemented."""
    if len(data) % 2:
        data += b"\x00"
    total = int(np.frombuffer(data, dtype=">u2").astype(np.uint64).sum())
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _datagram(rtp: bytes, source: tuple[str, int], destination: tuple[str, int],
              ident: int) -> bytes:
    src = ipaddress.IPv4Address(source[0]).packed
    dst = ipaddress.IPv4Address(destination[0]).packed
    udp_length = UDP.size + len(rtp)
    pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, udp_length)
    udp_sum = internet_checksum(pseudo + UDP.pack(source[1], destination[1], udp_length, 0) + rtp)
    udp = UDP.pack(source[1], destination[1], udp_length, udp_sum or 0xFFFF)
    total = IPV4.size + udp_length
    header = IPV4.pack(0x45, 0, total, ident & 0xFFFF, 0x4000, 64, IPPROTO_UDP, 0, src, dst)
    header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
    frame = ETHERNET.pack(b"\x02\x00\x00\x00\x00\x02", b"\x02\x00\x00\x00\x00\x01",
                          ETHERTYPE_IPV4)
    return frame + header + udp + rtp


def pcap_bytes(packets: Iterable[RtpPacket], *, source: tuple[str, int] = SOURCE,
               destination: tuple[str, int] = DESTINATION, epoch: int = 1_700_000_000) -> bytes:
    """A whole pcap file holding `packets` as UDP datagrams from `source` to `destination`."""
    out = bytearray(PCAP_HEADER.pack(PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
    for ident, packet in enumerate(packets):
        frame = _datagram(packet.to_bytes(), source, destination, ident)
        micros = round(packet.time * 1_000_000)
        out += RECORD_HEADER.pack(epoch + micros // 1_000_000, micros % 1_000_000, len(frame),
                                  len(frame))
        out += frame
    return bytes(out)


def write_pcap(path: Path, packets: Iterable[RtpPacket], *,
               source: tuple[str, int] = SOURCE,
               destination: tuple[str, int] = DESTINATION) -> None:
    path.write_bytes(pcap_bytes(packets, source=source, destination=destination))


def parse_pcap(data: bytes) -> list[CapturedPacket]:
    """The UDP/IPv4 datagrams of a classic little-endian Ethernet pcap, as RTP packets."""
    if len(data) < PCAP_HEADER.size:
        raise ValueError("too short for a pcap file")
    magic, _, _, _, _, _, link = PCAP_HEADER.unpack_from(data)
    if magic != PCAP_MAGIC or link != LINKTYPE_ETHERNET:
        raise ValueError("not a little-endian microsecond Ethernet pcap")
    packets: list[CapturedPacket] = []
    offset = PCAP_HEADER.size
    first: float | None = None
    while offset + RECORD_HEADER.size <= len(data):
        seconds, micros, length, _ = RECORD_HEADER.unpack_from(data, offset)
        frame = data[offset + RECORD_HEADER.size:offset + RECORD_HEADER.size + length]
        offset += RECORD_HEADER.size + length
        stamp = seconds + micros / 1_000_000
        first = stamp if first is None else first
        captured = _captured(frame, stamp - first)
        if captured is not None:
            packets.append(captured)
    return packets


def _captured(frame: bytes, time: float) -> CapturedPacket | None:
    _, _, ethertype = ETHERNET.unpack_from(frame)
    if ethertype != ETHERTYPE_IPV4:
        return None
    ip = frame[ETHERNET.size:]
    header_length = (ip[0] & 0x0F) * 4
    if ip[9] != IPPROTO_UDP:
        return None
    sport, dport, length, _ = UDP.unpack_from(ip, header_length)
    payload = ip[header_length + UDP.size:header_length + length]
    source = (str(ipaddress.IPv4Address(ip[12:16])), sport)
    destination = (str(ipaddress.IPv4Address(ip[16:20])), dport)
    return CapturedPacket(round(time, 6), source, destination,
                          RtpPacket.from_bytes(payload, round(time, 6)))


def read_pcap(path: Path) -> list[CapturedPacket]:
    return parse_pcap(path.read_bytes())


# ------------------------------------------------------------------------------ the audio


def g711_packets(samples: npt.NDArray[np.int16], law: Law, *, ssrc: int = 0x5EED0001,
                 first_sequence: int = 1, first_timestamp: int = 0) -> list[RtpPacket]:
    """Cut `samples` into 20 ms G.711 packets, 20 ms apart (a trailing part frame is dropped)."""
    codes = encode(samples, law).tobytes()
    payload_type = PAYLOAD_TYPES[law]
    return [
        RtpPacket(index * PTIME, payload_type, first_sequence + index,
                  first_timestamp + index * FRAME, ssrc, codes[start:start + FRAME],
                  marker=index == 0)
        for index, start in enumerate(range(0, len(codes) - FRAME + 1, FRAME))
    ]


def speech_like(seconds: float, seed: int = 20) -> npt.NDArray[np.int16]:
    """Voiced syllables a little like speech, with pauses: a gliding pitch (90-220 Hz) and its
    harmonics shaped by two moving formants, ~4 syllables per second, around -20 dBm0.

    Not a key: it keeps a key detector busy the way a talker does, deterministically."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    pitch = 150 + 60 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 5.3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    formant1 = 500 + 250 * np.sin(2 * np.pi * 1.9 * t)
    formant2 = 1500 + 600 * np.sin(2 * np.pi * 1.3 * t + 1.0)
    voice = np.zeros(n)
    for harmonic in range(1, 25):
        frequency = harmonic * pitch
        weight = (np.exp(-(((frequency - formant1) / 200) ** 2))
                  + 0.5 * np.exp(-(((frequency - formant2) / 300) ** 2)) + 0.02) / harmonic**0.5
        voice += weight * np.sin(harmonic * phase)
    syllables = np.clip(np.sin(2 * np.pi * 2.0 * t + rng.uniform(0, 2 * np.pi)), 0, None) ** 1.5
    talk = (np.sin(2 * np.pi * t / 6.0) > -0.6).astype(float)  # a pause every 6 s
    signal = voice * syllables * talk + rng.normal(0, 0.01, n)
    signal *= peak_amplitude(-20.0) / max(float(np.max(np.abs(signal))), 1e-9) * 2
    samples: npt.NDArray[np.int16] = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    return samples


def key_tones(digits: str, *, tone_s: float = 0.1, pause_s: float = 0.4, lead_s: float = 1.0,
              level_dbm0: float = -10.0, tail_s: float = 0.5) -> npt.NDArray[np.int16]:
    """In-band DTMF keys: `lead_s` of silence, then each key for `tone_s` and `pause_s` quiet."""
    parts: list[npt.NDArray[np.float64]] = [np.zeros(round(lead_s * SAMPLE_RATE))]
    for digit in digits:
        parts.append(dtmf_tone(digit, tone_s, level_dbm0=level_dbm0))
        parts.append(np.zeros(round(pause_s * SAMPLE_RATE)))
    parts.append(np.zeros(round(tail_s * SAMPLE_RATE)))
    return np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)


def payload_codes(packets: Sequence[CapturedPacket], law: Law) -> bytes:
    """The G.711 codes of the packets in order (for checks)."""
    return b"".join(p.rtp.payload for p in packets if p.rtp.payload_type == PAYLOAD_TYPES[law])


# ----------------------------------------------------------------------- the files we play

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SPEECH_PCAP = SCENARIOS / "pcma_speech_20ms.pcap"
SPEECH_SECONDS = 30.0
INBAND_PCAP = SCENARIOS / "pcma_keys_inband.pcap"
INBAND_DIGITS = "159#*0"


def speech_capture() -> bytes:
    """30 s of speech-like PCMA in 20 ms packets: the load's audio."""
    return pcap_bytes(g711_packets(speech_like(SPEECH_SECONDS), "alaw"))


def inband_capture() -> bytes:
    """PCMA in 20 ms packets carrying the keys of INBAND_DIGITS as tones (100 ms each, 400 ms
    apart, -10 dBm0 per tone, after 1 s of silence)."""
    return pcap_bytes(g711_packets(key_tones(INBAND_DIGITS), "alaw", ssrc=0x5EED0002))


CAPTURES = {SPEECH_PCAP: speech_capture, INBAND_PCAP: inband_capture}


def ensure_captures(rewrite: bool = False) -> None:
    """Write the captures that are missing (all of them with `rewrite`)."""
    for path, build in CAPTURES.items():
        if rewrite or not path.exists():
            path.write_bytes(build())


if __name__ == "__main__":
    ensure_captures(rewrite=True)
    for written in CAPTURES:
        print(f"{written}: {len(read_pcap(written))} packets")
