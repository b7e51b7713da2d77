"""baresip to baresip through the B2BUA: an employee calls a colleague, the audio arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from testbed.audio import read_wav, tone_level, write_tone
from testbed.baresip import Account, Baresip
from testbed.calls import reported_calls
from testbed.office import PASSWORDS

pytestmark = pytest.mark.interop


def address(service: Any) -> str:
    host, port = service.sip_addresses["udp"]
    return f"{host}:{port}"


async def test_internal_call_carries_the_callers_tone(service: Any, tmp_path: Path) -> None:
    registrar = address(service)
    tone = write_tone(tmp_path / "tone.wav", 1000, 6)
    caller = Baresip(tmp_path / "caller", [Account("102", PASSWORDS["102"], registrar)],
                     audio_source=tone)
    callee = Baresip(tmp_path / "callee",
                     [Account("103", PASSWORDS["103"], registrar, auto_answer=True)])
    await caller.start()
    await callee.start()
    try:
        await caller.wait_registered()
        await callee.wait_registered()
        await caller.command("dial", f"sip:103@{registrar}")
        await caller.wait_event("CALL_ESTABLISHED", timeout=10)
        await callee.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(2.5)
        await caller.command("hangup")
        await callee.wait_event("CALL_CLOSED", timeout=10)
    finally:
        await caller.stop()
        await callee.stop()
    [record] = reported_calls(service, 5)
    call = record.call
    assert (call.direction, call.caller_number, call.called_number) == ("internal", "102", "103")
    assert call.disposition == "answered" and call.hangup_side == "caller"
    heard = callee.heard_files()
    assert heard, "the callee recorded nothing"
    samples, rate = read_wav(heard[0])
    middle = samples[len(samples) // 4: 3 * len(samples) // 4, 0]
    assert len(middle) > rate // 2
    assert tone_level(middle, rate, 1000) > 0.8


async def test_employee_calls_out_through_the_trunk(start_office: Any, tmp_path: Path) -> None:
    from testbed.sipp import Sipp

    trunk = Sipp(tmp_path / "trunk", "uas_answer.xml", None, args=["-rtp_echo", "-m", "1"])
    service = await start_office(trunk={"host": "127.0.0.1", "port": trunk.port,
                                        "caller_id": "+74957000000"})
    await trunk.start()
    registrar = address(service)
    phone = Baresip(tmp_path / "phone", [Account("101", PASSWORDS["101"], registrar)])
    await phone.start()
    try:
        await phone.wait_registered()
        await phone.command("dial", f"sip:+79990001122@{registrar}")
        await phone.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(1)
        await phone.command("hangup")
        result = await trunk.wait(10)
    finally:
        await phone.stop()
    assert result.returncode == 0, result.summary()
    invite = result.messages.split("INVITE sip:", 1)[1]
    assert invite.startswith("+79990001122@127.0.0.1:")
    assert '<sip:+74957000000@' in invite.split("\n\n", 1)[0]  # presented number
    [record] = reported_calls(service, 5)
    assert (record.call.direction, record.call.employee) == ("outbound", "101")
    assert record.call.disposition == "answered"
