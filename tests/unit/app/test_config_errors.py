"""Bad configurations are refused with messages naming the key path and the problem."""

import textwrap

import pytest

from b2bua.app.config import ConfigError, parse_config
from b2bua.app.config_source import parse_yaml

OFFICE = """
employees:
  - {extension: "101", name: Anna, trainer: "105"}
  - {extension: "102", name: Boris}
  - {extension: "105", name: Daria}
groups:
  sales: ["101", "102"]
numbers:
  "7000": {ring: "101"}
scenarios:
  welcome: [play: builtin:welcome, ring_group: sales]
keys:
  "1": {option: tag, tag: vip}
"""


def problems(yaml_text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(parse_yaml(textwrap.dedent(yaml_text)))
    return raised.value.message.splitlines()


def with_office(extra: str) -> str:
    return OFFICE + textwrap.dedent(extra)


def test_the_office_used_below_is_valid() -> None:
    config = parse_config(parse_yaml(OFFICE))
    assert [employee.extension for employee in config.employees] == ["101", "102", "105"]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("employees: [{extension: '1', name: A}]", "employees[0].extension: must be 2-6 digits"),
        ("employees: [{extension: 1234567, name: A}]",
         "employees[0].extension: must be 2-6 digits"),
        ("employees: [{extension: '10a', name: A}]",
         "employees[0].extension: must be 2-6 digits"),
        ("employees: [{extension: '101'}]", "employees[0].name: required"),
        ("employees: [{extension: '101', name: A, password: short}]",
         "employees[0].password: string should have at least 8 characters, got 'short'"),
        ("sip: {port: 70000}",
         "sip.port: should be less than or equal to 65535, got 70000"),
        ("sip: {transports: [udp, sctp]}",
         "sip.transports[1]: should be 'udp' or 'tcp', got 'sctp'"),
        ("sip: {listen: localhost}", "sip.listen: must be an IP address, got 'localhost'"),
        ("sip: {prot: 5060}",
         "sip: unknown key 'prot' (expected one of listen, port, transports, "
         "advertised_address, domain, user_agent, max_message_size, digest_algorithms, trace)"),
        ("sip: {listen: 0.0.0.0}",
         "sip: advertised_address: required when listening on every address "
         "(the address phones and peers should use)"),
        ("media: {rtp_ports: 20001-29999}",
         "media.rtp_ports: must start on an even port, got 20001"),
        ("media: {rtp_ports: lots}",
         "media.rtp_ports: expected FIRST-LAST, e.g. 20000-29999, got 'lots'"),
        ("calls: {session_expires: 60}",
         "calls.session_expires: should be greater than or equal to 90, got 60"),
        ("calls: {session_expires: 100, min_session_expires: 120}",
         "calls: session_expires: must not be below min_session_expires"),
        ("calls: {ring_timeout: 0}", "calls.ring_timeout: should be greater than 0, got 0"),
        ("blacklist: {reject_status: 404}",
         "blacklist.reject_status: should be 403, 480, 486 or 603, got 404"),
        ("transfer: {mode: warm}", "transfer.mode: should be 'blind' or 'consult', got 'warm'"),
        ("recording: {format: mp3}",
         "recording.format: should be 'stereo-wav' or 'mono-wav', got 'mp3'"),
        ("registrar: {min_expires: 600, default_expires: 60}",
         "registrar: needs min_expires <= default_expires <= max_expires"),
        ("web: {api_token: short}",
         "web.api_token: string should have at least 16 characters, got 'short'"),
        ("trunk: {host: gw, username: office}",
         "trunk: give both username and password, or neither"),
        ("trunk: {host: gw, outbound_pattern: '(+'}",
         "trunk: outbound_pattern: not a regular expression: "
         "nothing to repeat at position 1"),
        ("sms: {gateway: smtp, card_text: x}",
         "sms.gateway: should be 'sip' or 'http', got 'smtp'"),
        ("sms: {gateway: http, card_text: x, url: ftp://x}",
         "sms.url: string should match pattern '^https?://', got 'ftp://x'"),
        ("employees: {extension: '101'}", "employees: should be a list"),
        ("sip: [udp]", "sip: should be a mapping"),
        ("groups: [sales]", "groups: should be a mapping"),
        ("colour: blue",
         "unknown key 'colour' (expected one of data_dir, sip, registrar, media, web, "
         "employees, groups, numbers, scenarios, keys, transfer, calls, blacklist, recording, "
         "trunk, sms)"),
        ("keys: {'#': {option: move}}", "keys: '#' is reserved for transfer"),
        ("keys: {'a': {option: move}}", "keys: 'a' is not a phone key (expected one of 0-9, *)"),
        ("numbers: {'+7 495 1': {scenario: x}, '+74951': {scenario: x}}",
         "numbers: '+7 495 1' and '+74951' are the same number +74951"),
        ("numbers: {'call-us': {scenario: x}}",
         "numbers.\"call-us\": not a phone number: 'call-us'"),
    ],
)
def test_one_bad_value(yaml_text: str, expected: str) -> None:
    assert problems(yaml_text) == [f"config error: {expected}"]


def test_unknown_option_names_the_choices() -> None:
    assert problems("keys:\n  4: {option: trainr}\n") == [
        "config error: keys.\"4\".option: unknown option 'trainr' (expected one of tag, "
        "scenario, manager, trainer, blacklist, contact, record, sms, move)"
    ]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("{option: tag}", 'keys."1".tag: required'),
        ("{tag: vip}", 'keys."1".option: required'),
        ("{option: blacklist, group: VIP}",
         "keys.\"1\": unknown key 'group' (expected one of option, feedback, reason)"),
        ("{option: contact, group: ''}",
         "keys.\"1\".group: string should have at least 1 character, got ''"),
        ("{option: record, feedback: maybe}",
         "keys.\"1\".feedback: should be a valid boolean, unable to interpret input, "
         "got 'maybe'"),
    ],
)
def test_bad_key_option(keys: str, expected: str) -> None:
    assert problems(f"keys:\n  1: {keys}\n") == [f"config error: {expected}"]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("[plya: x.wav]", "scenarios.s[0]: unknown step 'plya' (expected one of play, music, "
                          "ring, ring_group, hangup)"),
        ("[5]", "scenarios.s[0]: unknown step '5' (expected one of play, music, ring, "
                "ring_group, hangup)"),
        ("[music: -1]", "scenarios.s[0].music.seconds: should be greater than 0, got -1"),
        ("[play: builtin:welcom]",
         "scenarios.s[0].play.file: unknown built-in sound 'welcom' (expected one of music, "
         "welcome, goodbye)"),
        ("[play: prompt.mp3]",
         "scenarios.s[0].play.file: sound files are WAV files (.wav), got 'prompt.mp3'"),
        ("[{music: {seconds: 5, fiel: x.wav}}]",
         "scenarios.s[0].music: unknown key 'fiel' (expected one of seconds, file)"),
        ("[]", "scenarios: s: a scenario needs at least one step"),
    ],
)
def test_bad_scenario_step(steps: str, expected: str) -> None:
    assert problems(f"scenarios:\n  s: {steps}\n") == [f"config error: {expected}"]


def test_missing_sound_file_names_the_resolved_path() -> None:
    lines = problems("scenarios:\n  s: [play: /nonexistent/hello.wav]\n")
    assert lines == [
        "config error: scenarios.s[0].play.file: sound file not found: /nonexistent/hello.wav"
    ]


def test_field_errors_come_before_cross_references() -> None:
    lines = problems("""
        employees:
          - {extension: "101", name: Anna, trainer: "109"}
        numbers:
          "7000": {ring: "103"}
          "7002": {ring: "101", scenario: missing}
    """)
    assert lines == [
        'config error: numbers."7002": give exactly one of ring, ring_group, scenario',
    ]


def test_cross_references_are_all_reported_at_once() -> None:
    lines = problems("""
        employees:
          - extension: "101"
            name: Anna
            trainer: "109"
            numbers: ["+7 916 000-00-01", "7000", "102"]
          - {extension: "101", name: Again, trainer: "101"}
          - {extension: "102", name: Boris}
        groups:
          sales: ["101", "109", "101"]
          empty: []
        numbers:
          "7000": {ring: "103"}
          "102": {ring_group: support}
          "7001": {scenario: missing}
        scenarios:
          s: [hangup, {ring: "104"}, {ring_group: nobody}]
        keys:
          "2": {option: scenario, scenario: t}
          "8": {option: sms}
    """)
    assert lines == [
        "config error: employees[1].extension: extension 101 is already used by employees[0]",
        "config error: employees[0].trainer: no employee with extension 109",
        "config error: employees[0].numbers: extra numbers are called through the trunk; "
        "no trunk is set",
        "config error: employees[0].numbers[1]: 7000 is a company number",
        "config error: employees[0].numbers[2]: 102 is an extension",
        "config error: employees[1].trainer: an employee cannot be their own trainer",
        "config error: groups.sales[1]: no employee with extension 109",
        "config error: groups.sales[2]: 101 is listed twice",
        "config error: groups.empty: a ring group needs at least one extension",
        'config error: numbers."7000".ring: no employee with extension 103',
        'config error: numbers."102": company number 102 is also an extension',
        "config error: numbers.\"102\".ring_group: no ring group 'support' (known: empty, sales)",
        "config error: numbers.\"7001\".scenario: no scenario 'missing' (known: s)",
        "config error: scenarios.s[0]: the steps after hangup are never reached",
        "config error: scenarios.s[1].ring: no employee with extension 104",
        "config error: scenarios.s[2].ring_group: no ring group 'nobody' (known: empty, sales)",
        "config error: keys.\"2\".scenario: no scenario 't' (known: s)",
        'config error: keys."8": the sms option needs the sms section (the SMS gateway)',
    ]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("sms: {gateway: sip, card_text: hi}",
         "sms.uri: required for the sip gateway when no trunk is set"),
        ("sms: {gateway: http, card_text: hi}", "sms.url: required for the http gateway"),
        ("web: {port: 5060}", "web.port: port 5060 is taken by SIP over TCP"),
        ("media: {rtp_ports: 5000-6000}", "media.rtp_ports: the range holds the SIP port 5060"),
    ],
)
def test_section_level_conflicts(yaml_text: str, expected: str) -> None:
    assert problems(yaml_text) == [f"config error: {expected}"]


def test_conflicts_disappear_when_sockets_differ() -> None:
    config = parse_config(parse_yaml(
        "sip: {transports: [udp]}\nweb: {port: 5060}\n"
        "media: {address: 127.0.0.2, rtp_ports: 5000-6000}\n"
    ))
    assert (config.web.port, config.media.rtp_ports.first) == (5060, 5000)
