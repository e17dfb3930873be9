"""The measured facts one summary is built from, read from the store once.

Every drafted sentence of the summary is generated from these numbers, the unfavourable ones
included (stale evidence, undecided documents counted in the sizes), so nothing is said that the
store does not support.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from scanner.store import Store, reports
from scanner.store import summary_facts as sql
from scanner.summary.algorithms import TopDomains, top_domains
from scanner.summary.domains import SuffixSection, domain_sizes


class DomainMeasure(Enum):
    """What "size of the content scraped" is measured in for 2.3.h."""

    SCRAPED = "scraped"  # default: raw bytes of everything fetched, before dedup and exclusions
    USED = "used"  # option: raw bytes after deduplication and exclusions

    @property
    def label(self) -> str:
        if self is DomainMeasure.SCRAPED:
            return "raw bytes scraped (every fetched document, before deduplication and exclusions)"
        return "raw bytes kept after deduplication and exclusions (the post-processing measure, chosen as an option)"


@dataclass(frozen=True, slots=True)
class DecisionCounts:
    """How the documents counted in the sizes, and those left out, were decided."""

    total: int
    decided: int  # documents with a decision under the policy
    fresh: int  # decided on evidence observed within 24 h of the fetch
    undated: int  # decided, but without a fetch date the evidence's age cannot be judged
    no_evidence: int  # decided without a stored artefact (e.g. a provider blocklist)
    stale: int  # at least one reason rests on evidence older than 24 h at fetch
    meta_only: int  # allowed with page meta as the only protocol checked
    unknown_used: int  # no machine-readable evidence at all, yet counted in the sizes
    undecided_used: int  # no decision under the policy, counted in the sizes
    reserved: int  # excluded as reserved
    duplicates_left_out: int
    crawled: int  # documents of 2.3 sources
    crawled_stale: int
    crawled_robots: int  # crawled documents whose decision read a robots.txt


@dataclass(frozen=True, slots=True)
class Facts:
    rows: list[dict]  # sizes per source and modality of the documents counted
    exclusions: dict[str, Any]
    counts: DecisionCounts
    age: dict[str, Any]
    dups: dict[str, Any]
    languages: list[dict]
    tlds: list[dict]
    top: TopDomains
    fetch_ranges: list[dict]
    durations: dict[str, dict]  # audio / video: documents, timed, seconds
    policy: str
    basis: str


def _counts(rows: list[dict]) -> DecisionCounts:
    def n(pred) -> int:
        return sum(r["documents"] for r in rows if pred(r))

    decided = lambda r: r["verdict"] not in ("undecided",)  # noqa: E731
    return DecisionCounts(
        total=n(lambda r: True),
        decided=n(decided),
        fresh=n(
            lambda r: (
                decided(r) and r["verdict"] != "unknown" and r["has_evidence"] and not r["stale"] and not r["undated"]
            )
        ),
        no_evidence=n(lambda r: decided(r) and r["verdict"] != "unknown" and not r["has_evidence"]),
        undated=n(
            lambda r: decided(r) and r["verdict"] != "unknown" and r["has_evidence"] and not r["stale"] and r["undated"]
        ),
        stale=n(lambda r: decided(r) and r["stale"]),
        meta_only=n(lambda r: r["verdict"] == "allowed" and r["meta_only"]),
        unknown_used=n(lambda r: r["verdict"] == "unknown" and r["used"]),
        undecided_used=n(lambda r: r["verdict"] == "undecided" and r["used"]),
        reserved=n(lambda r: r["verdict"] == "reserved"),
        duplicates_left_out=n(lambda r: r["verdict"] != "reserved" and not r["used"]),
        crawled=n(lambda r: r["category"] == "2.3"),
        crawled_stale=n(lambda r: r["category"] == "2.3" and r["stale"]),
        crawled_robots=n(lambda r: r["category"] == "2.3" and r["robots_checked"]),
    )


def gather(
    store: Store,
    *,
    policy: str,
    exclude,
    sme: bool,
    domain_measure: DomainMeasure = DomainMeasure.SCRAPED,
    suffixes: SuffixSection = SuffixSection.PRIVATE,
) -> Facts:
    rows = reports.sizes_by_source(store, policy, exclude)
    excl = reports.exclusions(store, policy)
    decided = bool(excl["verdicts"])
    if decided and exclude:
        basis = f"documents not reserved under policy {policy} v{excl['policy_version']}, one per duplicate cluster"
        if exclude == "cluster":
            basis += "; no copy of a reserved document either (whole duplicate clusters left out)"
    else:
        basis = "all ingested documents, one per duplicate cluster (no decisions excluded)"
    hosts = sql.scraped_host_sizes(store, policy, exclude, domain_measure.value)
    top = top_domains(domain_sizes(hosts, suffixes), sme=sme, metric=domain_measure.label)
    return Facts(
        rows=rows,
        exclusions=excl,
        counts=_counts(sql.decision_basis(store, policy, exclude)),
        age=sql.evidence_age(store, policy),
        dups=reports.duplicate_stats(store),
        languages=sql.language_shares(store, policy, exclude),
        tlds=reports.tld_shares(store, policy, exclude),
        top=top,
        fetch_ranges=sql.fetch_range(store),
        durations=sql.durations(store, policy, exclude),
        policy=policy,
        basis=basis,
    )
