"""Evidence: immutable, content-addressed artefacts, and each sighting of one as an observation.

The same robots.txt bytes seen on ten days are one blob and ten observations: a legal team can
show exactly what was served when, and the store does not grow with repetition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from scanner.corpus.records import sha256_hex
from scanner.decide.cache import licence_urls
from scanner.decide.rules import compile_stored
from scanner.errors import InputError
from scanner.evidence_model import ORIGIN_FILES, Artefact, Evidence, EvidenceKind
from scanner.ids import digest
from scanner.signals.fetch_outcome import PARSED, UNREACHABLE, fetch_outcome
from scanner.signals.headers import evidence_headers
from scanner.signals.html import evidence_facts
from scanner.store import Store
from scanner.store.rows import observation_rows as observation_rows  # the rows ingest writes itself
from scanner.urls import require_url, split_url

_FUTURE_SLACK = timedelta(minutes=5)  # clock skew tolerated before an --observed-at is "future"
KINDS_BY_PATH = {path: kind for kind, path in ORIGIN_FILES.items()}


@dataclass(frozen=True, slots=True)
class Observation:
    """One sighting of an artefact: where, when, how it was served and how we got it."""

    evidence_sha256: str
    kind: str
    url: str
    observed_at: datetime
    via: str
    http_status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    locator: str | None = None

    @property
    def origin(self) -> str | None:
        parts = split_url(self.url)
        return parts.origin if parts else None

    @property
    def obs_id(self) -> str:
        """Identity of the sighting: re-importing the same sighting is a no-op."""
        return digest(
            (
                self.evidence_sha256,
                self.kind,
                self.url,
                self.observed_at.isoformat(),
                self.via,
                str(self.http_status),
                self.locator or "",
                json.dumps(self.headers),
            )
        )


def live_observation(fetched: Any, request_headers: dict[str, str]) -> tuple[bytes, Observation]:
    """One file fetched by the crawler (`crawlers.origin.OriginFetch`) as (body, Observation): the
    response or the error, how it went, and the request headers we sent (the chain of custody of
    a live fetch). The one path from a fetch to evidence, for `fetch-signals` and live checks."""
    r = fetched.result
    locator: dict[str, Any] = {
        "final_url": r.final_url,
        "chain": r.chain,
        "error": r.error,
        "truncated": r.truncated,
        "attempts": r.attempts,
        "outcome": fetched.outcome,
        "request_headers": request_headers,
    }
    if r.received_status is not None and r.status is None:
        locator["received_status"] = r.received_status
    locator.update(fetched.note)
    obs = Observation(
        sha256_hex(r.body), fetched.kind, r.url, r.fetched_at, "live-fetch", r.status, r.headers, json.dumps(locator)
    )
    return r.body, obs


def kind_for_url(url: str) -> str:
    parts = split_url(url)
    path = url.split(parts.origin, 1)[1].split("?", 1)[0] if parts else ""
    return KINDS_BY_PATH.get(path, EvidenceKind.RESOURCE)


def write_observations(
    store: Store, items: Sequence[tuple[bytes, Observation]], run_id: str | None = None
) -> tuple[int, int]:
    """Store blobs and sightings in one transaction; returns (new blobs, new sightings)."""
    with store.transaction():
        written = store.write_sightings(items, run_id)
        compile_rules(store, items)
        return written


def compile_rules(store: Store, items: Iterable[tuple[bytes, Observation]]) -> int:
    """The robots.txt rules of just-stored sightings, compiled once per file for `decide`
    (`scanner.decide.rules`); every writer of evidence calls this in its transaction."""
    return compile_stored(store, ((body, o.evidence_sha256, o.kind, o.http_status) for body, o in items))


def served_outcome(kind: str, http_status: int | None, body: bytes) -> str | None:
    """`not-robots` / `edge-blocked` when a robots.txt URL served an HTML or challenge page (from
    any source: live fetch, corpus capture, import), else None."""
    from scanner.signals.fetch_outcome import served_as

    return served_as(http_status, body) if kind == EvidenceKind.ROBOTS_TXT else None


def parse_time(value: str, what: str = "time") -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(what, f"{value!r} is not an ISO 8601 date or time") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_as_of(value: str, what: str = "--as-of") -> datetime:
    """An "as of" moment. A date alone (2025-07-02) means the end of that day in UTC, so that a
    capture made at 11:01 that day counts; a time without a zone is UTC."""
    dt = parse_time(value, what)
    if len(value.strip()) == 10:  # YYYY-MM-DD
        dt = dt.replace(hour=23, minute=59, second=59, microsecond=999999)
    return dt


def import_evidence(
    store: Store,
    path: Path,
    *,
    url: str,
    observed_at: datetime,
    http_status: int | None = 200,
    kind: str | None = None,
    run_id: str | None = None,
    warn: Callable[[str], None] | None = None,
    note: str | None = None,
) -> Observation:
    """Add an artefact seen elsewhere (an archived robots.txt, a saved header set), checked
    first: a known kind, a status in 100..599, headers and html-meta evidence that decisions can
    read. An observation time in the future is stored, with a warning through `warn`. `note`
    (where it came from: "Wayback capture 2025…") is kept with the sighting for the chain of
    custody."""
    require_url(url, f"{path}: --url ")
    try:
        kind = EvidenceKind(kind or kind_for_url(url)).value
    except ValueError:
        known = ", ".join(k.value for k in EvidenceKind)
        raise InputError(str(path), f"--kind {kind!r} is not one of {known}") from None
    if http_status is not None and not 100 <= http_status <= 599:
        raise InputError(str(path), f"--status {http_status} is not an HTTP status (100..599)")
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    problem = None
    if kind == EvidenceKind.HEADERS:
        problem = evidence_headers(body)[1]
    elif kind == EvidenceKind.HTML_META:
        problem = evidence_facts(body)[1]
    if problem:
        raise InputError(str(path), f"--kind {kind}: {problem}")
    if observed_at > datetime.now(UTC) + _FUTURE_SLACK and warn is not None:
        warn(f"--observed-at {observed_at.isoformat()} is in the future")
    obs = Observation(
        evidence_sha256=sha256_hex(body),
        kind=kind,
        url=url,
        observed_at=observed_at,
        via="import",
        http_status=http_status,
        locator=json.dumps({"file": str(path.name), "note": note}) if note else str(path.name),
    )
    write_observations(store, [(body, obs)], run_id)
    return obs


ORIGIN_KINDS = (EvidenceKind.ROBOTS_TXT, EvidenceKind.TDMREP_JSON, EvidenceKind.AI_TXT)
RESOURCE_KINDS = (EvidenceKind.HEADERS, EvidenceKind.HTML_META)


class EvidenceIndex:
    """Stored evidence loaded once and looked up per URL "as of" a time.

    The audit (`provenance decide`), the legal query (`status`) and the hook (`check`) all build
    their `Evidence` here, so they cannot disagree. RFC 9309 §2.4: when the newest robots.txt
    sighting is unreachable, the newest earlier successful copy is used instead (it is then
    usually stale, which lowers confidence).
    """

    def __init__(self, rows: list[dict], blocklist: dict[str, tuple[str, str | None]]) -> None:
        from bisect import bisect_right

        self._bisect = bisect_right
        self.by_origin: dict[tuple[str, str], list[dict]] = {}
        self.by_url: dict[tuple[str, str], list[dict]] = {}
        self._times: dict[tuple[str, str], list] = {}
        self.has_rsl = False
        self.resource_urls: set[str] = set()  # URLs with evidence of their own
        self.blocklist = blocklist
        self.add(rows)

    def add(self, rows: list[dict]) -> None:
        """More sightings (e.g. a live fetch), kept in time order per origin or URL and kind."""
        touched = set()
        for row in rows:
            if row["kind"] in ORIGIN_KINDS:
                key, table = (row["origin"], row["kind"]), self.by_origin
            else:
                key, table = (row["url"], row["kind"]), self.by_url
                self.has_rsl = self.has_rsl or row["kind"] == EvidenceKind.RSL
                if row["kind"] in RESOURCE_KINDS:
                    self.resource_urls.add(row["url"])
            table.setdefault(key, []).append(row)
            touched.add(key)
        for key in touched:
            seen = self.by_origin.get(key) or self.by_url[key]
            seen.sort(key=lambda r: r["observed_at"])
            self._times[key] = [r["observed_at"] for r in seen]

    @classmethod
    def load(
        cls,
        store: Store,
        *,
        origins: list[str] | None = None,
        urls: list[str] | None = None,
        as_of: datetime | None = None,
    ) -> EvidenceIndex:
        rows = store.observations(origins=origins, kinds=ORIGIN_KINDS, as_of=as_of)
        rows += store.observations(urls=urls, kinds=RESOURCE_KINDS, as_of=as_of)
        rows += store.observations(kinds=(EvidenceKind.RSL,), as_of=as_of)
        return cls(rows, store.blocklist())

    def _newest(self, key: tuple[str, str], when: datetime | None) -> list[dict]:
        rows = self.by_origin.get(key) or self.by_url.get(key) or []
        if when is None or not rows:
            return rows
        return rows[: self._bisect(self._times[key], when)]

    def evidence_for(
        self,
        url: str,
        when: datetime | None,
        reference: datetime | None = None,
        *,
        origin: str | None = None,
        domain: str | None = None,
    ):
        """The `Evidence` for a URL from what was seen at or before `when` (None: everything).

        `origin` and `domain` may be passed when already known (documents carry them)."""
        if origin is None or domain is None:
            parts = split_url(url)
            origin = parts.origin if parts else None
            domain = parts.registrable_domain if parts else None
        base = self.origin_evidence(origin, domain, when, reference)
        resource = []
        for kind in RESOURCE_KINDS:
            seen = self._newest((url, kind), when)
            if seen:
                resource.append(artefact_of(seen[-1]))
        if not resource and not self.has_rsl:
            return base
        rsl = self._rsl_for(base.robots, resource, when)
        return replace(base, rsl=tuple(rsl), resource=tuple(resource))

    def document_evidence(self, doc: dict, as_of: datetime | None):
        """The `Evidence` a stored document is judged by: as of `as_of`, else as of its own fetch
        time; staleness is measured from its fetch time (or `as_of` when it has none)."""
        return self.evidence_for(
            doc["url"],
            as_of or doc["fetched_at"],
            reference=doc["fetched_at"] or as_of,
            origin=doc["origin"],
            domain=doc["registrable_domain"],
        )

    def has_resource(self, url: str) -> bool:
        """Whether the URL has evidence of its own (headers, meta), beyond its origin's."""
        return url in self.resource_urls

    def origin_evidence(
        self, origin: str | None, domain: str | None, when: datetime | None, reference: datetime | None = None
    ):
        """What every URL of an origin shares: its robots.txt, TDMRep and ai.txt sightings as of
        `when`, and a blocklist hit on its domain."""
        per_origin = {}
        for kind in ORIGIN_KINDS:
            seen = self._newest((origin, kind), when) if origin else []
            chosen = seen[-1] if seen else None
            if chosen is not None and fetch_outcome(chosen["http_status"]) == UNREACHABLE:
                earlier = [r for r in seen if fetch_outcome(r["http_status"]) == PARSED]
                chosen = earlier[-1] if earlier else chosen
            per_origin[kind] = artefact_of(chosen)
        return Evidence(
            robots=per_origin[EvidenceKind.ROBOTS_TXT],
            tdmrep=per_origin[EvidenceKind.TDMREP_JSON],
            ai_txt=per_origin[EvidenceKind.AI_TXT],
            blocklisted=self.blocklist.get(domain) if domain else None,
            reference_time=reference or when,
        )

    def _rsl_for(self, robots, resource, when) -> list:
        """RSL documents named by robots.txt `License:` lines and the page's licence links, if stored."""
        if not self.has_rsl:
            return []
        urls: list[str] = []
        if robots is not None:
            urls += [urljoin(robots.url, u) for u in licence_urls(robots.body, robots.sha256)]
        for art in resource:
            if art.kind == EvidenceKind.HTML_META:
                urls += [urljoin(art.url, u) for u in evidence_facts(art.body)[0].rsl_links]
        newest = (self._newest((u, EvidenceKind.RSL), when) for u in dict.fromkeys(urls))
        return [artefact_of(seen[-1]) for seen in newest if seen]


def artefact_of(row: dict | None) -> Artefact | None:
    """A stored sighting row as the `Artefact` a decision reads."""
    if row is None:
        return None
    return Artefact(
        row["kind"], row["url"], row["body"], row["evidence_sha256"], row["observed_at"], row["http_status"]
    )
