"""``/metrics``: the service's counters and gauges in the Prometheus text format 0.0.4.

Samples come from ``ServiceControl.metrics()`` as ``{name: value}``, where a name may carry
labels (``b2bua_keys_total{source="rfc4733"}``). Names ending in ``_total`` are counters, the
others gauges. Each metric family gets its ``# HELP`` and ``# TYPE`` lines once, then its
samples; a name that is not a valid metric name is left out (and logged once).

Who may read it: peers in the networks given to ``create_app`` (``metrics_networks``, loopback
by default), and any request carrying the API token; others get 403.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_SAMPLE_NAME = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{.*\})?$")
_LABELS = re.compile(
    r'^\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*='
    r'"(?:[^"\\\n]|\\.)*")*,?)?\}$'
)

HELP: dict[str, str] = {
    "b2bua_calls_active": "Calls in progress.",
    "b2bua_calls_total": "Calls started since the service started.",
    "b2bua_legs_active": "Call legs in progress.",
    "b2bua_registrations_active": "Registered devices (unexpired bindings).",
    "b2bua_sip_messages_received_total": "SIP messages received.",
    "b2bua_sip_messages_sent_total": "SIP messages sent.",
    "b2bua_sip_udp_drops_total": "SIP datagrams the kernel dropped: the receive buffer was full.",
    "b2bua_rtp_packets_relayed_total": "RTP packets relayed between legs.",
    "b2bua_keys_detected_total": "Keys detected on employees' legs.",
    "b2bua_options_total": "In-call options performed.",
    "b2bua_sms_queued": "SMS messages waiting in the outbox.",
}

_warned: set[str] = set()


def metric_type(family: str) -> str:
    return "counter" if family.endswith("_total") else "gauge"


def format_value(value: float) -> str:
    """A sample value: whole numbers without a fraction, ``NaN``, ``+Inf``, ``-Inf``."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _family_of(sample: str) -> str | None:
    matched = _SAMPLE_NAME.match(sample)
    if matched is None:
        return None
    labels = matched["labels"]
    if labels is not None and _LABELS.match(labels) is None:
        return None
    return matched["name"]


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def exposition(samples: Mapping[str, float], help_texts: Mapping[str, str] = HELP) -> str:
    """The text exposition of ``samples``, families in name order."""
    families: dict[str, list[tuple[str, float]]] = {}
    for sample, value in samples.items():
        family = _family_of(sample)
        if family is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            if sample not in _warned:
                _warned.add(sample)
                log.warning("metric %r left out: not a valid name or value", sample)
            continue
        families.setdefault(family, []).append((sample, value))
    lines: list[str] = []
    for family in sorted(families):
        text = help_texts.get(family, family.replace("_", " ") + ".")
        lines.append(f"# HELP {family} {_escape_help(text)}")
        lines.append(f"# TYPE {family} {metric_type(family)}")
        lines.extend(f"{sample} {format_value(value)}" for sample, value in families[family])
    return "\n".join(lines) + "\n" if lines else ""


LOOPBACK = ("127.0.0.0/8", "::1/128")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """Parse networks (``10.0.0.0/8``, ``192.0.2.7``); ``ValueError`` names a bad one."""
    parsed: list[Network] = []
    for spec in specs:
        try:
            parsed.append(ipaddress.ip_network(spec, strict=False))
        except ValueError:
            raise ValueError(f"not an IP network: {spec!r}") from None
    return tuple(parsed)


def allowed_peer(remote: str | None, allowed: Iterable[Network]) -> bool:
    """Whether a peer address is in one of the ``allowed`` networks (IPv4-mapped IPv6
    addresses count as their IPv4 address). No address (a Unix socket) is local."""
    if remote is None:
        return True
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in allowed)
