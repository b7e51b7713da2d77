"""A recording survives the service being killed mid-call: the WAV header is kept current as
the file grows, so what was recorded before the crash plays."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import wave
from pathlib import Path

import pytest
import yaml
from testbed.office import office_data
from testbed.phones import sipp_phone
from testbed.sipp import PCAPS, Sipp

pytestmark = pytest.mark.interop


async def wait_for_port(port: int, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def test_recording_is_playable_after_the_service_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    office = office_data(data)
    for employee in office["employees"]:
        employee["record_calls"] = employee["extension"] == "101"
    config = tmp_path / "office.yaml"
    config.write_text(yaml.safe_dump(office))
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "b2bua.app.cli", "serve", "--config", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    client = phone = None
    try:
        port = office["sip"]["port"]
        await wait_for_port(port)
        registrar = f"127.0.0.1:{port}"
        phone = await sipp_phone(tmp_path, registrar, "101", "uas_answer.xml",
                                 ["-rtp_echo", "-m", "1"])
        client = Sipp(tmp_path / "client", "uac_call.xml", registrar, args=[
            "-s", "7000", "-key", "caller", "79161234567", "-key", "pcap",
            str(PCAPS / "g711a.pcap"), "-d", "20000", "-m", "1"])
        await client.start()
        await asyncio.sleep(3.0)
        os.kill(service.pid, signal.SIGKILL)  # no chance to close anything
        await service.wait()
    finally:
        if service.returncode is None:
            service.kill()
            await service.wait()
        for sipp in (client, phone):  # the phone's call never ends: nobody is left to hang up
            if sipp is not None:
                await sipp.stop()
    [recording] = list((data / "recordings").glob("*.wav"))
    with wave.open(str(recording), "rb") as played:
        assert played.getnchannels() == 2 and played.getframerate() == 8000
        frames = played.getnframes()
        audio = played.readframes(frames)
    assert frames >= 8000 * 1.5  # at least 1.5 s of the ~2.8 s before the crash
    assert len(audio) == frames * 4
    assert recording.stat().st_size == 44 + frames * 4
