"""The robots.txt parser: bytes in, `RobotsTxt` out. Never raises on junk (HTML error pages,
binary, Latin-1, empty), parses at most the first 512,000 bytes and keeps line numbers."""

from __future__ import annotations

import re
from functools import lru_cache

from tests.signals.robots_oracle.model import GOOGLE, RFC9309, Dialect, Group, Lint, Record, Rule
from tests.signals.robots_oracle.normalise import normalise, url_path
from tests.signals.robots_oracle.robots_txt import RobotsTxt
from tests.signals.robots_oracle.tokens import product_token, query_token

MAX_PARSE_BYTES = 512_000  # RFC 9309 §2.5: parse at least 500 KiB; we parse exactly that
MAX_LINE_BYTES = 16_664  # google/robotstxt: 8 × the longest URL browsers accept

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
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_RESERVED_ESCAPE = re.compile(r"%(2[1-9A-Fa-f]|3[ABDFabdf]|40|5[BDbd])")


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
    return parse_uncached(body, dialect)


def parse_robots(body: bytes | str, dialect: Dialect = RFC9309) -> RobotsTxt:
    """Parse a robots.txt body. Never raises; oddities become lint findings."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    if len(body) <= 65_536:
        return _parse_cached(body, dialect)
    return parse_uncached(body, dialect)


def parse_uncached(body: bytes, dialect: Dialect) -> RobotsTxt:
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

    long_line = MAX_LINE_BYTES // 4  # characters past which a line may be over MAX_LINE_BYTES
    for number, raw in enumerate(_LINE_SPLIT.split(text), start=1):
        if len(raw) > long_line and len(raw.encode("utf-8", "surrogateescape")) > (MAX_LINE_BYTES):
            # google/robotstxt keeps MAX_LINE_BYTES - 1 bytes (its buffer ends with a NUL)
            raw = raw.encode("utf-8", "surrogateescape")[: MAX_LINE_BYTES - 1].decode("utf-8", "surrogateescape")
            lints.append(Lint("line_too_long", number, f"longer than {MAX_LINE_BYTES} bytes: cut"))
        hash_at = raw.find("#")  # `_split_key_value` inlined: this loop runs once per line of every file
        line = (raw if hash_at < 0 else raw[:hash_at]).strip()
        if not line:
            continue
        colon = line.find(":")
        if colon >= 0:
            written, value = line[:colon].strip(), line[colon + 1 :].strip()
        else:
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
        if colon < 0:
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
            pattern = normalise(value, is_pattern=True, dialect=dialect)
            rules.append(Rule(key == "allow", value, pattern, number))
        elif key == "sitemap":
            sitemaps.append(value)
        else:
            target = records if in_group else global_records
            target.append(Record(key, value, number))
    close()
    return RobotsTxt(tuple(groups), tuple(sitemaps), tuple(global_records), tuple(lints), size, len(body), dialect)


def clear_caches() -> None:
    """Forget parsed files, normalised URLs and tokens: benchmarks measure cold runs."""
    _parse_cached.cache_clear()
    url_path.cache_clear()
    query_token.cache_clear()
