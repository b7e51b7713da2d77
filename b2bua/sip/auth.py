"""Digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760; RFC 3261 §22.4).

Server side: `DigestServer` builds challenges (one per algorithm, SHA-256 first, then MD5, with
``qop="auth"``) and verifies credentials. Its nonces are stateless: a timestamp and a counter
signed with HMAC-SHA-256 under a secret given at construction, valid for a TTL; a genuine but
expired nonce with otherwise correct credentials asks for a new challenge with ``stale=true``.
Nonce counts are remembered per nonce until it expires, so a replayed ``nc`` is refused. An
unknown user is checked against a dummy password, so that it fails exactly like a wrong one.

Client side: `authorization` answers a challenge for the requests we send upstream.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from b2bua.sip.errors import RemoteProtocolError
from b2bua.sip.headers import quote, split_outside_quotes, unquote

# Algorithm name -> hashlib name. The "-sess" variants hash the nonces into HA1.
_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
DEFAULT_ALGORITHMS = ("SHA-256", "MD5")
DEFAULT_NONCE_TTL = 300.0  # seconds
MAX_TRACKED_NONCES = 1_000_000
_NONCE_PAYLOAD = struct.Struct(">QI")  # milliseconds, counter
_MAC_BYTES = 16
_FUTURE_TOLERANCE = 5.0  # seconds a nonce may seem to come from the future (clock steps)


def _hash(algorithm: str, text: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    return hashlib.new(_HASHES[base], text.encode("utf-8", "surrogateescape")).hexdigest()


def supported(algorithm: str) -> bool:
    base = algorithm.upper().removesuffix("-SESS")
    return base in _HASHES and _HASHES[base] in hashlib.algorithms_available


def digest_response(
    algorithm: str,
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
    body: bytes = b"",
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1; RFC 2069 form when `qop` is None)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        body_hash = hashlib.new(_HASHES[algorithm.upper().removesuffix("-SESS")], body)
        ha2 = _hash(algorithm, f"{method}:{uri}:{body_hash.hexdigest()}")
    else:
        ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def parse_digest(value: str) -> dict[str, str] | None:
    """The parameters of a ``Digest`` challenge or credentials header value (names in lower
    case, values unquoted); None when the scheme is not Digest or the value is malformed."""
    scheme, _, rest = value.strip(" \t").partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    try:
        items = split_outside_quotes(rest, ",")
    except RemoteProtocolError:
        return None
    for item in items:
        name, eq, raw = item.partition("=")
        name = name.strip(" \t").lower()
        if not name:
            continue
        if not eq:
            return None
        params[name] = unquote(raw.strip(" \t"))
    return params


@dataclass(frozen=True, slots=True)
class DigestVerdict:
    """The outcome of checking credentials. `stale` asks for a new challenge with
    ``stale=true`` (the client's password was right, its nonce too old)."""

    ok: bool
    stale: bool
    username: str | None
    reason: str


class DigestServer:
    """Challenges and verifies for one realm. `lookup(username)` answers the user's password,
    or None for an unknown user. `now` is any clock in seconds that keeps running across calls
    (use wall-clock time if nonces must survive a restart with the same secret)."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        lookup: Callable[[str], str | None],
        *,
        nonce_ttl: float = DEFAULT_NONCE_TTL,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        opaque: str | None = None,
        max_tracked_nonces: int = MAX_TRACKED_NONCES,
    ) -> None:
        unknown = [a for a in algorithms if not supported(a)]
        if unknown:
            raise ValueError(f"unsupported digest algorithms: {unknown}")
        self.realm = realm
        self.lookup = lookup
        self.nonce_ttl = nonce_ttl
        self.algorithms = tuple(algorithms)
        self.opaque = opaque
        self.max_tracked_nonces = max_tracked_nonces
        self._secret = secret
        self._counter = 0
        self._dummy_password = hmac.new(secret, b"dummy password", "sha256").hexdigest()
        self._nonce_counts: dict[str, int] = {}
        self._expiries: list[tuple[float, str]] = []

    # -- nonces ------------------------------------------------------------------------

    def new_nonce(self, now: float) -> str:
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        payload = _NONCE_PAYLOAD.pack(max(0, int(now * 1000)), self._counter)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii")

    def _mac(self, payload: bytes) -> bytes:
        signed = payload + self.realm.encode("utf-8", "surrogateescape")
        return hmac.new(self._secret, signed, "sha256").digest()[:_MAC_BYTES]

    def _nonce_issued_at(self, nonce: str) -> float | None:
        """When a genuine nonce was issued; None for a nonce we did not make."""
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return None
        if len(raw) != _NONCE_PAYLOAD.size + _MAC_BYTES:
            return None
        payload, mac = raw[: _NONCE_PAYLOAD.size], raw[_NONCE_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        milliseconds, _counter = _NONCE_PAYLOAD.unpack(payload)
        return float(milliseconds) / 1000

    # -- challenges --------------------------------------------------------------------

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, sharing one
        fresh nonce."""
        nonce = self.new_nonce(now)
        tail = f', opaque={quote(self.opaque)}' if self.opaque is not None else ""
        if stale:
            tail += ", stale=true"
        return [
            f'Digest realm={quote(self.realm)}, nonce="{nonce}", algorithm={algorithm}, '
            f'qop="auth"{tail}'
            for algorithm in self.algorithms
        ]

    # -- verification ------------------------------------------------------------------

    def verify(self, authorization: str, method: str, uri: str, now: float) -> DigestVerdict:
        """Check an Authorization (or Proxy-Authorization) value for a request of `method`
        whose Request-URI is `uri`."""
        params = parse_digest(authorization)
        if params is None:
            return DigestVerdict(False, False, None, "Malformed credentials")
        problem = self._check_fields(params, uri)
        if problem is not None:
            return DigestVerdict(False, False, params.get("username"), problem)
        username = params["username"]
        nonce = params["nonce"]
        issued = self._nonce_issued_at(nonce)
        if issued is None or issued > now + _FUTURE_TOLERANCE:
            return DigestVerdict(False, False, username, "Unknown nonce")
        password = self.lookup(username)
        known = password is not None
        expected = digest_response(
            params.get("algorithm", "MD5"), username=username, realm=self.realm,
            password=password if password is not None else self._dummy_password,
            method=method, uri=params["uri"], nonce=nonce, nc=params["nc"],
            cnonce=params["cnonce"], qop="auth",
        )
        matches = hmac.compare_digest(expected.encode(), params["response"].lower().encode())
        if not (known and matches):
            return DigestVerdict(False, False, username, "Bad credentials")
        if now - issued > self.nonce_ttl:
            return DigestVerdict(False, True, username, "Stale nonce")
        if not self._count(nonce, int(params["nc"], 16), issued, now):
            return DigestVerdict(False, False, username, "Replayed nonce count")
        return DigestVerdict(True, False, username, "OK")

    def _check_fields(self, params: dict[str, str], uri: str) -> str | None:
        for name in ("username", "realm", "nonce", "uri", "response", "nc", "cnonce"):
            if not params.get(name):
                return f"Missing {name}"
        if params.get("qop") != "auth":
            return "Unsupported qop"
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper() not in (a.upper() for a in self.algorithms):
            return "Unsupported algorithm"
        if params["realm"] != self.realm:
            return "Wrong realm"
        if self.opaque is not None and params.get("opaque") != self.opaque:
            return "Wrong opaque"
        if params["uri"] != uri:
            return "URI mismatch"
        nc = params["nc"]
        if len(nc) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc):
            return "Malformed nonce count"
        return None

    def _count(self, nonce: str, nc: int, issued: float, now: float) -> bool:
        """Record nonce count `nc` for `nonce`; False when it is not above the last one."""
        self._forget_expired(now)
        last = self._nonce_counts.get(nonce)
        if last is not None and nc <= last:
            return False
        if last is None:
            if len(self._nonce_counts) >= self.max_tracked_nonces:
                _expiry, oldest = heapq.heappop(self._expiries)
                self._nonce_counts.pop(oldest, None)
            heapq.heappush(self._expiries, (issued + self.nonce_ttl, nonce))
        self._nonce_counts[nonce] = nc
        return True

    def _forget_expired(self, now: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] < now:
            _expiry, nonce = heapq.heappop(expiries)
            self._nonce_counts.pop(nonce, None)

    @property
    def tracked_nonces(self) -> int:
        return len(self._nonce_counts)


def choose_challenge(values: Sequence[str]) -> str | None:
    """The challenge to answer among several: the first supported algorithm in the order
    SHA-512-256, SHA-256, MD5 (RFC 8760 §2.4)."""
    best: tuple[int, str] | None = None
    preference = ("SHA-512-256", "SHA-256", "MD5")
    for value in values:
        params = parse_digest(value)
        if params is None:
            continue
        algorithm = params.get("algorithm", "MD5").upper().removesuffix("-SESS")
        if algorithm in preference and supported(algorithm):
            rank = preference.index(algorithm)
            if best is None or rank < best[0]:
                best = (rank, value)
    return best[1] if best else None


def authorization(
    challenge: str,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
    *,
    body: bytes = b"",
) -> str:
    """An Authorization (or Proxy-Authorization) value answering a Digest challenge.

    Uses ``qop=auth`` when offered (``auth-int`` when only that is), the RFC 2069 form when the
    challenge has no qop. Raises ValueError for a challenge that is not Digest or whose
    algorithm is not supported.
    """
    params = parse_digest(challenge)
    if params is None or "realm" not in params or "nonce" not in params:
        raise ValueError("not a Digest challenge")
    algorithm = params.get("algorithm", "MD5")
    if not supported(algorithm):
        raise ValueError(f"unsupported digest algorithm {algorithm}")
    offered = [q.strip(" \t") for q in params["qop"].split(",")] if "qop" in params else []
    qop = "auth" if "auth" in offered else ("auth-int" if "auth-int" in offered else None)
    realm, nonce = params["realm"], params["nonce"]
    nc_text = f"{nc:08x}"
    response = digest_response(
        algorithm, username=username, realm=realm, password=password, method=method, uri=uri,
        nonce=nonce, nc=nc_text if qop else None, cnonce=cnonce if qop else None, qop=qop,
        body=body,
    )
    parts = [
        f"username={quote(username)}", f"realm={quote(realm)}", f"nonce={quote(nonce)}",
        f"uri={quote(uri)}", f"response={quote(response)}", f"algorithm={algorithm}",
    ]
    if qop is not None:
        parts += [f"cnonce={quote(cnonce)}", f"qop={qop}", f"nc={nc_text}"]
    if "opaque" in params:
        parts.append(f"opaque={quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)
