"""California AB 2013 training-data documentation (Cal. Bus. & Prof. Code §22757.20(b)): a
high-level summary per declared dataset with the statute's 12 items, measured from the store where
it can be (data points, types, processing, collection period) and taken from the manifest's
`datasets[].ca` answers where only a person knows. Same tri-state answers and draft/final gate as
the EU summary."""

from __future__ import annotations

import html
import json
from datetime import datetime

from scanner.manifest import Manifest
from scanner.summary.build import Field
from scanner.summary.facts import Facts
from scanner.summary.gate import contradictions
from scanner.summary.render import TO_BE_PROVIDED

ITEMS = (
    "1. The sources or owners of the dataset",
    "2. How the dataset furthers the intended purpose of the artificial intelligence system or service",
    "3. The number of data points included in the dataset (general ranges)",
    "4. The types of data points within the dataset",
    "5. Whether the dataset includes data protected by copyright, trademark or patent, or is entirely in the "
    "public domain",
    "6. Whether the dataset was purchased or licensed by the developer",
    "7. Whether the dataset includes personal information (Cal. Civ. Code §1798.140(v))",
    "8. Whether the dataset includes aggregate consumer information (Cal. Civ. Code §1798.140(b))",
    "9. Whether there was cleaning, processing or other modification of the dataset, and its intended purpose",
    "10. The time period during which the data was collected, with notice if collection is ongoing",
    "11. The dates the dataset was first used during development",
    "12. Whether the system or service used or continuously uses synthetic data generation",
)
_RANGES = ((1_000, "fewer than 1,000"), (100_000, "1,000 to 100,000"), (10_000_000, "100,000 to 10 million"))


def data_point_range(n: int) -> str:
    for upper, label in _RANGES:
        if n < upper:
            return label
    return "more than 10 million"


def _answer(ca: dict, key: str, idx: int, tri: bool = False) -> Field:
    value = ca.get(key)
    if tri:
        value = value or "to be provided"
        note = None if value != "to be provided" else f"to be confirmed: datasets[].ca.{key} in the manifest"
        return Field(f"ca.{idx}", ITEMS[idx - 1], value, "attestation", note)
    if value:
        return Field(f"ca.{idx}", ITEMS[idx - 1], value, "manifest")
    return Field(f"ca.{idx}", ITEMS[idx - 1], None, "missing", f"not provided: datasets[].ca.{key} in the manifest")


def _dataset_items(d, manifest: Manifest, facts: Facts) -> list[Field]:
    ca = d.ca or {}
    rows = [r for r in facts.rows if r["source_id"] == d.source_id]
    fetched = next((r for r in facts.fetch_ranges if r["source_id"] == d.source_id), None)
    docs_all = fetched["documents"] if fetched else 0
    used = sum(r["documents"] for r in rows)
    owners = d.url or d.licence
    if d.category == "2.3":
        owners = (
            f"Web pages crawled by {manifest.crawler.name if manifest.crawler else 'the developer'}; the site operators"
        )
    f1 = (
        Field("ca.1", ITEMS[0], owners, "manifest")
        if owners
        else Field("ca.1", ITEMS[0], None, "missing", "not provided: datasets[].url or licence in the manifest")
    )
    f3 = (
        Field("ca.3", ITEMS[2], f"{data_point_range(used)} documents", "store")
        if d.in_store and docs_all
        else Field("ca.3", ITEMS[2], ca["data_points"], "manifest")
        if ca.get("data_points")
        else Field("ca.3", ITEMS[2], None, "missing", "no documents in the store to count: datasets[].ca.data_points")
    )
    types = ", ".join(d.modalities)
    content = "; ".join(filter(None, (manifest.summary_text.get(f"{m}_content_types") for m in d.modalities)))
    f4 = Field("ca.4", ITEMS[3], f"{types}" + (f": {content}" if content else ""), "manifest")
    processing = (
        f"Of {docs_all:,} documents, {used:,} were kept after deduplication and after leaving out those whose "
        "rights holders reserved text and data mining in machine-readable form."
        if docs_all
        else None
    )
    purpose = ca.get("processing_purpose")
    f9 = (
        Field("ca.9", ITEMS[8], " ".join(x for x in (processing, purpose) if x), "draft" if processing else "manifest")
        if processing or purpose
        else Field("ca.9", ITEMS[8], None, "missing", "not provided: datasets[].ca.processing_purpose")
    )
    if fetched and fetched["first_fetched"]:
        period = f"{fetched['first_fetched']:%Y-%m-%d} to {fetched['last_fetched']:%Y-%m-%d} (fetch dates in the store)"
        src = "store"
    elif d.collected_from or d.collected_to:
        period = f"{d.collected_from or 'not known'} to {d.collected_to or 'not known'} (as declared)"
        src = "manifest"
    else:
        period, src = None, "missing"
    ongoing = ca.get("collection_ongoing", "to be provided")
    if period and ongoing == "yes":
        period += ". Notice: data collection is ongoing."
    elif period and ongoing == "no":
        period += ". Collection has ended."
    f10 = (
        Field(
            "ca.10", ITEMS[9], period, src, None if ongoing != "to be provided" else "datasets[].ca.collection_ongoing"
        )
        if period
        else Field("ca.10", ITEMS[9], None, "missing", "no fetch dates and no datasets[].collection_period")
    )
    return [
        f1,
        _answer(ca, "purpose", 2),
        f3,
        f4,
        _answer(ca, "intellectual_property", 5),
        _answer(ca, "purchased_or_licensed", 6, tri=True),
        _answer(ca, "personal_information", 7, tri=True),
        _answer(ca, "aggregate_consumer_information", 8, tri=True),
        f9,
        f10,
        _answer(ca, "first_used", 11),
        _answer(ca, "synthetic_data", 12, tri=True),
    ]


def build_ab2013(manifest: Manifest, facts: Facts, *, status: str, generated_at: datetime, generator: str) -> dict:
    datasets = []
    problems: list[str] = []
    for d in manifest.datasets:
        items = _dataset_items(d, manifest, facts)
        for f in items:
            if f.source == "missing":
                problems.append(f"{d.source_id} {f.id}: {f.note}")
            elif f.source == "attestation" and f.value == "to be provided":
                problems.append(f"{d.source_id} {f.id}: 'to be provided' ({f.note})")
            elif f.id == "ca.10" and f.note:
                problems.append(f"{d.source_id} ca.10: whether collection is ongoing is not stated ({f.note})")
        datasets.append({"name": d.source_id, "items": [f.as_dict() for f in items]})
    problems += contradictions(manifest, facts)
    return {
        "schema": "provenance-scanner/ca-ab2013/1",
        "template": "ca-ab2013",
        "template_name": "Training data documentation, California Business and Professions Code §22757.20 (AB 2013)",
        "status": status,
        "version": None,
        "developer": manifest.provider.name,
        "system": [f"{m.name} {m.version}" for m in manifest.models],
        "generated_at": generated_at.isoformat(),
        "generator": generator,
        "datasets": datasets,
        "problems": problems,
    }


def _value(f: dict) -> str:
    v = f["value"]
    if v is None or v == "to be provided":
        return TO_BE_PROVIDED
    return str(v).capitalize() if v in ("yes", "no") else str(v)


def to_json(doc: dict) -> str:
    out = dict(doc)
    if doc["status"] == "final":
        out["datasets"] = [
            {"name": d["name"], "items": [{k: f[k] for k in ("id", "label", "value")} for f in d["items"]]}
            for d in doc["datasets"]
        ]
    return json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n"


def to_markdown(doc: dict) -> str:
    draft = doc["status"] != "final"
    out = [f"# Training data documentation: {doc['developer']}, {', '.join(doc['system'])}", ""]
    if draft:
        out += ["**DRAFT: not for publication.**", ""]
    out += [f"*{doc['template_name']}.*", ""]
    for d in doc["datasets"]:
        out += [f"## Dataset {d['name']}", ""]
        for f in d["items"]:
            out += [f"**{f['label']}**", "", _value(f), ""]
            if draft:
                out += [f"<sub>{f['id']} · {f['source']}{' — ' + f['note'] if f.get('note') else ''}</sub>", ""]
    return "\n".join(out)


def to_html(doc: dict) -> str:
    from scanner.summary.render import _CSS

    e = html.escape
    draft = doc["status"] != "final"
    title = f"Training data documentation: {doc['developer']}, {', '.join(doc['system'])}"
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>',
        f"<style>{_CSS}</style></head><body>",
        '<div class="draft-mark">DRAFT</div><div class="draft-banner">DRAFT: not for publication.</div>'
        if draft
        else "",
        f'<h1>{e(title)}</h1><p class="meta">{e(doc["template_name"])}.</p>',
    ]
    for d in doc["datasets"]:
        parts.append(f"<section><h2>Dataset {e(d['name'])}</h2>")
        for f in d["items"]:
            v = _value(f)
            shown = f'<span class="tbp">{e(v)}</span>' if v == TO_BE_PROVIDED else e(v)
            tag = f'<div class="tag"><b>{e(f["id"])}</b> · {e(f["source"])}</div>' if draft else ""
            parts.append(
                f'<div class="field"><div class="label">{e(f["label"])}</div>'
                f'<div class="value">{shown}</div>{tag}</div>'
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
