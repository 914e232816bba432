"""The writer survives a store that refuses writes: durable work is kept (readings in the spool
on disk) and committed in order when it accepts; nothing else is acknowledged as stored."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import query, wait_for
from vitals.errors import StoreError
from vitals.reading import Param, Reading, utc_now
from vitals.store import StoreWriter
from vitals.store.location import PostgresServer
from vitals.store.spool import Spool

T0 = utc_now()


def hr(n: int) -> Reading:
    return Reading(Param.HR, float(n)).stamped("c1", T0 + timedelta(seconds=n), "ge-s5")


def test_the_spool_keeps_batches_in_order_and_survives_a_torn_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([hr(1), hr(2)])
    spool.append([hr(3)])
    with spool.path.open("a") as out:
        out.write('[["c1", 1')  # the process died while appending
    again = Spool(tmp_path)  # the next start
    assert again.readings == 3
    end, readings = again.next_chunk(most=2)
    assert [r.value for r in readings] == [1.0, 2.0]
    again.mark_drained(end, 2)
    end, readings = again.next_chunk(most=10)
    assert [r.value for r in readings] == [3.0] and readings[0].time == hr(3).time
    again.mark_drained(end, 1)
    assert not again.waiting and spool.path.stat().st_size == 0


def lock(db: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_readings_wait_in_the_spool_while_locked_and_go_in_in_order(
    tmp_path: Path, db_path: Path
) -> None:
    writer = StoreWriter(db_path, tmp_path / "spool", busy_s=0.2)
    try:
        writer.post_readings([hr(0)])
        holder = lock(db_path)
        tickets = [writer.post_readings([hr(n)]) for n in range(1, 6)]
        assert writer.fault is not None and "locked" in writer.fault.reason
        assert not any(t.committed for t in tickets)
        with pytest.raises(StoreError, match="refuses writes"):
            writer.write_readings([hr(99)])  # acknowledged senders are told at once
        assert (tmp_path / "spool" / "readings.spool").stat().st_size > 0  # durable meanwhile
        holder.execute("COMMIT")
        holder.close()
        drained = lambda: all(t.committed for t in tickets) and writer.fault is None  # noqa: E731
        wait_for(drained, what="the spool drained and the fault cleared")
        values = [
            v for (v,) in query(db_path, "SELECT value FROM readings_full ORDER BY t_us, seq")
        ]
        assert values == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    finally:
        writer.close()


def test_a_spool_left_by_a_crash_is_drained_once_at_the_next_start(
    tmp_path: Path, store_db: Path | PostgresServer
) -> None:
    writer = StoreWriter(store_db, tmp_path / "spool")
    writer.post_readings([hr(1)])
    writer.close()
    left = Spool(tmp_path / "spool")
    left.append([hr(1), hr(2)])  # hr(1) was committed before the crash, hr(2) was not
    StoreWriter(store_db, tmp_path / "spool").close()
    assert query(store_db, "SELECT value FROM readings_full ORDER BY t_us, seq") == [
        (1.0,),
        (2.0,),
    ]


def test_episodes_are_kept_while_the_store_refuses(tmp_path: Path, db_path: Path) -> None:
    from vitals.engine import TECHNICAL, Episode
    from vitals.rules import Level

    writer = StoreWriter(db_path, tmp_path / "spool", busy_s=0.2)
    try:
        holder = lock(db_path)
        writer.post_readings([hr(1)])  # the store is known to refuse
        began = time.monotonic()
        episode = Episode("no-data", TECHNICAL, Level.WARNING, T0, reason="Chair 1: no data")
        writer.write_episodes("c1", None, [episode])  # kept, not waited for
        assert time.monotonic() - began < 1.0
        holder.execute("COMMIT")
        holder.close()
        wait_for(lambda: query(db_path, "SELECT rule FROM episodes"), what="the episode kept")
    finally:
        writer.close()


def test_a_replaced_database_file_is_detected_and_what_it_held_saved(
    tmp_path: Path, db_path: Path
) -> None:
    writer = StoreWriter(db_path, tmp_path / "spool")
    try:
        writer.write_readings([hr(1)])
        replacement = tmp_path / "other.db"
        sqlite3.connect(replacement).close()
        replacement.replace(db_path)
        time.sleep(1.1)
        ticket = writer.post_readings([hr(2)])
        wait_for(lambda: writer.fault is not None, what="the replacement noticed")
        assert writer.fault.permanent and "replaced" in writer.fault.reason
        wait_for(lambda: writer.readings_waiting == 1, what="the reading kept in the spool")
        assert not ticket.committed
        [orphan] = list(tmp_path.glob("chairside.db.orphan-*"))
        assert query(orphan, "SELECT value FROM readings") == [(1.0,)]
    finally:
        writer.close()


def test_a_read_only_store_is_survived_like_any_refusal(
    tmp_path: Path, db_path: Path, monkeypatch
) -> None:
    """Injected: Linux will not remount a filesystem read-only while the recorder holds the
    file open for writing, but the kernel does so by itself on disk errors."""
    writer = StoreWriter(db_path, tmp_path / "spool", busy_s=0.2)
    real_commit = writer._commit
    read_only = {"on": True}

    def commit(group):
        if read_only["on"] and group:
            return sqlite3.OperationalError("attempt to write a readonly database")
        return real_commit(group)

    monkeypatch.setattr(writer, "_commit", commit)
    try:
        tickets = [writer.post_readings([hr(n)]) for n in range(3)]
        assert writer.fault is not None and "readonly" in writer.fault.reason
        read_only["on"] = False
        wait_for(lambda: all(t.committed for t in tickets), what="written once writable")
        assert [v for (v,) in query(db_path, "SELECT value FROM readings")] == [0.0, 1.0, 2.0]
    finally:
        writer.close()
