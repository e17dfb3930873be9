"""Schema versions of the provenance store, applied forward only, each in one transaction.

Never edit a released migration: add a new one. `docs/store-schema.md` documents the result.
"""

from __future__ import annotations

from scanner.ids import DECISION_ID_SQL

V1 = [
    """CREATE TABLE schema_version (
        version INTEGER NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL,
        tool_version VARCHAR NOT NULL
    )""",
    """CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR NOT NULL,
        args JSON,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,             -- running | ok | failed
        tool_version VARCHAR NOT NULL,
        stats JSON,
        errors JSON                          -- [{file, where, reason}]
    )""",
    """CREATE TABLE sources (
        source_id VARCHAR PRIMARY KEY,       -- name@version
        name VARCHAR NOT NULL,
        version VARCHAR,
        url VARCHAR,
        category VARCHAR NOT NULL,           -- EU template section: 2.1 2.2.1 2.2.2 2.3 2.4 2.5 2.6
        modalities VARCHAR[] NOT NULL,
        licence VARCHAR,
        collected_from DATE,
        collected_to DATE,
        publicly_known BOOLEAN,
        manifest VARCHAR                     -- file it was declared in
    )""",
    """CREATE TABLE documents (
        doc_id VARCHAR PRIMARY KEY,          -- sha256(source_id, url, fetched_at, content_sha256)[:32]
        source_id VARCHAR NOT NULL,
        url VARCHAR,
        origin VARCHAR,
        host VARCHAR,
        registrable_domain VARCHAR,
        fetched_at TIMESTAMPTZ,
        content_sha256 VARCHAR NOT NULL,     -- of the raw payload as found in the corpus
        raw_bytes BIGINT NOT NULL,           -- size of that payload
        text_sha256 VARCHAR,                 -- reference into texts
        token_count BIGINT,                  -- whitespace tokens of the extracted text
        modality VARCHAR NOT NULL,
        content_type VARCHAR,
        language VARCHAR,
        http_status INTEGER,
        record_locator VARCHAR,              -- file#offset or file:line where it came from
        run_id VARCHAR
    )""",
    """CREATE TABLE texts (
        text_sha256 VARCHAR PRIMARY KEY,     -- identical texts are stored once
        text VARCHAR NOT NULL
    )""",
    """CREATE TABLE evidence (
        sha256 VARCHAR PRIMARY KEY,          -- content address: the same bytes are one blob
        size BIGINT NOT NULL,
        body BLOB NOT NULL
    )""",
    """CREATE TABLE observations (
        obs_id VARCHAR PRIMARY KEY,          -- sha256 of the sighting's identity: idempotent
        evidence_sha256 VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,               -- robots.txt | tdmrep.json | ai.txt | headers | html | ...
        url VARCHAR NOT NULL,
        origin VARCHAR,
        observed_at TIMESTAMPTZ NOT NULL,
        http_status INTEGER,
        headers JSON,
        via VARCHAR NOT NULL,                -- live-fetch | corpus-record | import
        locator VARCHAR,                     -- where the sighting came from (file#offset, fetch chain)
        run_id VARCHAR
    )""",
    """CREATE TABLE signals (
        signal_id VARCHAR PRIMARY KEY,
        obs_id VARCHAR NOT NULL,
        evidence_sha256 VARCHAR NOT NULL,
        signal VARCHAR NOT NULL,             -- robots, tdmrep, x_robots_tag, ... (spec §2.1)
        category VARCHAR NOT NULL,           -- train-ai, train-any, tdm, ai-input, search, crawl
        statement VARCHAR NOT NULL,          -- reserved, permitted, conditional, none
        agents VARCHAR[] NOT NULL,
        scope VARCHAR NOT NULL,
        scope_value VARCHAR,
        locator VARCHAR,
        observed_at TIMESTAMPTZ NOT NULL,
        confidence VARCHAR NOT NULL,
        lint VARCHAR[]
    )""",
    """CREATE TABLE decisions (
        decision_id VARCHAR PRIMARY KEY,
        doc_id VARCHAR,
        url VARCHAR NOT NULL,
        policy VARCHAR NOT NULL,
        policy_version VARCHAR NOT NULL,
        usage VARCHAR NOT NULL,
        as_of TIMESTAMPTZ,
        verdict VARCHAR NOT NULL,            -- allowed | reserved | unknown
        reasons JSON NOT NULL,
        evidence_sha256 VARCHAR[] NOT NULL,
        decided_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR
    )""",
    """CREATE TABLE dup_clusters (
        method VARCHAR NOT NULL,             -- exact | minhash
        doc_id VARCHAR NOT NULL,
        cluster_id VARCHAR NOT NULL,
        is_representative BOOLEAN NOT NULL,
        similarity DOUBLE,                   -- to the representative
        run_id VARCHAR,
        PRIMARY KEY (method, doc_id)
    )""",
]

V2 = [
    """CREATE TABLE ingest_checkpoints (
        file_sha256 VARCHAR NOT NULL,        -- content of the corpus file, not its name
        source_id VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        records_done BIGINT NOT NULL,        -- records consumed and committed
        finished BOOLEAN NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (file_sha256, source_id)
    )""",
    """CREATE TABLE blocklist (
        registrable_domain VARCHAR NOT NULL,
        list_name VARCHAR NOT NULL,
        reason VARCHAR,
        PRIMARY KEY (registrable_domain, list_name)
    )""",
    # Documents and bytes per registrable domain and source: the base of the EU summary's 2.3.
    """CREATE VIEW documents_per_domain AS
        SELECT d.registrable_domain, d.source_id, s.category,
               count(*) AS documents, sum(d.raw_bytes)::BIGINT AS raw_bytes,
               sum(d.token_count)::BIGINT AS tokens,
               min(d.fetched_at) AS first_fetched, max(d.fetched_at) AS last_fetched
        FROM documents d LEFT JOIN sources s USING (source_id)
        GROUP BY ALL""",
    # Every sighting of every per-origin artefact, oldest first: "show me the robots.txt we saw".
    """CREATE VIEW evidence_history AS
        SELECT o.origin, o.kind, o.observed_at, o.url, o.http_status, o.via, o.locator,
               o.evidence_sha256, e.size,
               o.evidence_sha256 IS DISTINCT FROM lag(o.evidence_sha256)
                   OVER (PARTITION BY o.origin, o.kind ORDER BY o.observed_at) AS changed
        FROM observations o JOIN evidence e ON e.sha256 = o.evidence_sha256
        ORDER BY o.origin, o.kind, o.observed_at""",
]

V3 = [
    # The newest decision per document, policy, usage and as-of mode: what an audit reports.
    """CREATE VIEW document_verdicts AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT d.*, row_number() OVER (PARTITION BY doc_id, policy, usage, as_of
                                           ORDER BY decided_at DESC, decision_id) AS rn
            FROM decisions d WHERE doc_id IS NOT NULL)
        WHERE rn = 1""",
    # Verdict counts per registrable domain and source: the base of the summary's section 3.1.
    """CREATE VIEW verdicts_per_domain AS
        SELECT d.registrable_domain, d.source_id, v.policy, v.verdict, count(*) AS documents,
               sum(d.raw_bytes)::BIGINT AS raw_bytes, sum(d.token_count)::BIGINT AS tokens
        FROM document_verdicts v JOIN documents d USING (doc_id)
        GROUP BY ALL""",
]

V4 = [
    # Every published version of the EU summary, for the six-monthly update and its diff.
    """CREATE TABLE summaries (
        version INTEGER PRIMARY KEY,
        generated_at TIMESTAMPTZ NOT NULL,
        manifest VARCHAR,
        content_sha256 VARCHAR NOT NULL,     -- of the content without the header's date
        document JSON NOT NULL
    )""",
    # Share of documents and tokens reserved per agent signal, domain and month of collection.
    """CREATE VIEW reserved_share_per_month AS
        SELECT strftime(d.fetched_at, '%Y-%m') AS month, v.policy, count(*) AS documents,
               count(*) FILTER (WHERE v.verdict = 'reserved') AS reserved_documents,
               coalesce(sum(d.token_count), 0)::BIGINT AS tokens,
               coalesce(sum(d.token_count) FILTER (WHERE v.verdict = 'reserved'), 0)::BIGINT AS reserved_tokens
        FROM document_verdicts v JOIN documents d USING (doc_id) GROUP BY ALL""",
]

V5 = [
    # MinHash signatures, kept so that documents added later are clustered without recomputing.
    """CREATE TABLE dedup_signatures (
        doc_id VARCHAR NOT NULL,
        params VARCHAR NOT NULL,             -- e.g. sha1-affine32/128/seed1/words5
        signature BLOB NOT NULL,             -- num_perm little-endian uint32 values
        PRIMARY KEY (doc_id, params)
    )""",
    # Every cluster with each member's source, domain, verdict and similarity: copies of an
    # opted-out work hosted elsewhere stay visible.
    """CREATE VIEW cluster_provenance AS
        SELECT c.method, c.cluster_id, c.doc_id, c.is_representative, c.similarity,
               d.source_id, d.registrable_domain, d.url, v.policy, v.verdict
        FROM dup_clusters c JOIN documents d USING (doc_id)
        LEFT JOIN document_verdicts v ON v.doc_id = c.doc_id AND v.as_of IS NULL""",
    # A cluster is reserved if any member is (policy option for copies of opted-out works).
    """CREATE VIEW cluster_verdicts AS
        SELECT c.method, c.cluster_id, v.policy,
               CASE WHEN bool_or(v.verdict = 'reserved') THEN 'reserved'
                    WHEN bool_or(v.verdict = 'allowed') THEN 'allowed' ELSE 'unknown' END AS verdict,
               count(*) AS members, count(DISTINCT d.registrable_domain) AS domains,
               list(DISTINCT d.source_id ORDER BY d.source_id) AS sources
        FROM dup_clusters c JOIN documents d USING (doc_id)
        LEFT JOIN document_verdicts v ON v.doc_id = c.doc_id AND v.as_of IS NULL
        GROUP BY ALL""",
]

V6 = [
    # How each live fetch went, per run: robots.txt 2xx / 4xx / unreachable / edge-blocked, ...
    """CREATE VIEW fetch_outcomes AS
        SELECT run_id, kind, json_extract_string(locator, '$.outcome') AS outcome,
               count(DISTINCT origin) AS origins
        FROM observations WHERE via = 'live-fetch' GROUP BY ALL""",
]

V7 = [
    # A decision's reasons are shared by every document decided alike (same evidence, same rule
    # hit): stored once per outcome, referenced by each decision row. Rows written before v7 keep
    # their reasons inline.
    """CREATE TABLE decision_outcomes (
        outcome VARCHAR PRIMARY KEY,         -- sha256 of `reasons`, 32 hex digits
        verdict VARCHAR NOT NULL,
        reasons JSON NOT NULL,               -- the decision (verdict, reasons, checked, ...) minus its URL
        evidence_sha256 VARCHAR[] NOT NULL
    )""",
    # Decisions are written a million at a time: no ART index on decision_id (its upkeep cost
    # more than the rest of a bulk write); writes skip existing ids with an anti-join instead.
    """CREATE TABLE decisions_v7 (
        decision_id VARCHAR NOT NULL,
        doc_id VARCHAR,
        url VARCHAR NOT NULL,
        policy VARCHAR NOT NULL,
        policy_version VARCHAR NOT NULL,
        usage VARCHAR NOT NULL,
        as_of TIMESTAMPTZ,
        verdict VARCHAR NOT NULL,            -- allowed | reserved | unknown
        reasons JSON,                        -- inline before v7; since v7 in decision_outcomes
        evidence_sha256 VARCHAR[],           -- idem
        decided_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR,
        outcome VARCHAR                      -- decision_outcomes.outcome
    )""",
    "INSERT INTO decisions_v7 SELECT *, NULL FROM decisions",
    "DROP TABLE decisions",
    "ALTER TABLE decisions_v7 RENAME TO decisions",
    # Every statement of every sighting (scanner.signals.statements), for legal queries; which
    # sightings were read, so a re-run reads only new ones.
    "ALTER TABLE signals ADD COLUMN detail VARCHAR",
    """CREATE TABLE signal_extractions (
        obs_id VARCHAR PRIMARY KEY,
        signals INTEGER NOT NULL,            -- statements found (0 is an answer too)
        extracted_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE OR REPLACE VIEW document_verdicts AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT d.* REPLACE (coalesce(d.reasons, o.reasons) AS reasons,
                                coalesce(d.evidence_sha256, o.evidence_sha256) AS evidence_sha256),
                   row_number() OVER (PARTITION BY d.doc_id, d.policy, d.usage, d.as_of
                                      ORDER BY d.decided_at DESC, d.decision_id) AS rn
            FROM decisions d LEFT JOIN decision_outcomes o USING (outcome) WHERE d.doc_id IS NOT NULL)
        WHERE rn = 1""",
]

_LEGACY_OUTCOME = "coalesce(outcome, substr(sha256(reasons::VARCHAR), 1, 32))"
_LEGACY_SET = (
    "substr(sha256(concat_ws(chr(31), coalesce(run_id, ''), policy, policy_version, usage, "
    "coalesce(as_of::VARCHAR, ''), decided_at::VARCHAR)), 1, 32)"
)

V8 = [
    # Narrow decisions: what one decide run shares (policy, as-of mode, time) is stored once in
    # `decision_sets`; each document's row is (doc_id, outcome, set_id). The id and the URL are
    # computed in the `decisions` view, so a million-row run writes three short columns.
    """CREATE TABLE decision_sets (
        set_id VARCHAR PRIMARY KEY,          -- the decide run's id (a synthetic id for pre-v8 rows)
        run_id VARCHAR,
        policy VARCHAR NOT NULL,
        policy_version VARCHAR NOT NULL,
        usage VARCHAR NOT NULL,
        as_of TIMESTAMPTZ,
        as_of_key VARCHAR NOT NULL,          -- as_of in ISO form, '' for each document's own time
        decided_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE decision_rows (
        doc_id VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL,            -- decision_outcomes.outcome
        set_id VARCHAR NOT NULL              -- decision_sets.set_id
    )""",
    f"""INSERT OR IGNORE INTO decision_outcomes
        SELECT o, any_value(verdict), any_value(reasons), any_value(evidence_sha256)
        FROM (SELECT {_LEGACY_OUTCOME} AS o, * FROM decisions WHERE outcome IS NULL AND doc_id IS NOT NULL)
        GROUP BY o""",
    f"""INSERT INTO decision_sets
        SELECT s, any_value(run_id), any_value(policy), any_value(policy_version), any_value(usage),
               any_value(as_of), coalesce(any_value(as_of)::VARCHAR, ''), any_value(decided_at)
        FROM (SELECT {_LEGACY_SET} AS s, * FROM decisions WHERE doc_id IS NOT NULL) GROUP BY s""",
    f"""INSERT INTO decision_rows SELECT DISTINCT doc_id, {_LEGACY_OUTCOME}, {_LEGACY_SET}
        FROM decisions WHERE doc_id IS NOT NULL""",
    "DROP TABLE decisions",
    f"""CREATE VIEW decisions AS
        SELECT {DECISION_ID_SQL} AS decision_id, r.doc_id, d.url, s.policy, s.policy_version, s.usage, s.as_of,
               o.verdict, o.reasons, o.evidence_sha256, s.decided_at, s.run_id, r.outcome
        FROM decision_rows r JOIN decision_sets s USING (set_id)
        JOIN decision_outcomes o USING (outcome) LEFT JOIN documents d USING (doc_id)""",
    """CREATE OR REPLACE VIEW document_verdicts AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT d.*, row_number() OVER (PARTITION BY d.doc_id, d.policy, d.usage, d.as_of
                                           ORDER BY d.decided_at DESC, d.outcome) AS rn
            FROM decisions d)
        WHERE rn = 1""",
]

# v9: the playing time of audio and video documents (a `duration` field of the corpus, or the
# media's own header), so the summary measures hours instead of counting files.
V9 = ["ALTER TABLE documents ADD COLUMN IF NOT EXISTS duration_seconds DOUBLE"]


V10 = [
    # verdicts_per_domain counted each document once per --as-of run; now it is the audit's own
    # reading (each document as of its fetch time) and the as-of runs have a view of their own.
    """CREATE OR REPLACE VIEW verdicts_per_domain AS
        SELECT d.registrable_domain, d.source_id, v.policy, v.verdict, count(*) AS documents,
               sum(d.raw_bytes)::BIGINT AS raw_bytes, sum(d.token_count)::BIGINT AS tokens
        FROM document_verdicts v JOIN documents d USING (doc_id)
        WHERE v.as_of IS NULL
        GROUP BY ALL""",
    """CREATE OR REPLACE VIEW verdicts_per_domain_as_of AS
        SELECT d.registrable_domain, d.source_id, v.policy, v.as_of, v.verdict, count(*) AS documents,
               sum(d.raw_bytes)::BIGINT AS raw_bytes, sum(d.token_count)::BIGINT AS tokens
        FROM document_verdicts v JOIN documents d USING (doc_id)
        WHERE v.as_of IS NOT NULL
        GROUP BY ALL""",
]

V11 = [
    # Each robots.txt's rules compiled once, when it is stored (`scanner.decide.rules`): the rule
    # sets its groups make, which product token reaches which set, and each set's rules as SQL
    # LIKE patterns in priority order. `decide` joins these instead of parsing; `rules_version`
    # names the parser and compiler that wrote them, so a new parser recompiles (old stores: on
    # the first decide).
    """CREATE TABLE robots_compiled (
        sha256 VARCHAR NOT NULL,             -- evidence.sha256
        rules_version VARCHAR NOT NULL,
        content_usage BOOLEAN NOT NULL,      -- has Content-Usage lines (path-scoped: rules alone do not decide)
        licences BOOLEAN NOT NULL,           -- has RSL License: lines
        oversized BOOLEAN NOT NULL,          -- its rule sets pass the compile bound: no rules kept, decided one by one
        parsed VARCHAR NOT NULL,             -- the parsed file as JSON (dropped in v13)
        PRIMARY KEY (sha256, rules_version)
    )""",
    """CREATE TABLE robots_compiled_agents (
        sha256 VARCHAR NOT NULL,
        rules_version VARCHAR NOT NULL,
        token VARCHAR NOT NULL,              -- a product token a group names; '*': every other token
        ruleset INTEGER NOT NULL,            -- the file's rule set that token gets
        PRIMARY KEY (sha256, rules_version, token)
    )""",
    """CREATE TABLE robots_compiled_rules (
        sha256 VARCHAR NOT NULL,
        rules_version VARCHAR NOT NULL,
        ruleset INTEGER NOT NULL,
        priority INTEGER NOT NULL,           -- 0 first: the first rule that matches decides
        pattern VARCHAR NOT NULL,            -- SQL LIKE pattern, '\\' escapes
        prefix VARCHAR NOT NULL,             -- the pattern's literal prefix
        bucket VARCHAR,                      -- its first characters, the join key to paths (NULL: shorter)
        PRIMARY KEY (sha256, rules_version, ruleset, priority)
    )""",
]


def _rebuilt(table: str, columns: str) -> list[str]:
    """Rebuild a table with new column definitions (no PRIMARY KEY, another compression): the rows
    copied by name."""
    return [
        f"CREATE TABLE {table}_rebuilt ({columns})",
        f"INSERT INTO {table}_rebuilt BY NAME SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_rebuilt RENAME TO {table}",
    ]


# v12: the tables ingest fills (documents, texts, and the evidence found in the corpus) lose their
# ART index. Its upkeep grew with the table (300k documents: 253 s with it, 47 s without); the
# store's writer keeps them unique instead (`scanner.store.keys`: a hash of every key in memory,
# an exact anti-join only for the rows it flags), so a write costs the same at 10M rows as at 100k.
V12 = [
    *_rebuilt(
        "documents",
        """doc_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL, url VARCHAR, origin VARCHAR, host VARCHAR,
        registrable_domain VARCHAR, fetched_at TIMESTAMPTZ, content_sha256 VARCHAR NOT NULL,
        raw_bytes BIGINT NOT NULL, text_sha256 VARCHAR, token_count BIGINT, modality VARCHAR NOT NULL,
        content_type VARCHAR, language VARCHAR, http_status INTEGER, record_locator VARCHAR, run_id VARCHAR,
        duration_seconds DOUBLE""",
    ),
    *_rebuilt("texts", "text_sha256 VARCHAR NOT NULL, text VARCHAR NOT NULL"),
    *_rebuilt("evidence", "sha256 VARCHAR NOT NULL, size BIGINT NOT NULL, body BLOB NOT NULL"),
    *_rebuilt(
        "observations",
        """obs_id VARCHAR NOT NULL, evidence_sha256 VARCHAR NOT NULL, kind VARCHAR NOT NULL, url VARCHAR NOT NULL,
        origin VARCHAR, observed_at TIMESTAMPTZ NOT NULL, http_status INTEGER, headers JSON, via VARCHAR NOT NULL,
        locator VARCHAR, run_id VARCHAR""",
    ),
]

# v13: each compiled robots.txt keeps a decision view in place of its whole parse (`decision`:
# what a decision reads of it, a third of the JSON, half the time to rebuild;
# `scanner.decide.rules.decision_json`). The rows compiled before have none: they go, and the
# next decide compiles those files again, once (as it does a pre-v11 store's).
V13 = [
    "DELETE FROM robots_compiled_rules",
    "DELETE FROM robots_compiled_agents",
    "DELETE FROM robots_compiled",
    "ALTER TABLE robots_compiled DROP COLUMN parsed",
    "ALTER TABLE robots_compiled ADD COLUMN decision VARCHAR",
]

# v14: `dedup_signatures` loses its ART index too, kept unique by the writer as v12's tables are.
# DuckDB wrote the index out at every checkpoint, and `provenance dedup` (lock-free, so it commits
# and closes the file per batch) checkpoints per batch: at 5M signatures a batch of 10,000 cost
# more in the index and the checkpoint than in hashing (10M: 2,500 docs/s against 8,900 at 1M).
V14 = _rebuilt("dedup_signatures", "doc_id VARCHAR NOT NULL, params VARCHAR NOT NULL, signature BLOB NOT NULL")

# v15: the signatures are stored uncompressed. They are random 32-bit words, so DuckDB's analysis
# finds nothing (DICT_FSST of 100k signatures: the same 53 MB) and costs the writer 1.75 CPU-s per
# 100k signatures at each checkpoint, against 0.54 uncompressed: a tenth of a dedup's CPU, spent on
# the coordinator that the signature workers wait for.
V15 = _rebuilt(
    "dedup_signatures",
    "doc_id VARCHAR NOT NULL, params VARCHAR NOT NULL, signature BLOB NOT NULL USING COMPRESSION uncompressed",
)

# v16: `dup_clusters` loses its ART index. A dedup replaces a method's rows in one transaction
# (a DELETE and an INSERT from its scratch table, which holds each document once), and committing
# the DELETE through the index cost 0.41 s at 32k cluster rows (100k documents) against 0.01 s
# without: the largest step left after the last signature, in every dedup.
V16 = _rebuilt(
    "dup_clusters",
    """method VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, cluster_id VARCHAR NOT NULL,
    is_representative BOOLEAN NOT NULL, similarity DOUBLE, run_id VARCHAR""",
)

MIGRATIONS: dict[int, list[str]] = {
    1: V1, 2: V2, 3: V3, 4: V4, 5: V5, 6: V6, 7: V7, 8: V8, 9: V9, 10: V10, 11: V11, 12: V12, 13: V13,
    14: V14, 15: V15, 16: V16,
}  # fmt: skip
LATEST = max(MIGRATIONS)
