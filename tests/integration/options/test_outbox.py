"""The SMS outbox against a real webhook (aiohttp server on loopback): retries with backoff,
final failure, and messages kept across a restart of the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from testbed.calls import until

from b2bua.app.service import Service
from b2bua.store import CallRecord


class Webhook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/sms", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.port = runner.addresses[0][1]
    yield hook
    await runner.cleanup()


def sms_settings(url: str, **extra: Any) -> dict[str, Any]:
    return {"gateway": "http", "url": url, "sender": "Demo", "card_text": "Demo card",
            "retry_backoff": 0.2, "max_attempts": 3, **extra}


async def test_webhook_failure_is_retried_then_sent(start_office: Any, webhook: Webhook) -> None:
    webhook.statuses = [503]
    service = await start_office(sms=sms_settings(f"http://127.0.0.1:{webhook.port}/sms"))
    message = service.outbox.queue("+79161234567", "Demo card", None)
    sent = await until(lambda: (m := service.store.get_sms(message.id)).status == "sent" and m)
    assert sent.attempts == 2 and sent.last_error == ""
    assert len(webhook.bodies) == 2
    assert webhook.bodies[0] == {"id": message.id, "to": "+79161234567", "text": "Demo card",
                                 "sender": "Demo", "call_id": None}


async def test_message_fails_for_good_after_max_attempts(
    start_office: Any, webhook: Webhook
) -> None:
    webhook.statuses = [500, 500, 500]
    service = await start_office(sms=sms_settings(f"http://127.0.0.1:{webhook.port}/sms"))
    message = service.outbox.queue("+79161234567", "Demo card", None)
    failed = await until(lambda: (m := service.store.get_sms(message.id)).status == "failed" and m)
    assert failed.attempts == 3 and failed.last_error.startswith("HTTP 500")
    assert len(webhook.bodies) == 3


async def test_queued_message_survives_a_restart(
    office: Any, tmp_path: Path, webhook: Webhook
) -> None:
    data = tmp_path / "data"
    down = Service(office(sms=sms_settings("http://127.0.0.1:9/sms", retry_backoff=60)),
                   data, web=False)
    await down.start()
    down.store.create_call(CallRecord("call-1", 1.0, "inbound", "+79161234567", "7000"))
    message = down.outbox.queue("+79161234567", "Demo card", "call-1")
    await until(lambda: down.store.get_sms(message.id).attempts == 1)
    await down.stop()  # the gateway was unreachable: the message waits in the store
    up = Service(office(sms=sms_settings(f"http://127.0.0.1:{webhook.port}/sms")), data,
                 web=False)
    await up.start()
    try:
        up.store.update_sms(message.id, "queued", 0.0, next_attempt_at=0.0)  # due now
        up.outbox._wake.set()
        sent = await until(lambda: (m := up.store.get_sms(message.id)).status == "sent" and m)
    finally:
        await up.stop()
    assert sent.call_id == "call-1" and sent.attempts == 2
    assert webhook.bodies[0]["call_id"] == "call-1"
