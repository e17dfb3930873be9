"""Hostile inputs to the signal parsers cost bounded work (issue 17): robots.txt files of tens of
thousands of wildcard rules, RSL documents nested 8,000 deep, tdmrep.json files of 10,000 rules.
Bounds are checked by structure (lookups spent, what each element holds), never by timing."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.signals.robots import (
    BUDGET_EXCEEDED,
    BUDGET_REASON,
    RFC9309,
    Matcher,
    lookup_budget,
    parse_robots,
    parse_uncached,
    rule_matches,
    url_path,
)
from scanner.signals.robots import matcher as matcher_module
from scanner.signals.robots.model import UNDECIDED
from scanner.signals.robots_signals import robots_signals
from scanner.signals.rsl import parse_rsl
from scanner.signals.tdmrep import parse_tdmrep
from tests._documents import crawled
from tests._hostile import hostile_robots

HOSTILE = {"/*x%d": hostile_robots("/*x%d"), "/*%d*y$": hostile_robots("/*%d*y$")}
LONG_PATHS = (
    "/" + "".join(f"x{i}" for i in range(3000))[:8190],
    "/" + "".join(f"x{i}" for i in range(20_000, 23_000))[:8190],
    "/" + "".join(str(i) for i in range(3000))[:8190] + "y",
    "/" + "x" * 8190,
    "/" + "".join(f"{i}y" for i in range(3000))[:8190],
)


def _scan(rs, path: str):
    return next((r for r in rs.ordered if rule_matches(r.pattern, path)), None)


def test_hostile_robots_cost_is_bounded_and_never_wrong() -> None:
    """The reproduction: ~27k `/*xN` rules, ~24k `/*N*y$` rules, 8 KB paths. Every path spends
    at most its lookup budget; a decided path names the plain scan's rule; a path past the budget
    is disallowed, explained, and carries a lint finding in its signal."""
    exceeded = decided = 0
    for name, body in HOSTILE.items():
        robots = parse_robots(body)
        assert len(robots.groups[0].rules) > 20_000, name
        rs = robots.ruleset("GPTBot")
        matcher = Matcher([(i, r.pattern) for i, r in enumerate(rs.ordered)])
        for path in (*LONG_PATHS, "/x1", "/x26000", "/12y", "/a/b/99999y", "/nothing"):
            rank, cost = matcher.first_with_cost(path)
            assert cost <= lookup_budget(path), (name, path[:20])
            url = "http://example.com" + path
            e = robots.explain(url, "GPTBot")
            if rank == BUDGET_EXCEEDED:
                exceeded += 1
                assert e.reason == BUDGET_REASON and not e.allowed and not robots.allowed(url, "GPTBot")
                (sig,) = robots_signals(robots, url, ("GPTBot",))
                assert sig.statement == "reserved" and "match_budget_exceeded" in sig.lint
            else:
                decided += 1
                expected = _scan(rs, url_path(url, True))
                assert e.rule == expected, (name, path[:40])
                assert e.allowed == (expected is None or expected.allow)
    assert exceeded and decided  # both branches are exercised by the reproduction


_PART = st.text(alphabet="ab/.", min_size=0, max_size=4)


@st.composite
def _rules(draw):
    patterns = draw(
        st.lists(
            st.builds(
                lambda parts, anchored: "/" + "*".join(parts) + ("$" if anchored else ""),
                st.lists(_PART, min_size=1, max_size=4),
                st.booleans(),
            ),
            min_size=17,
            max_size=300,
        )
    )
    return patterns


@settings(max_examples=60, deadline=None)
@given(_rules(), st.lists(st.text(alphabet="ab/.x", max_size=24).map(lambda s: "/" + s), min_size=1, max_size=20))
def test_indexed_matcher_equals_plain_scan(patterns: list[str], paths: list[str]) -> None:
    """Many wildcard rules in one node go through the literal index: the same first rule as the
    plain scan, and no budget ever reached on such files."""
    ranked = sorted(enumerate(patterns), key=lambda ip: (-len(ip[1]), ip[0]))
    ordered = [p for _, p in ranked]
    matcher = Matcher(list(enumerate(ordered)))
    for path in paths:
        scan = next((i for i, p in enumerate(ordered) if rule_matches(p, path)), None)
        assert matcher.first(path) == scan, (path, ordered)
        # candidates merged lazily instead of sorted; every literal length found by a gram pass
        saved = matcher_module._SORT_AT_ONCE, matcher_module._FEW_KEYS
        matcher_module._SORT_AT_ONCE = matcher_module._FEW_KEYS = 0
        try:
            assert Matcher(list(enumerate(ordered))).first(path) == scan, (path, ordered)
        finally:
            matcher_module._SORT_AT_ONCE, matcher_module._FEW_KEYS = saved


def test_one_pass_over_the_path_per_literal_length(monkeypatch) -> None:
    """The per-path bound by construction: however many indexed nodes a path goes down through
    (here one per level of the tree), its grams of each length are enumerated once, against all
    of them; the answer stays the plain scan's."""
    levels = ("/", "/abc", "/abcdef", "/abcdefghijkl")
    patterns = [f"{p}*{w}{i}" for p in levels for w in ("x", "yz", "qrs") for i in range(40)]
    ordered = sorted(patterns, key=lambda p: (-len(p), p))
    monkeypatch.setattr(matcher_module, "_FEW_KEYS", 0)  # every length by a gram pass
    matcher = Matcher(list(enumerate(ordered)))
    passes: list[int] = []

    class Counted(matcher_module._PathGrams):
        __slots__ = ()

        def of(self, length: int):  # type: ignore[no-untyped-def]
            if length not in self.found:
                passes.append(length)
            return super().of(length)

    monkeypatch.setattr(matcher_module, "_PathGrams", Counted)
    for path in ("/abcdefghijklmnop/x39", "/abcdefghijkl/qrs7yz3", "/abcdef/none", "/abcdefghijklmn/" + "yz1" * 50):
        passes.clear()
        scan = next((i for i, p in enumerate(ordered) if rule_matches(p, path)), None)
        assert matcher.first(path) == scan, path
        assert len(passes) == len(set(passes)) and passes, (path, passes)
    nodes, indexed = [matcher], []
    while nodes:
        node = nodes.pop()
        nodes += node.children.values()
        indexed += [node] if node.index is not None else []
    assert len(indexed) >= 3 and set(matcher.literals) >= {2, 3}


def test_hostile_first_paths_stop_within_the_scan_budget(monkeypatch) -> None:
    """A cold rule set scans its first paths instead of building its index, but never past the
    budget: on the hostile files each path tests at most `scan_budget` rules (the C pass over
    literal prefixes apart); a path decided within it names the plain scan's rule, any other
    builds the set's `Matcher` and is answered by it. A short file scans its first paths and
    builds nothing."""
    tested: list[str] = []

    def counted(pattern: str, path: str) -> bool:
        tested.append(pattern)
        return rule_matches(pattern, path)

    monkeypatch.setattr(matcher_module, "rule_matches", counted)
    built = 0
    for body in HOSTILE.values():
        for path in (LONG_PATHS[0], LONG_PATHS[2], "/x1", "/nothing"):
            rs = parse_uncached(body, RFC9309).ruleset("GPTBot")  # a new parse: a cold set
            tested.clear()
            found = rs.decide(path)
            assert len(tested) <= matcher_module.scan_budget(path), path[:20]
            assert rs.memo == {path: found}
            if rs.matcher is None:
                assert found is _scan(rs, path), path[:20]
            else:
                built += 1
                rank = rs.matcher.first(path)
                assert found is (UNDECIDED if rank == BUDGET_EXCEEDED else None if rank is None else rs.ordered[rank])
    assert built >= 6
    rs = parse_robots(b"User-agent: *\nDisallow: /*.pdf$\nAllow: /a*b\nDisallow: /a\n").ruleset("GPTBot")
    got = [rs.decide(p) for p in ("/a/b", "/x.pdf", "/a", "/c")]
    assert got == [_scan(rs, p) for p in ("/a/b", "/x.pdf", "/a", "/c")] and got[0] is not None
    assert rs.matcher is None


def test_index_is_built_once_per_rule_set_before_any_path() -> None:
    """`RuleSet.compiled` builds the hostile file's index apart from any path (the bench times it
    apart), and `decide` then uses that same matcher."""
    robots = parse_robots(HOSTILE["/*x%d"])
    rs = robots.ruleset("GPTBot")
    assert rs.matcher is None
    matcher = rs.compiled()
    assert rs.matcher is matcher and rs.compiled() is matcher
    assert robots.explain("http://example.com/x5", "GPTBot").rule == _scan(rs, "/x5")
    assert rs.matcher is matcher


def test_nested_rsl_is_one_pass() -> None:
    """8,000 nested `<content>` elements (the reproduction took 85 s): each holds its own
    prohibition only (one pass, no subtree re-scan), and the nesting is linted."""
    n = 8000
    body = (
        '<rsl xmlns="https://rslstandard.org/rsl">'
        + "".join(f'<content url="/{i}/"><license><prohibits>t{i}</prohibits></license>' for i in range(n))
        + "</content>" * n
        + "</rsl>"
    ).encode()
    contents, lint = parse_rsl(body)
    assert len(contents) == n and lint == ("rsl_nested_content",)
    assert all(c.prohibits == {f"t{i}"} and c.url == f"/{i}/" for i, c in enumerate(contents))


def test_flat_rsl_reads_as_before() -> None:
    body = b"""<rsl xmlns="https://rslstandard.org/rsl"><content url="/a/" server="https://l.example">
      <license><permits type="usage">ai-train search</permits><prohibits type="geo">ru</prohibits>
      <payment type="purchase"><amount currency="EUR">10</amount></payment></license></content>
      <content url="/b/"><license><prohibits>ai-all</prohibits></license></content></rsl>"""
    (a, b), lint = parse_rsl(body)
    assert lint == ()
    assert a.permits == {"ai-train", "search"} and a.restricted and a.payments == ("purchase",)
    assert a.prices == ("10 EUR",) and a.server == "https://l.example"
    assert b.prohibits == {"ai-all"} and not b.restricted


def test_tdmrep_of_10k_rules_is_indexed_and_reads_as_the_scan() -> None:
    """A 10,000-rule tdmrep.json: looked up through the index, with the same rule and the same
    shadowed-rule lint as the rule-by-rule reading, on URLs that hit early, late and no rule."""
    rules = [{"location": f"/{i}/*x{i % 97}", "tdm-reservation": i % 2} for i in range(10_000)]
    rules += [{"location": "/5/*x5/deeper", "tdm-reservation": 1}, {"location": "/*", "tdm-reservation": 0}]
    f = parse_tdmrep(json.dumps(rules).encode())
    urls = [f"http://e.com/{i}/a/x{i % 97}" for i in range(0, 12_000, 397)]
    urls += ["http://e.com/5/ax5/deeper", "http://e.com/none", "http://e.com/9999/x95"]
    for url in urls:
        assert f.lookup(url) == f._scan(url), url
    assert f.lookup("http://e.com/5/ax5/deeper")[1] == ("tdmrep_shadowed_rule",)
    assert f._index  # the index was used


def test_bulk_decide_sends_a_hostile_file_one_by_one(tmp_path) -> None:
    """A store with the `/*xN` file for one origin and a benign file for another: bulk `decide`
    writes a decision per document, the hostile origin's through the bounded one-by-one path
    (never as ~27k LIKE rules joined to every path), each equal to `decide()` alone."""
    from datetime import UTC, datetime, timedelta

    from scanner import api
    from scanner.corpus.records import sha256_hex
    from scanner.decide import decide, make_policy
    from scanner.evidence import EvidenceIndex, Observation, write_observations
    from scanner.store import Store

    seen = datetime(2025, 1, 1, tzinfo=UTC)
    bodies = {"h": HOSTILE["/*x%d"], "b": b"User-agent: *\nDisallow: /private\n"}
    paths = ["/", "/x12/y", "/a" + "".join(f"x{i}" for i in range(900)), "/private/x", "/nothing"]
    docs = [
        crawled(n, f"{k}.example", p, seen + timedelta(hours=1))
        for n, (k, p) in enumerate((k, p) for k in bodies for p in paths)
    ]
    with Store.open(tmp_path / "h.duckdb") as store:
        write_observations(
            store,
            [
                (b, Observation(sha256_hex(b), "robots.txt", f"https://{k}.example/robots.txt", seen, "import", 200))
                for k, b in bodies.items()
            ],
        )
        store.write_documents(docs)
        stats = api.decide_documents(store, "any-ai-trainer")
        stored = {r["doc_id"]: r["verdict"] for r in store.query("SELECT doc_id, verdict FROM decisions").to_pylist()}
        index = EvidenceIndex.load(store)
    assert stats["documents"] == len(docs) and stats["bulk_documents"] <= len(paths)  # the hostile origin: one by one
    policy = make_policy("any-ai-trainer")
    for doc in docs:
        assert stored[doc["doc_id"]] == decide(doc["url"], index.document_evidence(doc, None), policy).verdict
