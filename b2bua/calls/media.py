"""The SDP of each leg and the media engine stream behind it.

Every leg gets its own RTP stream on our side, so all media flows through the B2BUA. Offers and
answers are built here from the other leg's SDP (the payload type numbers each side chose are
kept on that side; the relay remaps between them) and applied to the engine.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from b2bua.calls.call import Call
from b2bua.sdp.negotiate import (
    PCMA,
    PCMU,
    LocalSession,
    NegotiatedAudio,
    answer_for_first_leg,
    create_answer,
    create_offer,
    offer_for_other_leg,
    parse_answer,
)
from b2bua.sdp.session import Codec, SessionDescription

if TYPE_CHECKING:
    from b2bua.calls.leg import Leg
    from b2bua.media.control import MediaControl

log = logging.getLogger(__name__)


class CallMedia:
    """Allocates streams for legs, negotiates their SDP and configures the engine."""

    def __init__(self, engine: MediaControl, address: str, rng: random.Random | None = None,
                 rtp_timeout: float | None = None) -> None:
        self.engine = engine
        self.address = address
        self.rng = rng or random.SystemRandom()
        self.rtp_timeout = rtp_timeout
        self.on_release: Callable[[int], None] = lambda stream: None
        """Told each stream id released (the call manager forgets its index entry)."""

    def attach(self, leg: Leg, near: Leg | None = None) -> int:
        """Give `leg` its RTP stream and its SDP session (idempotent); `near`: a leg of the
        same call (by default another leg of `leg`'s owner), whose media `leg`'s will meet."""
        if leg.stream is None:
            stream = near.stream if near is not None else None
            leg.stream = self.engine.allocate(near=_near(leg) if stream is None else stream)
            leg.session = LocalSession(self.address, self.rng.randrange(1, 2**31))
        return leg.stream

    def release(self, leg: Leg) -> None:
        if leg.stream is not None:
            self.engine.release(leg.stream)
            self.on_release(leg.stream)
            leg.stream = None

    def port(self, leg: Leg) -> int:
        return self.engine.local_port(self.attach(leg))

    # -- building offers -------------------------------------------------------------------

    def offer_like(self, leg: Leg, model: SessionDescription, *,
                   near: Leg | None = None) -> SessionDescription:
        """`leg`'s offer carrying the codecs of another leg's offer `model`."""
        self.attach(leg, near)
        assert leg.session is not None
        offer = offer_for_other_leg(model, leg.session, port=self.port(leg))
        leg.our_offer = offer
        return offer

    def offer_for(self, leg: Leg, codec: str | None = None, *, only: bool = False,
                  near: Leg | None = None) -> SessionDescription:
        """A fresh offer toward a new leg: PCMU and PCMA, `codec` (the one the call uses) first,
        so that the new leg can be relayed without transcoding when it accepts it; with `only`,
        that codec alone."""
        self.attach(leg, near)
        assert leg.session is not None
        codecs: tuple[Codec, ...] = (PCMA, PCMU) if codec == "PCMA" else (PCMU, PCMA)
        if only and codec is not None:
            codecs = codecs[:1]
        offer = create_offer(leg.session, port=self.port(leg), codecs=codecs)
        leg.our_offer = offer
        return offer

    # -- answers ---------------------------------------------------------------------------

    def take_answer(self, leg: Leg, answer: SessionDescription) -> NegotiatedAudio:
        """Apply the answer `leg` gave to our offer."""
        assert leg.our_offer is not None
        leg.media = parse_answer(leg.our_offer, answer)
        leg.remote_sdp = answer
        self.configure(leg)
        return leg.media

    def answer_like(self, leg: Leg, offer: SessionDescription,
                    other: NegotiatedAudio) -> SessionDescription:
        """`leg`'s answer to its offer once the other leg settled on a codec."""
        self.attach(leg)
        assert leg.session is not None
        answer, leg.media = answer_for_first_leg(offer, other, leg.session, port=self.port(leg))
        leg.remote_offer = leg.remote_sdp = offer
        self.configure(leg)
        return answer

    def answer(self, leg: Leg, offer: SessionDescription,
               codec: str | None = None) -> SessionDescription:
        """Answer `offer` locally, preferring `codec` when offered (else the offerer's first)."""
        self.attach(leg)
        assert leg.session is not None
        try:
            answer, leg.media = create_answer(offer, leg.session, port=self.port(leg),
                                              codec=codec)
        except ValueError:
            if codec is None:
                raise
            answer, leg.media = create_answer(offer, leg.session, port=self.port(leg))
        leg.remote_offer = leg.remote_sdp = offer
        self.configure(leg)
        return answer

    def configure(self, leg: Leg) -> None:
        media = leg.media
        if media is None or leg.stream is None:
            return
        self.engine.configure(
            leg.stream,
            remote=(media.remote_address, media.remote_port),
            codec=media.codec,
            payload_type=media.send_payload_type,
            telephone_event_pt=media.send_telephone_event_pt,
            ptime_ms=media.ptime,
            direction=media.direction,
            rtp_timeout="default" if self.rtp_timeout is None else self.rtp_timeout,
        )

    def codec(self, leg: Leg) -> str | None:
        return leg.media.codec if leg.media is not None else None


def _near(leg: Leg) -> int | None:
    """A stream of another leg of the same call: media of one call stays in one worker."""
    owner = leg.owner
    if not isinstance(owner, Call):
        return None
    for other in owner.legs():
        if other is not leg and other.stream is not None:
            return int(other.stream)
    return None
