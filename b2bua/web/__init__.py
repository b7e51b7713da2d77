"""The admin HTTP API, the admin page and ``/metrics`` (aiohttp, on the service's event loop).

The service implements ``ServiceControl`` and serves ``create_app(control)``, or calls
``start_web(control, host, port)``. The routes are described in ``b2bua/web/API.md``.
"""

from b2bua.web.app import WebHandle, create_app, start_web
from b2bua.web.control import ServiceControl

__all__ = ["ServiceControl", "WebHandle", "create_app", "start_web"]
