"""Calls through the B2BUA between real SIPp user agents: answered with media both ways,
cancelled, busy, unanswered, forked to two devices, refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from testbed.calls import reported_calls
from testbed.phones import sipp_phone
from testbed.sipp import PCAPS, Sipp

pytestmark = pytest.mark.interop

CLIENT = "79161234567"


def address(service: Any) -> str:
    host, port = service.sip_addresses["udp"]
    return f"{host}:{port}"


def client(tmp_path: Path, service: Any, scenario: str, dialed: str, *args: str) -> Sipp:
    return Sipp(tmp_path / "client", scenario, address(service), args=[
        "-s", dialed, "-key", "caller", CLIENT, "-key", "pcap", str(PCAPS / "g711a.pcap"),
        "-m", "1", "-timeout", "30", *args,
    ])


def the_call(service: Any) -> Any:
    calls = reported_calls(service, 5)
    assert len(calls) == 1, calls
    return calls[0]


def events(detail: Any, kind: str) -> list[dict[str, Any]]:
    return [e.detail for e in detail.events if e.kind == kind]


async def test_answered_call_relays_rtp_both_ways(service: Any, tmp_path: Path) -> None:
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_answer.xml",
                             ["-rtp_echo", "-m", "1"])
    result = await client(tmp_path, service, "uac_call.xml", "7000", "-d", "3000").run()
    assert result.returncode == 0, result.summary()
    assert (await phone.wait(10)).returncode == 0
    detail = the_call(service)
    record = detail.call
    assert (record.direction, record.caller_number, record.called_number) == (
        "inbound", CLIENT, "7000")
    assert record.employee == "101" and record.disposition == "answered"
    assert record.hangup_side == "caller" and record.duration and record.duration >= 2.5
    [media] = events(detail, "media")
    for side in ("caller", "callee"):
        assert media[side]["codec"] == "PCMA"
        assert media[side]["received"] >= 60, media  # 33 packets/s for ~3 s
        assert media[side]["sent"] >= 60, media
    assert media["caller"]["port"] != media["callee"]["port"]
    # the phone saw our address in the SDP, never the client's
    seen = phone.result().messages.replace("\r\n", "\n")
    assert f"c=IN IP4 127.0.0.1\nt=0 0\nm=audio {media['callee']['port']} RTP/AVP 8 0 101" in seen
    assert "Max-Forwards: 69" in seen


async def test_cancel_before_answer(service: Any, tmp_path: Path) -> None:
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_ring.xml", ["-m", "1"])
    result = await client(tmp_path, service, "uac_cancel.xml", "7000", "-d", "1000").run()
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 487" in result.messages
    phone_result = await phone.wait(10)
    assert phone_result.returncode == 0, phone_result.summary()
    assert "CANCEL sip:" in phone_result.messages
    record = the_call(service).call
    assert (record.disposition, record.hangup_side) == ("cancelled", "caller")


async def test_busy_phone_gives_486(service: Any, tmp_path: Path) -> None:
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_busy.xml", ["-m", "1"])
    result = await client(tmp_path, service, "uac_rejected.xml", "7000").run()
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 486 Busy Here" in result.messages
    await phone.wait(10)
    assert the_call(service).call.disposition == "busy"


async def test_no_answer_within_ring_timeout_gives_480(
    start_office: Any, tmp_path: Path
) -> None:
    service = await start_office(calls={"ring_timeout": 2})
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_ring.xml", ["-m", "1"])
    started = asyncio.get_running_loop().time()
    result = await client(tmp_path, service, "uac_rejected.xml", "7000").run()
    waited = asyncio.get_running_loop().time() - started
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 480" in result.messages
    assert 1.8 <= waited < 6
    assert (await phone.wait(10)).returncode == 0
    assert the_call(service).call.disposition == "no-answer"


async def test_two_devices_ring_first_answer_wins(service: Any, tmp_path: Path) -> None:
    registrar = address(service)
    ringing = await sipp_phone(tmp_path / "a", registrar, "101", "uas_ring.xml", ["-m", "1"])
    answering = await sipp_phone(tmp_path / "b", registrar, "101", "uas_answer.xml",
                                 ["-rtp_echo", "-m", "1"])
    result = await client(tmp_path, service, "uac_call.xml", "7000", "-d", "1500").run()
    assert result.returncode == 0, result.summary()
    assert (await answering.wait(10)).returncode == 0
    loser = await ringing.wait(10)
    assert loser.returncode == 0, loser.summary()
    assert "CANCEL sip:" in loser.messages
    detail = the_call(service)
    assert detail.call.answered_device == f"sip:101@127.0.0.1:{answering.port}"
    [ring] = events(detail, "ringing")
    assert len(ring["devices"]) == 2


async def test_unknown_number_gets_404(service: Any, tmp_path: Path) -> None:
    result = await client(tmp_path, service, "uac_rejected.xml", "5555").run()
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 404 Not Found" in result.messages
    assert the_call(service).call.disposition == "rejected"


async def test_unregistered_employee_gives_480(service: Any, tmp_path: Path) -> None:
    result = await client(tmp_path, service, "uac_rejected.xml", "7000").run()
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 480" in result.messages


async def test_hold_reinvite_passes_across(service: Any, tmp_path: Path) -> None:
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_hold.xml", ["-m", "1"])
    result = await client(tmp_path, service, "uac_hold.xml", "7000", "-d", "500").run()
    assert result.returncode == 0, result.summary()
    phone_result = await phone.wait(10)
    assert phone_result.returncode == 0, phone_result.summary()
    reinvites = [m for m in phone_result.messages.split("-----") if "CSeq: 2 INVITE" in m
                 and "message received" in m]
    assert reinvites and "a=sendonly" in reinvites[0]
    assert the_call(service).call.disposition == "answered"


async def test_vanished_phone_is_hung_up_by_rtp_timeout(
    start_office: Any, tmp_path: Path
) -> None:
    service = await start_office(media={"rtp_timeout": 2})
    phone = await sipp_phone(tmp_path, address(service), "101", "uas_answer.xml", ["-m", "1"])
    caller = client(tmp_path, service, "uac_until_bye.xml", "7000")
    await caller.start()
    for _ in range(100):  # wait for the answer, then the phone disappears without a word
        if "ACK sip:" in phone.result().messages:
            break
        await asyncio.sleep(0.05)
    await phone.stop()
    result = await caller.wait(15)
    assert result.returncode == 0, result.summary()
    assert "BYE sip:" in result.messages
    detail = the_call(service)
    assert detail.call.hangup_side == "system"
    [timeout] = events(detail, "rtp-timeout")
    assert timeout["leg"] == "employee" and timeout["idle"] >= 2


async def test_client_cannot_dial_out_through_the_trunk(
    start_office: Any, tmp_path: Path
) -> None:
    service = await start_office(trunk={"host": "127.0.0.1", "port": 5999})
    result = await client(tmp_path, service, "uac_rejected.xml", "+79990001122").run()
    assert result.returncode == 0, result.summary()
    assert "SIP/2.0 403 Forbidden" in result.messages
