"""The SIP socket's receive buffer: granted in full with CAP_NET_ADMIN, capped at
``net.core.rmem_max`` without it (the service then warns)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from b2bua.net.sip_transport import enlarge_receive_buffer

ASKED = 16 << 20
ROOT = Path(__file__).resolve().parents[3]


def rmem_max() -> int:
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


def may_force() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, 1 << 16)  # SO_RCVBUFFORCE
        except OSError:
            return False
    return True


@pytest.mark.skipif(sys.platform != "linux" or not may_force(), reason="needs CAP_NET_ADMIN")
def test_with_net_admin_the_whole_buffer_is_granted() -> None:
    assert rmem_max() < ASKED  # more than a plain SO_RCVBUF may ask for
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert enlarge_receive_buffer(sock, ASKED) == ASKED


@pytest.mark.skipif(shutil.which("setpriv") is None or not may_force(),
                    reason="needs setpriv and CAP_NET_ADMIN to drop")
def test_without_net_admin_the_kernel_cap_is_granted() -> None:
    code = ("import socket\nfrom b2bua.net.sip_transport import enlarge_receive_buffer\n"
            "sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"print(enlarge_receive_buffer(sock, {ASKED}))\n")
    done = subprocess.run(
        ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", sys.executable, "-c",
         code], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == rmem_max()
