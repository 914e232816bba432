"""``chairside service``, ``doctor`` and ``backup``: what a clinic's IT person runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chairside import service
from chairside.bundle import write_bundle
from chairside.cli_relay import BUFFER_DIR, site_buffer
from chairside.doctor import FAIL, Setup, checked_chairs, examine
from chairside.service import ServiceSpec, installed_options
from vitals.logs import log_dir_for
from vitals.store import DEFAULT_DB
from vitals.store.backup import backup_store
from vitals.store.connection import DB_HELP
from vitals.store.location import PostgresServer, db_argument, needs_file
from vitals.store.upgrade import backup_dir
from vitals.users import DEFAULT_USERS

DEFAULT_KEEP = 14


def add_admin_parsers(commands: argparse._SubParsersAction) -> None:
    _service_parser(commands)
    _doctor_parser(commands)
    _backup_parser(commands)


def _service_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "service",
        help="run Chairside at boot: write the systemd units",
        description="Write systemd units for the recorder (restarted on failure, with a "
        "watchdog), the dashboard and a nightly backup; print what was written and how to "
        "enable it. Nothing is started.",
    )
    actions = p.add_subparsers(title="actions", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="write the units (--dry-run: only show them)")
    install.add_argument("--config", type=Path, required=True, help="chair config (TOML)")
    install.add_argument("--db", type=Path, required=True, help="database the recorder writes")
    install.add_argument(
        "--users", type=Path, help="nurses' users file (default: users.toml beside the database)"
    )
    install.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    install.add_argument(
        "--address", default="127.0.0.1", help="dashboard bind address (default 127.0.0.1)"
    )
    install.add_argument(
        "--user", default="chairside", help="account the services run as (default chairside)"
    )
    install.add_argument("--log-dir", type=Path, help="default: logs/ beside the database")
    install.add_argument("--backup-dir", type=Path, help="default: backups/ beside the database")
    install.add_argument(
        "--keep", type=int, default=DEFAULT_KEEP, help=f"backups kept (default {DEFAULT_KEEP})"
    )
    install.add_argument(
        "--backup-at", default="03:15", help="time of the nightly backup, HH:MM (default 03:15)"
    )
    install.add_argument(
        "--forward", metavar="STORE", help="the recorder also copies to this central store"
    )
    install.add_argument("--site", help="this site's id on the central store (with --forward)")
    install.add_argument(
        "--unit-dir",
        type=Path,
        default=service.UNIT_DIR,
        help=f"where the units go (default {service.UNIT_DIR})",
    )
    install.add_argument(
        "--dry-run", action="store_true", help="print the units instead of writing them"
    )
    install.set_defaults(run=run_service_install)


def run_service_install(args: argparse.Namespace) -> int:
    data = args.db.resolve().parent
    spec = service.resolved(
        ServiceSpec(
            config=args.config,
            db=args.db,
            users=args.users or data / "users.toml",
            log_dir=args.log_dir or data / "logs",
            backup_dir=args.backup_dir or data / "backups",
            user=args.user,
            port=args.port,
            address=args.address,
            keep=args.keep,
            backup_at=args.backup_at,
            forward=args.forward,
            site=args.site,
        )
    )
    spec.check()
    chairs = checked_chairs(spec.config)  # a unit that cannot start is worse than none
    units = service.render_units(spec, service.serial_group())
    if args.dry_run:
        for name, text in units.items():
            print(f"# {args.unit_dir / name}\n{text}")
        return 0
    for path in service.write_units(units, args.unit_dir):
        print(f"wrote {path}")
    print(f"\n{len(chairs)} chairs from {spec.config}; recording into {spec.db}.")
    print("Then, in this order:")
    for step in service.next_steps(spec, args.unit_dir):
        print(f"  {step}")
    return 0


def _doctor_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "doctor",
        help="check ports, database, users, time zone, recorder and dashboard",
        description="Check what a clinic's setup gets wrong and print one line per check with "
        "what to do; exit status 1 when a check failed. Without options it checks what the "
        "installed service uses (else the defaults). Safe while the recorder runs.",
    )
    p.add_argument("--config", type=Path, help="chair config (default: the service's)")
    p.add_argument(
        "--db",
        type=db_argument,
        help=f"database, a file or postgresql://user@host/dbname (default: the service's, "
        f"else {DEFAULT_DB})",
    )
    p.add_argument(
        "--site",
        help="with --db postgresql://…: check this site as its recorder runs (its buffer, "
        "ports, recorder and central review) rather than the server only",
    )
    p.add_argument(
        "--buffer",
        type=Path,
        metavar="PATH",
        help=f"with --site: the site's own store (default {BUFFER_DIR}/SITE.db)",
    )
    p.add_argument("--users", type=Path, help="users file (default: the service's)")
    p.add_argument("--address", help="dashboard address (default: the service's, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="dashboard port (default: the service's, else 8501)")
    p.add_argument(
        "--bundle",
        type=Path,
        metavar="FILE",
        help="also write a zip for support: findings, logs, config without secrets, "
        "device states (no readings, no patients, no passwords)",
    )
    p.set_defaults(run=run_doctor)


def doctor_setup(args: argparse.Namespace) -> Setup:
    """Options given win; then the installed service's; then the defaults."""
    unit = installed_options()
    db = args.db or db_argument(str(unit.get("db") or DEFAULT_DB))
    unit_site = not args.db and isinstance(db, PostgresServer)  # the service's buffer
    db = site_buffer(
        db,
        args.site or (unit.get("site") if unit_site else None),
        args.buffer or (unit.get("buffer") if unit_site else None),
    )
    config = args.config or unit.get("config")
    return Setup(
        db=db,
        users=Path(args.users or unit.get("users") or DEFAULT_USERS),
        log_dir=Path(unit["log_dir"]) if "log_dir" in unit else log_dir_for(db),
        backup_dir=Path(unit["backup_dir"]) if "backup_dir" in unit else backup_dir(db),
        config=Path(config) if config else None,
        address=args.address or unit.get("address") or "127.0.0.1",
        port=args.port or int(unit.get("port", 8501)),
        account=unit.get("user"),
    )


def run_doctor(args: argparse.Namespace) -> int:
    setup = doctor_setup(args)
    findings = examine(setup)
    for finding in findings:
        print(finding.line(), flush=True)
    if args.bundle:
        names = write_bundle(args.bundle, setup, findings)
        print(f"\nsupport bundle {args.bundle}: {len(names)} files ({', '.join(names)})")
    return 1 if any(f.status == FAIL for f in findings) else 0


def _backup_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "backup",
        help="copy the database consistently, keeping generations",
        description="Copy the database into --out through SQLite's online backup (safe while "
        "the recorder writes) as <name>-<UTC time>.db; keep the newest --keep copies.",
    )
    p.add_argument("--db", type=db_argument, default=DEFAULT_DB, help=DB_HELP)
    p.add_argument("--out", type=Path, required=True, help="folder the backups are kept in")
    p.add_argument(
        "--keep", type=int, default=DEFAULT_KEEP, help=f"copies kept (default {DEFAULT_KEEP})"
    )
    p.set_defaults(run=run_backup)


def run_backup(args: argparse.Namespace) -> int:
    db = needs_file(args.db, "backup")
    taken = backup_store(db, args.out, keep=args.keep)
    print(f"backup {taken.path} ({taken.size / 1_048_576:.1f} MB)")
    for old in taken.removed:
        print(f"removed {old} (more than {args.keep} kept)", file=sys.stderr)
    return 0
