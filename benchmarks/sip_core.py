"""Cost of the sans-IO SIP core per message and per call.

    python benchmarks/sip_core.py [--repeat 20000] [--calls 20000]

Prints microseconds per parse and per serialize of typical messages, per response built from a
request (RFC 3261 §8.2.6), and per transaction round through `SipCore`:

- UAS INVITE round: receive INVITE (the core answers 100 Trying) -> TU responds 180 and 200 ->
  receive the ACK; 5 messages.
- UAC INVITE round: send INVITE -> receive 100, 180, 200 -> send the ACK; 5 messages.
- BYE rounds: receive BYE -> respond 200, and send BYE -> receive 200; 4 messages.

A B2BUA call is one of each (14 messages); the last line is the core's share of such a call and
the calls per second it alone would allow on one core. Rounds use distinct Call-IDs and
branches, and time advances by 1/1500 s per call, so timers expire as they would at 1,500
calls/s (after `--calls` / 1500 simulated seconds: short runs keep every transaction alive).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from b2bua.sip.core import Peer, SipCore
from b2bua.sip.events import RequestReceived
from b2bua.sip.message import Request, make_response
from b2bua.sip.parser import parse_message

SDP = (
    b"v=0\r\no=- 3868 3868 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)

INVITE = (
    "INVITE sip:7000@192.0.2.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-{n};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Client\" <sip:client@198.51.100.7:5060>;tag={n}-c\r\n"
    "To: <sip:7000@192.0.2.1:5060>\r\n"
    "Call-ID: {n}-call@198.51.100.7\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:client@198.51.100.7:5060>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: softphone 1.0\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n"
).encode() + SDP

ACK = (
    b"ACK sip:b2bua@192.0.2.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-{n}-ack;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: \"Client\" <sip:client@198.51.100.7:5060>;tag={n}-c\r\n"
    b"To: <sip:7000@192.0.2.1:5060>;tag={n}-u\r\n"
    b"Call-ID: {n}-call@198.51.100.7\r\n"
    b"CSeq: 1 ACK\r\n"
    b"Content-Length: 0\r\n\r\n"
)

BYE = (
    b"BYE sip:b2bua@192.0.2.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-{n}-bye;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: \"Client\" <sip:client@198.51.100.7:5060>;tag={n}-c\r\n"
    b"To: <sip:7000@192.0.2.1:5060>;tag={n}-u\r\n"
    b"Call-ID: {n}-call@198.51.100.7\r\n"
    b"CSeq: 2 BYE\r\n"
    b"Content-Length: 0\r\n\r\n"
)

# A response from the far end to our request; BRANCH, CALL and STATUS are filled in per call.
RESPONSE = (
    b"SIP/2.0 STATUS\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=BRANCH;rport=5060;received=192.0.2.1\r\n"
    b"From: <sip:client@192.0.2.1>;tag=CALL-b\r\n"
    b"To: <sip:101@203.0.113.5>TOTAG\r\n"
    b"Call-ID: CALL@192.0.2.1\r\n"
    b"CSeq: SEQ METHOD\r\n"
    b"Contact: <sip:101@203.0.113.5:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)

PHONE = Peer("udp", "198.51.100.7", 5060)
EMPLOYEE = Peer("udp", "203.0.113.5", 5060)
CALLS_PER_SECOND = 1500.0


def per_call(function: Callable[[], object], repeat: int) -> float:
    """Microseconds per call of `function`, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            function()
        best = min(best, time.perf_counter() - start)
    return best / repeat * 1e6


def report(label: str, microseconds: float, note: str = "") -> None:
    print(f"{label:<52} {microseconds:8.2f} us{note}")


def message_costs(repeat: int) -> None:
    invite = INVITE.replace(b"{n}", b"1")
    ack = ACK.replace(b"{n}", b"1")
    parsed = parse_message(invite)
    assert isinstance(parsed, Request)
    ok = make_response(parsed, 200, to_tag="u1", headers=[("Contact", "<sip:b2bua@192.0.2.1>")],
                       body=SDP)
    ok_bytes = ok.serialize()
    report(f"parse INVITE with SDP ({len(invite)} B, 12 headers)",
           per_call(lambda: parse_message(invite), repeat))
    report(f"parse ACK ({len(ack)} B, 7 headers)", per_call(lambda: parse_message(ack), repeat))
    report(f"parse 200 OK with SDP ({len(ok_bytes)} B, 8 headers)",
           per_call(lambda: parse_message(ok_bytes), repeat))
    report("serialize the parsed INVITE", per_call(parsed.serialize, repeat))
    report("serialize a built 200 OK", per_call(ok.serialize, repeat))
    report("build a 180 from the INVITE and serialize it",
           per_call(lambda: make_response(parsed, 180, to_tag="u1").serialize(), repeat))


def new_core() -> SipCore:
    numbers = itertools.count()
    return SipCore(local={"udp": ("192.0.2.1", 5060)}, token=lambda n: f"{next(numbers):x}")


def uas_invite_rounds(calls: int) -> float:
    core = new_core()
    invites = [INVITE.replace(b"{n}", str(n).encode()) for n in range(calls)]
    acks = [ACK.replace(b"{n}", str(n).encode()) for n in range(calls)]
    contact = [("Contact", "<sip:b2bua@192.0.2.1:5060>")]
    start = time.perf_counter()
    for n in range(calls):
        now = n / CALLS_PER_SECOND
        core.receive(invites[n], PHONE, now)
        (event,) = core.pop_events()
        assert type(event) is RequestReceived
        request = event.request
        tag = f"{n}-u"
        core.respond(event.transaction, make_response(request, 180, to_tag=tag), now)
        core.respond(event.transaction,
                     make_response(request, 200, to_tag=tag, headers=contact, body=SDP), now)
        core.receive(acks[n], PHONE, now)
        core.pop_events()
        core.pop_outgoing()
        core.handle_timer(now)
    return (time.perf_counter() - start) / calls * 1e6


def uac_invite_rounds(calls: int) -> float:
    core = new_core()
    start = time.perf_counter()
    for n in range(calls):
        now = n / CALLS_PER_SECOND
        call = f"{n}".encode()
        request = Request("INVITE", "sip:101@203.0.113.5:5060", [
            ("From", f"<sip:client@192.0.2.1>;tag={n}-b"), ("To", "<sip:101@203.0.113.5>"),
            ("Call-ID", f"{n}@192.0.2.1"), ("CSeq", "1 INVITE"),
            ("Contact", "<sip:b2bua@192.0.2.1:5060>"), ("Content-Type", "application/sdp"),
        ], SDP)
        transaction = core.send_request(request, EMPLOYEE, now)
        template = RESPONSE.replace(b"BRANCH", transaction.branch.encode()).replace(
            b"CALL", call).replace(b"SEQ METHOD", b"1 INVITE")
        core.receive(template.replace(b"STATUS", b"100 Trying").replace(b"TOTAG", b""),
                     EMPLOYEE, now)
        core.receive(template.replace(b"STATUS", b"180 Ringing").replace(b"TOTAG", b";tag=e"),
                     EMPLOYEE, now)
        core.receive(template.replace(b"STATUS", b"200 OK").replace(b"TOTAG", b";tag=e"),
                     EMPLOYEE, now)
        core.pop_events()
        ack = Request("ACK", "sip:101@203.0.113.5:5060", [
            ("From", f"<sip:client@192.0.2.1>;tag={n}-b"), ("To", "<sip:101@203.0.113.5>;tag=e"),
            ("Call-ID", f"{n}@192.0.2.1"), ("CSeq", "1 ACK"), ("Max-Forwards", "70")])
        core.send_stateless(ack, EMPLOYEE)
        core.pop_outgoing()
        core.handle_timer(now)
    return (time.perf_counter() - start) / calls * 1e6


def bye_rounds(calls: int) -> float:
    core = new_core()
    byes = [BYE.replace(b"{n}", str(n).encode()) for n in range(calls)]
    start = time.perf_counter()
    for n in range(calls):
        now = n / CALLS_PER_SECOND
        core.receive(byes[n], PHONE, now)
        (event,) = core.pop_events()
        assert type(event) is RequestReceived
        core.respond(event.transaction, make_response(event.request, 200), now)
        request = Request("BYE", "sip:101@203.0.113.5:5060", [
            ("From", f"<sip:client@192.0.2.1>;tag={n}-b"), ("To", "<sip:101@203.0.113.5>;tag=e"),
            ("Call-ID", f"{n}@192.0.2.1"), ("CSeq", "2 BYE")])
        transaction = core.send_request(request, EMPLOYEE, now)
        core.receive(RESPONSE.replace(b"BRANCH", transaction.branch.encode()).replace(
            b"CALL", str(n).encode()).replace(b"SEQ METHOD", b"2 BYE").replace(
            b"STATUS", b"200 OK").replace(b"TOTAG", b";tag=e"), EMPLOYEE, now)
        core.pop_events()
        core.pop_outgoing()
        core.handle_timer(now)
    return (time.perf_counter() - start) / calls * 1e6


def best_of(rounds: Callable[[int], float], calls: int, runs: int) -> float:
    """The lowest cost per round over `runs` fresh runs (the machine is shared)."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        best = min(best, rounds(calls))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20000, help="iterations per message figure")
    parser.add_argument("--calls", type=int, default=5000, help="rounds per transaction figure")
    parser.add_argument("--runs", type=int, default=3, help="runs per round figure (best kept)")
    parser.add_argument("--gc-threshold", type=int, default=0,
                        help="gc.set_threshold(N, 50, 100) first (0: Python's default)")
    args = parser.parse_args()
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, 50, 100)
    print(f"python {sys.version.split()[0]}; --repeat {args.repeat} --calls {args.calls} "
          f"--runs {args.runs}; gc thresholds {gc.get_threshold()}")
    message_costs(args.repeat)
    uas = best_of(uas_invite_rounds, args.calls, args.runs)
    report("UAS INVITE round (INVITE, 100, 180, 200, ACK)", uas)
    uac = best_of(uac_invite_rounds, args.calls, args.runs)
    report("UAC INVITE round (INVITE, 100, 180, 200, ACK)", uac)
    bye = best_of(bye_rounds, args.calls, args.runs)
    report("BYE rounds (BYE in, 200 out; BYE out, 200 in)", bye)
    total = uas + uac + bye
    report("B2BUA call through the core (14 messages)", total,
           f" = {1e6 / total:,.0f} calls/s on one core for SIP alone")


if __name__ == "__main__":
    main()
