"""Aggregate queries behind the EU summary and the legal reports (SQL stays in scanner/store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.store.store import Store

# Documents used for training: not reserved under the policy (when decisions exist for it), one per
# duplicate cluster; in "cluster" mode no member of a cluster with a reserved member either (an
# opted-out work does not come back through a copy hosted elsewhere).
_USED = """
    SELECT d.*, s.category, s.name AS source_name, s.version AS source_version, s.url AS source_url,
           v.verdict
    FROM documents d LEFT JOIN sources s USING (source_id)
    LEFT JOIN (SELECT doc_id, verdict FROM document_verdicts WHERE policy = $policy AND as_of IS NULL) v
        USING (doc_id)
    WHERE NOT ($exclude AND coalesce(v.verdict, '') = 'reserved')
      AND doc_id NOT IN (SELECT doc_id FROM dup_clusters WHERE NOT is_representative)
      AND NOT ($cluster AND doc_id IN (
          SELECT c.doc_id FROM dup_clusters c JOIN cluster_verdicts r USING (method, cluster_id)
          WHERE r.policy = $policy AND r.verdict = 'reserved'))
"""

Exclusion = bool | str  # False: keep all; True: drop reserved documents; "cluster": and their copies


def _params(policy: str, exclude: Exclusion) -> dict[str, Any]:
    return {"policy": policy, "exclude": bool(exclude), "cluster": exclude == "cluster"}


def sizes_by_source(store: Store, policy: str, exclude_reserved: Exclusion) -> list[dict]:
    return store.query(
        f"""SELECT source_id, source_name, source_version, source_url, category, modality,
               count(*)::BIGINT AS documents, coalesce(sum(token_count), 0)::BIGINT AS tokens,
               coalesce(sum(raw_bytes), 0)::BIGINT AS raw_bytes,
               min(fetched_at) AS first_fetched, max(fetched_at) AS last_fetched
        FROM ({_USED}) GROUP BY ALL ORDER BY source_id, modality""",
        _params(policy, exclude_reserved),
    ).to_pylist()


def tld_shares(store: Store, policy: str, exclude_reserved: Exclusion) -> list[dict]:
    return store.query(
        f"""SELECT regexp_extract(registrable_domain, '\\.([^.]+)$', 1) AS tld,
               round(100.0 * sum(token_count) / sum(sum(token_count)) OVER (), 1) AS token_share
        FROM ({_USED}) WHERE registrable_domain IS NOT NULL GROUP BY ALL ORDER BY token_share DESC LIMIT 8""",
        _params(policy, exclude_reserved),
    ).to_pylist()


def languages(store: Store) -> list[str]:
    return (
        store.query("SELECT DISTINCT language FROM documents WHERE language IS NOT NULL ORDER BY 1")
        .column(0)
        .to_pylist()
    )


def exclusions(store: Store, policy: str) -> dict[str, Any]:
    """What the policy reserved, by the signal of the strongest reason, with evidence dates."""
    by_reason = store.query(
        """SELECT json_extract_string(v.reasons, '$.reasons[0].signal') AS signal,
               count(*)::BIGINT AS documents, coalesce(sum(d.token_count), 0)::BIGINT AS tokens,
               count(DISTINCT d.registrable_domain)::BIGINT AS domains
        FROM document_verdicts v JOIN documents d USING (doc_id)
        WHERE v.policy = ? AND v.as_of IS NULL AND v.verdict = 'reserved' GROUP BY ALL ORDER BY documents DESC""",
        [policy],
    ).to_pylist()
    totals = store.query(
        """SELECT v.verdict, count(*)::BIGINT AS documents, any_value(v.policy_version) AS policy_version
        FROM document_verdicts v WHERE v.policy = ? AND v.as_of IS NULL GROUP BY ALL""",
        [policy],
    ).to_pylist()
    evidence = store.query(
        """SELECT min(o.observed_at) AS first_seen, max(o.observed_at) AS last_seen,
               count(DISTINCT o.evidence_sha256)::BIGINT AS artefacts,
               list(DISTINCT o.kind ORDER BY o.kind) AS kinds
        FROM observations o
        WHERE o.evidence_sha256 IN (SELECT unnest(evidence_sha256) FROM document_verdicts
                                    WHERE policy = ? AND as_of IS NULL)""",
        [policy],
    ).to_pylist()[0]
    checked = (
        store.query(
            """SELECT DISTINCT unnest(json_extract_string(reasons, '$.checked[*]')) AS protocol
        FROM document_verdicts WHERE policy = ? AND as_of IS NULL ORDER BY 1""",
            [policy],
        )
        .column(0)
        .to_pylist()
    )
    return {
        "by_reason": by_reason,
        "verdicts": {t["verdict"]: t["documents"] for t in totals},
        "policy_version": next((t["policy_version"] for t in totals), None),
        "evidence": evidence,
        "protocols_checked": checked,
    }


def duplicate_stats(store: Store) -> dict[str, Any]:
    return store.query(
        """SELECT count(DISTINCT cluster_id)::BIGINT AS clusters,
               count(*) FILTER (WHERE NOT is_representative)::BIGINT AS duplicates
        FROM dup_clusters"""
    ).to_pylist()[0]


REPORT_KEYS = {
    "domain": "d.registrable_domain",
    "source": "d.source_id",
    "month": "strftime(d.fetched_at, '%Y-%m')",
}


def reserved_share(store: Store, policy: str, by: str | tuple[str, ...], as_of=None) -> list[dict]:
    """Documents allowed, reserved and unknown (never checked), with shares, per domain, source
    and/or month of collection (each its own column). Decisions of one as-of mode only: the audit's
    own (each document as of its fetch time) or one `as_of` run, so nothing is counted twice."""
    keys = (by,) if isinstance(by, str) else tuple(by)
    columns = ", ".join(f"{REPORT_KEYS[k]} AS {k}" for k in keys)
    order = ", ".join(f"{k} NULLS LAST" if k == "month" else k for k in keys) if "month" in keys else None
    return store.query(
        f"""SELECT {columns}, count(*)::BIGINT AS documents,
               count(*) FILTER (WHERE v.verdict = 'allowed')::BIGINT AS allowed,
               count(*) FILTER (WHERE v.verdict = 'reserved')::BIGINT AS reserved,
               count(*) FILTER (WHERE v.verdict NOT IN ('allowed', 'reserved'))::BIGINT AS unknown,
               round(100.0 * count(*) FILTER (WHERE v.verdict = 'reserved') / count(*), 1) AS documents_reserved_pct,
               round(100.0 * count(*) FILTER (WHERE v.verdict NOT IN ('allowed', 'reserved')) / count(*), 1)
                   AS documents_unknown_pct,
               round(100.0 * coalesce(sum(d.token_count) FILTER (WHERE v.verdict = 'reserved'), 0)
                     / nullif(sum(d.token_count), 0), 1) AS tokens_reserved_pct
        FROM document_verdicts v JOIN documents d USING (doc_id)
        WHERE v.policy = $policy AND v.as_of IS NOT DISTINCT FROM $as_of
        GROUP BY ALL ORDER BY {order or "documents DESC, " + ", ".join(keys)}""",
        {"policy": policy, "as_of": as_of},
    ).to_pylist()


def has_decisions(store: Store, policy: str, as_of=None) -> bool:
    return bool(
        store.query(
            "SELECT count(*) FROM document_verdicts WHERE policy = $policy AND as_of IS NOT DISTINCT FROM $as_of",
            {"policy": policy, "as_of": as_of},
        )
        .column(0)[0]
        .as_py()
    )


def signatures_missing(store: Store, params: str, rows: int):
    """Documents with text but no signature under these parameters (incremental dedup), as Arrow
    batches. A store that holds its lock streams them from one scan; one opened with
    `hold_lock=False` reads them page by page, so no connection stays open while the caller
    hashes a page and other processes can read the store in between.

    The documents are picked first, so DuckDB builds its hash table on (doc_id, text_sha256) and
    streams the texts past it: the first batch comes after a fraction of the scan, not after every
    text has been loaded into a hash table."""
    missing = "doc_id NOT IN (SELECT doc_id FROM dedup_signatures WHERE params = ?)"
    if store.hold_lock:
        return store.stream(
            f"""SELECT d.doc_id, t.text FROM texts t
                JOIN (SELECT doc_id, text_sha256 FROM documents WHERE {missing}) d USING (text_sha256)""",
            [params],
            rows,
        )
    return _text_pages(store, missing, params, rows)


def _text_pages(store: Store, missing: str, params: str, rows: int) -> Iterator[pa.RecordBatch]:
    """The lock-free read. The missing documents are picked once, by one scan of the narrow
    columns, and kept in a scratch Parquet file beside the store as (text row id, doc_id) sorted by
    row id. Each page then takes the next `rows` of them and reads their texts by a range of the
    texts' row ids, which DuckDB prunes to the row groups holding them (`texts` has no index).
    So every text is read once and the documents are never scanned again: picking the documents
    per page (as before) cost a scan of every document and signature per page, O(N^2) in all
    (at 10M documents, minutes before the first page of a resumed run)."""
    scratch = Path(f"{store.path}.dedup-missing.parquet")  # one per store: a killed run's is replaced
    try:
        store.query(
            f"""COPY (SELECT t.rowid AS text_row, d.doc_id FROM texts t
                      JOIN (SELECT doc_id, text_sha256 FROM documents WHERE {missing}) d USING (text_sha256)
                      ORDER BY text_row, d.doc_id)
                TO '{str(scratch).replace("'", "''")}' (FORMAT parquet)""",
            [params],
        )
        pages = (_texts_of(store, pa.Table.from_batches([b])) for b in pq.ParquetFile(scratch).iter_batches(rows))
        yield from _rebatched(pages, rows)
    finally:
        scratch.unlink(missing_ok=True)


def _texts_of(store: Store, page: pa.Table) -> pa.Table:
    """(doc_id, text) of a page of (text_row, doc_id) rows sorted by text_row."""
    first, last = page.column("text_row")[0].as_py(), page.column("text_row")[-1].as_py()
    with store.temporary("_page", page):
        return store.query(
            """SELECT p.doc_id, t.text FROM _page p
               JOIN (SELECT rowid AS text_row, text FROM texts WHERE rowid >= ? AND rowid <= ?) t USING (text_row)""",
            [first, last],
        )


def _rebatched(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `rows` rows (the last one shorter) from tables of any size: a page of
    text row ids holds as many documents as share its texts and lack a signature, and callers
    cut shards and worker batches by the batches they are given."""
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        if table.num_rows == 0:
            continue
        held.append(table)
        count += table.num_rows
        while count >= rows:
            whole = pa.concat_tables(held).combine_chunks()
            yield from whole.slice(0, rows).combine_chunks().to_batches()
            rest = whole.slice(rows)
            held, count = ([rest] if rest.num_rows else []), rest.num_rows
    if count:
        yield from pa.concat_tables(held).combine_chunks().to_batches()


def document_origins(store: Store) -> list[str]:
    return (
        store.query("SELECT DISTINCT origin FROM documents WHERE origin IS NOT NULL ORDER BY 1").column(0).to_pylist()
    )


def recently_fetched(store: Store, since) -> set[str]:
    """Origins whose robots.txt was fetched live at or after `since` (resume / freshness)."""
    return set(
        store.query(
            "SELECT DISTINCT origin FROM observations WHERE via = 'live-fetch' AND kind = 'robots.txt' "
            "AND observed_at >= ?",
            [since],
        )
        .column(0)
        .to_pylist()
    )


def observations_without_signals(store: Store, kinds: tuple[str, ...], rows: int):
    """Sightings whose statements were not extracted yet, with their bytes, streamed."""
    return store.stream(
        """SELECT o.obs_id, o.kind, o.evidence_sha256, o.observed_at, o.http_status, e.body
        FROM observations o JOIN evidence e ON e.sha256 = o.evidence_sha256
        WHERE o.kind IN (SELECT unnest(?::VARCHAR[]))
          AND o.obs_id NOT IN (SELECT obs_id FROM signal_extractions)""",
        [list(kinds)],
        rows,
    )


# -- legal queries: evidence and its chain of custody ---------------------------------------------
def origins_with_evidence(store: Store, registrable_domain: str, as_of=None) -> list[str]:
    """Origins of one registrable domain with robots.txt, TDMRep or ai.txt sightings."""
    return (
        store.query(
            """SELECT DISTINCT origin FROM observations
            WHERE kind IN ('robots.txt', 'tdmrep.json', 'ai.txt') AND origin IS NOT NULL
              AND (origin = 'https://' || $d OR origin = 'http://' || $d
                   OR origin LIKE 'https://%.' || $d OR origin LIKE 'http://%.' || $d
                   OR origin LIKE 'https://' || $d || ':%' OR origin LIKE 'http://' || $d || ':%'
                   OR origin LIKE 'https://%.' || $d || ':%' OR origin LIKE 'http://%.' || $d || ':%')
              AND ($as_of IS NULL OR observed_at <= $as_of)
            ORDER BY 1""",
            {"d": registrable_domain, "as_of": as_of},
        )
        .column(0)
        .to_pylist()
    )


def evidence_body(store: Store, sha256: str) -> bytes | None:
    """The exact stored bytes of one artefact."""
    rows = store.query("SELECT body FROM evidence WHERE sha256 = ?", [sha256]).column(0).to_pylist()
    return rows[0] if rows else None


def sightings(store: Store, sha256: str, url: str, as_of=None) -> list[dict]:
    """Every sighting of these bytes at this URL (at or before `as_of`), oldest first, with the
    run that recorded it: the chain of custody of one artefact."""
    return store.query(
        """SELECT o.obs_id, o.via, o.url, o.observed_at, o.http_status, o.headers, o.locator, o.run_id,
               r.command AS run_command, r.started_at AS run_started_at, r.tool_version AS run_tool_version
        FROM observations o LEFT JOIN runs r USING (run_id)
        WHERE o.evidence_sha256 = $sha AND o.url = $url AND ($as_of IS NULL OR o.observed_at <= $as_of)
        ORDER BY o.observed_at, o.obs_id""",
        {"sha": sha256, "url": url, "as_of": as_of},
    ).to_pylist()


def origin_sightings(store: Store, origin: str, kinds) -> list[dict]:
    """Every sighting of an origin's files, oldest first, with how it was made and its bytes."""
    return store.query(
        """SELECT o.kind, o.url, o.observed_at, o.http_status, o.via, o.locator, o.evidence_sha256, e.body
        FROM observations o JOIN evidence e ON e.sha256 = o.evidence_sha256
        WHERE o.origin = ? AND o.kind IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY o.observed_at, o.kind, o.obs_id""",
        [origin, list(kinds)],
    ).to_pylist()


def documents_per_origin(store: Store, registrable_domain: str) -> dict[str, int]:
    """Documents per origin of one registrable domain (to spot evidence for the wrong scheme/host)."""
    rows = store.query(
        "SELECT origin, count(*)::BIGINT AS n FROM documents WHERE registrable_domain = ? GROUP BY ALL ORDER BY 1",
        [registrable_domain],
    ).to_pylist()
    return {r["origin"]: r["n"] for r in rows}


def largest_domains(store: Store, limit: int = 10) -> list[dict]:
    """Registrable domains by raw bytes stored (the demo's "largest domains" table)."""
    return store.query(
        "SELECT registrable_domain, category, sum(documents)::BIGINT AS documents, "
        "sum(raw_bytes)::BIGINT AS raw_bytes, sum(tokens)::BIGINT AS tokens "
        "FROM documents_per_domain GROUP BY ALL ORDER BY raw_bytes DESC LIMIT ?",
        [limit],
    ).to_pylist()
