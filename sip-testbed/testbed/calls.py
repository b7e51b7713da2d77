"""Calls into an office under test: a client dials a number, an employee's phone answers."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from .baresip import Account, Baresip
from .office import PASSWORDS
from .sipp import PCAPS, Sipp

CLIENT_NUMBER = "79161234567"
TESTBED = Path(__file__).resolve().parent.parent


def sip_address(service: Any) -> str:
    host, port = service.sip_addresses["udp"]
    return f"{host}:{port}"


def sipp_client(workdir: Path, service: Any, dialed: str = "7000", talk_ms: int = 8000,
                scenario: str = "uac_call.xml", caller: str = CLIENT_NUMBER) -> Sipp:
    """A SIPp client that calls `dialed`, plays G.711 audio, and hangs up after `talk_ms`."""
    return Sipp(workdir, scenario, sip_address(service), args=[
        "-s", dialed, "-key", "caller", caller, "-key", "pcap", str(PCAPS / "g711a.pcap"),
        "-d", str(talk_ms), "-m", "1", "-timeout", str(talk_ms // 1000 + 30)])


async def client_answered_by(phone: Baresip, workdir: Path, service: Any, *,
                             talk_ms: int) -> Sipp:
    """A SIPp client calls 7000 and `phone` (the employee's baresip, answering by itself)
    answers; returns the running client once the call is up and its audio flows."""
    client = sipp_client(workdir, service, talk_ms=talk_ms)
    await client.start()
    await phone.wait_event("CALL_ESTABLISHED", timeout=10)
    await asyncio.sleep(0.5)
    return client


async def baresip_phone(workdir: Path, service: Any, extension: str, *,
                        audio: Path | None = None, answer: bool = True) -> Baresip:
    """A registered baresip phone of an employee (answering by itself when `answer`)."""
    phone = Baresip(workdir, [Account(extension, PASSWORDS[extension], sip_address(service),
                                      auto_answer=answer)], audio_source=audio)
    await phone.start()
    await phone.wait_registered()
    return phone


async def baresip_client(workdir: Path, service: Any, *, audio: Path | None = None,
                         user: str = CLIENT_NUMBER) -> Baresip:
    """A baresip softphone of a client (not registered: it just dials through the office)."""
    phone = Baresip(workdir, [Account(user, "unused-password", sip_address(service),
                                      regint=0)], audio_source=audio)
    await phone.start()
    return phone


async def info_phone(service: Any, extension: str, digits: str,
                     after: float = 1.0) -> asyncio.subprocess.Process:
    """A phone (baresip-python, own process) that answers and sends `digits` as SIP INFO."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "testbed.info_phone", "--registrar", sip_address(service),
        "--user", extension, "--password", PASSWORDS[extension], "--digits", digits,
        "--after", str(after), cwd=TESTBED, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 15)
    if json.loads(line).get("step") != "registered":
        raise RuntimeError(f"INFO phone did not register: {line!r}")
    return process


def api(service: Any, method: str, path: str, body: Any = None) -> Any:
    """Call the service's admin API (blocking; for tests and the demo)."""
    assert service.web is not None
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{service.web.port}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {service.api_token}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw and response.headers.get_content_type().endswith("json") \
        else raw


def reported_calls(service: Any, limit: int) -> list[Any]:
    """The newest calls of the report, with what the service has queued for it written first
    (it commits every 50 ms)."""
    service.calls.reports.flush()
    return list(service.store.list_calls(limit=limit))


def report(service: Any, call_id: str | None = None) -> Any:
    """The newest call of the report (or the one with `call_id`)."""
    if call_id is not None:
        service.calls.reports.flush()
        return service.store.get_call(call_id)
    calls = reported_calls(service, 1)
    return calls[0] if calls else None


def events(detail: Any, kind: str) -> list[dict[str, Any]]:
    return [e.detail for e in detail.events if e.kind == kind]


async def until(predicate: Any, timeout: float = 10.0, step: float = 0.05) -> Any:
    """Wait until `predicate()` is truthy; answer its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


def assert_nothing_left(service: Any) -> None:
    """After every call ended, the service holds no call, leg, dialog or media stream."""
    calls = service.calls
    left = {
        "calls": list(calls.calls), "dialogs": list(calls._dialogs),
        "streams": list(calls._streams), "media streams": service.engine.stream_count,
        "busy": dict(calls.busy),
    }
    assert not any(left.values()), f"left behind: {left}"
