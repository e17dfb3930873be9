"""Reservations embedded in the asset itself: IPTC / PLUS `plus:DataMining` values and TDMRep in
EPUB OPF or PDF XMP metadata (spec §6.5, §14)."""

from __future__ import annotations

import re

from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement

# -- IPTC / PLUS Data Mining ----------------------------------------------------------------------
_DMI = {
    "DMI-UNSPECIFIED": None,
    "DMI-ALLOWED": (Category.TDM, Statement.PERMITTED),
    "DMI-PROHIBITED-AIMLTRAINING": (Category.TRAIN_ANY, Statement.RESERVED),
    "DMI-PROHIBITED-GENAIMLTRAINING": (Category.TRAIN_AI, Statement.RESERVED),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": (Category.TDM, Statement.RESERVED),
    "DMI-PROHIBITED": (Category.TDM, Statement.RESERVED),
    "DMI-PROHIBITED-SEECONSTRAINT": (Category.TDM, Statement.RESERVED),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": (Category.TDM, Statement.RESERVED),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": (Category.TDM, Statement.RESERVED),
}


def iptc_signal(value: str, locator: str = "XMP plus:DataMining") -> Signal | None:
    """A `plus:DataMining` value, as a full vocabulary URI or a bare code (spec §14)."""
    code = value.strip().rsplit("/", 1)[-1].upper()
    lint: tuple[str, ...] = ()
    if code in _DMI:
        mapped = _DMI[code]
    elif code.startswith("DMI-PROHIBITED"):
        mapped, lint = (Category.TDM, Statement.RESERVED), ("iptc_unknown_value",)
    else:
        return None
    if mapped is None:
        return None
    category, statement = mapped
    return Signal(
        signal=SignalKind.IPTC_DMI,
        category=category,
        statement=statement,
        agents=("*",),
        scope="asset",
        locator=locator,
        confidence=Confidence.MEDIUM,
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
        signal=SignalKind.TDMREP,
        category=Category.TDM,
        statement=Statement.RESERVED if value == "1" else Statement.PERMITTED,
        agents=("*",),
        scope="asset",
        locator=locator,
        confidence=Confidence.HIGH,
        detail=f"tdm:reservation {value}" + (f"; tdm:policy {policy}" if policy else ""),
    )
