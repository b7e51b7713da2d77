"""Offers received within a call (re-INVITE, UPDATE): hold, resume, codec changes, refreshes.

A new offer from one party goes across to the other party as that leg's own offer (our address,
that leg's payload numbers, the same direction: `sendonly` for hold), and the other party's
answer comes back as this leg's answer. A session refresh (no SDP, or the same SDP version) is
answered here without bothering the other side; so is an offer that changes nothing the other
side would see (same direction, codec in use still offered: a new port, say), and an offer made
while the other side is not bridged (the client listening to music while a transfer is dialled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from b2bua.sdp.session import SdpError, SessionDescription

if TYPE_CHECKING:
    from b2bua.calls.call import Call
    from b2bua.calls.leg import Leg
    from b2bua.calls.media import CallMedia

log = logging.getLogger(__name__)

Reply = Callable[[int, SessionDescription | None], None]


def is_refresh(previous: SessionDescription | None, offer: SessionDescription) -> bool:
    """An offer repeating the previous one (same origin session and version, RFC 3264 §8)."""
    if previous is None:
        return False
    before, now = previous.origin, offer.origin
    return (before.session_id, before.session_version) == (now.session_id, now.session_version)


def changes_nothing_across(leg: Leg, offer: SessionDescription) -> bool:
    """A new offer that the other party need not hear of: same direction as before and the
    codec in use still offered (a new address or port only concerns our side of this leg)."""
    previous = leg.remote_sdp
    if previous is None or leg.media is None or not previous.media or not offer.media:
        return False
    if previous.direction_of(previous.media[0]) != offer.direction_of(offer.media[0]):
        return False
    codecs = {codec.name.upper() for codec in offer.media[0].codecs}
    return leg.media.codec.upper() in codecs


class OfferRelay:
    """Carries offers across the parties of calls."""

    def __init__(self, media: CallMedia) -> None:
        self.media = media

    def relay(self, call: Call, leg: Leg, offer: SessionDescription | None, reply: Reply) -> None:
        if offer is None or is_refresh(leg.remote_sdp, offer):
            reply(200, leg.local_sdp)
            return
        other = call.other(leg)
        if (other is None or not other.answered or not call.bridged(leg)
                or changes_nothing_across(leg, offer)):
            self._answer_here(leg, offer, reply)
            return
        try:
            other_offer = self.media.offer_like(other, offer)
        except SdpError as error:
            log.info("%r: offer not relayable: %s", leg, error.reason)
            reply(488, None)
            return

        def answered(status: int, answer: SessionDescription | None) -> None:
            if status >= 300 or answer is None:
                reply(status if status >= 300 else 488, None)
                return
            try:
                other_media = self.media.take_answer(other, answer)
                reply(200, self.media.answer_like(leg, offer, other_media))
            except SdpError as error:
                log.info("%r: answer not relayable: %s", other, error.reason)
                reply(488, None)

        other.offer(other_offer, answered)

    def _answer_here(self, leg: Leg, offer: SessionDescription, reply: Reply) -> None:
        try:
            reply(200, self.media.answer(leg, offer, codec=self.media.codec(leg)))
        except SdpError as error:
            log.info("%r: offer not acceptable: %s", leg, error.reason)
            reply(488, None)
