"""Response headers against datadiligence's X-Robots-Tag / TDMRep header cases (51), agent
`spawningbot`."""

from __future__ import annotations

import json

from scanner.decide import Evidence, decide
from tests import _report
from tests._artefacts import ANY, URL, agent, art, headers
from tests.conftest import DATA


# -- datadiligence -------------------------------------------------------------------------------
def test_datadiligence_header_cases() -> None:
    cases = json.loads((DATA / "datadiligence/header_cases.json").read_text())
    flipped = []
    for c in cases["x_robots_tag_cases"]:
        evidence = (
            Evidence(resource=(headers(x_robots_tag=c["x_robots_tag"]),))
            if c["x_robots_tag"]
            else Evidence(resource=(headers(),))
        )
        pol = agent(c["user_agent"]) if c["user_agent"] else ANY
        # datadiligence judges downloaded media (noimageai is sent with images): modality image
        allowed = decide(URL, evidence, pol, modality="image").verdict != "reserved"
        if allowed != c["expected_allowed"]:
            flipped.append(c)
    # Our policy deliberately never reads noindex/none as an AI reservation (spec §16), so the
    # one case that asks datadiligence to `respect_noindex` flips; nothing else may.
    assert flipped == [
        {
            "x_robots_tag": "none, noindex",
            "user_agent": "spawningbot",
            "respect_noindex": True,
            "expected_allowed": False,
        }
    ]
    for c in cases["tdmrep_header_cases"]:
        fields = c.get("headers") or ({"tdm-reservation": c["tdm_reservation"]} if c.get("tdm_reservation") else {})
        evidence = Evidence(resource=(art("headers", json.dumps(sorted(fields.items())), url=URL),))
        assert (decide(URL, evidence, ANY).verdict != "reserved") == c["expected_allowed"], c
    n = len(cases["x_robots_tag_cases"]) + len(cases["tdmrep_header_cases"])
    _report.record(
        "datadiligence header cases (spawningbot)",
        n - len(flipped),
        n,
        len(flipped),
        " (respect_noindex: noindex is not an AI reservation here)",
    )
