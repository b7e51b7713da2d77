"""The SMS outbox: queued in the store, sent by one worker, retried with backoff.

A message is sent through the configured gateway: SIP MESSAGE (RFC 3428) to the gateway URI with
the client's number as the Request-URI user (or to the number at the trunk), or an HTTP POST of
JSON to a webhook. A 200 to the MESSAGE means delivered, a 202 (or any 2xx from the webhook)
means sent; anything else is retried after `retry_backoff * 2**(attempt - 1)` seconds until
`max_attempts`, then the message is failed. Messages left `sending` by a crash go back to the
queue at start; nothing is lost across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from b2bua.app.config import Config, SmsConfig
from b2bua.store import SmsMessage, Store
from b2bua.store.records import SmsStatus

log = logging.getLogger(__name__)

SendMessage = Callable[[str, str, str], Awaitable[tuple[int, str]]]
"""(target URI, sender, text) -> (SIP status, reason) of a SIP MESSAGE."""

IDLE_WAIT = 60.0
HTTP_TIMEOUT = 10.0


class SmsOutbox:
    """Queues messages and runs the worker that sends them."""

    def __init__(self, store: Store, config: Callable[[], Config], send_sip: SendMessage,
                 wall: Callable[[], float]) -> None:
        self.store = store
        self.config = config
        self.send_sip = send_sip
        self.wall = wall
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def queue(self, to_number: str, text: str, call_id: str | None) -> SmsMessage:
        message = self.store.queue_sms(to_number, text, self.wall(), call_id)
        self._wake.set()
        return message

    def start(self) -> None:
        self.store.requeue_sending_sms(self.wall())
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._send_due()
            except Exception:
                log.exception("SMS outbox pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._until_next_due())

    def _until_next_due(self) -> float:
        queued = self.store.list_sms(status="queued", limit=1000)
        if not queued:
            return IDLE_WAIT
        soonest = min(message.next_attempt_at for message in queued)
        return max(0.05, min(IDLE_WAIT, soonest - self.wall()))

    async def _send_due(self) -> None:
        while True:
            due = self.store.due_sms(self.wall())
            if not due:
                return
            await asyncio.gather(*(self._send(message) for message in due))

    async def _send(self, message: SmsMessage) -> None:
        settings = self.config().sms
        attempts = message.attempts + 1
        now = self.wall()
        if settings is None:
            self.store.update_sms(message.id, "failed", now, attempts=attempts,
                                  last_error="no SMS gateway configured")
            return
        self.store.update_sms(message.id, "sending", now, attempts=attempts)
        try:
            status, error = await self._deliver(settings, message)
        except Exception as exc:  # a gateway that breaks must not stop the outbox
            status, error = None, f"{type(exc).__name__}: {exc}"
        now = self.wall()
        if status is not None:
            self.store.update_sms(message.id, status, now, last_error="")
            log.info("SMS %d to %s: %s", message.id, message.to_number, status)
            return
        if attempts >= settings.max_attempts:
            self.store.update_sms(message.id, "failed", now, last_error=error)
            log.warning("SMS %d to %s failed for good: %s", message.id, message.to_number, error)
            return
        delay = settings.retry_backoff * 2 ** (attempts - 1)
        self.store.update_sms(message.id, "queued", now, next_attempt_at=now + delay,
                              last_error=error)

    async def _deliver(self, settings: SmsConfig,
                       message: SmsMessage) -> tuple[SmsStatus | None, str]:
        if settings.gateway == "http":
            return await self._post(settings, message)
        target = self._sip_target(settings, message.to_number)
        status, reason = await self.send_sip(target, settings.sender, message.text)
        if status == 200:
            return "delivered", ""
        if 200 <= status < 300:
            return "sent", ""
        return None, f"SIP {status} {reason}"

    def _sip_target(self, settings: SmsConfig, number: str) -> str:
        if settings.uri is not None:
            scheme, _, rest = settings.uri.partition(":")
            host = rest.split("@", 1)[-1]
            return f"{scheme}:{number}@{host}"
        trunk = self.config().trunk
        if trunk is None:
            raise RuntimeError("sms.uri is not set and there is no trunk to send through")
        return f"sip:{number}@{trunk.host}:{trunk.port}"

    async def _post(self, settings: SmsConfig,
                    message: SmsMessage) -> tuple[SmsStatus | None, str]:
        if settings.url is None:
            return None, "sms.url is not set"
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))
        body: dict[str, Any] = {"id": message.id, "to": message.to_number, "text": message.text,
                                "sender": settings.sender, "call_id": message.call_id}
        async with self._http.post(settings.url, json=body) as response:
            if 200 <= response.status < 300:
                return "sent", ""
            return None, f"HTTP {response.status} {response.reason}"
