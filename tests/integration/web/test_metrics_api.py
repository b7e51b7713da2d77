"""``/metrics`` over HTTP: the text format, and who may read it."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from b2bua.web import create_app

from .conftest import TOKEN, OfficeControl

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})? (?P<value>\S+)$'
)


def parse_exposition(text: str) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    """HELP texts, TYPEs and samples of a text exposition; fails on any other kind of line
    and on a sample whose family has no HELP and TYPE before it."""
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    samples: dict[str, float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            helps[name] = help_text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge"), line
            types[name] = kind
        else:
            matched = SAMPLE.match(line)
            assert matched is not None, line
            assert matched["name"] in helps and matched["name"] in types, line
            samples[matched["name"] + (matched["labels"] or "")] = float(matched["value"])
    return helps, types, samples


SAMPLES = {
    "b2bua_sip_messages_received_total": 1234.0,
    'b2bua_keys_detected_total{source="rfc4733"}': 7.0,
    'b2bua_keys_detected_total{source="inband"}': 2.0,
    "b2bua_rtp_jitter_seconds": 0.0125,
    "not a name": 1.0,
}


async def test_metrics_parse_with_help_and_type(
    client: TestClient[Any, Any], control: OfficeControl
) -> None:
    control.samples.update(SAMPLES)
    control.live["c-1"] = {"id": "c-1"}
    response = await client.get("/metrics")  # from loopback: no token needed
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    helps, types, samples = parse_exposition(await response.text())
    assert samples == {
        "b2bua_calls_active": 1.0,
        "b2bua_sip_messages_received_total": 1234.0,
        'b2bua_keys_detected_total{source="rfc4733"}': 7.0,
        'b2bua_keys_detected_total{source="inband"}': 2.0,
        "b2bua_rtp_jitter_seconds": 0.0125,
    }
    assert types == {
        "b2bua_calls_active": "gauge",
        "b2bua_sip_messages_received_total": "counter",
        "b2bua_keys_detected_total": "counter",
        "b2bua_rtp_jitter_seconds": "gauge",
    }
    assert helps["b2bua_calls_active"] == "Calls in progress."
    assert helps["b2bua_rtp_jitter_seconds"]  # a name without a known text still gets one


async def test_metrics_from_outside_the_allowed_networks_need_the_token(
    control: OfficeControl,
) -> None:
    app = create_app(control, metrics_networks=["192.0.2.0/24"])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        refused = await client.get("/metrics")
        assert refused.status == 403
        assert "configured networks" in (await refused.json())["error"]
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status == 200
        assert "b2bua_calls_active 0" in await allowed.text()
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 403
