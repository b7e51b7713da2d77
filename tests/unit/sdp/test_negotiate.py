"""Offer/answer (RFC 3264) for the B2BUA: offers, answers, parsing answers, the helpers that
carry one leg's offer/answer to the other, and the matrix of codecs, payload type numbers,
directions and hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.sdp.negotiate import (
    PCMA,
    PCMU,
    LocalSession,
    NegotiatedAudio,
    SdpNotAcceptable,
    answer_for_first_leg,
    combine_directions,
    create_answer,
    create_offer,
    format_event_list,
    offer_for_other_leg,
    parse_answer,
    parse_event_list,
    reverse_direction,
)
from b2bua.sdp.session import Codec, Direction, SdpError, SessionDescription, parse_sdp

DIRECTIONS: list[Direction] = ["sendrecv", "sendonly", "recvonly", "inactive"]


def sdp(*lines: str) -> SessionDescription:
    return parse_sdp(("\r\n".join(lines) + "\r\n").encode())


def offer_from(address: str, media_lines: list[str], *attributes: str) -> SessionDescription:
    return sdp(
        "v=0",
        f"o=- 1 1 IN IP4 {address}",
        "s=-",
        f"c=IN IP4 {address}",
        "t=0 0",
        *media_lines,
        *attributes,
    )


BARESIP_OFFER = offer_from(
    "10.0.0.5",
    ["m=audio 42742 RTP/AVP 0 8 101"],
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=sendrecv",
    "a=ptime:20",
)
ASTERISK_OFFER = offer_from(
    "192.0.2.10",
    ["m=audio 17170 RTP/AVP 8 0 3 101"],
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:3 GSM/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:30",
    "a=sendrecv",
)
SIPP_DEFAULT_OFFER = offer_from("127.0.0.1", ["m=audio 6000 RTP/AVP 0"], "a=rtpmap:0 PCMU/8000")


def us(address: str = "203.0.113.1", session_id: int = 5000) -> LocalSession:
    return LocalSession(address, session_id)


def text(description: SessionDescription) -> str:
    return description.serialize().decode()


# -- offers ------------------------------------------------------------------------------------


def test_fresh_offer_bytes() -> None:
    offer = create_offer(us(), port=30000)
    assert text(offer) == (
        "v=0\r\n"
        "o=- 5000 5000 IN IP4 203.0.113.1\r\n"
        "s=-\r\n"
        "c=IN IP4 203.0.113.1\r\n"
        "t=0 0\r\n"
        "m=audio 30000 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )
    assert parse_sdp(offer.serialize()) == offer


def test_offer_options() -> None:
    offer = create_offer(
        us("2001:db8::1"),
        port=30002,
        codecs=[PCMA, Codec(97, "PCMU", fmtp="x=1")],
        telephone_event_pt=None,
        direction="sendonly",
        ptime=None,
    )
    assert text(offer).splitlines()[1:] == [
        "o=- 5000 5000 IN IP6 2001:db8::1",
        "s=-",
        "c=IN IP6 2001:db8::1",
        "t=0 0",
        "m=audio 30002 RTP/AVP 8 97",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:97 PCMU/8000",
        "a=fmtp:97 x=1",
        "a=sendonly",
    ]
    with pytest.raises(ValueError, match="at least one codec"):
        create_offer(us(), port=1, codecs=[])


def test_version_goes_up_only_when_the_description_changes() -> None:
    leg = us(session_id=777)
    assert create_offer(leg, port=4000).origin.session_version == 777
    assert create_offer(leg, port=4000).origin.session_version == 777  # session refresh
    held = create_offer(leg, port=4000, direction="sendonly")
    assert (held.origin.session_id, held.origin.session_version) == (777, 778)
    assert create_offer(leg, port=4000).origin.session_version == 779
    answer, _ = create_answer(BARESIP_OFFER, leg, port=4000)
    assert answer.origin.session_version == 780
    assert leg.version == 780


# -- answers -----------------------------------------------------------------------------------


def test_answer_to_baresip() -> None:
    answer, got = create_answer(BARESIP_OFFER, us(), port=31000)
    assert text(answer).splitlines()[5:] == [
        "m=audio 31000 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
    ]
    assert got == NegotiatedAudio(
        remote_address="10.0.0.5",
        remote_port=42742,
        rtcp_address="10.0.0.5",
        rtcp_port=42743,
        codec="PCMU",
        payload_type=0,
        send_payload_type=0,
        clock_rate=8000,
        telephone_event_pt=101,
        send_telephone_event_pt=101,
        telephone_event_clock_rate=8000,
        ptime=20,
        direction="sendrecv",
        media_index=0,
    )
    assert got.sends and got.receives


def test_answer_to_asterisk_takes_its_first_codec_and_ptime() -> None:
    answer, got = create_answer(ASTERISK_OFFER, us(), port=31000)
    assert answer.media[0].formats == ["8", "101"]
    assert answer.media[0].attribute("fmtp") == "101 0-16"
    assert (got.codec, got.payload_type, got.ptime) == ("PCMA", 8, 30)
    assert answer.media[0].ptime == 30


def test_answer_to_sipp_default_without_telephone_event() -> None:
    answer, got = create_answer(SIPP_DEFAULT_OFFER, us(), port=31000)
    assert answer.media[0].formats == ["0"]
    assert got.telephone_event_pt is None and got.send_telephone_event_pt is None
    assert answer.media[0].ptime is None
    assert got.ptime == 20


def test_forced_codec_keeps_the_offerers_number() -> None:
    answer, got = create_answer(ASTERISK_OFFER, us(), port=31000, codec="PCMU")
    assert answer.media[0].formats == ["0", "101"]
    assert (got.codec, got.payload_type) == ("PCMU", 0)


def test_forced_codec_absent_from_offer_is_488() -> None:
    with pytest.raises(SdpNotAcceptable, match="PCMA not in the offer") as caught:
        create_answer(SIPP_DEFAULT_OFFER, us(), port=31000, codec="PCMA")
    assert caught.value.status_hint == 488


def test_dynamic_number_for_a_static_codec_is_kept() -> None:
    offer = offer_from(
        "10.0.0.9",
        ["m=audio 5000 RTP/AVP 96 97"],
        "a=rtpmap:96 pcmu/8000",
        "a=rtpmap:97 telephone-event/8000",
    )
    answer, got = create_answer(offer, us(), port=31000)
    assert answer.media[0].formats == ["96", "97"]
    assert answer.media[0].attributes[0].value == "96 pcmu/8000"
    assert (got.codec, got.payload_type, got.telephone_event_pt) == ("PCMU", 96, 97)
    assert answer.media[0].attribute("fmtp") == "97 0-15"  # no fmtp offered: 0-15


def test_softphone_with_video_and_wideband_codecs() -> None:
    offer = offer_from(
        "203.0.113.5",
        ["m=audio 7078 RTP/AVP 96 97 0 8 101"],
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:97 speex/16000",
        "a=rtpmap:101 telephone-event/48000",
        "m=video 9078 RTP/AVPF 99",
        "a=rtpmap:99 VP8/90000",
    )
    answer, got = create_answer(offer, us(), port=31000)
    audio, video = answer.media
    assert audio.formats == ["0"]  # telephone-event only at 48 kHz: not usable with PCMU
    assert (video.media, video.port, video.proto, video.formats) == ("video", 0, "RTP/AVPF", ["99"])
    assert video.attributes == []
    assert got.telephone_event_pt is None


def test_second_audio_stream_is_refused() -> None:
    offer = offer_from("10.0.0.1", ["m=audio 5000 RTP/AVP 0", "m=audio 5002 RTP/AVP 8"])
    answer, got = create_answer(offer, us(), port=31000)
    assert [(m.port, m.formats) for m in answer.media] == [(31000, ["0"]), (0, ["8"])]
    assert got.media_index == 0


def test_audio_after_a_refused_stream() -> None:
    offer = offer_from(
        "10.0.0.1", ["m=audio 0 RTP/AVP 0", "m=audio 5002 RTP/SAVP 0", "m=audio 5004 RTP/AVP 8"]
    )
    answer, got = create_answer(offer, us(), port=31000)
    assert [m.port for m in answer.media] == [0, 0, 31000]
    assert (got.media_index, got.remote_port, got.codec) == (2, 5004, "PCMA")


@pytest.mark.parametrize(
    "media_lines",
    [
        ["m=audio 5000 RTP/AVP 18", "a=rtpmap:18 G729/8000"],
        ["m=audio 5000 RTP/AVP 96", "a=rtpmap:96 PCMU/16000"],
        ["m=audio 5000 RTP/SAVP 0"],
        ["m=video 5000 RTP/AVP 99"],
        ["m=audio 0 RTP/AVP 0"],
    ],
)
def test_nothing_acceptable_is_488(media_lines: list[str]) -> None:
    offer = offer_from("10.0.0.1", media_lines)
    with pytest.raises(SdpNotAcceptable) as caught:
        create_answer(offer, us(), port=31000)
    assert caught.value.status_hint == 488


def test_offer_without_any_connection_is_malformed() -> None:
    offer = sdp("v=0", "o=- 1 1 IN IP4 h", "s=-", "t=0 0", "m=audio 5000 RTP/AVP 0")
    with pytest.raises(SdpError, match="no c= line") as caught:
        create_answer(offer, us(), port=31000)
    assert caught.value.status_hint == 400


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_direction_is_mirrored(offered: Direction, answered: Direction) -> None:
    offer = create_offer(us("10.0.0.2"), port=6000, direction=offered)
    answer, got = create_answer(offer, us(), port=31000)
    assert answer.direction_of(answer.media[0]) == answered
    assert answer.media[0].attributes[-1].name == answered
    assert got.direction == answered


@pytest.mark.parametrize("offered", DIRECTIONS)
@pytest.mark.parametrize("ours", DIRECTIONS)
def test_our_direction_limits_the_answer(offered: Direction, ours: Direction) -> None:
    offer = create_offer(us("10.0.0.2"), port=6000, direction=offered)
    _, got = create_answer(offer, us(), port=31000, direction=ours)
    assert got.sends == (ours in ("sendrecv", "sendonly") and offered in ("sendrecv", "recvonly"))
    assert got.receives == (
        ours in ("sendrecv", "recvonly") and offered in ("sendrecv", "sendonly")
    )


def test_old_style_hold_offer() -> None:
    offer = offer_from("0.0.0.0", ["m=audio 5004 RTP/AVP 0"], "a=sendrecv")
    answer, got = create_answer(offer, us(), port=31000)
    assert answer.media[0].attributes[-1].name == "recvonly"
    assert got.remote_address == "0.0.0.0"
    assert (got.sends, got.receives) == (False, True)
    assert answer.connection is not None and answer.connection.host == "203.0.113.1"


def test_hold_and_unhold_with_versions() -> None:
    leg = us(session_id=100)
    _, first = create_answer(BARESIP_OFFER, leg, port=31000)
    held_offer = create_offer(us("10.0.0.5"), port=42742, direction="sendonly")
    held, on_hold = create_answer(held_offer, leg, port=31000)
    resumed, back = create_answer(BARESIP_OFFER, leg, port=31000)
    refreshed, _ = create_answer(BARESIP_OFFER, leg, port=31000)
    assert [first.direction, on_hold.direction, back.direction] == [
        "sendrecv",
        "recvonly",
        "sendrecv",
    ]
    assert [held.origin.session_version, resumed.origin.session_version] == [101, 102]
    assert refreshed.origin.session_version == 102


def test_rtcp_address_and_port() -> None:
    offer = offer_from(
        "198.51.100.7",
        ["m=audio 24580 RTP/AVP 0"],
        "a=rtcp:24591 IN IP4 198.51.100.8",
        "a=rtcp-mux",
    )
    _, got = create_answer(offer, us(), port=31000)
    assert (got.remote_address, got.remote_port) == ("198.51.100.7", 24580)
    assert (got.rtcp_address, got.rtcp_port) == ("198.51.100.8", 24591)
    answer, _ = create_answer(offer, us(), port=31000)
    assert not answer.media[0].rtcp_mux  # multiplexing is never accepted
    port_only = offer_from("198.51.100.7", ["m=audio 24580 RTP/AVP 0"], "a=rtcp:24599")
    _, got = create_answer(port_only, us(), port=31000)
    assert (got.rtcp_address, got.rtcp_port) == ("198.51.100.7", 24599)


def test_ptime_from_us_overrides() -> None:
    answer, got = create_answer(ASTERISK_OFFER, us(), port=31000, ptime=20)
    assert (answer.media[0].ptime, got.ptime) == (20, 20)


@pytest.mark.parametrize(
    ("fmtp", "answered"),
    [("0-15", "0-15"), ("0-16", "0-16"), ("0-15,66,70", "0-15"), ("0-255", "0-16"), ("16", "16")],
)
def test_event_list_is_intersected(fmtp: str, answered: str) -> None:
    offer = offer_from(
        "10.0.0.1",
        ["m=audio 5000 RTP/AVP 0 100"],
        "a=rtpmap:100 telephone-event/8000",
        f"a=fmtp:100 {fmtp}",
    )
    answer, _ = create_answer(offer, us(), port=31000)
    assert answer.media[0].attribute("fmtp") == f"100 {answered}"


def test_events_we_cannot_take_or_do_not_want() -> None:
    offer = offer_from(
        "10.0.0.1",
        ["m=audio 5000 RTP/AVP 0 100"],
        "a=rtpmap:100 telephone-event/8000",
        "a=fmtp:100 32-40",
    )
    assert create_answer(offer, us(), port=31000)[1].telephone_event_pt is None
    _, got = create_answer(BARESIP_OFFER, us(), port=31000, telephone_event=False)
    assert got.telephone_event_pt is None


def test_event_list_text() -> None:
    assert parse_event_list("0-15,66, 70") == frozenset([*range(16), 66, 70])
    assert parse_event_list("x,3,5-a,300") == frozenset([3])
    assert format_event_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert format_event_list([]) == ""


# -- answers to our offers ---------------------------------------------------------------------


def test_parse_sipp_answer_to_our_offer() -> None:
    offer = create_offer(us(), port=30000)
    answer = offer_from(
        "127.0.0.1",
        ["m=audio 6004 RTP/AVP 8 101"],
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
    )
    got = parse_answer(offer, answer)
    assert got == NegotiatedAudio(
        remote_address="127.0.0.1",
        remote_port=6004,
        rtcp_address="127.0.0.1",
        rtcp_port=6005,
        codec="PCMA",
        payload_type=8,
        send_payload_type=8,
        clock_rate=8000,
        telephone_event_pt=101,
        send_telephone_event_pt=101,
        telephone_event_clock_rate=8000,
        ptime=20,
        direction="sendrecv",
        media_index=0,
    )


def test_parse_answer_that_renumbers() -> None:
    offer = create_offer(us(), port=30000)
    answer = offer_from(
        "10.1.1.1",
        ["m=audio 7000 RTP/AVP 97 96"],
        "a=rtpmap:97 PCMU/8000",
        "a=rtpmap:96 telephone-event/8000",
    )
    got = parse_answer(offer, answer)
    assert (got.codec, got.payload_type, got.send_payload_type) == ("PCMU", 0, 97)
    assert (got.telephone_event_pt, got.send_telephone_event_pt) == (101, 96)


def test_parse_answer_without_events_and_with_several_codecs() -> None:
    offer = create_offer(us(), port=30000)
    answer = offer_from("10.1.1.1", ["m=audio 7000 RTP/AVP 3 8 0"], "a=ptime:40")
    got = parse_answer(offer, answer)
    assert (got.codec, got.payload_type) == ("PCMA", 8)  # GSM was never offered
    assert got.telephone_event_pt is None and got.send_telephone_event_pt is None
    assert got.ptime == 40


@pytest.mark.parametrize(
    ("answer_direction", "offered", "ours"),
    [
        ("recvonly", "sendonly", "sendonly"),
        ("sendrecv", "sendonly", "sendonly"),  # a peer ignoring our hold still gets none
        ("inactive", "sendrecv", "inactive"),
        ("sendonly", "sendrecv", "recvonly"),
        ("recvonly", "sendrecv", "sendonly"),
    ],
)
def test_parse_answer_direction(answer_direction: str, offered: Direction, ours: str) -> None:
    offer = create_offer(us(), port=30000, direction=offered)
    answer = offer_from("10.1.1.1", ["m=audio 7000 RTP/AVP 0"], f"a={answer_direction}")
    assert parse_answer(offer, answer).direction == ours


def test_parse_answer_old_style_hold() -> None:
    offer = create_offer(us(), port=30000)
    answer = offer_from("0.0.0.0", ["m=audio 7000 RTP/AVP 0"])
    got = parse_answer(offer, answer)
    assert (got.direction, got.remote_address) == ("recvonly", "0.0.0.0")


@pytest.mark.parametrize(
    ("media_lines", "reason"),
    [
        (["m=audio 0 RTP/AVP 0"], "refused"),
        (["m=audio 7000 RTP/AVP 3"], "no codec we offered"),
        (["m=audio 7000 RTP/AVP 0", "m=video 0 RTP/AVP 99"], "2 media streams"),
    ],
)
def test_parse_answer_refusals(media_lines: list[str], reason: str) -> None:
    with pytest.raises(SdpNotAcceptable, match=reason):
        parse_answer(create_offer(us(), port=30000), offer_from("10.1.1.1", media_lines))


def test_direction_helpers() -> None:
    assert [reverse_direction(d) for d in DIRECTIONS] == [
        "sendrecv",
        "recvonly",
        "sendonly",
        "inactive",
    ]
    assert combine_directions("sendrecv", "sendonly") == "sendonly"
    assert combine_directions("sendonly", "recvonly") == "inactive"
    assert combine_directions("recvonly", "sendrecv") == "recvonly"


# -- from one leg to the other -----------------------------------------------------------------


def test_offer_for_other_leg_from_baresip() -> None:
    offer_b = offer_for_other_leg(BARESIP_OFFER, us("203.0.113.1", 9000), port=32000)
    assert text(offer_b).splitlines()[1:] == [
        "o=- 9000 9000 IN IP4 203.0.113.1",
        "s=-",
        "c=IN IP4 203.0.113.1",
        "t=0 0",
        "m=audio 32000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
    ]


def test_offer_for_other_leg_keeps_order_and_uses_our_event_number() -> None:
    offer_b = offer_for_other_leg(ASTERISK_OFFER, us(), port=32000, telephone_event_pt=96)
    assert offer_b.media[0].formats == ["8", "0", "96"]  # GSM cannot be relayed
    assert offer_b.media[0].ptime == 30


def test_offer_for_other_leg_avoids_a_taken_event_number() -> None:
    offer_a = offer_from(
        "10.0.0.7",
        ["m=audio 5000 RTP/AVP 101 96 0"],
        "a=rtpmap:101 PCMA/8000",
        "a=rtpmap:96 PCMU/8000",
    )
    offer_b = offer_for_other_leg(offer_a, us(), port=32000)
    assert offer_b.media[0].formats == ["101", "96", "0", "97"]


def test_offer_for_other_leg_carries_hold() -> None:
    old_hold = offer_from("0.0.0.0", ["m=audio 5004 RTP/AVP 0"])
    assert (
        offer_for_other_leg(old_hold, us(), port=32000).media[0].attributes[-1].name == "sendonly"
    )
    with pytest.raises(SdpNotAcceptable):
        offer_for_other_leg(offer_from("1.2.3.4", ["m=audio 5000 RTP/AVP 18"]), us(), port=1)


def test_whole_relay_flow_remaps_event_numbers() -> None:
    """A offers PCMA/PCMU with telephone-event 98; B (a SIPp-like phone) answers PCMU with
    telephone-event 101; A is answered PCMU with 98. The relay maps 98 <-> 101."""
    offer_a = offer_from(
        "10.0.0.5",
        ["m=audio 40000 RTP/AVP 8 0 98"],
        "a=rtpmap:98 telephone-event/8000",
        "a=fmtp:98 0-15",
    )
    leg_a, leg_b = us("203.0.113.1", 1), us("203.0.113.1", 2)
    offer_b = offer_for_other_leg(offer_a, leg_b, port=32002)
    answer_b = offer_from(
        "10.0.0.9",
        ["m=audio 6000 RTP/AVP 0 101"],
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
    )
    negotiated_b = parse_answer(offer_b, answer_b)
    answer_a, negotiated_a = answer_for_first_leg(offer_a, negotiated_b, leg_a, port=32000)
    assert answer_a.media[0].formats == ["0", "98"]
    assert (negotiated_a.codec, negotiated_a.payload_type, negotiated_a.telephone_event_pt) == (
        "PCMU",
        0,
        98,
    )
    assert (negotiated_b.codec, negotiated_b.payload_type, negotiated_b.telephone_event_pt) == (
        "PCMU",
        0,
        101,
    )
    assert (negotiated_a.remote_address, negotiated_b.remote_address) == ("10.0.0.5", "10.0.0.9")


@pytest.mark.parametrize(
    ("a_offers", "b_answers", "a_gets"),
    [
        ("sendrecv", "sendrecv", "sendrecv"),
        ("sendonly", "recvonly", "recvonly"),  # A holds B
        ("sendrecv", "sendonly", "sendonly"),  # B only talks
        ("sendrecv", "inactive", "inactive"),
        ("inactive", "inactive", "inactive"),
    ],
)
def test_relay_flow_directions(a_offers: Direction, b_answers: str, a_gets: str) -> None:
    offer_a = create_offer(us("10.0.0.5"), port=40000, direction=a_offers)
    offer_b = offer_for_other_leg(offer_a, us(), port=32002)
    assert offer_b.direction_of(offer_b.media[0]) == a_offers
    answer_b = offer_from("10.0.0.9", ["m=audio 6000 RTP/AVP 0"], f"a={b_answers}")
    negotiated_b = parse_answer(offer_b, answer_b)
    answer_a, negotiated_a = answer_for_first_leg(offer_a, negotiated_b, us(), port=32000)
    assert answer_a.direction_of(answer_a.media[0]) == a_gets
    assert negotiated_a.direction == a_gets


def test_relay_flow_b_refuses_audio() -> None:
    offer_b = offer_for_other_leg(BARESIP_OFFER, us(), port=32002)
    with pytest.raises(SdpNotAcceptable):
        parse_answer(offer_b, offer_from("10.0.0.9", ["m=audio 0 RTP/AVP 0"]))


# -- both sides agree --------------------------------------------------------------------------


@given(
    st.permutations([PCMU, PCMA, Codec(96, "PCMU"), Codec(3, "GSM")]).map(
        lambda c: c[: 1 + len(c) // 2]
    ),
    st.none() | st.integers(97, 127),
    st.sampled_from(DIRECTIONS),
    st.sampled_from(DIRECTIONS),
)
def test_offerer_and_answerer_see_the_same_stream(
    codecs: list[Codec], event_pt: int | None, offered: Direction, wish: Direction
) -> None:
    offer = create_offer(us("10.0.0.1", 1), port=4000, codecs=codecs, telephone_event_pt=event_pt)
    offer.media[0].set_direction(offered)
    try:
        answer, answerer = create_answer(offer, us("10.0.0.2", 2), port=5000, direction=wish)
    except SdpNotAcceptable:
        assert all(c.name == "GSM" for c in codecs)
        return
    offerer = parse_answer(offer, parse_sdp(answer.serialize()))
    assert offerer.codec == answerer.codec
    assert offerer.payload_type == offerer.send_payload_type == answerer.payload_type
    assert offerer.telephone_event_pt == answerer.telephone_event_pt == event_pt
    assert offerer.direction == reverse_direction(answerer.direction)
    assert (offerer.remote_address, offerer.remote_port) == ("10.0.0.2", 5000)
    assert (answerer.remote_address, answerer.remote_port) == ("10.0.0.1", 4000)
