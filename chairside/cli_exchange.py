"""``python -m chairside export`` and ``import``: recordings out to and in from open formats."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from chairside.cli_identity import add_identity_options, signed
from vitals.errors import ConfigError
from vitals.exchange.csv_io import import_readings, read_readings_csv
from vitals.exchange.export import FORMATS, chair_window, export, session_window
from vitals.exchange.progress import percent_printer
from vitals.exchange.vital_import import read_vital
from vitals.store import DEFAULT_DB, StoreWriter, connect_readonly
from vitals.store.connection import DB_HELP
from vitals.store.imports import check_ended, record_import, sessions_touched
from vitals.store.location import db_argument


def add_exchange_parsers(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export",
        help="export a session or a chair's time window",
        description="Write a session (or a chair between two times) into the --out folder: "
        "readings.csv, events.csv and episodes.csv; or report.pdf (the session report); or "
        "messages.hl7 (HL7 v2 ORU^R01, one per moment); or bundle.json (FHIR R4 Bundle of "
        "vital-sign Observations); or rems-record.pdf and rems-record.csv (the session's "
        "SPRAVATO REMS monitoring record, prepared for the clinic to check and submit; "
        "never submitted).",
    )
    export.add_argument("--db", type=db_argument, default=DEFAULT_DB, help=DB_HELP)
    export.add_argument("--session", type=int, help="session id")
    export.add_argument("--chair", help="chair id, with --from and --to")
    export.add_argument("--from", dest="start", type=_utc_time, help="ISO-8601 UTC start")
    export.add_argument("--to", dest="end", type=_utc_time, help="ISO-8601 UTC end")
    export.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="csv (readings, events, episodes), pdf (session report), hl7 (ORU^R01 messages) "
        "fhir (R4 Bundle) or rems (REMS monitoring record, PDF and CSV)",
    )
    export.add_argument("--out", type=Path, required=True, help="folder to write into")
    export.set_defaults(run=run_export)

    imported = commands.add_parser(
        "import",
        help="import readings recorded elsewhere",
        description="Store readings from a CSV with the columns chair,time_utc,param,value,"
        "unit,quality[,source,device_time_utc], or from a VitalDB .vital file for one --chair; "
        "implausible values are stored flagged invalid, rows repeated in the file once, and "
        "readings already stored are skipped.",
    )
    imported.add_argument("--db", type=db_argument, default=DEFAULT_DB, help=DB_HELP)
    imported.add_argument(
        "--format", choices=["csv", "vital"], default="csv", help="csv, or a VitalDB .vital file"
    )
    imported.add_argument("--file", type=Path, required=True, help="the file to import")
    imported.add_argument("--chair", help="the chair a .vital recording belongs to")
    imported.add_argument(
        "--into-ended-session",
        action="store_true",
        help="allow readings inside a session that has ended (recorded as an event)",
    )
    add_identity_options(imported)
    imported.set_defaults(run=signed(run_import))


def _utc_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset or Z")
    return moment


def run_export(args: argparse.Namespace) -> int:
    conn = connect_readonly(args.db)
    try:
        if args.session is not None:
            window = session_window(conn, args.session)
        elif args.chair and args.start:
            window = chair_window(args.chair, args.start, args.end)
        else:
            raise ConfigError("export needs --session ID, or --chair C --from T [--to T]")
        progress = percent_printer(lambda line: print(line, file=sys.stderr, flush=True))
        counts = export(conn, args.format, window, args.out, progress)
    finally:
        conn.close()
    print(", ".join(f"{name}: {rows} entries" for name, rows in counts.items()) + f" in {args.out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    if args.format == "vital":
        if not args.chair:
            raise ConfigError("a .vital file holds no chair: give --chair C")
        readings = read_vital(args.file, args.chair)
    else:
        readings = read_readings_csv(args.file)
    touched = sessions_touched(args.db, readings)
    check_ended(args.db, touched, args.into_ended_session)
    writer = StoreWriter(args.db)
    try:
        summary = import_readings(writer, readings)
    finally:
        writer.close()
    if summary.added:
        record_import(args.db, args.by, args.file.name, touched)
    print(f"{args.file}: {summary}")
    return 0
