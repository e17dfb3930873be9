"""Bad records kept in bounded memory, and the threshold above which an ingest has failed.

A file can hold millions of bad rows (a Parquet file of the wrong shape): the report keeps the
first ones in full and a count per reason, never one entry per row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from scanner.corpus.records import BadRecord
from scanner.errors import ScannerError

KEEP = 100  # bad records kept in full per file, and errors kept in full per run


def reason_key(reason: str) -> str:
    """What a reason says without its particulars (offsets, columns, byte counts)."""
    head = re.split(r"[:(]", reason, maxsplit=1)[0].strip()
    return head or reason[:60]


@dataclass
class BadRecords:
    """The first `keep` bad records of a file in full, then only a count per reason."""

    keep: int = KEEP
    kept: list[BadRecord] = field(default_factory=list)
    total: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def __iadd__(self, items: Iterable[BadRecord]) -> BadRecords:
        for item in items:
            self.total += 1
            self.reasons[reason_key(item.reason)] += 1
            if len(self.kept) < self.keep:
                self.kept.append(item)
        return self

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[BadRecord]:
        return iter(self.kept)


def capped_errors(entries: list[dict], reasons: Counter[str], total: int, keep: int = KEEP) -> list[dict]:
    """A run's errors: the first `keep` in full, then one entry counting all of them by reason."""
    if total <= keep and len(entries) == total:
        return entries
    return [*entries[:keep], {"omitted": total - min(keep, len(entries)), "total": total, "by_reason": dict(reasons)}]


@dataclass(frozen=True, slots=True)
class BadRecordLimit:
    """`--max-bad-records`: a count (`N`) or a share of the records read (`P%`)."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> BadRecordLimit:
        if text is None or text == "":
            return cls()
        value = text.strip()
        try:
            if value.endswith("%"):
                pct = float(value[:-1])
                if not 0 <= pct <= 100:
                    raise ValueError
                return cls(percent=pct)
            count = int(value)
            if count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise ScannerError(f"--max-bad-records {text!r}: give a count (10) or a percentage (0.5%)") from None

    def exceeded(self, bad: int, records: int) -> bool:
        if self.count is not None and bad > self.count:
            return True
        return self.percent is not None and records > 0 and bad * 100 > self.percent * records

    def describe(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent:g}%"
