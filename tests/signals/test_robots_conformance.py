"""robots.txt engine against real conformance suites; a summary line per suite ends the run.

Suites are copied into tests/data (small, with their licences); the 4,231-file corpus is read
from ../shared/ext. Where we differ from a suite, robots_known_deviations.toml says why, and the
set of failing cases must equal that list exactly.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import tomllib
from pathlib import Path

import pytest
from protego import Protego

from scanner.signals.robots import GOOGLE, RFC9309, Dialect, parse_robots, path_of
from tests import _report
from tests.conftest import DATA

DEVIATIONS = tomllib.loads((DATA / "robots_known_deviations.toml").read_text(encoding="utf-8"))


def _cases(rel: str) -> list[dict]:
    return json.loads((DATA / rel).read_text(encoding="utf-8"))["cases"]


def _check(
    suite: str,
    cases: list[tuple[str, bytes, str, str, bool]],
    dialect: Dialect = RFC9309,
    known: dict[str, str] | None = None,
    label: str | None = None,
) -> None:
    failing = {
        key for key, body, agent, url, expected in cases if parse_robots(body, dialect).allowed(url, agent) != expected
    }
    known = DEVIATIONS.get(suite, {}) if known is None else known
    _report.record(label or f"{suite} ({dialect.name})", len(cases) - len(failing), len(cases), len(known))
    assert failing - set(known) == set(), "new deviations, not in robots_known_deviations.toml"
    assert set(known) - failing == set(), "listed deviations that now pass: remove them"


def _google_cases() -> list[tuple[str, bytes, str, str, bool]]:
    return [
        (c["id"], c["robots_txt"].encode("utf-8"), c["user_agent"], c["url"], c["expected_allowed"])
        for c in _cases("google-robotstxt/allow_cases.json")
    ]


def test_google_suite_rfc_reading() -> None:
    _check("google-robotstxt", _google_cases())


def test_google_suite_google_dialect_is_exact() -> None:
    _check("google-robotstxt", _google_cases(), GOOGLE, known={}, label="google-robotstxt (google dialect)")


# Suites whose cases carry the robots.txt inline or as a file: (case file, key naming the case,
# the body of a case).
_SUITES = {
    "protego-tests": ("protego-tests/can_fetch_cases.json", "test", lambda c: c["robots_txt"].encode("utf-8")),
    "crawler-commons": (
        "crawler-commons/isallowed_cases.json",
        "test",
        lambda c: (DATA / "crawler-commons" / c["robots_file"]).read_bytes(),
    ),
    "cpython-robotparser": (
        "cpython-robotparser/robotparser_cases.json",
        "suite",
        lambda c: c["robots_txt"].encode("utf-8"),
    ),
}


@pytest.mark.parametrize("suite", list(_SUITES))
def test_suite(suite: str) -> None:
    rel, name, body = _SUITES[suite]
    cases = [
        (f"{c[name]} | {c['user_agent']} | {c['url']}", body(c), c["user_agent"], c["url"], c["expected_allowed"])
        for c in _cases(rel)
    ]
    _check(suite, cases)


def test_spec_vectors() -> None:
    vectors = json.loads((DATA / "spec/opt-out-vectors.json").read_text(encoding="utf-8"))["robots"]
    cases = []
    for v in vectors:
        body = v["robots_txt"].encode("latin-1" if v["robots_txt_is_latin1"] else "utf-8")
        if v.get("prefix_bom"):
            body = b"\xef\xbb\xbf" + body
        cases.append((v["id"], body, v["agent"], v["url"], v["expected"] == "allow"))
    _check("spec-vectors", cases, known={})


def test_spec_vectors_agree_with_protego_where_the_spec_says_so() -> None:
    """Differential oracle (spec §4.6): where protego matches the expectation, so do we."""
    vectors = json.loads((DATA / "spec/opt-out-vectors.json").read_text(encoding="utf-8"))["robots"]
    checked = 0
    for v in vectors:
        if v["robots_txt_is_latin1"] or v["protego_0_7_0"] != v["expected"] or v.get("prefix_bom"):
            continue
        ours = parse_robots(v["robots_txt"].encode()).allowed(v["url"], v["agent"])
        assert ours == Protego.parse(v["robots_txt"]).can_fetch(v["url"], v["agent"]), v["id"]
        checked += 1
    assert checked >= 40


def test_google_aux_path_extraction() -> None:
    aux = json.loads((DATA / "google-robotstxt/aux_cases.json").read_text(encoding="utf-8"))
    for case in aux["path_params_query"]:
        assert path_of(case["url"]) == case["expected_path_params_query"], case["url"]


def test_google_aux_agent_validity() -> None:
    """A caller's agent is valid when it is exactly one product token (Google's notion)."""
    from scanner.signals.robots import product_token

    aux = json.loads((DATA / "google-robotstxt/aux_cases.json").read_text(encoding="utf-8"))
    for case in aux["user_agent_validity"]:
        ua = case["user_agent"]
        valid = bool(ua) and product_token(ua, GOOGLE) == ua.lower()
        assert valid == case["expected_valid"], ua


def test_real_corpus_agrees_with_google(ext: Path) -> None:
    corpus = ext / "protego-robots-corpus"
    index = {}
    for line in gzip.decompress((corpus / "index.jsonl.gz").read_bytes()).splitlines():
        row = json.loads(line)
        index[row["file"].rsplit("/", 1)[-1]] = row
    decisions = disagreements = files = 0
    with tarfile.open(corpus / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            row = index[member.name.rsplit("/", 1)[-1]]
            robots = parse_robots(tar.extractfile(member).read())  # must never raise
            files += 1
            for agent, paths in row["google_reference"].items():
                for path, expected in paths.items():
                    decisions += 1
                    disagreements += robots.allowed(f"http://{row['host']}{path}", agent) != expected
    _report.record(
        "protego-robots-corpus vs google reference",
        decisions - disagreements,
        decisions,
        extra=f" ({files} real files, 0 exceptions)",
    )
    assert files == 4231 and decisions == 50_772
    assert disagreements == 0


def test_google_aux_pattern_escaping() -> None:
    from scanner.signals.robots import google_escape

    aux = json.loads((DATA / "google-robotstxt/aux_cases.json").read_text(encoding="utf-8"))
    for case in aux["pattern_escaping"]:
        assert google_escape(case["pattern"]) == case["expected_escaped"]


def test_real_corpus_compiled_matcher_agrees_with_the_plain_scan(ext: Path) -> None:
    """Rule sets asked about often are compiled into a prefix tree of regex alternations; on every
    rule set of the real corpus it must name the same deciding rule as the plain scan, for the
    reference paths and for paths built from the rules (each of the first 50 rules' literal
    prefix, longer ones, a shorter one). So must the budgeted scan a set's first paths take
    (`RuleSet.scan`), which on real files stays within its budget (no index built)."""
    from scanner.signals.robots import Matcher, rule_matches, url_path
    from scanner.signals.robots.matcher import _UNSEEN

    index = {}
    corpus = ext / "protego-robots-corpus"
    for line in gzip.decompress((corpus / "index.jsonl.gz").read_bytes()).splitlines():
        row = json.loads(line)
        index[row["file"].rsplit("/", 1)[-1]] = row
    compared = split = scanned = over = 0
    with tarfile.open(corpus / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            row = index[member.name.rsplit("/", 1)[-1]]
            robots = parse_robots(tar.extractfile(member).read())
            paths = {url_path(f"http://{row['host']}{p}", True) for ps in row["google_reference"].values() for p in ps}
            for rs in {id(r): r for r in map(robots.ruleset, {*row["google_reference"], "*", "GPTBot"})}.values():
                literals = [r.pattern.removesuffix("$").split("*", 1)[0] for r in rs.ordered]
                probes = (
                    paths
                    | {p + s for p in literals[:50] for s in ("", "x/", ".html")}
                    | {p[:-1] for p in literals[:50]}
                )
                matcher = Matcher([(i, r.pattern) for i, r in enumerate(rs.ordered)])
                split += bool(matcher.children)
                for path in probes:
                    scan = next((i for i, r in enumerate(rs.ordered) if rule_matches(r.pattern, path)), None)
                    assert matcher.first(path) == scan, (member.name, rs.groups, path)
                    compared += 1
                    budgeted = rs.scan(path)
                    if budgeted is _UNSEEN:
                        over += 1
                    else:
                        assert budgeted is (None if scan is None else rs.ordered[scan]), (member.name, path)
                        scanned += 1
    _report.record(
        "protego-robots-corpus compiled matcher vs plain scan", compared, compared, extra=f" ({split} split rule sets)"
    )
    _report.record(
        "protego-robots-corpus budgeted scan vs plain scan", scanned, scanned, extra=f" ({over} paths over budget)"
    )
    assert split > 100 and over < scanned // 1000
