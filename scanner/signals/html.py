"""Opt-out and licence signals in HTML: meta robots / agent-named meta (`noai`), TDMRep meta,
licence markup (rel=license, Dublin Core, JSON-LD) and RSL links. Pure: bytes in, records out.

Reservations are read from `<head>` only (spec §6.4, §7.2 rule 4); licence links anywhere, since
ccREL puts them in the body (then their scope may be a part of the page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml import etree

from scanner.signals.headers import AI_DIRECTIVES, cc_spdx, directive_signals, robots_directives
from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement

_CC_LICENCE_HREF = re.compile(r"creativecommons\.org/(licenses|publicdomain)/", re.IGNORECASE)
_RIGHTS_NAMES = {"copyright", "rights", "dc.rights", "dcterms.rights", "dc.license", "dcterms.license"}
# Meta names that are not agents even though they hold robots-like directives.
_NOT_AGENTS = {"viewport", "description", "keywords", "author", "generator", "referrer", "theme-color"}


@dataclass(frozen=True, slots=True)
class Licence:
    url: str
    spdx: str | None  # CC-BY-NC-ND-4.0, CC0-1.0, ... when recognised
    carrier: str  # rel=license | dcterms.license | json-ld | meta license | Link header
    scope: str  # page | page-ambiguous (a link in the body may license only a part)


@dataclass
class HtmlFacts:
    """What the head and the licence markup of one page say, before any policy is applied."""

    meta_robots: list[dict[str, str]] = field(default_factory=list)  # {name, content}
    meta_tdm: list[dict[str, str]] = field(default_factory=list)
    rel_license_hrefs: list[str] = field(default_factory=list)
    creativecommons_hrefs: list[str] = field(default_factory=list)
    rights_meta: list[dict[str, str]] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    rsl_links: list[str] = field(default_factory=list)
    lint: list[str] = field(default_factory=list)
    body_meta_robots: set[int] = field(default_factory=set)  # indexes of meta_robots outside <head>


def read_html(body: bytes | str | lxml.html.HtmlElement) -> HtmlFacts:
    """The facts of one page; given an lxml tree (ingest's one parse per page), it is only read."""
    facts = HtmlFacts()
    if isinstance(body, lxml.html.HtmlElement):
        doc = body
    else:
        try:
            doc = lxml.html.document_fromstring(body)
        except (etree.ParserError, ValueError):
            facts.lint.append("html_unparsable")
            return facts
    head = doc.find("head")
    head_metas = set(head.iter("meta")) if head is not None else set()
    return facts_of_elements(
        ((m, m in head_metas) for m in doc.iter("meta")), doc.iter("a", "link", "area"), doc.iter("script"), facts
    )


def facts_of_elements(
    metas: Iterable[tuple[Any, bool]], links: Iterable[Any], scripts: Iterable[Any], facts: HtmlFacts | None = None
) -> HtmlFacts:
    """The facts of a page's elements, whichever parser made them: each element has `.get(name)`
    (an attribute or None), `.tag` and `.text`. `metas` pairs each meta with whether it is in
    <head>; `links` are the a/link/area elements in document order."""
    facts = facts if facts is not None else HtmlFacts()
    for meta, in_head in metas:
        name = (meta.get("name") or "").strip()
        content = (meta.get("content") or "").strip()
        lname = name.lower()
        if _is_robots_name(lname) or (lname and lname not in _NOT_AGENTS and _has_ai_directive(content)):
            facts.meta_robots.append({"name": name, "content": content})
            if not in_head:
                facts.body_meta_robots.add(len(facts.meta_robots) - 1)
                facts.lint.append("meta_robots_in_body")
        elif lname in ("tdm-reservation", "tdm-policy"):
            if in_head:
                facts.meta_tdm.append({"name": name, "content": content})
            else:
                facts.lint.append("tdm_meta_in_body")
        elif lname in _RIGHTS_NAMES:
            facts.rights_meta.append({"name": name, "content": content})
        if lname in ("dcterms.license", "dc.license", "license") and content:
            facts.licences.append(Licence(content, cc_spdx(content), "meta " + lname, "page"))
    for el in links:
        rel = (el.get("rel") or "").lower().split()
        href = (el.get("href") or "").strip()
        if "license" in rel and href:
            if (el.get("type") or "").lower() == "application/rsl+xml":
                facts.rsl_links.append(href)
                continue
            facts.rel_license_hrefs.append(href)
            scope = "page" if el.tag == "link" else "page-ambiguous"
            facts.licences.append(Licence(href, cc_spdx(href), "rel=license", scope))
        if _CC_LICENCE_HREF.search(href):
            facts.creativecommons_hrefs.append(href)
    facts.rel_license_hrefs = list(dict.fromkeys(facts.rel_license_hrefs))
    facts.creativecommons_hrefs = sorted(set(facts.creativecommons_hrefs))
    facts.licences = list(dict.fromkeys(facts.licences))
    for script in scripts:
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            for url in _jsonld_licences(script.text):
                facts.licences.append(Licence(url, cc_spdx(url), "json-ld", "page"))
    return facts


def _is_robots_name(name: str) -> bool:
    """`robots` and the search crawlers' own robots meta names (googlebot, googlebot-news, ...)."""
    return name == "robots" or name.startswith(("googlebot", "bingbot", "msnbot", "slurp"))


def _has_ai_directive(content: str) -> bool:
    if "noai" not in content.lower() and "noimageai" not in content.lower():
        return False  # cheap reject before parsing
    return any(d in AI_DIRECTIVES for _, d in robots_directives(content))


def _jsonld_licences(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    found: list[str] = []
    stack = [data]
    while stack and len(found) < 50:
        node = stack.pop()
        if isinstance(node, dict):
            lic = node.get("license")
            if isinstance(lic, str):
                found.append(lic)
            elif isinstance(lic, dict) and isinstance(href := lic.get("url") or lic.get("@id"), str):
                found.append(href)
            stack += [v for v in node.values() if isinstance(v, dict | list)]
        elif isinstance(node, list):
            stack += node
    return found


def html_signals(facts: HtmlFacts, conservative: bool = True) -> list[Signal]:
    """Reservations and licence evidence from what `read_html` found."""
    out: list[Signal] = []
    for n, meta in enumerate(facts.meta_robots):
        if n in facts.body_meta_robots:
            continue  # reservations are read from <head> only
        name = meta["name"].lower()
        if name == "robots":
            directives = robots_directives(meta["content"])
            out += directive_signals(directives, SignalKind.META_ROBOTS, f"meta[name=robots][{n}]")
        else:  # an agent-named meta tag (`<meta name="CCBot" content="noai">`): that agent only
            out += directive_signals(
                [(None, d) for _, d in robots_directives(meta["content"])],
                SignalKind.META_ROBOTS,
                f"meta[name={meta['name']}][{n}]",
                default_agents=(name,),
                confidence=Confidence.LOW,
            )
    tdm = [m for m in facts.meta_tdm if m["name"].lower() == "tdm-reservation"]
    values = {m["content"].strip() for m in tdm}
    valid = values & {"0", "1"}
    if valid:
        value = "1" if "1" in valid else "0"
        lint = ("tdmrep_meta_conflict",) if len(valid) > 1 else ()
        if not (lint and not conservative):
            policy = next((m["content"] for m in facts.meta_tdm if m["name"].lower() == "tdm-policy"), "")
            out.append(
                Signal(
                    signal=SignalKind.TDMREP,
                    category=Category.TDM,
                    statement=Statement.RESERVED if value == "1" else Statement.PERMITTED,
                    agents=("*",),
                    scope="resource",
                    locator="meta[name=tdm-reservation]",
                    confidence=Confidence.HIGH,
                    lint=lint,
                    detail=f"html meta tdm-reservation: {value}" + (f"; tdm-policy: {policy}" if policy else ""),
                )
            )
    for lic in facts.licences:
        out.append(
            Signal.noted(
                SignalKind.LICENCE_MARKUP,
                "resource",
                lic.carrier,
                lic.spdx or lic.url,
                scope_value=lic.url,
                lint=("licence_scope_ambiguous",) if lic.scope == "page-ambiguous" else (),
            )
        )
    return out


def facts_to_evidence(facts: HtmlFacts) -> bytes | None:
    """The rights-relevant part of a page's markup, canonical JSON: what ingest stores."""
    head_metas = [m for i, m in enumerate(facts.meta_robots) if i not in facts.body_meta_robots]
    doc = {
        "meta_robots": head_metas,
        "meta_tdm": facts.meta_tdm,
        "licences": [[lic.url, lic.carrier, lic.scope] for lic in facts.licences],
        "rsl_links": facts.rsl_links,
    }
    if not any(doc.values()):
        return None
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def evidence_facts(body: bytes) -> tuple[HtmlFacts, str | None]:
    """Stored `html-meta` evidence as facts, and what is wrong with it (None: nothing). Never
    raises: a malformed artefact gives empty facts and a reason."""
    try:
        facts = facts_from_evidence(body)
    except (ValueError, RecursionError) as exc:
        return HtmlFacts(), f"not JSON ({str(exc)[:80]})"
    except (AttributeError, TypeError, KeyError) as exc:
        return HtmlFacts(), f"not the html-meta JSON object ({type(exc).__name__})"
    lists = (facts.meta_robots, facts.meta_tdm, facts.rsl_links)
    if not all(isinstance(x, list) for x in lists) or not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("content"), str)
        for m in facts.meta_robots + facts.meta_tdm
    ):
        return HtmlFacts(), "not the html-meta JSON object (lists of {name, content} meta tags expected)"
    if not all(isinstance(u, str) for u in facts.rsl_links):
        return HtmlFacts(), "not the html-meta JSON object (rsl_links must be strings)"
    return facts, None


def facts_from_evidence(body: bytes) -> HtmlFacts:
    """The stored evidence back to facts, for the decision."""
    doc = json.loads(body)
    return HtmlFacts(
        meta_robots=doc.get("meta_robots", []),
        meta_tdm=doc.get("meta_tdm", []),
        licences=[Licence(u, cc_spdx(u), c, s) for u, c, s in doc.get("licences", [])],
        rsl_links=doc.get("rsl_links", []),
    )
