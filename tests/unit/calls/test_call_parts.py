"""Pure parts of the call layer: INFO keys, the failure chosen among forks, session timers."""

from __future__ import annotations

import pytest

from b2bua.calls.dtmf_info import parse_dtmf_info
from b2bua.calls.offers import is_refresh
from b2bua.calls.ringing import failure_status
from b2bua.calls.session_timer import session_expires, supports_timer
from b2bua.sdp.session import parse_sdp
from b2bua.sip.parser import parse_message


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", ("5", 160)),
    ("application/dtmf-relay", b"Signal= #\nDuration= 250", ("#", 250)),
    ("application/dtmf-relay", b"Signal=11\r\nDuration=100\r\n", ("#", 100)),
    ("Application/DTMF-Relay; charset=x", b"signal=*", ("*", 160)),
    ("application/dtmf-relay", b"Signal=5\r\nDuration=oops", ("5", 160)),
    ("application/dtmf", b"7\r\n", ("7", 160)),
    ("application/dtmf-relay", b"Signal=X\r\n", None),
    ("application/dtmf-relay", b"Duration=100", None),
    ("application/dtmf", b"77", None),
    ("text/plain", b"Signal=5", None),
    (None, b"Signal=5", None),
])
def test_dtmf_info_bodies(content_type: str | None, body: bytes,
                          expected: tuple[str, int] | None) -> None:
    assert parse_dtmf_info(content_type, body) == expected


def test_failure_status_prefers_busy_and_decline_over_no_answer() -> None:
    assert failure_status([(480, "x"), (486, "Busy Here")]) == (486, "Busy Here")
    assert failure_status([(486, "Busy"), (603, "Decline")]) == (603, "Decline")
    assert failure_status([(408, "t"), (487, "c")]) == (480, "Temporarily Unavailable")
    assert failure_status([(404, "Not Found"), (480, "x")]) == (404, "Not Found")
    assert failure_status([(503, "x")]) == (480, "Temporarily Unavailable")
    assert failure_status([]) == (480, "Temporarily Unavailable")


def invite(extra: str) -> object:
    return parse_message((
        "INVITE sip:7000@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        "From: <sip:1@127.0.0.1>;tag=a\r\nTo: <sip:7000@127.0.0.1>\r\nCall-ID: c\r\n"
        f"CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n").encode())


def test_session_expires_header_forms() -> None:
    assert session_expires(invite("Session-Expires: 1800;refresher=UAC\r\n")) == (1800, "uac")
    assert session_expires(invite("x: 600\r\n")) == (600, None)
    assert session_expires(invite("Session-Expires: soon\r\n")) is None
    assert session_expires(invite("")) is None
    assert supports_timer(invite("Supported: replaces, timer\r\n"))
    assert not supports_timer(invite("Supported: replaces\r\n"))


SDP = (b"v=0\r\no=- 7 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio 4000 RTP/AVP 0\r\n")


def test_refresh_is_same_origin_version() -> None:
    first, same, newer = (parse_sdp(SDP % v) for v in (1, 1, 2))
    assert is_refresh(first, same)
    assert not is_refresh(first, newer)
    assert not is_refresh(None, same)
