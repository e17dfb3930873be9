"""provenance-scanner: training-data provenance, opt-out evidence and the EU public summary."""

from scanner.store import Store
from scanner.version import __version__

__all__ = ["Store", "__version__"]
