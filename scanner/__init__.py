"""provenance-scanner: training-data provenance, opt-out evidence and the EU public summary.

from scanner import Store, check
store = Store.open("provenance.duckdb")
check("https://example.com/a", agent="GPTBot", store=store, as_of=...).verdict
"""

from scanner import api
from scanner.api import check
from scanner.store import Store
from scanner.version import __version__

__all__ = ["Store", "__version__", "api", "check"]
