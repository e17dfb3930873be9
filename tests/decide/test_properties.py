"""Properties of the verdict over every protocol at once: a reservation is never cancelled by a
permission elsewhere, and the verdict does not depend on the order evidence arrives in."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.decide import Evidence, decide
from tests._artefacts import ANY, URL, art, html


def robots(text: str):
    return art("robots.txt", text, 200)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([None, "allow", "disallow"]),
    st.sampled_from([None, "1", "0"]),
    st.sampled_from([None, "y", "n"]),
    st.booleans(),
    st.booleans(),
    st.randoms(),
)
def test_reservations_are_never_cancelled_and_order_does_not_matter(rb, tdm, cu, noai, cc, rnd) -> None:
    """One value per protocol: the verdict is reserved exactly when one of them reserves, and
    shuffling header lines and artefacts never changes it."""
    pairs = ([("tdm-reservation", tdm)] if tdm else []) + ([("content-usage", f"train-ai={cu}")] if cu else [])
    markup = ('<meta name="robots" content="noai">' if noai else "") + (
        '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/">' if cc else ""
    )
    resource = [art("headers", json.dumps(pairs), url=URL)] + ([html(f"<head>{markup}</head>")] if markup else [])
    rules = {None: None, "allow": "User-agent: *\nAllow: /\n", "disallow": "User-agent: *\nDisallow: /\n"}[rb]
    base = Evidence(robots=robots(rules) if rules else None, resource=tuple(resource))
    d = decide(URL, base, ANY)
    assert (d.verdict == "reserved") == (rb == "disallow" or tdm == "1" or cu == "n" or noai)
    rnd.shuffle(pairs)
    shuffled = [art("headers", json.dumps(pairs), url=URL), *resource[1:]]
    rnd.shuffle(shuffled)
    assert decide(URL, Evidence(robots=base.robots, resource=tuple(shuffled)), ANY).verdict == d.verdict
