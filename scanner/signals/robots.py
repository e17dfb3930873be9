"""robots.txt per RFC 9309: bytes in, a `RobotsTxt` out that decides, explains and lints.

Pure and defensive: it never raises on junk (HTML error pages, binary, Latin-1, empty), parses at
most the first 512,000 bytes, and keeps line numbers so every verdict can point at its rule.
Reading choices follow ../shared/spec/opt-out-signals.md §3 (the RFC reading with a few documented
choices); `GOOGLE` reproduces google/robotstxt exactly where the two differ.

Why not protego alone: it cannot say which group and rule decided, drops the AI extension lines,
splits groups at unknown records, prefix-matches agent tokens and needs decoded text (see spec §4).
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, pairwise
from typing import Any

MAX_PARSE_BYTES = 512_000  # RFC 9309 §2.5: parse at least 500 KiB; we parse exactly that
MAX_LINE_BYTES = 16_664  # google/robotstxt: 8 × the longest URL browsers accept


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where readings differ, which one to apply. `RFC9309` is the default everywhere."""

    name: str
    # RFC §2.2.2: decode unreserved escapes (`%7E` == `~`), %-encode raw non-ASCII on both sides
    # (`ツ` == `%E3%83%84`). Google compares URLs as given and only escapes non-ASCII in rules.
    rfc_percent_encoding: bool
    digits_in_tokens: bool  # `AI2Bot` stays whole; Google stops the token at the first digit
    implicit_robots_txt: bool  # `/robots.txt` is always allowed (RFC §2.2.2)
    index_html_is_directory: bool  # Google: `Allow: /d/index.html` also allows `/d/`
    content_usage_is_rule: bool  # draft-ietf-aipref-attach: `Content-Usage` is a rule line


RFC9309 = Dialect("rfc9309", True, True, True, False, True)
GOOGLE = Dialect("google", False, False, False, True, False)


@dataclass(frozen=True, slots=True)
class Lint:
    """A parse finding. `line` is 1-based, None for findings about the whole file."""

    code: str
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Rule:
    allow: bool
    value: str  # the value as written, comment removed
    pattern: str  # normalised for matching (what length and comparison use)
    line: int

    @property
    def directive(self) -> str:
        return "allow" if self.allow else "disallow"


@dataclass(frozen=True, slots=True)
class Record:
    """A non-rule line kept for later stages: AI extensions, politeness, sitemaps, unknown keys."""

    key: str  # lower-case, canonical spelling
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class Group:
    agents: tuple[str, ...]  # product tokens, lower-case; '*' for the global group; '' unusable
    agent_lines: tuple[int, ...]
    rules: tuple[Rule, ...]
    records: tuple[Record, ...]  # Content-Signal, Content-Usage, License, Crawl-delay, ...

    def extensions(self, key: str) -> tuple[Record, ...]:
        return tuple(r for r in self.records if r.key == key)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a URL is allowed or not for an agent: the evidence a decision cites."""

    allowed: bool
    agent: str  # the product token looked up
    path: str  # the normalised path+query that was matched
    groups: tuple[Group, ...]  # the merged groups that applied (empty: no group applies)
    used_fallback: bool  # True when the agent had no group and `*` applied
    rule: Rule | None  # the deciding rule; None when no rule matched
    reason: str  # rule | no rule matched | no group | implicit allow (/robots.txt)

    @property
    def group_agents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for g in self.groups for a in g.agents))

    def describe(self) -> str:
        verdict = "allowed" if self.allowed else "disallowed"
        who = (
            "the * group (no group names it)"
            if self.used_fallback
            else (f"group {', '.join(self.group_agents)}" if self.groups else "no group")
        )
        if self.rule:
            return (
                f"{verdict}: {self.rule.directive.capitalize()}: {self.rule.value} "
                f"(line {self.rule.line}) in {who} matched {self.path}"
            )
        return f"{verdict}: {self.reason} in {who} for {self.path}"


# -- key spellings ---------------------------------------------------------------------------------
_CANONICAL = {
    "user-agent": "user-agent",
    "useragent": "user-agent",
    "user agent": "user-agent",
    "allow": "allow",
    "disallow": "disallow",
    "dissallow": "disallow",
    "dissalow": "disallow",
    "disalow": "disallow",
    "diasllow": "disallow",
    "disallaw": "disallow",
    "sitemap": "sitemap",
    "site-map": "sitemap",
    "content-usage": "content-usage",
    "content-signal": "content-signal",
    "license": "license",
    "crawl-delay": "crawl-delay",
    "host": "host",
    "request-rate": "request-rate",
    "visit-time": "visit-time",
    "clean-param": "clean-param",
    "noindex": "noindex",
    "llm-policy": "llm-policy",
}
_KNOWN_OTHER = {"crawl-delay", "host", "request-rate", "visit-time", "clean-param", "noindex", "llm-policy"}
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
_TOKEN_RE_NO_DIGITS = re.compile(r"[A-Za-z_-]*")
_UNICODE_TOKEN_RE = re.compile(r"[\w-]*")
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_HEX = "0123456789ABCDEF"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_NEEDS_NORMALISING = re.compile(r'[%*$\x00-\x20"<>\\^`{|}\x7f-\U0010ffff]')
# Octets RFC 3986 allows nowhere in a URI: percent-encoded on both sides before comparing.
_NOT_IN_URIS = frozenset(b'"<>\\^`{|}\x7f')


def product_token(agent: str, dialect: Dialect = RFC9309) -> str:
    """The product token of a user-agent value, lower-case (matching is case-insensitive).

    `GPTBot/1.1` -> `gptbot`, `Brightbot 1.0` -> `brightbot`, `*` -> `*`. A name with non-ASCII
    letters (`Jävla-Foobot`, `Львів-bot`) is kept whole rather than cut to its ASCII prefix, so it
    matches only itself (Google would read `J`); the parser lints it.
    """
    agent = agent.strip()
    if agent == "*" or (agent[:1] == "*" and agent[1:2].isspace()):
        return "*"
    rx = _TOKEN_RE if dialect.digits_in_tokens else _TOKEN_RE_NO_DIGITS
    token = rx.match(agent).group(0)
    after = agent[len(token) : len(token) + 1]
    if dialect.digits_in_tokens and after and not after.isascii() and after.isalnum():
        token = _UNICODE_TOKEN_RE.match(agent).group(0)
    return token.lower()


@lru_cache(maxsize=4096)
def _query_token(agent: str, dialect: Dialect) -> str:
    """The token a caller asks about. Google compares the caller's string whole."""
    if not dialect.rfc_percent_encoding:  # the Google dialect
        return agent.strip().lower()
    return product_token(agent, dialect)


# -- normalisation -----------------------------------------------------------------------------
def _normalise(text: str, *, is_pattern: bool, dialect: Dialect) -> str:
    """Percent-encoding normalisation applied alike to rules and URLs (spec §3.4).

    Non-UTF-8 input arrives with surrogate escapes, so each original octet ≥ 0x80 becomes its own
    `%XX`: distinct bytes stay distinct and no `errors="replace"` merges them.
    """
    if not dialect.rfc_percent_encoding:
        return _google_escape(text) if is_pattern else text
    if not _NEEDS_NORMALISING.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
            value = int(raw[i + 1 : i + 3], 16)
            out.append(chr(value) if value in _UNRESERVED else "%" + _HEX[value >> 4] + _HEX[value & 15])
            i += 3
            continue
        if b >= 0x80 or b <= 0x20 or b in _NOT_IN_URIS:
            out.append("%" + _HEX[b >> 4] + _HEX[b & 15])
        elif b == 0x2A and not is_pattern:
            out.append("%2A")  # a URL cannot inject wildcards
        elif b == 0x24 and (not is_pattern or i != n - 1):
            out.append("%24")  # `$` is an anchor only at the end of a pattern
        else:
            out.append(chr(b))
        i += 1
    return "".join(out)


def _google_escape(pattern: str) -> str:
    """google/robotstxt MaybeEscapePattern: upper-case escapes, %-encode octets ≥ 0x80, no more."""
    if pattern.isascii() and "%" not in pattern:
        return pattern
    raw = pattern.encode("utf-8", "surrogateescape")
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
            out.append("%" + chr(raw[i + 1]).upper() + chr(raw[i + 2]).upper())
            i += 3
            continue
        out.append("%" + _HEX[b >> 4] + _HEX[b & 15] if b >= 0x80 else chr(b))
        i += 1
    return "".join(out)


def path_of(url: str) -> str:
    """The string robots.txt rules match: path + params + query, no scheme/host/fragment.

    Same reading as google/robotstxt GetPathParamsQuery: `/a` is a path, while `a/b` and
    `//a/b` start with an authority.
    """
    start = 2 if url.startswith("//") else 0
    early_path = _first_of(url, "/?;", start)
    protocol_end = url.find("://", start)
    if protocol_end < 0 or (early_path >= 0 and early_path < protocol_end):
        protocol_end = start
    else:
        protocol_end += 3
    path_start = _first_of(url, "/?;", protocol_end)
    if path_start < 0:
        return "/"
    hash_pos = url.find("#", start)
    if 0 <= hash_pos < path_start:
        return "/"
    path = url[path_start : hash_pos if hash_pos >= 0 else len(url)]
    return path if path[0] == "/" else "/" + path


def _first_of(text: str, chars: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else -1


# -- matching --------------------------------------------------------------------------------
_ALTERNATIVES = 16  # rules a `_Matcher` node tries one by one; past that it indexes them
_MEMO_SIZE = 4096  # decided paths remembered per rule set (cleared when full: bounded memory)
_SCAN_FIRST = 4  # paths decided by a plain scan before a rule set gets its `_Matcher`
_SCAN_RULES = 64  # rule sets larger than this are never plain-scanned (the scan is unbounded)
_GRAM = 3  # length of the literal each indexed rule is filed under (`_Index.first` zips 3 shifts)
_GRAMS_PER_PART = 12  # candidate keys taken from one literal part of a rule
_FEW_KEYS = 32  # up to this many index keys, each is looked up in the path directly
_SORT_AT_ONCE = 4096  # candidate rules sorted at once; more are merged lazily from their buckets
# Work per path: literal-part lookups (each one C-level `str.find`, linear in the path) that a
# `_Matcher` may spend, about MATCH_BUDGET_CHARS characters scanned in all (at least
# MIN_LOOKUPS, at most MATCH_BUDGET lookups). Real files use a few; a path that would need more
# is decided conservatively (disallowed) and explained as `match budget exceeded`, a lint finding.
MATCH_BUDGET = 4096
MATCH_BUDGET_CHARS = 256_000
MIN_LOOKUPS = 32
BUDGET_EXCEEDED = -1  # what `_Matcher.first` answers when the budget ran out
_UNSEEN = object()  # a memo miss (None is a memoised "no rule matched")


def _split(pattern: str) -> tuple[tuple[str, ...], bool]:
    """(literal parts, anchored): `/a*b$` -> (('/a', 'b'), True). Trailing `*`s dropped."""
    anchored = pattern.endswith("$")
    parts = (pattern[:-1] if anchored else pattern).split("*")
    while not anchored and len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return tuple(parts), anchored


def _keys_of(parts: tuple[str, ...]) -> set[str]:
    """Literals every path the rule matches contains: the `_GRAM`-grams of its parts, or when
    all parts are shorter, the parts themselves ('' for a rule of wildcards only)."""
    keys = {part[i : i + _GRAM] for part in parts for i in range(0, len(part) - _GRAM + 1, _gram_step(part))}
    return keys or {part for part in parts if part} or {""}


def _gram_step(part: str) -> int:
    """Every gram of a short part, about `_GRAMS_PER_PART` spread over a long one: any subset of
    a rule's literals is a valid key, and building the index stays linear in the file."""
    return max(1, (len(part) - _GRAM + 1) // _GRAMS_PER_PART)


class _Index:
    """Many rules of one `_Matcher` node filed under one literal each (the one fewest other rules
    share), so a path only tries the rules whose literal it contains, in priority order."""

    __slots__ = ("buckets", "key_lengths", "rules")

    def __init__(self, ranked: list[tuple[int, str]]) -> None:
        split = [(rank, *_split(p)) for rank, p in ranked]
        keys = [_keys_of(parts) for _, parts, _ in split]
        shared = Counter(k for ks in keys for k in ks)
        self.buckets: dict[tuple[str, ...], list[int]] = {}  # key literal as a tuple of characters
        self.rules: dict[int, tuple[tuple[str, ...], bool]] = {}
        for (rank, parts, anchored), ks in zip(split, keys, strict=True):
            key = min(sorted(ks), key=shared.__getitem__)  # the rarest; ties: the first in order
            self.buckets.setdefault(tuple(key), []).append(rank)  # ranks arrive sorted
            self.rules[rank] = (parts, anchored)
        self.key_lengths = sorted({len(k) for k in self.buckets if k})

    def first(self, path: str, best: int | None, budget: list[int]) -> int | None:
        buckets = self.buckets
        if len(buckets) <= _FEW_KEYS:
            present = [b for k, b in buckets.items() if "".join(k) in path]
        else:  # the path's grams as tuples of characters: built in C, no string per gram
            grams = set(zip(path, path[1:], path[2:], strict=False))
            if 2 in self.key_lengths:
                grams.update(pairwise(path))
            if 1 in self.key_lengths:
                grams.update(zip(path, strict=True))
            grams.add(())
            present = [buckets[k] for k in grams.intersection(buckets)]
        total = sum(map(len, present))
        ranks = sorted(chain.from_iterable(present)) if total <= _SORT_AT_ONCE else _merged(present)
        for rank in ranks:
            if best is not None and rank > best:
                break
            parts, anchored = self.rules[rank]
            budget[0] -= len(parts)
            if budget[0] < 0:
                return BUDGET_EXCEEDED
            if _parts_match(parts, anchored, path):
                return rank
        return best


def _merged(buckets: list[list[int]]) -> Iterator[int]:
    """Sorted lists merged lazily: a heap of (head, list, position), built in C in one go; the
    caller takes only as many ranks as its budget allows."""
    heap = [(b[0], i, 0) for i, b in enumerate(buckets)]
    heapq.heapify(heap)
    while heap:
        rank, i, pos = heap[0]
        yield rank
        pos += 1
        if pos < len(buckets[i]):
            heapq.heapreplace(heap, (buckets[i][pos], i, pos))
        else:
            heapq.heappop(heap)


def lookup_budget(path: str) -> int:
    """Literal lookups a path may cost: about MATCH_BUDGET_CHARS characters compared."""
    return max(MIN_LOOKUPS, min(MATCH_BUDGET, MATCH_BUDGET_CHARS // (len(path) + 1)))


class _Matcher:
    """Rules in priority order as a tree keyed by literal prefix, so a file with thousands of
    rules tests a few per path, with a bounded amount of work (`MATCH_BUDGET`) whatever it holds.

    A node with more than `_ALTERNATIVES` rules keeps those whose literal prefix is shorter than
    `width` and hands the rest to children keyed by their first `width` characters (doubling the
    width each level). A node's own rules are tried in priority order; when many stay in one node
    they are filed in an `_Index` by a literal each must find in the path. The winner is the
    highest-priority hit on the way down.
    """

    __slots__ = ("children", "index", "rules", "width")

    def __init__(self, ranked: list[tuple[int, str]], width: int = 3) -> None:
        self.width = width
        self.children: dict[str, _Matcher] = {}
        here = ranked
        if len(ranked) > _ALTERNATIVES and width <= 256:
            here = []
            below: dict[str, list[tuple[int, str]]] = {}
            for rank, pattern in ranked:
                literal = pattern.removesuffix("$").split("*", 1)[0]
                if len(literal) < width:
                    here.append((rank, pattern))
                else:
                    below.setdefault(literal[:width], []).append((rank, pattern))
            self.children = {k: _Matcher(v, width * 2) for k, v in below.items()}
        self.index: _Index | None = None
        self.rules: tuple[tuple[int, str, bool, tuple[str, ...], bool], ...] = ()
        if len(here) > _ALTERNATIVES:
            self.index = _Index(here)
        else:  # (rank, literal prefix, whether the prefix is the whole rule, parts, anchored)
            self.rules = tuple(
                (rank, p.removesuffix("$").split("*", 1)[0], "*" not in p and not p.endswith("$"), *_split(p))
                for rank, p in here
            )

    def first(self, path: str, budget: int | None = None) -> int | None:
        """The rank (position in priority order) of the first rule that matches the path;
        `BUDGET_EXCEEDED` when finding it would take more than `budget` literal lookups."""
        return self.first_with_cost(path, budget)[0]

    def first_with_cost(self, path: str, budget: int | None = None) -> tuple[int | None, int]:
        """`first` and the literal lookups it spent (≤ budget, whatever the rules: tested)."""
        if budget is None:
            budget = lookup_budget(path)
        best = None
        left = [budget]
        node: _Matcher | None = self
        while node is not None:
            if node.index is not None:
                best = node.index.first(path, best, left)
                if best == BUDGET_EXCEEDED:
                    return best, budget
            else:
                for rank, literal, whole, parts, anchored in node.rules:
                    if best is not None and rank > best:
                        break
                    if path.startswith(literal):
                        if not whole:
                            left[0] -= len(parts)
                            if left[0] < 0:
                                return BUDGET_EXCEEDED, budget
                        if whole or _parts_match(parts, anchored, path):
                            best = rank
                            break
            node = node.children.get(path[: node.width]) if node.children else None
        return best, budget - left[0]


def rule_matches(pattern: str, path: str) -> bool:
    """Whether a normalised rule pattern matches a normalised path, uncompiled (for patterns
    tried only a few times)."""
    if "*" not in pattern:
        return path == pattern[:-1] if pattern.endswith("$") else path.startswith(pattern)
    anchored = pattern.endswith("$")
    parts = (pattern[:-1] if anchored else pattern).split("*")
    return path.startswith(parts[0]) and _wild_match(parts, anchored, path)


def _parts_match(parts: tuple[str, ...], anchored: bool, path: str) -> bool:
    """`rule_matches` on a rule already split by `_split`."""
    if len(parts) == 1:
        return path == parts[0] if anchored else path.startswith(parts[0])
    return path.startswith(parts[0]) and _wild_match(parts, anchored, path)


def _wild_match(parts: Sequence[str], anchored: bool, path: str) -> bool:
    """Linear `*` matching: literal parts found left to right (no regex, no backtracking)."""
    pos = len(parts[0])  # the first part is a prefix, checked by the caller
    for part in parts[1:-1]:
        found = path.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    last = parts[-1]
    if anchored:
        return path.endswith(last) and len(path) - len(last) >= pos
    return path.find(last, pos) >= 0


# The deciding "rule" of a path whose match would cost more than MATCH_BUDGET: disallowed (an
# opt-out may be among the rules not tried), explained as such and linted by its signal.
UNDECIDED = Rule(False, "(match budget exceeded)", "", 0)
BUDGET_REASON = "match budget exceeded"


class _RuleSet:
    """The merged rules that apply to one agent, most specific first (Allow first on ties).

    Paths are matched by a `_Matcher`, built once the set has decided a few paths: bulk decide
    only reads `ordered`, and a set asked about once is scanned rather than compiled.
    """

    __slots__ = ("fallback", "groups", "matcher", "memo", "ordered")

    def __init__(self, groups: tuple[Group, ...], fallback: bool, dialect: Dialect) -> None:
        self.groups = groups
        self.fallback = fallback
        rules = [r for g in groups for r in g.rules if r.pattern[:1] in ("/", "*")]
        if dialect.index_html_is_directory:
            rules += [
                Rule(r.allow, r.value, r.pattern[: -len("index.html")] + "$", r.line)
                for r in list(rules)
                if r.allow and r.pattern.endswith("/index.html")
            ]
        rules.sort(key=lambda r: (-len(r.pattern), not r.allow, r.line))
        self.ordered = tuple(rules)  # priority order: the first rule that matches decides
        self.matcher: _Matcher | None = None
        self.memo: dict[str, Rule | None] = {}

    def decide(self, path: str) -> Rule | None:
        """The deciding rule for a path, memoised: agents that share a group share this set."""
        memo = self.memo
        found = memo.get(path, _UNSEEN)
        if found is not _UNSEEN:
            return found
        if self.matcher is None:  # a set asked about once (bulk decide) is not worth compiling
            if len(memo) < _SCAN_FIRST and len(self.ordered) <= _SCAN_RULES:
                found = next((r for r in self.ordered if rule_matches(r.pattern, path)), None)
                memo[path] = found
                return found
            seen: set[str] = set()  # a repeated pattern never decides: the first copy wins
            self.matcher = _Matcher(
                [(i, r.pattern) for i, r in enumerate(self.ordered) if not (r.pattern in seen or seen.add(r.pattern))]
            )
        rank = self.matcher.first(path)
        found = UNDECIDED if rank == BUDGET_EXCEEDED else (None if rank is None else self.ordered[rank])
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[path] = found
        return found


def like_pattern(rule: Rule) -> tuple[str, str]:
    """(SQL LIKE pattern with `\\` as escape, literal prefix) matching exactly the normalised paths
    the rule matches: `*` -> `%`, an unanchored pattern gets a trailing `%`. For bulk matching in
    SQL; valid for paths with no `%`, `*` or `$` (those need the normaliser)."""
    pattern = rule.pattern
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    like = "%".join(p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for p in body.split("*"))
    return like + ("" if anchored else "%"), body.split("*", 1)[0]


_RESERVED_ESCAPE = re.compile(r"%(2[1-9A-Fa-f]|3[ABDFabdf]|40|5[BDbd])")
_HTTP_URL = re.compile(r"https?://[^/?;#]*", re.IGNORECASE)


def is_plain_authority(prefix: str) -> bool:
    """Whether `prefix` (scheme://authority) is where `_url_path` splits every URL starting with
    it, so `path_after` may take the rest directly."""
    return _HTTP_URL.fullmatch(prefix) is not None


def path_after(rest: str, rfc: bool = True) -> str:
    """The normalised path+query from what follows a URL's authority (see `_url_path`)."""
    rest = rest.split("#", 1)[0]
    path = rest if rest[:1] == "/" else "/" + rest
    return _normalise(path, is_pattern=False, dialect=RFC9309 if rfc else GOOGLE)


@lru_cache(maxsize=65536)
def _url_path(url: str, rfc: bool) -> str:
    """Normalised path+query of a URL, cached: pipelines ask about the same URL for many agents."""
    m = _HTTP_URL.match(url)
    if m:
        return path_after(url[m.end() :], rfc)
    path = path_of(url)
    return _normalise(path, is_pattern=False, dialect=RFC9309 if rfc else GOOGLE)


# -- the parsed file -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RobotsTxt:
    groups: tuple[Group, ...]
    sitemaps: tuple[str, ...]
    global_records: tuple[Record, ...]  # records outside any group (Content-Signal before a UA, ...)
    lint: tuple[Lint, ...]
    size: int  # bytes received
    parsed_bytes: int  # bytes parsed (≤ MAX_PARSE_BYTES)
    dialect: Dialect = RFC9309
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    _cache: dict[str, _RuleSet] = field(default_factory=dict, repr=False, compare=False)
    _shared: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for i, group in enumerate(self.groups):
            for agent in dict.fromkeys(group.agents):
                if agent:
                    self._index[agent] = (*self._index.get(agent, ()), i)

    @property
    def truncated(self) -> bool:
        return self.parsed_bytes < self.size

    def _ruleset(self, agent: str) -> _RuleSet:
        """The merged rules for an agent, cached per agent string: parse once, decide many."""
        cached = self._cache.get(agent)
        if cached is None:
            token = _query_token(agent, self.dialect)
            hits = self._index.get(token) if token != "*" else None
            fallback = not hits
            if fallback:
                hits = self._index.get("*", ())
            key = ("*" if fallback else "", *hits)
            cached = self._shared.get(key)
            if cached is None:
                groups = tuple(self.groups[i] for i in hits)
                cached = self._shared[key] = _RuleSet(groups, fallback and bool(groups), self.dialect)
            self._cache[agent] = cached
        return cached

    def partition(self, agents: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], _RuleSet], ...]:
        """Agents grouped by the rule set that applies to them (most share the `*` group), so a
        policy with many agents evaluates each distinct group once. Cached per agent tuple."""
        key = ("partition", *agents)
        cached = self._shared.get(key)
        if cached is None:
            by_set: dict[int, tuple[list[str], _RuleSet]] = {}
            for agent in agents:
                rs = self._ruleset(agent)
                by_set.setdefault(id(rs), ([], rs))[0].append(agent.lower())
            cached = self._shared[key] = tuple((tuple(a), rs) for a, rs in by_set.values())
        return cached

    def group_for(self, agent: str) -> tuple[tuple[Group, ...], bool]:
        """The groups that apply to an agent (merged per RFC 9309 §2.2.1) and whether `*` did."""
        rs = self._ruleset(agent)
        return rs.groups, rs.fallback

    def allowed(self, url: str, agent: str) -> bool:
        path = _url_path(url, self.dialect.rfc_percent_encoding)
        if path == "/robots.txt" and self.dialect.implicit_robots_txt:
            return True
        rule = self._ruleset(agent).decide(path)
        return rule is None or rule.allow

    def explain(self, url: str, agent: str) -> Explanation:
        token = _query_token(agent, self.dialect)
        path = _url_path(url, self.dialect.rfc_percent_encoding)
        rs = self._ruleset(agent)
        if self.dialect.implicit_robots_txt and path == "/robots.txt":
            return Explanation(True, token, path, rs.groups, rs.fallback, None, "implicit allow (/robots.txt)")
        if not rs.groups:
            return Explanation(True, token, path, (), False, None, "no group")
        rule = rs.decide(path)
        if rule is None:
            return Explanation(True, token, path, rs.groups, rs.fallback, None, "no rule matched")
        if rule is UNDECIDED:
            return Explanation(False, token, path, rs.groups, rs.fallback, None, BUDGET_REASON)
        return Explanation(rule.allow, token, path, rs.groups, rs.fallback, rule, "rule")

    def records(self, key: str) -> tuple[tuple[Group | None, Record], ...]:
        """Every record with this key, with the group it sits in (None: outside any group)."""
        found = [(None, r) for r in self.global_records if r.key == key]
        found += [(g, r) for g in self.groups for r in g.records if r.key == key]
        return tuple(sorted(found, key=lambda gr: gr[1].line))


# -- parsing ---------------------------------------------------------------------------------------
def _decode(body: bytes, lints: list[Lint]) -> str:
    if body.startswith(b"\xef\xbb\xbf"):
        lints.append(Lint("bom", 1, "UTF-8 byte-order mark at the start (skipped)"))
        body = body[3:]
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        lints.append(Lint("utf16", 1, "UTF-16 file (RFC 9309 requires UTF-8); decoded as UTF-16"))
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            body = body[2:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        lints.append(Lint("non_utf8", line, "bytes that are not UTF-8 (compared octet by octet)"))
        return body.decode("utf-8", "surrogateescape")


def _split_key_value(line: str) -> tuple[str, str] | None:
    colon = line.find(":")
    if colon >= 0:
        return line[:colon].strip(), line[colon + 1 :].strip()
    tokens = line.split()
    if len(tokens) == 2:  # `Disallow /`: accepted like Google, linted by the caller
        return tokens[0], tokens[1]
    return None


@lru_cache(maxsize=4096)
def _parse_cached(body: bytes, dialect: Dialect) -> RobotsTxt:
    return _parse(body, dialect)


def parse_robots(body: bytes | str, dialect: Dialect = RFC9309) -> RobotsTxt:
    """Parse a robots.txt body. Never raises; oddities become lint findings."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    if len(body) <= 65_536:
        return _parse_cached(body, dialect)
    return _parse(body, dialect)


def _parse(body: bytes, dialect: Dialect) -> RobotsTxt:
    lints: list[Lint] = []
    size = len(body)
    if size > MAX_PARSE_BYTES:
        cut = body.rfind(b"\n", 0, MAX_PARSE_BYTES) + 1
        cut = max(cut, body.rfind(b"\r", 0, MAX_PARSE_BYTES) + 1)
        body = body[:cut]
        lints.append(
            Lint(
                "truncated",
                None,
                f"{size} bytes; only the first {len(body)} parsed (limit {MAX_PARSE_BYTES}, partial last line dropped)",
            )
        )
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<")):
        lints.append(Lint("html_body", 1, "looks like HTML, not a robots.txt (an error page?)"))
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        lints.append(Lint("binary", None, "contains NUL bytes: binary, not text"))
    text = _decode(body, lints)

    groups: list[Group] = []
    sitemaps: list[str] = []
    global_records: list[Record] = []
    agents: list[str] = []
    agent_lines: list[int] = []
    rules: list[Rule] = []
    records: list[Record] = []
    in_group = False
    seen_rule = False

    def close() -> None:
        nonlocal agents, agent_lines, rules, records
        if agents:
            groups.append(Group(tuple(agents), tuple(agent_lines), tuple(rules), tuple(records)))
        agents, agent_lines, rules, records = [], [], [], []

    for number, raw in enumerate(_LINE_SPLIT.split(text), start=1):
        if len(raw) > MAX_LINE_BYTES // 4 and len(raw.encode("utf-8", "surrogateescape")) > (MAX_LINE_BYTES):
            # google/robotstxt keeps MAX_LINE_BYTES - 1 bytes (its buffer ends with a NUL)
            raw = raw.encode("utf-8", "surrogateescape")[: MAX_LINE_BYTES - 1].decode("utf-8", "surrogateescape")
            lints.append(Lint("line_too_long", number, f"longer than {MAX_LINE_BYTES} bytes: cut"))
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kv = _split_key_value(line)
        if kv is None:
            lints.append(Lint("syntax", number, f"not a `key: value` line: {line[:80]!r}"))
            continue
        written, value = kv
        lowered = written.lower()
        key = _CANONICAL.get(lowered)
        if key is None:
            lints.append(Lint("unknown_directive", number, f"unknown directive {written!r}"))
            key = lowered
        elif lowered != key:
            lints.append(Lint("misspelt_directive", number, f"{written!r} read as {key!r}"))
        if ":" not in line:
            lints.append(Lint("missing_colon", number, f"no ':' after {written!r}"))

        if key == "user-agent":
            if in_group and seen_rule:
                close()
            in_group, seen_rule = True, False
            token = product_token(value, dialect)
            if not token:
                lints.append(
                    Lint(
                        "empty_user_agent",
                        number,
                        f"user-agent {value!r} has no product token: matches nobody",
                    )
                )
            else:
                rest = value.strip()[len(token) :]
                if token != "*" and rest[:1].isspace() and rest.strip():
                    lints.append(
                        Lint(
                            "multiple_tokens_on_line",
                            number,
                            f"only {token!r} of {value!r} is the product token",
                        )
                    )
                if not token.isascii():
                    lints.append(
                        Lint(
                            "non_ascii_token",
                            number,
                            f"{value!r} is not an ASCII product token; matched whole",
                        )
                    )
                if token != "*" and any(ch.isdigit() for ch in token):
                    lints.append(
                        Lint(
                            "token_has_digits",
                            number,
                            f"{token!r} has digits: RFC 9309 tokens have none; Google "
                            f"reads {product_token(value, GOOGLE)!r}",
                        )
                    )
            agents.append(token)
            agent_lines.append(number)
        elif key in ("allow", "disallow") or (key == "content-usage" and dialect.content_usage_is_rule):
            if not in_group:
                lints.append(Lint("orphan_rule", number, f"{written} before any user-agent: ignored"))
                if key == "content-usage":
                    global_records.append(Record(key, value, number))
                continue
            seen_rule = True
            if key == "content-usage":
                records.append(Record(key, value, number))
                continue
            if not value:
                continue  # `Disallow:` allows everything: counts for grouping, never matches
            if value[0] not in "/*":
                lints.append(
                    Lint(
                        "pattern_without_slash",
                        number,
                        f"{value!r} does not start with '/' or '*': never matches",
                    )
                )
            if "%" in value and _RESERVED_ESCAPE.search(value):
                lints.append(
                    Lint(
                        "reserved_escape_in_rule",
                        number,
                        f"{value!r} escapes a reserved character: readings differ",
                    )
                )
            pattern = _normalise(value, is_pattern=True, dialect=dialect)
            rules.append(Rule(key == "allow", value, pattern, number))
        elif key == "sitemap":
            sitemaps.append(value)
        else:
            target = records if in_group else global_records
            target.append(Record(key, value, number))
    close()
    return RobotsTxt(tuple(groups), tuple(sitemaps), tuple(global_records), tuple(lints), size, len(body), dialect)


def agent_typos(robots: RobotsTxt, known_tokens: Iterable[str]) -> list[Lint]:
    """User-agent tokens one edit away from a known AI agent (`meta-external-agent`)."""
    known = {t.lower() for t in known_tokens}
    found = []
    for group in robots.groups:
        for token, line in zip(group.agents, group.agent_lines, strict=True):
            if not token or token == "*" or token in known:
                continue
            near = [k for k in known if _near(token, k)]
            if near:
                found.append(
                    Lint(
                        "agent_typo",
                        line,
                        f"{token!r} is not a known agent; did you mean {sorted(near)[0]!r}?",
                    )
                )
    return found


def _near(a: str, b: str) -> bool:
    """Within one edit (insert, delete, substitute) or one swap; short tokens excluded."""
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]
