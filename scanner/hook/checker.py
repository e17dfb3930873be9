"""The in-process hook: `Checker.check(url)` answers allow / reserve with reasons, fast.

A checker loads the store's evidence once into memory (then closes the store, so a writer process
can keep working on it) and answers from there with the very code path of `scanner.check` and the
audit (`EvidenceIndex` + `decide`), so the three can never disagree. Per-origin parsed files and
rule sets are cached, and so is each outcome of an origin (URLs of one shape share it); decisions
made for one URL alone are memoised per (URL, agent, policy, as-of). With `live=True`, origins
without stored evidence are fetched through `crawlers/` (cached, rate-limited) and kept in memory.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.decide import Decision, Policy, PolicyName, Verdict, decide, make_policy
from scanner.errors import ScannerError
from scanner.evidence import EvidenceIndex, EvidenceKind
from scanner.hook.shapes import Matchers, outcome_fields, path_shape, readdressed, shape_rules
from scanner.signals.robots import is_plain_authority, path_after, rule_regex, url_path
from scanner.store import Store
from scanner.urls import AUTHORITY, origin_parts, require_url

MEMO = 200_000  # decisions remembered per (agent, policy, as-of): URLs with evidence of their own, origins
ON_UNKNOWN = ("keep", "drop")  # what a pipeline does with a URL nothing is known about


def on_unknown_choice(value: str) -> str:
    if value not in ON_UNKNOWN:
        raise ScannerError(f"on_unknown={value!r}: use 'keep' or 'drop'")
    return value


_COMPILE_AFTER = 32  # new paths of an origin before its rule set is compiled (`_Origin.compile`)
_COMPILE_MAX = 1024  # rules in a set worth compiling
_WIDTH_AFTER = 16  # rules in a set compiled as one regex; larger sets are split by prefix
_WIDTH = 3  # characters of a path that choose its part of a split set
_PART_MAX = 48  # rules in one regex
_SPLIT_KEYS = 4096  # path prefixes an origin remembers (parts and prefixes of no part)
_COMPILED: dict[str, object] = {}  # regex source -> compiled `match`, shared by origins
_NO_RULE = id(None)  # the shape of a path no rule matches (as `path_shape`)
# A URL split with one match in C: an http(s) authority without `;` or spaces, then a path that
# needs no normalisation and has no fragment. The authority is exactly what `AUTHORITY` matches
# and the path exactly what `url_path` returns; any other URL takes the general path.
_PLAIN_URL = re.compile(r'(https?://[^/?#;\s]*)(/[^%*$#\x00-\x20"<>\\^`{|}\x7f-\U0010ffff]*)').fullmatch


class _Origin:
    """What every URL of one origin (for one agent, policy and as-of) shares: its parts, the
    policy, the origin's evidence, what paths are matched against (`Matchers`; None: each URL
    is decided on its own), whether `path_after` may split its URLs, whether some of its URLs
    have evidence of their own, and the fields of each outcome decided so far."""

    __slots__ = (
        "answered",
        "evidence",
        "matchers",
        "outcomes",
        "own",
        "parts",
        "pending",
        "plain",
        "policy",
        "rx",
        "shared",
        "single",
        "split",
    )

    def __init__(self, parts, policy: Policy, evidence, matchers: Matchers | None, plain: bool, own: bool) -> None:
        self.parts = parts
        self.policy = policy
        self.evidence = evidence
        self.matchers = matchers
        self.single = matchers.single if matchers is not None else None
        self.plain = plain
        self.own = own
        self.shared = matchers is not None and plain and not own  # `_PLAIN_URL` URLs share outcomes
        self.outcomes: dict = {}  # shape -> Decision fields (see `Checker._outcome`)
        self.answered = 0  # paths decided by the rule set's own matcher
        self.rx: tuple | None = None  # (match, rule ids, outcome fields by group) of paths in no part
        self.split: dict[str, tuple] = {}  # first `_WIDTH` characters of a path -> as `rx`
        self.pending: dict[str, list] = {}  # the same key -> its part's ranked rules (`part`)

    def compile(self) -> None:
        """Regexes for the origin's single rule set once it has answered `_COMPILE_AFTER` paths,
        so a path costs one match in C. Rules are alternatives in priority order: the first that
        matches (`lastindex`) is the deciding rule, and its group number indexes the outcome's
        fields directly. A set of more than `_WIDTH_AFTER` rules is split by the first `_WIDTH`
        characters of the rules' literal prefixes (rules with a shorter prefix join every part),
        so each regex stays short; sets with a part of more than `_PART_MAX` rules, or more than
        `_COMPILE_MAX` in all, keep robots.py's prefix tree (bounded per path). A part is compiled
        when a path first asks for it (`part`): a file of 200 rules has some 160 parts, most of
        them never asked, and compiling them all at once cost up to 0.5 s of one request. Sets
        with the same rules share the compiled regexes."""
        assert self.single is not None  # compiled only for an origin with one rule set
        ordered = self.single.ordered
        if len(ordered) > _COMPILE_MAX:
            return
        ranked = list(enumerate(ordered))
        parts: dict[str, list] = {}
        short = ranked
        if len(ordered) > _WIDTH_AFTER:
            short = []
            for rank, rule in ranked:
                literal = rule.pattern.removesuffix("$").split("*", 1)[0]
                (short if len(literal) < _WIDTH else parts.setdefault(literal[:_WIDTH], [])).append((rank, rule))
            if any(len(short) + len(rules) > _PART_MAX for rules in parts.values()) or len(short) > _PART_MAX:
                return
        self.pending = {key: sorted(short + rules, key=lambda x: x[0]) for key, rules in parts.items()}
        self.rx = self._part(short)  # last: a set `rx` says the origin is compiled

    def part(self, key: str) -> tuple:
        """The compiled part for paths beginning with `key` (as `rx`), compiled on first use;
        `rx` when no part has that prefix (kept under the key for the next path, a bounded
        number of keys). `pending` is never emptied: a thread that missed `split` while another
        compiles the same part compiles it too (the same regex), and never falls back to `rx`."""
        ranked = self.pending.get(key)
        found = self.rx if ranked is None else self._part(ranked)
        assert found is not None  # asked only once compiled
        if ranked is not None or len(self.split) < _SPLIT_KEYS:
            self.split[key] = found
        return found

    def _part(self, ranked: list) -> tuple:
        """(match, rule ids by group number, the outcome fields by group number so far)."""
        match, ids = _compiled(ranked)
        return match, ids, [self.outcomes.get(shape) for shape in ids]


def _compiled(ranked: list) -> tuple:
    """(match, rule ids by group number) for rules in priority order."""
    source = "|".join(f"({rule_regex(rule.pattern)})" for _, rule in ranked) or r"(?!)"
    match = _COMPILED.get(source)
    if match is None:
        if len(_COMPILED) >= 4096:
            _COMPILED.clear()
        match = _COMPILED[source] = re.compile(source, re.DOTALL).match
    return match, (_NO_RULE, *(id(rule) for _, rule in ranked))  # group i (from 1) is rule i - 1


def _authority(url: str) -> str:
    """`scheme://authority` of a URL already checked to be http(s) with a host."""
    found = AUTHORITY.match(url)
    return found.group(0) if found else url


def outcome_id(decision: Decision) -> int | None:
    """The id of a checker decision's outcome: decisions with the same id differ only in their
    URL (same verdict, reasons, evidence), so a batch answer can send each outcome's reasons once.
    None for decisions made for one URL alone (own evidence, RSL)."""
    return decision.__dict__.get("outcome")


class _Context:
    """One (agent, policy, as-of): its memo of decisions made for one URL alone, and its origins
    (scheme://authority -> `_Origin`)."""

    __slots__ = ("agent", "as_of", "memo", "origins", "policy")

    def __init__(self, agent: str | None, policy: str | None, as_of: datetime | None) -> None:
        self.agent, self.policy, self.as_of = agent, policy, as_of
        self.memo: dict[str, Decision] = {}
        self.origins: dict[str, _Origin] = {}


class Checker:
    def __init__(
        self,
        store: str | Path | Store,
        *,
        policy: str = PolicyName.ANY_AI_TRAINER,
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
        self._contexts: dict[tuple, _Context] = {}  # (agent, policy, as-of) -> memo and origins
        self._default = _Context(None, None, None)  # the context of `check(url)`
        self._serials = itertools.count(1)  # outcome ids (atomic)
        self._authorities: tuple | None = None  # see `_resource_authorities`
        self._lock = threading.Lock()
        self.loaded_at: datetime | None = None
        self.reload(store if isinstance(store, Store) else None)
        self._client: tuple[Any, Any] | None = None  # (crawlers Client, RobotsCache), made on first live use

    def reload(self, store: Store | None = None, wait: float | None = None) -> None:
        """Take a fresh snapshot of the store's evidence (e.g. after `fetch-signals` ran).
        `wait`: seconds to wait for a writer's lock (default: the store's)."""
        if store is not None:
            index = EvidenceIndex.load(store)
        else:
            with Store.open(self.store_path, read_only=True, wait=wait) as st:
                index = EvidenceIndex.load(st)
        with self._lock:
            self.index = index
            self._forget()
            self.loaded_at = datetime.now(UTC)

    def _forget(self) -> None:
        """Drop every memoised decision and origin (new evidence); the caller holds the lock."""
        self._contexts = {}
        self._default = _Context(None, None, None)

    def _context(self, agent: str | None, policy: str | None, as_of: datetime | None) -> _Context:
        if agent is None and policy is None and as_of is None:
            return self._default
        key = (agent, policy, as_of)
        found = self._contexts.get(key)
        if found is None:
            with self._lock:
                if len(self._contexts) > 1024:
                    self._contexts.clear()
                found = self._contexts.setdefault(key, _Context(agent, policy, as_of))
        return found

    def policy(self, name: str | None = None, agent: str | None = None) -> Policy:
        key = (name or self.default_policy, agent)
        found = self._policies.get(key)
        if found is None:
            found = make_policy(key[0], own_token=self.own_token, agent=agent)  # PolicyError: a ScannerError
            self._policies[key] = found
        return found

    def check(
        self, url: str, agent: str | None = None, *, policy: str | None = None, as_of: datetime | None = None
    ) -> Decision:
        if agent is None and policy is None and as_of is None:
            return self._check(self._default, url)
        return self._check(self._context(agent, policy, as_of), url)

    def _check(self, ctx: _Context, url: str) -> Decision:
        found = self._answer(ctx, url)
        return readdressed(found, url) if isinstance(found, dict) else found

    def _answer(self, ctx: _Context, url: str) -> Decision | dict:
        """A URL without evidence of its own shares its origin's: the decision is then made once
        per origin and outcome (the rule each matcher decides the path by, see `path_shape`), and
        the URL is answered by the outcome's fields (`readdressed`). A new URL of a warm origin
        costs one split (`_PLAIN_URL`), one dict probe for its origin, one regex match for its
        rule and one list index for the outcome, and nothing is kept per URL: asking again costs
        the same, and a memo of every URL would cost more than that (memory, the collector).
        Decisions made for one URL alone (own evidence, RSL) are memoised."""
        plain = _PLAIN_URL(url)
        if plain is not None:
            authority, path = plain.groups()
            entry = ctx.origins.get(authority)
            if entry is not None and entry.shared:
                rx = entry.rx
                if rx is not None and path != "/robots.txt":  # compiled: one regex match in C
                    key = path[:_WIDTH]
                    match, ids, outcomes = entry.split.get(key) or entry.part(key)
                    hit = match(path)
                    group = hit.lastindex if hit else 0
                    fields = outcomes[group] or self._outcome(entry, ids[group], url, (outcomes, group))
                else:
                    fields = self._by_shape(entry, path, url)
                return fields
        memo = ctx.memo
        found = memo.get(url)  # single dict operations are atomic: no lock on the hot path
        if found is None:
            decided = self._decide(ctx, url)
            if isinstance(decided, dict):
                return decided
            if len(memo) >= MEMO:
                memo.clear()  # bounded memory
            found = memo[url] = decided
        return found

    def _decide(self, ctx: _Context, url: str) -> Decision | dict:
        """`decide()` on the URL's evidence, or the fields of its origin's shared outcome."""
        found = AUTHORITY.match(url)
        authority = found.group(0) if found else url
        entry = ctx.origins.get(authority)
        if entry is None:
            entry = self._share(url, ctx.agent, ctx.policy, ctx.as_of)
            with self._lock:
                if len(ctx.origins) > MEMO:
                    ctx.origins.clear()
                ctx.origins[authority] = entry
        if entry.matchers is None or (entry.own and url in self.index.resource_urls):
            parts = entry.parts
            evidence = self.index.evidence_for(url, ctx.as_of, origin=parts.origin, domain=parts.registrable_domain)
            return decide(url, evidence, entry.policy)
        path = path_after(url[found.end() :]) if entry.plain and found else url_path(url, True)
        return self._by_shape(entry, path, url)

    def _by_shape(self, entry: _Origin, path: str, url: str) -> dict:
        """An origin's URL by the rules its path hits, before (or without) a compiled rule set."""
        single = entry.single
        shape: Any
        if single is not None:
            shape = 0 if path == "/robots.txt" else id(single.decide(path))
            entry.answered += 1
            if entry.answered == _COMPILE_AFTER and entry.shared:
                entry.compile()
        else:
            assert entry.matchers is not None
            shape = path_shape(path, url, entry.matchers)
        return entry.outcomes.get(shape) or self._outcome(entry, shape, url)

    def _outcome(self, entry: _Origin, shape, url: str, slot: tuple | None = None) -> dict:
        """Decide a new outcome of an origin from its evidence, and keep its fields (without the
        cached JSON view) for the URLs that share it (and in a compiled part's `slot`);
        `outcome_id` names it."""
        found = entry.outcomes.get(shape)
        if found is None:
            decision = decide(url, entry.evidence, entry.policy)
            found = outcome_fields(decision)
            with self._lock:
                found["outcome"] = next(self._serials)
                if len(entry.outcomes) > MEMO:
                    entry.outcomes.clear()
                entry.outcomes[shape] = found
        if slot is not None:
            slot[0][slot[1]] = found
        return found

    def _share(self, url: str, agent: str | None, policy: str | None, as_of: datetime | None) -> _Origin:
        """What every URL of one origin shares, computed once per origin, agent, policy and as-of."""
        parts = require_url(url, parse=origin_parts)
        pol = self.policy(policy, agent)
        if self.live and (parts.origin, EvidenceKind.ROBOTS_TXT) not in self.index.by_origin:
            self._fetch_live(parts.origin)
        authority = _authority(url)
        if self.index.has_rsl:
            return _Origin(parts, pol, None, None, False, True)
        evidence = self.index.origin_evidence(parts.origin, parts.registrable_domain, as_of)
        own = authority in self._resource_authorities()
        return _Origin(parts, pol, evidence, shape_rules(evidence, pol), is_plain_authority(authority), own)

    def _resource_authorities(self) -> frozenset[str]:
        """The scheme://authority prefixes of URLs with evidence of their own: only URLs of
        those origins need the per-URL lookup."""
        index = self.index
        found = self._authorities
        if found is None or found[0] is not index or found[1] != len(index.resource_urls):
            auths = frozenset(m.group(0) for m in map(AUTHORITY.match, index.resource_urls) if m)
            found = self._authorities = (index, len(index.resource_urls), auths)
        return found[2]

    def keeps(self, decision: Decision, on_unknown: str | None = None) -> bool:
        """Whether a pipeline keeps the item: allowed yes, reserved no, unknown per `on_unknown`."""
        choice = on_unknown_choice(on_unknown) if on_unknown else self.on_unknown
        if decision.verdict == Verdict.UNKNOWN:
            return choice == "keep"
        return decision.verdict == Verdict.ALLOWED

    def check_many(
        self, urls: Iterable[str], agent: str | None = None, *, policy: str | None = None, as_of: datetime | None = None
    ) -> list[Decision]:
        """Many URLs of one agent, policy and as-of: `check` on each, the context resolved once."""
        ctx = self._context(agent, policy, as_of)
        one = self._check
        return [one(ctx, url) for url in urls]

    def answers_many(
        self, urls: Iterable[str], agent: str | None = None, *, policy: str | None = None, as_of: datetime | None = None
    ) -> list[Decision | dict]:
        """`check_many` without re-addressing each outcome to its URL, for batch answers that send
        each outcome once: per URL its outcome's fields (`outcome_fields`; the URL's decision is
        `readdressed(fields, url)`, named by `fields["outcome"]`) or a decision made for it alone.
        Building a decision per URL was a tenth of a batch's time."""
        ctx = self._context(agent, policy, as_of)
        one = self._answer
        return [one(ctx, url) for url in urls]

    def _fetch_live(self, origin: str) -> None:
        from crawlers.http import PRODUCT_TOKEN, Client, FetchConfig
        from crawlers.origin import RobotsCache, fetch_origin
        from scanner.evidence import live_observation

        with self._lock:
            if self._client is None:
                self._client = (Client(self.fetch_config or FetchConfig()), RobotsCache())
        client, cache = self._client
        rows = []
        for fetched in fetch_origin(client, origin, self.own_token or PRODUCT_TOKEN, cache):
            body, obs = live_observation(fetched, client.request_headers)
            rows.append(
                {
                    "kind": obs.kind,
                    "origin": origin,
                    "url": obs.url,
                    "observed_at": obs.observed_at,
                    "http_status": obs.http_status,
                    "evidence_sha256": obs.evidence_sha256,
                    "body": body,
                }
            )
        with self._lock:
            self.index.add(rows)
            self._forget()


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
