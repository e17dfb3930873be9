"""robots.txt records as parsed (RFC 9309): dialects, rules, groups, lint findings and the
explanation a decision cites. Plain frozen data; the parser, matcher and `RobotsTxt` build on it.

A parse keeps its rules, records and lint findings as rows, plain tuples of str, int and bool
(`RuleRow`, `RecordRow`, `LintRow`), and builds the `Rule`, `Record` and `Lint` objects only when
asked: the collector stops tracking a plain tuple of atoms at its first pass, while an object per
rule stays tracked for as long as the parse lives (2,000 files hold some 170,000 of them, and
every full collection of the process walked them all)."""

from __future__ import annotations

from dataclasses import dataclass

RuleRow = tuple[bool, str, str, int]  # a `Rule`'s fields: allow, value, pattern, line
RecordRow = tuple[str, str, int]  # a `Record`'s fields: key, value, line
LintRow = tuple[str, int | None, str]  # a `Lint`'s fields: code, line, message


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where readings differ, which one to apply. `RFC9309` is the default everywhere."""

    name: str
    # RFC §2.2.2: decode unreserved escapes (`%7E` == `~`), %-encode raw non-ASCII on both sides
    # (`ツ` == `%E3%83%84`). Google compares URLs as given and only escapes non-ASCII in rules.
    rfc_percent_encoding: bool
    digits_in_tokens: bool  # `AI2Bot` stays whole; Google stops the token at the first digit
    implicit_robots_txt: bool  # `/robots.txt` is always allowed (RFC §2.2.2)
    index_html_is_directory: bool  # Google: `Allow: /d/index.html` also allows `/d/`
    content_usage_is_rule: bool  # draft-ietf-aipref-attach: `Content-Usage` is a rule line


RFC9309 = Dialect("rfc9309", True, True, True, False, True)
GOOGLE = Dialect("google", False, False, False, True, False)


@dataclass(frozen=True, slots=True)
class Lint:
    """A parse finding. `line` is 1-based, None for findings about the whole file."""

    code: str
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Rule:
    allow: bool
    value: str  # the value as written, comment removed
    pattern: str  # normalised for matching (what length and comparison use)
    line: int

    @property
    def directive(self) -> str:
        return "allow" if self.allow else "disallow"


@dataclass(frozen=True, slots=True)
class Record:
    """A non-rule line kept for later stages: AI extensions, politeness, sitemaps, unknown keys."""

    key: str  # lower-case, canonical spelling
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class Group:
    agents: tuple[str, ...]  # product tokens, lower-case; '*' for the global group; '' unusable
    agent_lines: tuple[int, ...]
    rule_rows: tuple[RuleRow, ...]  # in file order (`rules` builds them as `Rule`s)
    record_rows: tuple[RecordRow, ...]  # Content-Signal, Content-Usage, License, Crawl-delay, ...

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The group's Allow / Disallow lines, in file order (new objects on each call)."""
        return tuple(Rule(*row) for row in self.rule_rows)

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(Record(*row) for row in self.record_rows)

    def extensions(self, key: str) -> tuple[Record, ...]:
        return tuple(Record(*row) for row in self.record_rows if row[0] == key)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a URL is allowed or not for an agent: the evidence a decision cites."""

    allowed: bool
    agent: str  # the product token looked up
    path: str  # the normalised path+query that was matched
    groups: tuple[Group, ...]  # the merged groups that applied (empty: no group applies)
    used_fallback: bool  # True when the agent had no group and `*` applied
    rule: Rule | None  # the deciding rule; None when no rule matched
    reason: str  # rule | no rule matched | no group | implicit allow (/robots.txt)

    @property
    def group_agents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for g in self.groups for a in g.agents))

    def describe(self) -> str:
        verdict = "allowed" if self.allowed else "disallowed"
        who = (
            "the * group (no group names it)"
            if self.used_fallback
            else (f"group {', '.join(self.group_agents)}" if self.groups else "no group")
        )
        if self.rule:
            return (
                f"{verdict}: {self.rule.directive.capitalize()}: {self.rule.value} "
                f"(line {self.rule.line}) in {who} matched {self.path}"
            )
        return f"{verdict}: {self.reason} in {who} for {self.path}"


# The deciding "rule" of a path whose match would cost more than MATCH_BUDGET: disallowed (an
# opt-out may be among the rules not tried), explained as such and linted by its signal.
UNDECIDED = Rule(False, "(match budget exceeded)", "", 0)
BUDGET_REASON = "match budget exceeded"
