"""Why a site's copy does not reach the central store, told for each cause against a real
PostgreSQL server: a misspelled database, an account without rights, an unknown account, and
a server that accepts the connection but never answers (its processes stopped). The log has
an outage's traceback once, then one line per retry."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import chairside.relay as relay_thread
from chairside.relay import CentralRelay, RelayTarget
from chairside.relay_words import NO_ANSWER, NO_DATABASE, NO_RIGHTS, SIGN_IN, in_words
from tests.conftest import wait_for
from tests.pg_cluster import Cluster
from tests.vitals.test_central_relay import CHAIRS, readings
from vitals.store import StoreWriter, connect_readonly
from vitals.store.relay import RelayStatus, relay_status

NO_RIGHTS_ROLE = "chairside_norights"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[StoreWriter]:
    writer = StoreWriter(tmp_path / "site.db", tmp_path / "site.spool")
    writer.write_chairs(CHAIRS)
    yield writer
    writer.close()


@pytest.fixture
def role_without_rights(pg_cluster: Cluster) -> str:
    """An account that may sign in but was granted nothing on Chairside's tables."""
    with pg_cluster.admin() as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (NO_RIGHTS_ROLE,)
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {NO_RIGHTS_ROLE} LOGIN")
    return NO_RIGHTS_ROLE


def relay_to(writer: StoreWriter, target: str, **kw) -> CentralRelay:
    relay = CentralRelay(writer, RelayTarget(target, "north"), threading.Event(), **kw)
    relay.enable()
    return relay


def why_the_step_fails(relay: CentralRelay) -> str:
    with pytest.raises(Exception) as failure:  # any kind: its words are the test
        relay.step()
    return in_words(failure.value)


def status_of(writer: StoreWriter) -> RelayStatus:
    conn = connect_readonly(writer.path)
    try:
        status = relay_status(conn)
    finally:
        conn.close()
    assert status is not None
    return status


def test_a_misspelled_database_name_is_told_as_such(site, pg_cluster):
    relay = relay_to(site, pg_cluster.url("chairside_no_such_db"))
    assert why_the_step_fails(relay) == NO_DATABASE


def test_an_account_without_rights_on_the_tables_is_told_as_such(
    site, pg_url, pg_cluster, role_without_rights
):
    relay = relay_to(site, pg_cluster.url(pg_url.dbname, role_without_rights))
    words = why_the_step_fails(relay)
    assert words == NO_RIGHTS
    assert "GRANT" in words and "sign-in" not in words


def test_an_unknown_account_is_told_as_a_refused_sign_in(site, pg_url, pg_cluster):
    relay = relay_to(site, pg_cluster.url(pg_url.dbname, "chairside_nobody"))
    assert why_the_step_fails(relay) == SIGN_IN


def test_the_station_shows_the_permanent_cause_not_a_link_down(site, pg_cluster, monkeypatch):
    monkeypatch.setattr(relay_thread, "BACKOFF_FIRST_S", 0.05)
    relay = relay_to(site, pg_cluster.url("chairside_no_such_db"), poll_s=0.05)
    relay.start()
    try:
        status = wait_for(lambda: (s := status_of(site)).failures and s, what="the failure")
    finally:
        relay._stop.set()
        relay.join(5)
    assert status.last_error == NO_DATABASE
    line = status.describe(status.beat_us, lambda us: "10:02")[1]
    assert line.endswith(f"link down since 10:02 ({NO_DATABASE})")


def stopped(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)


def resumed(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            continue


def test_a_server_that_hangs_is_given_up_and_told_as_not_answering(
    site, pg_url, pg_cluster, monkeypatch
):
    """A nurse's station must not look calm while the central copy silently stalls: the server
    is stopped mid-batch (it still accepts TCP), the relay gives the batch up within its
    deadline, shows the link down in words, and catches up once the server runs again."""
    monkeypatch.setattr(relay_thread, "BACKOFF_FIRST_S", 0.2)
    monkeypatch.setattr(relay_thread, "BACKOFF_MAX_S", 0.5)
    relay = relay_to(site, str(pg_url), poll_s=0.05, answer_s=2.0)
    site.post_readings(readings(0, 100))
    relay.start()
    pids: list[int] = []
    try:
        wait_for(lambda: status_of(site).up_to_date, what="first readings sent")
        pids = pg_cluster.server_pids()
        stopped(pids)
        began = time.monotonic()
        site.post_readings(readings(100, 100))
        status = wait_for(
            lambda: (s := status_of(site)).down_since_us and s, timeout=20, what="link down"
        )
        assert time.monotonic() - began < 2.0 + 5.0  # the deadline, and a margin for a busy CI
        assert status.last_error == f"{NO_ANSWER}: nothing back for 2 s"
        assert status.readings_waiting == 100
        resumed(pids)
        wait_for(lambda: status_of(site).up_to_date, timeout=30, what="caught up")
    finally:
        resumed(pids)
        relay._stop.set()
        relay.join(15)
    assert status_of(site).down_since_us is None


def forwarding_log(relay: CentralRelay, tries: int, caplog) -> list[logging.LogRecord]:
    """What the relay logs over ``tries`` failed steps in a row."""
    caplog.set_level(logging.INFO, logger="chairside.relay")
    for _ in range(tries):
        try:
            relay._watched_step()
        except Exception as exc:  # the relay's own loop takes any kind
            relay._failed(exc)
    return [r for r in caplog.records if r.name == "chairside.relay" and "forward" in r.message]


def test_an_outage_logs_its_traceback_once_then_a_line_per_retry(site, tmp_path, caplog):
    def refused(target: str):
        raise ConnectionRefusedError(111, "Connection refused")

    relay = relay_to(site, str(tmp_path / "central.db"), opener=refused)
    records = forwarding_log(relay, 4, caplog)
    assert len(records) == 4
    assert [bool(r.exc_info) for r in records] == [True, False, False, False]
    assert "try 4 of this outage" in records[-1].getMessage()
    assert "\n" not in records[-1].getMessage()


def test_a_fault_of_unexpected_kind_keeps_its_traceback_every_time(site, tmp_path, caplog):
    def broken(target: str):
        raise KeyError("chair")

    relay = relay_to(site, str(tmp_path / "central.db"), opener=broken)
    assert [bool(r.exc_info) for r in forwarding_log(relay, 3, caplog)] == [True, True, True]
