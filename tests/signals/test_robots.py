"""robots.txt engine: explanations, lint, extension records, limits, junk and properties."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.agents import default_registry
from scanner.signals.robots import GOOGLE, MAX_PARSE_BYTES, agent_typos, parse_robots, product_token

AI_BLOCK = b"""# AI crawlers
User-agent: GPTBot
User-agent: CCBot
Sitemap: https://example.com/sitemap.xml
Content-Signal: search=yes, ai-train=no
Disallow: /

User-agent: *
Allow: /
Disallow: /private
"""


def codes(robots) -> list[str]:
    return [lint.code for lint in robots.lint]


def test_explain_names_group_rule_and_line() -> None:
    robots = parse_robots(AI_BLOCK)
    e = robots.explain("https://example.com/news/1", "CCBot/2.0")
    assert not e.allowed and e.agent == "ccbot" and e.group_agents == ("gptbot", "ccbot")
    assert (e.rule.directive, e.rule.value, e.rule.line) == ("disallow", "/", 6)
    assert not e.used_fallback and e.reason == "rule"
    e = robots.explain("https://example.com/private/x", "ClaudeBot")
    assert e.used_fallback and e.rule.line == 10 and not e.allowed
    e = robots.explain("https://example.com/open", "ClaudeBot")
    assert e.allowed and e.rule.value == "/" and e.rule.allow
    assert "Allow: / (line 9) in the * group" in e.describe()


def test_no_rule_and_no_group() -> None:
    robots = parse_robots(b"User-agent: GPTBot\nDisallow: /x\n")
    assert robots.explain("https://e.example/y", "GPTBot").reason == "no rule matched"
    e = robots.explain("https://e.example/x", "CCBot")
    assert e.allowed and e.reason == "no group" and e.groups == ()
    assert parse_robots(b"").explain("https://e.example/", "GPTBot").reason == "no group"


def test_groups_stay_open_across_other_records_and_keep_them() -> None:
    robots = parse_robots(AI_BLOCK)
    group = robots.groups[0]
    assert group.agents == ("gptbot", "ccbot")
    assert [(r.key, r.value, r.line) for r in group.extensions("content-signal")] == [
        ("content-signal", "search=yes, ai-train=no", 5)
    ]
    assert robots.sitemaps == ("https://example.com/sitemap.xml",)
    assert [(g.agents if g else None, r.line) for g, r in robots.records("content-signal")] == [
        (("gptbot", "ccbot"), 5)
    ]


def test_content_usage_and_license_records() -> None:
    body = b"License: https://e.example/license.xml\nUser-agent: *\nContent-Usage: train-ai=n\nAllow: /\n"
    robots = parse_robots(body)
    assert [r.value for _, r in robots.records("license")] == ["https://e.example/license.xml"]
    usage = robots.records("content-usage")
    assert [(g.agents, r.value, r.line) for g, r in usage] == [(("*",), "train-ai=n", 3)]


def test_lint_findings() -> None:
    body = (
        b"\xef\xbb\xbfDisallow: /early\nUseragent: a\nDisalow: /x\nFoo: bar\n"
        b"User-agent: GPTBot CCBot\nDisallow: /caf\xe9\nUser-agent: AI2Bot\nAllow /y\n"
        b"Disallow: private\nDisallow: /a%3Fb\n"
    )
    robots = parse_robots(body)
    assert codes(robots) == [
        "bom",
        "non_utf8",
        "orphan_rule",
        "misspelt_directive",
        "misspelt_directive",
        "unknown_directive",
        "multiple_tokens_on_line",
        "token_has_digits",
        "missing_colon",
        "pattern_without_slash",
        "reserved_escape_in_rule",
    ]
    assert [x.line for x in robots.lint if x.code == "orphan_rule"] == [1]
    # the non-UTF-8 byte is compared as its own octet: %E9, never U+FFFD
    assert not robots.allowed("https://e.example/caf%E9", "GPTBot")
    assert robots.allowed("https://e.example/caf%FF", "GPTBot")


def test_html_and_binary_bodies_never_raise() -> None:
    html = parse_robots(b"<!DOCTYPE html><html><body>User-agent: *<br>Disallow: /</body></html>")
    assert "html_body" in codes(html) and html.allowed("https://e.example/a", "GPTBot")
    binary = parse_robots(bytes(range(256)) * 50)
    assert "binary" in codes(binary)
    assert (
        parse_robots(b"\xff\xfe" + "User-agent: *\nDisallow: /\n".encode("utf-16-le")).allowed(
            "https://e.example/a", "x"
        )
        is False
    )


def test_parse_limit_drops_the_partial_last_line() -> None:
    filler = b"# " + b"x" * 1000 + b"\n"
    body = b"User-agent: *\nDisallow: /a\n" + filler * (MAX_PARSE_BYTES // len(filler) + 2) + b"Disallow: /b\n"
    robots = parse_robots(body)
    assert robots.truncated and "truncated" in codes(robots)
    assert robots.parsed_bytes <= MAX_PARSE_BYTES
    assert not robots.allowed("https://e.example/a", "bot")
    assert robots.allowed("https://e.example/b", "bot")  # beyond the limit: not parsed


def test_line_endings() -> None:
    for sep in (b"\n", b"\r", b"\r\n"):
        robots = parse_robots(sep.join([b"User-agent: *", b"Disallow: /x", b"Disallow: /y"]))
        assert [r.line for r in robots.groups[0].rules] == [2, 3]


def test_agent_tokens() -> None:
    assert product_token("GPTBot/1.1") == "gptbot"
    assert product_token("Brightbot 1.0") == "brightbot"
    assert product_token("AI2Bot") == "ai2bot"
    assert product_token("AI2Bot", GOOGLE) == "ai"
    assert product_token("* # all") == "*"
    assert product_token("Jävla-Foobot") == "jävla-foobot"


def test_agent_typos_against_the_registry() -> None:
    robots = parse_robots(b"User-agent: meta-external-agent\nUser-agent: GPTBot\nUser-agent: ClaudBot\nDisallow: /\n")
    found = agent_typos(robots, default_registry().tokens())
    assert [(x.line, x.message.split("'")[1], x.message.split("'")[3]) for x in found] == [
        (1, "meta-external-agent", "meta-externalagent"),
        (3, "claudbot", "claudebot"),
    ]


def test_implicit_robots_txt_and_percent_encoding() -> None:
    robots = parse_robots(b"User-agent: *\nDisallow: /\n")
    assert robots.allowed("https://e.example/robots.txt", "x")
    assert not parse_robots(b"User-agent: *\nDisallow: /\n", GOOGLE).allowed("https://e.example/robots.txt", "x")
    robots = parse_robots(b"User-agent: *\nDisallow: /%7Ejoe\nDisallow: /a<b\n")
    assert not robots.allowed("https://e.example/~joe/x", "x")
    assert not robots.allowed("https://e.example/a%3cb", "x")


# -- properties ---------------------------------------------------------------------------------
_path_chars = st.text(alphabet=string.ascii_letters + string.digits + "/-._~%*$?=&", max_size=20)
_paths = _path_chars.map(lambda s: "/" + s)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), _paths, st.sampled_from(["GPTBot", "*", "x", "ÄBot", ""]))
def test_arbitrary_bytes_never_raise(body: bytes, path: str, agent: str) -> None:
    robots = parse_robots(body)
    assert isinstance(robots.allowed("https://e.example" + path, agent), bool)
    robots.explain("https://e.example" + path, agent)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _paths), max_size=8), _paths, _paths)
def test_rules_for_another_agent_never_change_this_agents_verdict(rules, other_rule, path) -> None:
    lines = ["User-agent: GPTBot"] + [f"{'Allow' if a else 'Disallow'}: {p}" for a, p in rules]
    base = "\n".join(lines) + "\n"
    # the other group comes first: after its rule line, `User-agent: GPTBot` starts a new group
    extra = f"User-agent: CCBot\nDisallow: {other_rule}\n\n" + base
    url = "https://e.example" + path
    assert parse_robots(base.encode()).allowed(url, "GPTBot") == parse_robots(extra.encode()).allowed(url, "GPTBot")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "/-._", min_size=1, max_size=20))
def test_allow_of_the_exact_path_beats_a_shorter_disallow(tail: str) -> None:
    path = "/" + tail
    for cut in range(1, len(path)):
        body = f"User-agent: *\nDisallow: {path[:cut]}\nAllow: {path}\n".encode()
        assert parse_robots(body).allowed("https://e.example" + path, "bot")


_rule_chars = st.text(alphabet="ab/*$", max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), _rule_chars.map(lambda s: "/" + s)), min_size=1, max_size=80),
    st.lists(_paths, max_size=50),
)
def test_compiled_matcher_picks_the_same_rule_as_a_plain_scan(rules, paths) -> None:
    """Rule sets are scanned for their first paths, then compiled into a tree of regex
    alternations (split by prefix past 16 rules): both must name the same deciding rule."""
    from scanner.signals.robots import Matcher, rule_matches

    body = "User-agent: *\n" + "".join(f"{'Allow' if a else 'Disallow'}: {p}\n" for a, p in rules)
    rs = parse_robots(body.encode()).ruleset("bot")
    matcher = Matcher([(i, r.pattern) for i, r in enumerate(rs.ordered)])
    for path in [*paths, "/", "/a", "/ab", "/ab/", "/aab$", "/b*a", "/abab", "/aabb/ba"]:
        path = path.replace("$", "%24").replace("*", "%2A")  # as URLs arrive, normalised
        scan = next((i for i, r in enumerate(rs.ordered) if rule_matches(r.pattern, path)), None)
        assert matcher.first(path) == scan, (path, rs.ordered)


def test_hostile_wildcards_match_in_linear_time() -> None:
    """Each `*` commits to the leftmost occurrence of the next literal (no backtracking), so a
    rule with many wildcards on a long path finishes at once instead of exploring O(n^k) splits."""
    rules = "".join(f"Disallow: /{'*a' * 12}*b{i}\n" for i in range(40)) + "Disallow: /*a*a$\n"
    rs = parse_robots(("User-agent: *\n" + rules).encode()).ruleset("bot")
    for i in range(40):  # past the plain scans: the compiled matcher answers
        rs.decide(f"/warm{i}")
    assert rs.matcher is not None
    assert rs.decide("/" + "a" * 20_000).pattern == "/*a*a$"
    found = rs.decide("/" + "a" * 20_000 + "b7")
    assert found is not None and found.pattern.endswith("*b7")
    assert rs.decide("/" + "a" * 20_000 + "c") is None


def test_crawl_delay_of_the_group_that_applies() -> None:
    """fetch-signals reads Crawl-delay from the same parse as the RSL licences; only plain ASCII
    numbers count (a Unicode digit or `nan` is no delay)."""
    body = (
        b"User-agent: *\nDisallow: /a\nCrawl-delay: 7\n\n"
        b"User-agent: ProvenanceScannerBot\nDisallow: /x\nCrawl-delay: 2.5\n"
    )
    parsed = parse_robots(body)
    assert parsed.crawl_delay("ProvenanceScannerBot") == 2.5 and parsed.crawl_delay("OtherBot") == 7.0
    for value in (b"nan", b"-1", "\u00b2".encode(), b"1e3", b""):
        assert parse_robots(b"User-agent: *\nDisallow: /\nCrawl-delay: " + value + b"\n").crawl_delay("x") is None
