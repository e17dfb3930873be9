"""Parsed evidence, kept per content address (the artefact's sha256), in bounded caches.

Thousands of documents share one robots.txt, and the hook asks the same origin's files again and
again: each distinct file is parsed once per process. Keys are the store's content address, so
two sightings of the same bytes share one parse and a lookup never compares bodies. A full cache
is emptied, not evicted entry by entry: refilling costs one parse per file still in use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Generic, TypeVar

from scanner.signals.ai_txt import parse_ai_txt
from scanner.signals.robots import RobotsTxt, parse_robots
from scanner.signals.rsl import RslContent, parse_rsl
from scanner.signals.tdmrep import TdmRepFile, parse_tdmrep

T = TypeVar("T")


class ParseCache(Generic[T]):
    """`parse(body, sha256)` per sha256 of the body, at most `size` entries."""

    def __init__(self, parse: Callable[[bytes, str], T], size: int) -> None:
        self._parse = parse
        self._size = size
        self._parsed: dict[str, T] = {}
        self._local = threading.local()  # `overlay`: this thread's, for one block

    def __call__(self, body: bytes, sha256: str) -> T:
        overlay: Mapping[str, T] | None = getattr(self._local, "overlay", None)
        if overlay is not None and sha256 in overlay:
            return overlay[sha256]
        try:
            return self._parsed[sha256]
        except KeyError:
            if len(self._parsed) >= self._size:
                self._parsed.clear()
            found = self._parsed[sha256] = self._parse(body, sha256)
            return found

    def seed(self, sha256: str, parsed: T) -> None:
        """A parse made elsewhere (stored compiled rules), so this process need not parse."""
        if len(self._parsed) >= self._size:
            self._parsed.clear()
        self._parsed[sha256] = parsed

    @contextmanager
    def overlay(self, parsed: Mapping[str, T]) -> Iterator[None]:
        """Answer these sha256s from `parsed` in this thread for the block, ahead of the cache and
        never kept in it: bulk decide's decision views, which hold only what a decision reads,
        so no other reader of the cache (or thread) ever sees one."""
        before = getattr(self._local, "overlay", None)
        self._local.overlay = parsed
        try:
            yield
        finally:
            self._local.overlay = before

    def clear(self) -> None:
        self._parsed.clear()


def _licences(body: bytes, sha256: str) -> tuple[str, ...]:
    return tuple(r.value for _, r in parsed_robots(body, sha256).records("license"))


parsed_robots: ParseCache[RobotsTxt] = ParseCache(lambda body, _: parse_robots(body), 20_000)
parsed_tdmrep: ParseCache[TdmRepFile] = ParseCache(lambda body, _: parse_tdmrep(body), 4096)  # conservative
parsed_tdmrep_literal: ParseCache[TdmRepFile] = ParseCache(lambda body, _: parse_tdmrep(body, False), 4096)
parsed_ai_txt: ParseCache[tuple[RobotsTxt | None, tuple[str, ...]]] = ParseCache(lambda b, _: parse_ai_txt(b), 4096)
parsed_rsl: ParseCache[tuple[tuple[RslContent, ...], tuple[str, ...]]] = ParseCache(lambda b, _: parse_rsl(b), 1024)
_LICENCES: ParseCache[tuple[str, ...]] = ParseCache(_licences, 20_000)
CACHES = (parsed_robots, parsed_tdmrep, parsed_tdmrep_literal, parsed_ai_txt, parsed_rsl, _LICENCES)


def licence_urls(body: bytes, sha256: str) -> tuple[str, ...]:
    """The RSL `License:` URLs of a robots.txt (relative as written)."""
    return _LICENCES(body, sha256)


def tdmrep_file(body: bytes, sha256: str, conservative: bool) -> TdmRepFile:
    """A tdmrep.json read as the policy reads conflicting values."""
    return (parsed_tdmrep if conservative else parsed_tdmrep_literal)(body, sha256)


def clear() -> None:
    """Forget every parse, as in a new process (benchmarks of a cold start)."""
    for cache in CACHES:
        cache.clear()
