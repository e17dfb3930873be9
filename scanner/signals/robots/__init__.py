"""robots.txt per RFC 9309: bytes in, a `RobotsTxt` out that decides, explains and lints.

Pure and defensive: it never raises on junk (HTML error pages, binary, Latin-1, empty), parses at
most the first 512,000 bytes, and keeps line numbers so every verdict can point at its rule.
Reading choices follow ../shared/spec/opt-out-signals.md §3 (the RFC reading with a few documented
choices); `GOOGLE` reproduces google/robotstxt exactly where the two differ.

Why not protego alone: it cannot say which group and rule decided, drops the AI extension lines,
splits groups at unknown records, prefix-matches agent tokens and needs decoded text (see spec §4).

One job per module: `model` (the records), `tokens` (agent names), `normalise` (URLs and
patterns), `matcher` (which rule decides, bounded), `robots_txt` (the parsed file), `parser`,
`lint`. The names below are the package's public face.
"""

from __future__ import annotations

from scanner.signals.robots.lint import agent_typos
from scanner.signals.robots.matcher import (
    BUDGET_EXCEEDED,
    MATCH_BUDGET,
    Matcher,
    RuleSet,
    lookup_budget,
    pattern_matches,
    rule_matches,
    rule_regex,
)
from scanner.signals.robots.model import (
    BUDGET_REASON,
    GOOGLE,
    RFC9309,
    UNDECIDED,
    Dialect,
    Explanation,
    Group,
    Lint,
    LintRow,
    Record,
    RecordRow,
    Rule,
    RuleRow,
)
from scanner.signals.robots.normalise import (
    google_escape,
    is_plain_authority,
    normalise,
    path_after,
    path_of,
    url_path,
)
from scanner.signals.robots.parser import MAX_LINE_BYTES, MAX_PARSE_BYTES, clear_caches, parse_robots, parse_uncached
from scanner.signals.robots.robots_txt import RobotsTxt
from scanner.signals.robots.tokens import product_token, query_token

__all__ = [
    "BUDGET_EXCEEDED",
    "BUDGET_REASON",
    "GOOGLE",
    "MATCH_BUDGET",
    "MAX_LINE_BYTES",
    "MAX_PARSE_BYTES",
    "RFC9309",
    "UNDECIDED",
    "Dialect",
    "Explanation",
    "Group",
    "Lint",
    "LintRow",
    "Matcher",
    "Record",
    "RecordRow",
    "RobotsTxt",
    "Rule",
    "RuleRow",
    "RuleSet",
    "agent_typos",
    "clear_caches",
    "google_escape",
    "is_plain_authority",
    "lookup_budget",
    "normalise",
    "parse_robots",
    "parse_uncached",
    "path_after",
    "path_of",
    "pattern_matches",
    "product_token",
    "query_token",
    "rule_matches",
    "rule_regex",
    "url_path",
]
