"""Who may act on the dashboard: nurse names with salted, slow password hashes in a TOML file.

The file holds no passwords, only scrypt hashes (stdlib, memory-hard), so it can sit on a
clinic PC without revealing them. Acknowledgments and events carry the signed-in name.

    [[users]]
    name = "Nurse Ada"
    hash = "scrypt$16384$8$1$<salt hex>$<hash hex>"
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tomllib
from pathlib import Path

import tomli_w

from vitals.errors import ConfigError

DEFAULT_USERS = Path("data/users.toml")
N, R, P = 2**14, 8, 1  # scrypt cost: ~50 ms per check on this class of machine


def hash_password(password: str, salt: bytes | None = None) -> str:
    if len(password) < 4:
        raise ConfigError("a password needs at least 4 characters")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def load_users(path: Path) -> dict[str, str]:
    """Name → hash; a missing or malformed file is a ConfigError saying how to fix it."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no users file at {path}: add a nurse with `python -m chairside user add NAME`"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"users file {path} is not valid TOML: {exc}") from None
    users = {}
    for entry in document.get("users", []):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("hash"):
            raise ConfigError(f"users file {path}: every [[users]] needs a name and a hash")
        users[str(entry["name"])] = str(entry["hash"])
    return users


def add_user(path: Path, name: str, password: str) -> None:
    """Add or replace one user; the file is rewritten atomically."""
    name = name.strip()
    if not name:
        raise ConfigError("a user needs a name")
    path = Path(path)
    users = load_users(path) if path.exists() else {}
    users[name] = hash_password(password)
    write_private(
        path, tomli_w.dumps({"users": [{"name": n, "hash": h} for n, h in users.items()]})
    )


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, in a file readable by its owner only (0600)
    from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(
        os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w", encoding="utf-8"
    ) as out:
        out.write(text)
    tmp.replace(path)


def authenticate(path: Path, name: str, password: str) -> bool:
    stored = load_users(path).get(name.strip())
    return stored is not None and verify_password(password, stored)
