"""The 81 `other` vectors of ../shared/spec/opt-out-vectors.json (fetch outcomes, TDMRep, noai
meta, ai.txt, Content-Usage, Content-Signal, RSL, C2PA, IPTC, licences, cross-signal): one
parametrised test per vector id, each asserting what the spec says the signal or the verdict is.
The real suites of each protocol are beside this file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from scanner.decide import Artefact, Evidence, Policy, decide, make_policy
from scanner.evidence import EvidenceIndex
from scanner.signals import from_response
from scanner.signals.embedded import iptc_signal, tdmrep_package_signal
from scanner.signals.html import read_html
from scanner.signals.tdmrep import parse_tdmrep
from tests._artefacts import ANY, T0, URL, agent, art, headers, html, verdict
from tests.conftest import DATA

# -- the spec's `other` vectors ------------------------------------------------------------------
CF_MANAGED = (
    "User-Agent: *\nContent-signal: search=yes, ai-train=no\nAllow: /\n\n"
    "User-agent: GPTBot\nDisallow: /\n\nUser-agent: CCBot\nDisallow: /\n"
)
CU_EXAMPLE = (
    "User-Agent: *\nAllow: /\nDisallow: /never/\nContent-Usage: train-ai=n\n"
    "Content-Usage: /ai-ok/ train-ai=y\n\n"
    "User-Agent: ExampleBot\nAllow: /\nContent-Usage: train-ai=y\n"
)
RSL_DOC = (
    '<rsl xmlns="https://rslstandard.org/rsl"><content url="{url}"{server}><license>{body}</license></content></rsl>'
)


def robots(text: str, status: int | None = 200, when: datetime = T0) -> Artefact:
    return art("robots.txt", text, status, when=when)


def rsl(body: str, url: str = "/", server: str = "") -> dict:
    doc = RSL_DOC.format(url=url, body=body, server=f' server="{server}"' if server else "")
    return {
        "robots": robots("License: https://e.example/license.xml\nUser-agent: *\nAllow: /\n"),
        "rsl": (art("rsl", doc, url="https://e.example/license.xml"),),
    }


def reasons(d, signal: str) -> list:
    return [r for r in d.reasons if r.signal == signal]


OTHER: dict[str, object] = {}


def vector(vid: str):
    def register(fn):
        OTHER[vid] = fn
        return fn

    return register


@vector("FE01")
def _fe01():
    assert verdict(robots=robots("", 404), policy=agent("GPTBot")) == "allowed"


@vector("FE02")
def _fe02():
    assert verdict(robots=robots("<html>challenge</html>", 403), policy=agent("GPTBot")) == "allowed"


@vector("FE03")
def _fe03():
    d = decide(URL, Evidence(robots=robots("", 503)), agent("GPTBot"))
    assert d.verdict == "reserved" and d.reasons[0].signal == "robots_unreachable"
    lenient = Policy("lenient", ("gptbot",), unreachable_is_disallow=False)
    assert verdict(robots=robots("", 503), policy=lenient) == "unknown"


@vector("FE04")
def _fe04():
    assert verdict(robots=robots("", None), policy=agent("GPTBot")) == "reserved"


@vector("FE05")
def _fe05():
    assert verdict(robots=robots("", 429), policy=agent("GPTBot")) == "reserved"


@vector("FE06")
def _fe06():
    # the crawler follows the 5 redirects and records the final 200 under the original origin
    assert verdict(robots=robots("User-agent: *\nDisallow: /\n"), policy=agent("GPTBot")) == "reserved"


@vector("FE07")
def _fe07():
    assert verdict(robots=robots("", 301), policy=agent("GPTBot")) == "allowed"


@vector("FE08")
def _fe08():
    row = {
        "kind": "robots.txt",
        "origin": "https://www.example",
        "url": "https://www.example/robots.txt",
        "observed_at": T0,
        "http_status": 200,
        "evidence_sha256": "x",
        "body": b"User-agent: *\nDisallow: /\n",
    }
    ev = EvidenceIndex([row], {}).evidence_for("http://example/a", None)
    assert ev.robots is None and decide("http://example/a", ev, ANY).verdict == "unknown"


@vector("FE09")
def _fe09():
    body = ("Allow: /x\n" * (512_000 // 10 + 1000)) + "User-agent: *\nDisallow: /\n"
    d = decide(URL, Evidence(robots=robots(body)), ANY)
    assert d.verdict == "allowed" and "truncated" in d.lint


@vector("FE10")
def _fe10():
    old = {
        "kind": "robots.txt",
        "origin": "https://e.example",
        "url": "https://e.example/robots.txt",
        "observed_at": T0,
        "http_status": 200,
        "evidence_sha256": "a",
        "body": b"User-agent: *\nDisallow: /\n",
    }
    failed = old | {
        "observed_at": T0 + timedelta(hours=30),
        "http_status": 503,
        "evidence_sha256": "b",
        "body": b"",
    }
    now = T0 + timedelta(hours=30)
    d = decide(URL, EvidenceIndex([old, failed], {}).evidence_for(URL, now), ANY)
    assert d.verdict == "reserved" and d.reasons[0].signal == "robots" and "stale_evidence" in d.reasons[0].lint


@vector("TD01")
def _td01():
    d = decide(URL, Evidence(resource=(headers(tdm_reservation="1"),)), ANY)
    assert d.verdict == "reserved" and d.reasons[0].confidence == "high" and d.reasons[0].category == "tdm"


@vector("TD02")
def _td02():
    assert verdict(resource=(headers(tdm_reservation="0"),)) == "allowed"


@vector("TD03")
def _td03():
    d = decide(URL, Evidence(resource=(headers(tdm_reservation="true"),)), ANY)
    assert d.verdict == "allowed" and not reasons(d, "tdmrep")


@vector("TD04")
def _td04():
    d = decide(
        URL,
        Evidence(resource=(headers(tdm_reservation="1", tdm_policy="https://p.example/policy.json"),)),
        ANY,
    )
    assert d.verdict == "reserved" and "https://p.example/policy.json" in d.reasons[0].detail


@vector("TD05")
def _td05():
    f = parse_tdmrep(b'[{"location":"/","tdm-reservation":1},{"location":"/public/","tdm-reservation":0}]')
    rule, lint = f.lookup("https://e.example/public/a")
    assert rule.reservation == 1 and lint == ("tdmrep_shadowed_rule",)


@vector("TD06")
def _td06():
    f = parse_tdmrep(b'[{"location":"/public/","tdm-reservation":0},{"location":"/","tdm-reservation":1}]')
    assert f.lookup("https://e.example/public/a")[0].reservation == 0
    assert f.lookup("https://e.example/other")[0].reservation == 1


@vector("TD07")
def _td07():
    d = decide(
        URL,
        Evidence(
            tdmrep=art("tdmrep.json", '[{"location":"/","tdm-reservation":1}]'),
            resource=(headers(tdm_reservation="0"),),
        ),
        ANY,
    )
    tdm = reasons(d, "tdmrep")
    assert d.verdict == "allowed" and tdm[0].statement == "permitted" and "tdmrep_layers_disagree" in tdm[0].lint


@vector("TD08")
def _td08():
    d = decide(
        URL,
        Evidence(
            tdmrep=art("tdmrep.json", '[{"location":"/","tdm-reservation":1}]'),
            resource=(html('<head><meta name="tdm-reservation" content="0"></head>'),),
        ),
        ANY,
    )
    assert reasons(d, "tdmrep")[0].statement == "permitted" and d.verdict == "allowed"


@vector("TD09")
def _td09():
    d = decide(URL, Evidence(resource=(headers(tdm_reservation="1"), html("<head><title>x</title></head>"))), ANY)
    assert d.verdict == "reserved"


@vector("TD10")
def _td10():
    f = parse_tdmrep(b'{"location":"/","tdm-reservation":1}')
    assert f.rules == () and f.lint == ("tdmrep_not_array",)


@vector("TD11")
def _td11():
    f = parse_tdmrep(b'[{"location":"/directory-b/images/*.jpg","tdm-reservation":0}]')
    assert f.lookup("https://e.example/directory-b/images/a.jpg")[0].reservation == 0
    assert f.lookup("https://e.example/directory-b/images/a.png")[0] is None


@vector("TD12")
def _td12():
    lines = json.dumps([["tdm-reservation", "1"], ["tdm-reservation", "0"]])
    ev = Evidence(resource=(art("headers", lines, url=URL),))
    d = decide(URL, ev, ANY)
    assert d.verdict == "reserved" and "tdmrep_header_conflict" in d.lint
    strict = Policy("strict", ("*",), conservative=False)
    assert not reasons(decide(URL, ev, strict), "tdmrep")


@vector("TD13")
def _td13():
    assert verdict(tdmrep=art("tdmrep.json", "", 503)) == "unknown"


@vector("TD14")
def _td14():
    pdf = tdmrep_package_signal(
        '<rdf:Description xmlns:tdm="http://www.w3.org/ns/tdmrep/">'
        "<tdm:reservation>1</tdm:reservation></rdf:Description>"
    )
    d = decide(URL, Evidence(resource=(headers(tdm_reservation="0"),), asset=(pdf,)), ANY)
    assert d.verdict == "reserved" and reasons(d, "tdmrep")[0].scope == "asset"


@vector("NA01")
def _na01():
    assert verdict(resource=(headers(x_robots_tag="noai"),)) == "reserved"


@vector("NA02")
def _na02():
    assert verdict(resource=(headers(x_robots_tag="NoAI"),)) == "reserved"


@vector("NA03")
def _na03():
    ev = dict(resource=(headers(x_robots_tag="otherbot: noindex, noai"),))
    assert verdict(policy=agent("mybot"), **ev) == "allowed"
    assert verdict(policy=agent("otherbot"), **ev) == "reserved"


@vector("NA04")
def _na04():
    ev = dict(resource=(headers(x_robots_tag="other, spawningbot: noai"),))
    assert verdict(policy=agent("spawningbot"), **ev) == "reserved"
    assert verdict(policy=agent("mybot"), **ev) == "allowed"


@vector("NA05")
def _na05():
    assert verdict(resource=(headers(x_robots_tag="unavailable_after: 25 Jun 2010 15:00:00 PST, noai"),)) == "reserved"


@vector("NA06")
def _na06():
    lines = json.dumps([["x-robots-tag", "googlebot: noindex"], ["x-robots-tag", "noai"]])
    assert verdict(resource=(art("headers", lines, url=URL),), policy=agent("mybot")) == "reserved"


@vector("NA07")
def _na07():
    assert verdict(resource=(html('<head><meta name="robots" content="noindex, NOAI"></head>'),)) == "reserved"


@vector("NA08")
def _na08():
    ev = dict(resource=(html('<head><meta name="robots" content="noimageai"></head>'),))
    assert verdict(modality="text", **ev) == "allowed"
    assert verdict(modality="image", **ev) == "reserved"


@vector("NA09")
def _na09():
    ev = Evidence(resource=(html('<head><meta name="CCBot" content="noai"></head>'),))
    d = decide(URL, ev, agent("CCBot"))
    assert d.verdict == "reserved" and d.reasons[0].confidence == "low"
    assert decide(URL, ev, agent("GPTBot")).verdict == "allowed"


@vector("NA10")
def _na10():
    ev = dict(resource=(headers(x_robots_tag="noarchive"),))
    assert verdict(policy=agent("bingbot"), **ev) == "reserved"
    assert verdict(policy=agent("GPTBot"), **ev) == "allowed"


@vector("NA11")
def _na11():
    sigs = from_response(URL, 200, {"x-robots-tag": "noai"}, b"")
    assert [s.statement for s in sigs] == ["reserved"]


SPAWNING_ALL = (
    "# Spawning AI\nUser-Agent: *\n"
    + "".join(f"Disallow: *.{e}\n" for e in ("txt", "pdf", "jpg", "html"))
    + "Disallow: /\nDisallow: *\n"
)


@vector("AT01")
def _at01():
    d = decide(URL, Evidence(ai_txt=art("ai.txt", SPAWNING_ALL)), ANY)
    assert d.verdict == "reserved" and d.reasons[0].category == "train-any" and d.reasons[0].confidence == "low"


@vector("AT02")
def _at02():
    ev = dict(ai_txt=art("ai.txt", "User-Agent: *\nDisallow: *.jpg\n"))
    assert verdict(url="https://e.example/img/a.jpg", **ev) == "reserved"
    assert verdict(url="https://e.example/index.html", **ev) == "allowed"
    assert verdict(url="https://e.example/img/A.JPG", **ev) == "allowed"


@vector("AT03")
def _at03():
    d = decide(URL, Evidence(ai_txt=art("ai.txt", "<!doctype html><html>hi</html>")), ANY)
    assert d.verdict == "unknown" and "ai_txt_not_spawning" in d.lint


@vector("CU01")
def _cu01():
    d = decide(URL, Evidence(resource=(headers(content_usage="train-ai=n"),)), ANY)
    assert d.verdict == "reserved" and d.reasons[0].confidence == "high"


@vector("CU02")
def _cu02():
    d = decide(URL, Evidence(resource=(headers(content_usage="train-ai=y, search=n"),)), ANY)
    assert d.verdict == "allowed" and reasons(d, "content_usage_header")[0].statement == "permitted"


@vector("CU03")
def _cu03():
    d = decide(URL, Evidence(resource=(headers(content_usage="Train-AI=n"),)), ANY)
    assert d.verdict == "allowed" and "aipref_parse_error" in reasons(d, "content_usage_header")[0].lint


@vector("CU04")
def _cu04():
    assert verdict(resource=(headers(content_usage="train-ai=n, train-ai=y"),)) == "allowed"


@vector("CU05")
def _cu05():
    d = decide(URL, Evidence(resource=(headers(content_usage='train-ai="n"'),)), ANY)
    assert d.verdict == "allowed" and not reasons(d, "content_usage_header")


@vector("CU06")
def _cu06():
    d = decide(URL, Evidence(resource=(headers(content_usage="train-ai=n;exceptions=cc-cr"),)), ANY)
    assert d.verdict == "reserved" and "exceptions=cc-cr" in d.reasons[0].detail


@vector("CU07")
def _cu07():
    ev = Evidence(resource=(headers(content_usage="train-genai=n"),))
    d = decide(URL, ev, ANY)
    assert d.verdict == "reserved" and d.reasons[0].confidence == "low" and "aipref_legacy_label" in d.reasons[0].lint
    assert decide(URL, ev, Policy("strict", ("*",), conservative=False)).verdict == "allowed"


@vector("CU08")
def _cu08():
    ev = dict(robots=robots(CU_EXAMPLE))
    assert verdict(url="https://e.example/test", policy=agent("OtherBot"), **ev) == "reserved"
    assert verdict(url="https://e.example/ai-ok/test", policy=agent("OtherBot"), **ev) == "allowed"
    d = decide("https://e.example/never/test", Evidence(**ev), agent("OtherBot"))
    assert d.verdict == "reserved" and d.reasons[0].signal == "robots"


@vector("CU09")
def _cu09():
    assert verdict(url="https://e.example/test", policy=agent("ExampleBot"), robots=robots(CU_EXAMPLE)) == "allowed"


@vector("CU10")
def _cu10():
    text = "User-agent: *\nContent-Usage: /a/ train-ai=y\nContent-Usage: /a/ train-ai=n\n"
    assert verdict(url="https://e.example/a/x", robots=robots(text)) == "reserved"


@vector("CU11")
def _cu11():
    assert (
        verdict(
            robots=robots("User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n"),
            resource=(headers(content_usage="train-ai=y"),),
        )
        == "reserved"
    )


@vector("CS01")
def _cs01():
    d = decide(URL, Evidence(robots=robots(CF_MANAGED)), agent("ExampleAIBot"))
    assert d.verdict == "reserved" and d.reasons[0].signal == "content_signal"


@vector("CS02")
def _cs02():
    d = decide(URL, Evidence(robots=robots(CF_MANAGED)), agent("GPTBot"))
    assert d.verdict == "reserved" and d.reasons[0].signal == "robots"


@vector("CS03")
def _cs03():
    assert verdict(robots=robots("User-Agent: *\nContent-Signal: search=yes\nAllow: /\n")) == "allowed"


@vector("CS04")
def _cs04():
    d = decide(
        URL,
        Evidence(robots=robots("User-Agent: *\nContent-Signal: ai-train=yes, search=yes, ai-input=yes\nAllow: /\n")),
        ANY,
    )
    assert d.verdict == "allowed" and reasons(d, "content_signal")[0].statement == "permitted"


@vector("CS05")
def _cs05():
    text = "User-agent: SomeBot\nContent-Signal: ai-train=no\nAllow: /\n\nUser-agent: *\nAllow: /\n"
    assert verdict(robots=robots(text), policy=agent("OtherBot")) == "allowed"


@vector("CS06")
def _cs06():
    d = decide(
        URL,
        Evidence(robots=robots("User-agent: *\nContent-Signal: search=yes,ai-train=no,use=reference\n")),
        ANY,
    )
    assert d.verdict == "reserved" and "use=reference" in d.reasons[0].detail


@vector("CS07")
def _cs07():
    d = decide(URL, Evidence(robots=robots("User-agent: *\nContent-Signal: AI-Train=NO\n")), ANY)
    assert d.verdict == "reserved" and "content_signal_case" in d.reasons[0].lint


@vector("RS01")
def _rs01():
    d = decide(URL, Evidence(**rsl('<prohibits type="usage">ai-train</prohibits>')), ANY)
    assert d.verdict == "reserved" and d.reasons[0].signal == "rsl" and d.reasons[0].confidence == "medium"


@vector("RS02")
def _rs02():
    d = decide(URL, Evidence(**rsl('<permits type="usage">search</permits>')), ANY)
    assert d.verdict == "allowed" and "rsl_training_not_granted" in reasons(d, "rsl")[0].lint


@vector("RS03")
def _rs03():
    d = decide(
        URL,
        Evidence(
            **rsl(
                '<permits type="usage">ai-train</permits><payment type="crawl">'
                '<amount currency="USD">0.01</amount></payment>'
            )
        ),
        ANY,
    )
    assert d.verdict == "reserved" and d.reasons[0].statement == "conditional" and "0.01 USD" in d.reasons[0].detail


@vector("RS04")
def _rs04():
    assert verdict(**rsl('<prohibits type="usage">ai-all</prohibits>')) == "reserved"


@vector("RS05")
def _rs05():
    ev = rsl('<prohibits type="usage">ai-train</prohibits>', url="/premium/*")
    assert verdict(url="https://e.example/free/a", **ev) == "allowed"
    assert verdict(url="https://e.example/premium/x", **ev) == "reserved"


@vector("RS06")
def _rs06():
    d = decide(URL, Evidence(**rsl('<permits type="usage">all</permits>', server="https://rsl.example/olp")), ANY)
    assert d.verdict == "reserved" and d.reasons[0].statement == "conditional"


@vector("RS07")
def _rs07():
    sigs = from_response(
        URL, 200, {"link": '<https://e.example/license.xml>; rel="license"; type="application/rsl+xml"'}, b""
    )
    assert [(s.signal, s.scope_value) for s in sigs] == [("rsl", "https://e.example/license.xml")]


def _c2pa(label: str, entries: dict, *, tamper: bool = False, trusted: bool = True) -> list:
    """The signals of a PNG really signed by the C2PA SDK, read back and validated offline."""
    from scanner.signals.c2pa import asset_signals
    from tests._c2pa import credentials, signed_png

    anchors = credentials()[2] if trusted else None
    return asset_signals(signed_png(label, {"entries": entries}, tamper=tamper), "image/png", trust_anchors=anchors)


def _rows(sigs) -> list[tuple]:
    return [(s.detail.split(":")[0], s.category, s.statement, s.confidence) for s in sigs]


@vector("CP01")
def _cp01():
    sigs = _c2pa("cawg.training-mining", {"cawg.ai_generative_training": {"use": "notAllowed"}})
    assert _rows(sigs) == [("cawg.ai_generative_training", "train-ai", "reserved", "high")]
    assert decide(URL, Evidence(asset=tuple(sigs)), ANY).verdict == "reserved"
    untrusted = _c2pa("cawg.training-mining", {"cawg.ai_generative_training": {"use": "notAllowed"}}, trusted=False)
    assert untrusted[0].confidence == "medium" and "c2pa_untrusted_credential" in untrusted[0].lint


@vector("CP02")
def _cp02():
    sigs = _c2pa("c2pa.training-mining", {"c2pa.ai_training": {"use": "constrained", "constraint_info": "ask us"}})
    assert _rows(sigs) == [("c2pa.ai_training", "train-any", "reserved", "high")]
    assert sigs[0].detail == "c2pa.ai_training: constrained (ask us)"
    assert decide(URL, Evidence(asset=tuple(sigs)), ANY).verdict == "reserved"


_ALL_ALLOWED = {
    f"cawg.{k}": {"use": "allowed"} for k in ("data_mining", "ai_inference", "ai_training", "ai_generative_training")
}


@vector("CP03")
def _cp03():
    sigs = _c2pa("cawg.training-mining", _ALL_ALLOWED)
    assert sorted((s.category, s.statement) for s in sigs) == [
        ("ai-input", "permitted"),
        ("tdm", "permitted"),
        ("train-ai", "permitted"),
        ("train-any", "permitted"),
    ]
    assert decide(URL, Evidence(asset=tuple(sigs)), ANY).verdict == "allowed"  # checked, nothing reserved


@vector("CP04")
def _cp04():
    sigs = _c2pa("cawg.training-mining", _ALL_ALLOWED, tamper=True)
    assert {s.statement for s in sigs} == {"none"} and len(sigs) == 4
    assert all({"c2pa_invalid_manifest", "c2pa_unvalidated_permission"} <= set(s.lint) for s in sigs)
    reserved = _c2pa("cawg.training-mining", {"cawg.ai_training": {"use": "notAllowed"}}, tamper=True)
    assert _rows(reserved) == [("cawg.ai_training", "train-any", "reserved", "low")]  # kept, trusted less


@vector("CP05")
def _cp05():
    sigs = _c2pa("cawg.training-mining", {"cawg.data_mining": {"use": "notAllowed"}})
    assert _rows(sigs) == [("cawg.data_mining", "tdm", "reserved", "high")]
    assert sigs[0].covers("train-ai")
    assert decide(URL, Evidence(asset=tuple(sigs)), ANY).verdict == "reserved"


@vector("IP01")
def _ip01():
    sig = iptc_signal("http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING")
    assert (sig.category, sig.statement) == ("train-any", "reserved")


@vector("IP02")
def _ip02():
    sig = iptc_signal("DMI-PROHIBITED-GENAIMLTRAINING")
    assert sig.covers("train-ai") and not sig.covers("train-any")
    assert decide(URL, Evidence(asset=(sig,)), ANY).verdict == "reserved"


@vector("IP03")
def _ip03():
    assert iptc_signal("DMI-UNSPECIFIED") is None


@vector("IP04")
def _ip04():
    assert iptc_signal("DMI-ALLOWED").statement == "permitted"


@vector("IP05")
def _ip05():
    assert iptc_signal("DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING").statement == "reserved"


@vector("LI01")
def _li01():
    d = decide(
        URL,
        Evidence(
            resource=(
                html('<body><a rel="license" href="https://creativecommons.org/licenses/by-nc-nd/4.0/">cc</a></body>'),
            )
        ),
        ANY,
    )
    assert d.verdict == "allowed" and [s.detail for s in d.licences] == ["CC-BY-NC-ND-4.0"]


@vector("LI02")
def _li02():
    facts = read_html(b'<head><link rel="license" type="application/rsl+xml" href="/license.xml"></head>')
    assert facts.rsl_links == ["/license.xml"] and facts.licences == []


@vector("LI03")
def _li03():
    # llms.txt is not evidence the decision model reads: nothing changes
    assert verdict(robots=robots("User-agent: *\nAllow: /\n")) == "allowed"


@vector("XS01")
def _xs01():
    assert (
        verdict(
            robots=robots("User-agent: *\nAllow: /\n"),
            resource=(headers(tdm_reservation="1"),),
            policy=agent("GPTBot"),
        )
        == "reserved"
    )


@vector("XS02")
def _xs02():
    assert (
        verdict(resource=(headers(tdm_reservation="0"), html('<head><meta name="robots" content="noai"></head>')))
        == "reserved"
    )


@vector("XS03")
def _xs03():
    d = decide(URL, Evidence(robots=robots("User-agent: *\nAllow: /\n")), ANY)
    assert d.verdict == "allowed" and d.checked == ("robots",)


@vector("XS04")
def _xs04():
    assert verdict() == "unknown"


@vector("XS05")
def _xs05():
    ev = Evidence(robots=robots("User-agent: CCBot\nDisallow: /\n", when=T0), reference_time=T0 + timedelta(days=3))
    d = decide(URL, ev, make_policy("any-ai-trainer"))
    assert d.verdict == "reserved" and d.reasons[0].confidence == "medium" and "stale_evidence" in d.reasons[0].lint


def _other_ids() -> list[str]:
    return [v["id"] for v in json.loads((DATA / "spec/opt-out-vectors.json").read_text())["other"]]


@pytest.mark.parametrize("vid", _other_ids())
def test_spec_other_vector(vid: str) -> None:
    OTHER[vid]()


def test_every_other_vector_has_a_test() -> None:
    assert set(_other_ids()) == set(OTHER)
    assert len(OTHER) == 81
