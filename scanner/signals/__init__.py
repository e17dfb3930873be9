"""Opt-out signals: pure parsers from bytes, headers and HTML to normalised `Signal` records.

`from_response` reads everything a fetched resource says about itself (headers, and the HTML
head when it is a page); per-origin files have their own parsers (robots.txt, tdmrep.json,
ai.txt, RSL), and `scanner.decide` combines them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scanner.signals.headers import header_lines, header_signals
from scanner.signals.html import html_signals, read_html
from scanner.signals.model import Signal, SignalKind

__all__ = ["Signal", "from_response"]


def from_response(
    url: str,
    status: int | None,
    headers: Any,
    body: bytes | None,
    observed_at: datetime | None = None,
    *,
    conservative: bool = True,
) -> list[Signal]:
    """Every signal a response carries about itself: X-Robots-Tag, TDMRep and Content-Usage /
    Content-Signal headers, licence and RSL `Link`s, and for HTML the head's meta tags and the
    page's licence markup. TDMRep layers come out separately (header, then meta), for
    `scanner.decide` to resolve in the protocol's order."""
    lines = header_lines(headers)
    out, tdm, _ = header_signals(lines, conservative)
    if tdm:
        out.append(tdm)
    ctype = next((v for k, v in lines if k == "content-type"), "")
    if body and ("html" in ctype.lower() or (not ctype and body.lstrip()[:1] == b"<")):
        facts = read_html(body)
        out += html_signals(facts, conservative)
        out += [
            Signal.noted(
                SignalKind.RSL,
                "resource",
                "link rel=license type=rsl",
                href,
                scope_value=href,
                lint=("rsl_not_fetched",),
            )
            for href in facts.rsl_links
        ]
    return [s.with_evidence(None, observed_at) for s in out]
