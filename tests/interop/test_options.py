"""Every in-call option end to end: a client calls the office, the employee's real phone
answers and presses the option's key (RFC 4733 from baresip, tones in its audio, or SIP INFO
from baresip-python), and the effect is checked where a user would see it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from testbed.calls import (
    CLIENT_NUMBER,
    api,
    assert_nothing_left,
    baresip_phone,
    client_answered_by,
    events,
    info_phone,
    report,
    sip_address,
    sipp_client,
    until,
)
from testbed.phones import sipp_phone
from testbed.sipp import Sipp

from b2bua.app import cli

pytestmark = pytest.mark.interop


async def call_and_press(tmp_path: Path, service: Any, digits: str, *,
                         talk_ms: int = 4000) -> Any:
    """A SIPp client calls 7000; the employee's baresip answers and sends `digits` (RFC 4733);
    the client hangs up after `talk_ms`. Answers the call's report."""
    phone = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = await client_answered_by(phone, tmp_path / "client", service,
                                          talk_ms=talk_ms)
        await phone.command("sndcode", digits)
        result = await client.wait(30)
        assert result.returncode == 0, result.summary()
    finally:
        await phone.stop()
    return report(service)


def option_events(detail: Any, name: str) -> list[dict[str, Any]]:
    return [e for e in events(detail, "option") if e["option"] == name]


async def test_tag_key_tags_the_call(service: Any, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    detail = await call_and_press(tmp_path, service, "1")
    assert detail.tags == ("important",)
    [done] = option_events(detail, "tag")
    assert done["ok"] and done["by"] == "101" and done["key"] == "1"
    [key] = events(detail, "key")
    assert key["swallowed"] and key["digit"] == "1"
    listed = await asyncio.to_thread(api, service, "GET", "/api/calls?tag=important")
    assert [c["id"] for c in listed["calls"]] == [detail.call.id]
    assert cli.main(["calls", "--tag", "important", "--data-dir", str(service.data_dir)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 and CLIENT_NUMBER in table[1] and "important" in table[1]


async def test_blacklist_key_refuses_the_next_call(service: Any, tmp_path: Path) -> None:
    detail = await call_and_press(tmp_path, service, "5")
    assert option_events(detail, "blacklist")[0]["ok"]
    assert service.store.is_blacklisted("+" + CLIENT_NUMBER) or service.store.is_blacklisted(
        CLIENT_NUMBER)
    listed = await asyncio.to_thread(api, service, "GET", "/api/blacklist")
    assert [entry["number"] for entry in listed["blacklist"]] == [CLIENT_NUMBER]
    again = sipp_client(tmp_path / "again", service, scenario="uac_rejected.xml")
    result = await again.run()
    assert "SIP/2.0 603 Decline" in result.messages
    assert report(service).call.disposition == "blacklisted"


async def test_contact_key_saves_client_in_group_by_sip_info(
    service: Any, tmp_path: Path
) -> None:
    phone = await info_phone(service, "101", "6")
    try:
        result = await sipp_client(tmp_path / "client", service, talk_ms=3500).run()
        assert result.returncode == 0, result.summary()
    finally:
        phone.kill()
        await phone.wait()
    detail = report(service)
    [key] = events(detail, "key")
    assert key["sources"] == ["info"] and key["swallowed"]
    contacts = service.store.list_contacts("VIP")
    assert [(c.number, c.saved_by) for c in contacts] == [(CLIENT_NUMBER, "101")]
    listed = await asyncio.to_thread(api, service, "GET", "/api/contact-groups/VIP/contacts")
    assert [c["number"] for c in listed["contacts"]] == [CLIENT_NUMBER]


async def test_manager_key_makes_the_next_call_ring_the_manager_first(
    service: Any, tmp_path: Path
) -> None:
    phone = await info_phone(service, "103", "3")
    try:  # 7001 rings the support group (103 and 104)
        result = await sipp_client(tmp_path / "client", service, dialed="7001",
                                   talk_ms=3500).run()
        assert result.returncode == 0, result.summary()
    finally:
        phone.kill()
        await phone.wait()
    assert option_events(report(service), "manager")
    manager = service.store.get_manager(CLIENT_NUMBER)
    assert manager is not None and manager.extension == "103"
    assert [c.number for c in service.store.list_contacts("Clients")] == [CLIENT_NUMBER]
    # the next call from that number to the support line rings its manager 103 first
    service.store.remove_bindings("103")
    ringing = await sipp_phone(tmp_path / "ringing", sip_address(service), "103",
                               "uas_ring.xml", ["-m", "1"])
    second = await sipp_client(tmp_path / "second", service, dialed="7001", talk_ms=2000,
                               scenario="uac_cancel.xml").run()
    assert "SIP/2.0 487" in second.messages
    assert (await ringing.wait(10)).returncode == 0
    rung = events(report(service), "ringing")
    assert rung[0]["step"] == "manager" and rung[0]["devices"][0].startswith("sip:103@")


async def test_sms_key_sends_the_card_by_sip_message(start_office: Any, tmp_path: Path) -> None:
    gateway = Sipp(tmp_path / "gateway", "uas_message.xml", None, args=["-m", "1"])
    service = await start_office(sms={"gateway": "sip", "uri": f"sip:sms@127.0.0.1:{gateway.port}",
                                      "sender": "Demo", "card_text": "Demo Office card"})
    await gateway.start()
    detail = await call_and_press(tmp_path, service, "8")
    [done] = option_events(detail, "sms")
    assert done["ok"]
    message = await until(lambda: [m for m in service.store.list_sms() if m.status != "queued"
                                   and m.status != "sending"])
    assert (message[0].status, message[0].to_number) == ("delivered", CLIENT_NUMBER)
    received = (await gateway.wait(10)).messages
    assert f"MESSAGE sip:{CLIENT_NUMBER}@127.0.0.1:{gateway.port}" in received
    assert "Demo Office card" in received
    outbox = await asyncio.to_thread(api, service, "GET", "/api/sms")
    assert outbox["messages"][0]["status"] == "delivered"


def key_tones(path: Path, digits: str, *, at: float = 1.5, base: float = 0.0,
              seconds: float = 60) -> Path:
    """A microphone file: a sine (or silence) with DTMF keys at `at` seconds, 0.5 s apart."""
    import wave

    import numpy as np

    from dsp.tones import dtmf_tone

    rate = 8000
    t = np.arange(int(seconds * rate)) / rate
    samples = 3000 * np.sin(2 * np.pi * base * t) if base else np.zeros(t.size)
    for index, digit in enumerate(digits):
        start = int((at + index * 0.5) * rate)
        tone = dtmf_tone(digit, 0.1, level_dbm0=-6)
        samples[start:start + tone.size] = tone
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return path


async def test_scenario_key_hands_the_client_to_the_scenario(
    start_office: Any, tmp_path: Path
) -> None:
    service = await start_office(scenarios={"welcome": [{"play": "builtin:welcome"},
                                                        {"ring": "102"}]})
    colleague = await sipp_phone(tmp_path / "colleague", sip_address(service), "102",
                                 "uas_answer.xml", ["-rtp_echo", "-m", "1"])
    employee = await baresip_phone(tmp_path / "employee", service, "101",
                                   audio=key_tones(tmp_path / "keys.wav", "2"))
    try:
        result = await sipp_client(tmp_path / "client", service, talk_ms=7000).run()
        assert result.returncode == 0, result.summary()
        await employee.wait_event("CALL_CLOSED", timeout=5)  # the employee was hung up
    finally:
        await employee.stop()
    assert (await colleague.wait(10)).returncode == 0
    detail = report(service)
    [option] = option_events(detail, "scenario")
    assert option["ok"] and (option["key"], option["source"]) == ("2", "inband")
    assert events(detail, "scenario") == [{"scenario": "welcome"}]
    answered = events(detail, "answered")
    assert [a["extension"] for a in answered] == ["101", "102"]
    assert detail.call.employee == "102"
    await until(lambda: not service.calls.calls)
    assert_nothing_left(service)


def heard(phone: Any) -> Any:
    from testbed.audio import read_wav

    [path] = phone.heard_files()
    samples, rate = read_wav(path)
    return samples[:, 0], rate



async def test_trainer_whispers_only_to_the_employee(service: Any, tmp_path: Path) -> None:
    from testbed.audio import tone_level, write_tone
    from testbed.calls import baresip_client

    trainer = await baresip_phone(tmp_path / "trainer", service, "105",
                                  audio=write_tone(tmp_path / "t.wav", 1700, 60))
    employee = await baresip_phone(tmp_path / "employee", service, "101",
                                   audio=write_tone(tmp_path / "e.wav", 1100, 60))
    client = await baresip_client(tmp_path / "client", service,
                                  audio=write_tone(tmp_path / "c.wav", 500, 60))
    try:
        await client.command("dial", f"sip:7000@{sip_address(service)}")
        await employee.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(0.5)
        await employee.command("sndcode", "4")
        await trainer.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(2.5)
        await client.command("hangup")
        await trainer.wait_event("CALL_CLOSED", timeout=10)
    finally:
        for phone in (client, employee, trainer):
            await phone.stop()
    detail = report(service)
    assert events(detail, "trainer-joined")[0]["trainer"] == "105"
    assert option_events(detail, "trainer")[0]["ok"]
    tail = 12000  # the last 1.5 s: the trainer is on the call
    samples, rate = heard(employee)
    assert tone_level(samples[-tail:], rate, 1700) > 0.15  # the employee hears the trainer
    assert tone_level(samples[-tail:], rate, 500) > 0.15  # and the client
    samples, rate = heard(trainer)
    assert tone_level(samples[-tail:], rate, 500) > 0.15  # the trainer hears the client
    assert tone_level(samples[-tail:], rate, 1100) > 0.15  # and the employee
    samples, rate = heard(client)
    assert tone_level(samples, rate, 1100) > 0.5  # the client hears the employee
    assert tone_level(samples, rate, 1700) < 0.005  # and never the trainer
    await until(lambda: not service.calls.calls)
    assert_nothing_left(service)



async def test_record_key_records_client_left_employee_right(
    service: Any, tmp_path: Path
) -> None:
    from testbed.audio import read_wav, tone_level, write_tone
    from testbed.calls import baresip_client

    employee = await baresip_phone(tmp_path / "employee", service, "101",
                                   audio=write_tone(tmp_path / "e.wav", 1300, 60))
    client = await baresip_client(tmp_path / "client", service,
                                  audio=write_tone(tmp_path / "c.wav", 600, 60))
    try:
        await client.command("dial", f"sip:7000@{sip_address(service)}")
        await employee.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(0.5)
        await employee.command("sndcode", "7")
        await asyncio.sleep(2.5)
        await client.command("hangup")
        await employee.wait_event("CALL_CLOSED", timeout=10)
    finally:
        await client.stop()
        await employee.stop()
    detail = await until(lambda: (d := report(service)) and d.call.ended_at and d)
    [recording] = detail.recordings
    assert recording.size_bytes and recording.ended_at
    samples, rate = read_wav(Path(recording.path))
    assert samples.shape[1] == 2 and samples.shape[0] > 2 * rate
    assert tone_level(samples[:, 0], rate, 600) > 0.6  # left: the client
    assert tone_level(samples[:, 1], rate, 1300) > 0.6  # right: the employee
    assert tone_level(samples[:, 0], rate, 1300) < 0.01
    downloaded = await asyncio.to_thread(api, service, "GET", f"/api/recordings/{recording.id}")
    assert downloaded == Path(recording.path).read_bytes()


async def test_move_key_moves_the_call_to_another_device(service: Any, tmp_path: Path) -> None:
    employee = await baresip_phone(tmp_path / "desk", service, "101")
    try:
        client = sipp_client(tmp_path / "client", service, talk_ms=6000)
        await client.start()
        await employee.wait_event("CALL_ESTABLISHED", timeout=10)
        other = await sipp_phone(tmp_path / "mobile", sip_address(service), "101",
                                 "uas_answer.xml", ["-rtp_echo", "-m", "1"])
        await employee.command("sndcode", "9")
        await employee.wait_event("CALL_CLOSED", timeout=10)  # released once the other answered
        result = await client.wait(30)
        assert result.returncode == 0, result.summary()  # never re-INVITEd nor hung up
    finally:
        await employee.stop()
    assert (await other.wait(10)).returncode == 0  # the call ended on the other device
    detail = report(service)
    [moved] = events(detail, "moved")
    assert moved["new"] == f"sip:101@127.0.0.1:{other.port}"
    assert option_events(detail, "move")[0]["ok"]
    [media] = events(detail, "media")
    assert media["caller"]["sent"] > 100  # the client kept hearing audio through the move
    await until(lambda: not service.calls.calls)
    assert_nothing_left(service)



async def test_transfer_to_a_colleague_blind(service: Any, tmp_path: Path) -> None:
    colleague = await sipp_phone(tmp_path / "colleague", sip_address(service), "102",
                                 "uas_answer.xml", ["-rtp_echo", "-m", "1"])
    employee = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = await client_answered_by(employee, tmp_path / "client", service,
                                          talk_ms=6000)
        await employee.command("sndcode", "#102")
        await employee.wait_event("CALL_CLOSED", timeout=10)
        result = await client.wait(30)
        assert result.returncode == 0, result.summary()
    finally:
        await employee.stop()
    assert (await colleague.wait(10)).returncode == 0
    detail = report(service)
    stages = [e["stage"] for e in events(detail, "transfer")]
    assert stages == ["started", "dialing", "completed"]
    assert detail.call.employee == "102"
    assert [e["digit"] for e in events(detail, "key")] == ["#", "1", "0", "2"]
    await until(lambda: not service.calls.calls)
    assert_nothing_left(service)



async def test_transfer_to_nobody_gives_the_client_back(service: Any, tmp_path: Path) -> None:
    employee = await baresip_phone(tmp_path / "employee", service, "101")
    try:
        client = await client_answered_by(employee, tmp_path / "client", service,
                                          talk_ms=5000)
        await employee.command("sndcode", "#104")  # 104 has no registered phone
        result = await client.wait(30)
        assert result.returncode == 0, result.summary()
        await employee.wait_event("CALL_CLOSED", timeout=10)
    finally:
        await employee.stop()
    detail = report(service)
    stages = [e["stage"] for e in events(detail, "transfer")]
    assert stages == ["started", "failed", "returned"]
    assert detail.call.employee == "101" and detail.call.hangup_side == "caller"
    await until(lambda: not service.calls.calls)
    assert_nothing_left(service)



async def test_failing_option_never_drops_the_client(service: Any, tmp_path: Path) -> None:
    # 101's trainer (105) has no phone: the trainer key fails, the call goes on
    detail = await call_and_press(tmp_path, service, "4")
    [failed] = option_events(detail, "trainer")
    assert not failed["ok"] and "105" in failed["error"]
    assert detail.call.hangup_side == "caller" and detail.call.duration >= 3.5
