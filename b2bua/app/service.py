"""The running service: store, SIP core and its sockets, registrar, media engine, calls, options,
SMS outbox, web admin.

`Service` starts and stops the parts in order and is what the web layer controls (the
`ServiceControl` of `b2bua.web`): the live configuration, calls in progress, the app's buttons,
metrics. `run` is what ``b2bua serve`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import time
from pathlib import Path
from typing import Any

from b2bua.app.config import Config, ConfigError, apply_overrides
from b2bua.app.credentials import ensure_digest_secret, prepare_data_dir
from b2bua.app.live import live_call, service_metrics
from b2bua.app.signalling import Signalling
from b2bua.calls.manager import CallManager
from b2bua.media.control import MediaControl
from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange
from b2bua.media.workers import MediaWorkers
from b2bua.net.sip_transport import SipTransport
from b2bua.options.base import Office
from b2bua.options.dispatch import Options
from b2bua.options.outbox import SmsOutbox
from b2bua.options.recording import Recordings
from b2bua.registrar.registrar import ExpiryPolicy, Registrar
from b2bua.sip.auth import DigestServer
from b2bua.sip.core import SipCore
from b2bua.store import Store, open_store
from b2bua.web.app import WebHandle, start_web

log = logging.getLogger(__name__)

BINDING_PURGE_INTERVAL = 60.0
GC_THRESHOLDS = (50_000, 20, 100)
"""Fewer young-generation collections under SIP load: each message allocates a few hundred
objects, most freed by reference counting at once."""


class Service:
    """One B2BUA process. `start()` binds every socket; `stop()` releases them."""

    def __init__(self, config: Config, data_dir: Path, *, web: bool = True) -> None:
        self.file_config = config
        self.config = config
        self.data_dir = Path(data_dir)
        self.api_token = ""
        self.with_web = web
        self._store: Store | None = None
        self.core: SipCore | None = None
        self.transport: SipTransport | None = None
        self.registrar: Registrar | None = None
        self.engine: MediaControl | None = None
        self.calls: CallManager | None = None
        self.options: Options | None = None
        self.outbox: SmsOutbox | None = None
        self.web: WebHandle | None = None
        self.sip_addresses: dict[str, tuple[str, int]] = {}
        self.started_at = time.time()
        self._purge_task: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the service is not started")
        return self._store

    # -- start and stop ----------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        prepared = prepare_data_dir(self.file_config, self.data_dir, time.time())
        self.api_token = prepared.api_token
        self._store = store = open_store(self.data_dir)
        self.config = config = self._with_saved_settings(self.file_config)
        sip = config.sip
        self.core = core = SipCore(
            local={t: (sip.address, sip.port) for t in sip.transports},
            token=secrets.token_urlsafe,
            max_message_size=sip.max_message_size,
            user_agent=sip.user_agent,
        )
        digest = DigestServer(sip.realm, ensure_digest_secret(self.data_dir), store.get_password,
                              algorithms=sip.digest_algorithms)
        self.registrar = Registrar(
            store, digest, lambda: self.config.extensions, core.new_tag,
            policy=ExpiryPolicy(config.registrar.min_expires, config.registrar.max_expires,
                                config.registrar.default_expires),
            on_change=self._bindings_changed,
        )
        ports = PortRange(config.media.address, config.media.rtp_ports.first,
                          config.media.rtp_ports.last)
        engine: MediaControl
        if config.media.workers:
            self.engine = engine = MediaWorkers(ports, config.media.workers,
                                                rtp_timeout=config.media.rtp_timeout)
            await engine.start()
        else:
            self.engine = engine = MediaEngine(ports, rtp_timeout=config.media.rtp_timeout)
            engine.start(loop)
        self.calls = calls = CallManager(core=core, engine=engine, store=store,
                                         config=lambda: self.config, digest=digest, loop=loop)
        self._start_options(calls, store)
        signalling = Signalling(core, self.registrar, calls, loop.time)
        self.transport = transport = SipTransport(core, signalling.handle)
        calls.wake = transport.schedule_pump
        if sip.trace:
            logging.getLogger("b2bua.sip.trace").setLevel(logging.DEBUG)
        for name in sip.transports:
            listen = transport.listen_udp if name == "udp" else transport.listen_tcp
            self.sip_addresses[name] = await listen(sip.listen, sip.port)
        if self.with_web:
            self.web = await start_web(self, config.web.listen, config.web.port)
        self._purge_task = loop.create_task(self._purge_bindings())
        gc.freeze()  # what startup allocated never needs scanning again
        gc.set_threshold(*GC_THRESHOLDS)
        log.info("SIP on %s", ", ".join(f"{t} {h}:{p}" for t, (h, p) in self.sip_addresses.items()))

    def _start_options(self, calls: CallManager, store: Store) -> None:
        recordings = Recordings(
            calls, store, lambda: self.config.recording.directory_in(self.data_dir),
            lambda: self.config.recording.format == "mono-wav")
        self.outbox = SmsOutbox(store, lambda: self.config, calls.send_message, time.time)
        self.outbox.start()
        office = Office(calls, store, lambda: self.config, self.data_dir, recordings,
                        self.outbox)
        self.options = calls.options = Options(office)

    def _bindings_changed(self, extension: str) -> None:
        if self.calls is not None:
            self.calls.bindings_changed(extension)

    async def stop(self) -> None:
        if self._purge_task is not None:
            self._purge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge_task
        if self.web is not None:
            await self.web.close()
        if self.calls is not None:
            await self.calls.close()
            if self.transport is not None:
                self.transport.pump()
        if self.outbox is not None:
            await self.outbox.close()
        if self.transport is not None:
            await self.transport.close()
        if self.engine is not None:
            self.engine.close()
        if self._store is not None:
            self._store.close()

    async def _purge_bindings(self) -> None:
        while True:
            await asyncio.sleep(BINDING_PURGE_INTERVAL)
            self.store.purge_expired_bindings(time.time())

    # -- live settings (what the web API changes) ------------------------------------------

    def _with_saved_settings(self, config: Config) -> Config:
        """The file's configuration with the sections changed through the API on top."""
        saved = self.store.list_settings()
        if not saved:
            return config
        try:
            return apply_overrides(config, saved)
        except ConfigError as error:
            log.error("settings saved through the API no longer fit this configuration; "
                      "ignoring them:\n%s", error.message)
            return config

    def apply_settings(self, section: str, value: Any) -> Config:
        updated = apply_overrides(self.config, {section: value})
        self.store.set_setting(section, updated.model_dump(mode="json")[section], time.time())
        self.config = updated
        log.info("setting %r changed through the API", section)
        return updated

    def reset_settings(self, section: str) -> Config:
        self.store.delete_setting(section)
        self.config = self._with_saved_settings(self.file_config)
        log.info("setting %r back to the configuration file's", section)
        return self.config

    # -- what the admin API reads and does -----------------------------------------------

    def live_calls(self) -> list[dict[str, Any]]:
        calls = self.calls
        return [] if calls is None else [live_call(call) for call in calls.calls.values()]

    def press_key(self, call_id: str, key: str) -> dict[str, Any]:
        if self.calls is None or self.options is None:
            raise KeyError(call_id)
        call = self.calls.calls[call_id]
        try:
            return self.options.press(call, key)
        finally:
            self.calls.wake()

    def metrics(self) -> dict[str, float]:
        return service_metrics(self)


async def run(config: Config, data_dir: Path) -> None:
    """Run the service until SIGINT or SIGTERM."""
    service = Service(config, data_dir)
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        log.info("stopping")
        await service.stop()
