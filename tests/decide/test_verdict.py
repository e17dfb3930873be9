"""The verdict: one reading per protocol, then the most restrictive statement wins.

The spec's vectors are in tests/signals/test_vectors.py and the property test over every
protocol in tests/decide/test_properties.py; these pin each protocol's reading and the
combination on their own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from scanner.decide import Artefact, Checked, Evidence, Verdict, decide, make_policy
from scanner.decide.cache import ParseCache
from scanner.decide.verdict import (
    NOTHING,
    read_ai_txt,
    read_blocklist,
    read_headers,
    read_robots,
    read_tdmrep_file,
)

URL = "https://e.example/private/a"
T0 = datetime(2025, 7, 1, tzinfo=UTC)
POLICY = make_policy()


def art(kind: str, body: str | bytes, status: int | None = 200, path: str = "/robots.txt", when=T0) -> Artefact:
    raw = body.encode() if isinstance(body, str) else body
    return Artefact(kind, f"https://e.example{path}", raw, sha256(raw).hexdigest(), when, status)


ROBOTS = art("robots.txt", "User-agent: *\nDisallow: /private/\n")


def test_robots_parsed_file_reserves_by_its_rules():
    reading = read_robots(URL, ROBOTS, POLICY, None)
    assert reading.checked == (Checked.ROBOTS,)
    assert [(s.signal, s.statement, s.scope_value) for s in reading.statements] == [
        ("robots", "reserved", "/private/")
    ]
    assert reading.statements[0].evidence_sha256 == ROBOTS.sha256


def test_robots_fetch_outcomes():
    unreachable = read_robots(URL, art("robots.txt", "", 503), POLICY, None)
    assert [s.signal for s in unreachable.statements] == ["robots_unreachable"] and not unreachable.checked
    unavailable = read_robots(URL, art("robots.txt", "", 404), POLICY, None)
    assert unavailable.checked == (Checked.ROBOTS,)
    assert unavailable.statements[0].detail == "robots.txt unavailable (4xx): allow all"
    page = read_robots(URL, art("robots.txt", "<html><body>hi</body></html>"), POLICY, None)
    assert page.lint == ("not-robots",) and not page.checked
    assert read_robots(URL, None, POLICY, None) is NOTHING


def test_stale_evidence_is_one_confidence_step_lower():
    fresh = read_robots(URL, ROBOTS, POLICY, T0 + timedelta(hours=23)).statements[0]
    stale = read_robots(URL, ROBOTS, POLICY, T0 + timedelta(hours=25)).statements[0]
    assert (fresh.confidence, stale.confidence) == ("high", "medium")
    assert "stale_evidence" in stale.lint


def test_tdmrep_file_is_a_layer_not_a_statement():
    tdm = art("tdmrep.json", '[{"location": "/private/*", "tdm-reservation": 1}]', path="/.well-known/tdmrep.json")
    reading = read_tdmrep_file(URL, tdm, POLICY, None)
    assert reading.statements == () and reading.checked == (Checked.TDMREP,)
    assert reading.tdmrep is not None and reading.tdmrep.statement == "reserved"
    assert decide(URL, Evidence(tdmrep=tdm), POLICY).verdict == Verdict.RESERVED


def test_malformed_headers_are_lint_and_not_checked():
    reading = read_headers(art("headers", b"not json", path="/private/a"), POLICY, None)
    assert reading.lint == ("malformed_evidence",) and reading.checked == ()


def test_ai_txt_and_blocklist():
    ai = read_ai_txt(URL, art("ai.txt", "User-Agent: *\nDisallow: /\n", path="/ai.txt"), POLICY, None)
    assert ai.checked == (Checked.AI_TXT,) and ai.statements[0].signal == "ai_txt"
    listed = read_blocklist(("optout-list", None))
    assert listed.statements[0].detail == "domain listed in optout-list"
    assert read_blocklist(None) is NOTHING


def test_most_restrictive_wins_and_permission_never_cancels():
    allow = art("robots.txt", "User-agent: *\nAllow: /\n")
    assert decide(URL, Evidence(robots=allow), POLICY).verdict == "allowed"
    both = decide(URL, Evidence(robots=allow, blocklisted=("list", "why")), POLICY)
    assert both.verdict == Verdict.RESERVED and both.reasons[0].signal == "blocklist"
    assert both.checked == ("robots",)
    assert decide(URL, Evidence(), POLICY).verdict == Verdict.UNKNOWN


def test_verdicts_are_their_strings_in_json():
    d = decide(URL, Evidence(robots=ROBOTS), POLICY)
    assert d.verdict == "reserved" and isinstance(d.verdict, Verdict)
    assert json.loads(json.dumps(d.as_dict()))["verdict"] == "reserved"
    assert json.dumps(d.as_dict()["checked"]) == '["robots"]'


def test_parse_cache_is_keyed_by_content_address_and_bounded():
    parsed: list[bytes] = []
    cache = ParseCache(lambda body, _: parsed.append(body) or len(body), size=2)
    assert cache(b"abc", "sha-a") == cache(b"abc", "sha-a") == 3 and parsed == [b"abc"]
    cache(b"de", "sha-b")
    cache(b"f", "sha-c")  # full: emptied, then refilled
    cache(b"abc", "sha-a")
    assert parsed == [b"abc", b"de", b"f", b"abc"]
