"""SIP timer values (RFC 3261 §17 and table 4, RFC 6026 timers L and M), in seconds.

T1 is the round-trip estimate, T2 the cap on retransmission intervals of non-INVITE requests
and INVITE responses, T4 the time a message may stay in the network. Retransmission timers
(A, E, G) do not run on reliable transports, and the wait timers D, I, J and K are zero there.
"""

from __future__ import annotations

from dataclasses import dataclass

T1 = 0.5
T2 = 4.0
T4 = 5.0

TIMER_D_UNRELIABLE = 32.0  # "at least 32 seconds" (RFC 3261 §17.1.1.2)


@dataclass(frozen=True, slots=True)
class Timers:
    """Timer values derived from T1, T2 and T4; `reliable` is True for TCP (and TLS, SCTP)."""

    t1: float = T1
    t2: float = T2
    t4: float = T4

    def a(self) -> float:
        """INVITE request retransmission, initial interval (doubles each time; UDP only)."""
        return self.t1

    def b(self) -> float:
        """INVITE transaction timeout."""
        return 64 * self.t1

    def d(self, reliable: bool) -> float:
        """Wait time for response retransmissions after a non-2xx final response."""
        return 0.0 if reliable else max(TIMER_D_UNRELIABLE, 64 * self.t1)

    def e(self) -> float:
        """Non-INVITE request retransmission, initial interval (doubles up to T2; UDP only)."""
        return self.t1

    def f(self) -> float:
        """Non-INVITE transaction timeout."""
        return 64 * self.t1

    def g(self) -> float:
        """INVITE non-2xx final response retransmission, initial interval (UDP only)."""
        return self.t1

    def h(self) -> float:
        """Wait time for the ACK of a non-2xx final response."""
        return 64 * self.t1

    def i(self, reliable: bool) -> float:
        """Wait time for ACK retransmissions."""
        return 0.0 if reliable else self.t4

    def j(self, reliable: bool) -> float:
        """Wait time for non-INVITE request retransmissions."""
        return 0.0 if reliable else 64 * self.t1

    def k(self, reliable: bool) -> float:
        """Wait time for non-INVITE response retransmissions."""
        return 0.0 if reliable else self.t4

    def l(self) -> float:  # noqa: E743 - the RFC's name
        """INVITE server transaction: wait for INVITE retransmissions after a 2xx (RFC 6026)."""
        return 64 * self.t1

    def m(self) -> float:
        """INVITE client transaction: wait for 2xx retransmissions (RFC 6026)."""
        return 64 * self.t1

    def next_interval(self, interval: float) -> float:
        """A retransmission interval doubled and capped at T2 (timers E, G, 2xx resends)."""
        return min(2 * interval, self.t2)


DEFAULT_TIMERS = Timers()
