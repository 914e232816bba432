"""Who acts on the command line is who proved it: ``--by NAME`` needs NAME's credentials.

A command that writes to the audit trail in a nurse's name asks for her password (at a
terminal), reads it from standard input (``--password-stdin``, for scripts), or takes a
token she created (``chairside user token NAME``, given in ``$CHAIRSIDE_TOKEN``). A failed
proof is refused with one line; nothing is written.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from vitals.errors import ConfigError
from vitals.nurse_tokens import TOKEN_ENV, create_token, token_holder, tokens_path
from vitals.users import DEFAULT_USERS, authenticate

Run = Callable[[argparse.Namespace], int]


def add_identity_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", required=True, help="who is acting (audited); her credentials needed")
    p.add_argument("--users", type=Path, default=DEFAULT_USERS, help="users file")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the password from standard input (or set ${TOKEN_ENV} to a token)",
    )


def signed(run: Run) -> Run:
    """``run`` once the nurse named by ``--by`` has proved who she is."""

    def proven(args: argparse.Namespace) -> int:
        args.by = proven_nurse(args)
        return run(args)

    return proven


def proven_nurse(args: argparse.Namespace) -> str:
    name = args.by.strip()
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        proved, how = token_holder(args.users, token) == name, "token"
    else:
        proved, how = authenticate(args.users, name, _password(args, name)), "password"
    if not proved:  # the one-line error says it; nothing is written
        raise ConfigError(f"wrong {how} for {name!r} (or no such nurse in {args.users})")
    return name


def _password(args: argparse.Namespace, name: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise ConfigError(
            f"--by {name!r} needs her credentials: --password-stdin, ${TOKEN_ENV} "
            "(from `chairside user token`), or run it at a terminal"
        )
    return getpass.getpass(f"password for {name}: ")


def add_token_action(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "token", help="create a token that lets scripts act in a nurse's name for some hours"
    )
    p.add_argument("name", help="the nurse (her password is asked)")
    p.add_argument("--users", type=Path, default=DEFAULT_USERS, help="users file")
    p.add_argument("--hours", type=float, default=12, help="lifetime (default 12 h)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    p.set_defaults(run=run_token)


def run_token(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    token = create_token(args.users, args.name, password, args.hours)
    print(token)
    print(
        f"token for {args.name}, valid {args.hours:g} h (kept hashed in "
        f"{tokens_path(args.users)}); use it as {TOKEN_ENV}",
        file=sys.stderr,
    )
    return 0
