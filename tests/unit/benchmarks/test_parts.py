"""The pure parts of the runner: probe packets, profile summaries, key comparison, RSS
growth, pairing of steps, the generated office and the SIPp command lines."""

from __future__ import annotations

import math
import socket
import struct
from pathlib import Path

import pytest

from b2bua.app.config import parse_config
from benchmarks.load.keys import RFC4733_DIGITS, compare_keys, rfc4733_pcap
from benchmarks.load.media import MediaSettings, hold_ms
from benchmarks.load.office import OfficeSpec, company_number, extension, office_config, password
from benchmarks.load.pcap import read_pcap
from benchmarks.load.probe import (
    SO_TIMESTAMPNS,
    kernel_time_ns,
    probe_packet,
    read_stamp,
)
from benchmarks.load.procfs import Sample
from benchmarks.load.profile import parse_collapsed
from benchmarks.load.sipp import SippProcess
from benchmarks.load.soak import growth
from benchmarks.load.steps import pairs


def test_probe_packets_carry_send_time_and_stream() -> None:
    packet = probe_packet(3, 70000, 1_795_539_800_123_456_789, 0x9B0B0003)
    assert len(packet) == 12 + 160
    assert packet[0] == 0x80 and packet[1] == 8
    assert struct.unpack("!H", packet[2:4])[0] == 70000 & 0xFFFF
    assert read_stamp(packet) == (1_795_539_800_123_456_789, 3)
    assert read_stamp(b"\x00" * 40) is None
    assert read_stamp(packet[:15]) is None


def test_kernel_receive_time_from_ancillary_data() -> None:
    stamp = struct.pack("@qq", 1_795_539_800, 123_456_789)
    assert kernel_time_ns([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)]) == (
        1_795_539_800_123_456_789)
    assert kernel_time_ns([(socket.SOL_IP, 1, stamp)]) is None
    assert kernel_time_ns([]) is None


def test_profile_shares_from_collapsed_stacks() -> None:
    text = ("main;loop;handle;parse 30\n"
            "main;loop;handle;send 50\n"
            "main;loop;tick 20\n"
            "garbage line\n")
    summary = parse_collapsed(text, top=3, skip=2)
    assert summary.samples == 100
    assert summary.own == [("send", 50.0), ("parse", 30.0), ("tick", 20.0)]
    assert summary.inclusive[0] == ("handle", 80.0)
    assert ("main", 100.0) not in summary.inclusive  # outermost frames skipped
    assert parse_collapsed("").samples == 0


def test_keys_compared_as_multisets() -> None:
    assert compare_keys("159*#0", "159*#0") == (0, 0)
    assert compare_keys("159*#0", "159#0") == (1, 0)
    assert compare_keys("159*#0", "1159*#0") == (0, 1)
    assert compare_keys("12", "34") == (2, 2)


def test_rfc4733_captures_play_in_rising_sequence_order() -> None:
    sequences = [read_pcap(rfc4733_pcap(d))[0].rtp.sequence for d in RFC4733_DIGITS]
    assert sequences == sorted(sequences)
    assert {read_pcap(rfc4733_pcap(d))[0].rtp.payload[0] for d in "*#"} == {10, 11}


def test_rss_growth_after_warm_up() -> None:
    samples = [Sample(at=10 * i, cpu=0.0, rss_kib=(100 + i) * 1024) for i in range(25)]
    figures = growth(samples, warmup_seconds=60)
    # one MiB per 10 s sample: 6 MiB per minute; from t=60 s (106 MiB) to t=240 s (124 MiB)
    assert figures["after_warmup_mib"] == pytest.approx(18.0)
    assert figures["slope_mib_per_min"] == pytest.approx(6.0)
    assert figures["peak_mib"] == pytest.approx(124.0)
    flat = growth([Sample(10 * i, 0.0, 2048) for i in range(20)], 60)
    assert flat["after_warmup_mib"] == 0 and flat["slope_mib_per_min"] == 0
    assert math.isnan(growth([], 60)["slope_mib_per_min"])


def test_steps_paired_by_rate() -> None:
    steps = [{"path": "b2bua", "target_rate": 400}, {"path": "direct", "target_rate": 400},
             {"path": "b2bua", "target_rate": 200}, {"path": "direct", "target_rate": 200},
             {"path": "b2bua", "target_rate": 800}]
    matched = pairs(steps)
    assert [(t["target_rate"], d["target_rate"]) for t, d in matched] == [(200, 200),
                                                                           (400, 400)]


def test_media_calls_hold_long_enough_and_played_ones_fit_the_capture() -> None:
    played = MediaSettings(ramp_rate=100, settle_seconds=3, window_seconds=8, generator="sipp")
    assert hold_ms(400, played) == (4 + 3 + 8 + 3) * 1000
    with pytest.raises(ValueError):
        hold_ms(2000, played)
    streamed = MediaSettings(ramp_rate=100, settle_seconds=3, window_seconds=8)
    assert hold_ms(2000, streamed) == (20 + 3 + 8 + 3) * 1000  # no capture to run out of


def test_generated_office_is_a_valid_configuration(tmp_path: Path) -> None:
    data = office_config(OfficeSpec(employees=3, max_calls=5000), 40000, 40001, tmp_path)
    config = parse_config(data, base_dir=tmp_path)
    assert [e.extension for e in config.employees] == ["10000", "10001", "10002"]
    assert config.employees[2].password == password("10002")
    assert config.route_for(company_number(1)) is not None
    assert config.calls.max_calls == 5000
    assert config.sip.transports == ("udp",)
    assert extension(1) == "10001"


def test_sipp_command_line(tmp_path: Path) -> None:
    sipp = SippProcess(tmp_path / "run", "uac_load.xml", "127.0.0.1:5060", ["-m", "1"],
                       port=40100, media_port=40200, trace_rtt=True)
    command = sipp.command()
    assert command[1:4] == ["-sf", str(sipp.scenario_path), "127.0.0.1:5060"]
    assert sipp.scenario_path.exists()
    assert command[command.index("-p") + 1] == "40100"
    assert command[command.index("-mp") + 1] == "40200"
    assert "-trace_rtt" in command and command[-2:] == ["-m", "1"]
