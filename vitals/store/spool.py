"""The spool: readings the database refused, kept on disk in arrival order until it takes them.

One JSON line per batch (``[[chair, t_us, device_us, param, value, quality, source], ...]``),
flushed and fsynced before the batch counts as kept, so a crash while the database refuses
writes loses nothing that was received. The form is the Reading's, not the readings table's,
so a spool written before a schema change still drains after it.

A torn last line (the process died while appending) is skipped: its batch was never reported
as kept. Lines are drained from the oldest; a drain that stops half way resumes where it
stopped, and a spool left by a crashed recorder is drained again at the next start (the
writer inserts only rows the store does not already hold, so nothing is stored twice).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from vitals.reading import Param, Quality, Reading
from vitals.times import from_us, to_us

SPOOL_NAME = "readings.spool"


def default_spool_dir(db: Path) -> Path:
    """Beside the database: ``chairside.db.spool/``."""
    return Path(db).with_name(Path(db).name + ".spool")


class Spool:
    """Append-only file of refused readings; bytes before ``offset`` are already in the store."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / SPOOL_NAME
        self._repair()
        self.offset = 0  # bytes drained into the store by this process
        self.readings = sum(len(batch) for batch, _ in self._batches(0))

    def _repair(self) -> None:
        """Cut a torn last line, so the next append starts a line of its own."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as out:
                out.truncate(data.rfind(b"\n") + 1)

    @property
    def waiting(self) -> bool:
        return self.readings > 0

    def append(self, readings: Sequence[Reading]) -> int:
        """Keep ``readings`` durably; returns the offset after them. OSError (nothing kept)
        when the disk refuses."""
        line = json.dumps([_row(r) for r in readings], separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            start = out.tell()
            try:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
            except OSError:
                out.truncate(start)  # never leave half a line for the next append to extend
                raise
            end = out.tell()
        self.readings += len(readings)
        return end

    def next_chunk(self, most: int) -> tuple[int, list[Reading]]:
        """Whole lines after the drained ones, up to ``most`` readings: (end offset, readings)."""
        taken: list[Reading] = []
        end = self.offset
        for batch, after in self._batches(self.offset):
            if taken and len(taken) + len(batch) > most:
                break
            taken += batch
            end = after
        return end, taken

    def mark_drained(self, offset: int, readings: int) -> None:
        """Everything before ``offset`` is committed; an emptied spool is truncated."""
        self.offset = offset
        self.readings -= readings
        if self.readings <= 0:
            with self.path.open("w", encoding="utf-8") as out:
                out.flush()
                os.fsync(out.fileno())
            self.offset = self.readings = 0

    def _batches(self, offset: int):
        """(batch, offset after its line) from ``offset`` on."""
        try:
            source = self.path.open("rb")
        except FileNotFoundError:
            return
        with source:
            source.seek(offset)
            for line in source:
                offset += len(line)
                try:
                    rows = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash was never reported as kept
                yield [_reading(row) for row in rows], offset


def _row(r: Reading) -> list:
    device_us = to_us(r.device_time) if r.device_time else None
    return [r.chair, to_us(r.time), device_us, r.param.value, r.value, r.quality.value, r.source]


def _reading(row: list) -> Reading:
    chair, t_us, device_us, param, value, quality, source = row
    device = from_us(device_us) if device_us is not None else None
    return Reading(Param(param), value, Quality(quality), device, from_us(t_us), chair, source)
