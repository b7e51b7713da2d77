"""Keys pressed on a real employee phone during a call through the B2BUA: RFC 4733 events
(baresip `sndcode`), in-band tones (baresip playing a file of tones), SIP INFO (baresip-python).
Each key must be seen exactly once, from the way it was sent."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from testbed.baresip import Account, Baresip
from testbed.calls import reported_calls
from testbed.office import PASSWORDS
from testbed.sipp import PCAPS, Sipp

from dsp.tones import dtmf_tone

pytestmark = pytest.mark.interop

TESTBED = Path(__file__).resolve().parents[2] / "sip-testbed"


def address(service: Any) -> str:
    host, port = service.sip_addresses["udp"]
    return f"{host}:{port}"


def client_call(tmp_path: Path, service: Any, talk_ms: int) -> Sipp:
    return Sipp(tmp_path / "client", "uac_call.xml", address(service), args=[
        "-s", "7000", "-key", "caller", "79161234567", "-key", "pcap",
        str(PCAPS / "g711a.pcap"), "-d", str(talk_ms), "-m", "1", "-timeout", "30"])


def keys_seen(service: Any) -> list[tuple[str, tuple[str, ...]]]:
    [detail] = reported_calls(service, 2)
    return [(e.detail["digit"], tuple(e.detail["sources"])) for e in detail.events
            if e.kind == "key"]


@pytest.fixture
async def office(start_office: Any) -> Any:
    """The demo office with no key options, so every key just passes through."""
    return await start_office(keys={})


def tones_file(path: Path, digits: str, lead: float = 1.5, tone: float = 0.1,
               gap: float = 0.4) -> Path:
    import wave

    parts = [np.zeros(int(lead * 8000))]
    for digit in digits:
        parts.append(dtmf_tone(digit, tone, level_dbm0=-8))
        parts.append(np.zeros(int(gap * 8000)))
    parts.append(np.zeros(8000 * 60))
    samples = np.concatenate(parts).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())
    return path


async def call_with_baresip_employee(tmp_path: Path, service: Any, phone: Baresip,
                                     action: Any, talk_ms: int = 5000) -> None:
    await phone.start()
    try:
        await phone.wait_registered()
        caller = client_call(tmp_path, service, talk_ms)
        await caller.start()
        await phone.wait_event("CALL_ESTABLISHED", timeout=10)
        await action(phone)
        result = await caller.wait(30)
        assert result.returncode == 0, result.summary()
    finally:
        await phone.stop()


async def test_rfc4733_keys_from_baresip_seen_once_each(office: Any, tmp_path: Path) -> None:
    phone = Baresip(tmp_path / "phone", [
        Account("101", PASSWORDS["101"], address(office), auto_answer=True)])

    async def press(phone: Baresip) -> None:
        await asyncio.sleep(1.0)
        await phone.command("sndcode", "12*")

    await call_with_baresip_employee(tmp_path, office, phone, press)
    seen = keys_seen(office)
    assert [digit for digit, _ in seen] == ["1", "2", "*"]
    for _digit, sources in seen:
        assert "rfc4733" in sources


async def test_inband_keys_from_baresip_audio_seen_once_each(
    office: Any, tmp_path: Path
) -> None:
    tones = tones_file(tmp_path / "tones.wav", "479")
    phone = Baresip(tmp_path / "phone", [
        Account("101", PASSWORDS["101"], address(office), auto_answer=True)],
        audio_source=tones)

    async def nothing(phone: Baresip) -> None:
        await asyncio.sleep(0)

    await call_with_baresip_employee(tmp_path, office, phone, nothing, talk_ms=4500)
    assert keys_seen(office) == [("4", ("inband",)), ("7", ("inband",)), ("9", ("inband",))]


async def test_sip_info_keys_seen_once_each(office: Any, tmp_path: Path) -> None:
    pytest.importorskip("baresip", reason="baresip-python (pip) sends SIP INFO keys")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "testbed.info_phone", "--registrar", address(office),
        "--user", "101", "--password", PASSWORDS["101"], "--digits", "39", "--after", "1",
        cwd=TESTBED, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert json.loads(line)["step"] == "registered", line
        caller = client_call(tmp_path, office, 4000)
        result = await caller.run(30)
        assert result.returncode == 0, result.summary()
        steps = [json.loads(raw)["step"] for raw in (await process.stdout.read()).splitlines()
                 if raw.startswith(b"{")]
        assert "sent" in steps
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert keys_seen(office) == [("3", ("info",)), ("9", ("info",))]
