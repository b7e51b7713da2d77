"""RTP captures for SIPp: written and read back, checksums, timing, and the committed files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from benchmarks.load.pcap import (
    INBAND_DIGITS,
    INBAND_PCAP,
    SPEECH_PCAP,
    SPEECH_SECONDS,
    RtpPacket,
    g711_packets,
    internet_checksum,
    key_tones,
    parse_pcap,
    pcap_bytes,
    read_pcap,
    speech_like,
    write_pcap,
)
from dsp.dtmf import detect_many
from dsp.g711 import decode, encode


def test_packets_round_trip_through_a_pcap_file(tmp_path: Path) -> None:
    packets = [RtpPacket(0.0, 8, 65535, 4294967200, 0xDEADBEEF, b"\xd5" * 160, marker=True),
               RtpPacket(0.02, 101, 0, 160, 0xDEADBEEF, b"\x05\x0a\x01\x40")]
    path = tmp_path / "x.pcap"
    write_pcap(path, packets, source=("10.1.2.3", 40000), destination=("10.3.2.1", 6000))
    read = read_pcap(path)
    assert [p.rtp for p in read] == packets
    assert read[1].time == pytest.approx(0.02)
    assert read[0].source == ("10.1.2.3", 40000)
    assert read[0].destination == ("10.3.2.1", 6000)


def test_headers_carry_valid_checksums() -> None:
    data = pcap_bytes([RtpPacket(0.0, 0, 1, 0, 7, bytes(range(160)))])
    frame = data[24 + 16:]
    ip = frame[14:34]
    assert internet_checksum(ip) == 0  # a header with its checksum sums to 0xFFFF
    udp = frame[34:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    assert internet_checksum(pseudo + udp) == 0
    assert struct.unpack("!H", ip[2:4])[0] == 20 + 8 + 12 + 160


def test_not_a_pcap() -> None:
    with pytest.raises(ValueError):
        parse_pcap(b"\x00" * 40)
    with pytest.raises(ValueError):
        RtpPacket.from_bytes(b"\x40" + b"\x00" * 20, 0.0)


def test_g711_packets_are_20_ms_apart_with_continuous_numbers() -> None:
    samples = (1000 * np.sin(np.arange(8000 + 50) / 5)).astype(np.int16)
    packets = g711_packets(samples, "ulaw", ssrc=9, first_sequence=65534)
    assert len(packets) == 50  # the trailing 50 samples are not a whole frame
    assert [p.time for p in packets[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert [p.sequence & 0xFFFF for p in packets[:3]] == [65534, 65535, 0]
    assert [p.timestamp for p in packets[:2]] == [0, 160]
    assert packets[0].marker and not packets[1].marker
    assert {p.payload_type for p in packets} == {0}
    codes = b"".join(p.payload for p in packets)
    assert codes == encode(samples[:8000], "ulaw").tobytes()


def test_speech_like_audio_is_loud_enough_and_not_a_key() -> None:
    audio = speech_like(4.0)
    assert audio.dtype == np.int16 and audio.size == 32000
    assert 500 < np.sqrt(np.mean(audio.astype(float) ** 2)) < 8000
    assert detect_many([audio]) == [[]]


def test_key_tones_are_found_where_they_were_put() -> None:
    audio = key_tones("5#", tone_s=0.1, pause_s=0.4, lead_s=1.0)
    found = detect_many([audio])[0]
    assert [digit for digit, _ in found] == ["5", "#"]
    assert found[0][1] == pytest.approx(1.0, abs=0.01)
    assert found[1][1] == pytest.approx(1.5, abs=0.01)


def _audio(path: Path) -> np.ndarray:
    packets = read_pcap(path)
    return decode(b"".join(p.rtp.payload for p in packets), "alaw")


def test_committed_speech_capture() -> None:
    packets = read_pcap(SPEECH_PCAP)
    assert len(packets) == SPEECH_SECONDS / 0.02
    assert {p.rtp.payload_type for p in packets} == {8}
    assert all(len(p.rtp.payload) == 160 for p in packets)
    gaps = np.diff([p.time for p in packets])
    assert gaps == pytest.approx(0.02)
    assert detect_many([_audio(SPEECH_PCAP)]) == [[]]


def test_committed_inband_capture_holds_its_keys() -> None:
    found = detect_many([_audio(INBAND_PCAP)])[0]
    assert "".join(digit for digit, _ in found) == INBAND_DIGITS
