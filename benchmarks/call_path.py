"""CPU per call of the B2BUA's own code: SIP, routing, call logic, SDP, media set-up, report.

    python benchmarks/call_path.py [--calls 2000] [--profile]

The real service runs (store, media engine with real RTP sockets), but its SIP shell is short-
circuited: a scripted client and phone answer every message synchronously inside the process,
so nothing but the B2BUA's own work is measured: no SIPp, no kernel time for SIP datagrams, no
scheduling noise, and the peers' own CPU is measured and left out. A call is INVITE, 100/180/200
to the client, INVITE/ACK to the phone, the client's ACK and BYE, and the BYE to the phone: 14
SIP messages through the B2BUA. The figure is process CPU seconds per call, and the calls per
second one core could do at that cost.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from b2bua.app.config import parse_config  # noqa: E402
from b2bua.app.service import Service  # noqa: E402
from b2bua.sip.message import Request, Response  # noqa: E402
from b2bua.sip.parser import parse_message  # noqa: E402
from b2bua.sip.peer import Peer  # noqa: E402
from b2bua.store import Binding  # noqa: E402

CLIENT = Peer("udp", "127.0.0.1", 40000)
PHONE = Peer("udp", "127.0.0.1", 40002)
SDP = (b"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio %d RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
       b"a=fmtp:101 0-15\r\na=ptime:20\r\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def office(employees: int, data_dir: Path) -> Any:
    return parse_config({
        "sip": {"port": free_port(), "transports": ["udp"]},
        "media": {"rtp_ports": "20000-31999"},
        "calls": {"max_calls": 10000},
        "employees": [{"extension": str(1000 + i), "name": f"E{i}",
                       "password": f"pw-{1000 + i}-secret"} for i in range(employees)],
        "numbers": {str(7000 + i): {"ring": str(1000 + i)} for i in range(employees)},
        "keys": {},
        "data_dir": str(data_dir),
    })


class Peers:
    """The client and the phone, answering what the B2BUA sends them."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.inbox: list[tuple[bytes, Peer]] = []
        self.established: dict[str, Response] = {}
        self.own_cpu = 0.0
        """CPU the scripted peers spent themselves (subtracted from the B2BUA's figure)."""

    def sent(self, data: bytes, peer: Peer) -> None:
        started = time.process_time()
        try:
            self._sent(data, peer)
        finally:
            self.own_cpu += time.process_time() - started

    def _sent(self, data: bytes, peer: Peer) -> None:
        message = parse_message(data)
        if peer == PHONE:
            self._phone(message)
        elif isinstance(message, Response) and message.status == 200 and \
                message.cseq.method == "INVITE":
            self.established[message.call_id] = message

    def _phone(self, message: Request | Response) -> None:
        if not isinstance(message, Request) or message.method == "ACK":
            return
        to = message.get("To") or ""
        if message.method == "INVITE":
            self._reply(message, 180, f"{to};tag=p")
            self._reply(message, 200, f"{to};tag=p", SDP % 41000)
        else:
            self._reply(message, 200, to)

    def _reply(self, request: Request, status: int, to: str, body: bytes = b"") -> None:
        vias = "".join(f"Via: {v}\r\n" for v in request.headers.get_all("Via"))
        head = (f"SIP/2.0 {status} X\r\n{vias}From: {request.get('From')}\r\nTo: {to}\r\n"
                f"Call-ID: {request.call_id}\r\nCSeq: {request.get('CSeq')}\r\n"
                f"Contact: <sip:p@127.0.0.1:{PHONE.port}>\r\n")
        if body:
            head += "Content-Type: application/sdp\r\n"
        self.inbox.append(((head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body,
                           PHONE))


def client_request(method: str, number: str, call_id: str, cseq: int, branch: str,
                   to_tag: str = "", body: bytes = b"") -> bytes:
    to = f"<sip:{number}@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    head = (f"{method} sip:{number}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{CLIENT.port};branch=z9hG4bK{branch};rport\r\n"
            f"From: \"Client\" <sip:79161234567@127.0.0.1>;tag=c{call_id}\r\nTo: {to}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:c@127.0.0.1:{CLIENT.port}>\r\nMax-Forwards: 70\r\n")
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def run(calls: int, employees: int, profile: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="call-path-"))
    service = Service(office(employees, workdir / "data"), workdir / "data", web=False)
    await service.start()
    try:
        store = service.store
        for i in range(employees):
            store.save_binding(Binding(str(1000 + i), f"sip:p@127.0.0.1:{PHONE.port}", "udp",
                                       "127.0.0.1", PHONE.port, time.time() + 3600, "b", 1))
        peers = Peers(service)
        transport = service.transport
        assert transport is not None
        transport._send = peers.sent  # type: ignore[method-assign]

        def deliver() -> None:
            while peers.inbox:
                data, peer = peers.inbox.pop(0)
                transport.received(data, peer)

        def one_call(n: int) -> None:
            number = str(7000 + n % employees)
            call_id = f"cp{n}"
            started = time.process_time()
            invite = client_request("INVITE", number, call_id, 1, f"i{n}", body=SDP % 40010)
            peers.own_cpu += time.process_time() - started
            transport.received(invite, CLIENT)
            deliver()
            started = time.process_time()
            ok = peers.established.pop(call_id)
            tag = ok.to.tag or ""
            ack = client_request("ACK", number, call_id, 1, f"a{n}", tag)
            bye = client_request("BYE", number, call_id, 2, f"b{n}", tag)
            peers.own_cpu += time.process_time() - started
            transport.received(ack, CLIENT)
            transport.received(bye, CLIENT)
            deliver()

        serial = iter(range(10**9))
        for _ in range(200):  # warm up
            one_call(next(serial))
        await asyncio.sleep(0.2)
        profiler = cProfile.Profile() if profile else None
        peers.own_cpu = 0.0
        started = time.process_time()
        if profiler:
            profiler.enable()
        for n in range(calls):
            one_call(next(serial))
            if n % 50 == 49:
                await asyncio.sleep(0)  # let the report writer and media tick run
        await asyncio.sleep(0)
        if profiler:
            profiler.disable()
        spent = time.process_time() - started - peers.own_cpu
        assert not service.calls.calls if service.calls else True, "calls left behind"
        answered = service.calls.stats["answered"] if service.calls else 0
        print(f"calls={calls} employees={employees} answered={answered}")
        print(f"CPU per call: {spent / calls * 1e3:.3f} ms  "
              f"(one core: {calls / spent:.0f} calls/s){'  [profiled]' if profile else ''}")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats(os.environ.get("SORT", "tottime"))
            if os.environ.get("CALLEES"):
                stats.print_callees(os.environ["CALLEES"])
            else:
                stats.print_stats(os.environ.get("ONLY", ""), int(os.environ.get("ROWS", "30")))
    finally:
        await service.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--employees", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args.calls, args.employees, args.profile))
    except ImportError:
        asyncio.run(run(args.calls, args.employees, args.profile))


if __name__ == "__main__":
    main()
