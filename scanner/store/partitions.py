"""SQL of `provenance decide --engine ray`: the store cut by origin into Parquet partitions.

Every document with a URL goes to partition `hash(origin) % n`, and with it what its decision can
read (what `EvidenceIndex.load` reads for it): its origin's per-origin files and its URL's own
evidence, with their bytes and the compiled rules of its robots.txt files. Files every partition
may read (RSL documents) and the blocklist are written once, beside the partitions. Each table is
written by one `COPY ... PARTITION_BY` pass, so the export reads the store once however many
partitions there are. A worker loads its partition
into an in-memory store (`load`) and hands back its decisions (`decided_rows`,
`decided_outcomes`); it never opens the store file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from scanner.store.store import TABLE_KEYS, Store

# per partition; with each robots.txt its compiled rules, so a task parses nothing
TABLES = ("documents", "observations", "evidence", "robots_compiled", "robots_compiled_agents", "robots_compiled_rules")
SHARED = ("observations", "evidence", "blocklist")  # read by every partition


def documents_to_place(store: Store, rows: int = 100_000) -> Iterator[pa.RecordBatch]:
    """(doc_id, url) of documents with a URL but no stored origin or domain: their origin comes
    from the URL, in Python (`scanner.urls.split_url`), as the decision itself takes it."""
    return store.stream(
        """SELECT doc_id, url FROM documents
        WHERE url IS NOT NULL AND (origin IS NULL OR registrable_domain IS NULL) ORDER BY doc_id""",
        rows=rows,
    )


def export(
    store: Store,
    folder: Path,
    partitions: int,
    placed: pa.Table,
    origin_kinds: Sequence[str],
    resource_kinds: Sequence[str],
    shared_kinds: Sequence[str],
) -> dict[int, int]:
    """Write `folder/TABLE/part=P/*.parquet` for each of `TABLES` and `folder/shared/TABLE.parquet`
    for each of `SHARED`; returns the documents per (non-empty) partition. `placed`: (doc_id,
    origin) of the documents whose origin the store does not hold (origin NULL: no origin)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = _quoted(str(folder))
    with store.temporary("part_placed", placed):
        store.query(
            """CREATE OR REPLACE TEMP TABLE part_docs AS
            WITH docs AS (
                SELECT d.doc_id, d.url, CASE WHEN p.doc_id IS NULL THEN d.origin ELSE p.origin END AS origin
                FROM documents d LEFT JOIN part_placed p USING (doc_id) WHERE d.url IS NOT NULL)
            SELECT doc_id, url, origin, coalesce(hash(origin) % $n, 0)::INTEGER AS part FROM docs""",
            {"n": partitions},
        )
    try:
        store.query(
            """CREATE OR REPLACE TEMP TABLE part_obs AS
            SELECT p.part, o.obs_id, o.evidence_sha256 FROM observations o
            JOIN (SELECT DISTINCT origin, part FROM part_docs WHERE origin IS NOT NULL) p USING (origin)
            WHERE o.kind IN (SELECT unnest($origin_kinds::VARCHAR[]))
            UNION
            SELECT p.part, o.obs_id, o.evidence_sha256 FROM observations o
            JOIN (SELECT DISTINCT url, part FROM part_docs) p USING (url)
            WHERE o.kind IN (SELECT unnest($resource_kinds::VARCHAR[]))""",
            {"origin_kinds": list(origin_kinds), "resource_kinds": list(resource_kinds)},
        )
        store.query(
            "CREATE OR REPLACE TEMP TABLE part_shared AS SELECT obs_id, evidence_sha256 FROM observations "
            "WHERE kind IN (SELECT unnest($kinds::VARCHAR[]))",
            {"kinds": list(shared_kinds)},
        )
        per_part = {
            "documents": "SELECT d.*, p.part FROM documents d JOIN part_docs p USING (doc_id)",
            "observations": "SELECT o.*, p.part FROM observations o JOIN part_obs p USING (obs_id)",
            "evidence": """SELECT e.*, p.part FROM evidence e
                JOIN (SELECT DISTINCT part, evidence_sha256 FROM part_obs) p ON e.sha256 = p.evidence_sha256""",
        }
        for table in TABLES[3:]:
            per_part[table] = f"""SELECT c.*, p.part FROM {table} c
                JOIN (SELECT DISTINCT part, evidence_sha256 FROM part_obs) p ON c.sha256 = p.evidence_sha256"""
        for table, sql in per_part.items():
            store.query(f"COPY ({sql}) TO '{out}/{table}' (FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE)")
        shared = {
            "observations": "SELECT o.* FROM observations o JOIN part_shared USING (obs_id)",
            "evidence": """SELECT * FROM evidence
                WHERE sha256 IN (SELECT evidence_sha256 FROM part_shared)""",
            "blocklist": "SELECT * FROM blocklist",
        }
        (folder / "shared").mkdir(exist_ok=True)
        for table, sql in shared.items():
            store.query(f"COPY ({sql}) TO '{out}/shared/{table}.parquet' (FORMAT parquet)")
        sizes = store.query("SELECT part, count(*) AS n FROM part_docs GROUP BY part ORDER BY part").to_pylist()
    finally:
        store.query("DROP TABLE IF EXISTS part_docs; DROP TABLE IF EXISTS part_obs; DROP TABLE IF EXISTS part_shared")
    return {int(r["part"]): int(r["n"]) for r in sizes}


def load(store: Store, table: str, files: Sequence[str]) -> int:
    """Insert Parquet files written by `export` into a (worker's in-memory) store's table."""
    if table not in (*TABLES, *SHARED) or not files:
        return 0
    keys = ", ".join(TABLE_KEYS[table])
    with store.transaction():  # an anti-join: since v12 the corpus tables have no index to ignore by
        written = store.query(
            f"""INSERT INTO {table} BY NAME SELECT DISTINCT ON ({keys}) *
            FROM read_parquet($files, hive_partitioning = false) f
            WHERE ({keys}) NOT IN (SELECT ({keys}) FROM {table})""",
            {"files": list(files)},
        )
    return int(written.column(0)[0].as_py())


def decided_rows(store: Store) -> pa.Table:
    """(doc_id, outcome) of every decision row in the store, in doc_id order."""
    return store.query("SELECT doc_id, outcome FROM decision_rows ORDER BY doc_id, outcome")


def decided_outcomes(store: Store) -> pa.Table:
    """Every outcome, in the shape `bulk_decisions.write_document_decisions` takes."""
    return store.query(
        "SELECT outcome, verdict, reasons::VARCHAR AS reasons, evidence_sha256 FROM decision_outcomes ORDER BY outcome"
    )


def _quoted(text: str) -> str:
    return text.replace("'", "''")
