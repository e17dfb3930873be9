"""Pipeline adapters: a datatrove filter step and Hugging Face `datasets` helpers.

Both ask the same `Checker` and can write an `ExclusionLog`; both are optional extras
(`pip install provenance-scanner[datatrove]` / `[hf]`).
"""

from __future__ import annotations

from typing import Any

from scanner.hook.checker import Checker, ExclusionLog, reason_text

try:
    from datatrove.pipeline.filters.base_filter import BaseFilter
except ImportError:  # the extra is not installed: the filter is unavailable, the rest works
    BaseFilter = object  # type: ignore[assignment,misc]


class ProvenanceFilter(BaseFilter):  # type: ignore[misc,valid-type]
    """Drops documents whose URL is reserved (or unknown, if asked); the reason goes to datatrove's
    exclusion writer (`filter_reason`) and to an optional exclusion log."""

    name = "🛡 Provenance opt-out filter"

    def __init__(
        self,
        store: str,
        *,
        policy: str = "any-ai-trainer",
        agent: str | None = None,
        url_key: str = "url",
        drop_unknown: bool = False,
        exclusion_writer=None,
        exclusion_log: str | None = None,
    ) -> None:
        if BaseFilter is object:
            raise ImportError("install the datatrove extra: pip install 'provenance-scanner[datatrove]'")
        super().__init__(exclusion_writer)
        self.store, self.policy, self.agent, self.url_key = store, policy, agent, url_key
        self.drop_unknown = drop_unknown
        self.exclusion_log = exclusion_log
        self._checker: Checker | None = None
        self._log: ExclusionLog | None = None

    def filter(self, doc) -> bool | tuple[bool, str]:
        if self._checker is None:  # built in the worker process, not pickled with the step
            self._checker = Checker(self.store, policy=self.policy)
            self._log = ExclusionLog(self.exclusion_log) if self.exclusion_log else None
        url = doc.metadata.get(self.url_key)
        if not url:
            return (False, "no_url") if self.drop_unknown else True
        decision = self._checker.check(url, self.agent)
        drop = decision.verdict == "reserved" or (self.drop_unknown and decision.verdict == "unknown")
        if not drop:
            return True
        if self._log:
            self._log.write(decision, doc.id)
        return False, reason_text(decision)


def add_verdicts(
    dataset: Any, checker: Checker, *, url_column: str = "url", agent: str | None = None, batch_size: int = 1000
) -> Any:
    """`dataset.map` adding `verdict` and `reasons` columns (reasons as JSON text)."""
    import json

    def annotate(batch: dict) -> dict:
        decisions = checker.check_many(batch[url_column], agent)
        return {
            "verdict": [d.verdict for d in decisions],
            "reasons": [json.dumps(d.as_dict()["reasons"]) for d in decisions],
        }

    return dataset.map(annotate, batched=True, batch_size=batch_size)


def keep_allowed(
    dataset: Any,
    checker: Checker,
    *,
    url_column: str = "url",
    agent: str | None = None,
    drop_unknown: bool = False,
    exclusion_log: str | None = None,
) -> Any:
    """`dataset.filter` keeping what is not reserved; every dropped row goes to the exclusion log."""
    log = ExclusionLog(exclusion_log) if exclusion_log else None

    def keep(batch: dict) -> list[bool]:
        decisions = checker.check_many(batch[url_column], agent)
        out = []
        for d in decisions:
            ok = d.verdict == "allowed" or (d.verdict == "unknown" and not drop_unknown)
            if not ok and log:
                log.write(d)
            out.append(ok)
        return out

    return dataset.filter(keep, batched=True)
