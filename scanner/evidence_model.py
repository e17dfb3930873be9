"""What a decision reads: stored artefacts and the evidence about one URL as of a time.

Apart from `scanner.evidence` (which loads and writes them through the store) so that the
verdict, a parser-only process or an evidence pack's verifier can use them without DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from scanner.signals.model import Signal


class EvidenceKind(StrEnum):
    """What a stored artefact is: how decisions read it."""

    ROBOTS_TXT = "robots.txt"
    TDMREP_JSON = "tdmrep.json"
    AI_TXT = "ai.txt"
    HEADERS = "headers"  # JSON: {name: value | [values]} or [[name, value], ...]
    HTML_META = "html-meta"  # JSON: what `read_html` found (meta tags, licences, RSL links)
    RSL = "rsl"
    RESOURCE = "resource"  # anything else (kept, not read)


# The per-origin files and where an origin serves them: what fetch-signals asks for, and how an
# imported or captured URL is recognised as one of them.
ORIGIN_FILES: dict[EvidenceKind, str] = {
    EvidenceKind.ROBOTS_TXT: "/robots.txt",
    EvidenceKind.TDMREP_JSON: "/.well-known/tdmrep.json",
    EvidenceKind.AI_TXT: "/ai.txt",
}


@dataclass(frozen=True)
class Artefact:
    """One stored sighting of evidence: the bytes and how they were served."""

    kind: str  # an EvidenceKind (stored rows carry the plain string)
    url: str
    body: bytes
    sha256: str  # the content address: parse caches are keyed by it
    observed_at: datetime | None
    http_status: int | None = 200


@dataclass(frozen=True)
class Evidence:
    """Everything known about one URL as of a time: per-origin files, the resource's own
    evidence, a blocklist hit. `reference_time` (the document's fetch time or the as-of time)
    makes older evidence stale."""

    robots: Artefact | None = None
    tdmrep: Artefact | None = None
    ai_txt: Artefact | None = None
    rsl: tuple[Artefact, ...] = ()
    resource: tuple[Artefact, ...] = ()  # headers and html-meta of the URL itself
    blocklisted: tuple[str, str | None] | None = None  # (list name, reason)
    reference_time: datetime | None = None
    asset: tuple[Signal, ...] = ()  # from embedded metadata (IPTC DataMining, TDMRep in EPUB/PDF)
