"""robots.txt rules compiled when the file is stored, so `decide` joins them instead of parsing.

Every writer of evidence (live fetch, corpus ingest, evidence import) calls `compile_stored` with
the robots.txt bodies it stored; a store written before v11 (or by another parser) is compiled
once, on its first decide (`compile_missing`). `RULES_VERSION` names the parser and compiler:
rows of another version are ignored and recompiled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from scanner.decide.cache import licence_urls, parsed_robots
from scanner.decide.verdict import ROBOTS_LINT, has_content_usage
from scanner.evidence_model import EvidenceKind
from scanner.signals import robots
from scanner.signals.fetch_outcome import PARSED, fetch_outcome
from scanner.store import Store, robots_rules
from scanner.store.bulk_decisions import BUCKET, like_pattern
from scanner.store.robots_rules import CompiledRobots, CompiledRule


def _version() -> str:
    """A digest of the robots.txt parser's and this compiler's source: any change recompiles."""
    sources = [*sorted(Path(robots.__file__).parent.glob("*.py")), Path(__file__)]
    h = hashlib.sha256(f"bucket={BUCKET}".encode())
    for path in sources:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


RULES_VERSION = _version()


# Rule rows one file may compile to: groups shared by many tokens repeat their rules in each set,
# so a hostile file could ask for millions; past this it is decided one by one (bounded matcher).
MAX_COMPILED_RULES = 50_000


def compile_robots(sha256: str, body: bytes) -> CompiledRobots:
    """A robots.txt's rule sets: one per distinct set of groups a product token can reach (the
    fallback `*` set included), each token's set, and each set's rules in priority order."""
    parsed = parsed_robots(body, sha256)
    numbers: dict[int, int] = {}
    sets: list[tuple[CompiledRule, ...]] = []
    agents: list[tuple[str, int]] = []
    size = 0
    for token in ("*", *(t for t in parsed.tokens if t != "*")):
        rs = parsed.token_ruleset(token)
        if id(rs) not in numbers:
            size += len(rs.ordered)
            if size > MAX_COMPILED_RULES:
                agents, sets = [("*", 0)], [()]
                break
            numbers[id(rs)] = len(sets)
            sets.append(tuple(_compiled(rule) for rule in rs.ordered))
        agents.append((token, numbers[id(rs)]))
    usage, licences = has_content_usage(parsed), bool(licence_urls(body, sha256))
    oversized = size > MAX_COMPILED_RULES
    return CompiledRobots(sha256, usage, licences, oversized, tuple(agents), tuple(sets), decision_json(parsed))


_DIALECTS = {d.name: d for d in (robots.RFC9309, robots.GOOGLE)}


def _records(records: tuple[robots.RecordRow, ...]) -> list[list[object]]:
    return list(map(list, records))


# What a decision reads of a parse besides its groups: the global records of these keys
# (`records(key)` of a decision view is exact for them) and the lint of these codes.
DECISION_RECORDS = frozenset({"content-signal", "content-usage", "license"})
DECISION_LINT = frozenset(ROBOTS_LINT)


def decision_json(parsed: robots.RobotsTxt) -> str:
    """The parse as decisions read it (`decision_from_json`): every group whole, the global
    records and lint `decide` reads, no sitemaps; each group's rules as columns (a rule's
    pattern 0 when it is its value). Half the parse's JSON and of its rebuild: bulk decide reads
    one per file it decides, a parse cache never holds one (`ParseCache.overlay`)."""
    groups = [
        [
            g.agents,
            g.agent_lines,
            [allow for allow, _, _, _ in g.rule_rows],
            [value for _, value, _, _ in g.rule_rows],
            [0 if pattern == value else pattern for _, value, pattern, _ in g.rule_rows],
            [line for _, _, _, line in g.rule_rows],
            _records(g.record_rows),
        ]
        for g in parsed.groups
    ]
    records = _records(tuple(r for r in parsed.record_rows if r[0] in DECISION_RECORDS))
    lint = [list(x) for x in parsed.lint_rows if x[0] in DECISION_LINT]
    return json.dumps([groups, records, lint, parsed.size, parsed.parsed_bytes, parsed.dialect.name])


def decision_from_json(text: str) -> robots.RobotsTxt:
    groups, records, lint, size, parsed_bytes, dialect = json.loads(text)
    return robots.RobotsTxt(
        tuple(
            robots.Group(
                tuple(agents),
                tuple(lines),
                tuple(zip(allows, values, _patterns(values, patterns), rule_lines, strict=True)),
                tuple(map(tuple, recs)),
            )
            for agents, lines, allows, values, patterns, rule_lines, recs in groups
        ),
        (),
        tuple(map(tuple, records)),
        tuple(map(tuple, lint)),
        size,
        parsed_bytes,
        _DIALECTS[dialect],
    )


def _patterns(values: list[str], patterns: list[str | int]) -> list[str]:
    return [v if p == 0 else str(p) for v, p in zip(values, patterns, strict=True)]


def decision_views(store: Store, shas: Iterable[str]) -> dict[str, robots.RobotsTxt]:
    """These files' decision views (`decision_json`), by sha256, for `parsed_robots.overlay`."""
    return {sha: decision_from_json(text) for sha, text in robots_rules.decisions_of(store, list(shas), RULES_VERSION)}


def _compiled(rule: robots.Rule) -> CompiledRule:
    pattern, prefix = like_pattern(rule)
    return CompiledRule(pattern, prefix, prefix[:BUCKET] if len(prefix) >= BUCKET else None)


def compile_stored(store: Store, stored: Iterable[tuple[bytes, str, str, int | None]]) -> int:
    """Compile the robots.txt files among just-stored sightings (body, sha256, kind, HTTP status)
    that are not compiled yet; returns how many were."""
    bodies = {
        sha: body
        for body, sha, kind, status in stored
        if kind == EvidenceKind.ROBOTS_TXT and fetch_outcome(status) == PARSED
    }
    known = robots_rules.compiled_among(store, list(bodies), RULES_VERSION)
    return robots_rules.write(
        store, [compile_robots(sha, body) for sha, body in bodies.items() if sha not in known], RULES_VERSION
    )


def compile_missing(store: Store) -> int:
    """Compile every stored 2xx robots.txt without rules of this version (a pre-v11 store)."""
    done = 0
    for batch in robots_rules.uncompiled(store, RULES_VERSION):
        done += robots_rules.write(store, [compile_robots(sha, body) for sha, body in batch], RULES_VERSION)
    return done
