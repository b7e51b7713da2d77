"""The header container, building messages, and responses built from requests (§8.2.6)."""

import pytest

from b2bua.sip.errors import LocalProtocolError
from b2bua.sip.message import Headers, Request, Response, make_response, reason_phrase
from b2bua.sip.parser import parse_message

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, "
    b"SIP/2.0/UDP pc.example.com;branch=z9hG4bKc1\r\n"
    b"Record-Route: <sip:proxy.example.com;lr>\r\n"
    b"t: Bob <sip:bob@example.com>\r\n"
    b"From: Alice <sip:alice@example.com>;tag=a1\r\n"
    b"Call-ID: resp-1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Contact: <sip:alice@pc.example.com>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_headers_get_is_case_insensitive_and_knows_compact_forms() -> None:
    headers = Headers([("Call-ID", "x"), ("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Via", "b, c")])
    assert headers.get("i") == "x"
    assert headers.get("CALL-ID") == "x"
    assert headers.get("via") == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert headers.get_all("Via") == ["SIP/2.0/UDP a;branch=z9hG4bK1", "b", "c"]
    assert "call-id" in headers
    assert "Route" not in headers
    assert headers.get("Route", "none") == "none"
    assert len(headers) == 3


def test_headers_keep_order_and_names_as_written() -> None:
    headers = Headers([("X-One", "1"), ("v", "a"), ("X-Two", "2")])
    headers.add("x-one", "3")
    assert list(headers) == [("X-One", "1"), ("v", "a"), ("X-Two", "2"), ("x-one", "3")]
    assert headers.get_all("X-ONE") == ["1", "3"]


def test_headers_set_replaces_every_line_in_place_of_the_first() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    headers.set("A", "9")
    assert list(headers) == [("A", "9"), ("B", "2")]
    headers.set("C", "4")
    assert list(headers)[-1] == ("C", "4")


def test_headers_remove_counts() -> None:
    headers = Headers([("Route", "<sip:a>"), ("Route", "<sip:b>"), ("To", "x")])
    assert headers.remove("route") == 2
    assert headers.remove("route") == 0
    assert list(headers) == [("To", "x")]


def test_push_top_replace_top_and_pop_top() -> None:
    headers = Headers([("To", "t"), ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c")])
    headers.push_top("Via", "SIP/2.0/UDP a;branch=z9hG4bK1")
    assert headers.get_all("via")[0] == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert next(iter(headers)) == ("To", "t")
    headers.replace_top("via", "SIP/2.0/UDP z;branch=z9hG4bK0")
    assert headers.get_all("via")[0] == "SIP/2.0/UDP z;branch=z9hG4bK0"
    assert headers.pop_top("via") == "SIP/2.0/UDP z;branch=z9hG4bK0"
    assert headers.pop_top("via") == "SIP/2.0/UDP b;branch=z9hG4bK2"
    assert headers.get_all("via") == ["SIP/2.0/UDP c"]
    with pytest.raises(LocalProtocolError):
        headers.replace_top("route", "<sip:x>")


def test_parsed_views_follow_header_changes() -> None:
    message = parse_message(INVITE)
    assert message.top_via.host == "proxy.example.com"
    message.headers.pop_top("via")
    assert message.top_via.host == "pc.example.com"
    assert message.cseq.seq == 7
    message.headers.set("CSeq", "8 INVITE")
    assert message.cseq.seq == 8


def test_serialize_sets_content_length_from_the_body() -> None:
    request = Request("MESSAGE", "sip:bob@example.com", [("Content-Length", "0")], b"hello")
    assert request.serialize().endswith(b"Content-Length: 5\r\n\r\nhello")
    request = Request("MESSAGE", "sip:bob@example.com", [("To", "<sip:bob@example.com>")])
    assert request.serialize() == (
        b"MESSAGE sip:bob@example.com SIP/2.0\r\nTo: <sip:bob@example.com>\r\n"
        b"Content-Length: 0\r\n\r\n")


def test_serialize_keeps_compact_content_length_name() -> None:
    message = parse_message(INVITE.replace(b"Content-Length: 0", b"l: 0"))
    message.body = b"abc"
    assert b"\r\nl: 3\r\n\r\nabc" in message.serialize()


def test_missing_required_header_is_a_local_error() -> None:
    request = Request("OPTIONS", "sip:a@example.com")
    with pytest.raises(LocalProtocolError):
        _ = request.call_id


def test_request_uri_may_be_given_as_text_or_object() -> None:
    request = Request("OPTIONS", "sip:a@example.com;transport=tcp")
    assert request.uri_text == "sip:a@example.com;transport=tcp"
    assert request.uri.params == {"transport": "tcp"}  # type: ignore[union-attr]
    request.uri = request.uri.replace(params={})  # type: ignore[union-attr]
    assert request.start_line() == "OPTIONS sip:a@example.com SIP/2.0"


def test_make_response_copies_the_transaction_headers() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    response = make_response(request, 180, to_tag="b7")
    assert response.start_line() == "SIP/2.0 180 Ringing"
    assert response.serialize() == (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, "
        b"SIP/2.0/UDP pc.example.com;branch=z9hG4bKc1\r\n"
        b"Record-Route: <sip:proxy.example.com;lr>\r\n"
        b"t: Bob <sip:bob@example.com>;tag=b7\r\n"
        b"From: Alice <sip:alice@example.com>;tag=a1\r\n"
        b"Call-ID: resp-1\r\n"
        b"CSeq: 7 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert response.to.tag == "b7"


def test_make_response_without_record_route_for_errors_and_trying_without_tag() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    busy = make_response(request, 486, to_tag="b7", headers=[("Retry-After", "30")])
    assert "Record-Route" not in busy.headers
    assert busy.headers.get("Retry-After") == "30"
    assert busy.reason == "Busy Here"
    trying = make_response(request, 100, to_tag="b7")
    assert trying.to.tag is None


def test_make_response_keeps_an_existing_to_tag() -> None:
    request = parse_message(INVITE.replace(b"t: Bob <sip:bob@example.com>",
                                           b"t: Bob <sip:bob@example.com>;tag=old"))
    assert isinstance(request, Request)
    assert make_response(request, 200, to_tag="new").to.tag == "old"


def test_response_reason_phrases() -> None:
    assert Response(487).reason == "Request Terminated"
    assert Response(499).reason == "Bad Request"
    assert Response(200, "Fine").reason == "Fine"
    assert reason_phrase(513) == "Message Too Large"
