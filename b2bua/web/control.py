"""What the web layer needs from the running service: the ``ServiceControl`` protocol.

The admin API reads the report and the directories straight from the store, and goes through
this protocol for everything the service itself must do: apply a settings change live, list the
calls in progress, act on a live call as the employee's key would, and count.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from b2bua.app.config import Config
from b2bua.store import Store


class ServiceControl(Protocol):
    """The running service as seen by ``b2bua.web``."""

    @property
    def config(self) -> Config:
        """The current configuration (replaced as a whole by ``apply_settings``)."""

    @property
    def store(self) -> Store:
        """The store of the report, directories and settings."""

    @property
    def data_dir(self) -> Path:
        """The data directory; recordings are served only from
        ``config.recording.directory_in(data_dir)``."""

    @property
    def api_token(self) -> str:
        """The bearer token every ``/api/*`` request must present."""

    def apply_settings(self, section: str, value: Any) -> Config:
        """Validate a whole top-level section (``"keys"``, ``"transfer"`` ...), persist it and
        apply it live; answer the new configuration. Raises ``b2bua.app.config.ConfigError``
        whose ``message`` names each bad key and its problem."""

    def reset_settings(self, section: str) -> Config:
        """Forget the section changed through the API: the configuration file's section applies
        again, live; answer the new configuration."""

    def live_calls(self) -> list[dict[str, Any]]:
        """Snapshot of the calls in progress, JSON-able: id, started, state, client number,
        employee, legs, options used."""

    def press_key(self, call_id: str, key: str) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """Act as if the employee of the call pressed ``key`` (the app's buttons); answer what
        happened (JSON-able), directly or as an awaitable. Raises ``KeyError`` for a call not in
        progress, ``ValueError`` for a key no option uses."""

    def metrics(self) -> dict[str, float]:
        """Counters and gauges by Prometheus name (``b2bua_calls_active``,
        ``b2bua_sip_messages_received_total``); a name may carry labels
        (``b2bua_keys_total{source="rfc4733"}``)."""


# What the application holds for its handlers (``request.app[CONTROL]``).
CONTROL = web.AppKey("control", ServiceControl)
# The wall clock (POSIX seconds) stamped on what the API writes to the store.
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
