"""The Prometheus text exposition and the peer check of ``/metrics``."""

from __future__ import annotations

import math

import pytest

from b2bua.web.metrics import LOOPBACK, allowed_peer, exposition, format_value, networks


@pytest.mark.parametrize(
    ("value", "text"),
    [(3, "3"), (3.0, "3"), (0.25, "0.25"), (-2.0, "-2"), (math.nan, "NaN"),
     (math.inf, "+Inf"), (-math.inf, "-Inf"), (1e300, "1e+300"),
     (2.0**60, "1.152921504606847e+18")],
)
def test_sample_values(value: float, text: str) -> None:
    assert format_value(value) == text


def test_families_are_sorted_with_help_and_type_once() -> None:
    text = exposition({
        "b2bua_z_total": 1,
        'b2bua_a{kind="x"}': 2,
        'b2bua_a{kind="y"}': 3,
    }, help_texts={"b2bua_a": "The A.\nSecond line \\ here"})
    assert text == (
        "# HELP b2bua_a The A.\\nSecond line \\\\ here\n"
        "# TYPE b2bua_a gauge\n"
        'b2bua_a{kind="x"} 2\n'
        'b2bua_a{kind="y"} 3\n'
        "# HELP b2bua_z_total b2bua z total.\n"
        "# TYPE b2bua_z_total counter\n"
        "b2bua_z_total 1\n"
    )


@pytest.mark.parametrize(
    "sample",
    ["9lives", "with space", "b2bua_x{bad}", 'b2bua_x{a="1"', "b2bua_x{a=1}", "", "b2bua-x"],
)
def test_invalid_names_are_left_out(sample: str) -> None:
    assert exposition({sample: 1.0, "b2bua_ok": 1.0}) == (
        "# HELP b2bua_ok b2bua ok.\n# TYPE b2bua_ok gauge\nb2bua_ok 1\n"
    )


def test_non_numbers_are_left_out() -> None:
    assert exposition({"b2bua_flag": True, "b2bua_text": "3"}) == ""  # type: ignore[dict-item]


def test_labels_with_escapes_are_kept() -> None:
    sample = 'b2bua_x{path="a\\"b",le="+Inf",}'
    assert exposition({sample: 1}).splitlines()[-1] == f"{sample} 1"


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.10", False),
        ("2001:db8::1", False),
        ("fe80::1%eth0", False),
        ("not-an-address", False),
        (None, True),
    ],
)
def test_loopback_peers(remote: str | None, allowed: bool) -> None:
    assert allowed_peer(remote, networks(LOOPBACK)) is allowed


def test_configured_networks_replace_loopback() -> None:
    allowed = networks(["10.0.0.0/8", "192.0.2.7"])
    assert allowed_peer("10.20.30.40", allowed)
    assert allowed_peer("192.0.2.7", allowed)
    assert not allowed_peer("192.0.2.8", allowed)
    assert not allowed_peer("127.0.0.1", allowed)


def test_a_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match="not an IP network: 'ten'"):
        networks(["ten"])
