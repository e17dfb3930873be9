"""The band join on one machine: band rows kept on disk in Arrow IPC files, shared buckets found by sorting.

Each batch of signatures leaves two files in a folder beside the store: its document numbers
(doc, doc_id) as Parquet, which DuckDB reads, and its band rows (band, key, doc) as an Arrow IPC
file, the rows split by the top bits of the key into `partitions` record batches. Band rows are
read once, by this module, from a memory map: IPC costs a quarter of Parquet's CPU to write and
about half to read back (13 against 60 ms, 14 against 24–47 ms per 100k documents). Every row of
a key is in the same partition, so the partitions are joined one at a time, each in memory (at
most about `PARTITION_ROWS` rows, however large the corpus), by one numpy sort: about a third of
the CPU of DuckDB's GROUP BY and join back over the same rows (0.16 against 0.5 CPU-s per 100k
documents; the sort alone is ~15× cheaper than the hash aggregate). Each file's rows are sorted by
key as they are written, while the lanes hash the next batch, so that sort, left for after the last
signature, only merges sorted runs (a fifth of its cost).
Only the star edges of buckets shared by two documents or more leave this module: each bucket's
root is its member with the smallest `doc_id`, as in one GROUP BY over documents numbered in
`doc_id` order (DuckDB orders the members' ids; the numbers themselves follow the hashing).

Writing files needs no connection, so a store opened with `hold_lock=False` stays free for other
processes while the signatures are hashed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PARTITION_ROWS = 1 << 23  # band rows sorted at once: about 300 MB with their numbers and the sort
_PLAIN = {"compression": "none", "use_dictionary": False, "write_statistics": False}  # read once: a fifth of the CPU


class BandFiles:
    """The band rows and document numbers of one run, in `folder`."""

    def __init__(self, folder: Path, expected_rows: int) -> None:
        self.folder = folder
        self.bits = 0  # partitions = 2**bits, enough that each holds about PARTITION_ROWS rows at most
        while expected_rows > (PARTITION_ROWS << self.bits):
            self.bits += 1
        self.bands: list[Path] = []
        self.docs: list[Path] = []

    @property
    def partitions(self) -> int:
        return 1 << self.bits

    def write(self, first: int, doc_ids: pa.ChunkedArray | pa.Array, rows: pa.Table) -> Path:
        """One batch: its document numbers (first, first + 1, ...) and its (band, key, doc) rows,
        one record batch per partition, sorted by key. Returns the file of document numbers."""
        docs = self.folder / f"docs-{first:012d}.parquet"
        numbers = np.arange(first, first + len(doc_ids), dtype=np.int64)
        pq.write_table(pa.table({"doc": numbers, "doc_id": doc_ids}), docs, **_PLAIN)
        bands = self.folder / f"bands-{first:012d}.arrow"
        columns = {name: rows.column(name).to_numpy() for name in ("band", "key", "doc")}
        order = np.argsort(columns["key"])  # by key, so by partition too: each batch a sorted run for the join
        columns = {name: values[order] for name, values in columns.items()}
        cuts = np.searchsorted(self._partition(columns["key"]), np.arange(self.partitions + 1, dtype=np.uint64))
        with pa.OSFile(str(bands), "wb") as sink, pa.ipc.new_file(sink, pa.record_batch(columns).schema) as writer:
            for lo, hi in pairwise(cuts):  # an empty partition is an empty batch: batch p is partition p
                writer.write_batch(pa.record_batch({name: values[lo:hi] for name, values in columns.items()}))
        self.docs.append(docs)
        self.bands.append(bands)
        return docs

    def _partition(self, keys: np.ndarray) -> np.ndarray:
        if not self.bits:
            return np.zeros(len(keys), dtype=np.uint64)
        return keys >> np.uint64(64 - self.bits)

    def star_edges(self, by_doc_id: Callable[[np.ndarray], np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per partition, the distinct (root, doc) star edges of its shared buckets; `by_doc_id`
        puts unique document numbers in the order of their doc_id."""
        if not self.bands:
            return
        for p in range(self.partitions):
            parts = [pa.ipc.open_file(pa.memory_map(str(path))).get_batch(p) for path in self.bands]
            band, key, doc = (np.concatenate([part[c].to_numpy() for part in parts]) for c in ("band", "key", "doc"))
            bucket, doc = shared_buckets(band, key, doc)
            if len(bucket):
                yield star_edges(bucket, doc, by_doc_id)


def star_edges(
    bucket: np.ndarray, doc: np.ndarray, by_doc_id: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (root, doc) edges, root -> every other member, of buckets given as rows sorted by
    bucket; a bucket's root is the member that `by_doc_id` puts first."""
    members, which = np.unique(doc, return_inverse=True)
    ordered = by_doc_id(members)  # the members, smallest doc_id first
    rank = np.empty(len(members), dtype=np.int64)
    rank[np.searchsorted(members, ordered)] = np.arange(len(ordered))
    member_rank = rank[which]
    opens = np.r_[True, bucket[1:] != bucket[:-1]]
    root = ordered[np.minimum.reduceat(member_rank, np.flatnonzero(opens))][np.cumsum(opens) - 1]
    keep = doc != root
    root, doc = root[keep], doc[keep]
    if len(doc) and max(int(root.max()), int(doc.max())) < 1 << 31:  # one sortable word per edge
        pairs = np.unique((root << 32) | doc)
        return pairs >> 32, pairs & ((1 << 32) - 1)
    order = np.lexsort((doc, root))
    root, doc = root[order], doc[order]
    first = np.r_[True, (root[1:] != root[:-1]) | (doc[1:] != doc[:-1])]
    return root[first], doc[first]


def shared_buckets(band: np.ndarray, key: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bucket, doc) of the rows whose (band, key) occurs twice or more, buckets numbered 0, 1, ...

    One sort of 64-bit words: the key's top bits with the row number in the low bits (runs of rows
    sorted by key stay sorted runs of words, which the sort merges). Equal
    prefixes find the few candidate rows (every shared key, and rare prefix collisions); those
    alone are then grouped exactly by (key, band)."""
    n = len(key)
    low = max(1, int(n - 1).bit_length())  # bits for the row number
    packed = (key & ~np.uint64((1 << low) - 1)) | np.arange(n, dtype=np.uint64)
    packed.sort(kind="stable")  # a merge of sorted runs when the rows come as runs sorted by key (BandFiles):
    # 1.6M rows in 11 runs sort in 19 against 96 ms; rows in no order cost about what quicksort does (107 ms)
    prefix = packed >> np.uint64(low)
    same = prefix[1:] == prefix[:-1]
    candidate = np.zeros(n, dtype=bool)
    candidate[1:] |= same
    candidate[:-1] |= same
    rows = (packed[candidate] & np.uint64((1 << low) - 1)).astype(np.int64)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k, b = key[rows], band[rows]
    order = np.argsort(k, kind="stable")  # sorted already but where two keys share a prefix: near-linear
    k, b = k[order], b[order]
    if ((k[1:] == k[:-1]) & (b[1:] != b[:-1])).any():  # one key in two bands (a 64-bit collision): by both
        order = order[np.lexsort((b, k))]
        k, b = key[rows[order]], band[rows[order]]
    rows = rows[order]
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = (k[1:] != k[:-1]) | (b[1:] != b[:-1])
    group = np.cumsum(starts) - 1
    sizes = np.bincount(group)
    keep = sizes[group] > 1
    kept_groups = group[keep]  # ascending: renumbered 0, 1, ... without a sort
    bucket = np.cumsum(np.r_[False, kept_groups[1:] != kept_groups[:-1]]) if len(kept_groups) else kept_groups
    return bucket.astype(np.int64), doc[rows[keep]].astype(np.int64)
