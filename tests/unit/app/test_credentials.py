"""Generated passwords and the API token: created once, kept, never a well-known default."""

import itertools
import stat
from pathlib import Path

import pytest

from b2bua.app.config import parse_config
from b2bua.app.credentials import (
    API_TOKEN_FILE,
    PASSWORD_ALPHABET,
    PASSWORD_LENGTH,
    ensure_api_token,
    ensure_passwords,
    generate_password,
    prepare_data_dir,
)
from b2bua.app.defaults import default_office
from b2bua.store import open_store


def test_generated_passwords_avoid_ambiguous_characters() -> None:
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(len(password) == PASSWORD_LENGTH for password in passwords)
    used = set("".join(passwords))
    assert used <= set(PASSWORD_ALPHABET)
    assert not used & set("0Oo1lI")
    assert len(used) > 40  # the whole alphabet is in use, not a few characters


def test_password_generation_draws_from_the_given_source() -> None:
    letters = itertools.cycle("abc")
    assert generate_password(9, choose=lambda alphabet: next(letters)) == "abcabcabc"
    with pytest.raises(ValueError):
        generate_password(7)


def test_first_start_generates_then_reuses(tmp_path: Path) -> None:
    office = default_office()
    counter = itertools.count(1)

    def fake() -> str:
        return f"generated-{next(counter)}"

    with open_store(tmp_path) as store:
        created = ensure_passwords(office, store, 10.0, generate=fake)
        assert created == {
            "101": "generated-1", "102": "generated-2", "103": "generated-3",
            "104": "generated-4", "105": "generated-5",
        }
    with open_store(tmp_path) as store:
        assert ensure_passwords(office, store, 20.0, generate=fake) == {}
        assert store.get_password("103") == "generated-3"
        assert {c.source for c in store.list_credentials()} == {"generated"}


def test_configured_password_overrides_the_kept_one(tmp_path: Path) -> None:
    generated = parse_config({"employees": [{"extension": "101", "name": "A"},
                                            {"extension": "102", "name": "B"}]})
    configured = parse_config({"employees": [{"extension": "101", "name": "A",
                                              "password": "from-the-file"},
                                             {"extension": "102", "name": "B"}]})
    with open_store(tmp_path) as store:
        first = ensure_passwords(generated, store, 1.0)
        assert set(first) == {"101", "102"}
        assert ensure_passwords(configured, store, 2.0) == {}
        assert store.get_password("101") == "from-the-file"
        assert store.get_password("102") == first["102"]
        sources = {c.extension: (c.source, c.updated_at) for c in store.list_credentials()}
        assert sources == {"101": ("config", 2.0), "102": ("generated", 1.0)}
        # dropped from the file later: the last password stays, nothing new is generated
        assert ensure_passwords(generated, store, 3.0) == {}
        assert store.get_password("101") == "from-the-file"


def test_api_token_configured_kept_or_created(tmp_path: Path) -> None:
    assert ensure_api_token(tmp_path, "configured-token-1234") == ("configured-token-1234", False)
    assert not (tmp_path / API_TOKEN_FILE).exists()
    token, created = ensure_api_token(tmp_path, None)
    assert created and len(token) >= 32
    assert stat.S_IMODE((tmp_path / API_TOKEN_FILE).stat().st_mode) == 0o600
    assert ensure_api_token(tmp_path, None) == (token, False)
    (tmp_path / API_TOKEN_FILE).write_text("")
    replaced, created = ensure_api_token(tmp_path, None)
    assert created and replaced and replaced != token


def test_prepare_data_dir_reports_only_what_it_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    first = prepare_data_dir(default_office(), data_dir, 100.0)
    assert sorted(first.new_passwords) == ["101", "102", "103", "104", "105"]
    assert first.api_token_created and first.api_token
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    second = prepare_data_dir(default_office(), data_dir, 200.0)
    assert second.new_passwords == {} and not second.api_token_created
    assert second.api_token == first.api_token
    with open_store(data_dir) as store:
        assert {c.extension: c.password for c in store.list_credentials()} == first.new_passwords
