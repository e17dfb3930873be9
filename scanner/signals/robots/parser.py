"""The robots.txt parser: bytes in, `RobotsTxt` out. Never raises on junk (HTML error pages,
binary, Latin-1, empty), parses at most the first 512,000 bytes and keeps line numbers."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, count, repeat
from operator import itemgetter

from scanner.signals.robots.model import GOOGLE, RFC9309, Dialect, Group, LintRow, RecordRow, RuleRow
from scanner.signals.robots.normalise import google_escape, normalise, url_path
from scanner.signals.robots.robots_txt import RobotsTxt
from scanner.signals.robots.tokens import product_token, query_token

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


# `str.splitlines` also breaks at these; a robots.txt line ends only at CR LF, CR or LF
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_PREFIXED = ("/", "*")  # what a rule's value starts with to match anything
# What `normalise` may change in a pattern, `$` anywhere included: one character class, which the
# regex engine scans for fast (its own test, a class or a `$` not at the end, is tried at every
# position); a value it finds is normalised, and comes back as it was when only its end is `$`.
_MAY_NEED_NORMALISING = re.compile(r'[%\x00-\x20"<>\\^`{|}\x7f-\U0010ffff$]').search
_AGENT_LINES: tuple[dict[str, tuple[str, tuple[tuple[str, str], ...]]], ...] = ({}, {})  # see `_agent_line`


def _decode(body: bytes, lints: list[LintRow]) -> str:
    if body.startswith(b"\xef\xbb\xbf"):
        lints.append(("bom", 1, "UTF-8 byte-order mark at the start (skipped)"))
        body = body[3:]
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        lints.append(("utf16", 1, "UTF-16 file (RFC 9309 requires UTF-8); decoded as UTF-16"))
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            body = body[2:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        lints.append(("non_utf8", line, "bytes that are not UTF-8 (compared octet by octet)"))
        return body.decode("utf-8", "surrogateescape")


def _lines(text: str) -> list[str]:
    """The lines of the file, split at CR LF, CR and LF only: `str.splitlines` (in C, and without
    the regex's trailing '' after a last line break, which is blank anyway) unless the text holds
    another character it breaks at."""
    if any(map(text.__contains__, _OTHER_BREAKS)):  # a memchr-speed search each, no regex
        return _LINE_SPLIT.split(text)
    return text.splitlines()


def _split_key_value(line: str) -> tuple[str, str] | None:
    colon = line.find(":")
    if colon >= 0:
        return line[:colon].strip(), line[colon + 1 :].strip()
    tokens = line.split()
    if len(tokens) == 2:  # `Disallow /`: accepted like Google, linted by the caller
        return tokens[0], tokens[1]
    return None


def _agent_line(value: str, dialect: Dialect) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A user-agent value's product token and its findings (code, message), remembered per value
    (a few hundred distinct values name the agents of thousands of files)."""
    cache = _AGENT_LINES[dialect.digits_in_tokens]  # all `product_token` reads of the dialect
    found = cache.get(value)
    if found is not None:
        return found
    token = product_token(value, dialect)
    notes: list[tuple[str, str]] = []
    if not token:
        notes.append(("empty_user_agent", f"user-agent {value!r} has no product token: matches nobody"))
    else:
        rest = value.strip()[len(token) :]
        if token != "*" and rest[:1].isspace() and rest.strip():
            notes.append(("multiple_tokens_on_line", f"only {token!r} of {value!r} is the product token"))
        if not token.isascii():
            notes.append(("non_ascii_token", f"{value!r} is not an ASCII product token; matched whole"))
        if token != "*" and any(ch.isdigit() for ch in token):
            notes.append(
                (
                    "token_has_digits",
                    f"{token!r} has digits: RFC 9309 tokens have none; Google reads {product_token(value, GOOGLE)!r}",
                )
            )
    if len(cache) >= 4096:
        cache.clear()
    found = cache[value] = (token, tuple(notes))
    return found


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
    """The parse. Each line is cut at its comment, stripped and split at its first colon by C
    loops over all lines at once (`map` of str methods); Python then walks only the non-blank
    lines' keys, and the rules' rows are gathered and normalised in C after the walk."""
    lints: list[LintRow] = []
    size = len(body)
    if size > MAX_PARSE_BYTES:
        cut = body.rfind(b"\n", 0, MAX_PARSE_BYTES) + 1
        cut = max(cut, body.rfind(b"\r", 0, MAX_PARSE_BYTES) + 1)
        body = body[:cut]
        lints.append(
            (
                "truncated",
                None,
                f"{size} bytes; only the first {len(body)} parsed (limit {MAX_PARSE_BYTES}, partial last line dropped)",
            )
        )
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<")):
        lints.append(("html_body", 1, "looks like HTML, not a robots.txt (an error page?)"))
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        lints.append(("binary", None, "contains NUL bytes: binary, not text"))
    text = _decode(body, lints)
    before_lines = len(lints)

    lines = _lines(text)
    long_line = MAX_LINE_BYTES // 4  # characters past which a line may be over MAX_LINE_BYTES
    cut_lints: list[LintRow] = []
    if lines and max(map(len, lines)) > long_line:
        for i, raw in enumerate(lines):
            if len(raw) > long_line and len(raw.encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES:
                # google/robotstxt keeps MAX_LINE_BYTES - 1 bytes (its buffer ends with a NUL)
                cut_line = raw.encode("utf-8", "surrogateescape")[: MAX_LINE_BYTES - 1]
                lines[i] = cut_line.decode("utf-8", "surrogateescape")
                cut_lints.append(("line_too_long", i + 1, f"longer than {MAX_LINE_BYTES} bytes: cut"))
    # every line without its comment, stripped; the non-blank ones split at their first colon
    stripped = list(map(str.strip, map(itemgetter(0), map(str.partition, lines, repeat("#")))))
    numbers = list(compress(count(1), stripped))
    parted = list(map(str.partition, filter(None, stripped), repeat(":")))
    writtens = list(map(str.strip, map(itemgetter(0), parted)))
    values = list(map(str.strip, map(itemgetter(2), parted)))
    lowered = list(map(str.lower, writtens))
    keys: list[str | None] = list(map(_CANONICAL.get, lowered))

    groups: list[tuple[tuple[str, ...], tuple[int, ...], int, int, tuple[RecordRow, ...]]] = []
    sitemaps: list[str] = []
    global_records: list[RecordRow] = []
    agents: list[str] = []
    agent_lines: list[int] = []
    records: list[RecordRow] = []
    at: list[int] = []  # the rules' lines, as indexes into the split lines, in file order
    start = 0  # where the open group's rules start in `at`
    in_group = False
    seen_rule = False
    usage_is_rule = dialect.content_usage_is_rule

    for i, (number, (_, colon, _), key, value) in enumerate(zip(numbers, parted, keys, values, strict=True)):
        if not colon or key is None or key != lowered[i]:  # no colon, an unknown or misspelt key
            written = writtens[i]
            low = lowered[i]
            if not colon:  # `written` is the whole line
                tokens = written.split()
                if len(tokens) != 2:  # `Disallow /` is accepted like Google, and linted
                    lints.append(("syntax", number, f"not a `key: value` line: {written[:80]!r}"))
                    continue
                written, value = tokens
                low = written.lower()
                key = _CANONICAL.get(low)
            if key is None:
                lints.append(("unknown_directive", number, f"unknown directive {written!r}"))
                key = low
            elif low != key:
                lints.append(("misspelt_directive", number, f"{written!r} read as {key!r}"))
            if not colon:
                lints.append(("missing_colon", number, f"no ':' after {written!r}"))
            keys[i], values[i], writtens[i] = key, value, written  # what the rules are gathered from

        if key == "disallow" or key == "allow" or (key == "content-usage" and usage_is_rule):
            if not in_group:
                lints.append(("orphan_rule", number, f"{writtens[i]} before any user-agent: ignored"))
                if key == "content-usage":
                    global_records.append((key, value, number))
                continue
            seen_rule = True
            if key == "content-usage":
                records.append((key, value, number))
                continue
            if not value:
                continue  # `Disallow:` allows everything: counts for grouping, never matches
            if value[0] not in "/*":
                lints.append(
                    ("pattern_without_slash", number, f"{value!r} does not start with '/' or '*': never matches")
                )
            if "%" in value and _RESERVED_ESCAPE.search(value):
                lints.append(
                    ("reserved_escape_in_rule", number, f"{value!r} escapes a reserved character: readings differ")
                )
            at.append(i)
        elif key == "user-agent":
            if in_group and seen_rule:
                groups.append((tuple(agents), tuple(agent_lines), start, len(at), tuple(records)))
                agents, agent_lines, records, start = [], [], [], len(at)
            in_group, seen_rule = True, False
            token, notes = _agent_line(value, dialect)
            for code, message in notes:
                lints.append((code, number, message))
            agents.append(token)
            agent_lines.append(number)
        elif key == "sitemap":
            sitemaps.append(value)
        elif in_group:
            records.append((key, value, number))
        else:
            global_records.append((key, value, number))
    if agents:
        groups.append((tuple(agents), tuple(agent_lines), start, len(at), tuple(records)))

    rule_values = list(map(values.__getitem__, at))
    if dialect.rfc_percent_encoding:
        patterns = rule_values.copy()  # most values are their own pattern
        for j in compress(range(len(at)), map(_MAY_NEED_NORMALISING, rule_values)):
            patterns[j] = normalise(rule_values[j], is_pattern=True, dialect=dialect)
    else:
        patterns = list(map(google_escape, rule_values))
    rows: list[RuleRow] = list(
        zip(
            map("allow".__eq__, map(keys.__getitem__, at)),
            rule_values,
            patterns,
            map(numbers.__getitem__, at),
            strict=True,
        )
    )
    if cut_lints:  # each line's findings in line order, a cut line's first
        lints[before_lines:] = sorted(cut_lints + lints[before_lines:], key=itemgetter(1))
    return RobotsTxt(
        tuple([Group(a, lines_, tuple(rows[s:e]), recs) for a, lines_, s, e, recs in groups]),
        tuple(sitemaps),
        tuple(global_records),
        tuple(lints),
        size,
        len(body),
        dialect,
    )


def clear_caches() -> None:
    """Forget parsed files, normalised URLs and tokens: benchmarks measure cold runs."""
    _parse_cached.cache_clear()
    for cache in _AGENT_LINES:
        cache.clear()
    url_path.cache_clear()
    query_token.cache_clear()
