"""Evidence: immutable, content-addressed artefacts, and each sighting of one as an observation.

The same robots.txt bytes seen on ten days are one blob and ten observations: a legal team can
show exactly what was served when, and the store does not grow with repetition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scanner.corpus.records import sha256_hex
from scanner.errors import InputError
from scanner.store import Store
from scanner.urls import split_url

VIA = ("live-fetch", "corpus-record", "import")
KINDS_BY_PATH = {
    "/robots.txt": "robots.txt",
    "/.well-known/tdmrep.json": "tdmrep.json",
    "/ai.txt": "ai.txt",
}


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
        return sha256_hex(
            "\x1f".join(
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
        )[:32]


def kind_for_url(url: str) -> str:
    parts = split_url(url)
    path = url.split(parts.origin, 1)[1].split("?", 1)[0] if parts else ""
    return KINDS_BY_PATH.get(path, "resource")


def observation_rows(
    items: Iterable[tuple[bytes, Observation]], run_id: str | None
) -> tuple[list[dict], list[dict]]:
    """Rows for the evidence and observations tables (pure: no store access)."""
    blobs: dict[str, dict] = {}
    sightings = []
    for body, obs in items:
        blobs.setdefault(
            obs.evidence_sha256, {"sha256": obs.evidence_sha256, "size": len(body), "body": body}
        )
        sightings.append(
            {
                "obs_id": obs.obs_id,
                "evidence_sha256": obs.evidence_sha256,
                "kind": obs.kind,
                "url": obs.url,
                "origin": obs.origin,
                "observed_at": obs.observed_at,
                "http_status": obs.http_status,
                "headers": json.dumps(dict(obs.headers)) if obs.headers else None,
                "via": obs.via,
                "locator": obs.locator,
                "run_id": run_id,
            }
        )
    return list(blobs.values()), sightings


def write_observations(
    store: Store, items: Sequence[tuple[bytes, Observation]], run_id: str | None = None
) -> tuple[int, int]:
    """Store blobs and sightings in one transaction; returns (new blobs, new sightings)."""
    blobs, sightings = observation_rows(items, run_id)
    with store.transaction():
        return store.insert("evidence", blobs), store.insert("observations", sightings)


def parse_time(value: str, what: str = "time") -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(what, f"{value!r} is not an ISO 8601 date or time") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def import_evidence(
    store: Store,
    path: Path,
    *,
    url: str,
    observed_at: datetime,
    http_status: int | None = 200,
    kind: str | None = None,
    run_id: str | None = None,
) -> Observation:
    """Add an artefact seen elsewhere (an archived robots.txt, a saved header set)."""
    if split_url(url) is None:
        raise InputError(str(path), f"--url {url!r} is not an http(s) URL with a host")
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    obs = Observation(
        evidence_sha256=sha256_hex(body),
        kind=kind or kind_for_url(url),
        url=url,
        observed_at=observed_at,
        via="import",
        http_status=http_status,
        locator=str(path.name),
    )
    write_observations(store, [(body, obs)], run_id)
    return obs
