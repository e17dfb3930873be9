"""Which incoming keys a table may already hold, answered in memory, so a write does not grow with
the table.

Since schema v12 the tables ingest fills have no ART index (its upkeep grew with the table), and
an anti-join against the whole table scans every stored key: 1.2 s per batch at 10M documents.
The writer instead keeps the 64-bit DuckDB `hash()` of every stored key, sorted, plus the keys it
wrote since (a set, folded in when it reaches 1/32 of the sorted array, so the copy costs a
constant per row). A batch's keys are looked up there; only the rows it flags (a key seen before,
or a hash collision) go to the exact anti-join, and then only against those keys. The filter is
rebuilt when the table's row count is not the one it expects (another process wrote, a
transaction rolled back): one scan, never a wrong answer. Memory: 8 bytes per stored row.
"""

from __future__ import annotations

import sys

import numpy as np

_FOLD_AT = 1 << 18  # recent keys held in a set at least this many before folding


class KeyFilter:
    """The hashes of a table's keys as of `rows` rows."""

    def __init__(self, hashes: np.ndarray, rows: int) -> None:
        self._sorted = np.sort(hashes.astype(np.uint64, copy=False))
        self._recent: set[int] = set()
        self.rows = rows

    @property
    def nbytes(self) -> int:
        """What the filter holds: the sorted hashes, and the recent set (an int object and a slot
        per key, about 36 + 16 bytes, until it is folded in)."""
        return int(self._sorted.nbytes) + sys.getsizeof(self._recent) + 36 * len(self._recent)

    def maybe_present(self, hashes: np.ndarray) -> np.ndarray:
        """A mask of the hashes that may be stored already (exact for absent ones: no false 'new')."""
        hit = np.zeros(len(hashes), dtype=bool)
        if len(self._sorted):
            at = np.minimum(np.searchsorted(self._sorted, hashes), len(self._sorted) - 1)
            hit = self._sorted[at] == hashes
        if self._recent:
            hit |= np.fromiter((int(h) in self._recent for h in hashes), dtype=bool, count=len(hashes))
        return hit

    def add(self, hashes: np.ndarray, rows: int) -> None:
        """Remember keys just written; the table now holds `rows` rows."""
        self._recent.update(hashes.tolist())
        self.rows = rows
        if len(self._recent) >= max(_FOLD_AT, len(self._sorted) >> 5):
            new = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            new.sort()
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)
            self._recent.clear()
