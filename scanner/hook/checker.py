"""The in-process hook: `Checker.check(url)` answers allow / reserve with reasons, fast.

A checker loads the store's evidence once into memory (then closes the store, so a writer process
can keep working on it) and answers from there with the very code path of `scanner.check` and the
audit (`EvidenceIndex` + `decide`), so the three can never disagree. Per-origin parsed files and
rule sets are cached, decisions are memoised per (URL, agent, as-of). With `live=True`, origins
without stored evidence are fetched through `crawlers/` (cached, rate-limited) and kept in memory.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from scanner.decide import Decision, Policy, decide, make_policy, path_shape, shape_rules
from scanner.errors import ScannerError
from scanner.evidence import EvidenceIndex
from scanner.signals.robots import _url_path, is_plain_authority, path_after
from scanner.store import Store
from scanner.urls import _AUTHORITY, origin_parts

MEMO = 200_000  # decisions remembered (URL, agent, as-of)
ON_UNKNOWN = ("keep", "drop")  # what a pipeline does with a URL nothing is known about


def on_unknown_choice(value: str) -> str:
    if value not in ON_UNKNOWN:
        raise ScannerError(f"on_unknown={value!r}: use 'keep' or 'drop'")
    return value


class Checker:
    def __init__(
        self,
        store: str | Path | Store,
        *,
        policy: str = "any-ai-trainer",
        own_token: str | None = None,
        live: bool = False,
        fetch_config=None,
        on_unknown: str = "keep",
    ) -> None:
        """`on_unknown` ("keep", the default, or "drop"): what `keeps` says of an unknown verdict
        (no evidence, never checked). Pipelines count kept unknowns in their exclusion log."""
        self.on_unknown = on_unknown_choice(on_unknown)
        self.store_path = store.path if isinstance(store, Store) else str(store)
        self.default_policy = policy
        self.own_token = own_token
        self.live = live
        self.fetch_config = fetch_config
        self._policies: dict[tuple[str, str | None], Policy] = {}
        self._memo: OrderedDict[tuple, Decision] = OrderedDict()
        self._origins: dict[tuple, tuple] = {}  # (scheme://authority, agent, policy, as-of) -> `_share`
        self._shapes: dict[tuple, Decision] = {}  # (origin entry serial, *path shape) -> decision
        self._serials = itertools.count(1)  # names each `_share` entry in shape keys (atomic)
        self._lock = threading.Lock()
        self.loaded_at: datetime | None = None
        self.reload(store if isinstance(store, Store) else None)
        self._client = None

    def reload(self, store: Store | None = None) -> None:
        """Take a fresh snapshot of the store's evidence (e.g. after `fetch-signals` ran)."""
        if store is not None:
            index = EvidenceIndex.load(store)
        else:
            with Store.open(self.store_path, read_only=True) as st:
                index = EvidenceIndex.load(st)
        with self._lock:
            self.index = index
            self._memo.clear()
            self._origins.clear()
            self._shapes.clear()
            self.loaded_at = datetime.now(UTC)

    def policy(self, name: str | None = None, agent: str | None = None) -> Policy:
        key = (name or self.default_policy, agent)
        found = self._policies.get(key)
        if found is None:
            try:
                found = make_policy(key[0], own_token=self.own_token, agent=agent)
            except ValueError as exc:
                raise ScannerError(str(exc)) from exc
            self._policies[key] = found
        return found

    def check(
        self, url: str, agent: str | None = None, *, policy: str | None = None, as_of: datetime | None = None
    ) -> Decision:
        key = (url, agent, policy, as_of)
        memo = self._memo
        found = memo.get(key)
        if found is None:  # single dict operations are atomic: no lock on the hot path
            found = memo[key] = self._decide(url, agent, policy, as_of)
            if len(memo) > MEMO:
                memo.popitem(last=False)
        return found

    def _decide(self, url: str, agent: str | None, policy: str | None, as_of: datetime | None) -> Decision:
        """`decide()` on the URL's evidence. A URL without evidence of its own shares its origin's:
        the decision is then made once per origin and path shape (`path_shape`) and re-addressed."""
        authority = _AUTHORITY.match(url)
        origin_key = (authority.group(0) if authority else url, agent, policy, as_of)
        shared = self._origins.get(origin_key)
        if shared is None:
            shared = self._share(url, agent, policy, as_of)
            with self._lock:
                if len(self._origins) > MEMO:
                    self._origins.clear()
                self._origins[origin_key] = shared
        parts, pol, evidence, rulesets, serial = shared
        if rulesets is None or self.index.has_resource(url):
            evidence = self.index.evidence_for(url, as_of, origin=parts.origin, domain=parts.registrable_domain)
            return decide(url, evidence, pol)
        path = path_after(url[authority.end() :]) if serial >= 0 else _url_path(url, True)
        shape_key = (abs(serial), *path_shape(path, rulesets))
        template = self._shapes.get(shape_key)
        if template is None:
            template = decide(url, evidence, pol)
            with self._lock:
                if len(self._shapes) > MEMO:
                    self._shapes.clear()
                self._shapes[shape_key] = template
        return template if template.url == url else template.at(url)

    def _share(self, url: str, agent: str | None, policy: str | None, as_of: datetime | None) -> tuple:
        """What every URL of one origin shares: its parts, the policy, the origin's evidence and
        the rule sets paths are matched against (None: each URL is decided on its own)."""
        parts = origin_parts(url)
        if parts is None:
            raise ScannerError(f"{url!r} is not an http(s) URL with a host")
        pol = self.policy(policy, agent)
        if self.live and (parts.origin, "robots.txt") not in self.index.by_origin:
            self._fetch_live(parts.origin)
        if self.index.has_rsl:
            return parts, pol, None, None, 0
        evidence = self.index.origin_evidence(parts.origin, parts.registrable_domain, as_of)
        serial = next(self._serials)  # negative: paths need the full URL split
        plain = is_plain_authority(_AUTHORITY.match(url).group(0))
        return parts, pol, evidence, shape_rules(evidence, pol), serial if plain else -serial

    def keeps(self, decision: Decision, on_unknown: str | None = None) -> bool:
        """Whether a pipeline keeps the item: allowed yes, reserved no, unknown per `on_unknown`."""
        choice = on_unknown_choice(on_unknown) if on_unknown else self.on_unknown
        if decision.verdict == "unknown":
            return choice == "keep"
        return decision.verdict == "allowed"

    def check_many(
        self, urls: Iterable[str], agent: str | None = None, *, policy: str | None = None, as_of: datetime | None = None
    ) -> list[Decision]:
        """Many URLs: memoised answers first, the rest grouped by origin, so each origin's files
        and rule sets are resolved once."""
        urls = list(urls)
        memo = self._memo
        out: list[Decision | None] = [memo.get((url, agent, policy, as_of)) for url in urls]
        missing = [i for i, found in enumerate(out) if found is None]
        missing.sort(key=lambda i: getattr(origin_parts(urls[i]), "origin", ""))
        for i in missing:
            out[i] = self.check(urls[i], agent, policy=policy, as_of=as_of)
        return out  # type: ignore[return-value]

    def _fetch_live(self, origin: str) -> None:
        from crawlers.http import Client, FetchConfig
        from crawlers.origin import RobotsCache, fetch_origin
        from scanner.corpus.records import sha256_hex

        with self._lock:
            if self._client is None:
                self._client = (Client(self.fetch_config or FetchConfig()), RobotsCache())
        client, cache = self._client
        rows = []
        for fetched in fetch_origin(client, origin, self.own_token or "ProvenanceScannerBot", cache):
            r = fetched.result
            rows.append(
                {
                    "kind": fetched.kind,
                    "origin": origin,
                    "url": r.url,
                    "observed_at": r.fetched_at,
                    "http_status": r.status,
                    "evidence_sha256": sha256_hex(r.body),
                    "body": r.body,
                }
            )
        with self._lock:
            self.index.add(rows)
            self._memo.clear()
            self._origins.clear()
            self._shapes.clear()


class ExclusionLog:
    """Every rejected item, one JSON line each: what a pipeline shows to prove what it dropped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}  # dropped / kept-unknown, this process

    def write(self, decision: Decision, item_id: str | None = None, *, kept: bool = False) -> None:
        """One line per dropped item, and per unknown item kept (`action` says which): a kept
        unknown was never checked, and the log says how many there were."""
        action = "kept-unknown" if kept else "dropped"
        with self._lock:
            self.counts[action] = self.counts.get(action, 0) + 1
        line = json.dumps(
            {
                "time": datetime.now(UTC).isoformat(),
                "action": action,
                "id": item_id,
                "url": decision.url,
                "verdict": decision.verdict,
                "policy": decision.policy,
                "policy_version": decision.policy_version,
                "reasons": [
                    {
                        "signal": r.signal,
                        "detail": r.detail,
                        "agents": list(r.agents),
                        "evidence_sha256": r.evidence_sha256,
                    }
                    for r in decision.reasons
                ],
            }
        )
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def reason_text(decision: Decision) -> str:
    first = decision.reasons[0] if decision.reasons else None
    return f"{decision.verdict}: {first.signal}: {first.detail}" if first else decision.verdict


def verdicts(decisions: Sequence[Decision]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.verdict] = counts.get(d.verdict, 0) + 1
    return counts
