"""Registration against real SIP peers: SIPp with a digest password, baresip with two accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testbed.baresip import Account, Baresip
from testbed.office import PASSWORDS
from testbed.sipp import Sipp

from b2bua.app import cli

pytestmark = pytest.mark.interop


def registrar_address(service: Any) -> str:
    host, port = service.sip_addresses["udp"]
    return f"{host}:{port}"


def register_with_sipp(tmp_path: Path, service: Any, user: str, password: str) -> Sipp:
    return Sipp(
        tmp_path / "sipp", "register.xml", registrar_address(service),
        args=["-s", user, "-au", user, "-ap", password, "-key", "contact", "127.0.0.1:5998",
              "-key", "expires", "300", "-m", "1", "-timeout", "10"],
    )


async def test_sipp_registers_after_401_challenge(service: Any, tmp_path: Path) -> None:
    result = await register_with_sipp(tmp_path, service, "101", PASSWORDS["101"]).run()
    assert result.returncode == 0, result.summary()
    assert result.successful == 1
    assert "SIP/2.0 401 Unauthorized" in result.messages
    assert "algorithm=MD5" in result.messages
    assert "SIP/2.0 200 OK" in result.messages
    bindings = service.store.list_bindings("101")
    assert [b.contact_uri for b in bindings] == ["sip:101@127.0.0.1:5998"]
    assert bindings[0].user_agent == "SIPp register"


async def test_sipp_with_wrong_password_is_refused(service: Any, tmp_path: Path) -> None:
    result = await register_with_sipp(tmp_path, service, "101", "wrong-password").run()
    assert result.returncode != 0
    assert result.successful == 0
    assert "SIP/2.0 403 Forbidden" in result.messages
    assert service.store.list_bindings("101") == []


async def test_baresip_registers_two_devices_on_one_extension(
    service: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registrar = registrar_address(service)
    phone = Baresip(tmp_path / "phone", [
        Account("102", PASSWORDS["102"], registrar),
        Account("102", PASSWORDS["102"], f"{registrar};transport=tcp"),
    ])
    await phone.start()
    try:
        await phone.wait_registered(2)
        bindings = service.store.list_bindings("102")
        assert sorted(b.transport for b in bindings) == ["tcp", "udp"]
        assert all(b.user_agent.startswith("baresip") for b in bindings)
        assert cli.main(["registrations", "--data-dir", str(service.data_dir)]) == 0
        listed = capsys.readouterr().out
        assert listed.count("102") >= 2
        assert "transport=tcp" in listed
    finally:
        await phone.stop()


async def test_baresip_with_wrong_password_fails(service: Any, tmp_path: Path) -> None:
    phone = Baresip(tmp_path / "phone", [
        Account("103", "not-the-password", registrar_address(service)),
    ])
    await phone.start()
    try:
        failure = await phone.wait_event("REGISTER_FAIL", timeout=10)
        assert "403" in str(failure.get("param"))
        assert service.store.list_bindings("103") == []
    finally:
        await phone.stop()
