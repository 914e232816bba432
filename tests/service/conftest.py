"""The recorder run in-process on a thread, stopped cleanly after each test."""

import threading
from pathlib import Path

import pytest

from chairside.recorder import Recorder
from vitals.chairs import Chair


@pytest.fixture
def run_recorder(db_path: Path):
    started: list[tuple[Recorder, threading.Thread]] = []

    def run(chairs: list[Chair]) -> Recorder:
        recorder = Recorder(chairs, db_path)
        thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
        thread.start()
        started.append((recorder, thread))
        return recorder

    yield run
    for recorder, thread in started:
        recorder.stop()
        thread.join(timeout=15)
