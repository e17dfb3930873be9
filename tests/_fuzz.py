"""Fuzz targets shared by `tests/test_fuzz_parsers.py` (hypothesis, seconds, in CI) and
`bench/fuzz.py` (mutation from real seeds, minutes, on demand).

A target takes bytes, runs one parser the way the tool does, and asserts the parser's promises:
it never raises, and its work is bounded by structure (lookups spent within budget, outputs no
larger than the input allows), never by a clock. `TARGETS` is a plain registry: readers add
theirs with `register` (see bench/fuzz.py), seeds name files under ../shared/ext.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scanner.signals.ai_txt import ai_txt_signal, parse_ai_txt
from scanner.signals.embedded import iptc_signal, tdmrep_package_signal
from scanner.signals.headers import evidence_headers, header_signals
from scanner.signals.html import evidence_facts, facts_to_evidence, html_signals, read_html
from scanner.signals.model import MAX_FILE_BYTES
from scanner.signals.robots import MAX_PARSE_BYTES, Matcher, lookup_budget, parse_robots, url_path
from scanner.signals.robots_signals import robots_signals
from scanner.signals.rsl import parse_rsl
from scanner.signals.tdmrep import parse_tdmrep

AGENTS = ("GPTBot", "CCBot", "Google-Extended", "*")


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: tuple[str, ...] = ()  # where bench/fuzz.py finds seed inputs (see its `seed_inputs`)


TARGETS: dict[str, Target] = {}


def register(name: str, seeds: tuple[str, ...] = ()) -> Callable[[Callable[[bytes], None]], Callable[[bytes], None]]:
    def add(fn: Callable[[bytes], None]) -> Callable[[bytes], None]:
        TARGETS[name] = Target(name, fn, seeds)
        return fn

    return add


def _paths(data: bytes) -> list[str]:
    """URL paths drawn from the input itself: the adversary's rules meet the adversary's paths."""
    text = data[:8192].decode("utf-8", "surrogateescape")
    words = [w for w in text.replace("\n", " ").split(" ") if w][:8]
    return ["/", "/" + text[:512], *("/" + w.lstrip("/") for w in words)]


@register("robots", seeds=("robots",))
def robots(data: bytes) -> None:
    parsed = parse_robots(data)
    assert parsed.parsed_bytes <= MAX_PARSE_BYTES and parsed.size == len(data)
    assert sum(len(g.rules) for g in parsed.groups) <= parsed.parsed_bytes
    for rs in {id(rs): rs for rs in map(parsed.ruleset, AGENTS)}.values():
        matcher = Matcher([(i, r.pattern) for i, r in enumerate(rs.ordered)])
        for path in _paths(data):
            url = "https://fuzz.example" + path
            norm = url_path(url, True)
            _rank, cost = matcher.first_with_cost(norm)
            assert cost <= lookup_budget(norm)
            for agent in AGENTS:
                parsed.explain(url, agent)
                assert isinstance(parsed.allowed(url, agent), bool)
    for path in _paths(data)[:3]:
        robots_signals(parsed, "https://fuzz.example" + path, AGENTS)


@register("ai.txt", seeds=("robots",))
def ai_txt(data: bytes) -> None:
    parsed, _lint = parse_ai_txt(data)
    if parsed is not None:
        for path in _paths(data)[:4]:
            for agent in AGENTS:
                ai_txt_signal(parsed, "https://fuzz.example" + path, agent)


@register("tdmrep", seeds=("tdmrep",))
def tdmrep(data: bytes) -> None:
    f = parse_tdmrep(data)
    assert len(f.rules) <= min(len(data), MAX_FILE_BYTES) // 12 + 1  # `{"location":` per rule
    for path in _paths(data)[:4]:
        url = "https://fuzz.example" + path
        rule, _lint = f.lookup(url)
        assert rule is None or rule.index == -1 or rule in f.rules
        f.signal(url)


@register("rsl", seeds=("rsl",))
def rsl(data: bytes) -> None:
    contents, _lint = parse_rsl(data)
    assert len(contents) <= data[:MAX_FILE_BYTES].count(b"content")
    from scanner.signals.rsl import rsl_signal

    for path in _paths(data)[:3]:
        rsl_signal(contents, "https://fuzz.example" + path, "RSL")


@register("headers", seeds=("headers",))
def headers(data: bytes) -> None:
    lines, problem = evidence_headers(data)
    assert problem is None or lines == []
    text = data.decode("latin-1")
    raw = [tuple(x.strip() for x in line.split(":", 1)) for line in text.splitlines() if ":" in line]
    for ls in (lines, [(k.lower(), v) for k, v in raw]):
        sigs, _tdm, _lint = header_signals(ls)
        assert len(sigs) <= 64 * (len(ls) + 1) + len(data)


@register("html", seeds=("html",))
def html(data: bytes) -> None:
    facts = read_html(data)
    assert len(facts.meta_robots) <= data.count(b"<") + 1
    html_signals(facts)
    stored = facts_to_evidence(facts)
    if stored is not None:
        again, problem = evidence_facts(stored)
        assert problem is None and again.rsl_links == facts.rsl_links
    evidence_facts(data)  # stored html-meta evidence may be anything


@register("iptc-epub-pdf", seeds=("html", "xmp"))
def metadata(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    iptc_signal(text)
    for word in text.split()[:32]:
        iptc_signal(word)
    tdmrep_package_signal(text)
