"""Today's robots.txt parse and decisions against a frozen copy of the parser and matcher as they
were before the cold-path work (`tests/signals/robots_oracle`): on every file of protego's corpus,
on hand-made edge files and on the hostile files, in both dialects, the same groups, rules (order
and normalised patterns), records, sitemaps and lint, and for many paths the same deciding rule."""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.signals import robots
from tests._hostile import hostile_robots
from tests.signals.robots_oracle import matcher as old_matcher
from tests.signals.robots_oracle import model as old_model
from tests.signals.robots_oracle import parser as old_parser

DIALECTS = ((robots.RFC9309, old_model.RFC9309), (robots.GOOGLE, old_model.GOOGLE))
AGENTS = ("*", "GPTBot", "Googlebot", "nobody-named")

EDGE = [
    b"",
    b"\xef\xbb\xbfUser-agent: *\nDisallow: /a\n",
    b"\xff\xfeU\x00s\x00e\x00r\x00-\x00a\x00g\x00e\x00n\x00t\x00:\x00 \x00*\x00\n\x00",
    b"User-agent: *\rDisallow: /a\r\nAllow: /a/b\x0bc\nDisallow: /x\x0c\n\x1cDisallow: /y\xc2\x85z\n",
    b"User-agent: *\nDisallow: /" + "\u2028".encode() + b"x\nDisallow: /caf\xc3\xa9\nDisallow: /\xff\xfe\n",
    b"Disallow: /orphan\nContent-Usage: train-ai=n\nUser-agent: a\nuser agent: b\nDisalow: /x\n"
    b"Disallow /y\nfoo bar baz\n",
    b"User-agent: GPTBot/1.1 extra\nUser-agent: AI2Bot\nUser-agent: J\xc3\xa4vla-Foobot\nUser-agent: \nDisallow: x\n",
    b"User-agent: *\nDisallow: /a%2Fb\nDisallow: /%7euser\nAllow: /*.php$\nAllow: /d/index.html\nDisallow: /a$b\n",
    b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nContent-Usage: /x train-ai=n\nCrawl-delay: 5\n"
    b"Sitemap: https://a.example/s.xml\nLicense: https://a.example/l.xml\nUser-agent: b\nAllow: /\n",
    b"<!doctype html><html><body>User-agent: *<br>Disallow: /</body></html>\n",
    b"User-agent: *\nDisallow: /"
    + b"x" * 20_000
    + b"\nDisallow: /"
    + "é".encode() * 9000
    + b"\n#"
    + b"y" * 17000
    + b"\n",
    b"User-agent: *\n" + b"Disallow: /p\n" * 3 + b"\x00\x01binary\n",
    b"User-agent: *\nDisallow: /a\n" * 40_000,  # over 512,000 bytes: truncated
    b"\n\n   \t\n# only comments\n  # and blanks\r\n",
    b"User-agent: *\nDisallow: /\tx y\n  Allow :  /z  # c\nDISALLOW: /Q\nUser-Agent: *\nAllow: /q\n",
]


def _rows(r: Any) -> tuple[Any, ...]:
    """A parse as plain data, read through the public accessors both versions share."""
    return (
        tuple(
            (
                g.agents,
                g.agent_lines,
                tuple((x.allow, x.value, x.pattern, x.line) for x in g.rules),
                tuple((x.key, x.value, x.line) for x in g.records),
            )
            for g in r.groups
        ),
        r.sitemaps,
        tuple((x.key, x.value, x.line) for x in r.global_records),
        tuple((x.code, x.line, x.message) for x in r.lint),
        r.size,
        r.parsed_bytes,
        r.dialect.name,
        r.tokens,
        r.truncated,
    )


def _explained(e: Any) -> tuple[Any, ...]:
    rule = None if e.rule is None else (e.rule.allow, e.rule.value, e.rule.pattern, e.rule.line)
    return (e.allowed, e.agent, e.path, e.used_fallback, rule, e.reason, e.group_agents, e.describe())


def _probe_paths(r: Any) -> set[str]:
    """Paths built from the file's rules (each of the first 12 literal prefixes, longer, shorter)."""
    paths = {"/", "/robots.txt", "/index.html", "/a", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/%7Euser"}
    for g in r.groups[:4]:
        for rule in g.rules[:12]:
            literal = rule.pattern.removesuffix("$").split("*", 1)[0]
            paths |= {literal, literal + "x/", literal + ".html", literal[:-1], literal + "/index.html"}
    return {p for p in paths if p.startswith("/")}


def _same(body: bytes, where: str, decide: bool = True) -> int:
    compared = 0
    for new_dialect, old_dialect in DIALECTS:
        new = robots.parse_uncached(body, new_dialect)
        old = old_parser.parse_uncached(body, old_dialect)
        assert _rows(new) == _rows(old), (where, new_dialect.name)
        if not decide:
            continue
        for agent in AGENTS if new_dialect is robots.RFC9309 else AGENTS[:2]:
            for path in sorted(_probe_paths(old)):
                url = "https://h.example" + path
                assert _explained(new.explain(url, agent)) == _explained(old.explain(url, agent)), (where, agent, path)
                compared += 1
        # the rule order of every distinct set (what bulk decide compiles and the hook regexes)
        for agent in AGENTS:
            new_rs, old_rs = new.ruleset(agent), old.ruleset(agent)
            assert [(x.allow, x.value, x.pattern, x.line) for x in new_rs.ordered] == [
                (x.allow, x.value, x.pattern, x.line) for x in old_rs.ordered
            ], (where, agent)
    return compared


def _corpus(ext: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        for member in tar:
            if member.isfile():
                yield member.name, tar.extractfile(member).read()  # type: ignore[union-attr]


def test_edge_files_parse_and_decide_as_before() -> None:
    for i, body in enumerate(EDGE):
        _same(body, f"edge {i}")


def test_hostile_files_parse_as_before() -> None:
    for shape in ("/*x%d", "/*%d*y$", "/a/*x%d*z"):
        body = hostile_robots(shape)
        _same(body, shape, decide=False)
        new, old = robots.parse_uncached(body, robots.RFC9309), old_parser.parse_uncached(body, old_model.RFC9309)
        for path in ("/", "/x1", "/a/x1z", "/" + "x" * 300, "/12y"):
            url = "https://h.example" + path
            assert _explained(new.explain(url, "*")) == _explained(old.explain(url, "*")), (shape, path)


def test_protego_corpus_parses_and_decides_as_before(ext: Path) -> None:
    """Every file of the corpus, both dialects: parse equal, and for 4 agents (2 in Google's) × the paths built
    from its rules (and the reference paths) the same deciding rule and explanation."""
    corpus = ext / "protego-robots-corpus"
    if not corpus.exists():
        pytest.skip("protego corpus not in PROVENANCE_EXT")
    refs: dict[str, set[str]] = {}
    for line in gzip.decompress((corpus / "index.jsonl.gz").read_bytes()).splitlines():
        row = json.loads(line)
        refs[row["file"].rsplit("/", 1)[-1]] = {p for ps in row["google_reference"].values() for p in ps}
    files = compared = 0
    for name, body in _corpus(ext):
        compared += _same(body, name)
        new, old = robots.parse_uncached(body, robots.RFC9309), old_parser.parse_uncached(body, old_model.RFC9309)
        for path in refs.get(name.rsplit("/", 1)[-1], ()):
            url = "https://h.example" + (path if path.startswith("/") else "/" + path)
            for agent in ("*", "GPTBot"):
                assert _explained(new.explain(url, agent)) == _explained(old.explain(url, agent)), (name, path)
        files += 1
    assert files > 4000 and compared > 500_000
    assert old_matcher.RuleSet is not robots.RuleSet  # the oracle is a copy, not today's code
