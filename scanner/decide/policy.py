"""Policies: whose reservations count and how the [our choice] readings are taken (spec §2.5).

A decision names its policy and the policy's version, so a stored verdict can be re-derived and
compared with the same reading later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanner.errors import PolicyError, UnknownPolicy
from scanner.signals.model import Category

POLICY_VERSION = "1"


class PolicyName(StrEnum):
    """The named policies (an agent's own view is `agent:<token>`, made by `make_policy(agent=...)`)."""

    ANY_AI_TRAINER = "any-ai-trainer"  # every known AI trainer's group, and `*`
    OWN_TOKEN = "own-token"  # the crawler's own product token only
    GENERIC = "generic"  # only what robots.txt says to unnamed crawlers
    STRICT_LITERAL = "strict-literal"  # as any-ai-trainer, legacy labels read literally
    STRICT = "strict"  # as any-ai-trainer, a page served as robots.txt read as unreachable


POLICY_NAMES: tuple[PolicyName, ...] = tuple(PolicyName)


@dataclass(frozen=True)
class Policy:
    """Whose reservations count and how the [our choice] readings are taken (spec §2.5)."""

    name: str  # a PolicyName, or agent:<token>
    agents: tuple[str, ...]  # product tokens, lower-case; "*" is the statement to unnamed crawlers
    version: str = POLICY_VERSION
    usage: str = Category.TRAIN_AI
    unreachable_is_disallow: bool = True  # RFC 9309 §2.3.1.4
    conservative: bool = True  # legacy aipref labels, conflicting TDMRep values read as reserved
    # Vendor look-alikes (`noarchive` for Bingbot/Amazonbot, spec §7.4) count only when the policy
    # asks about that one vendor: a search directive is not an AI reservation for everyone.
    vendor_lookalikes: bool = False
    # An HTML or challenge page served as robots.txt says nothing: unknown, unless the policy
    # reads it as unreachable (a complete disallow), as `strict` does.
    not_robots_is_unreachable: bool = False

    @property
    def agent_set(self) -> frozenset[str]:
        return frozenset(self.agents)


def make_policy(
    name: str = PolicyName.ANY_AI_TRAINER, *, own_token: str | None = None, agent: str | None = None
) -> Policy:
    """A named policy. `agent` asks for one agent's view (its group, else `*`)."""
    from scanner.agents import TRAINING_ROLES, default_registry
    from scanner.signals.robots import product_token

    if agent:
        token = product_token(agent) or agent.lower()
        return Policy(f"agent:{token}", (token,), vendor_lookalikes=True)
    try:
        which = PolicyName(name)
    except ValueError:
        raise UnknownPolicy(f"unknown policy {name!r} (one of {', '.join(POLICY_NAMES)})") from None
    if which is PolicyName.OWN_TOKEN:
        if not own_token:
            raise PolicyError("policy own-token needs the crawler's product token (manifest [crawler])")
        return Policy(which, (product_token(own_token),))
    if which is PolicyName.GENERIC:
        return Policy(which, ("*",))
    trainers = (*default_registry().tokens(TRAINING_ROLES), "*")
    if which is PolicyName.STRICT_LITERAL:
        return Policy(which, trainers, conservative=False)
    if which is PolicyName.STRICT:
        return Policy(which, trainers, not_robots_is_unreachable=True)
    return Policy(which, trainers)
