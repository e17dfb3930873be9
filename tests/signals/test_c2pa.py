"""C2PA assets the spec vectors do not cover: no manifest, a cut-short manifest store, and a
manifest whose ingredients must not speak for the asset (signed by the real C2PA SDK)."""

from __future__ import annotations

from scanner.signals.c2pa import asset_signals, c2pa_signals
from tests._c2pa import png, signed_png


def test_c2pa_assets_without_or_with_unreadable_manifests() -> None:
    assert asset_signals(png(), "image/png") == []
    signed = signed_png("cawg.training-mining", {"entries": {"cawg.ai_training": {"use": "notAllowed"}}})
    cut = signed[: len(signed) // 2]  # the manifest store is cut short
    (sig,) = asset_signals(cut, "image/png")
    assert (sig.statement, sig.lint) == ("none", ("c2pa_unreadable",)) and sig.detail
    # only the active manifest speaks for the asset; CAWG 1.0 flat entries are read, with lint
    store = {
        "active_manifest": "urn:a",
        "validation_state": "Valid",
        "manifests": {
            "urn:a": {
                "assertions": [{"label": "cawg.training-mining", "data": {"cawg.ai_training": {"use": "notAllowed"}}}]
            },
            "urn:ingredient": {
                "assertions": [
                    {"label": "cawg.training-mining", "data": {"entries": {"cawg.data_mining": {"use": "allowed"}}}}
                ]
            },
        },
    }
    (flat,) = c2pa_signals(store)
    assert (flat.category, flat.statement, flat.confidence) == ("train-any", "reserved", "medium")
    assert "c2pa_no_entries_map" in flat.lint
