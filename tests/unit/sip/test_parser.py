"""Parsing: byte-for-byte round trips, the header views, faults with their status and reason,
size limits and stream framing."""

import pytest

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import CSeq
from b2bua.sip.message import Request, Response
from b2bua.sip.parser import MAX_HEADER_COUNT, StreamFramer, parse_message
from b2bua.sip.uri import SipURI


def wire(*lines: str, body: bytes = b"") -> bytes:
    """A message from its start line and header lines; CRLF line ends and the blank line."""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
       b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")

BASIC_INVITE = wire(
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@biloxi.example.com>",
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314159 INVITE",
    "Contact: <sip:alice@pc33.atlanta.example.com>",
    "Content-Type: application/sdp",
    f"Content-Length: {len(SDP)}",
    body=SDP,
)

COMPACT_FORMS = wire(
    "OPTIONS sip:user@example.com SIP/2.0",
    "v: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-compact",
    'f: "Quoted \\"escaped\\" name" <sip:caller@example.net>;tag=55',
    "t: sip:user@example.com",
    "i: compact-1@host1",
    "CSeq: 8 OPTIONS",
    "m: <sip:caller@host1.example.com>;expires=3600;q=0.5",
    "k: path, timer",
    "l: 0",
)

ODD_SPACING_AND_CASE = wire(
    "REGISTER sip:example.com SIP/2.0",
    "vIA  :   SIP/2.0/UDP 192.0.2.7:5060 ;  branch = z9hG4bKodd ; rport",
    "TO :sip:101@example.com",
    "from:    <sip:101@example.com>   ;   tag = x7",
    "CALL-ID:odd-1",
    "cseq:   2    REGISTER  ",
    "MAX-forwards: 70",
    "CONTACT: <sip:101@192.0.2.7:5060>;expires=600",
    "Expires:   600",
    "Content-Length:0",
)

MULTIPLE_VIAS = wire(
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP server10.example.com;branch=z9hG4bKnashds8;received=192.0.2.3",
    "Via: SIP/2.0/UDP bigbox3.site3.example.com;branch=z9hG4bK77ef4c2312983.1, "
    "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds ;received=192.0.2.1",
    "To: Bob <sip:bob@example.com>;tag=a6c85cf",
    "From: Alice <sip:alice@example.com>;tag=1928301774",
    "Call-ID: multi-via",
    "CSeq: 314159 INVITE",
    "Contact: <sip:bob@192.0.2.4>, \"Other, Bob\" <sip:bob2@192.0.2.5>;q=0.1",
    'WWW-Authenticate: Digest realm="example.com", nonce="a,b", qop="auth"',
    'WWW-Authenticate: Digest realm="example.com", nonce="c", algorithm=MD5',
    "Content-Length: 0",
)

IPV6 = wire(
    "INVITE sip:[2001:db8::10]:5070 SIP/2.0",
    "Via: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKv6;received=2001:db8::9;rport=5070",
    "To: <sip:user@[2001:db8::10]:5070>",
    "From: <sip:caller@[2001:db8::9]>;tag=v6",
    "Call-ID: ipv6@[2001:db8::9]",
    "CSeq: 1 INVITE",
    "Contact: <sip:caller@[2001:db8::9]:5070;transport=udp>",
    "Content-Length: 0",
)

ESCAPES_AND_UNKNOWN_HEADERS = wire(
    "NEWMETHOD sip:%61lice%40home@example.com;x-param=%20sp?Subject=hi%20there SIP/2.0",
    "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK-esc",
    "To: <sip:%61lice%40home@example.com>",
    'From: "J\\"o\\\\e" <sip:joe@example.com>;tag=j',
    "Call-ID: esc-1",
    "CSeq: 1 NEWMETHOD",
    "Subject:",
    "X-Strange: a,b;c=\"d,e\" <f>",
    "Date: Sat, 13 Nov 2010 23:29:00 GMT",
    "Content-Length: 4",
    body=b"\x00\xff\r\n",
)

NON_UTF8_BYTES = (
    b"MESSAGE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK-bytes\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"From: \"Ren\xe9 \xc3\xa9\" <sip:rene@example.com>;tag=r\r\n"
    b"Call-ID: bytes-1\r\n"
    b"CSeq: 1 MESSAGE\r\n"
    b"Content-Type: text/plain;charset=latin1\r\n"
    b"Content-Length: 2\r\n\r\n\xe9\n"
)

ROUND_TRIPS = {
    "basic INVITE with SDP": BASIC_INVITE,
    "compact forms": COMPACT_FORMS,
    "odd spacing and case": ODD_SPACING_AND_CASE,
    "multiple and comma-separated Vias": MULTIPLE_VIAS,
    "IPv6": IPV6,
    "escapes and unknown headers": ESCAPES_AND_UNKNOWN_HEADERS,
    "bytes that are not UTF-8": NON_UTF8_BYTES,
}


@pytest.mark.parametrize("data", ROUND_TRIPS.values(), ids=list(ROUND_TRIPS))
def test_round_trip_is_byte_for_byte(data: bytes) -> None:
    assert parse_message(data).serialize() == data


def test_basic_invite_views() -> None:
    message = parse_message(BASIC_INVITE)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert isinstance(message.uri, SipURI)
    assert message.uri.user == "bob"
    assert message.top_via.branch == "z9hG4bKnashds8"
    assert message.call_id == "a84b4c76e66710"
    assert message.cseq == CSeq(314159, "INVITE")
    assert message.from_.tag == "1928301774"
    assert message.to.tag is None
    assert message.to.display_name == "Bob"
    assert message.contact[0].uri_text == "sip:alice@pc33.atlanta.example.com"
    assert message.content_type == "application/sdp"
    assert message.max_forwards == 70
    assert message.body == SDP


def test_compact_forms_read_like_full_names() -> None:
    message = parse_message(COMPACT_FORMS)
    assert message.call_id == "compact-1@host1"
    assert message.top_via.transport == "TCP"
    assert message.from_.display_name == 'Quoted "escaped" name'
    assert message.headers.get("Supported") == "path, timer"
    assert message.headers.get_all("k") == ["path", "timer"]
    assert message.contact[0].expires == 3600
    assert message.headers.get("content-length") == "0"


def test_names_are_case_insensitive_and_spacing_is_ignored() -> None:
    message = parse_message(ODD_SPACING_AND_CASE)
    assert message.top_via.branch == "z9hG4bKodd"
    assert message.top_via.rport_requested
    assert message.from_.tag == "x7"
    assert message.cseq == CSeq(2, "REGISTER")
    assert message.expires == 600
    assert message.headers.get("call-id") == "odd-1"
    assert [name for name, _ in message.headers][:2] == ["vIA", "TO"]


def test_repeated_and_comma_separated_headers() -> None:
    message = parse_message(MULTIPLE_VIAS)
    assert isinstance(message, Response)
    assert message.status == 200
    assert message.reason == "OK"
    assert [via.host for via in message.via] == [
        "server10.example.com", "bigbox3.site3.example.com", "pc33.example.com"]
    assert message.via[2].received == "192.0.2.1"
    assert [c.uri_text for c in message.contact] == ["sip:bob@192.0.2.4", "sip:bob2@192.0.2.5"]
    assert message.contact[1].display_name == "Other, Bob"
    challenges = message.headers.get_all("www-authenticate")
    assert len(challenges) == 2
    assert challenges[0] == 'Digest realm="example.com", nonce="a,b", qop="auth"'


def test_ipv6_everywhere() -> None:
    message = parse_message(IPV6)
    assert isinstance(message, Request)
    assert isinstance(message.uri, SipURI)
    assert (message.uri.host, message.uri.port) == ("[2001:db8::10]", 5070)
    assert message.top_via.host == "[2001:db8::9]"
    assert message.top_via.rport == 5070


def test_escapes_and_unknown_method_and_headers() -> None:
    message = parse_message(ESCAPES_AND_UNKNOWN_HEADERS)
    assert isinstance(message, Request)
    assert message.method == "NEWMETHOD"
    assert isinstance(message.uri, SipURI)
    assert message.uri.decoded_user == "alice@home"
    assert message.uri.headers == {"Subject": "hi%20there"}
    assert message.from_.display_name == 'J"o\\e'
    assert message.headers.get("subject") == ""
    assert message.headers.get_all("X-Strange") == ['a,b;c="d,e" <f>']
    assert message.headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert message.body == b"\x00\xff\r\n"


def test_non_utf8_header_bytes_survive() -> None:
    message = parse_message(NON_UTF8_BYTES)
    assert message.from_.display_name is not None
    assert message.from_.display_name.endswith("é")
    assert message.body == b"\xe9\n"


def test_folded_lines_are_unfolded() -> None:
    data = wire(
        "OPTIONS sip:a@example.com SIP/2.0",
        "Via: SIP/2.0/UDP h.example.com",
        "  ;branch=z9hG4bKfold",
        "To: <sip:a@example.com>",
        "From: <sip:b@example.com>",
        "\t;tag=folded",
        "Call-ID: fold",
        "Subject: I know you're there,",
        "         pick up the phone",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    )
    message = parse_message(data)
    assert message.top_via.branch == "z9hG4bKfold"
    assert message.from_.tag == "folded"
    assert message.headers.get("subject") == "I know you're there, pick up the phone"
    assert message.serialize() == parse_message(message.serialize()).serialize()


def test_leading_crlf_is_ignored_and_bare_lf_accepted() -> None:
    assert parse_message(b"\r\n\r\n" + BASIC_INVITE).serialize() == BASIC_INVITE
    lf_only = BASIC_INVITE.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n") + b"\n\n" + SDP
    assert parse_message(lf_only).serialize() == BASIC_INVITE


def test_datagram_without_content_length_takes_the_rest_as_body() -> None:
    data = BASIC_INVITE.replace(f"Content-Length: {len(SDP)}\r\n".encode(), b"")
    message = parse_message(data)
    assert message.body == SDP
    assert message.serialize().endswith(f"Content-Length: {len(SDP)}\r\n\r\n".encode() + SDP)


def test_bytes_beyond_content_length_are_dropped() -> None:
    assert parse_message(BASIC_INVITE + b"garbage").body == SDP


def test_response_without_reason_phrase() -> None:
    data = MULTIPLE_VIAS.replace(b"SIP/2.0 200 OK", b"SIP/2.0 200 ")
    message = parse_message(data)
    assert isinstance(message, Response)
    assert message.reason == ""
    assert message.serialize() == data


# -- faults ---------------------------------------------------------------------------------


def replace_line(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new)


def drop_line(data: bytes, prefix: bytes) -> bytes:
    lines = data.split(b"\r\n")
    kept = [line for line in lines if not line.startswith(prefix)]
    assert len(kept) == len(lines) - 1
    return b"\r\n".join(kept)


BAD = BASIC_INVITE
# (message, status, reason, whether a partial message is kept so that a reply can be addressed)
FAULTS = {
    "missing Call-ID": (drop_line(BAD, b"Call-ID"), 400, "Missing Call-ID", True),
    "missing From": (drop_line(BAD, b"From"), 400, "Missing From", True),
    "missing To": (drop_line(BAD, b"To:"), 400, "Missing To", True),
    "missing CSeq": (drop_line(BAD, b"CSeq"), 400, "Missing CSeq", True),
    "missing Via": (drop_line(BAD, b"Via"), 400, "Missing Via", True),
    "bad CSeq number": (replace_line(BAD, b"CSeq: 314159", b"CSeq: 31a4159"), 400, "Bad CSeq",
                        True),
    "CSeq too large": (replace_line(BAD, b"CSeq: 314159", b"CSeq: 4294967296"), 400,
                       "Bad CSeq", True),
    "CSeq method mismatch": (replace_line(BAD, b"314159 INVITE", b"314159 BYE"), 400,
                             "CSeq method mismatch", True),
    "malformed Via": (replace_line(BAD, b"SIP/2.0/UDP pc33", b"SIP/2.0/UDP pc 33"), 400,
                      "Malformed Via", True),
    "malformed From": (replace_line(BAD, b"From: Alice <sip:", b"From: Alice <sip"), 400,
                       "Malformed From", True),
    "duplicate Call-ID": (replace_line(BAD, b"CSeq:", b"Call-ID: other\r\nCSeq:"), 400,
                          "Duplicate Call-ID", True),
    "Content-Length over body": (replace_line(BAD, f"Content-Length: {len(SDP)}".encode(),
                                              b"Content-Length: 9999"), 400,
                                 "Content-Length mismatch", True),
    "negative Content-Length": (replace_line(BAD, f"Content-Length: {len(SDP)}".encode(),
                                             b"Content-Length: -5"), 400, "Bad Content-Length",
                                True),
    "unsupported SIP version": (replace_line(BAD, b"SIP/2.0\r\nVia", b"SIP/7.0\r\nVia"), 505,
                                "Version Not Supported", True),
    "space in Request-URI": (replace_line(BAD, b"sip:bob@biloxi", b"sip:bob @biloxi"), 400,
                             "Bad request line", True),
    "bad Request-URI": (replace_line(BAD, b"INVITE sip:bob@biloxi.example.com",
                                     b"INVITE sip:bob@biloxi.example.com:99999"), 400,
                        "Bad Request-URI", True),
    "header line without colon": (replace_line(BAD, b"Max-Forwards: 70", b"Max-Forwards 70"),
                                  400, "Malformed header line", False),
    "bad header name": (replace_line(BAD, b"Max-Forwards:", b"Max Forwards:"), 400,
                        "Malformed header name", False),
    "no blank line": (BAD.split(b"\r\n\r\n")[0], 400, "Missing empty line after headers",
                      False),
    "bad status code": (replace_line(MULTIPLE_VIAS, b"200 OK", b"2000 OK"), 400,
                        "Bad status line", False),
    "response of another version": (replace_line(MULTIPLE_VIAS, b"SIP/2.0 200", b"SIP/3.0 200"),
                                    505, "Version Not Supported", False),
    "too many headers": (replace_line(BAD, b"Max-Forwards: 70",
                                      b"X-A: 1\r\n" * (MAX_HEADER_COUNT + 1) + b"Max-Forwards: 70"),
                         400, "Too many headers", False),
    "header line too long": (replace_line(BAD, b"Max-Forwards: 70", b"X-Long: " + b"a" * 9000),
                             400, "Header line too long", False),
}


@pytest.mark.parametrize(("data", "status", "reason", "partial"), FAULTS.values(), ids=list(FAULTS))
def test_faults_name_their_reason_and_status(data: bytes, status: int, reason: str,
                                             partial: bool) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(data)
    assert caught.value.reason == reason
    assert caught.value.status_hint == status
    assert (caught.value.message is not None) == partial


def test_over_the_size_limit_is_513_and_keeps_the_head() -> None:
    big = replace_line(BASIC_INVITE, f"Content-Length: {len(SDP)}".encode(),
                       b"Content-Length: 70000") + b"x" * (70000 - len(SDP))
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(big + SDP)
    assert (caught.value.status_hint, caught.value.reason) == (513, "Message Too Large")
    assert isinstance(caught.value.message, Request)
    assert caught.value.message.call_id == "a84b4c76e66710"


def test_size_limit_is_configurable() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(BASIC_INVITE, max_size=200)
    assert caught.value.status_hint == 513
    assert parse_message(BASIC_INVITE, max_size=len(BASIC_INVITE)).body == SDP


# -- stream framing -------------------------------------------------------------------------


def test_framer_cuts_messages_fed_in_pieces() -> None:
    framer = StreamFramer()
    stream = BASIC_INVITE + COMPACT_FORMS + BASIC_INVITE
    got: list[bytes] = []
    for i in range(0, len(stream), 37):
        got += framer.feed(stream[i : i + 37])
    assert got == [BASIC_INVITE, COMPACT_FORMS, BASIC_INVITE]
    assert framer.buffered == 0


def test_framer_answers_double_crlf_pings_and_skips_single_crlf() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []
    assert not framer.pong_due()
    assert framer.feed(b"\r\n") == []
    assert framer.pong_due()
    assert not framer.pong_due()
    assert framer.feed(b"\r\n" + BASIC_INVITE[:10]) == []
    assert framer.feed(BASIC_INVITE[10:]) == [BASIC_INVITE]
    assert not framer.pong_due()


def test_framer_refuses_a_message_without_content_length() -> None:
    framer = StreamFramer()
    with pytest.raises(RemoteProtocolError) as caught:
        framer.feed(drop_line(COMPACT_FORMS, b"l: 0"))
    assert caught.value.reason == "Missing Content-Length"


def test_framer_refuses_oversize_heads_and_bodies() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        StreamFramer(max_message_size=1000).feed(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 200)
    assert caught.value.status_hint == 513
    huge_body = replace_line(COMPACT_FORMS, b"l: 0", b"l: 100000")
    with pytest.raises(RemoteProtocolError) as caught:
        StreamFramer().feed(huge_body)
    assert caught.value.status_hint == 513
