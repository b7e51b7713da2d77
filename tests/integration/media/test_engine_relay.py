"""Relay between two legs over real UDP sockets: counts, latching, continuity, PT mapping."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest

from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange

from .conftest import Phone

SILENCE = b"\xff" * 160


def leg(engine: MediaEngine, phone: Phone, **sdp: object) -> int:
    stream = engine.allocate()
    engine.configure(stream, remote=phone.address, **sdp)  # type: ignore[arg-type]
    phone.target = ("127.0.0.1", engine.local_port(stream))
    return stream


async def test_relay_both_directions_counts_packets(engine: MediaEngine,
                                                    phones: list[Phone]) -> None:
    alice, bob = Phone(ssrc=0xA), Phone(ssrc=0xB)
    phones += [alice, bob]
    a, b = leg(engine, alice), leg(engine, bob)
    engine.bridge(a, b)
    for _ in range(20):
        alice.send_audio(b"\x01" * 160)
        bob.send_audio(b"\x02" * 160)
    to_bob, to_alice = await bob.collect(), await alice.collect()
    assert len(to_bob) == 20 and len(to_alice) == 20
    assert {p.payload for p in to_bob} == {b"\x01" * 160}
    assert {p.payload for p in to_alice} == {b"\x02" * 160}
    assert [p.sequence for p in to_bob] == list(range(1000, 1020))
    assert engine.stats(a).received == 20 and engine.stats(b).sent == 20


async def test_latches_on_sdp_address_and_ignores_a_third_party(engine: MediaEngine,
                                                                 phones: list[Phone]) -> None:
    alice, bob, intruder = Phone(ssrc=0xA), Phone(ssrc=0xB), Phone(ssrc=0xC)
    phones += [alice, bob, intruder]
    a = engine.allocate()
    # The SDP announced alice's IP with another port (a NAT rewrote it): any port latches.
    engine.configure(a, remote=("127.0.0.1", 9))
    alice.target = ("127.0.0.1", engine.local_port(a))
    b = leg(engine, bob)
    engine.bridge(a, b)
    alice.send_audio(SILENCE)
    await bob.collect()
    intruder.target = alice.target
    for _ in range(5):
        intruder.send_audio(b"\x55" * 160)
    bob.send_audio(SILENCE)
    got = await alice.collect()
    assert len(got) == 1, "after latching, alice's real port receives bob's audio"
    assert await bob.collect() == [], "the intruder's packets are not relayed"
    assert engine.stats(a).latched
    assert engine.stats(a).remote == alice.address


async def test_only_rtp_latches_not_rtcp_or_other_datagrams_from_the_sdp_address(
        engine: MediaEngine, phones: list[Phone]) -> None:
    alice, bob, neighbour = Phone(ssrc=0xA), Phone(ssrc=0xB), Phone()
    phones += [alice, bob, neighbour]
    a = engine.allocate()
    engine.configure(a, remote=("127.0.0.1", 9))  # any port of this address may latch
    port = ("127.0.0.1", engine.local_port(a))
    b = leg(engine, bob)
    engine.bridge(a, b)
    # Before alice's first packet, the same address sends an RTCP receiver report (say, one
    # meant for another stream's RTCP port), a STUN-like datagram and a stub of 4 bytes.
    neighbour.sock.sendto(b"\x81\xc9\x00\x07" + bytes(28), port)
    neighbour.sock.sendto(b"\x00\x01\x00\x00" + bytes(16), port)
    neighbour.sock.sendto(b"\x80\x00\x00\x01", port)
    await asyncio.sleep(0.05)
    alice.target = port
    alice.send_audio(SILENCE)
    assert len(await bob.collect()) == 1
    bob.send_audio(SILENCE)
    assert len(await alice.collect()) == 1, "the leg latched on alice, not on the neighbour"
    assert await neighbour.collect() == []
    stats = engine.stats(a)
    assert stats.remote == alice.address and stats.stray == 3


async def test_unlatched_packets_from_another_ip_are_counted_and_dropped(
        engine: MediaEngine, phones: list[Phone]) -> None:
    alice, bob = Phone(), Phone()
    phones += [alice, bob]
    a = engine.allocate()
    engine.configure(a, remote=("127.0.0.2", 4000))
    alice.target = ("127.0.0.1", engine.local_port(a))
    b = leg(engine, bob)
    engine.bridge(a, b)
    alice.send_audio(SILENCE)
    alice.send_audio(SILENCE)
    assert await bob.collect() == []
    assert engine.stats(a).stray == 2 and not engine.stats(a).latched


async def test_outgoing_stream_stays_continuous_when_its_source_changes(
        engine: MediaEngine, phones: list[Phone]) -> None:
    client, first, second = Phone(ssrc=0xC), Phone(ssrc=0x1), Phone(ssrc=0x2)
    phones += [client, first, second]
    second.sequence, second.timestamp = 65530, 0xFFFFFF00  # wraps right after the switch
    c, e1, e2 = leg(engine, client), leg(engine, first), leg(engine, second)
    engine.set_sources(c, [e1])
    for _ in range(3):
        first.send_audio(SILENCE)
    before = await client.collect()
    engine.set_sources(c, [e2])
    for _ in range(10):
        second.send_audio(SILENCE)
    after = await client.collect()
    got = before + after
    assert len(got) == 13
    assert {p.ssrc for p in got} == {0x1}, "one SSRC for life toward the client"
    seqs = [p.sequence for p in got]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(13)]
    steps = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(got[3:])}
    assert steps == {160}
    jump = (after[0].timestamp - before[-1].timestamp) & 0xFFFFFFFF
    assert jump % 160 == 0 and 160 <= jump < 8000 * 5
    assert after[0].marker, "the first packet of the new source marks a new talkspurt"


async def test_telephone_event_payload_type_is_remapped(engine: MediaEngine,
                                                        phones: list[Phone]) -> None:
    alice, bob = Phone(), Phone()
    phones += [alice, bob]
    a = leg(engine, alice, telephone_event_pt=101)
    b = leg(engine, bob, telephone_event_pt=96)
    engine.bridge(a, b)
    alice.send_audio(SILENCE)
    alice.send(b"\x05\x0a\x00\xa0", payload_type=101, marker=True)
    got = await bob.collect()
    assert [p.payload_type for p in got] == [0, 96]
    assert got[1].payload == b"\x05\x0a\x00\xa0"


async def test_pcmu_to_pcma_is_transcoded(engine: MediaEngine, phones: list[Phone]) -> None:
    alice, bob = Phone(), Phone(payload_type=8)
    phones += [alice, bob]
    a = leg(engine, alice)
    b = leg(engine, bob, codec="PCMA")
    engine.bridge(a, b)
    alice.send_audio(b"\xff" * 160)  # μ-law silence
    got = await bob.collect()
    assert got[0].payload_type == 8
    assert got[0].payload == b"\xd5" * 160  # A-law silence


def test_a_leg_whose_phone_port_closed_keeps_being_read_under_uvloop() -> None:
    """An ICMP port unreachable (the phone closed its RTP port while we still relayed to it)
    makes libuv stop reading that socket; the engine registers it again, so the leg goes on
    receiving when the phone comes back, and releases cleanly."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        engine = MediaEngine(PortRange("127.0.0.1", 62000, 62999), rtp_timeout=None)
        engine.start()
        alice, bob = Phone(ssrc=0xA), Phone(ssrc=0xB)
        try:
            a, b = leg(engine, alice), leg(engine, bob)
            engine.bridge(a, b)
            alice.send_audio(b"\x01" * 160)  # latches alice: leg a's socket is connected
            assert [p.payload[0] for p in await bob.collect()] == [1]
            port = alice.address[1]
            alice.close()
            bob.send_audio(b"\x02" * 160)  # relayed to alice's closed port: ICMP error
            await asyncio.sleep(0.2)
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", port))
            alice.sock = back
            back.setblocking(False)
            alice.send_audio(b"\x03" * 160)
            assert [p.payload[0] for p in await bob.collect()] == [3]
            engine.release(a)
            engine.release(b)
        finally:
            alice.close()
            bob.close()
            engine.close()

    uvloop.run(scenario())
