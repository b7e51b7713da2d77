"""Keys sent as SIP INFO: `application/dtmf-relay` (Signal=/Duration=) and `application/dtmf`."""

from __future__ import annotations

DIGITS = frozenset("0123456789*#ABCD")
DEFAULT_DURATION_MS = 160
_EVENT_CODES = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}
MAX_DURATION_MS = 10_000


def parse_dtmf_info(content_type: str | None, body: bytes) -> tuple[str, int] | None:
    """(digit, duration in ms) of a DTMF INFO body, None when the body is not a key."""
    if content_type is None:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if kind == "application/dtmf-relay":
        return _relay(text)
    if kind == "application/dtmf":
        signal = _signal(text.strip())
        return (signal, DEFAULT_DURATION_MS) if signal else None
    return None


def _relay(text: str) -> tuple[str, int] | None:
    fields: dict[str, str] = {}
    for line in text.replace("\r", "\n").split("\n"):
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    signal = _signal(fields.get("signal", ""))
    if signal is None:
        return None
    try:
        duration = int(fields.get("duration", DEFAULT_DURATION_MS))
    except ValueError:
        duration = DEFAULT_DURATION_MS
    return signal, min(max(duration, 1), MAX_DURATION_MS)


def _signal(value: str) -> str | None:
    value = _EVENT_CODES.get(value, value).upper()
    return value if len(value) == 1 and value in DIGITS else None
