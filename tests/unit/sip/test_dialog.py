"""Dialogs: creation on both sides, requests within them, routing, CSeq order."""

import pytest

from b2bua.sip.dialog import (
    CONFIRMED,
    EARLY,
    Dialog,
    incoming_request_dialog_id,
    incoming_response_dialog_id,
    initial_request,
)
from b2bua.sip.errors import LocalProtocolError, RemoteProtocolError
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.parser import parse_message
from b2bua.sip.uri import NameAddr, SipURI

INVITE = (
    b"INVITE sip:bob@b2bua.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2\r\n"
    b"Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bKpc\r\n"
    b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    b"From: Alice <sip:alice@example.com>;tag=a1\r\n"
    b"To: Bob <sip:bob@example.com>\r\n"
    b"Call-ID: dlg-1\r\n"
    b"CSeq: 10 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.10:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def received_invite() -> Request:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    return message


def uas_dialog(status: int = 200) -> Dialog:
    request = received_invite()
    response = make_response(request, status, to_tag="b1",
                             headers=[("Contact", "<sip:bob@192.0.2.1>")])
    return Dialog.from_uas(request, response)


def test_uas_dialog_state() -> None:
    dialog = uas_dialog()
    assert dialog.id == ("dlg-1", "b1", "a1")
    assert dialog.state == CONFIRMED
    assert str(dialog.remote_target) == "sip:alice@192.0.2.10:5060"
    assert [str(r) for r in dialog.route_set] == [
        "<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.remote_cseq == 10
    assert dialog.local_contact == "<sip:bob@192.0.2.1>"
    assert uas_dialog(180).state == EARLY


def test_uas_bye_uses_loose_routes_and_the_next_cseq() -> None:
    dialog = uas_dialog()
    bye = dialog.create_request("BYE")
    assert bye.uri_text == "sip:alice@192.0.2.10:5060"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert bye.from_.tag == "b1" and bye.from_.uri_text == "sip:bob@example.com"
    assert bye.to.tag == "a1" and bye.to.uri_text == "sip:alice@example.com"
    assert bye.cseq.seq == 1 and bye.cseq.method == "BYE"
    assert "Contact" not in bye.headers
    assert dialog.create_request("INFO").cseq.seq == 2
    assert str(dialog.next_hop) == "sip:p2.example.com;lr"


def test_reinvite_carries_contact_and_body() -> None:
    dialog = uas_dialog()
    reinvite = dialog.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.headers.get("Contact") == "<sip:bob@192.0.2.1>"
    assert reinvite.content_type == "application/sdp"
    assert reinvite.body == b"v=0\r\n"


def test_uac_dialog_reverses_record_route_and_acks_with_the_invite_cseq() -> None:
    request = initial_request(
        "INVITE", "sip:bob@example.com",
        from_=NameAddr("sip:alice@example.com", params={"tag": "a1"}),
        to=NameAddr("sip:bob@example.com"), call_id="uac-1", cseq=20,
        contact="<sip:alice@192.0.2.1>")
    response = make_response(request, 200, to_tag="b9", headers=[
        ("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
        ("Contact", "<sip:bob@192.0.2.20>")])
    dialog = Dialog.from_uac(request, response)
    assert dialog.id == ("uac-1", "a1", "b9")
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p2.example.com;lr", "sip:p1.example.com;lr"]
    ack = dialog.create_request("ACK", cseq=20)
    assert ack.cseq.seq == 20 and ack.cseq.method == "ACK"
    assert ack.uri_text == "sip:bob@192.0.2.20"
    assert dialog.local_cseq == 20
    assert dialog.create_request("BYE").cseq.seq == 21
    with pytest.raises(LocalProtocolError):
        dialog.create_request("ACK")


def test_uac_dialog_needs_a_to_tag() -> None:
    request = initial_request("INVITE", "sip:b@example.com", from_=NameAddr("sip:a@example.com"),
                              to=NameAddr("sip:b@example.com"), call_id="x")
    response = make_response(request, 180)
    with pytest.raises(RemoteProtocolError):
        Dialog.from_uac(request, response)


def test_strict_router_takes_the_request_uri() -> None:
    dialog = uas_dialog()
    dialog.route_set = [NameAddr("sip:strict.example.com;maddr=192.0.2.99;x=1"),
                        NameAddr("sip:p1.example.com;lr")]
    request = dialog.create_request("BYE")
    assert request.uri_text == "sip:strict.example.com;x=1"
    assert request.headers.get_all("Route") == [
        "<sip:p1.example.com;lr>", "<sip:alice@192.0.2.10:5060>"]


def test_no_route_set_goes_straight_to_the_remote_target() -> None:
    dialog = uas_dialog()
    dialog.route_set = []
    request = dialog.create_request("BYE")
    assert "Route" not in request.headers
    assert isinstance(dialog.next_hop, SipURI)
    assert dialog.next_hop.host == "192.0.2.10"


def in_dialog(method: str, cseq: int, contact: str | None = None) -> Request:
    lines = [
        f"{method} sip:bob@192.0.2.1 SIP/2.0",
        "Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bKin" + str(cseq),
        "From: Alice <sip:alice@example.com>;tag=a1",
        "To: Bob <sip:bob@example.com>;tag=b1",
        "Call-ID: dlg-1",
        f"CSeq: {cseq} {method}",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    message = parse_message(("\r\n".join([*lines, "Content-Length: 0"]) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_receive_request_checks_cseq_order_and_refreshes_the_target() -> None:
    dialog = uas_dialog()
    request = in_dialog("INVITE", 11, "<sip:alice@192.0.2.77>")
    assert dialog.matches(request)
    assert incoming_request_dialog_id(request) == dialog.id
    dialog.receive_request(request)
    assert dialog.remote_cseq == 11
    assert str(dialog.remote_target) == "sip:alice@192.0.2.77"
    dialog.receive_request(in_dialog("INFO", 12, "<sip:elsewhere@192.0.2.78>"))
    assert str(dialog.remote_target) == "sip:alice@192.0.2.77"  # INFO refreshes nothing
    with pytest.raises(RemoteProtocolError) as caught:
        dialog.receive_request(in_dialog("BYE", 5))
    assert caught.value.status_hint == 500
    dialog.receive_request(in_dialog("ACK", 1))  # ACK keeps its INVITE's number
    assert dialog.remote_cseq == 12


def test_early_uac_dialog_is_confirmed_by_the_2xx() -> None:
    request = initial_request("INVITE", "sip:bob@example.com",
                              from_=NameAddr("sip:alice@example.com", params={"tag": "a1"}),
                              to=NameAddr("sip:bob@example.com"), call_id="early-1")
    ringing = make_response(request, 180, to_tag="b3", headers=[("Contact", "<sip:bob@192.0.2.3>")])
    dialog = Dialog.from_uac(request, ringing)
    assert dialog.state == EARLY
    ok = make_response(request, 200, to_tag="b3", headers=[
        ("Contact", "<sip:bob@192.0.2.4>"), ("Record-Route", "<sip:p.example.com;lr>")])
    assert isinstance(ok, Response)
    assert incoming_response_dialog_id(ok) == dialog.id
    dialog.receive_response(ok, "INVITE")
    assert dialog.state == CONFIRMED
    assert str(dialog.remote_target) == "sip:bob@192.0.2.4"
    assert [str(r) for r in dialog.route_set] == ["<sip:p.example.com;lr>"]
