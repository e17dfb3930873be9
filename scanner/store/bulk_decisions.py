"""SQL of `provenance decide` in bulk: documents grouped by what their decision depends on.

Python decides once per group (`scanner.api.decide_documents`); DuckDB does the per-document
work: picking each document's robots.txt sighting as of its time (an equi-join on the origin
into the intervals where each sighting is the evidence, RFC 9309's "newest successful copy when
unreachable" worked out in those intervals), matching its path against the rules
of the policy's groups (LIKE patterns, the first in priority order wins), and writing one decision
row per document. Documents whose decision depends on more (resource headers, other per-origin
files, blocklists, paths that need normalising) are handed back to the one-by-one path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from scanner.signals.robots import Rule
from scanner.store import robots_rules
from scanner.store.store import Store

BUCKET = 4  # rules are joined to paths on this many leading characters of their literal prefix
# URLs the SQL matcher takes as they are: http(s), printable ASCII with nothing the robots.txt
# normaliser rewrites (%-escapes, `*`, `$`, `"<>\^`{|}`) and nothing JSON escapes (`"`, `\`).
_PLAIN_URL = r"[hH][tT][tT][pP][sS]?://[!#&-)+-;=?-Z\[\]_a-z~]*"
_REST = "^[^:]*://[^/?;#]*"  # a URL's scheme and authority: what precedes its path
_ORIGIN = "[^:]*://[^/?;#]*"  # an origin that is all scheme and authority: `_REST` of its URLs is itself


def like_pattern(rule: Rule) -> tuple[str, str]:
    """(SQL LIKE pattern with `\\` as escape, literal prefix) matching exactly the normalised paths
    the rule matches: `*` -> `%`, an unanchored pattern gets a trailing `%`. For bulk matching in
    SQL; valid for paths with no `%`, `*` or `$` (those need the normaliser)."""
    pattern = rule.pattern
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    like = "%".join(p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for p in body.split("*"))
    return like + ("" if anchored else "%"), body.split("*", 1)[0]


@dataclass(frozen=True)
class PolicyRules:
    """What picks a policy's rule sets out of the compiled rules (`robots_rules.policy_rules`)."""

    version: str  # `scanner.decide.rules.RULES_VERSION`
    tokens: tuple[str, ...]  # the policy's agents' product tokens, in policy order
    has_rsl: bool  # RSL documents are stored: files with `License:` lines are decided one by one
    max_unbucketed: int  # a file with more short-prefix rules in one set is decided one by one


def key_documents(
    store: Store,
    robots: pa.Table,
    rules: PolicyRules,
    python_origins: list[str],
    python_urls: list[str],
    python_domains: list[str],
    as_of: datetime | None,
) -> pa.Table:
    """Fill the temporary tables `bulk_sightings` and `bulk_file_rules` (files numbered: documents
    join rules on an integer), `bulk_docs` (one row per document with a URL), `bulk_keys` (each
    keyed document's key columns) and `bulk_groups` (each key numbered), and return the
    distinct decision keys, each with one representative document and its `rules` (the key's
    "ruleset:priority" of each rule set with a matching rule, comma-separated).

    `robots`: (origin, valid_from, valid_to, obs, sha, observed_at, tied, parsed): which sighting
    (and file) is an origin's evidence when; the policy's rule sets of each parsed file come from
    its compiled rules (`robots_rules.policy_rules`).
    A key is: the sighting (`obs`: the first of those with the same file, HTTP status and time,
    which decide alike), its staleness, the first matching rule per rule set,
    whether the path is /robots.txt, the modality. `python` marks documents the bulk path must not decide.
    """
    with (
        store.temporary("bulk_robots", robots),
        store.temporary("bulk_py_origins", pa.table({"origin": pa.array(python_origins, pa.string())})),
        store.temporary("bulk_py_urls", pa.table({"url": pa.array(python_urls, pa.string())})),
        store.temporary("bulk_py_domains", pa.table({"domain": pa.array(python_domains, pa.string())})),
    ):
        robots_rules.policy_rules(store, rules.version, rules.tokens, rules.has_rsl, rules.max_unbucketed)
        store.query(  # per sighting, not per document: each file numbered, whether its rules alone decide
            f"""CREATE OR REPLACE TEMP TABLE bulk_sightings AS
            SELECT origin, valid_from, valid_to, obs, observed_at, sha,
                   (dense_rank() OVER (ORDER BY sha))::INTEGER AS file,
                   NOT tied AND (NOT parsed OR sha IN (SELECT sha FROM bulk_simple)) AS simple,
                   regexp_full_match(origin, '{_ORIGIN}') AS plain_origin
            FROM bulk_robots;
            CREATE OR REPLACE TEMP TABLE bulk_file_rules AS
            SELECT f.file, m.ruleset, m.priority, m.pattern, m.prefix, m.bucket
            FROM bulk_rules m JOIN (SELECT DISTINCT sha, file FROM bulk_sightings) f USING (sha)"""
        )
        store.query(  # `n`: the document's row, what the per-document joins below key on
            f"""CREATE OR REPLACE TEMP TABLE bulk_docs AS
            WITH docs AS (
                SELECT rowid AS n, doc_id, url, origin, registrable_domain, coalesce(modality, 'text') AS modality,
                       coalesce(?::TIMESTAMPTZ, fetched_at, TIMESTAMPTZ '9999-01-01 00:00:00+00') AS at,
                       coalesce(fetched_at, ?::TIMESTAMPTZ) AS ref,
                       NOT regexp_full_match(url, '{_PLAIN_URL}') AS odd_url
                FROM documents WHERE url IS NOT NULL),
            chosen AS (
                SELECT d.*, r.obs, r.file, r.observed_at AS obs_at, r.simple, r.plain_origin
                FROM docs d LEFT JOIN bulk_sightings r
                  ON d.origin = r.origin AND d.at >= r.valid_from AND d.at < r.valid_to),
            rests AS (  -- the URL after its scheme and authority (its origin, as a rule), up to a fragment
                SELECT *, split_part(
                    CASE WHEN plain_origin AND starts_with(url, origin)
                              AND substr(url, length(origin) + 1, 1) IN ('/', '?', ';', '#', '')
                         THEN substr(url, length(origin) + 1)
                         ELSE regexp_replace(url, '{_REST}', '') END, '#', 1) AS rest
                FROM chosen)
            SELECT c.n, c.doc_id, CASE WHEN starts_with(c.rest, '/') THEN c.rest ELSE '/' || c.rest END AS path,
                   c.modality, c.obs, c.file,
                   coalesce(c.obs_at < c.ref - INTERVAL 24 HOUR, false) AS stale,
                   (c.odd_url OR coalesce(NOT c.simple, false) OR c.origin IS NULL OR c.registrable_domain IS NULL
                    OR c.origin IN (SELECT origin FROM bulk_py_origins)
                    OR c.url IN (SELECT url FROM bulk_py_urls)
                    OR c.registrable_domain IN (SELECT domain FROM bulk_py_domains)) AS python
            FROM rests c""",
            [as_of, as_of],
        )
        store.query(  # a document's hits: "ruleset:priority" per rule set, sorted as strings (one spelling a key)
            f"""CREATE OR REPLACE TEMP TABLE bulk_keys AS
            WITH candidates AS (  -- rules bucketed by their first characters, short ones everywhere
                SELECT d.n, d.path, m.ruleset, m.priority, m.prefix, m.pattern
                FROM bulk_docs d JOIN bulk_file_rules m ON d.file = m.file AND m.bucket = substr(d.path, 1, {BUCKET})
                WHERE NOT d.python
                UNION ALL
                SELECT d.n, d.path, m.ruleset, m.priority, m.prefix, m.pattern
                FROM bulk_docs d JOIN bulk_file_rules m ON d.file = m.file AND m.bucket IS NULL
                WHERE NOT d.python),
            hits AS (
                SELECT n, ruleset, min(priority) AS priority FROM candidates
                WHERE starts_with(path, prefix) AND path LIKE pattern ESCAPE '\\' GROUP BY ALL),
            matched AS (
                SELECT n, array_to_string(list_sort(list(ruleset || ':' || priority)), ',') AS rules
                FROM hits GROUP BY n)
            SELECT d.doc_id, coalesce(d.obs, -1) AS obs, d.stale, coalesce(m.rules, '') AS rules,
                   d.path = '/robots.txt' AS robots_txt, d.modality
            FROM bulk_docs d LEFT JOIN matched m USING (n) WHERE NOT d.python;
            CREATE OR REPLACE TEMP TABLE bulk_groups AS
            SELECT (row_number() OVER (ORDER BY obs, stale, rules, robots_txt, modality))::INTEGER AS key,
                   obs, stale, rules, robots_txt, modality, min(doc_id) AS doc_id, count(*) AS documents
            FROM bulk_keys GROUP BY obs, stale, rules, robots_txt, modality"""
        )
        return store.query(
            """SELECT g.key, d.url, coalesce(d.fetched_at, ?::TIMESTAMPTZ) AS ref, nullif(g.obs, -1) AS obs,
                   g.modality, g.rules, g.documents
            FROM bulk_groups g JOIN documents d USING (doc_id) ORDER BY g.key""",
            [as_of],
        )


def python_documents(store: Store) -> list[dict]:
    """The documents `key_documents` left to the one-by-one path."""
    return store.query(
        """SELECT d.doc_id, d.url, d.fetched_at, d.modality, d.origin, d.registrable_domain
        FROM documents d JOIN bulk_docs b USING (doc_id) WHERE b.python ORDER BY d.doc_id"""
    ).to_pylist()


def write_decisions(store: Store, outcomes: pa.Table, meta: dict) -> int:
    """One narrow decision row per keyed document, pointing at its group's outcome (verdict,
    reasons and evidence, stored once), inserted if new. `outcomes`: key, outcome, verdict,
    reasons, evidence_sha256. Returns the rows written."""
    with store.temporary("bulk_outcomes", outcomes), store.transaction():
        _write_outcomes(store, "bulk_outcomes")
        keyed = """SELECT k.doc_id, o.outcome FROM bulk_keys k
            JOIN bulk_groups g USING (obs, stale, rules, robots_txt, modality) JOIN bulk_outcomes o USING (key)"""
        return _write_rows(store, keyed, meta)


def write_document_decisions(store: Store, rows: pa.Table, outcomes: pa.Table, meta: dict) -> int:
    """Decisions made one by one: `rows` (doc_id, outcome), `outcomes` as in `write_decisions`."""
    with store.temporary("one_rows", rows), store.temporary("one_outcomes", outcomes), store.transaction():
        _write_outcomes(store, "one_outcomes")
        return _write_rows(store, "SELECT doc_id, outcome FROM one_rows", meta)


def _write_outcomes(store: Store, table: str) -> None:
    store.query(
        f"""INSERT OR IGNORE INTO decision_outcomes BY NAME
        SELECT DISTINCT ON (outcome) outcome, verdict, reasons::JSON AS reasons, evidence_sha256 FROM {table}"""
    )


def _write_rows(store: Store, rows_sql: str, meta: dict) -> int:
    """The (doc_id, outcome) rows that the same policy and as-of mode has not already decided to
    the same outcome (an anti-join, no index upkeep), then the run's decision set: a re-run that
    changes nothing writes nothing."""
    written = store.query(
        f"""INSERT INTO decision_rows
        WITH rows AS ({rows_sql}),
             seen AS (SELECT r.doc_id, r.outcome FROM decision_rows r JOIN decision_sets s USING (set_id)
                      WHERE {_SAME_MODE})
        SELECT n.doc_id, n.outcome, $run_id FROM rows n  -- one row per document already
        WHERE NOT EXISTS (SELECT 1 FROM seen t WHERE t.doc_id = n.doc_id AND t.outcome = n.outcome)""",
        _mode(meta),
    )
    _write_set(store, meta)
    return int(written.column(0)[0].as_py())


# The decision sets of the same policy and as-of mode: a row one of them holds is not written again.
_SAME_MODE = "s.policy = $policy AND s.policy_version = $version AND s.usage = $usage AND s.as_of_key = $as_of"


def _mode(meta: dict) -> dict:
    return {k: meta[k] for k in ("run_id", "policy", "version", "usage", "as_of")}


def append_run_rows(store: Store, rows: pa.Table, outcomes: pa.Table, meta: dict) -> int:
    """A shard of a distributed run (rows and outcomes as in `write_document_decisions`) into the
    run's own decision set, in one transaction and without reading the stored rows: the run's
    rows that an earlier set already holds go in `settle_run`, once per run."""
    with store.temporary("shard_rows", rows), store.temporary("shard_outcomes", outcomes), store.transaction():
        _write_outcomes(store, "shard_outcomes")
        written = store.query(
            "INSERT INTO decision_rows SELECT DISTINCT doc_id, outcome, $run_id FROM shard_rows",
            {"run_id": meta["run_id"]},
        )
        _write_set(store, meta)
    return int(written.column(0)[0].as_py())


def settle_run(store: Store, meta: dict) -> int:
    """One anti-join per run: drop each row that an earlier set of the same policy and as-of mode
    (the first by time, then id) holds to the same outcome; this also settles the rows of a run
    killed before it settled. A set left with no rows goes too (a re-run that changes nothing
    writes nothing). Idempotent; returns the run's rows kept."""
    with store.transaction():
        store.query(
            f"""DELETE FROM decision_rows WHERE rowid IN (
                SELECT id FROM (
                    SELECT r.rowid AS id, row_number() OVER (
                        PARTITION BY r.doc_id, r.outcome ORDER BY s.decided_at, s.set_id) AS n
                    FROM decision_rows r JOIN decision_sets s USING (set_id)
                    WHERE {_SAME_MODE}
                      AND r.doc_id IN (SELECT doc_id FROM decision_rows WHERE set_id = $run_id))
                WHERE n > 1)""",
            _mode(meta),
        )
        kept = store.query("SELECT count(*) FROM decision_rows WHERE set_id = $run_id", {"run_id": meta["run_id"]})
        store.query(
            "DELETE FROM decision_sets WHERE set_id = $run_id AND NOT EXISTS "
            "(SELECT 1 FROM decision_rows WHERE set_id = $run_id)",
            {"run_id": meta["run_id"]},
        )
    return int(kept.column(0)[0].as_py())


def _write_set(store: Store, meta: dict) -> None:
    """The run's decision set, once, if it wrote any row."""
    store.query(
        """INSERT OR IGNORE INTO decision_sets
        SELECT $run_id, $run_id, $policy, $version, $usage, $as_of_ts::TIMESTAMPTZ, $as_of, $now::TIMESTAMPTZ
        WHERE EXISTS (SELECT 1 FROM decision_rows WHERE set_id = $run_id)""",
        meta,
    )


def drop(store: Store) -> None:
    store.query(
        """DROP TABLE IF EXISTS bulk_keys; DROP TABLE IF EXISTS bulk_groups; DROP TABLE IF EXISTS bulk_docs;
        DROP TABLE IF EXISTS bulk_rules; DROP TABLE IF EXISTS bulk_sets; DROP TABLE IF EXISTS bulk_simple;
        DROP TABLE IF EXISTS bulk_sightings; DROP TABLE IF EXISTS bulk_file_rules"""
    )
