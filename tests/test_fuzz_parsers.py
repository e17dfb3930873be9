"""Bounded fuzzing of every signal parser (issue 17), a few seconds each in CI: random bytes and
inputs shaped like the real format. Each target (tests/_fuzz.py) asserts the parser never raises
and that its work is bounded by structure. `bench/fuzz.py` runs the same targets for minutes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._fuzz import TARGETS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_WILD = st.text(alphabet="/*$%?=.ab1~é\x00", max_size=24)
_ROBOTS_LINE = st.tuples(
    st.sampled_from(
        [
            "User-agent",
            "Disallow",
            "Allow",
            "Content-Usage",
            "Content-Signal",
            "Sitemap",
            "Crawl-delay",
            "useragent",
            "#",
        ]
    ),
    st.sampled_from([":", " ", ": ", "::"]),
    st.one_of(_WILD, st.sampled_from(["*", "GPTBot", "CCBot/1.0", "/", "train-ai=n", "ai-train=no"])),
).map("".join)
ROBOTS = st.lists(_ROBOTS_LINE, max_size=60).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | _WILD,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=14), inner, max_size=5),
    max_leaves=30,
).map(lambda o: json.dumps(o).encode())
TDMREP = st.lists(
    st.fixed_dictionaries(
        {"location": _WILD.map(lambda s: "/" + s)},
        optional={"tdm-reservation": st.sampled_from([0, 1, "1", 2, None, True]), "tdm-policy": st.text(max_size=8)},
    ),
    max_size=40,
).map(lambda o: json.dumps(o).encode())
_TAGS = ["rsl", "content", "license", "permits", "prohibits", "payment", "amount", "meta", "head", "html", "body"]


@st.composite
def _markup(draw, root: str) -> bytes:
    out, depth = [f'<{root} xmlns="https://rslstandard.org/rsl">'], []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(st.sampled_from(_TAGS))
        if depth and draw(st.booleans()):
            out.append(f"</{depth.pop()}>")
        elif draw(st.booleans()):
            attrs = draw(
                st.sampled_from(
                    [
                        "",
                        ' url="/a/*"',
                        ' type="geo"',
                        ' name="robots" content="noai"',
                        ' name="tdm-reservation" content="1"',
                        ' rel="license" href="x"',
                    ]
                )
            )
            out.append(f"<{tag}{attrs}>")
            depth.append(tag)
        else:
            out.append(draw(st.sampled_from(["ai-train", "all, search", "10", "noai", "&amp;", "<!--x-->"])))
    out += [f"</{t}>" for t in reversed(depth)] + [f"</{root}>"]
    return "".join(out).encode()


HEADERS = st.one_of(
    JSON,
    st.dictionaries(
        st.sampled_from(["X-Robots-Tag", "TDM-Reservation", "TDM-Policy", "Content-Usage", "Content-Signal", "Link"]),
        st.one_of(_WILD, st.sampled_from(["noai", "GPTBot: noai, noimageai", "1", "train-ai=n", '<x>; rel="license"'])),
        max_size=6,
    ).map(lambda d: json.dumps(d).encode()),
)


# One strategy per parser: random bytes of the size the format meets, or input shaped like it.
SHAPED = {
    "robots": st.one_of(st.binary(max_size=2048), ROBOTS),
    "ai.txt": st.one_of(st.binary(max_size=1024), ROBOTS),
    "tdmrep": st.one_of(st.binary(max_size=1024), JSON, TDMREP),
    "rsl": st.one_of(st.binary(max_size=1024), _markup("rsl")),
    "headers": st.one_of(st.binary(max_size=1024), HEADERS),
    "html": st.one_of(st.binary(max_size=2048), _markup("html")),
    "iptc-epub-pdf": st.one_of(st.binary(max_size=1024), _markup("x:xmpmeta"), st.text(max_size=200).map(str.encode)),
}


@FUZZ
@pytest.mark.parametrize("name", list(SHAPED))
@given(data=st.data())
def test_fuzz_parser(name: str, data: st.DataObject) -> None:
    TARGETS[name].run(data.draw(SHAPED[name], label=name))


def test_every_parser_has_a_fuzz_test() -> None:
    assert set(SHAPED) <= set(TARGETS)
