"""Path shapes: URLs of one origin that hit the same rule of each rule set are decided alike.

The hook decides each shape once per origin and answers every other URL of that shape with the
outcome's fields under the new URL (`readdressed`), instead of running `decide()` per URL.
"""

from __future__ import annotations

from typing import Any

from scanner.decide import Decision, Evidence, Policy, has_content_usage
from scanner.decide.cache import parsed_robots
from scanner.signals.fetch_outcome import PARSED, fetch_outcome


def shape_rules(evidence: Evidence, policy: Policy) -> tuple[Any, ...] | None:
    """For evidence shared by a whole origin, the rule sets a URL's path is matched against: the
    decision then depends only on which rule of each set the path hits (`path_shape`), so a hook
    decides each shape once. () when the decision does not depend on the path; None when it
    depends on more than rules (path-scoped TDMRep, ai.txt or Content-Usage, own evidence)."""
    if evidence.tdmrep or evidence.ai_txt or evidence.rsl or evidence.resource or evidence.asset:
        return None
    art = evidence.robots
    if art is None or fetch_outcome(art.http_status) != PARSED:
        return ()
    parsed = parsed_robots(art.body, art.sha256)
    if has_content_usage(parsed):
        return None
    return tuple(rs for _, rs in parsed.partition(policy.agents))


def path_shape(path: str, rulesets: tuple[Any, ...]) -> tuple[Any, ...]:
    """Whether the (normalised) path is /robots.txt (always allowed) and the rule each set
    decides it by."""
    if len(rulesets) == 1:
        return (path == "/robots.txt", id(rulesets[0].decide(path)))
    return (path == "/robots.txt", *(id(rs.decide(path)) for rs in rulesets))


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
