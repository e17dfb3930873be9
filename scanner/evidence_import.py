"""Bulk evidence import: thousands of archived robots.txt files in one run, idempotent.

Two inputs:
- an index (CSV with a header, or JSONL): `path, url, observed_at[, status, kind, note]` per line,
  paths relative to the index's folder;
- a folder or a tar (.tar, .tar.gz, .tgz) laid out as `HOST/robots.txt`, all seen at one date
  (`observed_at`), served at `SCHEME://HOST/robots.txt`.

Every sighting gets the same identity as a one-by-one `evidence import`, so re-running writes
nothing new. A bad line or file is reported (index line or member name) and skipped. A WARC of
captures is imported by `provenance ingest` instead (robots.txt records become evidence).
"""

from __future__ import annotations

import csv
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from scanner.corpus.records import sha256_hex
from scanner.errors import InputError, InvalidURL
from scanner.evidence import Observation, compile_rules, kind_for_url, parse_time, served_outcome
from scanner.evidence_model import EvidenceKind
from scanner.store import Store
from scanner.urls import split_url

_OBS_COLUMNS = {
    "obs_id": pa.string(),
    "evidence_sha256": pa.string(),
    "kind": pa.string(),
    "url": pa.string(),
    "origin": pa.string(),
    "observed_at": pa.timestamp("us", "UTC"),
    "http_status": pa.int32(),
    "headers": pa.string(),
    "via": pa.string(),
    "locator": pa.string(),
    "run_id": pa.string(),
}
MAX_FILE = 32 * 1024 * 1024  # bytes of one artefact; robots.txt parsing stops at 500 KiB anyway
BATCH = 5000
INDEX_FIELDS = ("path", "url", "observed_at", "status", "kind", "note")


@dataclass
class ImportReport:
    run_id: str
    read: int = 0
    sightings_new: int = 0
    blobs_new: int = 0
    not_robots: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "read": self.read,
            "sightings_new": self.sightings_new,
            "already_stored": self.read - self.sightings_new,
            "blobs_new": self.blobs_new,
            "not_robots": self.not_robots,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class _Item:
    where: str  # index line or member name, for problems
    body: bytes | None
    url: str | None
    observed_at: datetime | None
    status: int | None = 200
    kind: str | None = None
    note: str | None = None
    locator: str | None = None
    problem: str | None = None


def import_many(
    store: Store,
    source: Path,
    *,
    observed_at: datetime | None = None,
    scheme: str = "https",
    http_status: int = 200,
    note: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import an index, a folder or a tar of artefacts under one run record."""
    if not source.exists():
        raise InputError(str(source), "no such file or folder")
    if scheme not in ("http", "https"):
        raise InputError(str(source), f"scheme {scheme!r}: use http or https")
    name = source.name.lower()
    if source.is_file() and name.endswith((".csv", ".jsonl", ".ndjson")):
        items = _index_items(source)
    else:
        if observed_at is None:
            raise InputError(str(source), "a folder or tar of HOST/robots.txt needs --observed-at (one date for all)")
        layout = _tar_members(source) if source.is_file() else _folder_members(source)
        items = _layout_items(layout, source, scheme, observed_at, http_status, note)
    run_id = store.start_run("evidence-import-many", {"source": str(source), "scheme": scheme})
    report = ImportReport(run_id)
    status = "failed"
    try:
        batch: list[tuple[bytes, Observation]] = []
        for item in items:
            obs = _observation(item, report)
            if obs is None:
                continue
            batch.append(obs)
            if len(batch) >= BATCH:
                _flush(store, batch, report, progress)
        _flush(store, batch, report, progress)
        status = "ok" if not report.problems else "partial"
    finally:
        stats = {k: v for k, v in report.as_dict().items() if k != "problems"}
        errors = [{"file": str(source), "where": p["where"], "reason": p["reason"]} for p in report.problems[:1000]]
        store.finish_run(run_id, status, stats, errors)
    return report


def _flush(store: Store, batch: list, report: ImportReport, progress) -> None:
    """One transaction per batch, rows as typed Arrow columns (the same rows `write_observations`
    writes for one sighting)."""
    if not batch:
        return
    blobs: dict[str, bytes] = {}
    cols: dict[str, list] = {k: [] for k in _OBS_COLUMNS}
    for body, obs in batch:
        blobs.setdefault(obs.evidence_sha256, body)
        values = (obs.obs_id, obs.evidence_sha256, obs.kind, obs.url, obs.origin, obs.observed_at,
                  obs.http_status, None, obs.via, obs.locator, report.run_id)  # fmt: skip
        for k, v in zip(_OBS_COLUMNS, values, strict=True):
            cols[k].append(v)
    evidence = pa.table(
        {
            "sha256": pa.array(list(blobs), pa.string()),
            "size": pa.array([len(b) for b in blobs.values()], pa.int64()),
            "body": pa.array(list(blobs.values()), pa.binary()),
        }
    )
    sightings = pa.table({k: pa.array(v, _OBS_COLUMNS[k]) for k, v in cols.items()})
    with store.transaction():
        report.blobs_new += store.write_evidence(evidence)
        report.sightings_new += store.write_observations(sightings)
        compile_rules(store, batch)
    if progress:
        progress(len(batch), sum(len(b) for b, _ in batch))
    batch.clear()


def _observation(item: _Item, report: ImportReport) -> tuple[bytes, Observation] | None:
    report.read += 1
    if item.problem:
        report.problems.append({"where": item.where, "reason": item.problem})
        return None
    if item.url is None or split_url(item.url) is None:
        report.problems.append({"where": item.where, "reason": str(InvalidURL(item.url, "url "))})
        return None
    kind = item.kind or kind_for_url(item.url)
    body = item.body or b""
    if served_outcome(kind, item.status, body):
        report.not_robots += 1
    locator = item.locator
    if item.note:
        locator = json.dumps({"file": item.locator, "note": item.note})
    if item.observed_at is None:
        report.problems.append({"where": item.where, "reason": "no observed_at: when was it seen?"})
        return None
    obs = Observation(sha256_hex(body), kind, item.url, item.observed_at, "import", item.status, locator=locator)
    return body, obs


# -- an index -----------------------------------------------------------------------------------
def _index_rows(path: Path) -> Iterator[tuple[str, dict | None, str | None]]:
    """(where, row, problem) per line of a CSV (with header) or JSONL index."""
    try:
        fh = path.open("r", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    with fh:
        try:
            if path.name.lower().endswith(".csv"):
                reader = csv.DictReader(fh)
                missing = {"path", "url", "observed_at"} - set(reader.fieldnames or ())
                if missing:
                    raise InputError(str(path), f"the CSV header lacks {', '.join(sorted(missing))}")
                for row in reader:
                    yield f"{path.name}:{reader.line_num}", row, None
            else:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError as exc:
                        yield f"{path.name}:{n}", None, f"not JSON: {exc}"
                        continue
                    if not isinstance(row, dict):
                        yield f"{path.name}:{n}", None, "not a JSON object"
                        continue
                    yield f"{path.name}:{n}", row, None
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except csv.Error as exc:
            raise InputError(str(path), f"unreadable CSV: {exc}") from exc


def _index_items(path: Path) -> Iterator[_Item]:
    base = path.parent.resolve()
    for where, row, problem in _index_rows(path):
        if problem or row is None:
            yield _Item(where, None, None, None, problem=problem or "no row")
            continue
        try:
            rel = str(row.get("path") or "")
            when = parse_time(str(row.get("observed_at") or ""), "observed_at")
            status = int(row["status"]) if row.get("status") not in (None, "") else 200
        except (InputError, ValueError, TypeError) as exc:
            reason = exc.problem if isinstance(exc, InputError) else f"status {row.get('status')!r} is not a number"
            yield _Item(where, None, None, None, problem=reason)
            continue
        target = (base / rel).resolve()
        if not rel or not target.is_relative_to(base):
            yield _Item(where, None, None, None, problem=f"path {rel!r} is empty or outside the index's folder")
            continue
        body, problem = _read(target)
        yield _Item(
            where,
            body,
            str(row.get("url") or "") or None,
            when,
            status,
            str(row.get("kind") or "") or None,
            str(row.get("note") or "") or None,
            rel,
            problem,
        )


def _read(path: Path) -> tuple[bytes | None, str | None]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            return None, f"{path.name}: {size} bytes, over the {MAX_FILE} limit"
        return path.read_bytes(), None
    except OSError as exc:
        return None, f"cannot read {path.name}: {exc.strerror or exc}"


# -- a folder or tar of HOST/robots.txt ----------------------------------------------------------
def _folder_members(root: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    for path in sorted(root.glob("*/robots.txt")):
        if path.is_symlink() or not path.is_file():
            yield str(path.relative_to(root)), None, "not a regular file"
            continue
        body, problem = _read(path)
        yield str(path.relative_to(root)), body, problem


def _tar_members(path: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise InputError(str(path), f"not a readable tar: {exc}") from exc
    with tar:
        try:
            for member in tar:
                if not member.name.endswith("robots.txt") or member.isdir():
                    continue
                if not member.isfile():
                    yield member.name, None, "not a regular file (link or device)"
                    continue
                if member.size > MAX_FILE:
                    yield member.name, None, f"{member.size} bytes, over the {MAX_FILE} limit"
                    continue
                f = tar.extractfile(member)
                yield member.name, f.read() if f else b"", None
        except (OSError, tarfile.TarError, EOFError) as exc:
            yield "(tar)", None, f"unreadable after this point: {exc}"


def _layout_items(members, source: Path, scheme: str, when: datetime, status: int, note: str | None):
    for name, body, problem in members:
        parts = name.replace("\\", "/").split("/")
        host = parts[-2] if len(parts) >= 2 and parts[-1] == "robots.txt" else ""
        url = f"{scheme}://{host}/robots.txt" if host and host not in (".", "..") else None
        if problem is None and url is None:
            problem = "not laid out as HOST/robots.txt"
        yield _Item(name, body, url, when, status, EvidenceKind.ROBOTS_TXT, note, f"{source.name}:{name}", problem)
