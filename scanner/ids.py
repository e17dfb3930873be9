"""Row identities, defined once: documents, sightings, decision outcomes and decisions.

Each id is 32 hex digits of a SHA-256 over fields joined by the unit separator (U+001F), so the
same inputs give the same id on every run and machine, and writing a row twice changes nothing.
Where SQL computes an id too (the `decisions` view), its form is generated here
(`DECISION_ID_SQL`) and tested against the Python function.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

SEP = "\x1f"


def digest(fields: Iterable[str]) -> str:
    return hashlib.sha256(SEP.join(fields).encode("utf-8")).hexdigest()[:32]


def document_id(source_id: str, url: str | None, fetched_at_iso: str, content_sha: str) -> str:
    """The same record in the same source is the same document."""
    return digest((source_id, url or "", fetched_at_iso, content_sha))


def outcome_id(reasons_json: str) -> str:
    """A decision without its URL (verdict, reasons, evidence), shared by documents decided alike."""
    return hashlib.sha256(reasons_json.encode("utf-8")).hexdigest()[:32]


def decision_id(doc_id: str, policy: str, policy_version: str, usage: str, as_of_key: str, outcome: str) -> str:
    """One document's decision under one policy and as-of mode: re-deciding to the same outcome
    writes nothing new. `as_of_key` is the as-of time in ISO form, or "" for "as of each
    document's own fetch time"."""
    return digest((doc_id, policy, policy_version, usage, as_of_key, outcome))


def as_of_key(as_of) -> str:  # datetime | None
    return as_of.isoformat() if as_of else ""


# The same formula over the columns of `decision_rows` (r) and `decision_sets` (s).
DECISION_ID_SQL = (
    "substr(sha256(concat_ws(chr(31), r.doc_id, s.policy, s.policy_version, s.usage, s.as_of_key, r.outcome)), 1, 32)"
)


def signal_id(obs_id: str, index: int) -> str:
    """The `index`-th statement read from one sighting (re-reading it gives the same ids)."""
    return hashlib.sha256(f"{obs_id}/{index}".encode()).hexdigest()[:32]
