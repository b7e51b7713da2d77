"""The media engine in worker processes, driven over their pipes, with phones on real sockets:
relay across a worker, placement of a call's streams, late swallow decisions, INFO keys,
counters, and a worker that dies."""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from testbed.calls import until

from b2bua.media.engine import RtpTimeout, StreamStats
from b2bua.media.keys import KeyEvent, KeyStarted
from b2bua.media.ports import PortRange
from b2bua.media.workers import MediaWorkers, split_ports

from .conftest import Phone
from .test_engine_keys import EVENT_PT, SILENCE, events_of, press

PORTS = PortRange("127.0.0.1", 61000, 61399)


@pytest.fixture
async def workers() -> AsyncIterator[MediaWorkers]:
    media = MediaWorkers(PORTS, 2, rtp_timeout=None)
    await media.start()
    yield media
    media.close()


def leg(media: MediaWorkers, phone: Phone, near: int | None = None, **sdp: object) -> int:
    stream = media.allocate(near=near)
    media.configure(stream, remote=phone.address, **sdp)  # type: ignore[arg-type]
    phone.target = ("127.0.0.1", media.local_port(stream))
    return stream


def keyed_call(workers: MediaWorkers, phones: list[Phone],
               swallow: str) -> tuple[Phone, Phone, int]:
    """A client bridged with an employee whose RFC 4733 keys are detected: the phones and the
    employee's stream."""
    client, employee = Phone(ssrc=0xC), Phone(ssrc=0xE)
    phones += [client, employee]
    c = leg(workers, client, telephone_event_pt=96)
    e = leg(workers, employee, near=c, telephone_event_pt=EVENT_PT)
    workers.bridge(c, e)
    workers.set_detection(e, events=True, swallow=frozenset(swallow))
    return client, employee, e


def worker_of(port: int) -> int:
    [index] = [i for i, r in enumerate(split_ports(PORTS, 2)) if r.low <= port <= r.high]
    return index


def test_port_range_is_split_in_even_consecutive_shares() -> None:
    shares = split_ports(PortRange("127.0.0.1", 20000, 20009), 2)
    assert [(r.low, r.high) for r in shares] == [(20000, 20003), (20004, 20009)]
    assert sum((r.high - r.low + 1) // 2 for r in shares) == 5
    with pytest.raises(ValueError, match="fewer than 3 workers"):
        split_ports(PortRange("127.0.0.1", 20000, 20003), 3)


async def test_calls_spread_over_workers_and_relay_both_ways(workers: MediaWorkers,
                                                             phones: list[Phone]) -> None:
    placed = []
    for _ in range(2):
        client, employee = Phone(ssrc=0xC), Phone(ssrc=0xE)
        phones += [client, employee]
        c = leg(workers, client)
        e = leg(workers, employee, near=c)
        workers.bridge(c, e)
        await workers.settled()
        placed.append((worker_of(workers.local_port(c)), worker_of(workers.local_port(e))))
        for i in range(5):
            client.send_audio(bytes([i]) * 160)
            employee.send_audio(bytes([100 + i]) * 160)
        heard_by_employee = await employee.collect()
        heard_by_client = await client.collect()
        assert [p.payload[0] for p in heard_by_employee] == [0, 1, 2, 3, 4]
        assert [p.payload[0] for p in heard_by_client] == [100, 101, 102, 103, 104]
        answer: asyncio.Future[dict[int, StreamStats]] = asyncio.Future()
        workers.collect_stats([c, e, 999], answer.set_result)
        stats = await asyncio.wait_for(answer, 3)
        assert {i: (s.received, s.sent) for i, s in stats.items()} == {c: (5, 5), e: (5, 5)}
    # each call's two streams in one worker; the second call in the less loaded one
    assert placed == [(0, 0), (1, 1)] or placed == [(1, 1), (0, 0)]
    assert workers.stream_count == 4
    assert len(set(workers.processes)) == 2 and os.getpid() not in workers.processes


async def test_decision_that_differs_from_the_swallow_set_is_revised(
        workers: MediaWorkers, phones: list[Phone]) -> None:
    """The worker applies the leg's swallow set at once; the owner's answer revises it: a key
    the set swallows but the owner lets pass reaches the client (all but the first packets)."""
    started: list[KeyStarted] = []
    finished: list[KeyEvent] = []

    def decide(key: KeyStarted) -> bool:
        started.append(key)
        return key.digit == "7"

    workers.on_key_started = decide
    workers.on_key = finished.append
    client, employee, _ = keyed_call(workers, phones, swallow="5")
    await workers.settled()
    heard = await asyncio.gather(press(employee, 5, 6), client.collect(quiet=0.3))
    passed = events_of(heard[1])
    assert passed and len(passed) >= 6 and {p.payload[0] for p in passed} == {5}
    heard = await asyncio.gather(press(employee, 7, 6), client.collect(quiet=0.3))
    leaked = events_of(heard[1])
    assert len(leaked) <= 2, "swallowed after the first packet or two"
    assert SILENCE in {p.payload for p in heard[1] if p.payload_type == 0}
    await until(lambda: len(finished) == 2)
    assert [(k.digit, k.source) for k in started] == [("5", "rfc4733"), ("7", "rfc4733")]
    assert [(k.digit, k.swallowed) for k in finished] == [("5", False), ("7", True)]


async def test_info_key_is_decided_by_the_owner_at_once_and_once_per_press(
        workers: MediaWorkers, phones: list[Phone]) -> None:
    started: list[KeyStarted] = []

    def decide(key: KeyStarted) -> bool:
        started.append(key)
        return key.digit == "9"

    workers.on_key_started = decide
    client, employee, e = keyed_call(workers, phones, swallow="1")
    assert workers.info_key(e, "1", 100) is False  # the owner's answer, not the set's
    assert workers.info_key(e, "9", 100) is True
    assert [(k.stream, k.digit, k.source) for k in started] == [(e, "1", "info"),
                                                                (e, "9", "info")]
    await workers.settled()
    await asyncio.sleep(0.3)  # all keys ended: a later press is a new key
    # the phone reports one press of 9 both ways: the option runs once, no event leaks
    assert workers.info_key(e, "9", 120) is True
    heard = await asyncio.gather(press(employee, 9, 4), client.collect(quiet=0.3))
    assert events_of(heard[1]) == []
    await asyncio.sleep(0.2)
    assert [(k.digit, k.source) for k in started[2:]] == [("9", "info")]


async def test_a_dead_worker_ends_its_streams_and_is_replaced(workers: MediaWorkers,
                                                              phones: list[Phone]) -> None:
    timeouts: list[RtpTimeout] = []
    workers.on_timeout = timeouts.append
    client, employee = Phone(), Phone()
    phones += [client, employee]
    c = leg(workers, client)
    e = leg(workers, employee, near=c)
    other = leg(workers, Phone())  # the other worker: untouched
    victim = workers.processes[worker_of(workers.local_port(c))]
    os.kill(victim, signal.SIGKILL)
    await until(lambda: len(timeouts) == 2)
    assert sorted(t.stream for t in timeouts) == sorted([c, e])
    assert workers.stream_count == 1 and workers.local_port(other)
    with pytest.raises(KeyError):
        workers.bridge(c, e)
    await until(lambda: workers.restarts == 1 and len(workers.processes) == 2
                and victim not in workers.processes, timeout=10)
    await until(lambda: all(w.reserve for w in workers._workers), timeout=10)
    # a new call works on the replacement
    client2, employee2 = Phone(), Phone()
    phones += [client2, employee2]
    c2 = leg(workers, client2)
    e2 = leg(workers, employee2, near=c2)
    workers.bridge(c2, e2)
    await workers.settled()
    client2.send_audio(struct.pack("!B", 42) * 160)
    assert [p.payload[0] for p in await employee2.collect()] == [42]


async def test_workers_end_when_the_service_is_killed() -> None:
    script = ("import asyncio\n"
              "from b2bua.media.ports import PortRange\n"
              "from b2bua.media.workers import MediaWorkers\n"
              "async def main():\n"
              "    media = MediaWorkers(PortRange('127.0.0.1', 61400, 61499), 2)\n"
              "    await media.start()\n"
              "    print(*media.processes, flush=True)\n"
              "    await asyncio.sleep(60)\n"
              "asyncio.run(main())\n")
    service = await asyncio.create_subprocess_exec(sys.executable, "-c", script,
                                                   stdout=asyncio.subprocess.PIPE)
    assert service.stdout is not None
    line = await asyncio.wait_for(service.stdout.readline(), 20)
    pids = [int(p) for p in line.split()]
    assert len(pids) == 2
    service.kill()
    await service.wait()

    def gone() -> bool:  # no such process, or a zombie left for init to reap
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                    return False
            except FileNotFoundError:
                continue
        return True

    await until(gone, timeout=5)
