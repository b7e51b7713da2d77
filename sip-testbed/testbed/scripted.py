"""A scripted SIP user agent on a UDP socket, for the corner cases real phones do not produce on
demand (a 200 crossing a CANCEL, a late offer, session timers). Every message is written out in
full by the test; this class only sends, receives and keeps the dialog bookkeeping small."""

from __future__ import annotations

import asyncio
import itertools
import socket
from dataclasses import dataclass, field

from b2bua.sip.auth import authorization, choose_challenge
from b2bua.sip.message import Request, Response
from b2bua.sip.parser import parse_message

_counter = itertools.count(1)


def sdp(port: int, direction: str = "sendrecv", version: int = 1, codecs: str = "0 8") -> bytes:
    return (f"v=0\r\no=phone 77 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            f"t=0 0\r\nm=audio {port} RTP/AVP {codecs} 101\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
            f"a={direction}\r\n").encode()


@dataclass
class ScriptedPhone:
    server: tuple[str, int]
    user: str = "phone"
    sock: socket.socket = field(init=False)
    port: int = field(init=False)
    inbox: list[Request | Response] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    @property
    def contact(self) -> str:
        return f"<sip:{self.user}@127.0.0.1:{self.port}>"

    def via(self) -> str:
        return f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKs{next(_counter)};rport"

    async def send(self, data: str | bytes, body: bytes = b"") -> None:
        raw = data.encode() if isinstance(data, str) else data
        raw = raw.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
        if b"Content-Length" not in raw:
            raw = raw.rstrip(b"\r\n") + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        await asyncio.get_running_loop().sock_sendto(self.sock, raw + body, self.server)

    async def receive(self, what: str, timeout: float = 5.0) -> Request | Response:
        """The next message that is `what`: a method ("BYE") or a status ("200", "1xx")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in self.inbox:
                if _is(message, what):
                    self.inbox.remove(message)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {what} within {timeout}s; got {self.inbox}")
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), remaining)
            except TimeoutError:
                continue
            self.inbox.append(parse_message(data))

    async def reply(self, request: Request, status: int, reason: str, *, tag: str = "",
                    headers: str = "", body: bytes = b"") -> None:
        to = request.get("To") or ""
        if tag and ";tag=" not in to:
            to += f";tag={tag}"
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in request.headers.get_all("Via")]
        lines += [f"From: {request.get('From')}", f"To: {to}",
                  f"Call-ID: {request.call_id}", f"CSeq: {request.get('CSeq')}"]
        if status < 300 and request.method in ("INVITE", "UPDATE"):
            lines.append(f"Contact: {self.contact}")
        if body:
            lines.append("Content-Type: application/sdp")
        text = "\r\n".join(lines) + "\r\n" + headers
        await self.send(text, body)

    async def register(self, extension: str, password: str) -> None:
        self.user = extension
        host, port = self.server
        base = (f"REGISTER sip:{host}:{port} SIP/2.0\r\nFrom: <sip:{extension}@{host}>;tag=r1\r\n"
                f"To: <sip:{extension}@{host}>\r\nCall-ID: reg-{self.port}\r\n"
                f"Contact: {self.contact}\r\nExpires: 300\r\n")
        await self.send(f"{base}Via: {self.via()}\r\nCSeq: 1 REGISTER\r\n")
        challenge = await self.receive("401")
        value = choose_challenge(challenge.headers.get_all("WWW-Authenticate"))
        assert value is not None
        credentials = authorization(value, "REGISTER", f"sip:{host}:{port}", extension,
                                    password, cnonce="abc")
        await self.send(f"{base}Via: {self.via()}\r\nCSeq: 2 REGISTER\r\n"
                        f"Authorization: {credentials}\r\n")
        await self.receive("200")


def _is(message: Request | Response, what: str) -> bool:
    if isinstance(message, Request):
        return message.method == what
    if what.endswith("xx"):
        return str(message.status)[0] == what[0]
    return str(message.status) == what
