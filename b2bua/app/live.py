"""What the admin API shows of the running service: calls in progress and metrics."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from b2bua.media.workers import MediaWorkers

if TYPE_CHECKING:
    from b2bua.app.service import Service
    from b2bua.calls.call import Call
    from b2bua.calls.leg import Leg


def _leg(leg: Leg) -> dict[str, Any]:
    return {
        "role": leg.role,
        "side": leg.extra.get("side"),
        "extension": leg.extension,
        "device": leg.label,
        "state": str(leg.state),
        "codec": leg.media.codec if leg.media is not None else None,
    }


def live_call(call: Call) -> dict[str, Any]:
    """A call in progress as JSON-able data."""
    return {
        "id": call.id,
        "state": str(call.state),
        "direction": call.direction,
        "caller": call.caller_number,
        "called": call.called_number,
        "employee": call.employee,
        "started": call.report.started_at,
        "parties": [_leg(leg) for leg in call.parties],
        "others": [_leg(leg) for leg in call.extra_legs],
        "options": sorted(name for name in call.options if not name.startswith("_")),
    }


def service_metrics(service: Service) -> dict[str, float]:
    """Counters and gauges of the service by Prometheus name."""
    values: dict[str, float] = {"b2bua_uptime_seconds": time.time() - service.started_at}
    if service.calls is not None:
        calls = service.calls
        values["b2bua_calls_active"] = len(calls.calls)
        values["b2bua_calls_total"] = calls.stats["calls"]
        values["b2bua_calls_answered_total"] = calls.stats["answered"]
        values["b2bua_employees_busy"] = len(calls.busy)
    if service.core is not None:
        stats = service.core.stats
        values["b2bua_sip_messages_received_total"] = stats["received"]
        values["b2bua_sip_malformed_total"] = stats["malformed"]
        values["b2bua_sip_retransmissions_absorbed_total"] = stats["retransmissions_absorbed"]
    drops = service.transport.udp_drops if service.transport is not None else None
    if drops is not None:
        values["b2bua_sip_udp_drops_total"] = drops
    if service.engine is not None:
        values["b2bua_media_streams"] = service.engine.stream_count
    if isinstance(service.engine, MediaWorkers):
        values["b2bua_media_workers"] = len(service.engine.processes)
        values["b2bua_media_worker_restarts_total"] = service.engine.restarts
    if service._store is not None:
        store = service.store
        values["b2bua_registered_devices"] = len(store.list_all_bindings(time.time()))
        for status in ("queued", "sending", "sent", "delivered", "failed"):
            values[f'b2bua_sms_messages{{status="{status}"}}'] = len(
                store.list_sms(status=status, limit=100_000))
    return values
