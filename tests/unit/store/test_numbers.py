import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.store.numbers import normalize_number, number_or_none


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "89161234567"),
        ("  +1.202.555.0100 ", "+12025550100"),
        ("101", "101"),
        ("+", None),
    ],
)
def test_normalize_keeps_plus_and_digits(raw: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="not a phone number"):
            normalize_number(raw)
    else:
        assert normalize_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "anonymous", "  ", "+-()"])
def test_text_without_digits_is_not_a_number(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_number(raw)
    assert number_or_none(raw) is None


@given(st.text(alphabet="+0123456789 ()-.", min_size=1))
def test_normalizing_twice_changes_nothing(raw: str) -> None:
    once = number_or_none(raw)
    if once is None:
        assert not any(ch.isdigit() for ch in raw)
    else:
        assert normalize_number(once) == once
        assert once.lstrip("+").isdigit()
        assert once.startswith("+") == raw.strip().startswith("+")
