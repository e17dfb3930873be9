"""Rule matching with bounded work per path: which rule of a set decides a path (RFC 9309 §2.2.2,
longest match, Allow on ties), through a literal-prefix tree and rare-literal index, never a
backtracking regex."""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import chain, compress, pairwise, repeat
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from scanner.signals.robots.model import RFC9309, UNDECIDED, Dialect, Group, Rule, RuleRow
from scanner.signals.robots.normalise import normalise, url_path

_ALTERNATIVES = 16  # rules a `Matcher` node tries one by one; past that it indexes them
_MEMO_SIZE = 4096  # decided paths remembered per rule set (cleared when full: bounded memory)
_SCAN_FIRST = 4  # paths a rule set decides by a budgeted plain scan before it gets its `Matcher`
_SCAN_RULES = 32_768  # rules of a set the scan's C pass over literal prefixes may run through
_SCAN_LOOKUPS = 1024  # rule tests (one per candidate, one more per `*`) a scanned path may spend
_GRAM = 3  # length of the literal each indexed rule is filed under (`_PathGrams.of` zips 3 shifts)
_GRAMS_PER_PART = 12  # candidate keys taken from one literal part of a rule
_FEW_KEYS = 32  # up to this many index literals of one length, each is looked up in the path
_SORT_AT_ONCE = 4096  # candidate rules sorted at once; more are merged lazily from their buckets
# Work per path: literal-part lookups (each one C-level `str.find`, linear in the path) that a
# `Matcher` may spend, about MATCH_BUDGET_CHARS characters scanned in all (at least
# MIN_LOOKUPS, at most MATCH_BUDGET lookups). Real files use a few; a path that would need more
# is decided conservatively (disallowed) and explained as `match budget exceeded`, a lint finding.
MATCH_BUDGET = 4096
MATCH_BUDGET_CHARS = 256_000
MIN_LOOKUPS = 32
BUDGET_EXCEEDED = -1  # what `Matcher.first` answers when the budget ran out
_UNSEEN = Rule(False, "(memo miss)", "", -1)  # a memo miss (None is a memoised "no rule matched")
_Literal = str | tuple[str, ...]  # an index key, as `_keyed` files it
_NO_LITERALS: Mapping[int, Any] = MappingProxyType({})  # what a node without the tree's literals holds


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


def _keyed(literal: str) -> _Literal:
    """How `_Index` files a literal: a tuple of characters (what `_PathGrams` builds in C, no
    string per gram), or the literal itself when shorter than 2 (a character, or '')."""
    return literal if len(literal) < 2 else tuple(literal)


class _PathGrams:
    """Which of a matcher's index literals a path contains, per key length (1, 2 or 3), found
    once per path against the literals of every indexed node of the tree at once
    (`Matcher.literals`) and shared by the nodes on the path's way down: a length with up to
    `_FEW_KEYS` literals has each looked up (`str.find`, C; `Matcher.spelled`); more are probed
    with every gram of the path of that length (one pass over the path, the tuples built in C)."""

    __slots__ = ("found", "matcher", "path")

    def __init__(self, path: str, matcher: Matcher) -> None:
        self.path = path
        self.matcher = matcher
        self.found: dict[int, AbstractSet[_Literal]] = {}

    def of(self, length: int) -> AbstractSet[_Literal]:
        found = self.found.get(length)
        if found is None:
            p, literals = self.path, self.matcher.literals[length]
            spelled = self.matcher.spelled.get(length)
            if spelled is not None:
                found = {k for text, k in spelled if text in p}
            elif length == 1:
                found = literals.intersection(p)
            elif length == 2:
                found = literals.intersection(pairwise(p))
            else:
                found = literals.intersection(zip(p, p[1:], p[2:], strict=False))
            self.found[length] = found
        return found


class _Index:
    """Many rules of one `Matcher` node filed under one literal each (the one fewest other rules
    share), so a path only tries the rules whose literal it contains, in priority order.

    Which literals a path contains comes from `_PathGrams` (one pass over the path per key length
    for the whole tree). Each bucket's merge head is built once, here."""

    __slots__ = ("buckets", "by_length", "heads", "rules")

    def __init__(self, ranked: list[tuple[int, str]]) -> None:
        split = [(rank, *_split(p)) for rank, p in ranked]
        keys = [_keys_of(parts) for _, parts, _ in split]
        shared = Counter(k for ks in keys for k in ks)
        self.buckets: dict[_Literal, list[int]] = {}
        self.rules: dict[int, tuple[tuple[str, ...], bool]] = {}
        for (rank, parts, anchored), ks in zip(split, keys, strict=True):
            key = min(sorted(ks), key=shared.__getitem__)  # the rarest; ties: the first in order
            self.buckets.setdefault(_keyed(key), []).append(rank)  # ranks arrive sorted
            self.rules[rank] = (parts, anchored)
        by_length: dict[int, set[_Literal]] = {}
        for k in self.buckets:
            by_length.setdefault(len(k), set()).add(k)
        self.by_length = {n: frozenset(ks) for n, ks in by_length.items()}
        # (first rank, bucket number, position, bucket): `_merged`'s heap entries, compared on
        # (rank, number) only, which no two buckets share
        self.heads = {k: (b[0], i, 0, b) for i, (k, b) in enumerate(self.buckets.items())}

    def first(self, path: str, best: int | None, budget: list[int], grams: _PathGrams) -> int | None:
        present: list[_Literal] = []
        for length, keys in self.by_length.items():
            present += keys.intersection(grams.of(length))  # iterates the smaller set
        buckets = self.buckets
        if sum(map(len, map(buckets.__getitem__, present))) <= _SORT_AT_ONCE:
            ranks: Iterator[int] = iter(sorted(chain.from_iterable(map(buckets.__getitem__, present))))
        else:
            ranks = _merged(list(map(self.heads.__getitem__, present)))
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


def _merged(heap: list[tuple[int, int, int, list[int]]]) -> Iterator[int]:
    """Sorted buckets merged lazily from their heads (`_Index.heads`), heapified in C in one go;
    the caller takes only as many ranks as its budget allows."""
    heapq.heapify(heap)
    while heap:
        rank, i, pos, bucket = heap[0]
        yield rank
        pos += 1
        if pos < len(bucket):
            heapq.heapreplace(heap, (bucket[pos], i, pos, bucket))
        else:
            heapq.heappop(heap)


def scan_budget(path: str) -> int:
    """Rule tests a plain scan may spend on a path (`RuleSet.scan`): as many literal lookups as
    the matcher's per-path bound allows characters, at most `_SCAN_LOOKUPS`."""
    return min(_SCAN_LOOKUPS, MATCH_BUDGET_CHARS // (len(path) + 1))


def lookup_budget(path: str) -> int:
    """Literal lookups a path may cost: about MATCH_BUDGET_CHARS characters compared."""
    return max(MIN_LOOKUPS, min(MATCH_BUDGET, MATCH_BUDGET_CHARS // (len(path) + 1)))


class Matcher:
    """Rules in priority order as a tree keyed by literal prefix, so a file with thousands of
    rules tests a few per path, with a bounded amount of work (`MATCH_BUDGET`) whatever it holds.

    A node with more than `_ALTERNATIVES` rules keeps those whose literal prefix is shorter than
    `width` and hands the rest to children keyed by their first `width` characters (doubling the
    width each level). A node's own rules are tried in priority order; when many stay in one node
    they are filed in an `_Index` by a literal each must find in the path. The winner is the
    highest-priority hit on the way down.

    The work per path of n characters is bounded by construction, whatever the rules:
    at most 8 nodes on the way down (widths 3 to 384), each trying at most `_ALTERNATIVES` plain
    rules; one pass over the path per index literal length (0-3; `_PathGrams`), shared by the
    indexed nodes; per indexed node one set intersection and one heapify of at most 3n bucket
    heads, both in C; then at most `lookup_budget(n)` literal lookups (each a `str.find` of at
    most n characters and one heap step), after which the path is `BUDGET_EXCEEDED`. For an 8 KB
    path: 3 passes of 8k gram probes, 32 lookups. Building the tree (`RuleSet.compiled`) is
    linear in the rules, once per rule set.
    """

    __slots__ = ("children", "index", "literals", "rules", "spelled", "width")

    def __init__(
        self, ranked: list[tuple[int, str]], width: int = 3, *, _literals: dict[int, set[_Literal]] | None = None
    ) -> None:
        found: dict[int, set[_Literal]] = {} if _literals is None else _literals  # the tree's, by length
        self.width = width
        self.children: dict[str, Matcher] = {}
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
            self.children = {k: Matcher(v, width * 2, _literals=found) for k, v in below.items()}
        self.index: _Index | None = None
        self.rules: tuple[tuple[int, str, bool, tuple[str, ...], bool], ...] = ()
        if len(here) > _ALTERNATIVES:
            self.index = _Index(here)
            for length, keys in self.index.by_length.items():
                found.setdefault(length, set()).update(keys)
        else:  # (rank, literal prefix, whether the prefix is the whole rule, parts, anchored)
            self.rules = tuple(
                (rank, p.removesuffix("$").split("*", 1)[0], "*" not in p and not p.endswith("$"), *_split(p))
                for rank, p in here
            )
        # the root's (`_PathGrams`): every indexed node's literals of each length; the lengths with
        # few literals (and '', a rule of wildcards only) each with its text. Other nodes: none.
        self.literals: Mapping[int, frozenset[_Literal]] = _NO_LITERALS  # shared: tens of thousands of nodes
        self.spelled: Mapping[int, tuple[tuple[str, _Literal], ...]] = _NO_LITERALS
        if _literals is None and found:
            self.literals = {length: frozenset(keys) for length, keys in found.items()}
            self.spelled = {
                n: tuple(("".join(k), k) for k in keys)
                for n, keys in self.literals.items()
                if n == 0 or len(keys) <= _FEW_KEYS
            }

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
        grams: _PathGrams | None = None  # made on the first indexed node: most paths meet none
        node: Matcher | None = self
        while node is not None:
            if node.index is not None:
                grams = grams or _PathGrams(path, self)
                best = node.index.first(path, best, left, grams)
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


def rule_regex(pattern: str) -> str:
    """A rule as a regular expression matching exactly the paths it matches, in linear time:
    each `*` between literal parts finds the leftmost occurrence and commits (an atomic group),
    as `_wild_match` does, so a hostile pattern cannot make the engine backtrack (the hook
    compiles a rule set into one alternation of these)."""
    anchored = pattern.endswith("$")
    parts = (pattern[:-1] if anchored else pattern).split("*")
    while not anchored and len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing `*` matches anything, including nothing
    rx = re.escape(parts[0]) + "".join(f"(?>.*?{re.escape(p)})" for p in parts[1 : -1 if anchored else None])
    if anchored:
        rx += (".*" + re.escape(parts[-1]) if len(parts) > 1 else "") + r"\Z"
    return rx


def pattern_matches(pattern: str, url: str) -> bool:
    """An RFC 9309 path pattern as written (tdmrep.json `location`, RSL `<content url>`,
    Content-Usage paths) against a URL."""
    return rule_matches(normalise(pattern, is_pattern=True, dialect=RFC9309), url_path(url, True))


class RuleSet:
    """The merged rules that apply to one agent, most specific first (Allow first on ties).

    A set's first paths are decided by a plain scan under a work budget (`scan`); past them, or
    past the budget, by a `Matcher`, built once: bulk decide only reads `ordered`, and a cold hook
    asks each origin about a few paths, so neither builds an index for a typical file. The rules
    are kept as rows (`rows`, plain tuples the collector stops tracking); a `Rule` is built for a
    rank when it decides a path (`rule`), once, so a rank's rule is always the same object.
    """

    __slots__ = ("_rules", "fallback", "groups", "matcher", "memo", "prefixes", "rows")

    def __init__(self, groups: tuple[Group, ...], fallback: bool, dialect: Dialect) -> None:
        self.groups = groups
        self.fallback = fallback
        rows = list(chain.from_iterable(g.rule_rows for g in groups))
        patterns = list(map(itemgetter(2), rows))
        if not all(map(str.startswith, patterns, repeat(("/", "*")))):
            rows = list(compress(rows, map(str.startswith, patterns, repeat(("/", "*")))))
            patterns = list(map(itemgetter(2), rows))
        if dialect.index_html_is_directory:
            rows += [
                (allow, value, pattern[: -len("index.html")] + "$", line)
                for allow, value, pattern, line in list(rows)
                if allow and pattern.endswith("/index.html")
            ]
            patterns = list(map(itemgetter(2), rows))
        # priority order: longest pattern first, Allow first on ties, then by line. Stable sorts
        # from the last key to the first, each keyed in C (no Python call per rule); the rows of
        # one group are in line order already.
        if len(groups) > 1 or dialect.index_html_is_directory:
            rows.sort(key=itemgetter(3))
            patterns = list(map(itemgetter(2), rows))
        allows = list(map(itemgetter(0), rows))
        if any(allows) and not all(allows):
            order = sorted(range(len(rows)), key=allows.__getitem__, reverse=True)  # reverse keeps ties in order
            rows = list(map(rows.__getitem__, order))
            patterns = list(map(patterns.__getitem__, order))
        lengths = list(map(len, patterns))
        order = sorted(range(len(rows)), key=lengths.__getitem__, reverse=True)
        self.rows: tuple[RuleRow, ...] = tuple(map(rows.__getitem__, order))  # the first rule that matches decides
        self._rules: dict[int, Rule] = {}  # rank -> its `Rule`, built when first asked (`rule`)
        self.matcher: Matcher | None = None
        self.memo: dict[str, Rule | None] = {}
        self.prefixes: tuple[str, ...] | None = None  # each rule's literal prefix, for `scan`

    def rule(self, rank: int) -> Rule:
        """The rule of a rank as a `Rule`, the same object each time (the hook's path shapes are
        its id): `setdefault` keeps the first one built if two threads race."""
        found = self._rules.get(rank)
        if found is None:
            found = self._rules.setdefault(rank, Rule(*self.rows[rank]))
        return found

    @property
    def ordered(self) -> tuple[Rule, ...]:
        """Every rule in priority order, as `Rule`s (those `decide` answers with)."""
        return tuple(map(self.rule, range(len(self.rows))))

    def compiled(self) -> Matcher:
        """The set's `Matcher`, built once, on the first path that is not plain-scanned: one
        pass over the rules, linear in the file (bounded by its 512,000 parsed bytes)."""
        if self.matcher is None:
            firsts: dict[str, int] = {}  # a repeated pattern never decides: the first copy wins
            for i, pattern in enumerate(map(itemgetter(2), self.rows)):
                firsts.setdefault(pattern, i)
            self.matcher = Matcher([(i, pattern) for pattern, i in firsts.items()])
            self.prefixes = None  # the scan's, no longer asked
        return self.matcher

    def learn(self, path: str, rank: int | None) -> None:
        """A path's deciding rule (its index in `ordered`, None: no rule) found elsewhere, by bulk
        decide's SQL join over this set's compiled rules (in the same order): the set then decides
        the path without scanning or compiling."""
        if len(self.memo) >= _MEMO_SIZE:
            self.memo.clear()
        self.memo[path] = None if rank is None else self.rule(rank)

    def scan(self, path: str) -> Rule | None:
        """The plain scan's deciding rule, or `_UNSEEN` when it would cost more than the
        matcher's bound: one pass in C over the rules' literal prefixes (at most `_SCAN_RULES`),
        then in priority order a test of each rule whose prefix the path starts with, at most
        `scan_budget(path)` lookups in all (a candidate costs one, and one more per `*`: a
        search over the path). Typical files decide their first paths this way without an
        index; a hostile or huge file stops within the budget and builds its `Matcher`."""
        prefixes = self.prefixes
        if prefixes is None:
            if len(self.rows) > _SCAN_RULES:
                return _UNSEEN
            patterns = map(itemgetter(2), self.rows)  # C loops: no Python per rule
            literal = map(itemgetter(0), map(str.partition, patterns, repeat("*")))
            prefixes = self.prefixes = tuple(map(str.rstrip, literal, repeat("$")))
        left = scan_budget(path)
        rows = self.rows
        for rank in compress(range(len(rows)), map(path.startswith, prefixes)):
            pattern = rows[rank][2]
            if pattern is prefixes[rank]:  # no `*` or `$`: its prefix is the rule, which the path starts with
                return self.rule(rank) if left > 0 else _UNSEEN
            left -= 1 + pattern.count("*")
            if left < 0:
                return _UNSEEN
            if rule_matches(pattern, path):
                return self.rule(rank)
        return None

    def decide(self, path: str) -> Rule | None:
        """The deciding rule for a path, memoised: agents that share a group share this set."""
        memo = self.memo
        found = memo.get(path, _UNSEEN)
        if found is not _UNSEEN:
            return found
        if self.matcher is None and len(memo) < _SCAN_FIRST:
            found = self.scan(path)
            if found is not _UNSEEN:  # a set asked about a few times (a cold hook) is not worth compiling
                memo[path] = found
                return found
        rank = self.compiled().first(path)
        found = UNDECIDED if rank == BUDGET_EXCEEDED else (None if rank is None else self.rule(rank))
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[path] = found
        return found
