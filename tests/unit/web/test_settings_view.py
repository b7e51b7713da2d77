"""Settings as the API shows and takes them: secrets left out and kept, refused settings split
into problems by key path, and the catalogue of key options."""

from __future__ import annotations

from typing import Any

import pytest

from b2bua.app.config import OPTION_NAMES, Config, ConfigError, apply_overrides, load_config
from b2bua.app.config import parse_config as parse
from b2bua.web.settings import (
    config_problems,
    keep_secrets,
    key_options,
    public_section,
    public_settings,
)


def office_with_secrets() -> Config:
    data = load_config(None).model_dump(mode="json")
    data["employees"][0]["password"] = "pw-of-anna-101"
    data["web"]["api_token"] = "t" * 20
    data["trunk"] = {"host": "192.0.2.20", "username": "office", "password": "trunk-secret"}
    return parse(data)


def test_secrets_are_left_out_of_every_section() -> None:
    config = office_with_secrets()
    shown = repr(public_settings(config))
    assert "pw-of-anna-101" not in shown and "t" * 20 not in shown and "trunk-secret" not in shown
    trunk = public_section(config, "trunk")
    assert trunk["username"] == "office" and "password" not in trunk
    assert public_section(config, "web") == {"listen": "127.0.0.1", "port": 8080}
    anna = public_section(config, "employees")[0]
    assert anna["name"] == "Anna Ivanova" and "password" not in anna


def test_an_unknown_section_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        public_section(office_with_secrets(), "nothing")


@pytest.mark.parametrize("section", ["employees", "web", "trunk"])
def test_a_section_shown_then_put_back_unchanged_changes_nothing(section: str) -> None:
    config = office_with_secrets()
    back = keep_secrets(config, section, public_section(config, section))
    assert apply_overrides(config, {section: back}) == config


def test_secrets_given_explicitly_win() -> None:
    config = office_with_secrets()
    trunk = {**public_section(config, "trunk"), "username": None, "password": None}
    changed = apply_overrides(config, {"trunk": keep_secrets(config, "trunk", trunk)})
    assert changed.trunk is not None and changed.trunk.password is None
    employees = public_section(config, "employees")
    employees[0]["password"] = "another-password"
    kept = keep_secrets(config, "employees", employees)
    assert kept[0]["password"] == "another-password"


def test_a_new_employee_gets_no_ones_password() -> None:
    config = office_with_secrets()
    employees = public_section(config, "employees")
    employees[0]["extension"] = "111"  # renumbered: the old password does not follow
    kept = keep_secrets(config, "employees", employees)
    assert "password" not in kept[0]


@pytest.mark.parametrize("value", [None, "text", [1, "x"], 5])
def test_odd_section_values_pass_through_for_validation(value: Any) -> None:
    config = office_with_secrets()
    for section in ("employees", "web", "trunk"):
        assert keep_secrets(config, section, value) == value


def test_sections_without_secrets_pass_through() -> None:
    value = {"mode": "consult"}
    assert keep_secrets(office_with_secrets(), "transfer", value) is value


@pytest.mark.parametrize(
    ("line", "location", "problem"),
    [
        ('config error: keys."4".tag: required', ["keys", "4", "tag"], "required"),
        ("config error: employees[2].extension: must be 2-6 digits",
         ["employees", 2, "extension"], "must be 2-6 digits"),
        ('config error: scenarios.welcome[0].ring: no employee with extension 999',
         ["scenarios", "welcome", 0, "ring"], "no employee with extension 999"),
        ('config error: numbers."+74957000000".scenario: no scenario',
         ["numbers", "+74957000000", "scenario"], "no scenario"),
        ('config error: keys."a: b": odd', ["keys", "a: b"], "odd"),
        ("config error: keys: '#' is reserved", ["keys"], "'#' is reserved"),
        ("config error: the configuration must be a mapping of sections", [],
         "the configuration must be a mapping of sections"),
        ("something else entirely", [], "something else entirely"),
        ('config error: keys."4: broken', [], 'keys."4: broken'),
    ],
)
def test_problems_name_their_key_path(line: str, location: list[Any], problem: str) -> None:
    [found] = config_problems(line)
    assert found["location"] == location
    assert found["problem"] == problem


def test_every_line_of_a_real_config_error_is_a_problem() -> None:
    config = office_with_secrets()
    with pytest.raises(ConfigError) as refused:
        apply_overrides(config, {"transfer": {"mode": "x", "digit_timeout": 0}})
    problems = config_problems(refused.value.message)
    assert len(problems) == len(refused.value.message.splitlines()) == 2
    assert {tuple(p["location"]) for p in problems} == {
        ("transfer", "mode"), ("transfer", "digit_timeout")
    }


def test_the_catalogue_offers_every_option_with_its_fields() -> None:
    catalogue = key_options()
    assert list(catalogue["options"]) == list(OPTION_NAMES)
    fields = {name: [f["name"] for f in option["fields"]]
              for name, option in catalogue["options"].items()}
    assert fields == {
        "tag": ["tag"], "scenario": ["scenario"], "manager": [], "trainer": [],
        "blacklist": ["reason"], "contact": ["group"], "record": [], "sms": ["text"],
        "move": [],
    }
    assert catalogue["options"]["blacklist"]["fields"][0] == {
        "name": "reason", "required": False, "default": ""
    }
    assert all(option["title"] and option["help"] for option in catalogue["options"].values())
