"""Pipeline adapters: a datatrove filter step and Hugging Face `datasets` helpers.

Both ask the same `Checker` and can write an `ExclusionLog`; both are optional extras
(`pip install provenance-scanner[datatrove]` / `[hf]`). Every face takes an explicit
`on_unknown="keep"|"drop"` for URLs nothing is known about (default "keep", the checker's): kept
unknowns are written to the exclusion log as `kept-unknown`, so "kept 178 of 181" never hides that
175 were never checked.
"""

from __future__ import annotations

from typing import Any

from scanner.decide import PolicyName, Verdict
from scanner.hook.checker import Checker, ExclusionLog, on_unknown_choice, reason_text

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
        policy: str = PolicyName.ANY_AI_TRAINER,
        agent: str | None = None,
        url_key: str = "url",
        on_unknown: str = "keep",
        drop_unknown: bool | None = None,  # older spelling of on_unknown="drop"
        exclusion_writer=None,
        exclusion_log: str | None = None,
    ) -> None:
        if BaseFilter is object:
            raise ImportError("install the datatrove extra: pip install 'provenance-scanner[datatrove]'")
        super().__init__(exclusion_writer)
        self.store, self.policy, self.agent, self.url_key = store, policy, agent, url_key
        if drop_unknown is not None:
            on_unknown = "drop" if drop_unknown else "keep"
        self.on_unknown = on_unknown_choice(on_unknown)
        self.drop_unknown = self.on_unknown == "drop"
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
        keep = self._checker.keeps(decision, self.on_unknown)
        if self._log and (not keep or decision.verdict == Verdict.UNKNOWN):
            self._log.write(decision, doc.id, kept=keep)
        if decision.verdict == Verdict.UNKNOWN:
            self.stat_update("unknown_kept" if keep else "unknown_dropped")
        return True if keep else (False, reason_text(decision))


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
    on_unknown: str | None = None,
    drop_unknown: bool | None = None,  # older spelling of on_unknown="drop"
    exclusion_log: str | ExclusionLog | None = None,
) -> Any:
    """`dataset.filter` keeping what is allowed, and unknown rows per `on_unknown` (default: the
    checker's, "keep"). Every dropped row and every kept unknown goes to the exclusion log (pass an
    `ExclusionLog` to read its `counts` afterwards)."""
    if drop_unknown is not None and on_unknown is None:
        on_unknown = "drop" if drop_unknown else "keep"
    choice = on_unknown_choice(on_unknown or checker.on_unknown)
    log = ExclusionLog(exclusion_log) if isinstance(exclusion_log, str) else exclusion_log

    def keep(batch: dict) -> list[bool]:
        decisions = checker.check_many(batch[url_column], agent)
        out = []
        for d in decisions:
            ok = checker.keeps(d, choice)
            if log and (not ok or d.verdict == Verdict.UNKNOWN):
                log.write(d, kept=ok)
            out.append(ok)
        return out

    return dataset.filter(keep, batched=True)
