"""A headless baresip phone driven over its ctrl_tcp interface (netstring-framed JSON)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ports import free_port

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULE_PATH = "/usr/lib/baresip/modules"


@dataclass
class Account:
    """One SIP account of the phone: `user@domain` registering to `registrar` (host:port)."""

    user: str
    password: str
    registrar: str
    regint: int = 60
    auto_answer: bool = False
    extra: str = ""

    def line(self) -> str:
        params = [f"auth_pass={self.password}", f"regint={self.regint}"]
        if self.auto_answer:
            params.append("answermode=auto")
        if self.extra:
            params.append(self.extra)
        return f"<sip:{self.user}@{self.registrar}>;" + ";".join(params)


@dataclass
class Baresip:
    """A baresip process with its own config directory, SIP port and control port."""

    workdir: Path
    accounts: list[Account]
    audio_source: Path | None = None
    """The microphone: a WAV file. baresip hangs up when it ends, so make it long enough."""
    sip_port: int = field(default_factory=lambda: free_port(step=2))
    ctrl_port: int = field(default_factory=free_port)
    rtp_base: int = field(default_factory=lambda: free_port(step=10))
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._responses: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._event_added = asyncio.Event()
        self._token = 0

    @property
    def recordings_dir(self) -> Path:
        return self.workdir / "heard"

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir.mkdir(exist_ok=True)
        source = self.audio_source or self.workdir / "silence.wav"
        if self.audio_source is None:
            _write_silence(source)
        lines = [
            "poll_method epoll",
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"audio_source aufile,{source}",
            f"audio_player aufile,{self.workdir / 'player.wav'}",
            "audio_alert aufile,/dev/null",
            "ausrc_srate 8000",
            "auplay_srate 8000",
            "ausrc_channels 1",
            "auplay_channels 1",
            f"rtp_ports {self.rtp_base}-{self.rtp_base + 9}",
            "rtcp_mux no",
            f"module_path {MODULE_PATH}",
            "module g711.so",
            "module aufile.so",
            "module sndfile.so",
            f"snd_path {self.recordings_dir}",
            "module_app account.so",
            "module_app menu.so",
            "module ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
        ]
        (self.workdir / "config").write_text("\n".join(lines) + "\n")
        # accounts are added over the control connection once it is up (see start), so that
        # no registration event happens before anyone listens
        (self.workdir / "accounts").write_text("")

    async def start(self) -> None:
        self._write_config()
        log = open(self.workdir / "baresip.log", "wb")  # noqa: SIM115 - owned by the process
        self._process = await asyncio.create_subprocess_exec(
            BARESIP, "-f", str(self.workdir), stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        log.close()
        for _ in range(100):
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                if self._process.returncode is not None:
                    raise RuntimeError(f"baresip exited: {self.log_text()}") from None
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"baresip control port never opened: {self.log_text()}")
        self._pump = asyncio.create_task(self._read_loop())
        for account in self.accounts:
            await self.command("uanew", account.line())

    async def stop(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self.command("quit")
            self._writer.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 3)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()

    def log_text(self) -> str:
        path = self.workdir / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def _read_loop(self) -> None:
        assert self._reader is not None
        while True:
            length = await self._reader.readuntil(b":")
            payload = await self._reader.readexactly(int(length[:-1]))
            await self._reader.readexactly(1)  # trailing comma
            message = json.loads(payload)
            if message.get("response"):
                await self._responses.put(message)
            elif message.get("event"):
                self.events.append(message)
                self._event_added.set()

    async def command(self, name: str, params: str = "", timeout: float = 5.0) -> str:
        """Run one ctrl_tcp command and return its text answer; raise if baresip refused it."""
        assert self._writer is not None
        self._token += 1
        token = str(self._token)
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()
        while True:
            answer = await asyncio.wait_for(self._responses.get(), timeout)
            if answer.get("token") == token:
                break
        if not answer.get("ok", False):
            raise RuntimeError(f"baresip refused {name} {params}: {answer.get('data')}")
        return str(answer.get("data", ""))

    async def wait_event(
        self, kind: str, timeout: float = 10.0, start: int = 0, **match: str
    ) -> dict[str, Any]:
        """The first event of `kind` (e.g. CALL_ESTABLISHED) at index >= start matching `match`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                if event.get("type") == kind and all(
                    str(event.get(k)) == v for k, v in match.items()
                ):
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [e.get("type") for e in self.events]
                raise TimeoutError(f"no {kind} event within {timeout}s; saw {seen}")
            self._event_added.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event_added.wait(), remaining)

    async def wait_registered(self, count: int | None = None, timeout: float = 10.0) -> None:
        """Wait for `count` REGISTER_OK events (default: one per account with regint > 0)."""
        wanted = count if count is not None else sum(1 for a in self.accounts if a.regint > 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            done = [e for e in self.events if e.get("type") == "REGISTER_OK"]
            if len(done) >= wanted:
                return
            if loop.time() > deadline:
                kinds = [(e.get("type"), e.get("param")) for e in self.events]
                raise TimeoutError(f"registered {len(done)}/{wanted}; events {kinds}")
            await asyncio.sleep(0.05)

    def heard_files(self) -> list[Path]:
        """WAV files the sndfile module wrote with what this phone received (decoded audio)."""
        return sorted(p for p in self.recordings_dir.glob("*.wav") if "dec" in p.name)


def _write_silence(path: Path, seconds: float = 600.0) -> None:
    """baresip hangs up when its audio source file ends: make it last."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))


def environment_ok() -> str | None:
    """None when baresip can run here, else the reason it cannot."""
    if not os.path.exists(BARESIP):
        return "baresip is not installed (apt-get install baresip-core)"
    return None
