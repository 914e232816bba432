"""The central relay is supervised like the recorder's other threads: a relay that dies is
started again, counted and shown, and acquisition never waits for it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chairside.recorder import Recorder
from chairside.relay import RelayTarget
from tests.conftest import wait_for
from vitals.chairs import Chair
from vitals.store import connect_readonly
from vitals.store.relay import relay_status


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_relay_thread_that_dies_is_started_again_counted_and_shown(tmp_path: Path) -> None:
    chair = Chair("chair-1", "Chair 1", "socket://127.0.0.1:9", "ge-s5")  # never answers
    target = RelayTarget(str(tmp_path / "central.db"), "north")
    recorder = Recorder([chair], tmp_path / "site.db", relay=target)
    died = threading.Event()
    real_step = recorder.relay.step

    def step_that_dies_once() -> bool:
        if not died.is_set():
            died.set()
            raise SystemExit("a fault no handler expects")  # ends the thread
        return real_step()

    recorder.relay.step = step_that_dies_once
    runner = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
    runner.start()
    try:
        wait_for(lambda: recorder.relay.restarts == 1, what="the relay started again")
        status = wait_for(
            lambda: (
                (s := relay_status(connect_readonly(recorder.writer.path))) and s.failures and s
            ),
            what="the restart counted in the store",
        )
        assert status.failures == 1
        wait_for(
            lambda: relay_status(connect_readonly(recorder.writer.path)).down_since_us is None,
            what="the restarted relay reaching the central store",
        )
    finally:
        recorder.stop()
        runner.join(15)
    assert not recorder.relay.alive
