"""The AI-agent registry (ai.robots.txt + our roles and organisation groups)."""

from scanner.agents.registry import TRAINING_ROLES, Agent, Registry, default_registry, load_registry

__all__ = ["TRAINING_ROLES", "Agent", "Registry", "default_registry", "load_registry"]
