"""W3C TDMRep: the spec's own examples, and the derived lookups and precedence cases."""

from __future__ import annotations

import json

from scanner.decide import Evidence, decide
from scanner.signals import from_response
from scanner.signals.embedded import tdmrep_package_signal
from scanner.signals.tdmrep import parse_tdmrep
from tests import _report
from tests._artefacts import ANY, URL, art, headers, html
from tests.conftest import DATA


# -- W3C TDMRep ----------------------------------------------------------------------------------
def test_tdmrep_spec_examples() -> None:
    cases = json.loads((DATA / "w3c-tdmrep/tdmrep_cases.json").read_text())
    checked = 0
    for example in cases["tdmrep_json_examples"]:
        parsed = parse_tdmrep(json.dumps(example["tdmrep_json"]).encode())
        for lookup in example["lookups"]:
            rule, _ = parsed.lookup(lookup["url"])
            expected = lookup["expected"]
            if expected == "unset":
                assert rule is None, lookup
            else:
                assert rule.reservation == expected["tdm-reservation"], lookup
                assert rule.policy == expected.get("tdm-policy"), lookup
            checked += 1
    enc = cases["percent_encoding_example"]
    rule, _ = parse_tdmrep(json.dumps([{"location": enc["pattern"], "tdm-reservation": 1}]).encode()).lookup(
        enc["matches_uri"]
    )
    assert rule is not None
    for example in cases["http_header_examples"]:
        head = example["raw"].split("\r\n\r\n")[0].split("\r\n")[1:]
        sigs = from_response(URL, 200, [tuple(x.split(": ", 1)) for x in head], b"")
        tdm = [s for s in sigs if s.signal == "tdmrep"]
        assert tdm[0].statement == "reserved" and example["expected"].get("tdm-policy", "") in tdm[0].detail
    for example in cases["html_meta_examples"]:
        tdm = [
            s
            for s in from_response(URL, 200, {"content-type": "text/html"}, example["html"].encode())
            if s.signal == "tdmrep"
        ]
        assert tdm[0].statement == "reserved" and example["expected"]["tdm-policy"] in tdm[0].detail
    for example in cases["package_metadata_examples"]:
        sig = tdmrep_package_signal(example["snippet"])
        assert sig.statement == "reserved" and example["expected"]["tdm-policy"] in sig.detail
    for case in cases["processing_priority_cases"]:
        ev = {}
        if case["tdmrep_json"]:
            ev["tdmrep"] = art("tdmrep.json", json.dumps(case["tdmrep_json"]))
        resource = []
        if case["header"]:
            resource.append(headers(**{k.replace("-", "_"): v for k, v in case["header"].items()}))
        if case["html_meta"]:
            resource.append(
                html(f'<head><meta name="tdm-reservation" content="{case["html_meta"]["tdm-reservation"]}">')
            )
        d = decide(URL, Evidence(resource=tuple(resource), **ev), ANY)
        tdm = [r for r in d.reasons if r.signal == "tdmrep"]
        expected = "reserved" if case["expected"]["tdm-reservation"] == 1 else "permitted"
        assert tdm and tdm[0].statement == expected, case["why"]
        checked += 1
    for value in cases["value_semantics"]:
        sig = from_response(URL, 200, {"tdm-reservation": value["value"]}, b"")
        got = {"reserved": "reserved", "permitted": "not_reserved"}.get(
            next((s.statement for s in sig if s.signal == "tdmrep"), ""), "unset"
        )
        assert got == value["expected"], value
    _report.note(
        f"w3c-tdmrep: all verbatim examples, {checked} derived lookups/precedence cases and "
        f"{len(cases['value_semantics'])} value cases pass"
    )
