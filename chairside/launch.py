"""Starting processes: the dashboard server, and the demo's three cooperating processes.

The dashboard always runs as its own process (Streamlit owns its event loop), so restarting
or closing it never touches acquisition. The demo forwards Ctrl-C to every child and waits
for each to stop cleanly before it exits.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from chairside.processes import STOPPED_BY_SIGNAL, ask_to_stop, child_options, on_stop_request
from vitals.clinic_time import clinic_zone, machine_zone, zone_name
from vitals.errors import ConfigError
from vitals.logs import LOG_DIR_ENV, log_dir_for
from vitals.store import copy_store
from vitals.store.location import PostgresServer, describe
from vitals.users import add_user, authenticate

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 10.0


def write_atomically(path: Path, text: str) -> None:
    """Readers never see half a file: write beside it, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def dashboard_command(db: Path, port: int, address: str) -> list[str]:
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be 1-65535, got {port}")
    # The server module serves the app plus the station's sign-in routes (a kept cookie).
    spec = importlib.util.find_spec("dashboard.server")
    if spec is None or spec.origin is None:
        raise ConfigError("the dashboard package is missing from this installation")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        spec.origin,
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]


def dashboard_env(
    db: Path | PostgresServer, users: Path, timezone: str | None = None, idle_lock_min: float = 0
) -> dict[str, str]:
    """The dashboard's settings; the time zone is checked here, so a typo stops the start.
    A central review's logs go beside its users file, as a server has no folder here."""
    env = dict(os.environ)
    server = isinstance(db, PostgresServer)
    env["CHAIRSIDE_DB"] = str(db) if server else str(Path(db).resolve())
    env["CHAIRSIDE_USERS"] = str(Path(users).resolve())
    env[LOG_DIR_ENV] = str(log_dir_for(users if server else db))
    env["CHAIRSIDE_TIMEZONE"] = zone_name(clinic_zone(timezone)) if timezone else ""
    if idle_lock_min < 0:
        raise ConfigError(f"--idle-lock must be 0 (off) or more minutes, got {idle_lock_min:g}")
    env["CHAIRSIDE_IDLE_LOCK_MIN"] = f"{idle_lock_min:g}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def serve_dashboard(args: argparse.Namespace) -> int:
    command = dashboard_command(args.db, args.port, args.address)
    env = dashboard_env(args.db, args.users, args.timezone, args.idle_lock)
    zone = env["CHAIRSIDE_TIMEZONE"] or f"{zone_name(machine_zone())}, this machine's"
    print(f"dashboard on http://{args.address}:{args.port} reading {describe(args.db)}", flush=True)
    print(f"times shown in {zone} time zone", flush=True)
    child = subprocess.Popen(command, env=env, **child_options())
    return _supervise([child])


def start_store_from(db: Path | PostgresServer, source: Path | None) -> None:
    """A new database starts as a copy of ``source``, so there is history to review at once."""
    if source is None or (isinstance(db, Path) and db.exists()):
        return
    copy_store(source, db)
    print(f"{db} starts as a copy of {source}", flush=True)


def demo(args: argparse.Namespace) -> int:
    start_store_from(args.db, args.start_from)
    run_dir = Path(args.run_dir)
    config = run_dir / "demo-chairs.toml"
    config.unlink(missing_ok=True)
    me = [sys.executable, "-m", "chairside"]
    fleet = [
        "--chairs",
        str(args.chairs),
        "--scenario",
        args.scenario,
        "--speed",
        str(args.speed),
        "--seed",
        str(args.seed),
        "--protocol",
        args.protocol,
        *(("--transport", args.transport) if args.transport else ("--links", args.links)),
        "--interval",
        str(args.interval),
        "--nibp-every",
        str(args.nibp_every),
        *(("--stagger",) if args.stagger else ()),
        "--run-dir",
        str(run_dir),
    ]
    simulate = [*me, "simulate", *fleet, "--config", str(config), "--db", str(args.db)]
    children = [subprocess.Popen(simulate, **child_options())]
    if not _wait_for_file(config, children[0]):
        return _supervise(children)
    children.append(
        subprocess.Popen(
            [*me, "record", "--config", str(config), "--db", str(args.db)], **child_options()
        )
    )
    users = demo_users(run_dir, args.users)
    children.append(
        subprocess.Popen(
            dashboard_command(args.db, args.port, args.address),
            env=dashboard_env(args.db, users, args.timezone, args.idle_lock),
            **child_options(),
        )
    )
    print(f"\nChairside demo: open http://{args.address}:{args.port}  (Ctrl-C stops all)")
    if users != args.users:
        print(f"sign in as '{DEMO_USER}' with password '{DEMO_PASSWORD}' (demo only)")
    print(flush=True)
    return _supervise(children)


DEMO_USER, DEMO_PASSWORD = "Demo Nurse", "demo"


def demo_users(run_dir: Path, users: Path) -> Path:
    """The clinic's users file if there is one; else a throw-away demo user in the run dir."""
    if Path(users).exists():
        return Path(users)
    demo = run_dir / "demo-users.toml"
    # Kept as it is when it still signs the demo nurse in: rewritten (a new salt), it would
    # sign every station out at each restart of the demo.
    if not (demo.exists() and authenticate(demo, DEMO_USER, DEMO_PASSWORD)):
        add_user(demo, DEMO_USER, DEMO_PASSWORD)
    return demo


def _wait_for_file(path: Path, child: subprocess.Popen, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        if path.exists():
            return True
        time.sleep(0.1)
    return False


SELF_STOP_S = 2.0  # how long children told by the terminal itself get to stop on their own


def _wait_all(children: list[subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(c.poll() is None for c in children):
        time.sleep(0.05)


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until any child ends or we are told to stop; then stop every child politely."""
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    on_stop_request(request_stop)
    while not stopping and all(c.poll() is None for c in children):
        time.sleep(0.2)
    if stopping:
        # A Ctrl-C in the terminal reaches every child of the process group at once: a
        # second interrupt on top would make the dashboard's server print a traceback.
        _wait_all(children, SELF_STOP_S)
    for child in children:
        if child.poll() is None:
            ask_to_stop(child)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    failed = [c.returncode for c in children if c.returncode not in STOPPED_BY_SIGNAL]
    return 1 if failed and not stopping else 0
