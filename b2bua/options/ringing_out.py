"""Ringing someone new into a live call (trainer, other device, transfer target): the offer
carries the codec the call already uses first, so the new leg can be relayed without
transcoding, and its answer is applied before the leg is handed over."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from b2bua.calls.call import Call
from b2bua.calls.leg import Leg
from b2bua.calls.ringing import Ringing, Target
from b2bua.sdp.session import SdpError, parse_sdp
from b2bua.sip.message import Response
from b2bua.sip.uri import NameAddr


def ring_into_call(
    call: Call,
    targets: Sequence[Target],
    *,
    role: str,
    like: Leg | None,
    timeout: float,
    caller: NameAddr,
    callee: NameAddr,
    on_answer: Callable[[Leg], None],
    on_fail: Callable[[int, str], None],
) -> Ringing:
    manager = call.manager
    codec = manager.media.codec(like) if like is not None else None

    def answered(leg: Leg, response: Response) -> None:
        try:
            if not response.body:
                raise SdpError("the answer has no SDP")
            manager.media.take_answer(leg, parse_sdp(response.body))
        except SdpError as error:
            call.log.info("answer from %s unusable: %s", leg.label, error.reason)
            leg.bye()
            manager.media.release(leg)
            on_fail(488, "Not Acceptable Here")
            return
        leg.owner = call
        manager.timers.settle_answer(leg, response)
        manager.stream_owner(leg)
        on_answer(leg)

    ringing = Ringing(
        manager, targets, role=role, from_=caller, to=callee,
        offer=lambda leg: manager.media.offer_for(leg, codec=codec, near=like or call.a),
        timeout=timeout, on_answer=answered, on_fail=on_fail,
        headers=manager.invite_headers(call),
    )
    ringing.start()
    return ringing


def office_uri(call: Call, user: str, name: str | None = None) -> NameAddr:
    return NameAddr(f"sip:{user}@{call.manager.config.sip.realm}", name)
