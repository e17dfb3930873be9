"""Opt-out signals in HTTP response headers: X-Robots-Tag (noai), TDMRep, Content-Usage (IETF
aipref), Content-Signal, and licence links. Pure: header lines in, `Signal` records out.

Header lines are kept one by one (a comma-joined dict value loses X-Robots-Tag scoping), names
compared case-insensitively whatever the container (datadiligence's D4/D5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import http_sf

from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement

Lines = list[tuple[str, str]]
AI_DIRECTIVES = {"noai": Category.TDM, "noimageai": Category.TDM}
# Directives whose value contains a colon: never read as an agent prefix (img2dataset's bug).
_COLON_DIRECTIVES = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
# Vendor look-alikes (spec §7.4): `noarchive` keeps content out of these vendors' AI training.
VENDOR_NOARCHIVE = ("bingbot", "amazonbot")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
AIPREF_TRAINING = {"train-ai": Category.TRAIN_AI}
# Labels of earlier aipref drafts, still copied by sites (spec §10.1): read conservatively.
AIPREF_LEGACY = {
    "train-genai": Category.TRAIN_AI,
    "genai": Category.TRAIN_AI,
    "ai": Category.TRAIN_ANY,
    "tdm": Category.TDM,
    "all": Category.TDM,
    "bots": Category.TDM,
    "ai-use": Category.AI_INPUT,
}


def evidence_headers(body: bytes) -> tuple[Lines, str | None]:
    """Stored `headers` evidence (a JSON object of name -> value or list of values, or a list of
    [name, value] pairs) as header lines, and what is wrong with it (None: nothing). Never raises:
    a malformed artefact is reported, not fatal."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return [], f"not JSON ({str(exc)[:80]})"
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list) and all(isinstance(p, list) and len(p) == 2 for p in data):
        pairs = [tuple(p) for p in data]
    else:
        return [], "not a JSON object of header fields or a list of [name, value] pairs"
    for name, value in pairs:
        values = value if isinstance(value, list) else [value]
        if not isinstance(name, str) or not all(isinstance(v, str | int | float) for v in values):
            return [], f"header {str(name)[:40]!r}: values must be strings"
    return header_lines(pairs), None


def header_lines(headers: Any) -> Lines:
    """(lower-case name, value) for every field line of any header container."""
    if headers is None:
        return []
    if hasattr(headers, "multi_items"):  # httpx.Headers
        items: Iterable[tuple[str, str]] = headers.multi_items()
    elif hasattr(headers, "get_all") and hasattr(headers, "keys"):  # email.message.Message
        items = [(k, v) for k in dict.fromkeys(headers.keys()) for v in headers.get_all(k)]
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    out = []
    for k, v in items:
        values = v if isinstance(v, list | tuple) else [v]
        out += [(str(k).strip().lower(), str(x).strip()) for x in values]
    return out


def _values(lines: Lines, name: str) -> list[tuple[int, str]]:
    return [(i, v) for i, (k, v) in enumerate(lines) if k == name]


def robots_directives(value: str) -> list[tuple[str | None, str]]:
    """(agent or None, directive) pairs of one X-Robots-Tag / meta robots value (spec §7.2)."""
    scope: str | None = None
    out = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        head, sep, rest = item.partition(":")
        if sep and head.strip().lower() not in _COLON_DIRECTIVES and _TOKEN.match(head.strip()):
            scope = head.strip().lower()
            item = rest.strip()
            if not item:
                continue
        out.append((scope, item.split(":", 1)[0].strip().lower()))
    return out


def directive_signals(
    pairs: list[tuple[str | None, str]],
    signal: SignalKind,
    locator: str,
    default_agents: tuple[str, ...] = ("*",),
    confidence: Confidence = Confidence.MEDIUM,
) -> list[Signal]:
    signals = []
    for agent, directive in pairs:
        agents = (agent,) if agent else default_agents
        if directive in AI_DIRECTIVES:
            image = directive == "noimageai"
            signals.append(
                Signal(
                    signal=signal,
                    category=Category.TDM,
                    statement=Statement.RESERVED,
                    agents=agents,
                    scope="modality" if image else "resource",
                    locator=locator,
                    confidence=confidence,
                    scope_value="image" if image else None,
                    detail=directive,
                )
            )
        elif directive == "noarchive":
            vendors = tuple(a for a in agents if a in VENDOR_NOARCHIVE) or (
                VENDOR_NOARCHIVE if agents == ("*",) else ()
            )
            if vendors:
                signals.append(
                    Signal(
                        signal=signal,
                        category=Category.TRAIN_ANY,
                        statement=Statement.RESERVED,
                        agents=vendors,
                        scope="resource",
                        locator=locator,
                        confidence=Confidence.MEDIUM,
                        lint=("vendor_lookalike",),
                        detail="noarchive (vendor-scoped AI training opt-out)",
                    )
                )
    return signals


def x_robots_tag(lines: Lines) -> list[Signal]:
    out = []
    for n, (i, value) in enumerate(_values(lines, "x-robots-tag")):
        out += directive_signals(robots_directives(value), SignalKind.X_ROBOTS_TAG, f"X-Robots-Tag[{n}] (line {i})")
    return out


def tdmrep_header(lines: Lines, conservative: bool = True) -> tuple[Signal | None, list[str]]:
    """The TDMRep header layer (spec §6.3): `tdm-reservation` 1/0, with `tdm-policy`."""
    lint: list[str] = []
    values = [v.strip() for _, line in _values(lines, "tdm-reservation") for v in line.split(",")]
    valid = {v for v in values if v in ("0", "1")}
    if len(values) != len([v for v in values if v in ("0", "1")]):
        lint.append("tdmrep_invalid_value")
    if not valid:
        return None, lint
    if len(valid) > 1:
        lint.append("tdmrep_header_conflict")
        if not conservative:
            return None, lint
        value = "1"
    else:
        value = valid.pop()
    policy = next((v for _, v in _values(lines, "tdm-policy")), "")
    statement = Statement.RESERVED if value == "1" else Statement.PERMITTED
    return Signal(
        signal=SignalKind.TDMREP,
        category=Category.TDM,
        statement=statement,
        agents=("*",),
        scope="resource",
        locator="header tdm-reservation",
        confidence=Confidence.HIGH,
        detail=f"tdm-reservation: {value}" + (f"; tdm-policy: {policy}" if policy else ""),
        lint=tuple(lint),
    ), lint


def aipref_signals(
    value: str,
    signal: SignalKind,
    locator: str,
    conservative: bool = True,
    agents: tuple[str, ...] = ("*",),
    scope: str = "resource",
    scope_value: str | None = None,
) -> list[Signal]:
    """An IETF aipref usage-preference dictionary (`train-ai=n`) -> signals (spec §10.2)."""
    try:
        parsed = http_sf.parse(value.encode("ascii", "replace"), tltype="dictionary")
    except Exception:  # the draft: a dictionary that fails to parse means unknown preferences
        return [
            Signal(
                signal=signal,
                category=Category.TRAIN_AI,
                statement=Statement.NONE,
                agents=agents,
                scope=scope,
                locator=locator,
                confidence=Confidence.LOW,
                scope_value=scope_value,
                lint=("aipref_parse_error",),
                detail=value,
            )
        ]
    out = []
    dictionary = cast("dict[str, tuple[Any, dict[str, Any]]]", parsed)  # tltype="dictionary"
    for key, (item, params) in dictionary.items():
        category = AIPREF_TRAINING.get(key)
        legacy = category is None and key in AIPREF_LEGACY
        if legacy and conservative:
            category = AIPREF_LEGACY[key]
        if category is None or not isinstance(item, http_sf.Token) or str(item) not in ("y", "n"):
            continue
        statement = Statement.RESERVED if str(item) == "n" else Statement.PERMITTED
        if legacy and statement == Statement.PERMITTED:
            continue  # an old label never grants a permission
        detail = f"{key}={item}" + "".join(f";{k}={v}" for k, v in params.items())
        out.append(
            Signal(
                signal=signal,
                category=category,
                statement=statement,
                agents=agents,
                scope=scope,
                locator=locator,
                confidence=Confidence.LOW if legacy else Confidence.HIGH,
                scope_value=scope_value,
                lint=("aipref_legacy_label",) if legacy else (),
                detail=detail,
            )
        )
    return out


def content_usage_header(lines: Lines, conservative: bool = True) -> list[Signal]:
    values = [v for _, v in _values(lines, "content-usage")]
    if not values:
        return []
    # a Dictionary field's lines concatenate; the last duplicate key wins (RFC 9651)
    return aipref_signals(", ".join(values), SignalKind.CONTENT_USAGE_HEADER, "header Content-Usage", conservative)


def content_signal_pairs(value: str) -> tuple[dict[str, str], list[str]]:
    """`search=yes, ai-train=no` -> {key: yes|no|other}; keys and values case-insensitive."""
    pairs: dict[str, str] = {}
    lint: list[str] = []
    for item in value.split(","):
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            if item.strip():
                lint.append("content_signal_malformed")
            continue
        k, v = key.strip().lower(), val.strip().lower()
        if key.strip() != k or val.strip() != v:
            lint.append("content_signal_case")
        if k in pairs and pairs[k] != v:
            lint.append("content_signal_duplicate")
            v = "no" if "no" in (pairs[k], v) else v
        pairs[k] = v
    return pairs, lint


def content_signal_signals(
    value: str, locator: str, agents: tuple[str, ...], scope: str = "origin", confidence: Confidence = Confidence.MEDIUM
) -> list[Signal]:
    pairs, lint = content_signal_pairs(value)
    out = []
    keys = (("ai-train", Category.TRAIN_ANY), ("ai-input", Category.AI_INPUT), ("search", Category.SEARCH))
    for key, category in keys:
        if pairs.get(key) in ("yes", "no"):
            statement = Statement.RESERVED if pairs[key] == "no" else Statement.PERMITTED
            out.append(
                Signal(
                    signal=SignalKind.CONTENT_SIGNAL,
                    category=category,
                    statement=statement,
                    agents=agents,
                    scope=scope,
                    locator=locator,
                    confidence=confidence,
                    lint=tuple(lint),
                    detail=f"Content-Signal: {value}",
                )
            )
    return out


def content_signal_header(lines: Lines) -> list[Signal]:
    out = []
    for n, (_, value) in enumerate(_values(lines, "content-signal")):
        out += content_signal_signals(value, f"header Content-Signal[{n}]", ("*",), "resource")
    return out


_CC = re.compile(
    r"https?://(?:www\.)?creativecommons\.org/(?:licenses/(?P<kind>by(?:-nc)?(?:-sa|-nd)?)/(?P<ver>[0-9.]+)"
    r"|publicdomain/(?P<pd>zero|mark)/(?P<pdver>[0-9.]+))",
    re.IGNORECASE,
)
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def link_licences(lines: Lines) -> list[tuple[str, bool]]:
    """(URL, is_rsl) for each `Link: <…>; rel="license"` in the headers."""
    out = []
    for _, value in _values(lines, "link"):
        for m in _LINK.finditer(value):
            params = {
                p.split("=", 1)[0].strip().lower(): p.split("=", 1)[1].strip().strip('"').lower()
                for p in m.group(2).split(";")
                if "=" in p
            }
            if "license" in params.get("rel", "").split():
                out.append((m.group(1).strip(), params.get("type") == "application/rsl+xml"))
    return out


def cc_spdx(url: str) -> str | None:
    m = _CC.match(url.strip())
    if not m:
        return None
    if m.group("pd"):
        return "CC0-" + m.group("pdver") if m.group("pd").lower() == "zero" else "CC-PDM-" + m.group("pdver")
    return f"CC-{m.group('kind').upper()}-{m.group('ver')}"


def header_signals(lines: Lines, conservative: bool = True) -> tuple[list[Signal], Signal | None, list[str]]:
    """Everything response headers say: X-Robots-Tag, Content-Usage, Content-Signal, licence and
    RSL links; the TDMRep header layer comes separately, for the caller to order the layers."""
    sigs = x_robots_tag(lines) + content_usage_header(lines, conservative) + content_signal_header(lines)
    for href, is_rsl in link_licences(lines):
        sigs.append(
            Signal.noted(
                SignalKind.RSL if is_rsl else SignalKind.LICENCE_MARKUP,
                "resource",
                "header Link rel=license",
                href if is_rsl else (cc_spdx(href) or href),
                scope_value=href,
                lint=("rsl_not_fetched",) if is_rsl else (),
            )
        )
    tdm, lint = tdmrep_header(lines, conservative)
    return sigs, tdm, lint
