"""CPU, RSS and UDP figures from /proc text, and one real read of this process."""

from __future__ import annotations

import os
import socket

import pytest

from benchmarks.load.procfs import (
    CpuTimes,
    cpu_times,
    parse_proc_stat,
    parse_rss_kib,
    parse_snmp_udp,
    parse_udp_drops,
    rss_kib,
    udp_drops,
)

# /proc/PID/stat of a process whose name holds a space and a parenthesis
STAT = ("4242 (py thon) x) S 1 4242 4242 0 -1 4194560 21960 0 0 0 1234 567 0 0 20 0 3 0 "
        "8810 250000000 30000 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 1 "
        "0 0 0 0 0")


def test_cpu_times_are_fields_14_and_15_in_ticks() -> None:
    times = parse_proc_stat(STAT, ticks=100)
    assert times == CpuTimes(12.34, 5.67)
    assert times.total == pytest.approx(18.01)
    assert (times - CpuTimes(2.34, 0.67)).total == pytest.approx(15.0)


def test_rss_from_status() -> None:
    status = "Name:\tpython3\nVmPeak:\t  300000 kB\nVmRSS:\t  123456 kB\nThreads:\t3\n"
    assert parse_rss_kib(status) == 123456
    assert parse_rss_kib("Name:\tzombie\nState:\tZ (zombie)\n") == 0


def test_udp_counters() -> None:
    snmp = ("Ip: Forwarding DefaultTTL\nIp: 1 64\n"
            "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n"
            "Udp: 1000 3 7 990 5 0\n")
    assert parse_snmp_udp(snmp) == {"InDatagrams": 1000, "NoPorts": 3, "InErrors": 7,
                                    "OutDatagrams": 990, "RcvbufErrors": 5, "SndbufErrors": 0}
    assert parse_snmp_udp("Ip: a\nIp: 1\n") == {}


NET_UDP = (
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout"
    " inode ref pointer drops\n"
    "  100: 0100007F:2710 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0"
    " 111 2 0000000000000000 12\n"
    "  101: 0100007F:2711 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0"
    " 112 2 0000000000000000 3\n"
    "  102: 0100007F:7530 00000000:0000 07 00000000:00012000 00:00000000 00000000     0        0"
    " 113 2 0000000000000000 500\n"
)


def test_drops_of_the_sockets_in_a_port_range() -> None:
    assert parse_udp_drops(NET_UDP, range(10000, 10002)) == 15  # ports 0x2710 and 0x2711
    assert parse_udp_drops(NET_UDP, range(30000, 30001)) == 500  # 0x7530
    assert parse_udp_drops(NET_UDP, range(1, 2)) == 0


def test_this_process_from_proc() -> None:
    before = cpu_times(os.getpid())
    sum(i * i for i in range(300_000))
    after = cpu_times(os.getpid())
    assert after.total >= before.total
    assert rss_kib(os.getpid()) > 1000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert udp_drops(range(port, port + 1)) == 0
