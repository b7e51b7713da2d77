"""Free loopback ports for peers started by the testbed."""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


BOTH_KINDS = (socket.SOCK_DGRAM, socket.SOCK_STREAM)


def free_port(step: int = 1, kinds: tuple[int, ...] = BOTH_KINDS) -> int:
    """A loopback port free for UDP and TCP, with `step - 1` free ports above it.

    baresip opens TLS on its SIP port + 1, so phones ask for `step=2`. Ports already handed out in
    this process are never handed out again, so peers started back to back do not collide.
    """
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        wanted = range(base, base + step)
        if base + step > 65535 or any(p in _handed_out for p in wanted):
            continue
        if all(_is_free(p, kinds) for p in wanted):
            _handed_out.update(wanted)
            return base
    raise RuntimeError("no free loopback port found")


def _is_free(port: int, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            sock.close()
    return True
