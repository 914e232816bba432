"""``record --notify FILE`` and ``notify test``: alarm forwarding from the command line.

``notify test`` sends one clearly marked test message through one channel, so a clinic
checks each phone, mailbox or webhook before relying on it; a failure prints apprise's
reason and exits non-zero.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from chairside.channels import Channels
from chairside.notifier import clock_time
from vitals.errors import ChairsideError
from vitals.notify_config import load_notify_config
from vitals.reading import utc_now

NOTIFY_HELP = (
    "notification config (TOML: [[channels]] name/url, [[ladder]] level/after_s/channels): "
    "forward unacknowledged alarms to phones, mail and webhooks"
)


def notify_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--notify", type=Path, metavar="FILE", help=NOTIFY_HELP)


def add_notify_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "notify",
        help="check alarm-forwarding channels",
        description="Alarm forwarding (secondary alarm notification) tools.",
    )
    actions = p.add_subparsers(title="actions", required=True, metavar="ACTION")
    test = actions.add_parser(
        "test",
        help="send a test message through one channel",
        description="Send one test message through a configured channel and say whether the "
        "channel accepted it.",
    )
    test.add_argument("--notify", type=Path, metavar="FILE", required=True, help=NOTIFY_HELP)
    test.add_argument("--channel", required=True, help="the channel's name in the config")
    test.set_defaults(run=run_notify_test)


def run_notify_test(args: argparse.Namespace) -> int:
    config = load_notify_config(args.notify)
    config.channel(args.channel)  # an unknown name is a one-line error naming the known ones
    channels = Channels(config)
    title = "Chairside TEST: channel check"
    body = (
        f"Test message from Chairside on {socket.gethostname()} at {clock_time(utc_now())} "
        f"through channel {args.channel!r}. No patient is concerned; nothing to do."
    )
    error = channels.send(args.channel, title, body)
    target = channels.target(args.channel)
    if error:
        raise ChairsideError(f"channel {args.channel!r} ({target}) failed: {error}")
    print(f"channel {args.channel!r} accepted the test message ({target})")
    return 0
