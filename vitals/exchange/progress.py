"""How far a long export has got, told to whoever waits for it (a terminal, a progress bar).

A day at 1 Hz is 260 000 readings: a FHIR bundle of it takes seconds, and a nurse or an
auditor must see that it is moving, not wonder whether it hangs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Progress = Callable[[str, int, int], None]  # (what is being written, done, total)
T = TypeVar("T")
STEPS = 50  # reports per stage: smooth enough for a bar, cheap enough for any length


def tracked(
    items: Iterable[T], stage: str, progress: Progress | None, total: int | None = None
) -> Iterator[T]:
    """``items`` one by one, reporting ``stage`` about STEPS times on the way and at the end;
    ``total`` says how many a stream (which has no length) will give."""
    total = len(items) if total is None else total  # type: ignore[arg-type]
    every = max(1, total // STEPS)
    done = 0
    for done, item in enumerate(items):
        if progress is not None and done % every == 0:
            progress(stage, done, total)
        yield item
    if progress is not None:
        progress(stage, total, total)


def percent_printer(write: Callable[[str], object]) -> Progress:
    """A Progress that writes one line each time a stage passes another tenth."""
    shown: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        tenth = 10 if total == 0 else done * 10 // total
        if shown.get(stage, -1) < tenth:
            shown[stage] = tenth
            write(f"{stage}: {tenth * 10} % ({done} of {total})")

    return report
