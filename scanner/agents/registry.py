"""The AI-agent registry: who each robots.txt token is, what it is for, and who runs it.

Built on ai.robots.txt's `robots.json` (MIT, bundled with its licence), our role curation
(`roles.toml`) and editable, versioned organisation groups (`groups.toml`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from scanner.signals.robots import product_token

ROLES = ("training", "control", "ai-input", "user-fetch", "data-provider", "unknown")
# Which roles a policy treats as AI training (spec §2.5 `any-ai-trainer`).
TRAINING_ROLES = frozenset({"training", "control", "data-provider"})
SOURCE = {
    "file": "ai-robots.json",
    "repository": "ai-robots-txt/ai.robots.txt",
    "commit": "738c80df2169027ce0e07c9976fd3f2f57dd8f7b",
    "date": "2026-08-22",
    "sha256": "b8ddd5fdd5a384766fa556f7183a05656b5722082b5931d63a0e5ec91961a3ec",
    "licence": "MIT (ai-robots.LICENSE)",
}
# knownagents.com category names that ai.robots.txt copies into `function`.
_CATEGORY_ROLES = {
    "ai data scrapers": "training",
    "ai data scraper": "training",
    "ai data providers": "data-provider",
    "ai search crawlers": "ai-input",
    "ai assistants": "user-fetch",
    "ai agents": "user-fetch",
    "ai coding agents": "user-fetch",
    "undocumented ai agents": "unknown",
}
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True, slots=True)
class Agent:
    name: str  # the registry key as published (`Brightbot 1.0`, `MistralAI-User/1.0`)
    token: str  # the robots.txt product token, lower-case (`brightbot`, `mistralai-user`)
    operator: str
    function: str
    respects_robots: str  # the registry's own words: Yes / No / Unclear
    role: str
    organisation: str | None


@dataclass(frozen=True)
class Registry:
    agents: tuple[Agent, ...]
    roles_version: str
    groups_version: str
    source: dict[str, str]

    def by_token(self, token: str) -> tuple[Agent, ...]:
        """Agents whose product token this is (case-only duplicates collapse to one token)."""
        t = product_token(token)
        return tuple(a for a in self.agents if a.token == t)

    def tokens(self, roles: frozenset[str] | set[str] | None = None) -> tuple[str, ...]:
        """Distinct product tokens, optionally only those with the given roles, sorted."""
        return tuple(sorted({a.token for a in self.agents if roles is None or a.role in roles}))

    def organisation(self, name: str) -> tuple[str, ...]:
        return tuple(sorted({a.token for a in self.agents if a.organisation == name}))

    def identify(self, user_agent: str) -> tuple[Agent, ...]:
        """Known agents named in a User-Agent header (whole-word, case-insensitive)."""
        ua = user_agent.lower()
        found = []
        for agent in self.agents:
            name = agent.name.lower()
            for m in re.finditer(re.escape(name), ua):
                before = ua[m.start() - 1] if m.start() else " "
                after = ua[m.end()] if m.end() < len(ua) else " "
                # whole word, and not a host name inside a URL (`https://openai.com/gptbot`)
                if not (before.isalnum() or before in "-_./") and not (after.isalnum() or after in "-_."):
                    found.append(agent)
                    break
        return tuple(found)


def _plain(text: str) -> str:
    return _MD_LINK.sub(r"\1", text or "").strip()


def _role(token: str, function: str, curated: dict[str, str]) -> str:
    if token in curated:
        return curated[token]
    f = function.lower().strip().rstrip(".")
    if f in _CATEGORY_ROLES:
        return _CATEGORY_ROLES[f]
    if "train" in f or "llm" in f or "dataset" in f or "scrape" in f:
        return "training"
    if "search" in f or "answer" in f:
        return "ai-input"
    if "user" in f and ("prompt" in f or "request" in f or "initiated" in f):
        return "user-fetch"
    return "unknown"


def load_registry(agents: Path | None = None, roles: Path | None = None, groups: Path | None = None) -> Registry:
    here = files("scanner.agents")
    data = json.loads((agents or here / "ai-robots.json").read_text(encoding="utf-8"))
    roles_doc = tomllib.loads((roles or here / "roles.toml").read_text(encoding="utf-8"))
    groups_doc = tomllib.loads((groups or here / "groups.toml").read_text(encoding="utf-8"))
    curated = roles_doc.get("roles", {})
    bad = {k: v for k, v in curated.items() if v not in ROLES}
    if bad:
        raise ValueError(f"roles.toml: unknown roles {bad} (expected one of {', '.join(ROLES)})")
    org_of = {product_token(t): org for org, toks in groups_doc.get("groups", {}).items() for t in toks}
    out = []
    for name, entry in data.items():
        token = product_token(name)
        function = _plain(entry.get("function", ""))
        out.append(
            Agent(
                name=name,
                token=token,
                operator=_plain(entry.get("operator", "")),
                function=function,
                respects_robots=_plain(entry.get("respect", "")),
                role=_role(token, function, curated),
                organisation=org_of.get(token),
            )
        )
    return Registry(tuple(out), roles_doc.get("version", "?"), groups_doc.get("version", "?"), SOURCE)


@cache
def default_registry() -> Registry:
    return load_registry()
