"""Whole processes: a simulated hypertensive chair → `record --notify` → a phone webhook and a
mailbox on this machine, with no dashboard open. Also `notify test` and the start-up checks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from tests.service.conftest import stop
from tests.service.receivers import Mailbox, Webhook
from tests.service.test_end_to_end import simulate, stored
from vitals.times import from_us

pytestmark = pytest.mark.slow


def notify_file(tmp: Path, webhook: Webhook, mailbox: Mailbox) -> Path:
    path = tmp / "notify.toml"
    path.write_text(
        f"""
[[channels]]
name = "nurse-phone"
url = "{webhook.url("ward")}"

[[channels]]
name = "team"
url = "{mailbox.url("team@clinic.example")}"

[[ladder]]
level = "critical"
after_s = 0
channels = ["nurse-phone", "team"]
"""
    )
    return path


def test_a_critical_rise_in_a_quiet_room_reaches_the_phone_and_the_mailbox(
    processes,
    tmp_path: Path,
    webhook: Webhook,
    mailbox: Mailbox,
) -> None:
    db = tmp_path / "c.db"
    config = tmp_path / "chairs.toml"
    simulator = processes(
        *("simulate", "--chairs", "1", "--scenario", "hypertensive", "--speed", "240"),
        *("--config", str(config), "--run-dir", str(tmp_path / "run"), "--db", str(db)),
    )
    wait_for(config.exists, what="the simulator's chair config")
    recorder = processes(
        "record",
        "--config",
        str(config),
        "--db",
        str(db),
        "--notify",
        str(notify_file(tmp_path, webhook, mailbox)),
    )
    (phone,) = webhook.inbox.wait(1, timeout=45)[:1]
    (mail,) = mailbox.inbox.wait(1, timeout=15)[:1]
    stop(simulator)
    output = stop(recorder)
    assert phone.title == mail.title == "Chairside CRITICAL: Chair 1 (hypertensive)"
    assert phone.path == "/ward" and mail.path == "team@clinic.example"
    [(reason, episode)] = query(
        db,
        "SELECT reason, id FROM episodes WHERE level = 'critical' AND chair = 'chair-1'"
        " ORDER BY started_us LIMIT 1",
    )
    assert phone.body.startswith(reason.split(" (ended: ")[0] + ". Since ")
    # the offending reading: the first systolic at or above the critical 180 mmHg
    [(offending_us,)] = query(
        db,
        "SELECT min(t_us) FROM readings_full WHERE chair = 'chair-1' AND param = 'sbp'"
        " AND quality = 'ok' AND value >= 180",
    )
    latency = (min(phone.at, mail.at) - from_us(offending_us)).total_seconds()
    print(f"reading -> first notification delivered: {latency:.2f} s")
    assert 0 < latency < 3  # polled every second; the receivers are on this machine
    audit = query(db, "SELECT channel, delivered FROM notifications WHERE episode = ?", (episode,))
    assert sorted(audit) == [("nurse-phone", 1), ("team", 1)]
    assert "alarm forwarding fault" not in output


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        chairside_command(*args),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_notify_test_checks_one_channel_from_the_command_line(
    tmp_path: Path, webhook: Webhook, mailbox: Mailbox
) -> None:
    config = notify_file(tmp_path, webhook, mailbox)
    done = run_cli("notify", "test", "--notify", str(config), "--channel", "team")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("channel 'team' accepted the test message (mailto://127.0.0.1")
    (mail,) = mailbox.inbox.wait(1)
    assert mail.title == "Chairside TEST: channel check"
    assert "No patient is concerned" in mail.body
    webhook.refuse = True
    done = run_cli("notify", "test", "--notify", str(config), "--channel", "nurse-phone")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]  # apprise's own log line may come first
    assert last.startswith("chairside: error: channel 'nurse-phone' (json://127.0.0.1")
    assert "error=503" in last and "Traceback" not in done.stderr
    done = run_cli("notify", "test", "--notify", str(config), "--channel", "pager")
    assert done.returncode == 1
    assert "no channel named 'pager'; known: nurse-phone, team" in done.stderr


def test_record_with_a_config_without_channels_says_so_at_start(processes, tmp_path: Path) -> None:
    empty = tmp_path / "notify.toml"
    empty.write_text("retry_s = 20\n")
    config, simulator = simulate(processes, tmp_path)
    recorder = processes(
        "record", "--config", str(config), "--db", str(tmp_path / "c.db"), "--notify", str(empty)
    )
    wait_for(lambda: stored(tmp_path / "c.db") > 0, timeout=30, what="the recorder running")
    stop(simulator)
    output = stop(recorder)
    assert f"notification config {empty} lists no channels: alarms reach no phone" in output


def test_record_refuses_a_secret_that_is_not_in_the_environment(tmp_path: Path) -> None:
    notify = tmp_path / "notify.toml"
    notify.write_text(
        '[[channels]]\nname = "p"\nurl = "ntfys://ntfy.sh/x?token=${NO_SUCH_TOKEN}"\n'
    )
    chairs = tmp_path / "chairs.toml"
    chairs.write_text('[[chairs]]\nid = "c1"\nname = "C1"\nport = "loop://"\nprotocol = "ge-s5"\n')
    done = run_cli(
        "record", "--config", str(chairs), "--db", str(tmp_path / "c.db"), "--notify", str(notify)
    )
    assert done.returncode == 1
    assert done.stderr.strip().endswith("environment variable NO_SUCH_TOKEN is not set")
