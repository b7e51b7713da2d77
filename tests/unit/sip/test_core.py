"""SipCore end to end: bytes and time in, events and bytes out."""

import itertools

import pytest

from b2bua.sip.core import Peer, SipCore
from b2bua.sip.errors import LocalProtocolError
from b2bua.sip.events import (
    AckReceived,
    AckTimeout,
    CancelReceived,
    MalformedMessage,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionTimeout,
    TransportFailure,
)
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.parser import parse_message
from b2bua.sip.transaction.base import State

PHONE = Peer("udp", "198.51.100.7", 40000)
LOCAL = {"udp": ("192.0.2.1", 5060), "tcp": ("192.0.2.1", 5060)}


def make_core() -> SipCore:
    numbers = itertools.count(1)
    return SipCore(local=LOCAL, token=lambda n: f"tok{next(numbers)}")


def invite(branch: str = "z9hG4bKinv1", via_extra: str = ";rport", host: str = "pc.example.com",
           method: str = "INVITE", to_tag: str = "", cseq: int = 1,
           port: str = ":5060") -> bytes:
    return (
        f"{method} sip:7000@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}{port};branch={branch}{via_extra}\r\n"
        "Max-Forwards: 70\r\n"
        "From: \"Client\" <sip:client@example.com>;tag=c1\r\n"
        f"To: <sip:7000@192.0.2.1>{to_tag}\r\n"
        "Call-ID: call-1@pc.example.com\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:client@198.51.100.7:40000>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def sent(core: SipCore) -> list[tuple[Response | Request, Peer]]:
    return [(parse_message(data), peer) for data, peer in core.pop_outgoing()]


def statuses(core: SipCore) -> list[int]:
    return [m.status for m, _ in sent(core) if isinstance(m, Response)]


def receive_invite(core: SipCore, data: bytes | None = None) -> RequestReceived:
    core.receive(data or invite(), PHONE, 0.0)
    (event,) = core.pop_events()
    assert isinstance(event, RequestReceived)
    return event


# -- UAS ------------------------------------------------------------------------------------


def test_uas_invite_flow() -> None:
    core = make_core()
    event = receive_invite(core)
    assert event.request.method == "INVITE"
    assert event.source == PHONE
    ((trying, peer),) = sent(core)
    assert isinstance(trying, Response) and trying.status == 100
    assert peer == PHONE  # rport: back to the source port
    assert trying.top_via.received == "198.51.100.7"
    assert trying.top_via.rport == 40000
    transaction = event.transaction
    core.respond(transaction, make_response(event.request, 180, to_tag="u1"), 0.1)
    ok = make_response(event.request, 200, to_tag="u1",
                       headers=[("Contact", "<sip:b2bua@192.0.2.1>")])
    core.respond(transaction, ok, 0.2)
    assert statuses(core) == [180, 200]
    assert transaction.state is State.ACCEPTED
    ack = invite(branch="z9hG4bKack1", method="ACK", to_tag=";tag=u1")
    core.receive(ack, PHONE, 0.3)
    (acked,) = core.pop_events()
    assert isinstance(acked, AckReceived)
    assert acked.transaction is transaction
    assert acked.request.method == "ACK"
    assert transaction.response_data is None  # the 2xx bytes are let go once acknowledged
    core.handle_timer(1.0)
    assert core.pop_outgoing() == []  # no 2xx retransmission after the ACK
    assert core.next_deadline() == pytest.approx(32.2)  # Timer L only


def test_2xx_is_retransmitted_until_the_ack() -> None:
    core = make_core()
    event = receive_invite(core)
    core.pop_outgoing()
    core.respond(event.transaction, make_response(event.request, 200, to_tag="u1"), 0.0)
    core.pop_outgoing()
    times = []
    for _ in range(3):
        deadline = core.next_deadline()
        assert deadline is not None
        core.handle_timer(deadline)
        assert statuses(core) == [200]
        times.append(deadline)
    assert times == [0.5, 1.5, 3.5]
    core.receive(invite(branch="z9hG4bKack2", method="ACK", to_tag=";tag=u1"), PHONE, 4.0)
    assert isinstance(core.pop_events()[0], AckReceived)
    core.handle_timer(7.5)
    assert core.pop_outgoing() == []


def test_2xx_without_ack_is_given_up_at_64_t1() -> None:
    core = make_core()
    event = receive_invite(core)
    response = make_response(event.request, 200, to_tag="u1")
    core.respond(event.transaction, response, 0.0)
    core.pop_outgoing()
    times = []
    while (deadline := core.next_deadline()) is not None:
        core.handle_timer(deadline)
        if core.pop_outgoing():
            times.append(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    events = core.pop_events()
    assert events == [AckTimeout(event.transaction, response)]


def test_retransmitted_invite_is_absorbed_and_answered_with_the_last_response() -> None:
    core = make_core()
    event = receive_invite(core)
    core.pop_outgoing()
    core.respond(event.transaction, make_response(event.request, 180, to_tag="u1"), 0.1)
    core.pop_outgoing()
    core.receive(invite(), PHONE, 0.5)
    assert core.pop_events() == []
    assert statuses(core) == [180]
    assert core.stats["retransmissions_absorbed"] == 1


def test_cancel_flow() -> None:
    core = make_core()
    event = receive_invite(core)
    core.respond(event.transaction, make_response(event.request, 180, to_tag="u1"), 0.1)
    core.pop_outgoing()
    core.receive(invite(method="CANCEL"), PHONE, 1.0)
    (cancelled,) = core.pop_events()
    assert isinstance(cancelled, CancelReceived)
    assert cancelled.transaction is event.transaction
    ((ok, _),) = sent(core)
    assert isinstance(ok, Response)
    assert (ok.status, ok.cseq.method, ok.to.tag) == (200, "CANCEL", "u1")
    core.respond(event.transaction, make_response(event.request, 487, to_tag="u1"), 1.1)
    assert statuses(core) == [487]
    core.receive(invite(method="ACK", to_tag=";tag=u1"), PHONE, 1.2)  # same branch: non-2xx ACK
    assert core.pop_events() == []
    assert event.transaction.state is State.CONFIRMED


def test_cancel_for_unknown_transaction_gets_481() -> None:
    core = make_core()
    core.receive(invite(method="CANCEL", branch="z9hG4bKnothing"), PHONE, 0.0)
    assert core.pop_events() == []
    assert statuses(core) == [481]


def test_cancel_after_the_final_response_is_answered_but_not_reported() -> None:
    core = make_core()
    event = receive_invite(core)
    core.respond(event.transaction, make_response(event.request, 486, to_tag="u1"), 0.1)
    core.pop_outgoing()
    core.receive(invite(method="CANCEL"), PHONE, 0.2)
    assert core.pop_events() == []
    assert statuses(core) == [200]


def test_received_is_stamped_when_sent_by_differs_and_responses_go_to_the_via_port() -> None:
    core = make_core()
    event = receive_invite(core, invite(via_extra="", port=":5062"))
    assert event.request.top_via.received == "198.51.100.7"
    assert not event.request.top_via.rport_requested
    ((trying, peer),) = sent(core)
    assert peer == Peer("udp", "198.51.100.7", 5062)
    assert isinstance(trying, Response)
    assert trying.top_via.received == "198.51.100.7"


def test_stamping_replaces_an_existing_received_and_keeps_lower_vias() -> None:
    core = make_core()
    data = invite(via_extra=";received=10.0.0.1;rport").replace(
        b";rport\r\n", b";rport, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKlower\r\n")
    event = receive_invite(core, data)
    vias = event.request.via
    assert (vias[0].received, vias[0].rport) == ("198.51.100.7", 40000)
    assert vias[1].branch == "z9hG4bKlower"
    assert (event.request.headers.get("via") or "").count("received=") == 1


def test_nothing_is_stamped_when_sent_by_is_the_source_address() -> None:
    core = make_core()
    data = invite(via_extra="", host="198.51.100.7", port="")
    event = receive_invite(core, data)
    assert event.request.serialize() == data
    assert sent(core)[0][1] == Peer("udp", "198.51.100.7", 5060)


def test_responses_over_tcp_go_back_on_the_connection() -> None:
    core = make_core()
    source = Peer("tcp", "198.51.100.7", 51234)
    core.receive(invite(), source, 0.0)
    assert isinstance(core.pop_events()[0], RequestReceived)
    assert [peer for _, peer in sent(core)] == [source]


def test_non_invite_request_is_delivered_with_its_transaction() -> None:
    core = make_core()
    core.receive(invite(method="OPTIONS"), PHONE, 0.0)
    (event,) = core.pop_events()
    assert isinstance(event, RequestReceived)
    assert event.transaction.state is State.TRYING
    assert core.pop_outgoing() == []  # no 100 Trying for non-INVITE
    core.respond(event.transaction, make_response(event.request, 200, to_tag="o1"), 0.1)
    ((ok, _),) = sent(core)
    assert isinstance(ok, Response)
    assert ok.headers.get("Server") == "b2bua"
    with pytest.raises(LocalProtocolError):
        core.respond(event.transaction, make_response(event.request, 500), 0.2)


def test_responding_on_a_terminated_transaction_does_nothing() -> None:
    core = make_core()
    event = receive_invite(core)
    core.pop_outgoing()
    core.transport_failed(PHONE, 0.1)
    assert core.pop_events() == [TransportFailure(event.transaction)]
    core.respond(event.transaction, make_response(event.request, 486, to_tag="u1"), 0.2)
    assert core.pop_outgoing() == []


# -- malformed input ------------------------------------------------------------------------


def test_malformed_request_gets_400_naming_the_fault_and_the_next_message_is_served() -> None:
    core = make_core()
    bad = invite().replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE")
    core.receive(bad, PHONE, 0.0)
    (event,) = core.pop_events()
    assert isinstance(event, MalformedMessage)
    assert (event.status, event.reason, event.replied, event.is_request) == (
        400, "Bad CSeq", True, True)
    ((reply, peer),) = core.pop_outgoing()
    assert reply.startswith(b"SIP/2.0 400 Bad CSeq\r\n")
    assert peer == PHONE
    assert b"Call-ID: call-1@pc.example.com" in reply
    receive_invite(core)
    assert core.stats["malformed"] == 1


def test_missing_call_id_is_named_in_the_reply() -> None:
    core = make_core()
    core.receive(invite().replace(b"Call-ID: call-1@pc.example.com\r\n", b""), PHONE, 0.0)
    ((reply, _),) = core.pop_outgoing()
    assert reply.startswith(b"SIP/2.0 400 Missing Call-ID\r\n")


def test_unsupported_version_gets_505() -> None:
    core = make_core()
    core.receive(invite().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), PHONE, 0.0)
    ((reply, _),) = core.pop_outgoing()
    assert reply.startswith(b"SIP/2.0 505 Version Not Supported\r\n")


def test_oversize_request_gets_513() -> None:
    core = SipCore(local=LOCAL, token=lambda n: "t", max_message_size=400)
    core.receive(invite().replace(b"Max-Forwards: 70", b"X-Pad: " + b"p" * 400), PHONE, 0.0)
    ((reply, _),) = core.pop_outgoing()
    assert reply.startswith(b"SIP/2.0 513 Message Too Large\r\n")


def test_request_without_usable_via_is_dropped() -> None:
    core = make_core()
    core.receive(invite().replace(b"SIP/2.0/UDP pc", b"SIP/2.0/UDP p c"), PHONE, 0.0)
    (event,) = core.pop_events()
    assert isinstance(event, MalformedMessage)
    assert (event.reason, event.replied) == ("Malformed Via", False)
    assert core.pop_outgoing() == []


def test_malformed_ack_and_response_are_dropped() -> None:
    core = make_core()
    core.receive(invite(method="ACK").replace(b"CSeq: 1 ACK", b"CSeq: x ACK"), PHONE, 0.0)
    core.receive(b"SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n", PHONE, 0.0)
    events = core.pop_events()
    assert [(e.replied, e.is_request) for e in events if isinstance(e, MalformedMessage)] == [
        (False, True), (False, False)]
    assert core.pop_outgoing() == []


def test_keepalives_are_ignored() -> None:
    core = make_core()
    core.receive(b"\r\n\r\n", PHONE, 0.0)
    assert core.pop_events() == [] and core.pop_outgoing() == []
    assert core.stats["received"] == 0


# -- UAC ------------------------------------------------------------------------------------

TRUNK = Peer("udp", "203.0.113.5", 5060)


def outgoing_invite() -> Request:
    return Request("INVITE", "sip:+15551234@203.0.113.5", [
        ("From", "<sip:7000@192.0.2.1>;tag=b2"),
        ("To", "<sip:+15551234@203.0.113.5>"),
        ("Call-ID", "out-1@192.0.2.1"),
        ("CSeq", "1 INVITE"),
        ("Contact", "<sip:b2bua@192.0.2.1:5060>"),
    ])


def answer(request: Request, status: int, to_tag: str = "t9") -> bytes:
    return make_response(request, status, to_tag=to_tag).serialize()


def test_uac_request_gets_our_via_and_defaults() -> None:
    core = make_core()
    transaction = core.send_request(outgoing_invite(), TRUNK, 0.0)
    ((request, peer),) = sent(core)
    assert peer == TRUNK
    assert isinstance(request, Request)
    via = request.top_via
    assert (via.host, via.port, via.transport) == ("192.0.2.1", 5060, "UDP")
    assert via.branch == "z9hG4bKtok1" == transaction.branch
    assert via.rport_requested
    assert request.max_forwards == 70
    assert request.headers.get("User-Agent") == "b2bua"
    core.handle_timer(0.5)
    assert len(core.pop_outgoing()) == 1  # Timer A


def test_uac_non_2xx_is_acknowledged_by_the_core_and_2xx_by_the_tu() -> None:
    core = make_core()
    transaction = core.send_request(outgoing_invite(), TRUNK, 0.0)
    core.pop_outgoing()
    core.receive(answer(transaction.request, 180), TRUNK, 0.1)
    core.receive(answer(transaction.request, 486), TRUNK, 0.2)
    events = core.pop_events()
    assert [e.response.status for e in events if isinstance(e, ResponseReceived)] == [180, 486]
    ((ack, _),) = sent(core)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via.branch == transaction.branch
    second = core.send_request(outgoing_invite(), TRUNK, 1.0)
    core.pop_outgoing()
    core.receive(answer(second.request, 200), TRUNK, 1.1)
    (ok,) = core.pop_events()
    assert isinstance(ok, ResponseReceived) and ok.response.status == 200
    assert core.pop_outgoing() == []
    ack_2xx = Request("ACK", "sip:+15551234@203.0.113.5", [
        ("From", "<sip:7000@192.0.2.1>;tag=b2"), ("To", "<sip:+15551234@203.0.113.5>;tag=t9"),
        ("Call-ID", "out-1@192.0.2.1"), ("CSeq", "1 ACK")])
    core.send_stateless(ack_2xx, TRUNK)
    ((stateless, _),) = sent(core)
    assert isinstance(stateless, Request)
    assert stateless.top_via.branch != second.branch


def test_late_2xx_retransmission_is_a_stray_response() -> None:
    core = make_core()
    transaction = core.send_request(outgoing_invite(), TRUNK, 0.0)
    ok = answer(transaction.request, 200)
    core.receive(ok, TRUNK, 0.1)
    core.handle_timer(40.0)  # Timer M ends the transaction
    core.pop_events()
    core.receive(ok, TRUNK, 41.0)
    (event,) = core.pop_events()
    assert isinstance(event, StrayResponse)
    assert event.response.status == 200


def test_cancel_waits_for_a_provisional_response() -> None:
    core = make_core()
    transaction = core.send_request(outgoing_invite(), TRUNK, 0.0)
    core.pop_outgoing()
    assert core.cancel(transaction, 0.1) is None
    assert core.pop_outgoing() == []
    core.receive(answer(transaction.request, 180), TRUNK, 0.2)
    ((cancel, _),) = sent(core)
    assert isinstance(cancel, Request)
    assert cancel.method == "CANCEL"
    assert cancel.top_via.branch == transaction.branch
    assert cancel.cseq.seq == 1 and cancel.cseq.method == "CANCEL"
    assert cancel.to.tag is None
    assert cancel.uri_text == transaction.request.uri_text


def test_cancelled_invite_without_final_response_times_out() -> None:
    core = make_core()
    transaction = core.send_request(outgoing_invite(), TRUNK, 0.0)
    core.receive(answer(transaction.request, 180), TRUNK, 0.1)
    cancel = core.cancel(transaction, 1.0)
    assert cancel is not None
    core.receive(answer(cancel.request, 200), TRUNK, 1.1)
    core.pop_events()
    core.handle_timer(32.9)
    assert transaction.state is State.PROCEEDING
    core.handle_timer(33.0)
    assert transaction.state is State.TERMINATED
    assert TransactionTimeout(transaction) in core.pop_events()


def test_ack_and_cancel_are_not_sent_with_send_request() -> None:
    core = make_core()
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError):
            core.send_request(Request(method, "sip:a@b"), TRUNK, 0.0)
    with pytest.raises(LocalProtocolError):
        core.send_request(outgoing_invite(), Peer("tls", "203.0.113.5", 5061), 0.0)
