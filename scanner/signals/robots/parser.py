"""The robots.txt parser: bytes in, `RobotsTxt` out. Never raises on junk (HTML error pages,
binary, Latin-1, empty), parses at most the first 512,000 bytes and keeps line numbers."""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from itertools import accumulate, chain, compress, count, repeat
from operator import and_, eq, is_, is_not, itemgetter, not_

from scanner.signals.robots.model import GOOGLE, RFC9309, Dialect, Group, LintRow, RecordRow, RuleRow
from scanner.signals.robots.normalise import _PATTERN_NEEDS_NORMALISING, google_escape, normalise, url_path
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
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_PREFIXED = ("/", "*")
_RULE_KEYS = frozenset({"allow", "disallow"})
_NOT_WALKED = frozenset(
    {None, "allow", "disallow"}
)  # by the walk of the groups (rules; lines skipped)  # what a rule's value starts with to match anything
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
    if _OTHER_BREAKS.search(text) is None:
        return text.splitlines()
    return _LINE_SPLIT.split(text)


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

    count_ = len(keys)

    # 1. lines whose key is not read as written: no `key: value` line at all (the key None:
    # skipped), an unknown key (kept lower-case), or (rare, a loop) `Disallow /` or a misspelt key
    generic: list[LintRow] = []
    syntax: list[LintRow] = []
    unknown: list[LintRow] = []
    regular = map(and_, map(bool, map(itemgetter(1), parted)), map(eq, keys, lowered))
    irregular = list(compress(range(count_), map(not_, regular)))
    if irregular:
        colonless = list(map(not_, map(itemgetter(1), map(parted.__getitem__, irregular))))
        bare = list(compress(irregular, colonless))
        pairs = list(map((2).__eq__, map(len, map(str.split, map(writtens.__getitem__, bare)))))
        junk = list(compress(bare, map(not_, pairs)))
        syntax = [("syntax", numbers[i], f"not a `key: value` line: {writtens[i][:80]!r}") for i in junk]
        keyed = list(compress(irregular, map(not_, colonless)))
        unknown_at = list(compress(keyed, map(is_, map(keys.__getitem__, keyed), repeat(None))))
        unknown = [("unknown_directive", numbers[i], f"unknown directive {writtens[i]!r}") for i in unknown_at]
        for i in junk:
            keys[i] = None
        for i in unknown_at:
            keys[i] = lowered[i]
        misspelt = compress(keyed, map(is_not, map(keys.__getitem__, keyed), map(lowered.__getitem__, keyed)))
        for i in sorted([*compress(bare, pairs), *misspelt]):
            number, written, low, key, value = numbers[i], writtens[i], lowered[i], keys[i], values[i]
            colon = parted[i][1]
            if not colon:  # `Disallow /` is accepted like Google, and linted
                written, value = written.split()
                low = written.lower()
                key = _CANONICAL.get(low)
            if key is None:
                generic.append(("unknown_directive", number, f"unknown directive {written!r}"))
                key = low
            elif low != key:
                generic.append(("misspelt_directive", number, f"{written!r} read as {key!r}"))
            if not colon:
                generic.append(("missing_colon", number, f"no ':' after {written!r}"))
            keys[i], values[i], writtens[i] = key, value, written

    # 2. the groups, walking every line but the rules and skipped ones: a user-agent line after
    # a rule (one more rule before it than before the previous user-agent line) closes the group
    is_rule = list(map(_RULE_KEYS.__contains__, keys))
    rules_before = list(accumulate(is_rule, initial=0))  # at index i: rule lines before line i
    groups: list[tuple[tuple[str, ...], tuple[int, ...], int, int, tuple[RecordRow, ...]]] = []
    sitemaps: list[str] = []
    global_records: list[RecordRow] = []
    agents: list[str] = []
    agent_lines: list[int] = []
    records: list[RecordRow] = []
    structure: list[LintRow] = []
    first_agent = group_start = count_  # index of the first user-agent line; of the open group's first
    in_group = seen_usage = False
    rules_then = 0  # rule lines before the last user-agent line
    usage_is_rule = dialect.content_usage_is_rule
    for i in compress(range(count_), map(not_, map(_NOT_WALKED.__contains__, keys))):
        key = keys[i]
        if key == "user-agent":
            if not in_group:
                first_agent = group_start = i
            elif seen_usage or rules_before[i] > rules_then:
                groups.append((tuple(agents), tuple(agent_lines), group_start, i, tuple(records)))
                agents, agent_lines, records, group_start = [], [], [], i
            in_group, seen_usage, rules_then = True, False, rules_before[i]
            number = numbers[i]
            token, notes = _agent_line(values[i], dialect)
            for code, message in notes:
                structure.append((code, number, message))
            agents.append(token)
            agent_lines.append(number)
        elif key == "sitemap":
            sitemaps.append(values[i])
        elif key == "content-usage" and usage_is_rule:  # a rule line, kept as a record
            if in_group:
                seen_usage = True
                records.append((key, values[i], numbers[i]))
            else:
                structure.append(("orphan_rule", numbers[i], f"{writtens[i]} before any user-agent: ignored"))
                global_records.append((key, values[i], numbers[i]))
        elif in_group:
            records.append((key, values[i], numbers[i]))  # type: ignore[arg-type]
        else:
            global_records.append((key, values[i], numbers[i]))  # type: ignore[arg-type]
    if agents:
        groups.append((tuple(agents), tuple(agent_lines), group_start, count_, tuple(records)))

    # 3. the rules, in C: those before any user-agent are ignored (linted), `Disallow:` never
    # matches (it only closed a group), the others become rows of their group
    rule_lines = list(compress(range(count_), is_rule))
    orphans = bisect_left(rule_lines, first_agent)
    orphan_lints = [
        ("orphan_rule", numbers[i], f"{writtens[i]} before any user-agent: ignored") for i in rule_lines[:orphans]
    ]
    at = list(compress(rule_lines[orphans:], map(values.__getitem__, rule_lines[orphans:])))
    rule_values = list(map(values.__getitem__, at))
    slash: list[LintRow] = [
        ("pattern_without_slash", numbers[at[j]], f"{rule_values[j]!r} does not start with '/' or '*': never matches")
        for j in compress(range(len(at)), map(not_, map(str.startswith, rule_values, repeat(_PREFIXED))))
    ]
    escapes: list[LintRow] = []
    if "%" in text:
        escapes = [
            (
                "reserved_escape_in_rule",
                numbers[at[j]],
                f"{rule_values[j]!r} escapes a reserved character: readings differ",
            )
            for j in compress(range(len(at)), map(_RESERVED_ESCAPE.search, rule_values))
        ]
    if dialect.rfc_percent_encoding:
        patterns = rule_values.copy()  # most values are their own pattern
        for j in compress(range(len(at)), map(_PATTERN_NEEDS_NORMALISING.search, rule_values)):
            patterns[j] = normalise(rule_values[j], is_pattern=True, dialect=dialect)
    else:
        patterns = list(map(google_escape, rule_values))
    allows = map("allow".__eq__, map(keys.__getitem__, at))
    rows: list[RuleRow] = list(zip(allows, rule_values, patterns, map(numbers.__getitem__, at), strict=True))

    # each line's findings in line order: a cut line's first, then the key's, then the line's own
    found = [part for part in (cut_lints, syntax, unknown, generic, structure, orphan_lints, slash, escapes) if part]
    if len(found) == 1:
        lints += found[0]
    elif found:
        lints += sorted(chain.from_iterable(found), key=itemgetter(1))  # stable: ties keep that order
    built = [Group(a, n, tuple(rows[bisect_left(at, s) : bisect_left(at, e)]), r) for a, n, s, e, r in groups]
    return RobotsTxt(
        tuple(built),
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
