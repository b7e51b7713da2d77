"""Property tests: generated valid messages round-trip; arbitrary bytes only ever raise
RemoteProtocolError, in the parser and through the core."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from b2bua.sip.core import Peer, SipCore
from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import Via, header_key
from b2bua.sip.message import Request, Response
from b2bua.sip.parser import StreamFramer, parse_message
from b2bua.sip.uri import NameAddr, SipURI

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
hosts = st.one_of(
    st.lists(labels, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.sampled_from(["[2001:db8::1]", "[::1]", "[2001:db8:0:0:1:0:0:1]"]),
)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
# Values for headers the parser does not read: any printable text, no line breaks.
free_values = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r\n"), max_size=40)
READ_AT_ONCE = {"via", "from", "to", "call-id", "cseq", "content-length"}
extra_names = tokens.filter(lambda name: header_key(name) not in READ_AT_ONCE)
methods = st.one_of(st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
                                     "INFO", "UPDATE", "MESSAGE"]),
                    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10))


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    host = draw(hosts)
    lines: list[str] = []
    is_request = draw(st.booleans())
    method = draw(methods)
    if is_request:
        user = draw(labels)
        lines.append(f"{method} sip:{user}@{host}{draw(ports)} SIP/2.0")
    else:
        reason = draw(st.text(TOKEN_CHARS + " ", max_size=20))
        lines.append(f"SIP/2.0 {draw(st.integers(100, 699))} {reason}")
    branch = "z9hG4bK" + draw(tokens)
    transport = draw(st.sampled_from(["UDP", "TCP", "udp"]))
    rport = draw(st.sampled_from(["", ";rport", ";rport=5070;received=192.0.2.1"]))
    headers = [
        (draw(st.sampled_from(["Via", "v", "VIA"])),
         f"SIP/2.0/{transport} {host}{draw(ports)};branch={branch}{rport}"),
        (draw(st.sampled_from(["From", "f"])),
         f'"{draw(labels)}" <sip:{draw(labels)}@{host}>;tag={draw(tokens)}'),
        (draw(st.sampled_from(["To", "t"])), f"<sip:{draw(labels)}@{host}>"),
        (draw(st.sampled_from(["Call-ID", "i", "call-id"])), f"{draw(tokens)}@{draw(labels)}"),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
    ]
    headers += draw(st.lists(st.tuples(extra_names, free_values), max_size=6))
    order = draw(st.permutations(range(len(headers))))
    body = draw(st.binary(max_size=200))
    for index in order:
        name, value = headers[index]
        separator = draw(st.sampled_from([": ", ":", " : ", ":  "]))
        lines.append(f"{name}{separator}{value}")
    lines.append(f"{draw(st.sampled_from(['Content-Length', 'l']))}: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@settings(max_examples=400, deadline=None)
@given(messages())
def test_valid_messages_round_trip_byte_for_byte(data: bytes) -> None:
    message = parse_message(data)
    assert message.serialize() == data
    assert message.body == data.split(b"\r\n\r\n", 1)[1]
    assert message.top_via.branch is not None
    assert message.top_via.branch.startswith("z9hG4bK")
    assert message.from_.tag is not None
    if isinstance(message, Request):
        assert message.cseq.method == message.method
    else:
        assert isinstance(message, Response)
        assert 100 <= message.status <= 699


@settings(max_examples=200, deadline=None)
@given(messages())
def test_framer_cuts_generated_streams(data: bytes) -> None:
    framer = StreamFramer()
    got = framer.feed(b"\r\n" + data[:7]) + framer.feed(data[7:] + data)
    assert got == [data, data]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_raise_only_remote_protocol_errors(data: bytes) -> None:
    try:
        message = parse_message(data)
    except RemoteProtocolError as error:
        assert error.reason
        assert error.status_hint in (400, 505, 513)
    else:
        assert isinstance(message, Request | Response)


@settings(max_examples=300, deadline=None)
@given(messages(), st.integers(0, 400), st.integers(0, 40), st.binary(max_size=30))
def test_damaged_messages_raise_only_remote_protocol_errors(
    data: bytes, start: int, length: int, junk: bytes
) -> None:
    damaged = data[:start] + junk + data[start + length :]
    try:
        message = parse_message(damaged)
    except RemoteProtocolError as error:
        assert error.reason
    else:
        _ = (message.top_via, message.cseq, message.call_id, message.from_, message.to)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(messages(), st.binary(max_size=300)), max_size=8))
def test_the_core_survives_anything(datagrams: list[bytes]) -> None:
    numbers = itertools.count()
    core = SipCore(local={"udp": ("192.0.2.1", 5060)}, token=lambda n: f"t{next(numbers)}")
    source = Peer("udp", "198.51.100.1", 5060)
    for i, data in enumerate(datagrams):
        core.receive(data, source, float(i))
        core.handle_timer(float(i) + 0.5)
    received = sum(1 for data in datagrams if data.strip(b"\r\n"))
    assert core.stats["received"] == received
    assert len(core.pop_events()) >= core.stats["malformed"]


# -- the fast paths (one regular expression for the common shape) agree with the long way --

uri_texts = st.builds(
    lambda scheme, user, password, host, port, params: (
        f"{scheme}:{user + (':' + password if password else '') + '@' if user else ''}"
        f"{host}{port}{params}"),
    st.sampled_from(["sip", "sips", "SIP"]), st.one_of(st.just(""), labels),
    st.one_of(st.just(""), labels), hosts, ports,
    st.lists(st.tuples(tokens, st.one_of(st.just(""), labels)), max_size=3,
             unique_by=lambda item: item[0].lower()).map(
        lambda items: "".join(f";{k}={v}" if v else f";{k}" for k, v in items)),
)


def uri_fields(uri: SipURI) -> tuple[object, ...]:
    return (uri.scheme, uri.user, uri.password, uri.host, uri.port, uri.params, uri.headers)


@settings(max_examples=300, deadline=None)
@given(uri_texts)
def test_sip_uri_fast_path_agrees(text: str) -> None:
    assert uri_fields(SipURI.parse(text)) == uri_fields(SipURI._parse(text))
    assert str(SipURI.parse(text)).lower() == text.lower()


name_addr_texts = st.builds(
    lambda display, uri, params: f"{display}<{uri}>{params}",
    st.one_of(st.just(""), labels.map(lambda s: f"{s} "),
              free_values.filter(lambda s: '"' not in s and "\\" not in s).map(
                  lambda s: f'"{s}" ')),
    uri_texts,
    st.lists(st.tuples(tokens, st.one_of(st.just(""), tokens)), max_size=3,
             unique_by=lambda item: item[0].lower()).map(
        lambda items: "".join(f";{k}={v}" if v else f";{k}" for k, v in items)),
)


@settings(max_examples=300, deadline=None)
@given(name_addr_texts)
def test_name_addr_fast_path_agrees(text: str) -> None:
    fast = NameAddr.parse(text)
    slow = NameAddr._parse(text)
    assert (fast.display_name, fast.uri_text, fast.params) == (
        slow.display_name, slow.uri_text, slow.params)


via_texts = st.builds(
    lambda transport, host, port, params: f"SIP/2.0/{transport} {host}{port}{params}",
    st.sampled_from(["UDP", "TCP", "tls", "WS"]), hosts, ports,
    st.lists(st.tuples(tokens, st.one_of(st.just(""), tokens)), max_size=4,
             unique_by=lambda item: item[0].lower()).map(
        lambda items: "".join(f";{k}={v}" if v else f";{k}" for k, v in items)),
)


@settings(max_examples=300, deadline=None)
@given(via_texts)
def test_via_fast_path_agrees(text: str) -> None:
    fast = Via.parse(text)
    slow = Via._parse(text)
    assert (fast.protocol, fast.transport, fast.host, fast.port, fast.params) == (
        slow.protocol, slow.transport, slow.host, slow.port, slow.params)
