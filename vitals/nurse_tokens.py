"""Tokens a nurse creates, so a script can act in her name without her password.

``chairside user token NAME`` asks for her password and prints a random token once; only its
SHA-256 is kept, with the name and an expiry, in ``tokens.toml`` beside the users file
(0600). A command that carries ``--by NAME`` accepts the token from ``$CHAIRSIDE_TOKEN``
instead of a password. A token is as strong as a password for its lifetime: give it a
short one (``--hours``, default 12) and keep it out of shell history.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import tomli_w

from vitals.errors import ConfigError
from vitals.reading import utc_now
from vitals.times import from_us, to_us
from vitals.users import authenticate, write_private

TOKEN_ENV = "CHAIRSIDE_TOKEN"


def tokens_path(users: Path) -> Path:
    return Path(users).with_name("tokens.toml")


def create_token(users: Path, name: str, password: str, hours: float = 12) -> str:
    """A new token for ``name`` (her password checked first); expired ones are dropped."""
    if not authenticate(users, name, password):
        raise ConfigError(f"wrong password for {name!r}, or no such nurse in {users}")
    if not 0 < hours <= 24 * 31:
        raise ConfigError(f"--hours must be between 0 and {24 * 31}, got {hours:g}")
    token = secrets.token_urlsafe(32)
    expires = utc_now() + timedelta(hours=hours)
    kept = [t for t in _load(users) if from_us(t["expires_us"]) > utc_now()]
    kept.append({"name": name.strip(), "sha256": _digest(token), "expires_us": to_us(expires)})
    write_private(tokens_path(users), tomli_w.dumps({"tokens": kept}))
    return token


def token_holder(users: Path, token: str, at: datetime | None = None) -> str | None:
    """The nurse a valid, unexpired token belongs to, else None."""
    at, digest = at or utc_now(), _digest(token)
    for entry in _load(users):
        if hmac.compare_digest(entry["sha256"], digest) and from_us(entry["expires_us"]) > at:
            return entry["name"]
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _load(users: Path) -> list[dict]:
    path = tokens_path(users)
    if not path.exists():
        return []
    try:
        return list(tomllib.loads(path.read_text(encoding="utf-8")).get("tokens", []))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read tokens file {path}: {exc}") from None
