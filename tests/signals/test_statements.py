"""The signals table: every statement of a stored sighting, for no URL in particular."""

from __future__ import annotations

import json

from scanner.decide import Evidence, decide
from tests._artefacts import ANY, URL, art


# -- the signals table: every statement of a sighting, for no URL in particular -------------------
def test_evidence_signals_list_every_statement_of_a_file() -> None:
    from scanner.signals.statements import evidence_signals

    robots = (
        b"Content-Signal: search=yes\n"
        b"User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /private\nAllow: /private/open\n"
        b"Content-Signal: ai-train=no\nContent-Usage: /books/ train-ai=n\n"
        b"User-agent: *\nDisallow:\n"
    )
    found = evidence_signals("robots.txt", robots, 200)
    rules = [(s.statement, s.agents, s.scope_value, s.locator) for s in found if s.signal == "robots"]
    assert rules == [
        ("reserved", ("gptbot", "ccbot"), "/private", "line 4"),
        ("none", ("gptbot", "ccbot"), "/private/open", "line 5"),
    ]  # an empty Disallow states nothing
    signal_train = [s for s in found if s.signal == "content_signal" and s.agents == ("gptbot", "ccbot")]
    assert signal_train and all(s.statement == "reserved" for s in signal_train)
    usage = [s for s in found if s.signal == "content_usage_robots"]
    assert usage and usage[0].scope_value == "/books/" and usage[0].statement == "reserved"
    assert any(s.signal == "content_signal" and s.confidence == "low" for s in found)  # before any group
    # what a file fetched without success states
    assert [s.signal for s in evidence_signals("robots.txt", b"", 503)] == ["robots_unreachable"]
    (gone,) = evidence_signals("robots.txt", b"<html>not found</html>", 404)  # 4xx: allow all (RFC 9309)
    assert (gone.signal, gone.statement, gone.scope, gone.locator) == ("robots", "none", "origin", "HTTP 404")
    tdm = evidence_signals(
        "tdmrep.json", b'[{"location": "/a/*", "tdm-reservation": 1}, {"location": "/*", "tdm-reservation": 0}]', 200
    )
    assert [(s.statement, s.scope_value) for s in tdm] == [("reserved", "/a/*"), ("permitted", "/*")]
    ai = evidence_signals("ai.txt", b"User-Agent: *\nDisallow: *.jpg\nAllow: /\n", 200)
    assert [(s.signal, s.scope_value) for s in ai] == [("ai_txt", "*.jpg")]
    head = evidence_signals("headers", json.dumps({"x-robots-tag": "noai", "tdm-reservation": "1"}).encode(), 200)
    assert {s.signal for s in head} == {"x_robots_tag", "tdmrep"}


def test_a_4xx_robots_txt_states_allow_all_as_decisions_cite_it() -> None:
    """RFC 9309 §2.3.1.3: an unavailable robots.txt allows all. The decision cites that statement,
    so the signals table holds the same row; a bot wall at 403 is not an absence and states nothing."""
    from scanner.signals.statements import evidence_signals

    body = b"<html>not found</html>"
    (stated,) = evidence_signals("robots.txt", body, 404)
    found = art("robots.txt", body, 404)
    cited = [r for r in decide(URL, Evidence(robots=found), ANY).reasons if r.signal == "robots"]
    assert cited == [stated.with_evidence(found.sha256, found.observed_at)]
    wall = b"<!doctype html><html><title>Just a moment...</title><div id=cf-chl-widget></div></html>"
    assert evidence_signals("robots.txt", wall, 403) == []
