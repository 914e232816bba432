"""``python -m chairside``: a thin layer that turns Chairside errors into one-line messages.

Every subcommand does its work through the library; any ChairsideError is printed as
``chairside: error: ...`` on stderr with exit status 1 (argparse usage errors exit 2; a
store this account may not read, or a server that stops answering, exits 3).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from chairside import __version__, launch
from chairside.cli_admin import add_admin_parsers
from chairside.cli_exchange import add_exchange_parsers
from chairside.cli_identity import add_token_action
from chairside.cli_notify import add_notify_parser, notify_option
from chairside.cli_relay import add_relay_options, add_resend_parser, refuse_a_server, site_store
from chairside.cli_session import add_session_parser
from chairside.cli_verify import UNREAD_EXIT, add_verify_parser
from chairside.field_capture import add_capture_parsers
from chairside.processes import on_stop_request
from chairside.recorder import Recorder
from chairside.simulated_sessions import SimulatedSessions
from devices.registry import protocols
from simulators.fleet import Fleet, FleetSpec
from simulators.links import default_transport
from simulators.sample_clinic import SAMPLE_DB
from simulators.scenarios import SCENARIOS
from vitals.chairs import dump_chairs, load_chairs
from vitals.errors import ChairsideError
from vitals.logs import configure_logging, log_dir_for
from vitals.notify_config import load_notify_config
from vitals.store import DEFAULT_DB
from vitals.store.connection import DB_HELP
from vitals.store.location import db_argument
from vitals.store.verify import unreadable_reason
from vitals.users import DEFAULT_USERS, add_user

Command = Callable[[argparse.Namespace], int]
log = logging.getLogger("chairside.cli")


def main(argv: Sequence[str] | None = None, prog: str = "python -m chairside") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    configure_logging("chairside")
    try:
        return args.run(args)
    except ChairsideError as exc:
        print(f"chairside: error: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # a server that refuses this account or stops answering
        reason = unreadable_reason(exc)
        if not reason:
            raise
        print(f"chairside: error: the database could not be read: {reason}", file=sys.stderr)
        return UNREAD_EXIT
    except KeyboardInterrupt:
        return 130


def console_main() -> int:
    """The installed ``chairside`` command: the same subcommands as ``python -m chairside``."""
    return main(prog="chairside")


def build_parser(prog: str = "python -m chairside") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Chairside: vital-sign monitoring for ketamine-therapy chairs.",
    )
    parser.add_argument("--version", action="version", version=f"chairside {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _simulate_parser(commands)
    _record_parser(commands)
    add_resend_parser(commands)
    _dashboard_parser(commands)
    _demo_parser(commands)
    add_session_parser(commands)
    add_exchange_parsers(commands)
    _user_parser(commands)
    add_capture_parsers(commands)
    add_admin_parsers(commands)
    add_notify_parser(commands)
    add_verify_parser(commands)
    return parser


def _simulate_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "simulate",
        help="start simulated monitors and write the chair config that reaches them",
        description="Start N simulated monitors speaking a real protocol on virtual serial "
        "ports, write the chair config for `record`, and run until stopped (Ctrl-C).",
    )
    _fleet_options(p)
    p.add_argument("--config", type=Path, required=True, help="chair config to write (TOML)")
    p.add_argument("--truth", type=Path, help="append every sent reading to this CSV")
    _session_options(p)
    p.set_defaults(run=run_simulate)


def _session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=db_argument, default=DEFAULT_DB, help=DB_HELP)
    p.add_argument(
        "--no-sessions",
        action="store_true",
        help="do not open a session per simulated chair (by default each gets one)",
    )


def _fleet_options(p: argparse.ArgumentParser, chairs: int = 4, scenario: str = "typical") -> None:
    p.add_argument(
        "--chairs", type=int, default=chairs, help=f"number of chairs (default {chairs})"
    )
    p.add_argument(
        "--scenario",
        default=scenario,
        help=f"scenario, or a comma list cycled over the chairs; known: {', '.join(SCENARIOS)}",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated time factor, 1-600")
    p.add_argument("--seed", type=int, default=1, help="patient seed (same seed, same patients)")
    p.add_argument(
        "--protocol",
        default="ge-s5",
        help="wire protocol, or a comma list for several devices per chair (e.g. "
        f"ge-s5,masimo-ascii); known: {', '.join(protocols())}",
    )
    p.add_argument(
        "--links",
        choices=("auto", "pty", "tcp"),
        default="auto",
        help="how the recorder reaches the simulated monitors: pty (pseudo-terminals, POSIX), "
        "tcp (socket:// ports on 127.0.0.1, any system), or auto (default): pty where "
        "pseudo-terminals can be opened, else tcp",
    )
    # the earlier name of --links (pty or socket), still accepted for scripts that use it
    p.add_argument("--transport", choices=("pty", "socket"), help=argparse.SUPPRESS)
    p.add_argument("--interval", type=int, default=5, help="seconds between monitor records")
    p.add_argument("--nibp-every", type=float, default=300, help="NIBP cycle in seconds")
    p.add_argument(
        "--stagger",
        action="store_true",
        help="each monitor sends at its own moment of the interval, as monitors switched on "
        "at different times do (by default all send together)",
    )
    p.add_argument("--run-dir", type=Path, default=Path("data/run"), help="where pty links live")


def _record_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "record",
        help="acquire from every configured chair into the store",
        description="Acquire from every chair in the config and store every reading durably; "
        "stops cleanly on SIGINT/SIGTERM.",
    )
    p.add_argument("--config", type=Path, required=True, help="chair config (TOML)")
    p.add_argument(
        "--db",
        type=db_argument,
        default=DEFAULT_DB,
        help=f"{DB_HELP}; a postgresql:// server is written through a local buffer first "
        "(needs --site)",
    )
    add_relay_options(p)
    notify_option(p)
    p.add_argument(
        "--spool",
        type=Path,
        metavar="DIR",
        help="where readings wait while the database refuses writes (default: beside the "
        "database, DB.spool/; another disk keeps them durable when the database's disk is full)",
    )
    p.set_defaults(run=run_record)


def _dashboard_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "dashboard",
        help="serve the live dashboard",
        description="Serve the Streamlit dashboard; binds to 127.0.0.1 unless --address is given.",
    )
    _dashboard_options(p)
    p.set_defaults(run=run_dashboard)


def _dashboard_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=db_argument,
        default=DEFAULT_DB,
        help=f"{DB_HELP}; on a PostgreSQL store the dashboard is the group's central review",
    )
    p.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument(
        "--users",
        type=Path,
        default=DEFAULT_USERS,
        help=f"nurses allowed to sign in (default {DEFAULT_USERS})",
    )
    p.add_argument(
        "--start-from",
        type=Path,
        metavar="DB",
        help="when --db does not exist yet, start it as a copy of this recorded database "
        "(the demo's default is the committed sample, data/samples/clinic-sample.db); an "
        "existing database is never touched",
    )
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the clinic's time zone for the pages and the PDF report, an IANA name such as "
        "America/Chicago (default: this machine's zone, so TZ=... works); the store and the "
        "exports stay in UTC",
    )
    p.add_argument(
        "--idle-lock",
        type=float,
        default=0,
        metavar="MIN",
        help="lock acting after MIN minutes without use: the overview stays on, alarms "
        "included, and a nurse signs in again to act (default 0: no idle lock)",
    )


def _user_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "user",
        help="manage the nurses who may sign in to the dashboard",
        description="Add a nurse (or change a password) in the users file; only a salted "
        "scrypt hash is stored.",
    )
    actions = p.add_subparsers(title="actions", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a nurse or change her password")
    add.add_argument("name", help="the name shown on acknowledgments and events")
    add.add_argument("--users", type=Path, default=DEFAULT_USERS, help="users file")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(run=run_user_add)
    add_token_action(actions)


def run_user_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    add_user(args.users, args.name, password)
    print(f"{args.name} may now sign in (users file {args.users})")
    return 0


def _demo_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo",
        help="simulated chairs + recorder + dashboard, stopped together with Ctrl-C",
        description="Start simulated chairs, the recorder and the dashboard as three processes.",
    )
    _fleet_options(p, chairs=4, scenario="typical,hypertensive,desaturation,disconnect")
    _dashboard_options(p)
    p.set_defaults(run=run_demo, speed=10.0, start_from=SAMPLE_DB)


def run_simulate(args: argparse.Namespace) -> int:
    if not args.no_sessions:
        refuse_a_server(args.db, "simulate")  # its sessions belong to a site's own store
    spec = FleetSpec(
        chairs=args.chairs,
        scenarios=[s.strip() for s in args.scenario.split(",") if s.strip()],
        speed=args.speed,
        seed=args.seed,
        protocol=args.protocol,
        transport=transport_of(args),
        run_dir=args.run_dir,
        truth=args.truth,
        interval_s=args.interval,
        nibp_interval_s=args.nibp_every,
        stagger=args.stagger,
    )
    configure_logging("simulator", log_dir_for(args.db))
    sessions = None if args.no_sessions else SimulatedSessions(args.db)
    fleet = Fleet(spec, on_event=sessions.on_event if sessions else None)
    stop = threading.Event()
    try:
        if sessions:
            sessions.open_all(fleet)
            sessions.follow_bp_requests(fleet, stop)
        fleet.start()
        launch.write_atomically(args.config, dump_chairs(fleet.chairs))
        print(f"simulating {len(fleet.chairs)} chairs; chair config in {args.config}", flush=True)
        links = "tcp" if fleet.spec.transport == "socket" else fleet.spec.transport
        log.info("simulating %d chairs over %s links", len(fleet.chairs), links)
        _wait_for_signal()
    finally:
        stop.set()
        if sessions:  # first, so a supervisor's deadline never leaves a session open
            sessions.end_all()
        fleet.stop()
    return 0


def transport_of(args: argparse.Namespace) -> str:
    """The simulator's links from --links (or the older --transport)."""
    if args.transport:
        return args.transport
    return {"pty": "pty", "tcp": "socket"}.get(args.links) or default_transport()


def run_record(args: argparse.Namespace) -> int:
    db, relay = site_store(args)
    configure_logging("recorder", log_dir_for(db))
    notify = load_notify_config(args.notify) if args.notify else None
    stop = threading.Event()  # a stop asked for while starting up is a clean stop, too
    on_stop_request(lambda *_: stop.set())
    recorder = Recorder(load_chairs(args.config), db, args.spool, stop, notify, relay)
    recorder.run(install_signals=False)
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    launch.start_store_from(args.db, args.start_from)
    return launch.serve_dashboard(args)


def run_demo(args: argparse.Namespace) -> int:
    return launch.demo(args)


def _wait_for_signal() -> None:
    stop = threading.Event()
    on_stop_request(lambda *_: stop.set())
    stop.wait()
