"""Options changed and used live: the key map replaced through the HTTP API, the app's button
pressing a key for the employee, and a transfer with consultation."""

from __future__ import annotations

import asyncio
import json
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from testbed.calls import (
    CLIENT_NUMBER,
    api,
    baresip_phone,
    client_answered_by,
    events,
    report,
    sip_address,
    sipp_client,
    until,
)
from testbed.phones import sipp_phone

pytestmark = pytest.mark.interop


async def test_key_map_changed_live_through_the_api(service: Any, tmp_path: Path) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(api, service, "PUT", "/api/keys", {"1": {"option": "tagg"}})
    assert refused.value.code == 400
    message = json.loads(refused.value.read())["error"]
    assert "keys" in message and "'tagg'" in message
    assert service.config.keys["1"].option == "tag"  # nothing changed
    await asyncio.to_thread(api, service, "PUT", "/api/keys",
                            {"1": {"option": "contact", "group": "Live"}})
    # the store keeps the setting as validated, defaults filled in
    assert service.store.get_setting("keys") == {
        "1": {"option": "contact", "group": "Live", "feedback": True}}
    phone = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = await client_answered_by(phone, tmp_path / "client", service,
                                          talk_ms=3000)
        await phone.command("sndcode", "1")
        assert (await client.wait(30)).returncode == 0
    finally:
        await phone.stop()
    assert [c.number for c in service.store.list_contacts("Live")] == [CLIENT_NUMBER]
    assert report(service).tags == ()


async def test_app_button_presses_the_key_for_the_employee(service: Any, tmp_path: Path) -> None:
    phone = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = sipp_client(tmp_path / "client", service, talk_ms=3000)
        await client.start()
        await phone.wait_event("CALL_ESTABLISHED", timeout=10)
        live = await asyncio.to_thread(api, service, "GET", "/api/live-calls")
        [call] = live["calls"]
        assert call["employee"] == "101" and call["state"] == "answered"
        pressed = await asyncio.to_thread(api, service, "POST",
                                          f"/api/live-calls/{call['id']}/keys/1")
        assert pressed["result"]["option"] == "tag"
        assert (await client.wait(30)).returncode == 0
    finally:
        await phone.stop()
    detail = report(service)
    assert detail.tags == ("important",)
    [option] = [e for e in events(detail, "option") if e["option"] == "tag"]
    assert option["source"] == "app" and option["by"] == "101"


async def test_consult_transfer_hands_over_when_the_employee_hangs_up(
    start_office: Any, tmp_path: Path
) -> None:
    service = await start_office(transfer={"mode": "consult"})
    colleague = await sipp_phone(tmp_path / "colleague", sip_address(service), "102",
                                 "uas_answer.xml", ["-rtp_echo", "-m", "1"])
    employee = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = await client_answered_by(employee, tmp_path / "client", service,
                                          talk_ms=6000)
        await employee.command("sndcode", "#102")
        await until(lambda: any(e["stage"] == "consulting"
                                for e in events(report(service), "transfer")))
        await employee.command("hangup")  # hanging up hands the client over
        result = await client.wait(30)
        assert result.returncode == 0, result.summary()
    finally:
        await employee.stop()
    assert (await colleague.wait(10)).returncode == 0
    detail = report(service)
    assert [e["stage"] for e in events(detail, "transfer")] == [
        "started", "dialing", "consulting", "completed"]
    assert detail.call.employee == "102" and detail.call.hangup_side == "caller"


def first_frame_with(samples: Any, rate: int, frequency: float) -> int | None:
    from testbed.audio import tone_level

    frame = rate // 25  # 40 ms
    for index in range(0, len(samples) - frame, frame):
        if tone_level(samples[index:index + frame], rate, frequency, width=30) > 0.5:
            return index // frame
    return None


async def test_employee_hears_confirmation_then_error_tone(service: Any, tmp_path: Path) -> None:
    from testbed.audio import read_wav
    from testbed.calls import baresip_client

    employee = await baresip_phone(tmp_path / "employee", service, "101")
    client = await baresip_client(tmp_path / "client", service)
    try:
        await client.command("dial", f"sip:7000@{sip_address(service)}")
        await employee.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(0.8)
        await employee.command("sndcode", "1")  # tag: works
        await asyncio.sleep(1.2)
        await employee.command("sndcode", "4")  # trainer 105 has no phone: fails
        await asyncio.sleep(1.2)
        await client.command("hangup")
        await employee.wait_event("CALL_CLOSED", timeout=10)
    finally:
        await client.stop()
        await employee.stop()
    [path] = employee.heard_files()
    samples, rate = read_wav(path)
    chime = first_frame_with(samples[:, 0], rate, 1320)  # the chime's second note
    error = first_frame_with(samples[:, 0], rate, 1800)  # the error signal's last tone
    assert chime is not None and error is not None and chime < error
    [path] = client.heard_files()
    samples, rate = read_wav(path)
    assert first_frame_with(samples[:, 0], rate, 1320) is None  # tones go to the employee only
    assert first_frame_with(samples[:, 0], rate, 1800) is None
