"""Client and server transactions driven by hand-set time (RFC 3261 §17, RFC 6026)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2bua.sip.events import AckReceived, ResponseReceived, TransactionTimeout, TransportFailure
from b2bua.sip.message import Request, Response, make_response
from b2bua.sip.parser import parse_message
from b2bua.sip.peer import Peer
from b2bua.sip.timers import Timers
from b2bua.sip.transaction.base import Input, State, Table
from b2bua.sip.transaction.client import (
    CLIENT_INPUTS,
    INVITE_CLIENT_STATES,
    INVITE_CLIENT_TABLE,
    NON_INVITE_CLIENT_STATES,
    NON_INVITE_CLIENT_TABLE,
    ClientTransaction,
)
from b2bua.sip.transaction.layer import TransactionLayer, server_key
from b2bua.sip.transaction.server import (
    INVITE_SERVER_STATES,
    INVITE_SERVER_TABLE,
    NON_INVITE_SERVER_STATES,
    NON_INVITE_SERVER_TABLE,
    SERVER_INPUTS,
    ServerTransaction,
)

UDP = Peer("udp", "192.0.2.9", 5060)
TCP = Peer("tcp", "192.0.2.9", 5060)


def request(method: str = "INVITE", branch: str = "z9hG4bKtx1") -> Request:
    data = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "Route: <sip:proxy.example.com;lr>\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>\r\n"
        "Call-ID: tx-1\r\n"
        f"CSeq: 5 {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response_to(req: Request, status: int) -> Response:
    return make_response(req, status, to_tag="b1")


def run_until(layer: TransactionLayer, end: float) -> list[float]:
    """Fire timers in order until `end`; answers the times at which something was sent."""
    sent: list[float] = []
    while True:
        deadline = layer.next_deadline()
        if deadline is None or deadline > end:
            return sent
        layer.fire_timers(deadline)
        sent += [deadline] * len(layer.outgoing)
        layer.outgoing.clear()


def client(method: str = "INVITE", peer: Peer = UDP) -> tuple[ClientTransaction, TransactionLayer]:
    layer = TransactionLayer(Timers())
    transaction = ClientTransaction(request(method), peer, layer)
    layer.add_client(transaction)
    transaction.start(0.0)
    assert len(layer.outgoing) == 1
    layer.outgoing.clear()
    return transaction, layer


def server(method: str = "INVITE", peer: Peer = UDP) -> tuple[ServerTransaction, TransactionLayer]:
    layer = TransactionLayer(Timers())
    req = request(method)
    transaction = ServerTransaction(req, peer, peer, server_key(req), layer)
    layer.add_server(transaction)
    return transaction, layer


# -- INVITE client --------------------------------------------------------------------------


def test_timer_a_retransmits_with_doubling_and_timer_b_times_out_at_32s() -> None:
    transaction, layer = client()
    assert run_until(layer, 31.9) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert transaction.state is State.CALLING
    assert run_until(layer, 40.0) == []
    assert transaction.state is State.TERMINATED
    assert layer.events == [TransactionTimeout(transaction)]
    assert layer.client == {}


def test_invite_over_tcp_is_not_retransmitted_but_still_times_out() -> None:
    transaction, layer = client(peer=TCP)
    assert run_until(layer, 31.9) == []
    assert layer.next_deadline() == 32.0
    run_until(layer, 32.0)
    assert transaction.state is State.TERMINATED


def test_provisional_stops_retransmissions_and_timer_b() -> None:
    transaction, layer = client()
    transaction.receive(response_to(transaction.request, 180), 0.2)
    assert transaction.state is State.PROCEEDING
    assert layer.next_deadline() is None
    assert layer.events == [ResponseReceived(transaction.last_response, transaction)]  # type: ignore[arg-type]


def test_non_2xx_final_is_acknowledged_and_timer_d_absorbs_retransmissions() -> None:
    transaction, layer = client()
    busy = response_to(transaction.request, 486)
    transaction.receive(busy, 1.0)
    assert transaction.state is State.COMPLETED
    ((ack_data, peer),) = layer.outgoing
    assert peer == UDP
    ack = parse_message(ack_data)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri_text == "sip:bob@example.com"
    assert ack.top_via.branch == "z9hG4bKtx1"
    assert len(ack.via) == 1
    assert ack.cseq.seq == 5 and ack.cseq.method == "ACK"
    assert ack.to.tag == "b1"
    assert ack.from_.tag == "a1"
    assert ack.headers.get("Route") == "<sip:proxy.example.com;lr>"
    layer.outgoing.clear()
    transaction.receive(busy, 2.0)
    assert [data for data, _ in layer.outgoing] == [ack_data]
    assert len(layer.events) == 1  # the retransmitted 486 is not passed up again
    layer.outgoing.clear()
    assert run_until(layer, 32.9) == []
    assert transaction.state is State.COMPLETED
    run_until(layer, 33.0)
    assert transaction.state is State.TERMINATED


def test_timer_d_is_zero_over_tcp() -> None:
    transaction, _layer = client(peer=TCP)
    transaction.receive(response_to(transaction.request, 603), 1.0)
    assert transaction.state is State.TERMINATED


def test_2xx_enters_accepted_and_retransmitted_2xx_reach_the_tu_until_timer_m() -> None:
    transaction, layer = client()
    ok = response_to(transaction.request, 200)
    transaction.receive(ok, 1.0)
    assert transaction.state is State.ACCEPTED
    transaction.receive(ok, 1.5)
    assert layer.events == [ResponseReceived(ok, transaction), ResponseReceived(ok, transaction)]
    assert layer.outgoing == []  # the TU sends the ACK for a 2xx
    run_until(layer, 32.9)
    assert transaction.state is State.ACCEPTED
    run_until(layer, 33.0)
    assert transaction.state is State.TERMINATED


# -- non-INVITE client ----------------------------------------------------------------------


def test_timer_e_doubles_up_to_t2_and_timer_f_times_out() -> None:
    transaction, layer = client("OPTIONS")
    assert run_until(layer, 31.9) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    run_until(layer, 32.0)
    assert transaction.state is State.TERMINATED
    assert layer.events == [TransactionTimeout(transaction)]


def test_timer_e_runs_at_t2_in_proceeding() -> None:
    transaction, layer = client("BYE")
    assert run_until(layer, 0.5) == [0.5]
    transaction.receive(response_to(transaction.request, 100), 0.6)
    assert transaction.state is State.PROCEEDING
    assert run_until(layer, 10.0) == [1.5, 5.5, 9.5]


def test_timer_k_waits_t4_for_response_retransmissions() -> None:
    transaction, layer = client("BYE")
    ok = response_to(transaction.request, 200)
    transaction.receive(ok, 0.2)
    assert transaction.state is State.COMPLETED
    transaction.receive(ok, 0.3)
    assert len(layer.events) == 1
    run_until(layer, 5.1)
    assert transaction.state is State.COMPLETED
    run_until(layer, 5.2)
    assert transaction.state is State.TERMINATED


def test_timer_k_is_zero_over_tcp_and_no_retransmissions() -> None:
    transaction, layer = client("BYE", TCP)
    assert layer.next_deadline() == 32.0
    transaction.receive(response_to(transaction.request, 200), 0.2)
    assert transaction.state is State.TERMINATED


# -- INVITE server --------------------------------------------------------------------------


def test_timer_g_retransmits_non_2xx_and_timer_h_gives_up() -> None:
    transaction, layer = server()
    transaction.respond(response_to(transaction.request, 486), 0.0)
    assert transaction.state is State.COMPLETED
    assert len(layer.outgoing) == 1
    layer.outgoing.clear()
    assert run_until(layer, 31.9) == [
        0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    run_until(layer, 32.0)
    assert transaction.state is State.TERMINATED
    assert layer.events == [TransactionTimeout(transaction)]


def test_ack_confirms_and_timer_i_ends() -> None:
    transaction, layer = server()
    transaction.respond(response_to(transaction.request, 486), 0.0)
    layer.outgoing.clear()
    transaction.handle(Input.ACK, 0.7, request("ACK"))
    assert transaction.state is State.CONFIRMED
    assert layer.events == []  # the ACK of a non-2xx stays in the transaction
    assert run_until(layer, 5.6) == []
    assert transaction.state is State.CONFIRMED
    run_until(layer, 5.7)
    assert transaction.state is State.TERMINATED


def test_invite_server_over_tcp_no_timer_g_and_zero_timer_i() -> None:
    transaction, layer = server(peer=TCP)
    transaction.respond(response_to(transaction.request, 486), 0.0)
    assert layer.next_deadline() == 32.0  # Timer H only
    transaction.handle(Input.ACK, 0.1, request("ACK"))
    assert transaction.state is State.TERMINATED


def test_retransmitted_invite_gets_the_last_response() -> None:
    transaction, layer = server()
    assert transaction.handle(Input.REQUEST, 0.0, transaction.request)
    assert layer.outgoing == []  # nothing sent yet: nothing to repeat
    transaction.respond(response_to(transaction.request, 180), 0.1)
    transaction.handle(Input.REQUEST, 0.2, transaction.request)
    assert len(layer.outgoing) == 2
    assert layer.outgoing[0] == layer.outgoing[1]


def test_accepted_absorbs_invites_sends_2xx_from_tu_and_passes_acks_until_timer_l() -> None:
    transaction, layer = server()
    ok = response_to(transaction.request, 200)
    transaction.respond(ok, 0.0)
    assert transaction.state is State.ACCEPTED
    transaction.handle(Input.REQUEST, 0.3, transaction.request)
    assert len(layer.outgoing) == 1
    transaction.respond(ok, 0.5)
    assert len(layer.outgoing) == 2
    ack = request("ACK")
    transaction.handle(Input.ACK, 0.6, ack)
    assert layer.events == [AckReceived(ack, transaction, UDP)]
    run_until(layer, 31.9)
    assert transaction.state is State.ACCEPTED
    run_until(layer, 32.0)
    assert transaction.state is State.TERMINATED


def test_second_final_response_is_refused() -> None:
    transaction, _layer = server()
    assert transaction.respond(response_to(transaction.request, 486), 0.0)
    assert not transaction.respond(response_to(transaction.request, 200), 0.1)
    assert transaction.state is State.COMPLETED


# -- non-INVITE server ----------------------------------------------------------------------


def test_timer_j_absorbs_request_retransmissions_for_64_t1() -> None:
    transaction, layer = server("BYE")
    transaction.handle(Input.REQUEST, 0.0, transaction.request)
    assert layer.outgoing == []  # Trying: absorbed silently
    transaction.respond(response_to(transaction.request, 200), 0.1)
    transaction.handle(Input.REQUEST, 1.0, transaction.request)
    assert len(layer.outgoing) == 2
    run_until(layer, 32.0)
    assert transaction.state is State.COMPLETED
    run_until(layer, 32.1)
    assert transaction.state is State.TERMINATED


def test_timer_j_is_zero_over_tcp() -> None:
    transaction, _layer = server("BYE", TCP)
    transaction.respond(response_to(transaction.request, 200), 0.1)
    assert transaction.state is State.TERMINATED


def test_transport_error_informs_the_tu() -> None:
    transaction, layer = server("OPTIONS")
    transaction.handle(Input.TRANSPORT_ERROR, 0.0)
    assert transaction.state is State.TERMINATED
    assert layer.events == [TransportFailure(transaction)]


# -- every (state, input) pair of every table -----------------------------------------------

MACHINES = {
    "INVITE client": ("INVITE", "client", INVITE_CLIENT_STATES, CLIENT_INPUTS,
                      INVITE_CLIENT_TABLE),
    "non-INVITE client": ("OPTIONS", "client", NON_INVITE_CLIENT_STATES, CLIENT_INPUTS,
                          NON_INVITE_CLIENT_TABLE),
    "INVITE server": ("INVITE", "server", INVITE_SERVER_STATES, SERVER_INPUTS,
                      INVITE_SERVER_TABLE),
    "non-INVITE server": ("OPTIONS", "server", NON_INVITE_SERVER_STATES, SERVER_INPUTS,
                          NON_INVITE_SERVER_TABLE),
}


def message_for(event: Input, req: Request) -> Request | Response | None:
    statuses = {Input.RESPONSE_1XX: 180, Input.RESPONSE_2XX: 200, Input.RESPONSE_300_699: 486,
                Input.TU_1XX: 183, Input.TU_2XX: 200, Input.TU_300_699: 404}
    if event in statuses:
        return response_to(req, statuses[event])
    if event is Input.REQUEST:
        return req
    if event is Input.ACK:
        return request("ACK")
    return None


def make_machine(method: str, side: str, peer: Peer) -> tuple[ClientTransaction | ServerTransaction,
                                                           TransactionLayer]:
    return client(method, peer) if side == "client" else server(method, peer)


def test_tables_only_name_their_own_states() -> None:
    for _method, _side, states, inputs, table in MACHINES.values():
        for (state, event), (_actions, next_state) in table.items():
            assert state in states and next_state in states and event in inputs


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_every_state_input_pair_is_legal(machine: tuple[str, str, tuple[State, ...],
                                                        tuple[Input, ...], Table]) -> None:
    method, side, states, inputs, table = machine
    for peer in (UDP, TCP):
        for state in states:
            for event in inputs:
                transaction, _layer = make_machine(method, side, peer)
                transaction.state = state
                handled = transaction.handle(event, 1.0, message_for(event, transaction.request))
                assert handled == ((state, event) in table)
                assert transaction.state in states
                if not handled:
                    assert transaction.state is state


@settings(max_examples=150, deadline=None)
@given(
    machine=st.sampled_from(list(MACHINES.values())),
    tcp=st.booleans(),
    steps=st.lists(st.tuples(st.integers(0, 40), st.floats(0.0, 40.0)), max_size=25),
)
def test_random_input_sequences_follow_the_table(
    machine: tuple[str, str, tuple[State, ...], tuple[Input, ...], Table],
    tcp: bool,
    steps: list[tuple[int, float]],
) -> None:
    method, side, states, inputs, table = machine
    transaction, layer = make_machine(method, side, TCP if tcp else UDP)
    now = 0.0
    for choice, advance in steps:
        now += advance
        before = transaction.state
        if choice >= len(inputs):
            layer.fire_timers(now)
        else:
            event = inputs[choice]
            entry = table.get((before, event))
            transaction.handle(event, now, message_for(event, transaction.request))
            if entry is None:
                assert transaction.state is before
        assert transaction.state in states
        if transaction.state is State.TERMINATED:
            assert transaction not in layer.client.values()
            assert transaction not in layer.server.values()


def test_lingering_transactions_keep_only_what_identifies_them() -> None:
    transaction, _layer = server()
    original = transaction.request
    original.body = b"v=0\r\n"
    transaction.respond(response_to(original, 180), 0.0)
    assert transaction.last_response is not None
    assert transaction.request is original
    transaction.respond(response_to(original, 200), 0.1)
    assert transaction.state is State.ACCEPTED
    assert transaction.last_response is None
    assert transaction.response_data is not None
    lean = transaction.request
    assert lean is not original
    assert lean.body == b""
    assert (lean.method, lean.call_id, lean.cseq, lean.from_.tag) == (
        "INVITE", "tx-1", original.cseq, "a1")
    assert lean.headers.get("Route") == "<sip:proxy.example.com;lr>"
    assert "Max-Forwards" not in lean.headers
    assert original.headers.get("Max-Forwards") == "70"  # the TU's copy is untouched

