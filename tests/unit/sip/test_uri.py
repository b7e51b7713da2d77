"""SIP URIs, tel URIs and name-addr: parsing, fields, round trips."""

import pytest

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.uri import AbsoluteURI, NameAddr, SipURI, TelURI, parse_uri

ROUND_TRIPS = [
    "sip:alice@atlanta.example.com",
    "sips:bob:secret@biloxi.example.com:5061;transport=tcp;lr",
    "sip:+12125551212@gateway.example.com;user=phone",
    "sip:[2001:db8::1]:5070",
    "sip:carol@[2001:db8::10];maddr=[2001:db8::1];transport=udp",
    "sip:%61lice%40home@example.com;x-custom=%20space?Subject=hi%20there&Priority=urgent",
    "sip:example.com",
    "sip:user;npdi;rn=+19005551212@example.com",
    "sip:192.0.2.4:5060;ob",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_sip_uri_round_trips(text: str) -> None:
    assert str(SipURI.parse(text)) == text


def test_sip_uri_fields() -> None:
    uri = SipURI.parse("sips:bob:secret@Biloxi.Example.com:5061;Transport=TCP;lr?Subject=x")
    assert uri.scheme == "sips"
    assert uri.user == "bob"
    assert uri.password == "secret"
    assert uri.host == "Biloxi.Example.com"
    assert uri.port == 5061
    assert uri.params == {"transport": "TCP", "lr": None}
    assert uri.transport == "tcp"
    assert uri.lr
    assert uri.secure
    assert uri.headers == {"Subject": "x"}
    assert uri.aor == "sips:bob@biloxi.example.com"


def test_ipv6_reference_keeps_brackets_and_port() -> None:
    uri = SipURI.parse("sip:alice@[2001:db8::1]:5070")
    assert uri.host == "[2001:db8::1]"
    assert uri.port == 5070
    assert uri.user == "alice"


def test_escapes_are_kept_and_decodable() -> None:
    uri = SipURI.parse("sip:%61lice%40home@example.com")
    assert uri.user == "%61lice%40home"
    assert uri.decoded_user == "alice@home"
    assert uri.aor == "sip:alice@home@example.com"


def test_user_part_may_carry_semicolons() -> None:
    uri = SipURI.parse("sip:user;npdi;rn=+19005551212@example.com;user=phone")
    assert uri.user == "user;npdi;rn=+19005551212"
    assert uri.params == {"user": "phone"}


def test_replace_builds_a_changed_copy() -> None:
    uri = SipURI.parse("sip:alice@example.com;transport=tcp")
    moved = uri.replace(port=5070, params={})
    assert str(moved) == "sip:alice@example.com:5070"
    assert str(uri) == "sip:alice@example.com;transport=tcp"


def test_equality_ignores_host_case() -> None:
    assert SipURI.parse("sip:a@EXAMPLE.com") == SipURI.parse("sip:a@example.com")
    assert SipURI.parse("sip:a@example.com") != SipURI.parse("sip:b@example.com")


@pytest.mark.parametrize(
    "text",
    ["sip:", "sip:alice@", "sip:alice@host:port", "sip:alice@host:70000", "sip:a b@host",
     "http://example.com", "sip:@host", "sip:alice@[2001:db8::1", "sip:alice@host;=x"],
)
def test_bad_sip_uris_are_refused(text: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        SipURI.parse(text)
    assert caught.value.reason == "Bad URI"
    assert caught.value.status_hint == 400


def test_tel_uri_passes_through() -> None:
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert isinstance(uri, TelURI)
    assert uri.number == "+1-201-555-0123"
    assert uri.params == {"phone-context": "example.com"}
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


def test_other_schemes_are_kept_verbatim() -> None:
    uri = parse_uri("urn:service:sos")
    assert isinstance(uri, AbsoluteURI)
    assert uri.scheme == "urn"
    assert str(uri) == "urn:service:sos"


def test_parse_uri_dispatches_on_scheme_case_insensitively() -> None:
    assert isinstance(parse_uri("SIP:alice@example.com"), SipURI)
    assert parse_uri("SIP:alice@example.com").scheme == "sip"


# -- name-addr ------------------------------------------------------------------------------


def test_name_addr_with_quoted_display_name_and_escapes() -> None:
    value = r'"Alice \"Al\" Smith \\ co" <sip:alice@example.com>;tag=1928301774;x=y'
    addr = NameAddr.parse(value)
    assert addr.display_name == 'Alice "Al" Smith \\ co'
    assert addr.uri_text == "sip:alice@example.com"
    assert addr.tag == "1928301774"
    assert addr.params == {"tag": "1928301774", "x": "y"}
    assert NameAddr.parse(str(addr)) == addr


def test_name_addr_with_token_display_name() -> None:
    addr = NameAddr.parse("Bob Smith <sip:bob@example.com>")
    assert addr.display_name == "Bob Smith"
    assert str(addr) == '"Bob Smith" <sip:bob@example.com>'


def test_bare_addr_spec_parameters_belong_to_the_header() -> None:
    addr = NameAddr.parse("sip:bob@example.com;tag=abc;expires=60")
    assert addr.uri_text == "sip:bob@example.com"
    assert addr.tag == "abc"
    assert addr.expires == 60
    assert isinstance(addr.uri, SipURI)
    assert addr.uri.params == {}


def test_uri_parameters_inside_angle_brackets_stay_with_the_uri() -> None:
    addr = NameAddr.parse("<sip:bob@example.com;transport=tcp>;q=0.7;expires=3600")
    assert isinstance(addr.uri, SipURI)
    assert addr.uri.params == {"transport": "tcp"}
    assert addr.q == 0.7
    assert addr.expires == 3600


def test_quoted_parameter_values_keep_their_quotes() -> None:
    addr = NameAddr.parse(
        '<sip:a@192.0.2.1>;+sip.instance="<urn:uuid:00000000-0000-1000>";reg-id=1')
    assert addr.params["+sip.instance"] == '"<urn:uuid:00000000-0000-1000>"'
    assert addr.params["reg-id"] == "1"


def test_display_name_with_angle_bracket_and_semicolon_inside_quotes() -> None:
    addr = NameAddr.parse('"a<b>;c" <sip:x@example.com>;tag=1')
    assert addr.display_name == "a<b>;c"
    assert addr.tag == "1"


def test_wildcard_contact() -> None:
    addr = NameAddr.parse("*")
    assert addr.is_wildcard
    assert str(addr) == "*"


def test_with_tag_leaves_the_original_unchanged() -> None:
    addr = NameAddr.parse("<sip:bob@example.com>")
    tagged = addr.with_tag("xyz")
    assert tagged.tag == "xyz"
    assert addr.tag is None
    assert str(tagged) == "<sip:bob@example.com>;tag=xyz"


def test_ipv6_in_name_addr() -> None:
    addr = NameAddr.parse("<sip:alice@[2001:db8::1]:5070>;tag=9")
    assert isinstance(addr.uri, SipURI)
    assert addr.uri.host == "[2001:db8::1]"
    assert addr.uri.port == 5070


@pytest.mark.parametrize(
    "text", ['"unterminated <sip:a@b>', "<sip:a@b", '"name" sip:a@b', "<sip:a@b> junk", "", "<>"]
)
def test_bad_name_addrs_are_refused(text: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        NameAddr.parse(text)
    assert caught.value.reason == "Bad name-addr"
