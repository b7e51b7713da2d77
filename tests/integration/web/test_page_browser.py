"""The admin page in headless Chromium (skipped where Chromium is not installed): it signs in
with the token, shows the key editor filled from the settings, saves a key map, and shows the
service's refusal next to the field it names."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from b2bua.web import start_web

from .conftest import TOKEN, OfficeControl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
    pytest.mark.slow,
]
WAIT = 15.0


class Navigating(AssertionError):
    """The page was replaced while a command ran in it (a navigation committed)."""


class Browser:
    """One page of headless Chromium driven over the DevTools protocol (CDP)."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.session: str | None = None
        self.exceptions: list[str] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                details = data["params"]["exceptionDetails"]
                self.exceptions.append(json.dumps(details.get("exception", details))[:500])

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[command_id] = future
        command: dict[str, Any] = {"id": command_id, "method": method, "params": params}
        if self.session is not None:
            command["sessionId"] = self.session
        await self.socket.send_str(json.dumps(command))
        reply = await asyncio.wait_for(future, WAIT)
        if "error" in reply:
            error = reply["error"]
            if "navigated or closed" in str(error.get("message", "")):
                raise Navigating(f"{method}: {error}")
            raise AssertionError(f"{method}: {error}")
        return dict(reply.get("result", {}))

    async def open_page(self, url: str) -> None:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)
        self.session = attached["sessionId"]
        await self.send("Runtime.enable")
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)

    async def run(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True,
                                 returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str) -> Any:
        """Poll until the expression is truthy (the page loads and works asynchronously);
        an expression that throws (the page is not there yet), or a navigation committing
        while it runs, counts as false."""
        deadline = asyncio.get_running_loop().time() + WAIT
        guarded = f"(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()"
        while True:
            try:
                value = await self.run(guarded)
            except Navigating:
                value = False
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still false after {WAIT} s: {expression}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'chromium'}", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        url = None
        while url is None:
            line = await asyncio.wait_for(process.stderr.readline(), WAIT)
            if not line:
                raise AssertionError("chromium exited before opening DevTools")
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            url = found[1].decode() if found else None
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(url, max_msg_size=0) as socket:
            driver = Browser(socket)
            yield driver
            driver.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver.reader
    finally:
        process.terminate()
        await process.wait()


ROW = "document.querySelector('#keys-body tr[data-key=\"{key}\"]')"


async def sign_in(browser: Browser, control: OfficeControl) -> Any:
    handle = await start_web(control, "127.0.0.1", 0)
    await browser.open_page(f"http://127.0.0.1:{handle.port}/")
    await browser.until("!document.getElementById('login').hidden")
    await browser.run(
        f"document.getElementById('token-input').value = {json.dumps(TOKEN)};"
        "document.getElementById('login-form').requestSubmit(); true"
    )
    await browser.until("document.querySelectorAll('#keys-body tr').length === 12")
    return handle


async def test_the_page_signs_in_and_saves_a_key_map(
    browser: Browser, control: OfficeControl, report: dict[str, Any]
) -> None:
    control.live["c-new"] = {"id": "c-new", "started": 0, "state": "talking",
                             "client": "+74951112233", "employee": "102", "options": []}
    handle = await sign_in(browser, control)
    try:
        row = ROW.format(key="1")
        assert await browser.run(f"{row}.querySelector('select.option').value") == "tag"
        # the app's buttons: key 1 on the live call tags it
        await browser.until("document.querySelectorAll('#live-body button').length === 10")
        await browser.run("document.querySelector('#live-body button').click(); true")
        await browser.until("document.getElementById('live-status').textContent"
                            ".includes('\"option\":\"tag\"')")
        assert control.live["c-new"]["options"] == ["tag"]
        assert await browser.run(f"{row}.querySelector('[name=tag]').value") == "important"
        await browser.until("document.querySelectorAll('#calls-body tr').length === 3")
        # a recording plays from the bytes fetched with the token
        await browser.run("document.querySelector('#calls-body td button:not([title])').click();"
                          " true")
        duration = await browser.until(
            "document.querySelector('#calls-body audio').src.startsWith('blob:')"
            " && document.querySelector('#calls-body audio').duration"
        )
        assert duration == pytest.approx((len(report["wav"]) - 44) / 4 / 8000, abs=0.001)
        star = ROW.format(key="*")
        await browser.run(
            f"const s = {star}.querySelector('select.option'); s.value = 'tag';"
            "s.dispatchEvent(new Event('change'));"
            f"{star}.querySelector('[name=tag]').value = 'callback';"
            "document.getElementById('keys-save').click(); true"
        )
        await browser.until(
            "document.getElementById('keys-status').textContent.startsWith('Saved')"
        )
        assert control.config.keys["*"].option == "tag"
        assert control.store.get_setting("keys")["*"]["tag"] == "callback"
        # the token is kept: a reload opens the page without asking again
        await browser.run("window.beforeReload = true; location.reload(); true")
        await browser.until(f"!window.beforeReload && {star}.querySelector('[name=tag]').value"
                            " === 'callback'")
        assert await browser.run("document.getElementById('login').hidden") is True
        assert browser.exceptions == []
    finally:
        await handle.close()


async def test_the_page_shows_refusals_next_to_the_field(
    browser: Browser, control: OfficeControl
) -> None:
    handle = await sign_in(browser, control)
    try:
        before = control.config
        row = ROW.format(key="1")
        await browser.run(f"{row}.querySelector('[name=tag]').value = ''; "
                          "document.getElementById('keys-save').click(); true")
        problem = await browser.until(f"{row}.querySelector('.problem').textContent")
        assert problem == "required"
        assert control.config is before
        await browser.run(
            "document.getElementById('t-answer').value = '-5';"
            "document.getElementById('transfer-save').click(); true"
        )
        text = await browser.until(
            "document.querySelector('#transfer-form .problem[data-for=answer_timeout]')"
            ".textContent"
        )
        assert text == "should be greater than 0, got -5"
        assert control.config.transfer.answer_timeout == 20.0
        assert browser.exceptions == []
    finally:
        await handle.close()
