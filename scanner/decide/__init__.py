"""Decisions: the evidence seen for a URL + a named, versioned policy -> allowed / reserved / unknown.

`policy` names whose reservations count, `verdict` reads each protocol and combines them, `cache`
keeps parsed files per content address. `bulk` (a whole store, keyed in DuckDB) and `ray` (on a
cluster) are imported by name: they need the store, the verdict does not.
"""

from scanner.decide.cache import licence_urls
from scanner.decide.policy import POLICY_NAMES, POLICY_VERSION, Policy, PolicyName, make_policy
from scanner.decide.verdict import STALE_AFTER, Checked, Decision, Verdict, decide, has_content_usage, reason_dict
from scanner.evidence_model import Artefact, Evidence

__all__ = [
    "POLICY_NAMES",
    "POLICY_VERSION",
    "STALE_AFTER",
    "Artefact",
    "Checked",
    "Decision",
    "Evidence",
    "Policy",
    "PolicyName",
    "Verdict",
    "decide",
    "has_content_usage",
    "licence_urls",
    "make_policy",
    "reason_dict",
]
