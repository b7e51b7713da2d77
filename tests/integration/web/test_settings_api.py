"""Settings over HTTP: read without secrets, replace a whole section, refused whole with the
configuration's own message; the key map shortcut and the key editor's catalogue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from b2bua.app.config import OPTION_NAMES, Config

from .conftest import EMPLOYEE_PASSWORD, TOKEN, Api, OfficeControl


async def test_settings_show_every_section_and_no_secret(api: Api, control: OfficeControl) -> None:
    response = await api.request("GET", "/api/settings")
    text = await response.text()
    settings = json.loads(text)
    assert set(settings) == set(Config.model_fields)
    assert TOKEN not in text and EMPLOYEE_PASSWORD not in text
    assert all("password" not in employee for employee in settings["employees"])
    assert "api_token" not in settings["web"]
    assert settings["transfer"] == {
        "mode": "blind", "answer_timeout": 20.0, "return_on_no_answer": True,
        "digit_timeout": 3.0, "hold_music": "builtin:music",
    }
    assert settings["keys"]["6"] == {"option": "contact", "group": "VIP", "feedback": True}


async def test_one_section_and_an_unknown_one(api: Api) -> None:
    assert (await api.json("GET", "/api/settings/blacklist")) == {"reject_status": 603}
    assert await api.json("GET", "/api/settings/trunk") is None
    body = await api.json("GET", "/api/settings/nothing", status=404)
    assert body["error"].startswith("no settings section 'nothing' (known: data_dir, sip")
    await api.json("PUT", "/api/settings/nothing", status=404, json={})


async def test_a_good_key_map_is_applied_visible_and_persisted(
    api: Api, control: OfficeControl
) -> None:
    keys = await api.json("GET", "/api/keys")
    keys["*"] = {"option": "tag", "tag": "callback"}
    del keys["0"]
    saved = await api.json("PUT", "/api/keys", json=keys)
    assert saved["*"] == {"option": "tag", "tag": "callback", "feedback": True}
    assert "0" not in saved
    assert await api.json("GET", "/api/keys") == saved
    assert (await api.json("GET", "/api/settings/keys")) == saved
    assert control.config.keys["*"].option == "tag"
    assert control.store.get_setting("keys") == saved


@pytest.mark.parametrize(
    ("keys", "message", "location"),
    [
        ({"2": {"option": "scenario", "scenario": "nope"}},
         "config error: keys.\"2\".scenario: no scenario 'nope' (known: welcome)",
         ["keys", "2", "scenario"]),
        ({"1": {"option": "tag"}}, 'config error: keys."1".tag: required', ["keys", "1", "tag"]),
        ({"1": {"option": "fly"}}, 'config error: keys."1".option: unknown option',
         ["keys", "1", "option"]),
        ({"#": {"option": "tag", "tag": "x"}},
         "config error: keys: '#' is reserved for transfer", ["keys"]),
        ({"1": {"option": "tag", "tag": "x", "colour": "red"}},
         "config error: keys.\"1\": unknown key 'colour'", ["keys", "1"]),
        ([1, 2], "config error: keys: should be a mapping", ["keys"]),
    ],
)
async def test_a_bad_key_map_is_refused_with_the_config_error_and_changes_nothing(
    api: Api, control: OfficeControl, keys: Any, message: str, location: list[str]
) -> None:
    before_config = control.config
    before = await api.json("GET", "/api/keys")
    body = await api.json("PUT", "/api/keys", status=400, json=keys)
    assert body["error"].startswith(message)
    assert body["problems"][0]["location"] == location
    assert control.config is before_config
    assert await api.json("GET", "/api/keys") == before
    assert control.store.get_setting("keys") is None


async def test_transfer_settings_are_replaced_whole(api: Api, control: OfficeControl) -> None:
    saved = await api.json("PUT", "/api/settings/transfer", json={
        "mode": "consult", "answer_timeout": 15, "return_on_no_answer": False,
    })
    assert saved == {"mode": "consult", "answer_timeout": 15.0, "return_on_no_answer": False,
                     "digit_timeout": 3.0, "hold_music": "builtin:music"}
    assert control.config.transfer.mode == "consult"
    assert control.store.get_setting("transfer") == saved


async def test_deleting_a_section_returns_to_the_file(api: Api, control: OfficeControl) -> None:
    await api.json("PUT", "/api/settings/transfer", json={"mode": "consult"})
    assert control.config.transfer.mode == "consult"
    restored = await api.json("DELETE", "/api/settings/transfer")
    assert restored["mode"] == "blind"
    assert control.config.transfer.mode == "blind"
    assert control.store.get_setting("transfer") is None
    body = await api.json("DELETE", "/api/settings/data_dir", status=400)
    assert "cannot be changed while the service runs" in body["error"]


async def test_bad_transfer_settings_name_the_field(api: Api, control: OfficeControl) -> None:
    body = await api.json("PUT", "/api/settings/transfer", status=400, json={
        "mode": "teleport", "answer_timeout": -1, "hold_music": "builtin:jazz",
    })
    locations = [problem["location"] for problem in body["problems"]]
    assert ["transfer", "mode"] in locations
    assert ["transfer", "answer_timeout"] in locations
    assert ["transfer", "hold_music"] in locations
    assert "config error: transfer.answer_timeout: should be greater than 0" in body["error"]
    assert control.config.transfer.mode == "blind"


async def test_employees_put_back_without_passwords_keep_them(
    api: Api, control: OfficeControl
) -> None:
    employees = await api.json("GET", "/api/settings/employees")
    employees[2]["name"] = "Vera S."
    saved = await api.json("PUT", "/api/settings/employees", json=employees)
    assert saved[2]["name"] == "Vera S." and "password" not in saved[0]
    assert control.config.employees[2].name == "Vera S."
    assert control.config.employees[0].password == EMPLOYEE_PASSWORD
    assert EMPLOYEE_PASSWORD in json.dumps(control.store.get_setting("employees"))


async def test_a_password_given_explicitly_replaces_the_kept_one(
    api: Api, control: OfficeControl
) -> None:
    employees = await api.json("GET", "/api/settings/employees")
    employees[0]["password"] = "a-new-password"
    await api.json("PUT", "/api/settings/employees", json=employees)
    assert control.config.employees[0].password == "a-new-password"


async def test_the_web_section_keeps_its_token(api: Api, control: OfficeControl) -> None:
    web = await api.json("GET", "/api/settings/web")
    assert web == {"listen": "127.0.0.1", "port": 8080}
    await api.json("PUT", "/api/settings/web", json={**web, "port": 8081})
    assert control.config.web.port == 8081
    assert control.config.web.api_token == TOKEN


async def test_cross_section_problems_come_back(api: Api, control: OfficeControl) -> None:
    body = await api.json("PUT", "/api/settings/sms", status=400, data="null",
                          headers={"Content-Type": "application/json"})
    assert body["error"] == 'config error: keys."8": the sms option needs the sms section ' \
        "(the SMS gateway)"
    assert body["problems"] == [{
        "path": 'keys."8"', "location": ["keys", "8"],
        "problem": "the sms option needs the sms section (the SMS gateway)",
    }]
    assert control.config.sms is not None


async def test_the_data_directory_is_not_changed_live(api: Api) -> None:
    body = await api.json("PUT", "/api/settings/data_dir", status=400, json="/tmp/elsewhere")
    assert "cannot be changed while the service runs" in body["error"]


async def test_settings_bodies_must_be_json(api: Api, control: OfficeControl) -> None:
    response = await api.request("PUT", "/api/keys", data="1=tag")
    assert response.status == 415
    body = await api.json("PUT", "/api/keys", status=400, data="{",
                          headers={"Content-Type": "application/json"})
    assert body["error"].startswith("the body is not valid JSON")
    assert control.store.get_setting("keys") is None


async def test_the_key_option_catalogue(api: Api) -> None:
    catalogue = await api.json("GET", "/api/key-options")
    assert catalogue["keys"] == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*"]
    assert catalogue["transfer_key"] == "#"
    assert list(catalogue["options"]) == list(OPTION_NAMES)
    assert catalogue["options"]["tag"]["title"] == "Tag the call"
    assert catalogue["options"]["tag"]["fields"] == [
        {"name": "tag", "required": True, "default": None}
    ]
    assert catalogue["options"]["sms"]["fields"] == [
        {"name": "text", "required": False, "default": None}
    ]
    assert catalogue["options"]["manager"]["fields"] == []
