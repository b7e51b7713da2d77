"""Phone numbers as keys: one spelling per number, so that lookups match however it was typed."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")


def normalize_number(raw: str) -> str:
    """Return the canonical spelling of a phone number: a leading ``+`` if given, then digits.

    ``normalize_number("+7 (916) 123-45-67") == "+79161234567"``. Spaces, dashes, dots,
    brackets and any other non-digit characters are dropped. A number with no digit at all
    (``"anonymous"``, ``""``) is refused with ``ValueError``: it cannot identify a caller.
    """
    text = raw.strip()
    digits = _NON_DIGITS.sub("", text)
    if not digits:
        raise ValueError(f"not a phone number: {raw!r}")
    return "+" + digits if text.startswith("+") else digits


def number_or_none(raw: str) -> str | None:
    """Like ``normalize_number`` but answer ``None`` for text that holds no number."""
    try:
        return normalize_number(raw)
    except ValueError:
        return None
