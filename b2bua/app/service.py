"""The running service: store, SIP core and its sockets, registrar, media engine, calls, web.

`Service` starts and stops the parts in order; `run` is what ``b2bua serve`` calls.
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

from b2bua.app.config import Config
from b2bua.app.credentials import ensure_digest_secret, prepare_data_dir
from b2bua.app.signalling import Signalling
from b2bua.calls.manager import CallManager
from b2bua.media.engine import MediaEngine
from b2bua.media.ports import PortRange
from b2bua.net.sip_transport import SipTransport
from b2bua.registrar.registrar import ExpiryPolicy, Registrar
from b2bua.sip.auth import DigestServer
from b2bua.sip.core import SipCore
from b2bua.store import Store, open_store

log = logging.getLogger(__name__)

BINDING_PURGE_INTERVAL = 60.0


class Service:
    """One B2BUA process. `start()` binds every socket; `stop()` releases them."""

    def __init__(self, config: Config, data_dir: Path) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.store: Store | None = None
        self.core: SipCore | None = None
        self.transport: SipTransport | None = None
        self.registrar: Registrar | None = None
        self.engine: MediaEngine | None = None
        self.calls: CallManager | None = None
        self.sip_addresses: dict[str, tuple[str, int]] = {}
        self._purge_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        prepare_data_dir(config, self.data_dir, time.time())
        self.store = store = open_store(self.data_dir)
        sip = config.sip
        core = SipCore(
            local={t: (sip.address, sip.port) for t in sip.transports},
            token=secrets.token_urlsafe,
            max_message_size=sip.max_message_size,
            user_agent=sip.user_agent,
        )
        self.core = core
        digest = DigestServer(sip.realm, ensure_digest_secret(self.data_dir), store.get_password,
                              algorithms=sip.digest_algorithms)
        extensions = frozenset(config.extensions)
        self.registrar = Registrar(
            store, digest, lambda: extensions, core.new_tag,
            policy=ExpiryPolicy(config.registrar.min_expires, config.registrar.max_expires,
                                config.registrar.default_expires),
        )
        media = config.media
        self.engine = engine = MediaEngine(
            PortRange(media.address, media.rtp_ports.first, media.rtp_ports.last),
            rtp_timeout=media.rtp_timeout,
        )
        engine.start(loop)
        self.calls = CallManager(core=core, engine=engine, store=store, config=lambda: self.config,
                                 digest=digest, loop=loop)
        signalling = Signalling(core, self.registrar, self.calls, loop.time)
        self.transport = transport = SipTransport(core, signalling.handle)
        self.calls.wake = transport.schedule_pump
        if sip.trace:
            logging.getLogger("b2bua.sip.trace").setLevel(logging.DEBUG)
        for name in sip.transports:
            listen = transport.listen_udp if name == "udp" else transport.listen_tcp
            self.sip_addresses[name] = await listen(sip.listen, sip.port)
        self._purge_task = loop.create_task(self._purge_bindings())
        gc.freeze()  # what startup allocated never needs scanning again
        log.info("SIP on %s", ", ".join(f"{t} {h}:{p}" for t, (h, p) in self.sip_addresses.items()))

    async def stop(self) -> None:
        if self._purge_task is not None:
            self._purge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge_task
        if self.calls is not None:
            await self.calls.close()
            if self.transport is not None:
                self.transport.pump()
        if self.transport is not None:
            await self.transport.close()
        if self.engine is not None:
            self.engine.close()
        if self.store is not None:
            self.store.close()

    async def _purge_bindings(self) -> None:
        while True:
            await asyncio.sleep(BINDING_PURGE_INTERVAL)
            if self.store is not None:
                self.store.purge_expired_bindings(time.time())


async def run(config: Config, data_dir: Path) -> None:
    """Run the service until SIGINT or SIGTERM."""
    gc.set_threshold(50_000, 20, 100)  # fewer young-generation passes under SIP load
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
