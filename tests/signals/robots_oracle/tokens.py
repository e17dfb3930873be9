"""User-agent product tokens (RFC 9309 §2.2.1): which group a crawler's name selects."""

from __future__ import annotations

import re
from functools import lru_cache

from tests.signals.robots_oracle.model import RFC9309, Dialect

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
_TOKEN_RE_NO_DIGITS = re.compile(r"[A-Za-z_-]*")
_UNICODE_TOKEN_RE = re.compile(r"[\w-]*")


def product_token(agent: str, dialect: Dialect = RFC9309) -> str:
    """The product token of a user-agent value, lower-case (matching is case-insensitive).

    `GPTBot/1.1` -> `gptbot`, `Brightbot 1.0` -> `brightbot`, `*` -> `*`. A name with non-ASCII
    letters (`Jävla-Foobot`, `Львів-bot`) is kept whole rather than cut to its ASCII prefix, so it
    matches only itself (Google would read `J`); the parser lints it.
    """
    agent = agent.strip()
    if agent == "*" or (agent[:1] == "*" and agent[1:2].isspace()):
        return "*"
    rx = _TOKEN_RE if dialect.digits_in_tokens else _TOKEN_RE_NO_DIGITS
    m = rx.match(agent)  # the patterns match the empty string: always a match
    token = m.group(0) if m else ""
    after = agent[len(token) : len(token) + 1]
    if dialect.digits_in_tokens and after and not after.isascii() and after.isalnum():
        whole = _UNICODE_TOKEN_RE.match(agent)
        token = whole.group(0) if whole else token
    return token.lower()


@lru_cache(maxsize=4096)
def query_token(agent: str, dialect: Dialect) -> str:
    """The token a caller asks about. Google compares the caller's string whole."""
    if not dialect.rfc_percent_encoding:  # the Google dialect
        return agent.strip().lower()
    return product_token(agent, dialect)
