"""The admin web application: the JSON API under ``/api``, the admin page at ``/`` and
``/metrics``, served by aiohttp on the service's own event loop.

``create_app(control)`` builds the application; ``start_web(control, host, port)`` serves it and
answers a ``WebHandle`` (the bound port, ``close()``). Every ``/api/*`` request must carry
``Authorization: Bearer <token>``; the token is compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from b2bua.web import api_calls, api_directory, api_settings
from b2bua.web.control import CLOCK, CONTROL, ServiceControl
from b2bua.web.jsonio import ApiError, error_answer
from b2bua.web.metrics import CONTENT_TYPE, LOOPBACK, Network, allowed_peer, exposition, networks
from b2bua.web.page import page_response

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS_NETWORKS: web.AppKey[tuple[Network, ...]] = web.AppKey("metrics_networks")


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authorized(request: web.Request) -> bool:
    """Whether the request carries the API token (compared in constant time)."""
    given = _bearer_token(request)
    expected = request.app[CONTROL].api_token
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Failures of API and metrics requests answered as ``{"error": ...}``."""
    try:
        return await handler(request)
    except ApiError as error:
        response = error_answer(error.status, error.message, **error.extra)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="b2bua"'
        return response
    except web.HTTPException as error:
        if error.status < 400 or not (_is_api(request) or request.path == "/metrics"):
            raise
        allow = error.headers.get("Allow")
        messages = {
            404: f"no such route: {request.path}",
            405: f"{request.method} is not allowed on {request.path} (allowed: {allow})",
        }
        response = error_answer(error.status, messages.get(error.status, error.reason))
        if allow is not None:
            response.headers["Allow"] = allow
        return response
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        if not _is_api(request):
            raise
        return error_answer(500, "internal error (see the service log)")


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_api(request) and not authorized(request):
        raise ApiError(401, "missing or wrong API token (Authorization: Bearer <token>)")
    return await handler(request)


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: for peers in the metrics networks, or with the API token."""
    allowed: tuple[Network, ...] = request.app[METRICS_NETWORKS]
    if not (allowed_peer(request.remote, allowed) or authorized(request)):
        raise ApiError(403, "metrics are served to the configured networks (or with the API token)")
    text = exposition(request.app[CONTROL].metrics())
    response = web.Response(text=text)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def admin_page(request: web.Request) -> web.Response:
    return page_response()


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/", admin_page),
    ("GET", "/metrics", metrics),
    *api_calls.ROUTES,
    *api_directory.ROUTES,
    *api_settings.ROUTES,
)


def create_app(
    control: ServiceControl,
    *,
    metrics_networks: Iterable[str] = LOOPBACK,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The admin application for ``control``. Peers in ``metrics_networks`` (default: loopback;
    ``"10.0.0.0/8"``, ``"192.0.2.7"``) read ``/metrics`` without the token, others need it;
    ``clock`` (POSIX seconds) stamps what the API writes to the store."""
    app = web.Application(middlewares=[errors, authentication], client_max_size=1024**2)
    app[CONTROL] = control
    app[CLOCK] = clock
    app[METRICS_NETWORKS] = networks(metrics_networks)
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


@dataclass
class WebHandle:
    """A running web server: where it listens, and how to stop it."""

    runner: web.AppRunner
    host: str
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


SHUTDOWN_TIMEOUT = 5.0


async def start_web(
    control: ServiceControl, host: str, port: int, **options: Any
) -> WebHandle:
    """Serve ``create_app(control, **options)`` on ``host:port`` (port 0: any free port)."""
    runner = web.AppRunner(create_app(control, **options), shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    log.info("admin page and API on http://%s:%d/", host, bound[1])
    return WebHandle(runner=runner, host=host, port=int(bound[1]))
