"""Path shapes: URLs of one origin that hit the same rule of each rule set are decided alike.

Everything an origin's evidence says that does not depend on the path (fetch outcomes, the
blocklist, stale evidence, lint) is the same for all its URLs; what does depend on the path is
which rule of each matcher decides it: robots.txt's rule sets for the policy's agents, ai.txt's,
and the tdmrep.json rule. The hook decides each shape once per origin and answers every other
URL of that shape with the outcome's fields under the new URL (`readdressed`), instead of
running `decide()` per URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.decide import Artefact, Decision, Evidence, Policy, has_content_usage
from scanner.decide.cache import parsed_ai_txt, parsed_robots, tdmrep_file
from scanner.signals.fetch_outcome import PARSED, fetch_outcome
from scanner.signals.robots import RobotsTxt, RuleSet
from scanner.signals.tdmrep import TdmRepFile


@dataclass(frozen=True)
class Matchers:
    """What a URL of an origin is matched against: the robots.txt rule sets for the policy's
    agents (distinct sets only), ai.txt's, and the tdmrep.json file (None: no rules to match)."""

    robots: tuple[RuleSet, ...] = ()
    ai_txt: tuple[RuleSet, ...] = ()
    tdmrep: TdmRepFile | None = None

    @property
    def single(self) -> RuleSet | None:
        """The one rule set that alone decides every path (robots.txt's, nothing else matched)."""
        return self.robots[0] if len(self.robots) == 1 and not self.ai_txt and self.tdmrep is None else None


def _parsed(art: Artefact | None) -> Artefact | None:
    """The artefact if it was fetched and parsed (a 2xx), else None."""
    return art if art is not None and fetch_outcome(art.http_status) == PARSED else None


def _rule_sets(parsed: RobotsTxt, policy: Policy) -> tuple[RuleSet, ...] | None:
    """Distinct rule sets for the policy's agents; None when paths are read by another dialect
    than the hook's path normalisation."""
    if not parsed.dialect.rfc_percent_encoding:
        return None
    return tuple(rs for _, rs in parsed.partition(policy.agents))


def shape_rules(evidence: Evidence, policy: Policy) -> Matchers | None:
    """For evidence shared by a whole origin, what its URLs' paths are matched against: the
    decision then depends only on which rule of each matcher the path hits (`path_shape`), so a
    hook decides each shape once. None when it depends on more than rule hits (RSL, Content-Usage,
    own evidence)."""
    if evidence.rsl or evidence.resource or evidence.asset:
        return None
    robots: tuple[RuleSet, ...] | None = ()
    if art := _parsed(evidence.robots):
        parsed = parsed_robots(art.body, art.sha256)
        robots = None if has_content_usage(parsed) else _rule_sets(parsed, policy)
    ai_txt: tuple[RuleSet, ...] | None = ()
    if art := _parsed(evidence.ai_txt):
        ai = parsed_ai_txt(art.body, art.sha256)[0]
        ai_txt = _rule_sets(ai, policy) if ai is not None else ()
    tdmrep = None
    if art := _parsed(evidence.tdmrep):
        tdmrep = tdmrep_file(art.body, art.sha256, policy.conservative)
    if robots is None or ai_txt is None:
        return None
    return Matchers(robots, ai_txt, tdmrep if tdmrep is not None and tdmrep.rules else None)


def path_shape(path: str, url: str, matchers: Matchers) -> tuple[Any, ...]:
    """Whether the (normalised) path is /robots.txt (always allowed, by robots.txt and ai.txt
    alike), the rule each rule set decides it by, and the tdmrep.json rule and lint for the URL."""
    shape: tuple[Any, ...] = (path == "/robots.txt", *(id(rs.decide(path)) for rs in matchers.robots))
    if matchers.ai_txt:
        shape += tuple(id(rs.decide(path)) for rs in matchers.ai_txt)
    if matchers.tdmrep is not None:
        rule, lint = matchers.tdmrep.lookup(url)
        shape += (rule, lint)
    return shape


def outcome_fields(decision: Decision) -> dict[str, Any]:
    """A decision's fields without its cached JSON view (which names its URL)."""
    fields = dict(decision.__dict__)
    fields.pop("_dict", None)
    return fields


def readdressed(fields: dict[str, Any], url: str) -> Decision:
    """An outcome's decision about one URL. Copies the fields directly: a frozen dataclass's
    __init__ costs more than the rest of a warm hook check."""
    other = object.__new__(Decision)
    own = other.__dict__
    own.update(fields)
    own["url"] = url
    return other
