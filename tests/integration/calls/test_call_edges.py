"""Corner cases of calls, with scripted SIP peers on real sockets: a 200 crossing a CANCEL,
a late offer, session timers, refreshes that stay local, the callee hanging up, a finished
call freed."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import re
import weakref
from typing import Any

import pytest
from testbed.calls import reported_calls, until
from testbed.office import PASSWORDS
from testbed.scripted import ScriptedPhone, sdp

from b2bua.app.live import service_metrics
from b2bua.media.ports import PortRange
from b2bua.media.workers import split_ports
from b2bua.sip.message import Request, Response


async def phones(service: Any) -> tuple[ScriptedPhone, ScriptedPhone]:
    server = service.sip_addresses["udp"]
    phone = ScriptedPhone(server)
    await phone.register("101", PASSWORDS["101"])
    return ScriptedPhone(server, user="79161234567"), phone


async def invite(client: ScriptedPhone, *, body: bytes | None = None, headers: str = "",
                 call_id: str = "edge-1") -> str:
    """Send the client's INVITE; answer its Via (a CANCEL must repeat it)."""
    host, port = client.server
    payload = sdp(40000) if body is None else body
    via = client.via()
    text = (f"INVITE sip:7000@{host}:{port} SIP/2.0\r\nVia: {via}\r\n"
            f"From: <sip:{client.user}@127.0.0.1>;tag=c1\r\nTo: <sip:7000@{host}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: {client.contact}\r\n"
            f"Max-Forwards: 70\r\n{headers}")
    if payload:
        text += "Content-Type: application/sdp\r\n"
    await client.send(text, payload)
    return via


async def ack(client: ScriptedPhone, ok: Response, body: bytes = b"") -> None:
    host, _ = client.server
    text = (f"ACK sip:b2bua@{host} SIP/2.0\r\nVia: {client.via()}\r\n"
            f"From: {ok.get('From')}\r\nTo: {ok.get('To')}\r\nCall-ID: {ok.call_id}\r\n"
            f"CSeq: {ok.cseq.seq} ACK\r\nMax-Forwards: 70\r\n")
    if body:
        text += "Content-Type: application/sdp\r\n"
    await client.send(text, body)


async def in_dialog(client: ScriptedPhone, ok: Response, method: str, cseq: int,
                    body: bytes = b"") -> None:
    host, _ = client.server
    text = (f"{method} sip:b2bua@{host} SIP/2.0\r\nVia: {client.via()}\r\n"
            f"From: {ok.get('From')}\r\nTo: {ok.get('To')}\r\nCall-ID: {ok.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\nContact: {client.contact}\r\nMax-Forwards: 70\r\n")
    if body:
        text += "Content-Type: application/sdp\r\n"
    await client.send(text, body)


async def answered(service: Any, headers: str = "") -> tuple[
        ScriptedPhone, ScriptedPhone, Response, Request]:
    client, phone = await phones(service)
    await invite(client, headers=headers)
    offered = await phone.receive("INVITE")
    assert isinstance(offered, Request)
    await phone.reply(offered, 200, "OK", tag="p1", body=sdp(41000))
    await phone.receive("ACK")
    ok = await client.receive("200")
    assert isinstance(ok, Response)
    await ack(client, ok)
    return client, phone, ok, offered


def the_call(service: Any) -> Any:
    [detail] = reported_calls(service, 2)
    return detail


async def test_answer_crossing_cancel_is_acknowledged_and_hung_up(service: Any) -> None:
    client, phone = await phones(service)
    via = await invite(client)
    offered = await phone.receive("INVITE")
    await phone.reply(offered, 180, "Ringing", tag="p1")
    await client.receive("180")
    host, port = client.server
    await client.send(f"CANCEL sip:7000@{host}:{port} SIP/2.0\r\nVia: {via}\r\n"
                      f"From: <sip:{client.user}@127.0.0.1>;tag=c1\r\nTo: <sip:7000@{host}>\r\n"
                      "Call-ID: edge-1\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\n")
    assert (await client.receive("200")).cseq.method == "CANCEL"
    assert (await client.receive("487")).cseq.method == "INVITE"
    cancel = await phone.receive("CANCEL")
    await phone.reply(cancel, 200, "OK", tag="p1")
    # the phone answers anyway: its 200 crossed our CANCEL
    await phone.reply(offered, 200, "OK", tag="p1", body=sdp(41000))
    await phone.receive("ACK")
    bye = await phone.receive("BYE")
    assert bye.to.tag == "p1"
    await phone.reply(bye, 200, "OK")
    assert the_call(service).call.disposition == "cancelled"


async def test_late_offer_gets_our_offer_and_the_answer_in_the_ack(service: Any) -> None:
    client, phone = await phones(service)
    await invite(client, body=b"")
    offered = await phone.receive("INVITE")
    assert b"m=audio" in offered.body  # the phone gets an offer of ours
    await phone.reply(offered, 200, "OK", tag="p1", body=sdp(41000, codecs="8"))
    ok = await client.receive("200")
    assert b"RTP/AVP 8 101" in ok.body  # the client gets an offer with the codec settled
    await ack(client, ok, sdp(40000, codecs="8"))
    await in_dialog(client, ok, "BYE", 2)
    await client.receive("200")
    await phone.receive("BYE")
    media = await until(lambda: [e.detail for e in the_call(service).events
                                 if e.kind == "media"])
    assert media[0]["caller"]["codec"] == "PCMA"


async def test_session_timer_negotiated_with_the_caller(service: Any) -> None:
    _client, _phone, ok, offered = await answered(
        service, headers="Supported: timer\r\nSession-Expires: 120\r\n")
    assert ok.get("Session-Expires") == "120;refresher=uac"
    assert ok.get("Require") == "timer"
    assert offered.get("Session-Expires") == "1800"  # asked of the callee on its own leg


async def test_too_short_session_interval_gets_422(service: Any) -> None:
    client, _phone = await phones(service)
    await invite(client, headers="Supported: timer\r\nSession-Expires: 30\r\n")
    refused = await client.receive("422")
    assert refused.get("Min-SE") == "90"


async def test_refreshes_are_answered_without_bothering_the_other_side(service: Any) -> None:
    client, phone, ok, _offered = await answered(service)
    await in_dialog(client, ok, "UPDATE", 2)
    assert (await client.receive("200")).cseq.method == "UPDATE"
    await in_dialog(client, ok, "INVITE", 3, sdp(40000))  # same o= version: a refresh
    again = await client.receive("200")
    assert b"m=audio" in again.body
    await ack(client, again)
    await in_dialog(client, ok, "BYE", 4)
    await client.receive("200")
    bye = await phone.receive("BYE")
    assert not [m for m in phone.inbox if isinstance(m, Request) and m.method == "INVITE"]
    await phone.reply(bye, 200, "OK")


async def test_callee_hangs_up(service: Any) -> None:
    client, phone, _ok, offered = await answered(service)
    host, _ = phone.server
    await phone.send(f"BYE sip:b2bua@{host} SIP/2.0\r\nVia: {phone.via()}\r\n"
                     f"From: {offered.get('To')};tag=p1\r\nTo: {offered.get('From')}\r\n"
                     f"Call-ID: {offered.call_id}\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n")
    assert (await phone.receive("200")).cseq.method == "BYE"
    bye = await client.receive("BYE")
    await client.reply(bye, 200, "OK")
    call = the_call(service).call
    assert (call.hangup_side, call.disposition) == ("callee", "answered")


async def test_unknown_dialog_gets_481(service: Any) -> None:
    client, _phone = await phones(service)
    host, _ = client.server
    await client.send(f"BYE sip:b2bua@{host} SIP/2.0\r\nVia: {client.via()}\r\n"
                      "From: <sip:a@127.0.0.1>;tag=x\r\nTo: <sip:b@127.0.0.1>;tag=y\r\n"
                      "Call-ID: nowhere\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n")
    assert (await client.receive("481")).cseq.method == "BYE"


async def test_an_ended_call_is_freed_once_its_transactions_end(service: Any) -> None:
    """Nothing keeps a finished call alive, and nothing in it refers back to it: once the core
    forgets the call's transactions (their timers run out), reference counting alone frees
    the call, its legs and their messages (no garbage collection needed)."""
    client, phone, ok, _offered = await answered(service)
    [live] = service.calls.calls.values()
    call, legs = weakref.ref(live), [weakref.ref(leg) for leg in live.legs()]
    del live
    gc.collect()
    gc.disable()
    try:
        await in_dialog(client, ok, "BYE", 2)
        assert (await client.receive("200")).cseq.method == "BYE"
        bye = await phone.receive("BYE")
        await phone.reply(bye, 200, "OK")
        await until(lambda: not service.calls.calls)
        now = asyncio.get_running_loop().time()
        for later in (40.0, 80.0):  # past Timers D, J and K: every transaction terminated
            service.core.handle_timer(now + later)
        service.transport.pump()
        await asyncio.sleep(0.05)
        assert call() is None
        assert [leg() for leg in legs] == [None, None]
    finally:
        gc.enable()


async def test_an_ended_call_is_freed_while_its_transactions_linger(service: Any) -> None:
    """Transactions outlive a call by up to 32 s (Timers J, L, M); what they keep of it then is
    the phone's leg with its dialog and INVITE (to acknowledge a repeated 2xx), never the call,
    the client's leg or anyone's session descriptions: at hundreds of calls a second those
    32 s used to hold every call's whole object graph."""
    client, phone, ok, _offered = await answered(service)
    [live] = service.calls.calls.values()
    call = weakref.ref(live)
    client_leg, phone_leg = (weakref.ref(leg) for leg in live.legs())
    del live
    gc.collect()
    gc.disable()
    try:
        await in_dialog(client, ok, "BYE", 2)
        await client.receive("200")
        await phone.reply(await phone.receive("BYE"), 200, "OK")
        await until(lambda: not service.calls.calls)
        await asyncio.sleep(0.05)
        layer = service.core.layer  # the INVITEs' transactions still linger
        assert {t.method for t in layer.server.values()} >= {"INVITE"}
        assert {t.method for t in layer.client.values()} >= {"INVITE"}
        assert call() is None and client_leg() is None
        leg = phone_leg()
        assert leg is not None and leg.dialog is not None and leg.invite is not None
        assert (leg.session, leg.remote_sdp, leg.local_sdp, leg.remote_offer, leg.our_offer,
                leg.media) == (None,) * 6
    finally:
        gc.enable()


async def test_a_refused_leg_is_freed_while_its_invite_lingers(service: Any) -> None:
    """A phone that answers 486 leaves an INVITE transaction waiting 32 s for retransmissions
    (Timer D); the leg it created is let go at once, its final answer taken (and that answer
    still reaches the call: the client gets the 486)."""
    client, phone = await phones(service)
    await invite(client)
    offered = await phone.receive("INVITE")
    [live] = service.calls.calls.values()
    assert live.ringing is not None
    [ringing] = live.ringing.legs
    refused = weakref.ref(ringing)
    del live, ringing
    gc.collect()
    gc.disable()
    try:
        await phone.reply(offered, 486, "Busy Here", tag="p1")
        assert (await client.receive("486")).status == 486
        await phone.receive("ACK")
        await until(lambda: not service.calls.calls)
        await asyncio.sleep(0.05)
        assert any(t.method == "INVITE" and t.state == "COMPLETED"
                   for t in service.core.layer.client.values())
        assert refused() is None
    finally:
        gc.enable()


async def test_a_call_through_media_workers(start_office: Any) -> None:
    """With `media.workers`, both streams of a call live in one worker process (its share of
    the port range), the report still gets the media counters, and the workers stop with the
    service."""
    service = await start_office(media={"workers": 2})
    processes = service.engine.processes
    assert len(processes) == 2
    metrics = service_metrics(service)
    assert metrics["b2bua_media_workers"] == 2
    assert metrics["b2bua_media_worker_restarts_total"] == 0
    client, phone, ok, offered = await answered(service)
    ports = [int(re.search(rb"m=audio (\d+)", m.body)[1]) for m in (ok, offered)]
    shares = split_ports(PortRange("127.0.0.1", *service.config.media.rtp_ports.model_dump()
                                   .values()), 2)
    workers = {i for i, r in enumerate(shares) for p in ports if r.low <= p <= r.high}
    assert len(workers) == 1, f"ports {ports} in one worker's share"
    await in_dialog(client, ok, "BYE", 2)
    await client.receive("200")
    await phone.reply(await phone.receive("BYE"), 200, "OK")
    media = await until(lambda: [e.detail for e in the_call(service).events
                                 if e.kind == "media"])
    assert {side["port"] for side in media[0].values()} == set(ports)
    # the counters come back after the legs let go of their session: the codec is still told
    assert {side["codec"] for side in media[0].values()} == {"PCMU"}
    await service.stop()
    for pid in processes:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_a_call_finding_no_free_rtp_port_gets_503(start_office: Any) -> None:
    first = random.randrange(30000, 30400, 2)
    service = await start_office(media={"rtp_ports": f"{first}-{first + 3}",  # two streams
                                        "workers": 0})
    await answered(service)
    late = ScriptedPhone(service.sip_addresses["udp"], user="79169999999")
    await invite(late, call_id="edge-2")
    refused = await late.receive("503")
    assert refused.get("Retry-After") == "5"
    assert len(service.calls.calls) == 1


async def test_a_call_whose_callee_leg_finds_no_rtp_port_fails_cleanly(
        start_office: Any) -> None:
    first = random.randrange(30000, 30400, 2)
    service = await start_office(media={"rtp_ports": f"{first}-{first + 1}",  # one stream
                                        "workers": 0})
    client, _phone = await phones(service)
    await invite(client)
    refused = await client.receive("480")  # as when no device could be rung
    assert refused.cseq.method == "INVITE"
    await until(lambda: not service.calls.calls)
    assert service.engine.stream_count == 0
