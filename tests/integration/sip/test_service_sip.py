"""The running service over real sockets: OPTIONS, bad input, REGISTER with digest, TCP."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from testbed.office import PASSWORDS

from b2bua.app.live import service_metrics
from b2bua.net.sip_transport import UDP_RECEIVE_BUFFER
from b2bua.sip.auth import authorization, choose_challenge
from b2bua.sip.message import Response
from b2bua.sip.parser import StreamFramer, parse_message


class UdpPhone:
    """A bare SIP endpoint on a UDP socket, enough to probe the service."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.branch = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, method: str, user: str, *, call_id: str, cseq: int,
                headers: str = "", body: bytes = b"") -> bytes:
        self.branch += 1
        host, port = self.server
        return (
            f"{method} sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKt{self.branch};rport\r\n"
            f"From: <sip:{user}@{host}>;tag=ft{self.port}\r\n"
            f"To: <sip:{user}@{host}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Max-Forwards: 70\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def exchange(self, data: bytes, timeout: float = 2.0) -> Response:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(self.sock, data, self.server)
        reply = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), timeout)
        message = parse_message(reply)
        assert isinstance(message, Response)
        return message

    async def register(self, user: str, password: str, *, expires: int = 120,
                       contact_port: int | None = None, call_id: str = "reg-1",
                       cseq: int = 1) -> Response:
        contact = f"Contact: <sip:{user}@127.0.0.1:{contact_port or self.port}>\r\n"
        extra = f"{contact}Expires: {expires}\r\n"
        first = await self.exchange(self.request("REGISTER", user, call_id=call_id, cseq=cseq,
                                                 headers=extra))
        assert first.status == 401
        challenge = choose_challenge(first.headers.get_all("WWW-Authenticate"))
        assert challenge is not None
        host, port = self.server
        credentials = authorization(challenge, "REGISTER", f"sip:{host}:{port}", user, password,
                                    cnonce="c0ffee", nc=1)
        return await self.exchange(self.request(
            "REGISTER", user, call_id=call_id, cseq=cseq + 1,
            headers=f"{extra}Authorization: {credentials}\r\n"))


def udp(service: Any) -> UdpPhone:
    return UdpPhone(service.sip_addresses["udp"])


async def test_options_answered_with_capabilities(service: Any) -> None:
    phone = udp(service)
    reply = await phone.exchange(phone.request("OPTIONS", "probe", call_id="o1", cseq=1))
    phone.close()
    assert reply.status == 200
    assert "INVITE" in (reply.get("Allow") or "")
    assert "application/sdp" in (reply.get("Accept") or "")
    assert reply.to.tag


async def test_a_burst_queued_while_the_service_is_busy_is_all_answered(service: Any) -> None:
    """1,000 requests arrive while the event loop is held up (a busy turn, a collection):
    the SIP socket's enlarged receive buffer keeps them all (the kernel's usual 208 KiB
    holds about 150 of these), and each gets its answer."""
    sock = service.transport._udp.get_extra_info("socket")
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2 < UDP_RECEIVE_BUFFER:
        pytest.skip("the kernel capped the buffer (no CAP_NET_ADMIN, low net.core.rmem_max)")
    phone = udp(service)
    phone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    phone.sock.setblocking(True)
    count = 1000
    for n in range(count):  # the loop cannot run meanwhile: the service reads nothing yet
        phone.sock.sendto(phone.request("OPTIONS", "probe", call_id=f"burst-{n}", cseq=1),
                          phone.server)
    phone.sock.setblocking(False)
    loop = asyncio.get_running_loop()
    answered: set[str] = set()
    try:
        while len(answered) < count:
            reply = parse_message(await asyncio.wait_for(loop.sock_recv(phone.sock, 65535), 3))
            assert isinstance(reply, Response) and reply.status == 200
            answered.add(reply.call_id)
    except TimeoutError:
        pass
    phone.close()
    assert len(answered) == count


async def test_requests_dropped_on_a_full_buffer_are_counted(service: Any) -> None:
    """What the kernel drops before the service can read it shows in /metrics; the service
    goes on answering."""
    sock = service.transport._udp.get_extra_info("socket")
    before = service_metrics(service)["b2bua_sip_udp_drops_total"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a few datagrams, no more
    phone = udp(service)
    for n in range(100):  # the loop cannot run meanwhile: the service reads nothing yet
        phone.sock.sendto(phone.request("OPTIONS", "probe", call_id=f"flood-{n}", cseq=1),
                          phone.server)
    dropped = service_metrics(service)["b2bua_sip_udp_drops_total"] - before
    assert 50 <= dropped < 100
    await asyncio.sleep(0.2)  # the service reads what was kept and answers it
    while True:
        try:
            phone.sock.recv(65535)
        except BlockingIOError:
            break
    reply = await phone.exchange(phone.request("OPTIONS", "probe", call_id="after", cseq=1))
    phone.close()
    assert reply.status == 200


async def test_malformed_request_gets_400_naming_fault_and_service_continues(
    service: Any,
) -> None:
    phone = udp(service)
    broken = phone.request("OPTIONS", "probe", call_id="x", cseq=1).replace(b"CSeq: 1", b"CSeq: x")
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(phone.sock, broken, phone.server)
    reply = await asyncio.wait_for(loop.sock_recv(phone.sock, 65535), 2)
    assert reply.startswith(b"SIP/2.0 400 Bad CSeq\r\n")
    await loop.sock_sendto(phone.sock, b"\x00\xff garbage \r\n\r\n", phone.server)
    good = await phone.exchange(phone.request("OPTIONS", "probe", call_id="o2", cseq=1))
    phone.close()
    assert good.status == 200


async def test_oversized_request_gets_513(office: Any, tmp_path: Any) -> None:
    from b2bua.app.service import Service

    running = Service(office(sip={"max_message_size": 2048}), tmp_path / "d2")
    await running.start()
    try:
        phone = udp(running)
        big = phone.request("OPTIONS", "probe", call_id="big", cseq=1,
                            headers="X-Padding: " + "a" * 3000 + "\r\n")
        reply = await phone.exchange(big)
        phone.close()
    finally:
        await running.stop()
    assert reply.status == 513


async def test_register_challenge_then_binding_stored(service: Any) -> None:
    phone = udp(service)
    reply = await phone.register("101", PASSWORDS["101"])
    phone.close()
    assert reply.status == 200
    contacts = reply.contact
    assert [c.uri_text for c in contacts] == [f"sip:101@127.0.0.1:{phone.port}"]
    assert 100 <= (contacts[0].expires or 0) <= 120
    bindings = service.store.list_bindings("101")
    assert [b.contact_uri for b in bindings] == [f"sip:101@127.0.0.1:{phone.port}"]


async def test_wrong_password_and_unknown_extension_answer_alike(service: Any) -> None:
    phone = udp(service)
    wrong = await phone.register("101", "not-the-password", call_id="r-a")
    unknown = await phone.register("999", "whatever-password", call_id="r-b")
    phone.close()
    assert (wrong.status, wrong.reason) == (403, "Forbidden")
    assert (unknown.status, unknown.reason) == (wrong.status, wrong.reason)
    assert service.store.list_bindings("101") == []


async def test_unregister_one_and_all(service: Any) -> None:
    phone = udp(service)
    assert (await phone.register("102", PASSWORDS["102"], call_id="a")).status == 200
    other = await phone.register("102", PASSWORDS["102"], call_id="b", contact_port=5999)
    assert len(other.contact) == 2
    replayed = await phone.register("102", PASSWORDS["102"], call_id="b", contact_port=5999)
    assert (replayed.status, replayed.reason) == (500, "Out of order REGISTER")
    gone = await phone.register("102", PASSWORDS["102"], call_id="b", contact_port=5999,
                                expires=0, cseq=3)
    assert [c.uri_text for c in gone.contact] == [f"sip:102@127.0.0.1:{phone.port}"]
    phone.close()
    assert len(service.store.list_bindings("102")) == 1


async def test_too_brief_expiry_gets_423(service: Any) -> None:
    phone = udp(service)
    reply = await phone.register("103", PASSWORDS["103"], expires=5)
    phone.close()
    assert reply.status == 423
    assert reply.get("Min-Expires") == "60"


async def test_tcp_framing_and_options(service: Any) -> None:
    host, port = service.sip_addresses["tcp"]
    reader, writer = await asyncio.open_connection(host, port)
    local_port = writer.get_extra_info("sockname")[1]
    message = (
        f"OPTIONS sip:{host}:{port};transport=tcp SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:{local_port};branch=z9hG4bKtcp1\r\n"
        "From: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:probe@127.0.0.1>\r\n"
        "Call-ID: tcp-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    # split across writes, with a keep-alive first: the framer must reassemble
    writer.write(b"\r\n\r\n" + message[:40])
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(message[40:])
    await writer.drain()
    framer = StreamFramer(65535)
    replies: list[bytes] = []
    while not replies:
        replies = framer.feed(await asyncio.wait_for(reader.read(4096), 2))
    writer.close()
    reply = parse_message(replies[0])
    assert isinstance(reply, Response)
    assert reply.status == 200
    assert reply.call_id == "tcp-1"
