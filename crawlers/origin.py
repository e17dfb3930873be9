"""Per-origin evidence fetching: robots.txt with RFC 9309 semantics, the well-known opt-out files,
and the RSL licences robots.txt names. Returns FetchResults; the scanner stores them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

from protego import Protego

from crawlers.http import Client, FetchResult
from scanner.signals.from_robots import looks_like_challenge, robots_outcome, served_as
from scanner.signals.robots import parse_robots

ORIGIN_FILES = {"robots.txt": "/robots.txt", "tdmrep.json": "/.well-known/tdmrep.json", "ai.txt": "/ai.txt"}
MAX_CRAWL_DELAY = 60.0
ROBOTS_CACHE_SECONDS = 24 * 3600  # RFC 9309 §2.4


@dataclass(frozen=True)
class OriginFetch:
    origin: str
    kind: str  # robots.txt | tdmrep.json | ai.txt | rsl
    result: FetchResult

    @property
    def outcome(self) -> str:
        """parsed | unavailable | unreachable | edge-blocked | not-robots | redirect-limit (robots.txt)."""
        if self.result.error == "redirect limit":
            return "redirect-limit"
        if edge_blocked(self.result):
            return "edge-blocked"
        if self.kind == "robots.txt":
            served = served_as(self.result.status, self.result.body)
            if served:
                return served  # an HTML page or a challenge served as robots.txt
        return robots_outcome(self.result.status)


def edge_blocked(result: FetchResult) -> bool:
    return looks_like_challenge(result.status, result.body)


class RobotsCache:
    """robots.txt per origin for at most 24 h (or the response's shorter max-age); an unreachable
    refetch keeps serving the last good copy (RFC 9309 §2.4)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, OriginFetch]] = {}

    def get(self, origin: str) -> OriginFetch | None:
        entry = self._entries.get(origin)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, fetch: OriginFetch) -> OriginFetch:
        previous = self._entries.get(fetch.origin)
        if fetch.outcome == "unreachable" and previous and previous[1].outcome == "parsed":
            return previous[1]
        ttl = ROBOTS_CACHE_SECONDS
        control = (fetch.result.header("cache-control") or "").lower()
        for part in control.split(","):
            key, _, value = part.strip().partition("=")
            if key == "max-age" and value.isdigit():
                ttl = min(ttl, int(value))
        self._entries[fetch.origin] = (time.monotonic() + ttl, fetch)
        return fetch


def fetch_origin(client: Client, origin: str, our_token: str, cache: RobotsCache | None = None) -> list[OriginFetch]:
    """robots.txt (respecting its Crawl-delay for the rest), tdmrep.json, ai.txt and RSL licences."""
    out: list[OriginFetch] = []
    robots = cache.get(origin) if cache else None
    if robots is None:
        robots = OriginFetch(origin, "robots.txt", client.fetch(origin + ORIGIN_FILES["robots.txt"]))
        if cache:
            robots = cache.put(robots)
    out.append(robots)
    host = origin.split("://", 1)[1].split(":")[0].strip("[]")
    licences: list[str] = []
    if robots.outcome == "parsed":
        text = robots.result.body.decode("utf-8", "replace").lstrip("\ufeff")
        delay = Protego.parse(text).crawl_delay(our_token)
        if delay:
            client.set_host_interval(host, min(float(delay), MAX_CRAWL_DELAY))
        licences = [r.value for _, r in parse_robots(robots.result.body).records("license")]
    for kind in ("tdmrep.json", "ai.txt"):
        out.append(OriginFetch(origin, kind, client.fetch(origin + ORIGIN_FILES[kind])))
    for href in dict.fromkeys(licences):
        out.append(OriginFetch(origin, "rsl", client.fetch(urljoin(origin + "/robots.txt", href))))
    return out


def robots_url(url: str) -> str:
    """scheme://host[:port]/robots.txt for any URL (userinfo, path, query and fragment dropped)."""
    from scanner.urls import split_url

    parts = split_url(url)
    if parts is None:
        raise ValueError(f"{url!r} has no http(s) origin")
    return parts.origin + "/robots.txt"
