"""SQL of the compiled robots.txt rules (v11; decision views v13): written when a robots.txt is stored.

A file's rules depend only on its bytes, so they are kept per sha256 (and per `rules_version`,
the parser and compiler that made them): `robots_compiled` (one row per file: what besides rules
its decisions depend on), `robots_compiled_agents` (which rule set each product token gets) and
`robots_compiled_rules` (each set's rules as LIKE patterns, in priority order). A policy's rule
sets per file follow in SQL from its agents' tokens (`policy_rules`), so `decide` parses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from scanner.store.store import Store

_BATCH = 2000  # files per read of uncompiled bodies (bounded memory: bodies are up to 512 kB)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    pattern: str  # SQL LIKE pattern, `\` escapes
    prefix: str  # literal prefix
    bucket: str | None  # the prefix's first characters (the join key), None when shorter


@dataclass(frozen=True, slots=True)
class CompiledRobots:
    """One robots.txt's rules as decide joins them."""

    sha256: str
    content_usage: bool  # Content-Usage lines: path-scoped, the rules alone do not decide
    licences: bool  # RSL `License:` lines
    oversized: bool  # more rule rows than a file may compile to: no rules stored, decided one by one
    agents: tuple[tuple[str, int], ...]  # (product token, rule set); "*" for every other token
    rulesets: tuple[tuple[CompiledRule, ...], ...]  # per rule set, in priority order
    decision: str  # what decisions read of it, as JSON (`scanner.decide.rules.decision_json`)


def compiled_among(store: Store, shas: Sequence[str], version: str) -> set[str]:
    """Which of these files are compiled at this version."""
    if not shas:
        return set()
    with store.temporary("compiled_probe", pa.table({"sha256": pa.array(list(shas), pa.string())})):
        found = store.query(
            """SELECT p.sha256 FROM compiled_probe p JOIN robots_compiled c USING (sha256)
            WHERE c.rules_version = ?""",
            [version],
        )
    return set(found.column(0).to_pylist())


def decisions_of(store: Store, shas: Sequence[str], version: str) -> list[tuple[str, str]]:
    """(sha256, decision view JSON) of these files, where compiled at this version."""
    return _column_of(store, shas, version, "decision")


def _column_of(store: Store, shas: Sequence[str], version: str, column: str) -> list[tuple[str, str]]:
    # The shas go as a list parameter, not a registered Arrow table: bulk decide reads this on a
    # second connection in a thread while the first registers its own tables, and DuckDB's Python
    # replacement scan is not safe across the two (seen once in CI: "Table Function with name
    # python_arrow_scan does not exist").
    found = store.query(
        f"""SELECT c.sha256, c.{column} FROM robots_compiled c
        WHERE c.rules_version = ? AND c.sha256 IN (SELECT unnest(?::VARCHAR[]))""",
        [version, list(shas)],
    )
    return list(zip(found.column(0).to_pylist(), found.column(1).to_pylist(), strict=True))


def uncompiled(store: Store, version: str) -> Iterator[list[tuple[str, bytes]]]:
    """(sha256, body) of the robots.txt files served with a 2xx and not compiled at this
    version (a store written before v11, or by an older parser), in batches."""
    shas = (
        store.query(
            """SELECT DISTINCT o.evidence_sha256 FROM observations o
        WHERE o.kind = 'robots.txt' AND o.http_status BETWEEN 200 AND 299
          AND NOT EXISTS (SELECT 1 FROM robots_compiled c
                          WHERE c.sha256 = o.evidence_sha256 AND c.rules_version = ?)
        ORDER BY 1""",
            [version],
        )
        .column(0)
        .to_pylist()
    )
    for start in range(0, len(shas), _BATCH):
        part = pa.table({"sha256": pa.array(shas[start : start + _BATCH], pa.string())})
        with store.temporary("compiled_wanted", part):
            rows = store.query("SELECT e.sha256, e.body FROM evidence e JOIN compiled_wanted USING (sha256)")
        yield list(zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True))


def write(store: Store, files: Sequence[CompiledRobots], version: str) -> int:
    """Compiled files not stored yet at this version, in one transaction; returns how many."""
    unique = {f.sha256: f for f in files}
    known = compiled_among(store, list(unique), version)
    new = [f for sha, f in unique.items() if sha not in known]
    if not new:
        return 0
    cols: dict[str, list] = {k: [] for k in ("sha256", "ruleset", "priority", "pattern", "prefix", "bucket")}
    agents: dict[str, list] = {"sha256": [], "token": [], "ruleset": []}
    for f in new:
        for token, ruleset in f.agents:
            for k, v in zip(agents, (f.sha256, token, ruleset), strict=True):
                agents[k].append(v)
        for ruleset, rules in enumerate(f.rulesets):
            for priority, r in enumerate(rules):
                for k, v in zip(cols, (f.sha256, ruleset, priority, r.pattern, r.prefix, r.bucket), strict=True):
                    cols[k].append(v)
    tables = {
        "compiled_files": pa.table(
            {
                "sha256": pa.array([f.sha256 for f in new], pa.string()),
                "content_usage": pa.array([f.content_usage for f in new], pa.bool_()),
                "licences": pa.array([f.licences for f in new], pa.bool_()),
                "oversized": pa.array([f.oversized for f in new], pa.bool_()),
                "decision": pa.array([f.decision for f in new], pa.string()),
            }
        ),
        "compiled_agents": pa.table(
            {
                "sha256": pa.array(agents["sha256"], pa.string()),
                "token": pa.array(agents["token"], pa.string()),
                "ruleset": pa.array(agents["ruleset"], pa.int32()),
            }
        ),
        "compiled_rules": pa.table(
            {k: pa.array(v, pa.int32() if k in ("ruleset", "priority") else pa.string()) for k, v in cols.items()}
        ),
    }
    with (
        store.temporary("compiled_files", tables["compiled_files"]),
        store.temporary("compiled_agents", tables["compiled_agents"]),
        store.temporary("compiled_rules", tables["compiled_rules"]),
        store.transaction(),
    ):
        for table in ("files", "agents", "rules"):
            target = "robots_compiled" + ("" if table == "files" else f"_{table}")
            store.query(f"INSERT INTO {target} BY NAME SELECT *, ? AS rules_version FROM compiled_{table}", [version])
    return len(new)


def policy_rules(store: Store, version: str, tokens: Sequence[str], has_rsl: bool, max_unbucketed: int) -> None:
    """Fill the temporary tables `bulk_rules` (sha, ruleset, priority, pattern, prefix, bucket:
    the policy's rule sets of each file `bulk_robots` names, numbered as `RobotsTxt.partition`
    numbers them, by the first policy agent each reaches) and `bulk_simple` (sha: the files whose
    decisions the rules alone make; the others are decided one by one). `tokens`: the policy's
    agents' product tokens, in policy order."""
    agents = pa.table({"pos": pa.array(range(len(tokens)), pa.int32()), "token": pa.array(list(tokens), pa.string())})
    with store.temporary("bulk_agents", agents):
        store.query(
            """CREATE OR REPLACE TEMP TABLE bulk_sets AS
            WITH files AS (SELECT DISTINCT sha FROM bulk_robots),
            reach AS (
                SELECT f.sha, p.pos, coalesce(n.ruleset, s.ruleset) AS rs
                FROM files f CROSS JOIN bulk_agents p
                JOIN robots_compiled_agents s ON s.sha256 = f.sha AND s.rules_version = $v AND s.token = '*'
                LEFT JOIN robots_compiled_agents n
                  ON n.sha256 = f.sha AND n.rules_version = $v AND n.token = p.token AND p.token <> '*')
            SELECT sha, rs, (row_number() OVER (PARTITION BY sha ORDER BY min(pos)) - 1)::INTEGER AS ruleset
            FROM reach GROUP BY sha, rs""",
            {"v": version},
        )
        store.query(
            """CREATE OR REPLACE TEMP TABLE bulk_simple AS
            WITH unbucketed AS (
                SELECT s.sha, count(r.priority) FILTER (WHERE r.bucket IS NULL) AS n
                FROM bulk_sets s LEFT JOIN robots_compiled_rules r
                  ON r.sha256 = s.sha AND r.rules_version = $v AND r.ruleset = s.rs
                GROUP BY s.sha, s.rs)
            SELECT u.sha FROM unbucketed u JOIN robots_compiled c ON c.sha256 = u.sha AND c.rules_version = $v
            WHERE NOT c.content_usage AND NOT ($rsl AND c.licences) AND NOT c.oversized
            GROUP BY u.sha HAVING max(u.n) <= $max""",
            {"v": version, "rsl": has_rsl, "max": max_unbucketed},
        )
        store.query(
            """CREATE OR REPLACE TEMP TABLE bulk_rules AS
            SELECT s.sha, s.ruleset, r.priority, r.pattern, r.prefix, r.bucket
            FROM bulk_sets s JOIN bulk_simple USING (sha)
            JOIN robots_compiled_rules r ON r.sha256 = s.sha AND r.rules_version = $v AND r.ruleset = s.rs""",
            {"v": version},
        )
