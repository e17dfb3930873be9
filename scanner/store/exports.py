"""The user's own SQL (`provenance query`, `export SQL`) and the corpus export's SQL.

The user's SQL runs on a sandboxed store (`Store.open(..., sandbox=True)`): DuckDB itself refuses
writes, file and network access, extension installs and configuration changes. Results leave as
Arrow record batches; writing files is our code's job (`scanner.export`), never DuckDB's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from scanner.errors import StoreError
from scanner.store.store import Store, _one_line

VERDICTS = ("allowed", "reserved", "unknown")
REFUSED_HINT = "write results with `provenance export SQL -o FILE.parquet|.csv|.jsonl`"


@dataclass(frozen=True)
class UserResult:
    """Record batches of a user query, with the columns DuckDB types as JSON (printed as JSON)."""

    schema: pa.Schema
    json_columns: frozenset[str]
    batches: Iterator[pa.RecordBatch]


def _refusal(exc: duckdb.Error) -> StoreError:
    text = _one_line(exc)
    refused = isinstance(exc, duckdb.PermissionException) or any(
        s in text for s in ("read-only mode", "configuration has been locked", "disabled through configuration")
    )
    if refused:
        return StoreError(f"refused: queries are read-only and reach no file or network ({text}); {REFUSED_HINT}")
    return StoreError(f"query failed: {text}")


def _json_columns(rel: duckdb.DuckDBPyRelation) -> frozenset[str]:
    return frozenset(name for name, kind in zip(rel.columns, rel.types, strict=True) if str(kind) == "JSON")


def user_query(store: Store, sql: str, params: dict | None = None, rows: int = 10_000) -> UserResult:
    """Run SQL on a cursor of its own and stream the result (nothing held whole)."""
    cursor = store._con.cursor()
    try:
        rel = cursor.sql(sql, params=params or None)
        if rel is None:  # a statement without a result
            cursor.close()
            return UserResult(pa.schema([]), frozenset(), iter(()))
        json_cols = _json_columns(rel)
        reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(rows)
    except duckdb.Error as exc:
        cursor.close()
        raise _refusal(exc) from exc

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as exc:
            raise _refusal(exc) from exc
        finally:
            cursor.close()

    return UserResult(reader.schema, json_cols, batches())


# -- the corpus export: text plus provenance, by verdict -------------------------------------------
_CORPUS = """
    WITH verdicts AS (
        SELECT doc_id, verdict, reasons, policy, policy_version, decided_at
        FROM document_verdicts WHERE policy = $policy AND as_of IS NULL),
    clusters AS (  -- a near-duplicate cluster if there is one, else the exact one
        SELECT doc_id, arg_min(cluster_id, method = 'exact') AS cluster_id,
               bool_and(is_representative) AS is_representative,
               arg_min(similarity, method = 'exact') AS similarity
        FROM dup_clusters GROUP BY doc_id)
    SELECT d.doc_id, d.url, d.source_id, s.name AS source_name, d.registrable_domain, d.fetched_at,
           d.language, d.token_count, v.verdict, v.reasons, v.policy, v.policy_version,
           c.cluster_id, coalesce(c.is_representative, true) AS is_representative, c.similarity, t.text
    FROM documents d JOIN verdicts v USING (doc_id)
    LEFT JOIN sources s USING (source_id)
    LEFT JOIN texts t USING (text_sha256)
    LEFT JOIN clusters c USING (doc_id)
    WHERE v.verdict IN (SELECT unnest($verdicts::VARCHAR[]))
      AND NOT ($representatives AND NOT coalesce(c.is_representative, true))
    ORDER BY d.doc_id
"""


def corpus(store: Store, verdicts: Sequence[str], policy: str, representatives: bool, rows: int = 2_000) -> UserResult:
    """The documents with one of `verdicts` under `policy` (each judged at its fetch time): text
    and provenance columns; `representatives`: one per duplicate cluster."""
    params = {"policy": policy, "verdicts": list(verdicts), "representatives": representatives}
    return user_query(store, _CORPUS, params, rows)


def corpus_coverage(store: Store, policy: str) -> dict[str, int]:
    """How many documents the policy decided, and how many it has not (ingested after `decide`)."""
    row = store.query(
        """SELECT count(*) FILTER (WHERE v.doc_id IS NOT NULL)::BIGINT AS decided,
                  count(*) FILTER (WHERE v.doc_id IS NULL)::BIGINT AS undecided
        FROM documents d LEFT JOIN (SELECT DISTINCT doc_id FROM document_verdicts
                                    WHERE policy = ? AND as_of IS NULL) v USING (doc_id)""",
        [policy],
    ).to_pylist()[0]
    return {"decided": int(row["decided"]), "undecided": int(row["undecided"])}
