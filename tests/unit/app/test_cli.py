"""The b2bua command, run in-process on temporary data directories."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from b2bua.app import cli_listings
from b2bua.app.cli import main
from b2bua.app.config import Config, load_config
from b2bua.app.defaults import DEMO_OFFICE_YAML
from b2bua.store import Binding, BlacklistEntry, CallRecord, Contact, open_store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    now = 1_700_000_000.0
    monkeypatch.setattr(cli_listings, "clock", lambda: now)
    return now


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for command in ("serve", "check-config", "example-config", "users", "registrations",
                    "calls", "blacklist", "contacts", "managers", "outbox"):
        assert command in out


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert status == 2 and "usage: b2bua" in err and out == ""


def test_check_config_ok_and_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(DEMO_OFFICE_YAML)
    status, out, err = run(capsys, "check-config", str(good))
    assert status == 0 and err == ""
    assert out == (f"OK: {good}: 5 employees, 2 ring groups, 3 company numbers, 1 scenarios, "
                   "10 keys\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("employees:\n  - {extension: '1', name: A}\nkeys: {'4': {option: trainr}}\n")
    status, out, err = run(capsys, "check-config", str(bad))
    assert status == 1 and out == ""
    assert err.splitlines() == [
        "config error: employees[0].extension: must be 2-6 digits",
        "config error: keys.\"4\".option: unknown option 'trainr' (expected one of tag, "
        "scenario, manager, trainer, blacklist, contact, record, sms, move)",
    ]
    status, out, err = run(capsys, "check-config", str(tmp_path / "absent.yaml"))
    assert status == 1 and "cannot read" in err


def test_example_config_is_the_demo_office(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "example-config")
    assert status == 0
    path = tmp_path / "office.yaml"
    path.write_text(out)
    assert load_config(path) == load_config(None)


def test_users_generates_once_and_shows_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_clock: float
) -> None:
    data = tmp_path / "data"
    status, first, _ = run(capsys, "users", "--data-dir", str(data))
    assert status == 0
    lines = first.splitlines()
    assert lines[0].split() == ["EXT", "NAME", "PASSWORD", "SOURCE", "DEVICES"]
    assert [line.split()[0] for line in lines[1:]] == ["101", "102", "103", "104", "105"]
    assert lines[1].startswith("101  Anna Ivanova")
    passwords = {line.split()[0]: line.split()[-3] for line in lines[1:]}
    assert all(len(password) == 14 for password in passwords.values())
    with open_store(data) as store:
        store.save_binding(Binding(aor="101", contact_uri="sip:101@10.0.0.5", transport="udp",
                                   source_host="10.0.0.5", source_port=5062,
                                   expires_at=fixed_clock + 60, call_id="r", cseq=1))
        store.save_binding(Binding(aor="101", contact_uri="sip:101@old", transport="udp",
                                   source_host="10.0.0.6", source_port=5062,
                                   expires_at=fixed_clock - 1, call_id="r2", cseq=1))
    status, second, _ = run(capsys, "users", "--data-dir", str(data))
    again = {line.split()[0]: line.split()[-3] for line in second.splitlines()[1:]}
    devices = {line.split()[0]: line.split()[-1] for line in second.splitlines()[1:]}
    assert again == passwords
    assert devices == {"101": "1", "102": "0", "103": "0", "104": "0", "105": "0"}


def test_users_follows_the_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "office.yaml"
    config.write_text(f"data_dir: {tmp_path / 'state'}\nemployees:\n"
                      "  - {extension: '201', name: Solo, password: file-password}\n")
    status, out, _ = run(capsys, "users", "--config", str(config))
    assert status == 0
    assert out.splitlines()[1].split() == ["201", "Solo", "file-password", "config", "0"]
    assert (tmp_path / "state" / "b2bua.sqlite3").exists()


def test_env_chooses_the_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B2BUA_DATA_DIR", str(tmp_path / "from-env"))
    assert run(capsys, "users")[0] == 0
    assert (tmp_path / "from-env" / "b2bua.sqlite3").exists()


def test_listings_need_an_existing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("registrations", "calls", "blacklist", "contacts", "managers", "outbox"):
        status, out, err = run(capsys, command, "--data-dir", str(tmp_path / "none"))
        assert status == 1 and out == ""
        assert "has not run there yet" in err
    assert not (tmp_path / "none").exists()


@pytest.fixture
def filled(tmp_path: Path, fixed_clock: float) -> Path:
    data = tmp_path / "data"
    now = fixed_clock
    with open_store(data) as store:
        store.save_binding(Binding(aor="102", contact_uri="sip:102@10.0.0.7:5080;transport=tcp",
                                   transport="tcp", source_host="10.0.0.7", source_port=40312,
                                   expires_at=now + 300, call_id="r", cseq=2,
                                   user_agent="baresip v1.0.0"))
        store.create_call(CallRecord(id="c1", started_at=now - 600, direction="inbound",
                                     caller_number="+79161234567", called_number="7000",
                                     employee="101", disposition="answered", duration=125.0))
        store.add_call_tag("c1", "important", now - 590)
        store.add_call_event("c1", now - 589, "option", {"key": "1", "option": "tag"})
        store.add_call_event("c1", now - 580, "option", {"key": "7", "option": "record"})
        store.create_call(CallRecord(id="c2", started_at=now - 60, direction="outbound",
                                     caller_number="102", called_number="+74951112233",
                                     employee="102"))
        store.add_to_blacklist(BlacklistEntry(number="+74950000001", added_at=now,
                                              reason="spam", added_by="101"))
        store.save_contact(Contact(group="VIP", number="+79161234567", saved_at=now,
                                   saved_by="101"))
        store.set_manager("+79161234567", "101", now)
        store.queue_sms("+79161234567", "Demo Office card", now, "c1")
    return data


def test_registrations_table(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "registrations", "--data-dir", str(filled))
    assert status == 0
    header, row = out.splitlines()
    assert header.split() == ["EXT", "CONTACT", "SOURCE", "EXPIRES", "IN", "USER", "AGENT"]
    assert row.split() == ["102", "sip:102@10.0.0.7:5080;transport=tcp", "tcp",
                           "10.0.0.7:40312", "300s", "baresip", "v1.0.0"]


def test_calls_table_and_filters(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["STARTED", "DIRECTION", "FROM"]
    assert lines[1].split()[2:] == ["outbound", "102", "+74951112233", "102", "in", "progress",
                                    "-", "-", "-"]
    assert lines[2].split()[2:] == ["inbound", "+79161234567", "7000", "101", "answered",
                                    "2:05", "important", "tag,record"]
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--tag", "important")
    assert [line.split()[2] for line in out.splitlines()[1:]] == ["inbound"]
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--employee", "102")
    assert [line.split()[2] for line in out.splitlines()[1:]] == ["outbound"]
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--tag", "none")
    assert out == "no calls\n"


def test_calls_json(filled: Path, capsys: pytest.CaptureFixture[str], fixed_clock: float) -> None:
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--json", "--limit", "1",
                         "--number", "+7 916 123-45-67")
    assert status == 0
    calls: list[dict[str, Any]] = json.loads(out)
    assert len(calls) == 1
    call = calls[0]
    assert (call["id"], call["disposition"], call["duration"]) == ("c1", "answered", 125.0)
    assert call["tags"] == ["important"] and call["options"] == ["tag", "record"]
    assert [event["detail"]["key"] for event in call["events"]] == ["1", "7"]
    assert call["started_at"] == fixed_clock - 600


def test_calls_since_until(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--since", "2100-01-01")
    assert (status, out) == (0, "no calls\n")
    status, out, _ = run(capsys, "calls", "--data-dir", str(filled), "--until", "2100-01-01",
                         "--since", "2000-01-01T00:00")
    assert len(out.splitlines()) == 3


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--since", "yesterday"]])
def test_calls_bad_options_are_usage_errors(
    filled: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["calls", "--data-dir", str(filled), *argv])
    assert exited.value.code == 2
    assert "b2bua calls: error" in capsys.readouterr().err


def test_blacklist_contacts_managers_outbox(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "blacklist", "--data-dir", str(filled))
    assert out.splitlines()[1].split()[0] == "+74950000001"
    assert out.splitlines()[1].split()[-2:] == ["101", "spam"]
    _, out, _ = run(capsys, "contacts", "--data-dir", str(filled))
    assert out.splitlines()[1].split()[:2] == ["VIP", "1"]
    _, out, _ = run(capsys, "contacts", "--data-dir", str(filled), "VIP")
    assert out.splitlines()[1].split()[:3] == ["+79161234567", "-", "101"]
    _, out, _ = run(capsys, "contacts", "--data-dir", str(filled), "Nobody")
    assert out == "no contacts in 'Nobody'\n"
    _, out, _ = run(capsys, "managers", "--data-dir", str(filled))
    assert out.splitlines()[1].split()[:2] == ["+79161234567", "101"]
    _, out, _ = run(capsys, "outbox", "--data-dir", str(filled))
    row = out.splitlines()[1].split()
    assert row[1:4] == ["+79161234567", "queued", "0"]
    assert row[-3:] == ["Demo", "Office", "card"]
    _, out, _ = run(capsys, "outbox", "--data-dir", str(filled), "--status", "failed")
    assert out == "the outbox is empty\n"


def test_listing_does_not_write(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database, journal = filled / "b2bua.sqlite3", filled / "b2bua.sqlite3-wal"
    before = database.read_bytes()
    assert not journal.exists() or journal.stat().st_size == 0
    for command in ("registrations", "calls", "blacklist", "contacts", "managers", "outbox"):
        assert run(capsys, command, "--data-dir", str(filled))[0] == 0
    assert database.read_bytes() == before
    assert not journal.exists() or journal.stat().st_size == 0


@pytest.fixture
def service_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Config, Path]]:
    """Stand in for the service module: record what serve hands it and return at once."""
    runs: list[tuple[Config, Path]] = []

    async def run_service(config: Config, data_dir: Path) -> None:
        runs.append((config, data_dir))

    module = types.ModuleType("b2bua.app.service")
    module.run = run_service  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "b2bua.app.service", module)
    return runs


def test_serve_prints_new_passwords_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    service_runs: list[tuple[Config, Path]],
) -> None:
    data = tmp_path / "data"
    status, out, _ = run(capsys, "serve", "--data-dir", str(data), "--sip-trace")
    assert status == 0
    assert "b2bua 0.1.0: the demo office (no --config given)" in out
    assert "SIP: udp+tcp 127.0.0.1:5060" in out
    shown = dict(line.split()[::3] for line in out.splitlines() if line.startswith("  1"))
    assert sorted(shown) == ["101", "102", "103", "104", "105"]
    assert "new web API token" in out
    with open_store(data) as store:
        assert {c.extension: c.password for c in store.list_credentials()} == shown
    config, data_dir = service_runs[0]
    assert config.sip.trace is True and data_dir == data.absolute()
    status, out, _ = run(capsys, "serve", "--data-dir", str(data))
    assert status == 0
    assert "new passwords" not in out and "new web API token" not in out
    assert service_runs[1][0].sip.trace is False


def test_serve_refuses_a_bad_config_before_touching_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    service_runs: list[tuple[Config, Path]],
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("calls: {ring_timeout: -1}\n")
    status, out, err = run(capsys, "serve", "--config", str(bad), "--data-dir",
                           str(tmp_path / "data"))
    assert status == 1 and out == ""
    assert err == "config error: calls.ring_timeout: should be greater than 0, got -1\n"
    assert service_runs == [] and not (tmp_path / "data").exists()


def test_command_runs_as_a_module() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "b2bua.app.cli", "--help"],
        capture_output=True, text=True, timeout=60, env=environment, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: b2bua")
    assert "check-config" in done.stdout
