"""The AI-agent registry: data quality handling, roles, organisation groups, identification."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path

from scanner.agents import TRAINING_ROLES, default_registry, load_registry


def test_bundled_registry_is_the_recorded_version() -> None:
    registry = default_registry()
    body = (files("scanner.agents") / "ai-robots.json").read_bytes()
    assert hashlib.sha256(body).hexdigest() == registry.source["sha256"]
    assert len(registry.agents) == 166
    assert (files("scanner.agents") / "ai-robots.LICENSE").read_text().startswith("MIT License")


def test_tokens_are_product_tokens_and_case_duplicates_collapse() -> None:
    registry = default_registry()
    assert len(registry.by_token("Meta-ExternalAgent")) == 2  # two keys, one token
    assert {a.token for a in registry.by_token("brightbot")} == {"brightbot"}
    assert [a.name for a in registry.by_token("MistralAI-User")] == ["MistralAI-User", "MistralAI-User/1.0"]
    assert len(registry.tokens()) < len(registry.agents)


def test_roles() -> None:
    registry = default_registry()
    role = {a.token: a.role for a in registry.agents}
    assert role["google-extended"] == role["applebot-extended"] == "control"
    assert role["gptbot"] == role["ccbot"] == role["claudebot"] == "training"
    assert role["oai-searchbot"] == "ai-input" and role["chatgpt-user"] == "user-fetch"
    trainers = set(registry.tokens(TRAINING_ROLES))
    assert {"gptbot", "ccbot", "google-extended", "bytespider"} <= trainers
    assert "oai-searchbot" not in trainers


def test_organisation_groups_are_editable_and_versioned(tmp_path: Path) -> None:
    registry = default_registry()
    assert registry.organisation("OpenAI") == (
        "chatgpt",
        "chatgpt-user",
        "gptbot",
        "oai-searchbot",
        "operator",
    )
    custom = tmp_path / "groups.toml"
    custom.write_text('version = "mine-1"\n[groups]\nOpenAI = ["GPTBot"]\n')
    mine = load_registry(groups=custom)
    assert mine.groups_version == "mine-1" and mine.organisation("OpenAI") == ("gptbot",)
    every = {t for a in registry.agents for t in [a.token]}
    import tomllib

    groups = tomllib.loads((files("scanner.agents") / "groups.toml").read_text())["groups"]
    from scanner.signals.robots import product_token

    assert {product_token(t) for toks in groups.values() for t in toks} <= every


def test_identify_finds_agents_in_user_agent_headers() -> None:
    registry = default_registry()
    ua = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)"
    assert [a.name for a in registry.identify(ua)] == ["GPTBot"]
    assert registry.identify("Mozilla/5.0 (Windows NT 10.0) Chrome/120") == ()
