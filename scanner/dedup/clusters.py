"""`provenance dedup`: exact duplicates, then MinHash + LSH near-duplicate clusters in the store.

Signatures are stored, so a later run only computes those of new documents; the band join runs in
DuckDB and connected components in scipy, both over all signatures (cheap next to hashing).
Results are deterministic: cluster ids are the smallest member id, and the representative is the
member with the most tokens, then the earliest fetched, then the smallest id.

On one machine the steps are pipelined so that little is left once the last signature is in:
while the lanes (the worker processes, and this one between its writes) hash batch k+1
(signatures and band keys), the coordinator stores batch k's signatures and writes its band rows,
sorted by key, as an Arrow IPC file, and the exact clusters are written while the first batch is hashed. What
remains is the band join over those files, the components and the cluster rows, all over integer
document numbers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scanner.dedup.buckets import BandFiles
from scanner.dedup.lsh import band_rows, bands_for
from scanner.dedup.minhash import (
    NUM_PERM,
    SEED,
    SHINGLE_WORDS,
    SignatureParams,
    Signed,
    estimated_jaccard,
    start_signatures,
)
from scanner.dedup.signature_file import SignatureFile
from scanner.dedup.workers import SignaturePool, signature_pool
from scanner.store import Store, dedup_work, reports

BATCH = 10_000  # documents hashed and stored per step (about 30 MB of text)
FIRST_ROWS = 2048  # the first step's documents, read from a store holding its lock: the lanes start on them at
# once (reading a whole BATCH first left both cores idle for 0.16 s; 2048 rows, one DuckDB vector, take 0.06 s)
AHEAD = 2  # batches submitted to the workers beyond the one being stored: they never wait for the store
STORE_ROWS = 100_000  # signatures stored per transaction in a lock-free store: each of its commits reopens and
# checkpoints the file, which at 10M documents cost more than hashing a batch of BATCH (about 50 MB held). A store
# holding its lock commits each batch as it comes: cheap, and done while the workers hash, not after the last batch
STREAM_ROWS = 65_536  # signatures, edges or members read back per step (about 35 MB at 128 permutations)
SOURCE_REMOVED_WARN_PCT = 50.0  # a source losing more than this to dedup is worth a look (curated sources)


def dedup(
    store: Store,
    *,
    threshold: float = 0.8,
    num_perm: int = NUM_PERM,
    seed: int = SEED,
    n: int = SHINGLE_WORDS,
    verify: bool = True,
    profile: str = "fast",
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """`workers`: processes hashing signatures here, or the CPUs of a local Ray cluster.
    The store's memory bound (`Store.open(memory=...)`, e.g. 4GB) bounds DuckDB (edges, members,
    representatives), which spills past it to its temp directory; the local band join holds one
    partition of at most `buckets.PARTITION_ROWS` band rows."""
    run_id = store.start_run(
        "dedup", {"threshold": threshold, "num_perm": num_perm, "seed": seed, "words": n, "profile": profile}
    )
    spec = SignatureParams(num_perm, seed, n, profile)
    b, r = bands_for(threshold, num_perm)
    min_sim = threshold if verify else 0.0
    exact: dict[str, int] = {}

    def write_exact() -> None:
        with store.pinned():
            exact.update(dedup_work.write_exact_clusters(store, run_id))

    with dedup_work.band_folder(store) as folder:
        sigs = SignatureFile(folder / "signatures.u32", num_perm)
        if engine == "ray":
            from scanner.dedup.ray_engine import bands_on_ray

            with bands_on_ray(store, spec, (b, r), address=address, workers=workers, progress=progress) as staged:
                computed, partitions = staged  # band rows already partitioned by the tasks
                write_exact()
                fill = partial(_edges_from_partitions, store, spec, partitions, sigs)
                near, removed = _clusters(store, fill, sigs, min_sim, run_id)
        else:
            texts, signed = dedup_work.signature_counts(store, spec.key)
            files = BandFiles(folder, b * texts)
            pool = signature_pool(workers or 1) if texts - signed >= BATCH else None  # starts while the texts are read
            computed = _local_signatures(store, spec, (b, r), files, sigs, pool, progress, write_exact)
            if not exact:  # nothing to hash
                write_exact()
            unbanded = bool(signed) or not store.hold_lock  # signatures this run did not hash may exist
            fill = partial(_edges_from_files, store, spec, (b, r), files, sigs, computed, unbanded)
            near, removed = _clusters(store, fill, sigs, min_sim, run_id)
    stats = {
        "signatures_computed": computed,
        "documents": near.pop("documents"),
        "bands": b,
        "rows": r,
        "threshold": threshold,
        "exact_clusters": exact["clusters"],
        "exact_duplicates": exact["duplicates"],
        **near,
        "removed_by_source": removed,
    }
    warnings = [
        {"source_id": s["source_id"], "warning": f"dedup marks {s['removed_pct']}% of the source's documents as copies"}
        for s in removed
        if s["documents"] and s["removed_pct"] > SOURCE_REMOVED_WARN_PCT
    ]
    store.finish_run(run_id, "ok", stats, warnings)
    return stats | {"warnings": warnings}


def _clusters(
    store: Store, fill: Callable[[], int], sigs: SignatureFile, min_sim: float, run_id: str
) -> tuple[dict, list]:
    """Near-duplicate clusters from the star edges `fill` writes (and the signatures it numbers
    into `sigs`), and the share removed per source."""
    with store.pinned():  # one connection: the scratch database lives on it
        near = _near(store, fill, sigs, min_sim, run_id)
        removed = dedup_work.removed_by_source(store)
    return near, removed


def _local_signatures(
    store: Store,
    spec: SignatureParams,
    bands: tuple[int, int],
    files: BandFiles,
    sigs: SignatureFile,
    pool: SignaturePool | None,
    progress: Callable[[int, int], None] | None,
    meanwhile: Callable[[], None],
) -> int:
    """Hash the documents lacking a signature (in `pool`'s workers, or here), store the signatures
    and write them into `sigs` and their band rows into `files`, numbering the documents 0, 1, ...
    as they come;
    `meanwhile` runs once, while the first batch is hashed. Returns how many were hashed. The
    pool is shut down at the end."""
    computed = 0
    pending: deque[tuple[pa.ChunkedArray, int, Callable[[], Signed]]] = deque()  # hashed while we write
    unstored: list[pa.Table] = []

    def store_signatures() -> None:
        store.write_dedup_signatures(pa.concat_tables(unstored))
        unstored.clear()

    def write_oldest() -> None:
        doc_ids, first, started = pending.popleft()
        signed = started()
        unstored.append(signature_rows(doc_ids, signed.signatures, spec.key))
        if store.hold_lock or sum(t.num_rows for t in unstored) >= STORE_ROWS:
            store_signatures()
        docs = np.arange(first, first + len(doc_ids), dtype=np.int64)
        sigs.append(first, signed.signatures)
        files.write(first, doc_ids, band_rows(signed.signatures, docs, *bands, keys=signed.keys))
        if progress:
            progress(len(doc_ids), 0)

    try:
        first = FIRST_ROWS if store.hold_lock else BATCH  # lock-free, each page is a query: not smaller ones
        for batch in _ramped(reports.signatures_missing(store, spec.key, first), BATCH):
            started = start_signatures(batch.column("text"), spec, pool, bands)
            pending.append((batch.column("doc_id"), computed, started))
            computed += batch.num_rows
            if computed == batch.num_rows:
                meanwhile()
            if len(pending) > (AHEAD if pool else 1):
                write_oldest()
        while pending:
            write_oldest()
        if unstored:
            store_signatures()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return computed


def _ramped(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """The first batch as it comes, then the batches grouped into tables of at least `rows` rows
    (their buffers shared, not copied)."""
    held: list[pa.RecordBatch] = []
    count = 0
    for i, batch in enumerate(batches):
        held.append(batch)
        count += batch.num_rows
        if i == 0 or count >= rows:
            yield pa.Table.from_batches(held)
            held, count = [], 0
    if held:
        yield pa.Table.from_batches(held)


def signature_rows(doc_ids: pa.Array | pa.ChunkedArray, sigs: np.ndarray, params: str) -> pa.Table:
    """`dedup_signatures` rows: each signature as one blob of little-endian uint32 values, the
    blobs laid over the matrix's own buffer (no copy per blob, nor of the matrix on a
    little-endian machine)."""
    flat = np.ascontiguousarray(sigs, dtype="<u4")
    width = 4 * flat.shape[1]
    if len(flat) * width >= 2**31:  # beyond 32-bit offsets: the copying cast
        blobs: pa.Array = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), len(flat), [None, pa.py_buffer(flat)]
        ).cast(pa.large_binary())
    else:
        offsets = np.arange(0, (len(flat) + 1) * width, width, dtype=np.int32)
        blobs = pa.Array.from_buffers(pa.binary(), len(flat), [None, pa.py_buffer(offsets), pa.py_buffer(flat)])
    return pa.table({"doc_id": doc_ids, "params": pa.repeat(params, len(sigs)), "signature": blobs})


def signature_matrix(blobs: pa.ChunkedArray | pa.Array, num_perm: int) -> np.ndarray:
    """Stored signature blobs (each num_perm little-endian uint32) as one matrix, without copying
    each blob through Python."""
    if len(blobs) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    if isinstance(blobs, pa.ChunkedArray):
        blobs = blobs.combine_chunks()
    offsets = np.frombuffer(blobs.buffers()[1], dtype=np.int32)[blobs.offset : blobs.offset + len(blobs) + 1]
    data = np.frombuffer(blobs.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].view("<u4").reshape(len(blobs), num_perm).astype(np.uint32)


def _edges_from_files(
    store: Store,
    spec: SignatureParams,
    bands: tuple[int, int],
    files: BandFiles,
    sigs: SignatureFile,
    computed: int,
    unbanded: bool,
) -> int:
    """Star edges of every stored signature (one machine): the band rows the pipeline wrote, and
    those of signatures stored before this run or by another process meanwhile (banded here; not
    looked for when `unbanded` is false: a store holding its lock that had none), joined partition
    by partition."""
    documents = dedup_work.add_index(store, files.docs)
    if documents != computed:
        raise RuntimeError(f"{files.folder}: {documents} documents numbered, {computed} hashed")
    stored = []
    for batch in dedup_work.signatures_unbanded(store, spec.key, STREAM_ROWS) if unbanded else ():
        matrix = signature_matrix(batch.column(1), spec.num_perm)
        docs = np.arange(documents, documents + len(matrix), dtype=np.int64)
        sigs.append(documents, matrix)
        stored.append(files.write(documents, batch.column(0), band_rows(matrix, docs, *bands)))
        documents += len(matrix)
    if stored:
        dedup_work.add_index(store, stored)
    for root, doc in files.star_edges(partial(dedup_work.by_doc_id, store)):
        dedup_work.add_edges(store, pa.table({"root": root, "doc": doc}))
    return documents


def _edges_from_partitions(store: Store, spec: SignatureParams, partitions: list[str], sigs: SignatureFile) -> int:
    """Star edges from the shards the Ray tasks wrote, one per band-row partition they grouped;
    the stored signatures into `sigs` in the order they are numbered (doc_id order)."""
    documents = dedup_work.index_signatures(store, spec.key)
    for batch in dedup_work.numbered_signatures(store, spec.key, STREAM_ROWS):  # a gap fails here or below
        sigs.append(int(batch.column(0)[0].as_py()), signature_matrix(batch.column(1), spec.num_perm))
    if sigs.rows != documents:
        raise RuntimeError(f"{sigs.path}: {sigs.rows} signatures for {documents} numbered documents")
    for shard in partitions:
        dedup_work.add_edge_shard(store, shard)
    return documents


def _near(store: Store, fill: Callable[[], int], sigs: SignatureFile, min_sim: float, run_id: str) -> dict:
    """Near-duplicate clusters in flat memory: band rows and star edges are grouped by DuckDB
    (spilling past its memory limit); Python holds only the kept edges and their components, and
    reads signatures by document number from `sigs` one batch at a time."""
    with dedup_work.scratch(store):
        documents = fill()
        src, dst, candidates = _kept_edges(store, sigs, min_sim)
        clear = {"documents": documents, "minhash_clusters": 0, "near_duplicates": 0, "candidate_pairs": candidates}
        if len(src) == 0:
            with store.transaction():
                dedup_work.clear_clusters(store, "minhash")
            return clear
        nodes, compact = np.unique(np.concatenate([src, dst]), return_inverse=True)
        graph = coo_matrix((np.ones(len(src)), (compact[: len(src)], compact[len(src) :])), shape=(len(nodes),) * 2)
        _, labels = connected_components(graph, directed=False)
        dedup_work.add_members(store, pa.table({"doc": nodes, "label": labels.astype(np.int64)}))
        for batch in dedup_work.assigned_members(store, STREAM_ROWS):
            doc, rep = batch.column("doc").to_numpy(), batch.column("rep_doc").to_numpy()
            dedup_work.add_similarities(
                store,
                pa.table(
                    {
                        "doc_id": batch.column("doc_id"),
                        "cluster_id": batch.column("cluster_id"),
                        "is_representative": pa.array(doc == rep),
                        "similarity": pa.array(estimated_jaccard(sigs.take(doc), sigs.take(rep)), pa.float64()),
                    }
                ),
            )
        with store.transaction():  # the old clusters replaced at once, by DuckDB from the scratch table
            dedup_work.replace_clusters(store, "minhash", run_id)
    counts = dedup_work.cluster_counts(store, "minhash")
    return clear | {"minhash_clusters": counts["clusters"], "near_duplicates": counts["duplicates"]}


def _kept_edges(store: Store, sigs: SignatureFile, min_sim: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Candidate edges whose estimated similarity reaches the threshold, read batch by batch
    (without a threshold every edge is kept: no signature is read)."""
    src, dst, candidates = [], [], 0
    for batch in dedup_work.edges(store, STREAM_ROWS):
        root, doc = batch.column(0).to_numpy(), batch.column(1).to_numpy()
        if min_sim > 0:
            ok = estimated_jaccard(sigs.take(root), sigs.take(doc)) >= min_sim
            root, doc = root[ok], doc[ok]
        src.append(root)
        dst.append(doc)
        candidates += batch.num_rows
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(src) if src else empty), (np.concatenate(dst) if dst else empty), candidates
