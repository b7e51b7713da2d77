"""Header names, parameters, comma lists, Via and CSeq."""

import pytest

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import (
    COMPACT_FORMS,
    CSeq,
    Via,
    canonical_name,
    header_key,
    parse_params,
    quote,
    split_values,
    unquote,
)


@pytest.mark.parametrize(
    ("compact", "full"),
    [("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
     ("f", "From"), ("t", "To"), ("v", "Via"), ("k", "Supported"), ("c", "Content-Type"),
     ("s", "Subject"), ("o", "Event"), ("u", "Allow-Events"), ("r", "Refer-To"),
     ("b", "Referred-By"), ("y", "Identity"), ("j", "Reject-Contact"), ("a", "Accept-Contact"),
     ("x", "Session-Expires"), ("d", "Request-Disposition"), ("n", "Identity-Info")],
)
def test_compact_forms_expand(compact: str, full: str) -> None:
    assert header_key(compact) == full.lower()
    assert header_key(compact.upper()) == full.lower()
    assert canonical_name(compact) == full


def test_every_compact_form_is_tested() -> None:
    assert len(COMPACT_FORMS) == 20


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("call-id", "Call-ID"), ("CSEQ", "CSeq"), ("www-authenticate", "WWW-Authenticate"),
     ("proxy-authorization", "Proxy-Authorization"), ("x-custom-thing", "X-Custom-Thing"),
     ("Via ", "Via")],
)
def test_canonical_names(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


@pytest.mark.parametrize("name", ["", "Bad Name", "Na:me", "Ünïcode"])
def test_bad_header_names(name: str) -> None:
    with pytest.raises(RemoteProtocolError):
        header_key(name)


def test_split_values_respects_quotes_and_angle_brackets() -> None:
    value = '"Doe, John" <sip:j@a.com;x=a,b>;q=0.5 , <sip:k@b.com>,sip:l@c.com'
    assert split_values(value) == [
        '"Doe, John" <sip:j@a.com;x=a,b>;q=0.5', "<sip:k@b.com>", "sip:l@c.com"]


def test_split_values_drops_empty_items_and_escaped_quotes_do_not_end_strings() -> None:
    assert split_values(r'a, , "x \", y", b') == ["a", r'"x \", y"', "b"]


def test_split_values_refuses_unterminated_quote() -> None:
    with pytest.raises(RemoteProtocolError):
        split_values('"open, b')


def test_quote_and_unquote_are_inverse() -> None:
    text = 'say "hi" \\ bye'
    assert quote(text) == '"say \\"hi\\" \\\\ bye"'
    assert unquote(quote(text)) == text
    assert unquote("token") == "token"


def test_parse_params_fast_and_slow_paths_agree() -> None:
    assert parse_params("branch=z9hG4bK1;rport;TTL=16") == {
        "branch": "z9hG4bK1", "rport": None, "ttl": "16"}
    assert parse_params(' branch = z9hG4bK1 ; lr ; x="a;b"') == {
        "branch": "z9hG4bK1", "lr": None, "x": '"a;b"'}


def test_parse_params_refuses_empty_names() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_params("a=1;;b")


# -- Via ------------------------------------------------------------------------------------


def test_via_common_shape() -> None:
    via = Via.parse("SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776;received=192.0.2.1")
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0", "UDP", "pc33.example.com", 5060)
    assert via.branch == "z9hG4bK776"
    assert via.received == "192.0.2.1"
    assert not via.rport_requested
    assert via.rport is None
    assert not via.reliable


def test_via_rport_without_and_with_value() -> None:
    asked = Via.parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;rport")
    assert asked.rport_requested
    assert asked.rport is None
    stamped = Via.parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;rport=5071;received=198.51.100.9")
    assert stamped.rport_requested
    assert stamped.rport == 5071


def test_via_with_linear_white_space_everywhere() -> None:
    via = Via.parse(
        "SIP / 2.0 / tcp   host.example.com : 5070 ; branch = z9hG4bKx ;received=1.2.3.4")
    assert via.transport == "TCP"
    assert via.host == "host.example.com"
    assert via.port == 5070
    assert via.branch == "z9hG4bKx"
    assert via.received == "1.2.3.4"
    assert via.reliable


def test_via_ipv6_sent_by() -> None:
    via = Via.parse("SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKv6;received=2001:db8::9")
    assert via.host == "[2001:db8::9]"
    assert via.port == 5070
    assert via.received == "2001:db8::9"


def test_via_serializes_back_and_copies_independently() -> None:
    text = "SIP/2.0/UDP h.example.com:5060;branch=z9hG4bK1;rport"
    via = Via.parse(text)
    assert str(via) == text
    copy = via.copy()
    copy.params["received"] = "192.0.2.2"
    assert "received" not in via.params
    assert str(copy) == text + ";received=192.0.2.2"


@pytest.mark.parametrize(
    "text",
    ["", "SIP/2.0/UDP", "garbage", "SIP/2.0/UDP host:99999;branch=x", "SIP/2.0 host",
     "SIP/2.0/UDP ho st;branch=1", "SIP/2.0/UDP host;branch=1;;x"],
)
def test_malformed_vias(text: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        Via.parse(text)
    assert caught.value.reason == "Malformed Via"


# -- CSeq -----------------------------------------------------------------------------------


def test_cseq() -> None:
    cseq = CSeq.parse("  314159   INVITE ")
    assert cseq == CSeq(314159, "INVITE")
    assert str(cseq) == "314159 INVITE"


@pytest.mark.parametrize("text", ["", "1", "INVITE 1", "-1 INVITE", "2147483648 INVITE",
                                  "1 INVITE extra", "99999999999 BYE", "1 IN@VITE"])
def test_bad_cseq(text: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        CSeq.parse(text)
    assert caught.value.reason == "Bad CSeq"
