"""Passwords of employees and the web API token, generated at first start and kept.

No well-known default password exists: an employee without a password in the configuration
gets a generated one the first time the data directory is prepared; it is kept in the store's
credentials table (a 0600 file) and reused by every later start. A password written in the
configuration replaces the kept one. The API token, when not configured, is kept the same way in
``DATA_DIR/api-token``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from b2bua.app.config import Config
from b2bua.store import Store, open_store

# Letters and digits that cannot be mistaken for one another when read off a screen
# (no 0/O/o, 1/l/I).
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 14
API_TOKEN_FILE = "api-token"
DIGEST_SECRET_FILE = "digest-secret"


def generate_password(
    length: int = PASSWORD_LENGTH, choose: Callable[[str], str] = secrets.choice
) -> str:
    """A random password from ``PASSWORD_ALPHABET`` (14 characters: about 81 bits)."""
    if length < 8:
        raise ValueError("a password has at least 8 characters")
    return "".join(choose(PASSWORD_ALPHABET) for _ in range(length))


def ensure_passwords(
    config: Config,
    store: Store,
    now: float,
    generate: Callable[[], str] = generate_password,
) -> dict[str, str]:
    """Give every employee of ``config`` a password in ``store``; answer the newly generated
    ones (extension → password) so that they can be shown once."""
    created: dict[str, str] = {}
    for employee in config.employees:
        kept = store.get_password(employee.extension)
        if employee.password is not None:
            if kept != employee.password:
                store.set_password(employee.extension, employee.password, "config", now)
        elif kept is None:
            password = generate()
            store.set_password(employee.extension, password, "generated", now)
            created[employee.extension] = password
    return created


def _write_private(path: Path, text: str) -> bool:
    """Create ``path`` with mode 0600 holding ``text``; ``False`` if it already exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    return True


def ensure_api_token(data_dir: Path, configured: str | None) -> tuple[str, bool]:
    """The web API token: the configured one, else the kept one, else a new one.
    Answers ``(token, created)``."""
    if configured:
        return configured, False
    return kept_secret(Path(data_dir) / API_TOKEN_FILE)


def ensure_digest_secret(data_dir: Path) -> bytes:
    """The key that signs digest nonces, kept so that nonces stay valid across a restart."""
    secret, _created = kept_secret(Path(data_dir) / DIGEST_SECRET_FILE)
    return secret.encode("ascii")


def kept_secret(path: Path) -> tuple[str, bool]:
    """A random token kept in ``path`` (mode 0600): the kept one, else a new one.
    Answers ``(token, created)``."""
    for _ in range(2):
        if path.exists():
            kept = path.read_text(encoding="utf-8").strip()
            if kept:
                return kept, False
            path.unlink()  # an empty file (interrupted write) is replaced
        token = secrets.token_urlsafe(24)
        if _write_private(path, token):
            return token, True
    raise OSError(f"cannot create the secret file {path}")


@dataclass(frozen=True)
class PreparedDataDir:
    """What preparing a data directory created, to be shown to the operator once."""

    data_dir: Path
    new_passwords: dict[str, str] = field(default_factory=dict)
    api_token: str = ""
    api_token_created: bool = False


def prepare_data_dir(config: Config, data_dir: Path, now: float) -> PreparedDataDir:
    """Create the data directory (0700) and its store, generate missing passwords and the API
    token. Safe to call at every start: later calls create nothing."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open_store(data_dir) as store:
        created = ensure_passwords(config, store, now)
    token, token_created = ensure_api_token(data_dir, config.web.api_token)
    return PreparedDataDir(
        data_dir=data_dir,
        new_passwords=created,
        api_token=token,
        api_token_created=token_created,
    )
