"""What stops a summary from being published as final: a required field missing, an attestation
still `to be provided`, or a manifest that the store contradicts. Each problem is one line naming
the field or the manifest key, so the provider knows what to fix."""

from __future__ import annotations

from datetime import timedelta

from scanner.manifest import SOURCE_CATEGORIES, Manifest
from scanner.summary.facts import Facts

# Attestation -> the source category whose data would make a "no" false.
_ATTESTED_CATEGORY = {
    "public_datasets_used": "2.1",
    "commercial_licences": "2.2.1",
    "private_third_party_datasets": "2.2.2",
    "crawlers_used": "2.3",
    "synthetic_data": "2.5",
    "other_sources": "2.6",
}


def field_problems(doc: dict) -> list[str]:
    out = []
    for section in doc["sections"]:
        for f in section["fields"]:
            if f["source"] == "missing" and f.get("required", True):
                out.append(f"{f['id']}: required field missing ({f['note']})")
            elif f["source"] == "attestation" and f["value"] == "to be provided":
                out.append(f"{f['id']}: attestation is 'to be provided' ({f['note']})")
            elif isinstance(f["value"], list) and f["id"] == "1.3.a":
                for row in f["value"]:
                    if row["present"] and not row["types_of_content"]:
                        out.append(
                            f"1.3.c: types of content for {row['modality']} missing "
                            f"(summary.{row['modality'].lower()}_content_types)"
                        )
                    if row["present"] and (row["training_data_size"] or "").startswith("not measured"):
                        out.append(f"1.3.b: {row['modality']} size {row['training_data_size']}")
    return out


def contradictions(manifest: Manifest, facts: Facts) -> list[str]:
    """Where the manifest says one thing and the store shows another."""
    out = []
    docs_by_category: dict[str, int] = {}
    for r in facts.fetch_ranges:
        docs_by_category[r["category"]] = docs_by_category.get(r["category"], 0) + r["documents"]
    for key, category in _ATTESTED_CATEGORY.items():
        if manifest.attestations.get(key) != "no":
            continue
        declared = [d.name for d in manifest.datasets if d.category == category]
        if docs_by_category.get(category):
            out.append(
                f'attestations.{key} = "no" but the store holds {docs_by_category[category]} documents '
                f"from section {category} sources"
            )
        elif declared:
            out.append(
                f'attestations.{key} = "no" but the manifest declares {category} datasets: {", ".join(declared)}'
            )
    ranges = {r["source_id"]: r for r in facts.fetch_ranges}
    for i, d in enumerate(manifest.datasets):
        found = ranges.get(d.source_id)
        if d.in_store and (found is None or not found["documents"]):
            out.append(
                f"datasets[{i}] {d.source_id}: declared but no documents in the store "
                "(ingest it, or set in_store = false for data that is declared only)"
            )
            continue
        if found is None or not found["first_fetched"]:
            continue
        first, last = found["first_fetched"].date(), found["last_fetched"].date()
        start, end = d.collected_from, d.collected_to
        if (start and first < start) or (end and last > end + timedelta(days=1)):
            out.append(
                f"datasets[{i}].collection_period {start or '…'} to {end or '…'} disagrees with the fetch dates "
                f"in the store ({first} to {last})"
            )
    undeclared = sum(r["documents"] for r in facts.rows if r["category"] not in SOURCE_CATEGORIES)
    if undeclared:
        out.append(f"{undeclared} documents come from sources no manifest declares: declare them")
    return out


def final_problems(doc: dict, manifest: Manifest, facts: Facts) -> list[str]:
    return field_problems(doc) + contradictions(manifest, facts)
