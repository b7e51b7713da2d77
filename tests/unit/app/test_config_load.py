"""Loading configuration files: YAML traps, paths, the demo office, the data directory."""

import wave
from pathlib import Path

import pytest

from b2bua.app.config import (
    DATA_DIR_ENV,
    Config,
    ConfigError,
    HangupStep,
    MusicStep,
    PlayStep,
    RingGroupStep,
    RingStep,
    TagOption,
    apply_overrides,
    load_config,
    parse_config,
    resolve_data_dir,
)
from b2bua.app.config_source import parse_yaml
from b2bua.app.defaults import DEMO_OFFICE_YAML, default_office


def write_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 80)


def test_demo_office_is_the_documented_one() -> None:
    office = load_config(None)
    assert office is default_office()
    assert [e.extension for e in office.employees] == ["101", "102", "103", "104", "105"]
    assert all(employee.password is None for employee in office.employees)
    assert [e.extension for e in office.trainees_of("105")] == ["101", "102"]
    assert (office.sip.listen, office.sip.port, office.sip.transports) == (
        "127.0.0.1", 5060, ("udp", "tcp")
    )
    route = office.route_for("7000")
    assert route is not None and route.ring == "101"
    assert {option.option for option in office.keys.values()} == {
        "tag", "scenario", "manager", "trainer", "blacklist", "contact", "record", "sms", "move"
    }
    assert "#" not in office.keys and "*" not in office.keys


def test_example_file_and_embedded_office_agree(tmp_path: Path) -> None:
    path = tmp_path / "office.yaml"
    path.write_text(DEMO_OFFICE_YAML)
    assert load_config(path) == default_office()


def test_every_field_survives_a_json_round_trip() -> None:
    office = default_office()
    assert parse_config(office.model_dump(mode="json")) == office


def test_yaml_numbers_stay_text() -> None:
    config = parse_config(parse_yaml("""
employees:
  - {extension: 0101, name: Leading Zero}
  - {extension: 102, name: Plain}
trunk: {host: gw}
numbers:
  +74957000000: {ring: 102}
  7000: {ring: 0101}
"""))
    assert [e.extension for e in config.employees] == ["0101", "102"]
    assert set(config.numbers) == {"+74957000000", "7000"}
    route = config.route_for("7000")
    assert route is not None and route.ring == "0101"


def test_phone_numbers_are_normalized() -> None:
    config = parse_config(parse_yaml("""
employees:
  - {extension: "101", name: A, numbers: ["+7 (916) 123-45-67"]}
trunk: {host: gw, caller_id: "+7 495 700-00-00"}
numbers:
  "+7 495 700-00-01": {ring: "101"}
"""))
    assert config.employees[0].numbers == ("+79161234567",)
    assert config.trunk is not None and config.trunk.caller_id == "+74957000000"
    assert config.route_for("+7 (495) 700 00 01") is not None


def test_a_key_given_twice_is_an_error_with_lines() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_yaml('keys:\n  "1": {option: move}\n  "2": {option: record}\n  1: {option: tag}\n')
    assert raised.value.message == (
        "config error: <config>:4:3: key '1' is given twice in one mapping (line 2 and line 4)"
    )


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sip:\n  port: 5060\n keys: [\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.message.startswith(f"config error: {path}:3:")


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["", "# only comments\n"])
def test_empty_file_is_an_empty_office(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.employees == () and config.keys == {}
    assert config.sip.port == 5060


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        parse_config(["sip"])


def test_scenario_steps_short_and_long_forms(tmp_path: Path) -> None:
    (tmp_path / "sounds").mkdir()
    write_wav(tmp_path / "sounds" / "hello.wav")
    write_wav(tmp_path / "hold.wav")
    path = tmp_path / "office.yaml"
    path.write_text("""
employees: [{extension: "101", name: A}]
groups: {sales: ["101"]}
scenarios:
  s:
    - play: sounds/hello.wav
    - music: 2.5
    - music: {seconds: 10, file: hold.wav}
    - ring: 101
    - ring: {extension: "101", timeout: 12}
    - ring_group: sales
    - {kind: ring_group, group: sales, timeout: 5}
    - hangup
""")
    steps = load_config(path).scenarios["s"]
    assert steps == (
        PlayStep(file=str(tmp_path / "sounds" / "hello.wav")),
        MusicStep(seconds=2.5),
        MusicStep(seconds=10, file=str(tmp_path / "hold.wav")),
        RingStep(extension="101"),
        RingStep(extension="101", timeout=12),
        RingGroupStep(group="sales"),
        RingGroupStep(group="sales", timeout=5),
        HangupStep(),
    )
    assert steps[1].file == "builtin:music"


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "office.yaml").write_text("data_dir: state\nrecording: {directory: rec}\n")
    config = load_config(folder / "office.yaml")
    assert config.data_dir == folder / "state"
    assert config.recording.directory_in(Path("/elsewhere")) == folder / "rec"
    assert default_office().recording.directory_in(Path("/d")) == Path("/d/recordings")


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    configured = parse_config({"data_dir": "/srv/from-config"})
    plain = parse_config({})
    assert resolve_data_dir(plain, environ={}) == tmp_path / "b2bua-data"
    assert resolve_data_dir(configured, environ={}) == Path("/srv/from-config")
    env = {DATA_DIR_ENV: "/srv/from-env"}
    assert resolve_data_dir(configured, environ=env) == Path("/srv/from-env")
    assert resolve_data_dir(configured, Path("cli"), environ=env) == tmp_path / "cli"


def test_trunk_routing() -> None:
    config = parse_config(parse_yaml("""
employees: [{extension: "101", name: A}]
numbers: {"7000": {ring: "101"}}
trunk: {host: gw, outbound_prefixes: ["+", "8"], outbound_pattern: '\\+?[0-9]{7,15}'}
"""))
    assert config.goes_to_trunk("+79161234567")
    assert config.goes_to_trunk("89161234567")
    assert not config.goes_to_trunk("101")  # an extension
    assert not config.goes_to_trunk("7000")  # a company number
    assert not config.goes_to_trunk("79161234567")  # no allowed prefix
    assert not config.goes_to_trunk("+7916")  # too short for the pattern
    no_trunk = parse_config({})
    assert not no_trunk.goes_to_trunk("+79161234567")
    open_trunk = parse_config({"trunk": {"host": "gw"}})
    assert open_trunk.goes_to_trunk("12345")


def test_config_is_frozen() -> None:
    office = default_office()
    with pytest.raises(ValueError):
        office.sip.port = 5070
    assert office.sip.port == 5060


def test_overrides_replace_whole_sections() -> None:
    office = default_office()
    changed = apply_overrides(office, {"keys": {"1": {"option": "tag", "tag": "callback"}},
                                       "transfer": {"mode": "consult"}})
    assert changed.keys == {"1": TagOption(option="tag", tag="callback")}
    assert changed.transfer.mode == "consult" and changed.transfer.digit_timeout == 3.0
    assert changed.employees == office.employees
    assert office.keys["1"] == TagOption(option="tag", tag="important")  # the old one is intact


def test_bad_overrides_are_refused_whole() -> None:
    office = default_office()
    with pytest.raises(ConfigError) as raised:
        apply_overrides(office, {"keys": {"2": {"option": "scenario", "scenario": "gone"}},
                                 "transfer": {"mode": "consult"}})
    assert raised.value.message == (
        "config error: keys.\"2\".scenario: no scenario 'gone' (known: welcome)"
    )
    with pytest.raises(ConfigError, match="colour: unknown section"):
        apply_overrides(office, {"colour": "blue"})


def test_models_can_be_built_in_code() -> None:
    config = Config.model_validate({"employees": [{"extension": 101, "name": "A"}]})
    assert config.employee("101") is not None and config.employee("102") is None
    assert config.extensions == frozenset({"101"})
    assert config.sip.realm == "127.0.0.1"
    assert parse_config({"sip": {"domain": "office.example"}}).sip.realm == "office.example"


def test_star_key_when_quoted_and_its_yaml_trap() -> None:
    config = parse_config(parse_yaml('keys:\n  "*": {option: move}\n  0: {option: record}\n'))
    assert set(config.keys) == {"*", "0"}
    with pytest.raises(ConfigError, match="config error: <config>:2:"):
        parse_yaml("keys:\n  *: {option: move}\n")
