"""Hostile robots.txt files, shared by the hostile-parser tests and bench/robots_bench.py."""

from __future__ import annotations


def hostile_robots(rule: str) -> bytes:
    """A robots.txt of one `*` group filled to the 512,000-byte parse limit with `rule % n` for
    n = 0, 1, 2, ..."""
    lines, size, n = ["User-agent: *"], 0, 0
    while size < 500_000:
        line = "Disallow: " + rule % n
        lines.append(line)
        size, n = size + len(line) + 1, n + 1
    return "\n".join(lines).encode()
