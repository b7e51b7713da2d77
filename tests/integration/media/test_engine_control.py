"""Re-INVITE, hold, release, RTCP and ptime over real UDP sockets."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import wave
from pathlib import Path

import numpy as np
import pytest

from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange
from b2bua.media.rtp import RtcpBye, RtcpReceiverReport, RtcpSenderReport, parse_rtcp

from .conftest import Phone, phone_with_rtcp
from .test_engine_relay import leg

SILENCE = b"\xff" * 160


async def test_new_remote_address_relatches(engine: MediaEngine, phones: list[Phone]) -> None:
    alice, bob, alice_moved = Phone(ssrc=0xA), Phone(ssrc=0xB), Phone(ssrc=0xA2)
    phones += [alice, bob, alice_moved]
    a, b = leg(engine, alice), leg(engine, bob)
    engine.bridge(a, b)
    alice.send_audio(SILENCE)
    await bob.collect(quiet=0.1)
    assert engine.stats(a).remote == alice.address
    engine.configure(a, remote=alice_moved.address)  # re-INVITE: the phone moved its media
    alice_moved.target = alice.target
    alice_moved.send_audio(SILENCE)
    assert len(await bob.collect(quiet=0.1)) == 1
    bob.send_audio(SILENCE)
    assert len(await alice_moved.collect(quiet=0.1)) == 1
    assert await alice.collect(quiet=0.05) == []


async def test_same_remote_keeps_latch_and_hold_stops_sending(engine: MediaEngine,
                                                              phones: list[Phone]) -> None:
    alice, bob = Phone(), Phone()
    phones += [alice, bob]
    a = engine.allocate()
    engine.configure(a, remote=("127.0.0.1", 9))  # NAT: the real port differs
    alice.target = ("127.0.0.1", engine.local_port(a))
    b = leg(engine, bob)
    engine.bridge(a, b)
    alice.send_audio(SILENCE)
    await bob.collect(quiet=0.1)
    engine.configure(a, remote=("127.0.0.1", 9), direction="recvonly")  # the phone holds us
    assert engine.stats(a).latched
    bob.send_audio(SILENCE)
    assert await alice.collect(quiet=0.1) == []
    engine.configure(a, remote=("127.0.0.1", 9))  # resumed
    bob.send_audio(SILENCE)
    got = await alice.collect(quiet=0.1)
    assert len(got) == 1 and got[0].marker


async def test_released_pair_stays_bound_and_is_reused(engine: MediaEngine) -> None:
    first = engine.allocate()
    port = engine.local_port(first)
    engine.release(first)
    engine.release(first)  # releasing twice is harmless
    again = engine.allocate()
    assert engine.local_port(again) == port, "the kept pair serves the next stream"
    engine.close()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", port))  # closed with the engine: binds again
    probe.close()


async def test_without_kept_pairs_release_frees_the_port() -> None:
    engine = MediaEngine(PortRange("127.0.0.1", 62000, 62999), rtp_timeout=None, keep_ports=0)
    engine.start()
    try:
        first = engine.allocate()
        port = engine.local_port(first)
        engine.release(first)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", port))  # closed: binds again
        probe.close()
        assert engine.local_port(engine.allocate()) != port, "freed ports go to the back"
    finally:
        engine.close()


async def test_reused_pair_does_not_latch_on_the_previous_phone(engine: MediaEngine,
                                                                 phones: list[Phone]) -> None:
    old_phone, new_phone, peer = Phone(ssrc=0x01D), Phone(ssrc=0x2E3), Phone(ssrc=0xB)
    phones += [old_phone, new_phone, peer]
    old = leg(engine, old_phone)
    old_phone.send_audio(SILENCE)
    await asyncio.sleep(0.05)
    assert engine.stats(old).latched
    engine.release(old)
    new, p = leg(engine, new_phone), leg(engine, peer)
    assert new_phone.target == old_phone.target, "the same port pair again"
    engine.bridge(new, p)
    for _ in range(3):  # the old call's phone has not stopped yet (same IP, its old port)
        old_phone.send_audio(b"\x11" * 160)
    await asyncio.sleep(0.05)
    assert await peer.collect(quiet=0.05) == []
    assert not engine.stats(new).latched and engine.stats(new).stray == 3
    new_phone.send_audio(b"\x22" * 160)
    got = await peer.collect(quiet=0.1)
    assert [g.payload for g in got] == [b"\x22" * 160]
    assert engine.stats(new).remote == new_phone.address


async def test_datagrams_for_a_released_stream_are_dropped(engine: MediaEngine,
                                                           phones: list[Phone]) -> None:
    old_phone, new_phone = Phone(), Phone()
    phones += [old_phone, new_phone]
    old = leg(engine, old_phone)
    engine.release(old)
    for _ in range(4):  # arrive while the pair is kept: read and dropped
        old_phone.send_audio(SILENCE)
    await asyncio.sleep(0.05)
    old_phone.send_audio(SILENCE)  # still queued when the pair is handed out: drained
    new = engine.allocate()
    assert engine.local_port(new) == old_phone.target[1]
    engine.configure(new, remote=("127.0.0.2", 4000))
    await asyncio.sleep(0.05)
    stats = engine.stats(new)
    assert (stats.received, stats.stray) == (0, 0)


async def test_rtcp_bye_only_from_a_leg_that_sent(engine: MediaEngine,
                                                  phones: list[Phone]) -> None:
    alice, (bob, rtcp) = Phone(), phone_with_rtcp()
    phones += [alice, bob]
    loop = asyncio.get_running_loop()
    try:
        silent = leg(engine, bob)
        engine.release(silent)  # never sent RTP or RTCP (RFC 3550 6.3.7): no BYE
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(loop.sock_recv(rtcp, 2048), 0.2)
        a, b = leg(engine, alice), leg(engine, bob)
        engine.bridge(a, b)
        alice.send_audio(SILENCE)
        assert len(await bob.collect(quiet=0.1)) == 1
        engine.release(b)
        packets = []
        with contextlib.suppress(TimeoutError):  # a report may come before the BYE
            while True:
                packets += parse_rtcp(await asyncio.wait_for(loop.sock_recv(rtcp, 2048), 0.3))
        assert any(isinstance(p, RtcpBye) for p in packets)
    finally:
        rtcp.close()


async def test_release_unhooks_listeners(engine: MediaEngine, phones: list[Phone]) -> None:
    client, employee, trainer = Phone(ssrc=1), Phone(ssrc=2), Phone(ssrc=3)
    phones += [client, employee, trainer]
    c, e, t = leg(engine, client), leg(engine, employee), leg(engine, trainer)
    engine.set_sources(e, [c, t])
    engine.release(t)
    client.send_audio(b"\x20" * 160)
    got = await employee.collect(quiet=0.1)
    assert len(got) == 1 and got[0].payload == b"\x20" * 160, "back to a plain relay"


async def test_rtcp_counts_as_liveness_and_we_report(engine: MediaEngine,
                                                     phones: list[Phone]) -> None:
    alice, rtcp = phone_with_rtcp()
    phones.append(alice)
    try:
        a = leg(engine, alice)
        report = bytes.fromhex("80c90001") + (0x1234).to_bytes(4, "big")  # empty RR
        rtcp.sendto(report, ("127.0.0.1", engine.local_port(a) + 1))
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(rtcp, 2048), 6.0)
        packets = parse_rtcp(data)
        assert isinstance(packets[0], RtcpSenderReport | RtcpReceiverReport)
        assert engine.stats(a).rtcp_received == 1
    finally:
        rtcp.close()


async def test_only_rtcp_moves_where_reports_go(engine: MediaEngine, phones: list[Phone]) -> None:
    alice, rtcp = phone_with_rtcp()
    stray = Phone()
    phones += [alice, stray]
    try:
        a = leg(engine, alice)
        port = ("127.0.0.1", engine.local_port(a) + 1)
        rtcp.sendto(bytes.fromhex("80c90001") + (0x1234).to_bytes(4, "big"), port)
        await asyncio.sleep(0.05)
        stray.sock.sendto(b"\x80\x00\x00\x01" + bytes(8), port)  # RTP, not RTCP
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(rtcp, 2048), 6.0)
        assert isinstance(parse_rtcp(data)[0], RtcpSenderReport | RtcpReceiverReport)
        assert engine.stats(a).rtcp_received == 1
        assert await stray.collect(quiet=0.05) == []
    finally:
        rtcp.close()


async def test_generated_audio_follows_the_legs_ptime(engine: MediaEngine,
                                                      phones: list[Phone]) -> None:
    phone = Phone()
    phones.append(phone)
    s = leg(engine, phone, ptime_ms=40)
    engine.play(s, np.zeros(3200, np.int16))
    got = await phone.collect(quiet=0.2)
    assert len(got) == 10 and {len(p.payload) for p in got} == {320}
    assert {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(got)} == {320}


async def test_recording_goes_on_after_a_leg_is_released(engine: MediaEngine,
                                                         phones: list[Phone],
                                                         tmp_path: Path) -> None:
    client, employee = Phone(ssrc=1), Phone(ssrc=2)
    phones += [client, employee]
    c, e = leg(engine, client), leg(engine, employee)
    engine.bridge(c, e)
    path = tmp_path / "r.wav"
    recorder = engine.record(c, e, str(path))
    employee.send_audio(b"\x10" * 160)
    await asyncio.sleep(0.1)
    engine.release(e)
    for _ in range(5):
        client.send_audio(b"\x20" * 160)
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    engine.stop_record(recorder)
    with wave.open(str(path)) as done:
        audio = np.frombuffer(done.readframes(done.getnframes()), "<i2").reshape(-1, 2)
    assert audio[:, 0].any(), "the client side is still recorded"
    assert audio[-400:, 1].max() == 0, "the released side is silence"
