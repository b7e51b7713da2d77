"""Digest authentication: RFC 7616 example values, challenges, verification, replay, stale."""

import pytest

from b2bua.sip.auth import (
    DigestServer,
    authorization,
    choose_challenge,
    digest_response,
    parse_digest,
)

# RFC 7616 §3.9.1
EXAMPLE = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "qop": "auth",
}


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
     ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")],
)
def test_rfc_7616_example_responses(algorithm: str, expected: str) -> None:
    assert digest_response(algorithm, **EXAMPLE) == expected


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
     ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")],
)
def test_client_answers_the_rfc_7616_example_challenge(algorithm: str, expected: str) -> None:
    challenge = (f'Digest realm="http-auth@example.org", qop="auth, auth-int", '
                 f'algorithm={algorithm}, nonce="{EXAMPLE["nonce"]}", '
                 f'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    value = authorization(challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life",
                          EXAMPLE["cnonce"], 1)
    params = parse_digest(value)
    assert params is not None
    assert params["response"] == expected
    assert params["qop"] == "auth"
    assert params["nc"] == "00000001"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


PASSWORDS = {"101": "s3cret", "102": "other"}


def server(**options: object) -> DigestServer:
    return DigestServer("office.example.com", b"server secret", PASSWORDS.get, **options)  # type: ignore[arg-type]


def answer(srv: DigestServer, now: float, *, user: str = "101", password: str = "s3cret",
           nc: int = 1, algorithm: str = "SHA-256", uri: str = "sip:office.example.com",
           method: str = "REGISTER", cnonce: str = "c0ffee") -> str:
    challenges = srv.challenges(now)
    challenge = next(c for c in challenges if f"algorithm={algorithm}," in c)
    return authorization(challenge, method, uri, user, password, cnonce, nc)


def test_challenges_offer_sha256_first_then_md5_with_qop_auth() -> None:
    values = server(opaque="op").challenges(10.0)
    assert len(values) == 2
    first, second = (parse_digest(v) for v in values)
    assert first is not None and second is not None
    assert (first["algorithm"], second["algorithm"]) == ("SHA-256", "MD5")
    assert first["qop"] == "auth" and first["realm"] == "office.example.com"
    assert first["nonce"] == second["nonce"]
    assert first["opaque"] == "op"
    assert "stale" not in first
    assert choose_challenge(list(reversed(values))) == values[0]


def test_nonces_are_unique() -> None:
    srv = server()
    assert srv.new_nonce(1.0) != srv.new_nonce(1.0)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_client_credentials_are_accepted(algorithm: str) -> None:
    srv = server()
    verdict = srv.verify(answer(srv, 10.0, algorithm=algorithm), "REGISTER",
                         "sip:office.example.com", 11.0)
    assert verdict.ok and not verdict.stale
    assert verdict.username == "101"


def test_unknown_user_and_wrong_password_give_the_same_verdict() -> None:
    srv = server()
    wrong = srv.verify(answer(srv, 10.0, password="guess"), "REGISTER",
                       "sip:office.example.com", 11.0)
    unknown = srv.verify(answer(srv, 10.0, user="999", password="guess"), "REGISTER",
                         "sip:office.example.com", 11.0)
    assert (wrong.ok, wrong.stale, wrong.reason) == (unknown.ok, unknown.stale, unknown.reason)
    assert not wrong.ok and wrong.reason == "Bad credentials"


def test_replayed_nonce_count_is_refused_and_a_higher_one_accepted() -> None:
    srv = server()
    credentials = answer(srv, 10.0)
    assert srv.verify(credentials, "REGISTER", "sip:office.example.com", 11.0).ok
    replay = srv.verify(credentials, "REGISTER", "sip:office.example.com", 12.0)
    assert not replay.ok and not replay.stale
    assert replay.reason == "Replayed nonce count"
    nonce = parse_digest(credentials)["nonce"]  # type: ignore[index]
    challenge = f'Digest realm="office.example.com", nonce="{nonce}", algorithm=SHA-256, qop="auth"'
    next_one = authorization(challenge, "REGISTER", "sip:office.example.com", "101", "s3cret",
                             "c0ffee", 2)
    assert srv.verify(next_one, "REGISTER", "sip:office.example.com", 13.0).ok


def test_expired_nonce_with_right_password_is_stale_and_with_wrong_password_is_not() -> None:
    srv = server(nonce_ttl=60.0)
    right = srv.verify(answer(srv, 10.0), "REGISTER", "sip:office.example.com", 100.0)
    assert (right.ok, right.stale, right.reason) == (False, True, "Stale nonce")
    wrong = srv.verify(answer(srv, 10.0, password="x"), "REGISTER", "sip:office.example.com",
                       100.0)
    assert (wrong.ok, wrong.stale) == (False, False)
    stale_challenge = parse_digest(srv.challenges(100.0, stale=True)[0])
    assert stale_challenge is not None and stale_challenge["stale"] == "true"


def test_forged_nonce_method_and_uri_mismatch_are_refused() -> None:
    srv = server()
    other = DigestServer("office.example.com", b"another secret", PASSWORDS.get)
    forged = srv.verify(answer(other, 10.0), "REGISTER", "sip:office.example.com", 11.0)
    assert forged.reason == "Unknown nonce"
    wrong_method = srv.verify(answer(srv, 10.0), "INVITE", "sip:office.example.com", 11.0)
    assert wrong_method.reason == "Bad credentials"
    wrong_uri = srv.verify(answer(srv, 10.0), "REGISTER", "sip:elsewhere.example.com", 11.0)
    assert wrong_uri.reason == "URI mismatch"


def test_malformed_credentials() -> None:
    srv = server()
    assert srv.verify("Basic QWxhZGRpbjpvcGVu", "REGISTER", "sip:x", 1.0).reason == (
        "Malformed credentials")
    assert srv.verify('Digest username="101"', "REGISTER", "sip:x", 1.0).reason.startswith(
        "Missing")
    assert srv.verify('Digest username="101, realm=', "REGISTER", "sip:x", 1.0).reason == (
        "Malformed credentials")


def test_expired_nonces_are_forgotten() -> None:
    srv = server(nonce_ttl=60.0)
    for t in range(5):
        assert srv.verify(answer(srv, float(t)), "REGISTER", "sip:office.example.com",
                          float(t)).ok
    assert srv.tracked_nonces == 5
    srv.verify(answer(srv, 100.0), "REGISTER", "sip:office.example.com", 100.0)
    assert srv.tracked_nonces == 1


def test_tracking_is_bounded() -> None:
    srv = server(max_tracked_nonces=3)
    for t in range(6):
        srv.verify(answer(srv, float(t)), "REGISTER", "sip:office.example.com", float(t))
    assert srv.tracked_nonces == 3


def test_client_without_qop_uses_the_rfc_2069_form() -> None:
    value = authorization('Digest realm="r", nonce="n"', "INVITE", "sip:x", "u", "p", "c")
    params = parse_digest(value)
    assert params is not None
    assert "qop" not in params and "nc" not in params
    assert params["response"] == digest_response(
        "MD5", username="u", realm="r", password="p", method="INVITE", uri="sip:x", nonce="n")


def test_client_refuses_what_it_cannot_answer() -> None:
    with pytest.raises(ValueError):
        authorization('Basic realm="r"', "INVITE", "sip:x", "u", "p", "c")
    with pytest.raises(ValueError):
        authorization('Digest realm="r", nonce="n", algorithm=SHA-1', "INVITE", "sip:x", "u",
                      "p", "c")
