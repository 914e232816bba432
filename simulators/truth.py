"""The truth log: every reading a simulated monitor put on the wire, for end-to-end checks.

CSV with the header ``chair,param,value,sent_utc``: the value as encoded (what a correct
decoder must recover; empty for "no data"), the wall-clock UTC time the frame was written.
An NIBP measurement appears once, although the protocol may repeat it in later frames.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from vitals.reading import Param
from vitals.times import iso_utc

HEADER = ["chair", "param", "value", "sent_utc"]


class TruthLog:
    """Appends rows from several monitor threads; each frame's rows are flushed together."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._lock = threading.Lock()
        if new:
            self._csv.writerow(HEADER)
            self._file.flush()

    def sent(self, chair: str, values: Mapping[Param, float | None], when: datetime) -> None:
        stamp = iso_utc(when)
        rows = [(chair, p.value, "" if v is None else f"{v:g}", stamp) for p, v in values.items()]
        with self._lock:
            self._csv.writerows(rows)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
