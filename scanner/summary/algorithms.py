"""The template's computed fields (spec eu-summary-template.md §a.2): size bands, the top-domain
list of section 2.3, large public datasets of 2.1. Pure functions over plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

# (unit, upper bound of band 1 [exclusive], upper bound of band 2 [inclusive], labels)
SIZE_BANDS = {
    "text": (
        "tokens",
        1_000_000_000,
        10_000_000_000_000,
        ("Less than 1 billion tokens", "1 billion to 10 trillion tokens", "More than 10 trillion tokens"),
    ),
    "image": (
        "images",
        1_000_000,
        1_000_000_000,
        ("Less than 1 million images", "1 million to 1 billion images", "More than 1 billion images"),
    ),
    "audio": (
        "hours",
        10_000,
        1_000_000,
        ("Less than 10 000 hours", "10 000 to 1 million hours", "More than 1 million hours"),
    ),
    "video": (
        "hours",
        10_000,
        1_000_000,
        ("Less than 10 000 hours", "10 000 to 1 million hours", "More than 1 million hours"),
    ),
}


def size_band(modality: str, amount: float) -> str | None:
    """ "<" is strictly less; band 2 includes both of its bounds (spec: boundaries unspecified)."""
    if modality not in SIZE_BANDS:
        return None
    _, low, high, labels = SIZE_BANDS[modality]
    if amount < low:
        return labels[0]
    if amount <= high:
        return labels[1]
    return labels[2]


@dataclass(frozen=True, slots=True)
class TopDomains:
    domains: tuple[tuple[str, int, int], ...]  # (registrable domain, size, rank)
    total: int  # N: distinct domains crawled
    cutoff: int  # k
    rule: str  # how k was computed
    metric: str  # what "size of the content scraped" was measured in


def top_domains(sizes: dict[str, int], *, sme: bool, metric: str = "raw bytes scraped") -> TopDomains:
    """Top 10 % of domains by size (ceil); SMEs: top 5 % or 1,000, whichever is lower. Domains
    tied with the last one in are included (RANK semantics)."""
    n = len(sizes)
    if sme:
        k = min(math.ceil(0.05 * n), 1000)
        rule = f"SME: min(ceil(5 % of {n}), 1000) = {k}"
    else:
        k = math.ceil(0.10 * n)
        rule = f"ceil(10 % of {n}) = {k}"
    ordered = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    out, rank, previous = [], 0, None
    for position, (domain, size) in enumerate(ordered, start=1):
        if size != previous:
            rank, previous = position, size
        if rank > k:
            break
        out.append((domain, size, rank))
    return TopDomains(tuple(out), n, k, rule, metric)


def large_datasets(sizes: dict[str, int], threshold: float = 0.03) -> list[tuple[str, float]]:
    """Public datasets with more than 3 % of the public data of a modality ("large", 2.1.c)."""
    total = sum(sizes.values())
    if not total:
        return []
    return sorted(
        ((name, size / total) for name, size in sizes.items() if size / total > threshold),
        key=lambda x: -x[1],
    )
