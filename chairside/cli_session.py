"""``python -m chairside session ...``: start, annotate, retune and end sessions; acknowledge.

Every command names who acts (``--by``), who must prove it (``chairside.cli_identity``):
each one is written to the audit trail at once.
"""

from __future__ import annotations

import argparse

from chairside.cli_identity import add_identity_options, signed
from vitals.errors import ConfigError
from vitals.reading import Param, utc_now
from vitals.review import keep_summaries
from vitals.rules import Level
from vitals.sessions import EVENT_KINDS
from vitals.store import DEFAULT_DB, commands, connect_readonly
from vitals.store.connection import DB_HELP
from vitals.store.location import db_argument
from vitals.store.measures import SCALE_KINDS, log_measure
from vitals.verdict import discharge_verdict


def add_session_parser(commands_: argparse._SubParsersAction) -> None:
    p = commands_.add_parser(
        "session",
        help="start, annotate, retune and end sessions; acknowledge alerts",
        description="Sessions from the command line: every action is recorded with who and when.",
    )
    actions = p.add_subparsers(title="actions", required=True, metavar="ACTION")

    start = _action(actions, "start", "open a session on a chair", run_start)
    start.add_argument("--chair", required=True)
    start.add_argument("--patient", required=True, help="pseudonymous reference, never a name")
    start.add_argument("--protocol", required=True, help="iv-ketamine or esketamine-nasal")
    start.add_argument("--weight", type=float, help="kg (IV protocols dose by weight)")
    start.add_argument("--dose", type=float, help="mg (esketamine: 56 or 84)")
    start.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RULE.LEVEL=VALUE",
        help="override a threshold for this session, e.g. sbp-high.warning=170",
    )
    start.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="enter a baseline by hand, e.g. sbp=128",
    )

    event = _action(actions, "event", "log an event (dose, medication, note, ...)", run_event)
    _which_session(event)
    event.add_argument("--kind", required=True, choices=EVENT_KINDS)
    event.add_argument("--text", default="")
    event.add_argument("--value", type=float)

    threshold = _action(actions, "threshold", "change a threshold for one session", run_threshold)
    _which_session(threshold)
    threshold.add_argument("--set", required=True, metavar="RULE.LEVEL=VALUE")

    protocol = _action(
        actions, "protocol", "put an open session under another protocol preset", run_protocol
    )
    _which_session(protocol)
    protocol.add_argument("--protocol", required=True, help="iv-ketamine or esketamine-nasal")
    protocol.add_argument("--weight", type=float, help="kg, when the new protocol doses by weight")
    protocol.add_argument("--dose", type=float, help="mg, when the new protocol has fixed doses")

    baseline = _action(actions, "baseline", "enter a session's baseline by hand", run_baseline)
    _which_session(baseline)
    baseline.add_argument(
        "--set",
        action="append",
        required=True,
        metavar="PARAM=VALUE",
        help="a baseline value, e.g. sbp=128 (repeat for dbp, hr)",
    )

    end = _action(actions, "end", "end a session and print the discharge verdict", run_end)
    _which_session(end)

    ack = _action(actions, "ack", "acknowledge an alert episode", run_ack)
    ack.add_argument("--episode", type=int, required=True)
    ack.add_argument("--comment", default="")


def _action(
    actions: argparse._SubParsersAction, name: str, text: str, run
) -> argparse.ArgumentParser:
    p = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    add_identity_options(p)
    p.add_argument("--db", type=db_argument, default=DEFAULT_DB, help=DB_HELP)
    p.set_defaults(run=signed(run))
    return p


def _which_session(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", type=int, help="session id")
    which.add_argument("--chair", help="the chair's open session")


def _session_of(args: argparse.Namespace) -> int:
    return (
        args.session if args.session is not None else commands.open_session_id(args.db, args.chair)
    )


def parse_override(text: str) -> tuple[str, Level, float]:
    try:
        target, value = text.split("=", 1)
        rule, level = target.rsplit(".", 1)
        return rule, Level.parse(level), float(value)
    except ValueError:
        raise ConfigError(
            f"--set expects RULE.LEVEL=VALUE (e.g. sbp-high.warning=170), got {text!r}"
        ) from None


def parse_baseline(text: str) -> tuple[Param, float]:
    try:
        param, value = text.split("=", 1)
        return Param(param), float(value)
    except ValueError:
        raise ConfigError(f"--baseline expects PARAM=VALUE (e.g. sbp=128), got {text!r}") from None


def run_start(args: argparse.Namespace) -> int:
    session = commands.start_session(
        args.db,
        args.chair,
        args.patient,
        args.protocol,
        args.by,
        weight_kg=args.weight,
        dose_mg=args.dose,
        overrides=[parse_override(s) for s in args.set],
        baseline=dict(parse_baseline(b) for b in args.baseline),
    )
    print(f"session {session} started on {args.chair}")
    return 0


COURSE_KINDS = (*SCALE_KINDS, "phq9", "side-effects")  # checked, not logged as free events


def run_event(args: argparse.Namespace) -> int:
    session = _session_of(args)
    if args.kind in COURSE_KINDS:
        logged = log_measure(args.db, session, args.kind, args.by, args.text, args.value)
        print(f"{logged} logged in session {session}")
        return 0
    commands.add_event(args.db, session, args.kind, args.by, args.text, args.value)
    print(f"{args.kind} logged in session {session}")
    return 0


def run_threshold(args: argparse.Namespace) -> int:
    session = _session_of(args)
    rule, level, value = parse_override(args.set)
    change = commands.change_threshold(args.db, session, rule, level, value, args.by)
    print(f"session {session}: {change}")
    return 0


def run_protocol(args: argparse.Namespace) -> int:
    session = _session_of(args)
    change = commands.change_protocol(
        args.db, session, args.protocol, args.by, weight_kg=args.weight, dose_mg=args.dose
    )
    print(f"session {session}: {change}")
    return 0


def run_baseline(args: argparse.Namespace) -> int:
    session = _session_of(args)
    values = dict(parse_baseline(b) for b in args.set)
    commands.enter_baseline(args.db, session, values, args.by)
    shown = ", ".join(f"{p.value} {v:g}" for p, v in values.items())
    print(f"session {session}: baseline entered by hand ({shown})")
    return 0


def run_end(args: argparse.Namespace) -> int:
    session = _session_of(args)
    conn = connect_readonly(args.db)
    try:
        verdict = str(discharge_verdict(conn, session, utc_now()))
    finally:
        conn.close()
    commands.end_session(args.db, session, args.by, verdict)
    keep_summaries(args.db, [session])
    print(f"session {session} ended; {verdict}")
    return 0


def run_ack(args: argparse.Namespace) -> int:
    commands.acknowledge(args.db, args.episode, args.by, args.comment)
    print(f"episode {args.episode} acknowledged by {args.by}")
    return 0
