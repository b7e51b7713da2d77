"""Offer/answer (RFC 3264) for a B2BUA that anchors media and relays it without transcoding.

Each leg has its own :class:`LocalSession` (our ``o=`` line and its version). Payload type
numbers belong to the side that wrote them: the peer sends us the numbers of *our* SDP and we
send it the numbers of *its* SDP (RFC 3264 §5.1), which :class:`NegotiatedAudio` keeps apart
(``payload_type`` / ``send_payload_type``). Between legs the relay remaps.

A relayed call keeps one codec end to end: leg B is offered leg A's codecs in A's order
(:func:`offer_for_other_leg`), and A is answered with the codec B chose, under A's number
(:func:`answer_for_first_leg`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from b2bua.sdp.session import (
    Attribute,
    Codec,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
    Timing,
)

SUPPORTED_CODECS: tuple[str, ...] = ("PCMU", "PCMA")
PCMU = Codec(0, "PCMU", 8000)
PCMA = Codec(8, "PCMA", 8000)
TELEPHONE_EVENT = "telephone-event"
DEFAULT_TELEPHONE_EVENT_PT = 101
OUR_EVENTS = frozenset(range(17))  # DTMF 0-15 and flash (16)
DEFAULT_EVENTS = frozenset(range(16))  # RFC 4733 §2.5.2: no fmtp means 0-15
DEFAULT_PTIME = 20
ACCEPTED_PROTOS = ("RTP/AVP", "RTP/AVPF")
_DYNAMIC_PTS = range(96, 128)

_REVERSED: dict[Direction, Direction] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


class SdpNotAcceptable(SdpError):
    """Nothing in the offer or answer can be used: reply 488 Not Acceptable Here."""

    status_hint = 488


def reverse_direction(direction: Direction) -> Direction:
    """The same stream seen from the other end: ``sendonly`` ↔ ``recvonly``."""
    return _REVERSED[direction]


def sends(direction: Direction) -> bool:
    return direction in ("sendrecv", "sendonly")


def receives(direction: Direction) -> bool:
    return direction in ("sendrecv", "recvonly")


def combine_directions(first: Direction, second: Direction) -> Direction:
    """What both allow: sending only if both send, receiving only if both receive."""
    send = sends(first) and sends(second)
    receive = receives(first) and receives(second)
    if send and receive:
        return "sendrecv"
    if send:
        return "sendonly"
    return "recvonly" if receive else "inactive"


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """The audio stream agreed with one leg, from our side.

    ``payload_type`` / ``telephone_event_pt`` are the numbers the peer sends us (ours);
    ``send_payload_type`` / ``send_telephone_event_pt`` are the numbers we send it (the
    peer's); they differ only when the peer renumbered in its answer. ``direction`` is ours
    toward the leg (``sendonly``: we send, the peer does not). ``media_index`` is the position
    of the audio ``m=`` line.
    """

    remote_address: str
    remote_port: int
    rtcp_address: str
    rtcp_port: int
    codec: str
    payload_type: int
    send_payload_type: int
    clock_rate: int
    telephone_event_pt: int | None
    send_telephone_event_pt: int | None
    telephone_event_clock_rate: int
    ptime: int
    direction: Direction
    media_index: int = 0

    @property
    def sends(self) -> bool:
        return sends(self.direction)

    @property
    def receives(self) -> bool:
        return receives(self.direction)


class LocalSession:
    """Our side of one leg's SDP: the ``o=`` line, whose version goes up by one each time a
    description we send differs from the previous one (RFC 3264 §8); an unchanged re-offer
    (a session refresh) keeps it."""

    def __init__(
        self,
        address: str,
        session_id: int,
        version: int | None = None,
        username: str = "-",
        session_name: str = "-",
    ) -> None:
        self.address = address
        self.session_id = session_id
        self.version = session_id if version is None else version
        self.username = username
        self.session_name = session_name
        self._last_body: bytes | None = None

    @property
    def address_type(self) -> str:
        return "IP6" if ":" in self.address else "IP4"

    def stamp(self, description: SessionDescription) -> SessionDescription:
        """Fill in the origin, bumping the version when the content changed."""
        description.origin = Origin(
            self.username,
            self.session_id,
            0,
            self.address,
            address_type=self.address_type,
        )
        body = description.serialize()
        if self._last_body is not None and body != self._last_body:
            self.version += 1
        self._last_body = body
        description.origin.session_version = self.version
        return description

    def skeleton(self) -> SessionDescription:
        return SessionDescription(
            origin=Origin(self.username, self.session_id, self.version, self.address),
            session_name=self.session_name,
            connection=Connection(self.address, address_type=self.address_type),
            timing=[Timing(0, 0)],
        )


# --------------------------------------------------------------------------------------------
# Offers
# --------------------------------------------------------------------------------------------


def create_offer(
    local: LocalSession,
    *,
    port: int,
    codecs: Sequence[Codec] = (PCMU, PCMA),
    telephone_event_pt: int | None = DEFAULT_TELEPHONE_EVENT_PT,
    direction: Direction = "sendrecv",
    ptime: int | None = DEFAULT_PTIME,
) -> SessionDescription:
    """An offer for one audio stream toward a leg, with ``codecs`` under their own numbers."""
    if not codecs:
        raise ValueError("an offer needs at least one codec")
    events = (TELEPHONE_EVENT, telephone_event_pt, OUR_EVENTS) if telephone_event_pt else None
    media = _audio_media(port, "RTP/AVP", codecs, events, direction, ptime)
    description = local.skeleton()
    description.media = [media]
    return local.stamp(description)


def offer_for_other_leg(
    offer: SessionDescription,
    local: LocalSession,
    *,
    port: int,
    telephone_event_pt: int = DEFAULT_TELEPHONE_EVENT_PT,
    supported: Iterable[str] = SUPPORTED_CODECS,
    ptime: int | None = None,
) -> SessionDescription:
    """Leg B's offer from leg A's: A's supported codecs in A's order under A's numbers, our
    address, our telephone-event number for B, and A's direction (an old ``c=0.0.0.0`` hold
    becomes ``sendonly``)."""
    _, media = _audio_stream(offer)
    codecs = _usable_codecs(media, supported)
    if not codecs:
        raise SdpNotAcceptable("no codec in the offer can be relayed")
    taken = {c.payload_type for c in codecs}
    event_pt = telephone_event_pt
    if event_pt in taken:
        event_pt = next(pt for pt in _DYNAMIC_PTS if pt not in taken)
    return create_offer(
        local,
        port=port,
        codecs=codecs,
        telephone_event_pt=event_pt,
        direction=offer.direction_of(media),
        ptime=ptime or media.ptime or DEFAULT_PTIME,
    )


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def create_answer(
    offer: SessionDescription,
    local: LocalSession,
    *,
    port: int,
    codec: str | None = None,
    supported: Iterable[str] = SUPPORTED_CODECS,
    direction: Direction = "sendrecv",
    ptime: int | None = None,
    telephone_event: bool = True,
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer an offer: the first offered codec we support (or ``codec``, forced so that both
    legs of a relayed call use the same), under the offerer's numbers; telephone-event when
    offered; the offer's direction mirrored and limited by ``direction`` (ours); every other
    stream refused with port 0. Raises :class:`SdpNotAcceptable` when nothing fits."""
    index, media = _audio_stream(offer)
    candidates = _usable_codecs(media, (codec,) if codec else supported)
    if not candidates:
        wanted = f"codec {codec}" if codec else "no codec we support"
        raise SdpNotAcceptable(f"{wanted} not in the offer" if codec else wanted)
    chosen = candidates[0]
    event = _offered_events(media, chosen.clock_rate) if telephone_event else None
    ours = combine_directions(reverse_direction(offer.direction_of(media)), direction)
    answer_ptime = ptime or media.ptime
    events = (TELEPHONE_EVENT, event[0], event[1]) if event else None
    audio = _audio_media(port, media.proto, [chosen], events, ours, answer_ptime)
    description = local.skeleton()
    description.media = [audio if i == index else _refused(m) for i, m in enumerate(offer.media)]
    local.stamp(description)
    remote_address, rtcp_address, rtcp_port = _remote_addresses(offer, media)
    negotiated = NegotiatedAudio(
        remote_address=remote_address,
        remote_port=media.port,
        rtcp_address=rtcp_address,
        rtcp_port=rtcp_port,
        codec=_canonical(chosen.name, supported if codec is None else (codec,)),
        payload_type=chosen.payload_type,
        send_payload_type=chosen.payload_type,
        clock_rate=chosen.clock_rate,
        telephone_event_pt=event[0] if event else None,
        send_telephone_event_pt=event[0] if event else None,
        telephone_event_clock_rate=chosen.clock_rate,
        ptime=answer_ptime or DEFAULT_PTIME,
        direction=ours,
        media_index=index,
    )
    return description, negotiated


def answer_for_first_leg(
    offer: SessionDescription,
    other_leg: NegotiatedAudio,
    local: LocalSession,
    *,
    port: int,
    ptime: int | None = None,
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Leg A's answer once leg B answered: the codec B chose, under A's number, and what B
    allows in each direction passed through (we receive from A what we can send to B)."""
    return create_answer(
        offer,
        local,
        port=port,
        codec=other_leg.codec,
        direction=reverse_direction(other_leg.direction),
        ptime=ptime,
    )


def parse_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedAudio:
    """What a leg's answer to our ``offer`` settles. Raises :class:`SdpNotAcceptable` when the
    audio stream was refused or the answer picked nothing we offered."""
    index, offered = _audio_stream(offer)
    if len(answer.media) != len(offer.media):
        raise SdpNotAcceptable(
            f"answer has {len(answer.media)} media streams, the offer {len(offer.media)}"
        )
    media = answer.media[index]
    if media.port == 0:
        raise SdpNotAcceptable("audio stream refused in the answer")
    ours = [c for c in offered.codecs if c.name.lower() != TELEPHONE_EVENT]
    pair = next(
        ((mine, theirs) for theirs in media.codecs for mine in ours if mine.same_format(theirs)),
        None,
    )
    if pair is None:
        raise SdpNotAcceptable("the answer chose no codec we offered")
    mine, theirs = pair
    our_event = _event_codec(offered, mine.clock_rate)
    their_event = _event_codec(media, mine.clock_rate) if our_event else None
    direction = combine_directions(
        reverse_direction(answer.direction_of(media)), offer.direction_of(offered)
    )
    remote_address, rtcp_address, rtcp_port = _remote_addresses(answer, media)
    return NegotiatedAudio(
        remote_address=remote_address,
        remote_port=media.port,
        rtcp_address=rtcp_address,
        rtcp_port=rtcp_port,
        codec=_canonical(mine.name, SUPPORTED_CODECS),
        payload_type=mine.payload_type,
        send_payload_type=theirs.payload_type,
        clock_rate=mine.clock_rate,
        telephone_event_pt=our_event.payload_type if our_event and their_event else None,
        send_telephone_event_pt=their_event.payload_type if their_event else None,
        telephone_event_clock_rate=mine.clock_rate,
        ptime=media.ptime or offered.ptime or DEFAULT_PTIME,
        direction=direction,
        media_index=index,
    )


# --------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------


def _audio_stream(description: SessionDescription) -> tuple[int, MediaDescription]:
    """The first active RTP audio stream."""
    for index, media in enumerate(description.media):
        if media.media == "audio" and media.port != 0 and media.proto in ACCEPTED_PROTOS:
            if description.connection_for(media) is None:
                raise SdpError(f"no c= line for media stream {index}")
            return index, media
    raise SdpNotAcceptable("no RTP/AVP audio stream")


def _usable_codecs(media: MediaDescription, names: Iterable[str]) -> list[Codec]:
    wanted = {name.lower() for name in names}
    return [
        c
        for c in media.codecs
        if c.name.lower() in wanted and c.clock_rate == 8000 and c.channels == 1
    ]


def _canonical(name: str, names: Iterable[str]) -> str:
    return next((n for n in names if n.lower() == name.lower()), name)


def _event_codec(media: MediaDescription, clock_rate: int) -> Codec | None:
    return next(
        (
            c
            for c in media.codecs
            if c.name.lower() == TELEPHONE_EVENT and c.clock_rate == clock_rate
        ),
        None,
    )


def _offered_events(media: MediaDescription, clock_rate: int) -> tuple[int, frozenset[int]] | None:
    codec = _event_codec(media, clock_rate)
    if codec is None:
        return None
    offered = parse_event_list(codec.fmtp) if codec.fmtp else DEFAULT_EVENTS
    common = offered & OUR_EVENTS
    return (codec.payload_type, common) if common else None


def parse_event_list(text: str) -> frozenset[int]:
    """RFC 4733 §2.4.1 event list: ``0-15,66,70``; unreadable items are skipped."""
    events: set[int] = set()
    for item in text.replace(" ", "").split(","):
        low, dash, high = item.partition("-")
        if low.isdigit() and (not dash or high.isdigit()):
            events.update(range(int(low), int(high if dash else low) + 1))
    return frozenset(e for e in events if e < 256)


def format_event_list(events: Iterable[int]) -> str:
    """``{0,…,15,16}`` → ``0-16``; ``{0,1,2,5}`` → ``0-2,5``."""
    runs: list[list[int]] = []
    for event in sorted(set(events)):
        if runs and event == runs[-1][1] + 1:
            runs[-1][1] = event
        else:
            runs.append([event, event])
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in runs)


def _audio_media(
    port: int,
    proto: str,
    codecs: Sequence[Codec],
    events: tuple[str, int, frozenset[int]] | None,
    direction: Direction,
    ptime: int | None,
) -> MediaDescription:
    formats = [str(c.payload_type) for c in codecs]
    attributes = []
    for codec in codecs:
        channels = f"/{codec.channels}" if codec.channels != 1 else ""
        rtpmap = f"{codec.payload_type} {codec.name}/{codec.clock_rate}{channels}"
        attributes.append(Attribute("rtpmap", rtpmap))
        if codec.fmtp:
            attributes.append(Attribute("fmtp", f"{codec.payload_type} {codec.fmtp}"))
    if events is not None:
        name, pt, event_set = events
        rate = codecs[0].clock_rate
        formats.append(str(pt))
        attributes.append(Attribute("rtpmap", f"{pt} {name}/{rate}"))
        attributes.append(Attribute("fmtp", f"{pt} {format_event_list(event_set)}"))
    if ptime:
        attributes.append(Attribute("ptime", str(ptime)))
    attributes.append(Attribute(direction))
    return MediaDescription("audio", port, proto, formats, attributes=attributes)


def _refused(media: MediaDescription) -> MediaDescription:
    """A stream we do not take: same media, proto and formats, port 0 (RFC 3264 §6)."""
    return MediaDescription(media.media, 0, media.proto, list(media.formats))


def _remote_addresses(
    description: SessionDescription, media: MediaDescription
) -> tuple[str, str, int]:
    connection = description.connection_for(media)
    if connection is None:
        raise SdpError("no c= line for the audio stream")
    rtcp = media.rtcp  # RTCP multiplexing (RFC 5761) is never accepted: separate ports
    if rtcp is None:
        return connection.host, connection.host, media.port + 1
    port, rtcp_connection = rtcp
    return connection.host, (rtcp_connection or connection).host, port
