"""Policies: the named ones, an agent's own view, and the errors for a name or token missing."""

from __future__ import annotations

import pytest

from scanner.decide import POLICY_NAMES, PolicyName, make_policy
from scanner.errors import PolicyError, ScannerError, UnknownPolicy


def test_policy_names_are_their_strings():
    """StrEnum members equal the strings stored with decisions and sent over the service."""
    assert POLICY_NAMES == ("any-ai-trainer", "own-token", "generic", "strict-literal", "strict")
    assert make_policy().name == "any-ai-trainer" == PolicyName.ANY_AI_TRAINER


def test_unknown_policy_is_a_scanner_error_naming_the_choices():
    with pytest.raises(UnknownPolicy, match="unknown policy 'nope'") as raised:
        make_policy("nope")
    assert isinstance(raised.value, ScannerError) and isinstance(raised.value, ValueError)
    assert all(name in str(raised.value) for name in POLICY_NAMES)


def test_own_token_needs_the_crawlers_token():
    with pytest.raises(PolicyError, match="needs the crawler's product token"):
        make_policy("own-token")
    assert make_policy("own-token", own_token="ExampleBot/1.0").agents == ("examplebot",)


def test_an_agents_view_is_its_group_and_counts_vendor_lookalikes():
    pol = make_policy("ignored-when-an-agent-is-given", agent="GPTBot/1.2")
    assert (pol.name, pol.agents, pol.vendor_lookalikes) == ("agent:gptbot", ("gptbot",), True)


def test_named_policies_differ_only_in_their_readings():
    trainer = make_policy("any-ai-trainer")
    assert "*" in trainer.agents and "gptbot" in trainer.agents
    assert make_policy("generic").agents == ("*",)
    literal, strict = make_policy("strict-literal"), make_policy("strict")
    assert literal.agents == strict.agents == trainer.agents
    assert (trainer.conservative, literal.conservative, strict.conservative) == (True, False, True)
    assert (trainer.not_robots_is_unreachable, strict.not_robots_is_unreachable) == (False, True)
