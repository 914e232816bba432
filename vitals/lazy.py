"""Heavy libraries loaded when first used, not when the module naming them is imported.

The recorder imports the store, the alert engine and the command line, whose modules also
serve the dashboard, the exports and the PDF reports with pandas, numpy, fpdf and apprise.
Importing those costs about a second of CPU at every start, before the first port opens,
for code the recorder never runs (or runs only when it forwards an alarm). A module names a
heavy library as ``pd = lazy("pandas")`` and uses it as usual; the import happens at the
first attribute looked up, under Python's import lock, so threads that race to it see one
fully imported module. ``tests/service/test_lean_start.py`` keeps the recorder's start free
of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module until an attribute of it is first wanted."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._loaded: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        # only called for what this stand-in does not have itself: the module's names
        if self._loaded is None:
            self._loaded = importlib.import_module(self.__name__)
        return getattr(self._loaded, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it at its first use (typed as Any, as the
    module's own names are known to a reader only once imported)."""
    return _LazyModule(name)
