"""The SQL of streaming near-duplicate detection: band rows, star edges, members, representatives.

Every step runs in DuckDB over temporary tables, so it spills to the temp directory rather than
holding the corpus in Python: the band rows (16 per document at the default 0.8 threshold) and
the star edges are grouped by DuckDB, and only the candidate edges, far fewer than documents, come
back to Python. Documents are numbered (`doc`) as they are hashed; a bucket's root is its member
with the smallest `doc_id`, so the edges and the clusters are the same whatever the numbering.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa

from scanner.store.store import Store


@contextmanager
def scratch(store: Store) -> Iterator[None]:
    """Work tables for one dedup run in an attached in-memory database (every cursor of the
    connection sees them; gone when detached, so band rows never grow the store). In memory, not
    a file: a file's tables were checkpointed to disk as they grew, work nobody reads back; past
    the store's memory limit DuckDB spills these to its temp directory instead."""
    store.query("ATTACH ':memory:' AS dedup_scratch")
    try:
        store.query("CREATE TABLE dedup_scratch.idx (doc BIGINT, doc_id VARCHAR)")
        store.query("CREATE TABLE dedup_scratch.edges (root BIGINT, doc BIGINT)")
        store.query("CREATE TABLE dedup_scratch.members (doc BIGINT, label BIGINT)")
        store.query(
            "CREATE TABLE dedup_scratch.similar "
            "(doc_id VARCHAR, cluster_id VARCHAR, is_representative BOOLEAN, similarity DOUBLE)"
        )
        yield
    finally:
        store.query("DETACH dedup_scratch")


@contextmanager
def band_folder(store: Store) -> Iterator[Path]:
    """A folder beside the store for the band rows and document numbers the signature pipeline
    writes (`scanner.dedup.buckets`); removed afterwards."""
    if store.path == ":memory:":
        folder = Path(tempfile.mkdtemp(prefix="dedup-bands-"))
    else:
        folder = Path(f"{store.path}.dedup-bands")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def signature_counts(store: Store, params: str) -> tuple[int, int]:
    """(documents with a text, signatures stored under these parameters): at most the first many
    signatures in all, and about their difference still to hash."""
    row = store.query(
        """SELECT (SELECT count(*) FROM documents WHERE text_sha256 IS NOT NULL) AS texts,
                  (SELECT count(*) FROM dedup_signatures WHERE params = ?) AS signed""",
        [params],
    ).to_pylist()[0]
    return int(row["texts"]), int(row["signed"])


def add_index(store: Store, files: list[Path]) -> int:
    """Document numbers (doc, doc_id) from Parquet files into the scratch index; returns how many
    documents the index holds."""
    if files:
        store.query("INSERT INTO dedup_scratch.idx SELECT doc, doc_id FROM read_parquet(?)", [[str(f) for f in files]])
    return int(store.query("SELECT count(*) AS n FROM dedup_scratch.idx").to_pylist()[0]["n"])


def by_doc_id(store: Store, docs: np.ndarray) -> np.ndarray:
    """The given document numbers, in the order of their doc_id."""
    with store.temporary("_docs", pa.table({"doc": docs})):
        order = store.query(
            "SELECT i.doc FROM dedup_scratch.idx i SEMI JOIN _docs d ON d.doc = i.doc ORDER BY i.doc_id"
        )
    return order.column(0).to_numpy()


def add_edges(store: Store, edges: pa.Table) -> None:
    with store.temporary("_edges", edges):
        store.query("INSERT INTO dedup_scratch.edges SELECT root, doc FROM _edges")


def signatures_unbanded(store: Store, params: str, rows: int) -> Iterator[pa.RecordBatch]:
    """(doc_id, signature) of the documents hashed with these parameters but not numbered in this
    run (stored by an earlier run, or by another process meanwhile)."""
    return store.stream(
        """SELECT doc_id, signature FROM dedup_signatures
           WHERE params = ? AND doc_id NOT IN (SELECT doc_id FROM dedup_scratch.idx)""",
        [params],
        rows,
    )


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def signature_stream(store: Store, params: str, rows: int) -> Iterator[pa.RecordBatch]:
    """(doc_id, signature) of every document hashed with these parameters, in doc_id order."""
    return store.stream(
        "SELECT doc_id, signature FROM dedup_signatures WHERE params = ? ORDER BY doc_id", [params], rows
    )


def index_signatures(store: Store, params: str) -> int:
    """Number every document hashed with these parameters in doc_id order, as the one-machine
    path does while it streams them; returns how many there are."""
    store.query(
        """INSERT INTO dedup_scratch.idx
           SELECT row_number() OVER (ORDER BY doc_id) - 1, doc_id FROM dedup_signatures WHERE params = ?""",
        [params],
    )
    return int(store.query("SELECT count(*) AS n FROM dedup_scratch.idx").to_pylist()[0]["n"])


def numbered_signatures(store: Store, params: str, rows: int) -> Iterator[pa.RecordBatch]:
    """(doc, signature) of the documents the scratch index numbers, in number order: read
    through the index, so a signature another process stores meanwhile is not among them."""
    return store.stream(
        """SELECT i.doc, s.signature FROM dedup_scratch.idx i
           JOIN dedup_signatures s ON s.doc_id = i.doc_id AND s.params = ? ORDER BY i.doc""",
        [params],
        rows,
    )


EDGE_SCHEMA = pa.schema([("root", pa.string()), ("doc_id", pa.string())])  # a partition's star edges


def partition_star_edges(rows_glob: str, out_path: str, temp_directory: str) -> int:
    """Star edges (root doc_id, doc_id) of one partition of (band, key, doc_id) Parquet rows,
    grouped by an in-memory DuckDB of one thread and written to `out_path` as Parquet; returns
    the edge count. For a Ray task: it reads only the partition's files, never the store. Every
    row of a band key is in the same partition, so grouping it alone finds all of that key's
    buckets; the root is the bucket's smallest doc_id, which is its smallest document number on
    the coordinator, so the edges are those of the one-machine path."""
    import duckdb
    import pyarrow.parquet as pq

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 1")  # a task holds one CPU of its node
        con.execute(f"SET temp_directory = '{_quoted(temp_directory)}'")  # a large partition spills
        rel = con.sql(
            """WITH rows AS (SELECT band, key, doc_id FROM read_parquet(?)),
                    shared AS (SELECT band, key, min(doc_id) AS root FROM rows
                               GROUP BY band, key HAVING count(*) > 1)
               SELECT s.root, k.doc_id FROM rows k JOIN shared s USING (band, key) WHERE k.doc_id <> s.root""",
            params=[rows_glob],
        )
        reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(65_536)
        edges = 0
        with pq.ParquetWriter(out_path, EDGE_SCHEMA) as writer:
            for batch in reader:
                writer.write_batch(batch.cast(EDGE_SCHEMA))
                edges += batch.num_rows
        return edges
    finally:
        con.close()


def add_edge_shard(store: Store, path: str) -> None:
    """A partition's star edges (doc_ids, as its task wrote them) as document numbers."""
    store.query(
        """INSERT INTO dedup_scratch.edges
           SELECT ir.doc, ik.doc FROM read_parquet(?) e
           JOIN dedup_scratch.idx ir ON ir.doc_id = e.root JOIN dedup_scratch.idx ik ON ik.doc_id = e.doc_id""",
        [path],
    )


def edges(store: Store, rows: int) -> Iterator[pa.RecordBatch]:
    """The distinct star edges (root, doc), streamed in no particular order (the components do
    not depend on it)."""
    return store.stream("SELECT DISTINCT root, doc FROM dedup_scratch.edges", None, rows)


def add_members(store: Store, members: pa.Table) -> None:
    with store.temporary("_members", members):
        store.query("INSERT INTO dedup_scratch.members SELECT doc, label FROM _members")


def assigned_members(store: Store, rows: int) -> Iterator[pa.RecordBatch]:
    """Every clustered document (doc, doc_id) with its cluster id (the smallest member id) and its
    representative's number (rep_doc), streamed in no particular order.

    The representative has the most tokens, then was fetched earliest, then has the smallest id
    (stable across runs): the smallest (-tokens, fetched_at or +infinity, doc_id), a plain min
    that DuckDB's hash aggregate spills (an ordered `first(... ORDER BY ...)` buffers every member
    of every cluster). The rows are narrow: the signatures are read by number outside SQL."""
    return store.stream(
        """WITH named AS (
               SELECT m.doc, m.label, i.doc_id, coalesce(d.token_count, 0) AS tokens,
                      coalesce(d.fetched_at, 'infinity'::TIMESTAMPTZ) AS fetched
               FROM dedup_scratch.members m JOIN dedup_scratch.idx i USING (doc)
               LEFT JOIN documents d ON d.doc_id = i.doc_id),
           clusters AS (
               SELECT label, min(doc_id) AS cluster_id,
                      min(struct_pack(t := -tokens, f := fetched, d := doc_id, n := doc)).n AS rep_doc
               FROM named GROUP BY label)
           SELECT n.doc, n.doc_id, c.cluster_id, c.rep_doc FROM named n JOIN clusters c USING (label)""",
        None,
        rows,
    )


def add_similarities(store: Store, rows: pa.Table) -> None:
    """A batch of cluster rows (doc_id, cluster_id, is_representative, similarity) into the scratch
    table, each batch committed on its own: rows that a write transaction on the store referred
    to stayed alive until its commit, and the stream's batches with them (every member's two
    signatures, 4.9 GB at 10M documents under a 2 GB limit)."""
    with store.temporary("_similar", rows):
        store.query("INSERT INTO dedup_scratch.similar BY NAME SELECT * FROM _similar")


def replace_clusters(store: Store, method: str, run_id: str) -> None:
    """The method's clusters replaced by the scratch table's rows (one statement of DuckDB's,
    which spills; inside the caller's transaction)."""
    clear_clusters(store, method)
    store.query(
        """INSERT INTO dup_clusters BY NAME
           SELECT ? AS method, doc_id, cluster_id, is_representative, similarity, ? AS run_id
           FROM dedup_scratch.similar""",
        [method, run_id],
    )


def write_exact_clusters(store: Store, run_id: str) -> dict[str, int]:
    """Documents with identical extracted text, clustered in one statement: the cluster id is the
    smallest member id and the representative is chosen as for near duplicates."""
    with store.transaction():
        store.query("DELETE FROM dup_clusters WHERE method = 'exact'")
        store.query(
            """INSERT INTO dup_clusters BY NAME
               SELECT 'exact' AS method, doc_id,
                      min(doc_id) OVER w AS cluster_id,
                      row_number() OVER (PARTITION BY text_sha256
                          ORDER BY coalesce(token_count, 0) DESC, fetched_at ASC NULLS LAST, doc_id) = 1
                          AS is_representative,
                      1.0 AS similarity, ? AS run_id
               FROM documents
               WHERE text_sha256 IN (SELECT text_sha256 FROM documents WHERE text_sha256 IS NOT NULL
                                     GROUP BY text_sha256 HAVING count(*) > 1)
               WINDOW w AS (PARTITION BY text_sha256)""",
            [run_id],
        )
    return cluster_counts(store, "exact")


def cluster_counts(store: Store, method: str) -> dict[str, int]:
    row = store.query(
        """SELECT count(DISTINCT cluster_id)::BIGINT AS clusters,
                  count(*) FILTER (WHERE NOT is_representative)::BIGINT AS duplicates
           FROM dup_clusters WHERE method = ?""",
        [method],
    ).to_pylist()[0]
    return {"clusters": int(row["clusters"]), "duplicates": int(row["duplicates"])}


def clear_clusters(store: Store, method: str) -> None:
    store.query("DELETE FROM dup_clusters WHERE method = ?", [method])


def removed_by_source(store: Store) -> list[dict]:
    """Per source: documents, and the share that dedup marks as a copy (not representative)."""
    return store.query(
        """SELECT d.source_id, count(*)::BIGINT AS documents,
                  count(*) FILTER (WHERE c.doc_id IS NOT NULL)::BIGINT AS removed,
                  round(100.0 * count(*) FILTER (WHERE c.doc_id IS NOT NULL) / count(*), 1) AS removed_pct
           FROM documents d
           LEFT JOIN (SELECT DISTINCT doc_id FROM dup_clusters WHERE NOT is_representative) c USING (doc_id)
           GROUP BY ALL ORDER BY d.source_id"""
    ).to_pylist()
