"""SDP parsing and serializing: real-world shapes round-trip byte for byte; malformed input is
refused with a reason; the derived views read codecs, direction, ptime and RTCP right."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.sdp.session import (
    Attribute,
    Bandwidth,
    Codec,
    Connection,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
    Timing,
    parse_sdp,
)


def sdp(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


SIPP_UAC_DEFAULT = sdp(
    "v=0",
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6000 RTP/AVP 0",
    "a=rtpmap:0 PCMU/8000",
)
SIPP_TESTBED_UAS = sdp(  # the testbed's uas_answer.xml: static codec without an rtpmap
    "v=0",
    "o=sipp 42 42 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6004 RTP/AVP 8 101",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
)
BARESIP = sdp(  # baresip 1.0.0 INVITE, as captured on this machine
    "v=0",
    "o=- 201395880 1635715486 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "a=tool:baresip 1.0.0",
    "m=audio 42742 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=sendrecv",
    "a=label:1",
    "a=rtcp-rsize",
    "a=ssrc:1674029436 cname:sip:100@127.0.0.1:47452",
    "a=minptime:20",
    "a=ptime:20",
)
ASTERISK = sdp(
    "v=0",
    "o=- 1686048370 1686048371 IN IP4 192.0.2.10",
    "s=Asterisk",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "m=audio 17170 RTP/AVP 8 0 3 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:3 GSM/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=maxptime:150",
    "a=sendrecv",
)
FREESWITCH_RTCP = sdp(
    "v=0",
    "o=FreeSWITCH 1700000000 1700000001 IN IP4 198.51.100.7",
    "s=FreeSWITCH",
    "c=IN IP4 198.51.100.7",
    "t=0 0",
    "m=audio 24580 RTP/AVP 0 8 101 13",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=rtpmap:13 CN/8000",
    "a=ptime:20",
    "a=sendrecv",
    "a=rtcp:24581 IN IP4 198.51.100.7",
)
SOFTPHONE_AUDIO_VIDEO = sdp(
    "v=0",
    "o=alice 2890844526 2890844527 IN IP4 host.example.com",
    "s=Talk",
    "i=A call with video",
    "u=http://www.example.com/",
    "e=alice@example.com",
    "p=+1 617 555-6011",
    "c=IN IP4 203.0.113.5",
    "b=AS:380",
    "t=0 0",
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
    "m=audio 7078 RTP/AVP 96 97 0 8 101",
    "b=AS:64",
    "a=rtpmap:96 opus/48000/2",
    "a=fmtp:96 useinbandfec=1",
    "a=rtpmap:97 speex/16000",
    "a=rtpmap:101 telephone-event/48000",
    "a=rtcp-fb:* trr-int 1000",
    "a=rtcp-fb:* ccm tmmbr",
    "m=video 9078 RTP/AVPF 99",
    "c=IN IP4 203.0.113.6",
    "a=rtpmap:99 VP8/90000",
    "a=rtcp-fb:* nack pli",
    "a=recvonly",
)
IPV6 = sdp(
    "v=0",
    "o=- 3857196040 3857196040 IN IP6 2001:db8::10",
    "s=-",
    "c=IN IP6 2001:db8::10",
    "t=0 0",
    "m=audio 40000 RTP/AVP 0 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=rtcp:40001 IN IP6 2001:db8::10",
    "a=sendonly",
)
OLD_HOLD = sdp(
    "v=0",
    "o=- 10 11 IN IP4 192.0.2.20",
    "s=-",
    "c=IN IP4 0.0.0.0",
    "t=0 0",
    "m=audio 5004 RTP/AVP 0",
)
SEMINAR = sdp(  # every session-level line type, multicast TTL, repeat and zone lines
    "v=0",
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5",
    "s=SDP Seminar",
    "i=A Seminar on the session description protocol",
    "u=http://www.example.com/seminars/sdp.pdf",
    "e=j.doe@example.com (Jane Doe)",
    "c=IN IP4 224.2.17.12/127",
    "t=2873397496 2873404696",
    "r=604800 3600 0 90000",
    "z=2882844526 -1h 2898848070 0",
    "k=prompt",
    "a=recvonly",
    "m=audio 49170/2 RTP/AVP 0",
    "i=the speaker",
    "m=video 51372 RTP/AVP 99",
    "a=rtpmap:99 h263-1998/90000",
)
REAL_WORLD = {
    "sipp_default": SIPP_UAC_DEFAULT,
    "sipp_testbed_uas": SIPP_TESTBED_UAS,
    "baresip": BARESIP,
    "asterisk": ASTERISK,
    "freeswitch_rtcp": FREESWITCH_RTCP,
    "softphone_audio_video": SOFTPHONE_AUDIO_VIDEO,
    "ipv6": IPV6,
    "old_hold": OLD_HOLD,
    "seminar": SEMINAR,
}


@pytest.mark.parametrize("name", sorted(REAL_WORLD))
def test_real_world_shapes_round_trip_byte_for_byte(name: str) -> None:
    data = REAL_WORLD[name]
    description = parse_sdp(data)
    assert description.serialize() == data
    assert parse_sdp(description.serialize()) == description


def test_model_of_an_asterisk_offer() -> None:
    d = parse_sdp(ASTERISK)
    assert d.version == 0
    assert d.origin == Origin("-", 1686048370, 1686048371, "192.0.2.10", "IN", "IP4")
    assert d.session_name == "Asterisk"
    assert d.connection == Connection("192.0.2.10")
    assert d.timing == [Timing(0, 0)]
    (audio,) = d.media
    assert (audio.media, audio.port, audio.port_count, audio.proto) == (
        "audio",
        17170,
        None,
        "RTP/AVP",
    )
    assert audio.formats == ["8", "0", "3", "101"]
    assert audio.attributes[0] == Attribute("rtpmap", "8 PCMA/8000")
    assert audio.attributes[-1] == Attribute("sendrecv")
    assert audio.codecs == [
        Codec(8, "PCMA"),
        Codec(0, "PCMU"),
        Codec(3, "GSM"),
        Codec(101, "telephone-event", 8000, 1, "0-16"),
    ]
    assert (audio.ptime, audio.maxptime) == (20, 150)
    assert audio.rtcp is None and not audio.rtcp_mux
    assert d.direction_of(audio) == "sendrecv"


def test_static_payload_types_without_rtpmap() -> None:
    (audio,) = parse_sdp(SIPP_TESTBED_UAS).media
    assert audio.codecs == [Codec(8, "PCMA"), Codec(101, "telephone-event", fmtp="0-15")]
    (audio,) = parse_sdp(OLD_HOLD).media
    assert audio.codecs == [Codec(0, "PCMU")]


def test_dynamic_payload_type_without_rtpmap_is_left_out() -> None:
    d = parse_sdp(
        sdp("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0", "m=audio 1 RTP/AVP 96 0")
    )
    assert d.media[0].codecs == [Codec(0, "PCMU")]


def test_multiple_media_sections() -> None:
    d = parse_sdp(SOFTPHONE_AUDIO_VIDEO)
    audio, video = d.media
    assert [c.name for c in audio.codecs] == ["opus", "speex", "PCMU", "PCMA", "telephone-event"]
    assert audio.codecs[0] == Codec(96, "opus", 48000, 2, "useinbandfec=1")
    assert audio.bandwidths == [Bandwidth("AS", 64)]
    assert d.bandwidths == [Bandwidth("AS", 380)]
    assert d.connection_for(audio) == Connection("203.0.113.5")
    assert d.connection_for(video) == Connection("203.0.113.6")
    assert d.direction_of(video) == "recvonly"
    assert d.direction_of(audio) == "sendrecv"
    assert video.proto == "RTP/AVPF"
    assert ("i", "A call with video") in d.other_lines


def test_rtcp_attribute_rfc3605() -> None:
    (audio,) = parse_sdp(FREESWITCH_RTCP).media
    assert audio.rtcp == (24581, Connection("198.51.100.7"))
    (audio,) = parse_sdp(IPV6).media
    assert audio.rtcp == (40001, Connection("2001:db8::10", "IN", "IP6"))
    bare = MediaDescription("audio", 5000, "RTP/AVP", ["0"], attributes=[Attribute("rtcp", "5003")])
    assert bare.rtcp == (5003, None)
    odd = MediaDescription("audio", 5000, "RTP/AVP", ["0"], attributes=[Attribute("rtcp", "x")])
    assert odd.rtcp is None


def test_ipv6_connection_and_session_direction() -> None:
    d = parse_sdp(IPV6)
    assert d.connection == Connection("2001:db8::10", "IN", "IP6")
    assert d.origin.address_type == "IP6"
    assert d.direction_of(d.media[0]) == "sendonly"


def test_direction_falls_back_to_session_then_sendrecv() -> None:
    d = parse_sdp(SEMINAR)
    audio, video = d.media
    assert d.direction_of(audio) == "recvonly"
    video.attributes.append(Attribute("inactive"))
    assert d.direction_of(video) == "inactive"
    assert (
        parse_sdp(SIPP_UAC_DEFAULT).direction_of(parse_sdp(SIPP_UAC_DEFAULT).media[0]) == "sendrecv"
    )


@pytest.mark.parametrize(
    ("declared", "effective"),
    [
        (None, "sendonly"),
        ("sendrecv", "sendonly"),
        ("sendonly", "sendonly"),
        ("recvonly", "inactive"),
    ],
)
def test_old_style_hold_takes_receiving_away(declared: str | None, effective: str) -> None:
    d = parse_sdp(OLD_HOLD)
    if declared:
        d.media[0].attributes.append(Attribute(declared))
    assert d.connection is not None and d.connection.is_hold
    assert d.direction_of(d.media[0]) == effective


def test_ipv6_old_style_hold() -> None:
    d = parse_sdp(IPV6.replace(b"c=IN IP6 2001:db8::10", b"c=IN IP6 ::"))
    assert d.direction_of(d.media[0]) == "sendonly"


def test_multicast_suffix_and_port_count() -> None:
    d = parse_sdp(SEMINAR)
    assert d.connection is not None
    assert (d.connection.address, d.connection.host) == ("224.2.17.12/127", "224.2.17.12")
    assert (d.media[0].port, d.media[0].port_count) == (49170, 2)
    assert d.timing == [Timing(2873397496, 2873404696, ["604800 3600 0 90000"])]


def test_set_direction_replaces_in_place() -> None:
    d = parse_sdp(BARESIP)
    audio = d.media[0]
    audio.set_direction("sendonly")
    assert [a.name for a in audio.attributes].count("sendonly") == 1
    assert audio.attributes[4] == Attribute("sendonly")
    assert "sendrecv" not in [a.name for a in audio.attributes]
    bare = parse_sdp(OLD_HOLD).media[0]
    bare.set_direction("inactive")
    assert bare.attributes == [Attribute("inactive")]


def test_lf_only_and_out_of_order_lines_are_normalized() -> None:
    loose = (
        b"v=0\no=- 1 2 IN IP4 h\ns=-\nt=0 0\nc=IN IP4 h\n"
        b"m=audio 9 RTP/AVP 0\na=sendrecv\nc=IN IP4 k\n\n"
    )
    d = parse_sdp(loose)
    assert d.serialize() == sdp(
        "v=0",
        "o=- 1 2 IN IP4 h",
        "s=-",
        "c=IN IP4 h",
        "t=0 0",
        "m=audio 9 RTP/AVP 0",
        "c=IN IP4 k",
        "a=sendrecv",
    )


def test_attribute_values_are_kept_as_written() -> None:
    d = parse_sdp(BARESIP)
    assert d.attribute("tool") == "baresip 1.0.0"
    audio = d.media[0]
    assert audio.attribute("ssrc") == "1674029436 cname:sip:100@127.0.0.1:47452"
    assert audio.has_attribute("rtcp-rsize") and audio.attribute("rtcp-rsize") is None
    assert audio.attribute("nothing") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"o=- 1 1 IN IP4 h\r\ns=-\r\n", "start with v=0"),
        (b"v=1\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "start with v=0"),
        (b"V=0\r\n", "line 1"),
        (b"v=0\r\ngarbage\r\n", "line 2"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\n\r\ns=-\r\n", "line 3"),
        (b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", "o= needs 6"),
        (b"v=0\r\no=- x 1 IN IP4 h\r\ns=-\r\n", "must be numbers"),
        (b"v=0\r\ns=-\r\n", "missing o="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\n", "missing s="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "more than one o="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\ns=x\r\n", "more than one s="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nv=0\r\n", "only be the first"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4\r\n", "c= needs 3"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP5 h\r\n", "IP5"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nb=AS\r\n", "b= must be"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=now 0\r\n", "t= needs"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\na=\r\n", "without a name"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP\r\n", "m= needs"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio x RTP/AVP 0\r\n", "not a number"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1/x RTP/AVP 0\r\n", "not a number"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n", "out of range"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n", "media section"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\xff\r\n", "UTF-8"),
    ],
)
def test_malformed_sdp_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SdpError, match=reason) as caught:
        parse_sdp(data)
    assert caught.value.status_hint == 400


def test_missing_timing_is_tolerated() -> None:
    data = sdp("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "m=audio 4000 RTP/AVP 0")
    d = parse_sdp(data)
    assert d.timing == []
    assert d.serialize() == data


# -- any model survives serialize → parse ------------------------------------------------------

tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=8)
values = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 /:=-.", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
attributes = st.builds(Attribute, tokens, st.none() | values)
connections = st.builds(Connection, tokens, st.just("IN"), st.sampled_from(["IP4", "IP6"]))
media_sections = st.builds(
    MediaDescription,
    media=st.sampled_from(["audio", "video", "text"]),
    port=st.integers(0, 65535),
    proto=st.sampled_from(["RTP/AVP", "RTP/AVPF", "RTP/SAVP"]),
    formats=st.lists(st.integers(0, 127).map(str), min_size=1, max_size=5),
    port_count=st.none() | st.integers(1, 4),
    connection=st.none() | connections,
    bandwidths=st.lists(
        st.builds(Bandwidth, st.sampled_from(["AS", "TIAS"]), st.integers(0, 10**6)), max_size=2
    ),
    attributes=st.lists(attributes, max_size=5),
)
descriptions = st.builds(
    SessionDescription,
    origin=st.builds(Origin, tokens, st.integers(0, 2**64), st.integers(0, 2**64), tokens),
    session_name=values,
    connection=st.none() | connections,
    timing=st.lists(st.builds(Timing, st.integers(0, 2**32), st.integers(0, 2**32)), max_size=2),
    attributes=st.lists(attributes, max_size=4),
    media=st.lists(media_sections, max_size=3),
)


@given(descriptions)
def test_any_description_round_trips(description: SessionDescription) -> None:
    data = description.serialize()
    assert parse_sdp(data) == description
    assert parse_sdp(data).serialize() == data
