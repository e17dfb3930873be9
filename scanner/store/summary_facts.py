"""Facts the EU summary states about how documents were decided and what was scraped.

The summary may say only what these counts support: how many documents were decided on evidence
observed near their fetch, how many on stale evidence, how many stayed unknown yet are counted in
the sizes, and what was excluded by which reason (SQL stays in scanner/store).
"""

from __future__ import annotations

from typing import Any

from scanner.store.reports import _USED, Exclusion, _params
from scanner.store.store import Store


def decision_basis(store: Store, policy: str, exclude_reserved: Exclusion) -> list[dict[str, Any]]:
    """Per source category and verdict: documents and tokens, split by whether any reason rests on
    stale evidence and whether page meta was the only protocol checked; `used` says whether the
    documents are counted in the sizes (one per duplicate cluster, reserved ones left out)."""
    return store.query(
        f"""WITH v AS (
              SELECT doc_id, verdict,
                     coalesce(list_contains(json_extract_string(reasons, '$.reasons[*].lint[*]'),
                                            'stale_evidence'), false) AS stale,
                     json_extract_string(reasons, '$.checked[*]') AS checked,
                     coalesce(len(evidence_sha256), 0) > 0 AS has_evidence
              FROM document_verdicts WHERE policy = $policy AND as_of IS NULL),
            used AS (SELECT doc_id FROM ({_USED}))
        SELECT s.category, coalesce(v.verdict, 'undecided') AS verdict, coalesce(v.stale, false) AS stale,
               coalesce(v.checked = ['html'], false) AS meta_only, d.fetched_at IS NULL AS undated,
               coalesce(list_contains(v.checked, 'robots'), false) AS robots_checked,
               coalesce(v.has_evidence, false) AS has_evidence,
               d.doc_id IN (SELECT doc_id FROM used) AS used,
               count(*)::BIGINT AS documents, coalesce(sum(d.token_count), 0)::BIGINT AS tokens
        FROM documents d LEFT JOIN sources s USING (source_id) LEFT JOIN v USING (doc_id)
        GROUP BY ALL ORDER BY ALL""",
        _params(policy, exclude_reserved),
    ).to_pylist()


def evidence_age(store: Store, policy: str) -> dict[str, Any]:
    """How old the robots.txt evidence was when the documents it decided were fetched."""
    return store.query(
        """SELECT max(date_diff('day', o.observed_at, d.fetched_at)) AS max_days,
               median(date_diff('day', o.observed_at, d.fetched_at)) AS median_days,
               count(DISTINCT d.doc_id)::BIGINT AS documents
        FROM document_verdicts v JOIN documents d USING (doc_id),
             (SELECT evidence_sha256, min(observed_at) AS observed_at FROM observations
              WHERE kind = 'robots.txt' GROUP BY ALL) o
        WHERE v.policy = ? AND v.as_of IS NULL AND list_contains(v.evidence_sha256, o.evidence_sha256)
          AND d.fetched_at IS NOT NULL""",
        [policy],
    ).to_pylist()[0]


def scraped_host_sizes(store: Store, policy: str, exclude_reserved: Exclusion, measure: str) -> list[dict[str, Any]]:
    """Crawled (2.3) bytes per host. `scraped`: everything fetched, before deduplication and
    exclusions (what the template calls "the content scraped"); `used`: after both."""
    if measure == "scraped":
        sql = """SELECT d.host, d.registrable_domain, sum(d.raw_bytes)::BIGINT AS size
                 FROM documents d JOIN sources s USING (source_id)
                 WHERE s.category = '2.3' AND d.host IS NOT NULL GROUP BY ALL"""
        return store.query(sql).to_pylist()
    return store.query(
        f"""SELECT host, registrable_domain, sum(raw_bytes)::BIGINT AS size FROM ({_USED})
        WHERE category = '2.3' AND host IS NOT NULL GROUP BY ALL""",
        _params(policy, exclude_reserved),
    ).to_pylist()


def language_shares(store: Store, policy: str, exclude_reserved: Exclusion) -> list[dict[str, Any]]:
    """Tokens per identified language among the documents counted in the sizes."""
    return store.query(
        f"""SELECT coalesce(language, 'unidentified') AS language, count(*)::BIGINT AS documents,
               coalesce(sum(token_count), 0)::BIGINT AS tokens
        FROM ({_USED}) WHERE modality = 'text' GROUP BY ALL ORDER BY tokens DESC, language""",
        _params(policy, exclude_reserved),
    ).to_pylist()


def fetch_range(store: Store) -> list[dict[str, Any]]:
    """First and last fetch per declared source, all documents (for the manifest cross-check)."""
    return store.query(
        """SELECT s.source_id, s.category, count(d.doc_id)::BIGINT AS documents,
               min(d.fetched_at) AS first_fetched, max(d.fetched_at) AS last_fetched
        FROM sources s LEFT JOIN documents d USING (source_id) GROUP BY ALL ORDER BY 1"""
    ).to_pylist()


def used_texts(store: Store, policy: str, exclude_reserved: Exclusion, rows: int = 2_000):
    """Arrow batches of (source_id, modality, text) of the text documents counted in the sizes,
    for recounting tokens with a named tokenizer."""
    sql = f"""SELECT u.source_id, u.modality, t.text FROM ({_USED}) u JOIN texts t USING (text_sha256)
        WHERE u.modality = 'text'"""
    return store.stream(sql, _params(policy, exclude_reserved), rows=rows)


def durations(store: Store, policy: str, exclude_reserved: Exclusion) -> dict[str, dict[str, Any]]:
    """Audio and video counted in the sizes: documents, how many have a known playing time, and
    its total in seconds."""
    rows = store.query(
        f"""SELECT modality, count(*)::BIGINT AS documents, count(duration_seconds)::BIGINT AS timed,
               coalesce(sum(duration_seconds), 0)::DOUBLE AS seconds
        FROM ({_USED}) WHERE modality IN ('audio', 'video') GROUP BY ALL""",
        _params(policy, exclude_reserved),
    ).to_pylist()
    return {r["modality"]: r for r in rows}
