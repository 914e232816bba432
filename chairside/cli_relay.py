"""``record``'s options for a site that forwards to a central store.

Two ways to say it, the same result (the site's own SQLite first, then the central store):

- ``record --db data/site.db --forward postgresql://user@host/chairside --site NAME``
- ``record --db postgresql://user@host/chairside --site NAME [--buffer PATH]``: the site's
  store (its buffer) is ``data/sites/NAME.db`` unless ``--buffer`` says where.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chairside.relay import RelayTarget
from vitals.errors import ConfigError
from vitals.store import relay
from vitals.store.location import PostgresServer, describe, is_url, parse

BUFFER_DIR = Path("data/sites")


def add_resend_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "resend",
        help="send a forwarding site's whole history to the central store again",
        description="After the central store was restored from a backup older than what it "
        "had confirmed: the site's recorder sends every reading again, in order; the central "
        "store keeps each once (the record follows from the central store's own watermark).",
    )
    p.add_argument("--db", type=Path, required=True, help="the site's own store (its buffer)")
    p.set_defaults(run=run_resend)


def run_resend(args: argparse.Namespace) -> int:
    state = relay.send_history_again(args.db)
    print(
        f"site {state['site']}: every reading of {args.db} goes to {describe(state['target'])} "
        "again (the running recorder starts within seconds; readings already there are kept "
        "once)"
    )
    return 0


def add_relay_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--forward",
        metavar="STORE",
        help="also copy everything stored to this central store (postgresql://user@host/db, "
        "or a SQLite file), in order and exactly once; needs --site",
    )
    p.add_argument(
        "--site",
        help=f"this site's id on the central store ({relay.SITE_RULE}); chairs are known "
        "there as SITE/CHAIR",
    )
    p.add_argument(
        "--buffer",
        type=Path,
        metavar="PATH",
        help="with --db postgresql://…: this site's own store, written first "
        f"(default {BUFFER_DIR}/SITE.db)",
    )


def site_store(args: argparse.Namespace) -> tuple[Path, RelayTarget | None]:
    """The site's own database and where it forwards (None: it does not)."""
    db = str(args.db)
    to_server = is_url(db)
    target = db if to_server else args.forward
    if to_server and args.forward:
        raise ConfigError("--db is already the central server: give --forward or a server --db")
    if args.buffer and not to_server:
        raise ConfigError("--buffer is for --db postgresql://…; with a file --db it is the buffer")
    if target is None:
        if args.site:
            raise ConfigError("--site names this site on a central store: give --forward too")
        return Path(db), None
    if not args.site and to_server:
        raise ConfigError(
            f"record writes to a local SQLite file first and forwards it to {describe(db)}: "
            "give --site NAME (chairs are known there as SITE/CHAIR)"
        )
    if not args.site:
        raise ConfigError("forwarding needs --site NAME: chairs are known centrally as SITE/CHAIR")
    site = relay.check_site(args.site)
    parse(target)  # a URL with a password (or of a kind we do not know) is refused here
    buffer = (args.buffer or BUFFER_DIR / f"{site}.db") if to_server else Path(db)
    return buffer, RelayTarget(target, site)


def refuse_a_server(db: object, command: str) -> None:
    """Simulated chairs and their sessions belong to a site: a site that records with ``--db
    postgresql://… --site NAME`` keeps its own store in its buffer, and the central store
    only takes what the sites forward (its chairs are SITE/CHAIR)."""
    if isinstance(db, PostgresServer):
        raise ConfigError(
            f"{command} writes to a site's own store, not to the central server: give --db the "
            f"site's buffer ({BUFFER_DIR}/SITE.db, or the recorder's --buffer PATH)"
        )


def site_buffer(
    db: Path | PostgresServer, site: str | None, buffer: Path | str | None
) -> Path | PostgresServer:
    """What ``doctor`` checks: a site that records with ``--db postgresql://… --site NAME``
    is its buffer (as ``record`` chooses it), checked like any site's store; without
    ``--site``, the server itself."""
    if site is None:
        if buffer is not None:
            raise ConfigError("--buffer names a site's own store: give --site NAME too")
        return db
    if not isinstance(db, PostgresServer):
        raise ConfigError(
            f"--site is for a site that records with --db postgresql://…: {db} is already the "
            "site's own store"
        )
    return Path(buffer) if buffer else BUFFER_DIR / f"{relay.check_site(site)}.db"
