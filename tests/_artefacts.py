"""Stored artefacts built in a line, for tests that decide on evidence (a robots.txt, headers,
a page's meta tags) without a store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from scanner.corpus.records import sha256_hex
from scanner.decide import Artefact, Evidence, Policy, decide, make_policy
from scanner.signals.html import facts_to_evidence, read_html

T0 = datetime(2025, 3, 1, tzinfo=UTC)
URL = "https://e.example/page"
ANY = Policy("test-any", ("*",))


def art(
    kind: str,
    body: bytes | str,
    status: int | None = 200,
    url: str = "https://e.example/robots.txt",
    when: datetime = T0,
) -> Artefact:
    body = body.encode() if isinstance(body, str) else body
    return Artefact(kind, url, body, sha256_hex(body), when, status)


def headers(**fields: str) -> Artefact:
    pairs = sorted((k.replace("_", "-").lower(), v) for k, v in fields.items())
    return art("headers", json.dumps(pairs), url=URL)


def html(markup: str) -> Artefact:
    return art("html-meta", facts_to_evidence(read_html(markup.encode())) or b"{}", url=URL)


def verdict(url: str = URL, policy: Policy = ANY, modality: str = "text", **evidence) -> str:
    return decide(url, Evidence(**evidence), policy, modality=modality).verdict


def agent(token: str) -> Policy:
    return make_policy(agent=token)
