"""Reservations embedded in the asset itself: IPTC / PLUS `plus:DataMining` values and TDMRep in
EPUB OPF or PDF XMP metadata (spec §6.5, §14)."""

from __future__ import annotations

import re

from scanner.signals.model import Signal

# -- IPTC / PLUS Data Mining ----------------------------------------------------------------------
_DMI = {
    "DMI-UNSPECIFIED": None,
    "DMI-ALLOWED": ("tdm", "permitted"),
    "DMI-PROHIBITED-AIMLTRAINING": ("train-any", "reserved"),
    "DMI-PROHIBITED-GENAIMLTRAINING": ("train-ai", "reserved"),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": ("tdm", "reserved"),
    "DMI-PROHIBITED": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEECONSTRAINT": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": ("tdm", "reserved"),
}


def iptc_signal(value: str, locator: str = "XMP plus:DataMining") -> Signal | None:
    """A `plus:DataMining` value, as a full vocabulary URI or a bare code (spec §14)."""
    code = value.strip().rsplit("/", 1)[-1].upper()
    lint: tuple[str, ...] = ()
    if code in _DMI:
        mapped = _DMI[code]
    elif code.startswith("DMI-PROHIBITED"):
        mapped, lint = ("tdm", "reserved"), ("iptc_unknown_value",)
    else:
        return None
    if mapped is None:
        return None
    category, statement = mapped
    return Signal(
        signal="iptc_dmi",
        category=category,
        statement=statement,
        agents=("*",),
        scope="asset",
        locator=locator,
        confidence="medium",
        lint=lint,
        detail=code,
    )


# -- TDMRep in EPUB OPF and PDF XMP (spec §6.5) --------------------------------------------------
_PKG_RESERVATION = re.compile(
    r'name="tdm:reservation"\s+content="(\d)"|property="tdm:reservation"\s*>\s*(\d)\s*<'
    r"|<tdm:reservation>\s*(\d)\s*</tdm:reservation>"
)
_PKG_POLICY = re.compile(
    r'name="tdm:policy"\s+content="([^"]+)"|property="tdm:policy"\s*>\s*([^<\s]+)\s*<'
    r"|<tdm:policy>\s*([^<\s]+)\s*</tdm:policy>"
)


def tdmrep_package_signal(metadata: str, locator: str = "package metadata") -> Signal | None:
    """TDMRep from EPUB 2/3 OPF metadata or a PDF's XMP packet: the last layer, superseding all."""
    m = _PKG_RESERVATION.search(metadata)
    value = next((g for g in m.groups() if g), None) if m else None
    if value not in ("0", "1"):
        return None
    p = _PKG_POLICY.search(metadata)
    policy = next((g for g in p.groups() if g), "") if p else ""
    return Signal(
        signal="tdmrep",
        category="tdm",
        statement="reserved" if value == "1" else "permitted",
        agents=("*",),
        scope="asset",
        locator=locator,
        confidence="high",
        detail=f"tdm:reservation {value}" + (f"; tdm:policy {policy}" if policy else ""),
    )
