"""The row mapping beside the SQL: typed records (sightings, signals, manifest declarations) to the
columns of their tables. Pure: the store's typed writers call these, and so can a writer that
builds its batch elsewhere (ingest) and must give the same rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.ids import signal_id

if TYPE_CHECKING:  # the records' modules load the store; the rows need only their attributes
    from scanner.evidence import Observation
    from scanner.manifest import Blocklist, Dataset
    from scanner.signals.model import Signal

Row = dict[str, Any]
Sighting = tuple[str, str, datetime]  # (obs_id, evidence_sha256, observed_at) of a stored observation


def observation_rows(items: Iterable[tuple[bytes, Observation]], run_id: str | None) -> tuple[list[Row], list[Row]]:
    """Rows for `evidence` (one per distinct body) and `observations` (one per sighting)."""
    blobs: dict[str, Row] = {}
    sightings = []
    for body, obs in items:
        blobs.setdefault(obs.evidence_sha256, {"sha256": obs.evidence_sha256, "size": len(body), "body": body})
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


def signal_rows(sighting: Sighting, found: Sequence[Signal]) -> list[Row]:
    """Rows for `signals`: the statements one sighting gave, in order (their index is their id),
    with the sighting's evidence and time."""
    obs_id, evidence_sha256, observed_at = sighting
    return [
        {
            "signal_id": signal_id(obs_id, i),
            "obs_id": obs_id,
            "evidence_sha256": evidence_sha256,
            "signal": sig.signal,
            "category": sig.category,
            "statement": sig.statement,
            "agents": list(sig.agents),
            "scope": sig.scope,
            "scope_value": sig.scope_value,
            "locator": sig.locator,
            "observed_at": observed_at,
            "confidence": sig.confidence,
            "lint": list(sig.lint),
            "detail": sig.detail,
        }
        for i, sig in enumerate(found)
    ]


def source_row(ds: Dataset, manifest: Path | None) -> Row:
    """A declared dataset as a `sources` row."""
    return {
        "source_id": ds.source_id,
        "name": ds.name,
        "version": ds.version,
        "url": ds.url,
        "category": ds.category,
        "modalities": list(ds.modalities),
        "licence": ds.licence,
        "collected_from": ds.collected_from,
        "collected_to": ds.collected_to,
        "publicly_known": ds.publicly_known,
        "manifest": None if manifest is None else str(manifest),
    }


def undeclared_source_row(name: str, category: str) -> Row:
    """A source for files ingested without a manifest: only its name is known."""
    return {
        "source_id": name,
        "name": name,
        "version": None,
        "url": None,
        "category": category,
        "modalities": ["text"],
        "licence": None,
        "collected_from": None,
        "collected_to": None,
        "publicly_known": None,
        "manifest": None,
    }


def blocklist_rows(lists: Iterable[Blocklist]) -> list[Row]:
    """One `blocklist` row per (domain, list)."""
    return [{"registrable_domain": d, "list_name": bl.name, "reason": bl.reason} for bl in lists for d in bl.domains]


def extraction_row(obs_id: str, signals: int, at: datetime) -> Row:
    """A `signal_extractions` row: this sighting was read, giving `signals` statements."""
    return {"obs_id": obs_id, "signals": signals, "extracted_at": at}
