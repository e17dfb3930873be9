"""provenance-scanner: training-data provenance, opt-out evidence and the EU public summary.

from scanner import Store, check
store = Store.open("provenance.duckdb")
check("https://example.com/a", agent="GPTBot", store=store, as_of=...).verdict

The package namespace is lazy (PEP 562): `import scanner.signals.robots` imports a parser and
nothing heavy, while `scanner.check` and `scanner.Store` load the API and DuckDB on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from scanner.version import __version__

if TYPE_CHECKING:
    from scanner import api
    from scanner.api import check
    from scanner.store import Store

__all__ = ["Store", "__version__", "api", "check"]

_LAZY = {"api": ("scanner.api", None), "check": ("scanner.api", "check"), "Store": ("scanner.store", "Store")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'scanner' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    return value if attr is None else getattr(value, attr)
