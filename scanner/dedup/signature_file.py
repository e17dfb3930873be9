"""The run's signatures by document number, in one raw file beside the band rows.

The checks after the band join (an edge's similarity, a member's similarity to its
representative) need the signatures of documents known by their number. Read from the store,
each was a DuckDB join of the numbers to `doc_id` and of those to the stored signatures, run
after the last signature, one thread per statement. Here the signatures are appended in number
order as the batches come, and gathered by number from a memory map: one numpy take.

A take maps the file for one chunk of rows at a time, so the pages it touches (one per row at
worst, at any corpus size) leave the process's memory with the chunk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TAKE_ROWS = 8192  # rows gathered per mapping: at most this many pages (32 MiB) resident at once


class SignatureFile:
    """(documents, num_perm) little-endian uint32, row i the signature of document number i."""

    def __init__(self, path: Path, num_perm: int) -> None:
        self.path = path
        self.num_perm = num_perm
        self.rows = 0
        path.write_bytes(b"")

    def append(self, first: int, signatures: np.ndarray) -> None:
        """The signatures of documents first, first + 1, ... (numbers are given in order, once)."""
        if first != self.rows:
            raise ValueError(f"{self.path}: signatures of document {first} appended after {self.rows} rows")
        if signatures.shape[1:] != (self.num_perm,):
            raise ValueError(f"{self.path}: signatures of {signatures.shape[1:]} values, not ({self.num_perm},)")
        with self.path.open("ab") as out:
            out.write(np.ascontiguousarray(signatures, dtype="<u4").data)
        self.rows += len(signatures)

    def take(self, docs: np.ndarray) -> np.ndarray:
        """The signatures of these document numbers, in their order, as one (len, num_perm) matrix."""
        out = np.empty((len(docs), self.num_perm), dtype="<u4")
        if len(docs) == 0:
            return out.astype(np.uint32, copy=False)
        if int(docs.min()) < 0 or int(docs.max()) >= self.rows:
            raise IndexError(f"{self.path}: document numbers outside 0..{self.rows - 1}")
        for lo in range(0, len(docs), TAKE_ROWS):
            part = docs[lo : lo + TAKE_ROWS]
            rows = np.memmap(self.path, dtype="<u4", mode="r", shape=(self.rows, self.num_perm))
            np.take(rows, part, axis=0, out=out[lo : lo + len(part)])
            del rows  # unmapped: the touched pages leave this process
        return out.astype(np.uint32, copy=False)
