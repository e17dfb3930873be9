"""Per-origin evidence fetching: robots.txt with RFC 9309 semantics, the well-known opt-out files,
and the RSL licences robots.txt names. Returns FetchResults; the scanner stores them.

An origin is a job of steps, one request each: robots.txt first (its Crawl-delay and License
lines shape the rest), then tdmrep.json, ai.txt and at most MAX_LICENCES licences. `fetch_origin`
runs the steps in a row; crawlers/pool.py interleaves the steps of many origins.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawlers.http import Client, FetchResult, ascii_int
from scanner.evidence_model import ORIGIN_FILES, EvidenceKind
from scanner.signals.fetch_outcome import UNREACHABLE, fetch_outcome, looks_like_challenge, served_as
from scanner.signals.robots import parse_robots

MAX_CRAWL_DELAY = 60.0
MAX_LICENCES = 5  # RSL License: lines fetched per robots.txt (the rest are named in the record)
ROBOTS_CACHE_SECONDS = 24 * 3600  # RFC 9309 §2.4


@dataclass(frozen=True)
class OriginFetch:
    origin: str
    kind: str  # robots.txt | tdmrep.json | ai.txt | rsl
    result: FetchResult
    note: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. licences skipped

    @property
    def outcome(self) -> str:
        """parsed | unavailable | unreachable | edge-blocked | not-robots | redirect-limit (robots.txt)."""
        if self.result.error == "redirect limit":
            return "redirect-limit"
        if self.result.status is None:
            return UNREACHABLE  # also a body we could not decode: never read as an empty allow-all
        if edge_blocked(self.result):
            return "edge-blocked"
        if self.kind == "robots.txt":
            served = served_as(self.result.status, self.result.body)
            if served:
                return served  # an HTML page or a challenge served as robots.txt
        return fetch_outcome(self.result.status)


def edge_blocked(result: FetchResult) -> bool:
    return looks_like_challenge(result.status, result.body)


class RobotsCache:
    """robots.txt per origin for at most 24 h (or the response's shorter max-age); an unreachable
    refetch keeps serving the last good copy (RFC 9309 §2.4). Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, OriginFetch]] = {}
        self._lock = threading.Lock()

    def get(self, origin: str) -> OriginFetch | None:
        with self._lock:
            entry = self._entries.get(origin)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, fetch: OriginFetch) -> OriginFetch:
        with self._lock:
            previous = self._entries.get(fetch.origin)
            if fetch.outcome == "unreachable" and previous and previous[1].outcome == "parsed":
                return previous[1]
            self._entries[fetch.origin] = (time.monotonic() + cache_seconds(fetch.result), fetch)
        return fetch


def cache_seconds(result: FetchResult) -> float:
    ttl: float = ROBOTS_CACHE_SECONDS
    for part in (result.header("cache-control") or "").lower().split(","):
        key, _, value = part.strip().partition("=")
        seconds = ascii_int(value.strip('"')) if key == "max-age" else None
        if seconds is not None:
            ttl = min(ttl, seconds)
    return ttl


def origin_host(origin: str) -> str:
    return (urlsplit(origin).hostname or "").lower()


class OriginJob:
    """The files of one origin, fetched one step (one URL) at a time."""

    def __init__(self, origin: str, our_token: str, cache: RobotsCache | None = None) -> None:
        self.origin = origin
        self.host = origin_host(origin)
        self.our_token = our_token
        self.cache = cache
        self.results: list[OriginFetch] = []
        self._steps: deque[tuple[str, str]] = deque([("robots.txt", origin + ORIGIN_FILES[EvidenceKind.ROBOTS_TXT])])

    @property
    def finished(self) -> bool:
        return not self._steps

    def needs_request(self) -> bool:
        """False when the next step is served from the robots cache (no turn to wait for)."""
        return bool(self._steps) and not (
            self._steps[0][0] == "robots.txt" and self.cache is not None and self.cache.get(self.origin)
        )

    def step(self, client: Client) -> None:
        kind, url = self._steps.popleft()
        try:
            if kind == "robots.txt":
                self._robots(client, url)
            else:
                self.results.append(OriginFetch(self.origin, kind, client.fetch(url)))
        except Exception as exc:  # a bug or a hostile file: that file's error, the run goes on
            now = datetime.now(UTC)
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            self.results.append(OriginFetch(self.origin, kind, FetchResult(url, url, None, (), b"", (), now, error)))
            if kind == "robots.txt":
                self._queue_files([])

    def _robots(self, client: Client, url: str) -> None:
        robots = self.cache.get(self.origin) if self.cache else None
        if robots is None:
            robots = OriginFetch(self.origin, "robots.txt", client.fetch(url))
            if self.cache:
                robots = self.cache.put(robots)
        licences: list[str] = []
        if robots.outcome == "parsed":  # one parse for both: the Crawl-delay and the RSL licences
            parsed = parse_robots(robots.result.body)
            delay = parsed.crawl_delay(self.our_token)
            if delay:
                client.set_host_interval(self.host, min(delay, MAX_CRAWL_DELAY))
            licences = [r.value for _, r in parsed.records("license")]
        urls: list[str] = []
        skipped: list[str] = []
        bad: list[str] = []
        for href in dict.fromkeys(licences):
            try:
                target = urljoin(url, href.strip())
                parts = urlsplit(target)
                usable = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:
                usable = False
            if not usable:
                bad.append(href[:200])
            elif len(urls) < MAX_LICENCES:
                urls.append(target)
            else:
                skipped.append(target[:200])
        if licences:
            note = {"licences_fetched": urls, "licences_skipped": len(skipped), "licences_unusable": len(bad)}
            note["licences_skipped_first"] = skipped[:20]
            robots = OriginFetch(robots.origin, robots.kind, robots.result, {**robots.note, **note})
        self.results.append(robots)
        self._queue_files(urls)

    def _queue_files(self, licence_urls: list[str]) -> None:
        for kind in ("tdmrep.json", "ai.txt"):
            self._steps.append((kind, self.origin + ORIGIN_FILES[EvidenceKind(kind)]))
        self._steps.extend(("rsl", u) for u in licence_urls)


def fetch_origin(client: Client, origin: str, our_token: str, cache: RobotsCache | None = None) -> list[OriginFetch]:
    """robots.txt (respecting its Crawl-delay for the rest), tdmrep.json, ai.txt and RSL licences,
    one after another (the client waits for each host's turn)."""
    job = OriginJob(origin, our_token, cache)
    while not job.finished:
        job.step(client)
    return job.results


def robots_url(url: str) -> str:
    """scheme://host[:port]/robots.txt for any URL (userinfo, path, query and fragment dropped)."""
    from scanner.urls import split_url

    parts = split_url(url)
    if parts is None:
        raise ValueError(f"{url!r} has no http(s) origin")
    return parts.origin + "/robots.txt"
