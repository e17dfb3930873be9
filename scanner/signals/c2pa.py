"""C2PA / CAWG training-and-data-mining assertions (spec §13): what a signed asset says about
its use for AI training, as `Signal` records for `Evidence.asset`.

`c2pa_signals` is pure: it reads the manifest store as C2PA readers print it (JSON) and keeps the
active manifest only (an ingredient's manifest is not a statement about this asset).
`asset_signals` gets that store from the asset's bytes with the official reader (`c2pa-python`,
an optional dependency: `pip install 'provenance-scanner[c2pa]'`), offline: no OCSP, no remote
manifests. Validation decides how far a statement is trusted: a manifest whose signature and
hard binding hold and whose certificate chains to a configured trust anchor is `high`; valid but
untrusted is `medium`; an invalid one keeps its reservations at `low` and its permissions are
ignored (an unvalidated "allowed" is no permission).
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement

# entry name (after the `cawg.` / legacy `c2pa.` namespace) -> the category it speaks about
_ENTRIES = {
    "ai_generative_training": Category.TRAIN_AI,
    "ai_training": Category.TRAIN_ANY,
    "data_mining": Category.TDM,
    "ai_inference": Category.AI_INPUT,
}
# "In the absence of additional information, `constrained` shall be treated as `notAllowed`."
_USES = {"notAllowed": Statement.RESERVED, "constrained": Statement.RESERVED, "allowed": Statement.PERMITTED}
_LABEL = re.compile(r"(cawg|c2pa)\.training-mining(\.v\d+)?")
_TRUST = {"Trusted": (Confidence.HIGH, ()), "Valid": (Confidence.MEDIUM, ("c2pa_untrusted_credential",))}


def c2pa_signals(store: dict[str, Any]) -> list[Signal]:
    """Every training-and-data-mining entry of the active manifest of a manifest store."""
    active = store.get("active_manifest")
    manifest = (store.get("manifests") or {}).get(active) if active else None
    if not isinstance(manifest, dict):
        return []
    state = store.get("validation_state") or ("Invalid" if store.get("validation_status") else "Valid")
    confidence, trust_lint = _TRUST.get(state, (Confidence.LOW, ("c2pa_invalid_manifest",)))
    out: list[Signal] = []
    for assertion in manifest.get("assertions") or ():
        label = assertion.get("label", "") if isinstance(assertion, dict) else ""
        if not _LABEL.fullmatch(label):
            continue
        data = assertion.get("data") or {}
        entries, lint = data.get("entries"), trust_lint
        if not isinstance(entries, dict):  # CAWG 1.0 "inadvertently omitted the entries map"
            entries = {k: v for k, v in data.items() if isinstance(v, dict)}
            lint = (*lint, "c2pa_no_entries_map")
        for key, entry in entries.items():
            category = _ENTRIES.get(key.split(".", 1)[-1])
            use = entry.get("use") if isinstance(entry, dict) else None
            if category is None or use not in _USES:
                continue  # a custom use case, or no `use` we can read
            statement, why = _USES[use], lint
            if statement == Statement.PERMITTED and state not in _TRUST:
                statement, why = Statement.NONE, (*lint, "c2pa_unvalidated_permission")
            info = entry.get("constraint_info") or entry.get("constraints_info")  # the spec text spells both
            out.append(
                Signal(
                    signal=SignalKind.C2PA,
                    category=category,
                    statement=statement,
                    agents=("*",),
                    scope="asset",
                    locator=f"{active}/{label}/entries/{key}",
                    confidence=confidence,
                    detail=f"{key}: {use}" + (f" ({info})" if info else ""),
                    lint=why,
                )
            )
    return out


def _sdk() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise RuntimeError("reading C2PA manifests needs c2pa-python: pip install 'provenance-scanner[c2pa]'") from exc
    return c2pa


def read_manifest_store(
    body: bytes, mime: str | None = None, *, trust_anchors: str | None = None
) -> dict[str, Any] | None:
    """The asset's manifest store as JSON (None when it carries none), validated offline against
    `trust_anchors` (PEM certificates; none: no credential is trusted)."""
    c2pa = _sdk()
    settings: dict[str, Any] = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    context = c2pa.Context(c2pa.Settings.from_json(json.dumps(settings)))
    try:
        with c2pa.Reader(mime or None, io.BytesIO(body), context=context) as reader:
            store: dict[str, Any] = json.loads(reader.json())
            return store
    except c2pa.C2paError.ManifestNotFound:
        return None


def asset_signals(body: bytes, mime: str | None = None, *, trust_anchors: str | None = None) -> list[Signal]:
    """`c2pa_signals` of an asset's bytes. An asset whose manifest cannot be read at all gives one
    `none` statement saying why, so the audit shows that a manifest was there."""
    try:
        store = read_manifest_store(body, mime, trust_anchors=trust_anchors)
    except _sdk().C2paError as exc:  # unsupported format, corrupt JUMBF, bad CBOR, ...
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return [Signal.noted(SignalKind.C2PA, "asset", "manifest store", detail, lint=("c2pa_unreadable",))]
    return c2pa_signals(store) if store else []
