"""A job on a thread of its own, which the recorder's supervision starts again if it ends
without being told to (a chair's worker, the central relay)."""

from __future__ import annotations

import threading


class Supervised:
    """Subclasses make their thread (``_new_thread``) and keep it in ``_thread``."""

    _thread: threading.Thread

    def _new_thread(self) -> threading.Thread:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def restart(self) -> None:
        """A new thread for a job whose thread ended although it was not told to stop."""
        self._thread = self._new_thread()
        self._thread.start()
