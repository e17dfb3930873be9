"""Which incoming keys a table may already hold, answered in memory, so a write does not grow with
the table.

Since schema v12 the tables ingest fills have no ART index (its upkeep grew with the table), and
an anti-join against the whole table scans every stored key: 1.2 s per batch at 10M documents.
The writer instead keeps the 64-bit DuckDB `hash()` of every stored key, sorted, plus the keys it
wrote since, as a few sorted runs. A batch's keys are looked up there; only the rows it flags (a
key seen before, or a hash collision) go to the exact anti-join, and then only against those keys.
The filter is rebuilt when the table's row count is not the one it expects (another process wrote,
a transaction rolled back): one scan, never a wrong answer. Memory: 8 bytes per stored row.

The recent keys are NumPy runs, not a Python set: a set cost a Python step per key on every
lookup and insert (52 CPU-ms per 100k keys looked up and added in batches of 10,000, against 26
for the runs). Runs of equal length are merged as in a binary counter, so a key is copied O(log n)
times however small the batches, and folded into the sorted array once the runs reach 1/32 of it
(so that copy, too, costs a constant per key).
"""

from __future__ import annotations

import numpy as np

_FOLD_AT = 1 << 18  # recent keys held in runs at least this many before folding


class KeyFilter:
    """The hashes of a table's keys as of `rows` rows."""

    def __init__(self, hashes: np.ndarray, rows: int) -> None:
        self._sorted = np.sort(hashes.astype(np.uint64, copy=False))
        self._recent: list[np.ndarray] = []  # sorted runs, longest first: at most log2(recent) of them
        self.rows = rows

    @property
    def nbytes(self) -> int:
        """What the filter holds: the sorted hashes and the recent runs."""
        return int(self._sorted.nbytes) + sum(int(run.nbytes) for run in self._recent)

    def maybe_present(self, hashes: np.ndarray) -> np.ndarray:
        """A mask of the hashes that may be stored already (exact for absent ones: no false 'new')."""
        hashes = hashes.astype(np.uint64, copy=False)
        hit = _found(self._sorted, hashes)
        for run in self._recent:
            hit |= _found(run, hashes)
        return hit

    def add(self, hashes: np.ndarray, rows: int) -> None:
        """Remember keys just written; the table now holds `rows` rows."""
        self.rows = rows
        run = np.sort(hashes.astype(np.uint64, copy=False))
        if not len(run):
            return
        while self._recent and len(self._recent[-1]) <= len(run):
            run = _merged(self._recent.pop(), run)
        self._recent.append(run)
        if sum(len(r) for r in self._recent) >= max(_FOLD_AT, len(self._sorted) >> 5):
            new = np.sort(np.concatenate(self._recent))
            self._sorted = _merged(self._sorted, new)
            self._recent.clear()


def _found(ordered: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    if not len(ordered):
        return np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(ordered, hashes), len(ordered) - 1)
    return ordered[at] == hashes


def _merged(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted arrays as one (one pass: `b` inserted where it sorts)."""
    return np.insert(a, np.searchsorted(a, b), b)
