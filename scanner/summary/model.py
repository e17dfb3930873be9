"""The public summary of training content (AI Act Art. 53(1)(d), Commission template) built from
the store and the manifest, section by section with the official labels.

Every field says where its value came from: `store` (computed from evidence), `manifest` (written
by a person), `attestation` (yes / no / to be provided: never inferred from scan data),
`draft` (generated prose for a person to edit) or `missing` (with the reason: never left blank).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scanner.decide import POLICY_VERSION
from scanner.manifest import SOURCE_CATEGORIES, Manifest
from scanner.store import Store, reports
from scanner.summary.algorithms import SIZE_BANDS, large_datasets, size_band, top_domains
from scanner.version import __version__

MODALITY_LABELS = {"text": "Text", "image": "Image", "audio": "Audio", "video": "Video", "other": "Other"}
TOKENIZER = "whitespace tokens of the extracted text (str.split), counted after pre-processing"


def F(fid: str, label: str, value: Any, source: str, note: str | None = None) -> dict:
    return {"id": fid, "label": label, "value": value, "source": source, "note": note}


def _missing(fid: str, label: str, why: str) -> dict:
    return F(fid, label, None, "missing", why)


def _attest(manifest: Manifest, key: str, fid: str, label: str) -> dict:
    value = manifest.attestations.get(key, "to be provided")
    return F(
        fid,
        label,
        value,
        "attestation",
        None if value != "to be provided" else f"to be confirmed by the provider (manifest attestations.{key})",
    )


def _text(manifest: Manifest, key: str, fid: str, label: str, optional: bool = False) -> dict:
    value = manifest.summary_text.get(key)
    if value:
        return F(fid, label, value, "manifest")
    if optional:
        return F(fid, label, None, "missing", f"optional; add summary.{key} to the manifest to fill it")
    return _missing(fid, label, f"not provided: add summary.{key} to the manifest")


def _month(dt: datetime | None) -> str | None:
    return dt.strftime("%m/%Y") if dt else None


def _modalities_of(rows: list[dict], categories: set[str]) -> list[str]:
    return sorted({MODALITY_LABELS.get(r["modality"], "Other") for r in rows if r["category"] in categories})


def build_summary(
    store: Store,
    manifest: Manifest,
    *,
    policy: str = "any-ai-trainer",
    exclude_reserved: bool = True,
    cluster_reserved: bool = False,
    version: int = 1,
    previous: list[dict] | None = None,
    generated_at: datetime | None = None,
) -> dict:
    """`cluster_reserved`: a duplicate cluster with a reserved member is left out whole."""
    generated_at = generated_at or datetime.now(UTC)
    exclude = "cluster" if exclude_reserved and cluster_reserved else exclude_reserved
    rows = reports.sizes_by_source(store, policy, exclude)
    excl = reports.exclusions(store, policy)
    decided = bool(excl["verdicts"])
    basis = (
        f"documents not reserved under policy {policy} v{excl['policy_version'] or POLICY_VERSION}"
        + (
            "; no copy of a reserved document either (whole duplicate clusters left out)"
            if exclude == "cluster"
            else ""
        )
        if decided and exclude_reserved
        else "all ingested documents (no decisions excluded)"
    )
    dups = reports.duplicate_stats(store)
    sections = [
        _header(manifest, version, previous or [], generated_at),
        _general(store, manifest, rows, policy, exclude, basis, dups),
        *_sources(store, manifest, rows, policy, exclude),
        *_processing(manifest, excl, policy, decided, dups),
    ]
    return {
        "schema": "provenance-scanner/eu-training-summary/1",
        "template": "Template for the public summary of training content for general-purpose AI models "
        "(European Commission, July 2025)",
        "version": version,
        "generated_at": generated_at.isoformat(),
        "generator": f"provenance-scanner {__version__}",
        "measurement_basis": basis,
        "sections": sections,
    }


def _header(manifest: Manifest, version: int, previous: list[dict], when: datetime) -> dict:
    prev = ", ".join(f"v{p['version']} ({p['generated_at'][:10]})" for p in previous) or "none (first version)"
    return {
        "id": "0",
        "title": "Header",
        "fields": [
            F("0.a", "Version of the Summary:", f"{version}; previous versions: {prev}", "store"),
            F("0.b", "Last update:", when.strftime("%d/%m/%Y"), "store"),
        ],
    }


def _general(store, manifest: Manifest, rows, policy, exclude, basis, dups) -> dict:
    p = manifest.provider
    models = [f"{m.name} {m.version}" for m in manifest.models]
    deps = [
        f"{m.base_model}" + (f" (summary: {m.base_model_summary_url})" if m.base_model_summary_url else "")
        for m in manifest.models
        if m.base_model
    ]
    dates = [
        f"{m.name} {m.version}: {m.eu_market_date.strftime('%d/%m/%Y')}" for m in manifest.models if m.eu_market_date
    ]
    by_modality: dict[str, dict[str, int]] = {}
    for r in rows:
        agg = by_modality.setdefault(r["modality"], {"tokens": 0, "documents": 0, "raw_bytes": 0})
        for k in agg:
            agg[k] += r[k]
    table = []
    for modality, agg in sorted(by_modality.items()):
        amount = agg["tokens"] if modality == "text" else agg["documents"]
        unit = SIZE_BANDS.get(modality, ("items",))[0]
        table.append(
            {
                "modality": MODALITY_LABELS.get(modality, "Other"),
                "training_data_size": size_band(modality, amount) or f"approximately {amount} {unit}",
                "measured": f"{amount:,} {unit}",
                "types_of_content": manifest.summary_text.get(f"{modality}_content_types"),
            }
        )
    latest = max((r["last_fetched"] for r in rows if r["last_fetched"]), default=None)
    langs = reports.languages(store)
    tlds = reports.tld_shares(store, policy, exclude)
    dedup = (
        "not run: sizes are before deduplication"
        if not dups["clusters"]
        else f"{dups['duplicates']} near-duplicates in {dups['clusters']} clusters"
    )
    return {
        "id": "1",
        "title": "1. General information",
        "fields": [
            F("1.1.a", "Provider name and contact details:", f"{p.name}; {p.contact}", "manifest"),
            F(
                "1.1.b",
                "Authorised representative name and contact details:",
                p.authorised_representative or "Not applicable",
                "manifest",
            ),
            F("1.2.a", "Versioned model name(s):", models, "manifest")
            if models
            else _missing("1.2.a", "Versioned model name(s):", "no [[models]] in the manifest"),
            F("1.2.b", "Model dependencies:", deps or "Not applicable", "manifest"),
            F("1.2.c", "Date of placement of the model on the Union market:", dates, "manifest")
            if dates
            else _missing(
                "1.2.c",
                "Date of placement of the model on the Union market:",
                "not provided: models[].eu_market_date in the manifest",
            ),
            F(
                "1.3.a",
                "Modality / Training data size / Types of content",
                table,
                "store",
                f"Measured on {basis}; {TOKENIZER}; {dedup}. Types of content come from the manifest "
                "(summary.<modality>_content_types).",
            ),
            F(
                "1.3.d",
                "Latest date of data acquisition/collection for model training:",
                _month(latest),
                "store",
                "Whether the model is continuously trained on new data after this date is to be stated "
                "by the provider.",
            )
            if latest
            else _missing(
                "1.3.d",
                "Latest date of data acquisition/collection for model training:",
                "no document has a fetch date",
            ),
            F(
                "1.3.e",
                "Description of the linguistic characteristics of the overall training data:",
                ", ".join(langs),
                "store",
            )
            if langs
            else _text(
                manifest,
                "languages",
                "1.3.e",
                "Description of the linguistic characteristics of the overall training data:",
            ),
            F(
                "1.3.f",
                "Other relevant characteristics of the overall training data:",
                "Share of tokens by top-level domain: " + ", ".join(f".{t['tld']} {t['token_share']} %" for t in tlds),
                "draft",
            )
            if tlds
            else _text(
                manifest,
                "other_characteristics",
                "1.3.f",
                "Other relevant characteristics of the overall training data:",
            ),
            F(
                "1.3.g",
                "Additional comments (optional):",
                manifest.summary_text.get("general_comments") or f"Token counts: {TOKENIZER}.",
                "draft",
            ),
        ],
    }


def _datasets(manifest: Manifest, category: str) -> list:
    return [d for d in manifest.datasets if d.category == category]


def _sources(store, manifest: Manifest, rows, policy, exclude) -> list[dict]:
    public_rows = [r for r in rows if r["category"] == "2.1"]
    public_sizes: dict[str, dict[str, int]] = {}
    for r in public_rows:
        public_sizes.setdefault(r["modality"], {})
        public_sizes[r["modality"]][r["source_id"]] = r["tokens"] if r["modality"] == "text" else r["documents"]
    declared = {d.source_id: d for d in manifest.datasets}
    large = []
    for modality, sizes in sorted(public_sizes.items()):
        for source_id, share in large_datasets(sizes):
            ds = declared.get(source_id)
            large.append(
                {
                    "modality": MODALITY_LABELS.get(modality, modality),
                    "name": ds.name if ds else source_id,
                    "version": ds.version if ds else None,
                    "url": ds.url if ds else None,
                    "share_of_public_data": round(100 * share, 1),
                }
            )
    others = [d for d in _datasets(manifest, "2.1") if d.name not in {x["name"] for x in large}]
    s21 = {
        "id": "2.1",
        "title": "2.1 Publicly available datasets",
        "fields": [
            _attest(
                manifest,
                "public_datasets_used",
                "2.1.a",
                "Have you used publicly available datasets to train the model?",
            ),
            F(
                "2.1.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                _modalities_of(rows, {"2.1"})
                or sorted({MODALITY_LABELS[m] for d in _datasets(manifest, "2.1") for m in d.modalities}),
                "store",
            ),
            F(
                "2.1.c",
                "List of large publicly available datasets:",
                large,
                "store",
                "Large: more than 3 % of the publicly available data used for that modality (tokens for text).",
            ),
            F(
                "2.1.d",
                "General description of other publicly available datasets not listed above:",
                "; ".join(_dataset_line(d) for d in others) or "None",
                "draft",
            ),
            _text(
                manifest,
                "public_datasets_comments",
                "2.1.e",
                "Additional comments (optional):",
                optional=True,
            ),
        ],
    }
    s221 = {
        "id": "2.2.1",
        "title": "2.2.1 Datasets commercially licensed by rightsholders or their representatives",
        "fields": [
            _attest(
                manifest,
                "commercial_licences",
                "2.2.1.a",
                "Have you concluded transactional commercial "
                "licensing agreement(s) with rightsholder(s) or with their representatives?",
            ),
            F(
                "2.2.1.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                sorted({MODALITY_LABELS[m] for d in _datasets(manifest, "2.2.1") for m in d.modalities}),
                "manifest",
            ),
            _text(manifest, "licensed_comments", "2.2.1.c", "Additional comments (optional)", optional=True),
        ],
    }
    private = _datasets(manifest, "2.2.2")
    s222 = {
        "id": "2.2.2",
        "title": "2.2.2 Private datasets obtained from other third parties",
        "fields": [
            _attest(
                manifest,
                "private_third_party_datasets",
                "2.2.2.a",
                "Have you obtained private datasets from third parties that are not licensed as described in "
                "Section 2.2.1, such as data obtained from providers of private databases, or data intermediaries?",
            ),
            F(
                "2.2.2.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                sorted({MODALITY_LABELS[m] for d in private for m in d.modalities}),
                "manifest",
            ),
            F(
                "2.2.2.c",
                "If publicly known, list private datasets obtained from other third parties:",
                [_dataset_line(d) for d in private if d.publicly_known],
                "manifest",
            ),
            _text(
                manifest,
                "private_datasets_description",
                "2.2.2.d",
                "General description of non-publicly known private datasets obtained from third parties",
                optional=not any(not d.publicly_known for d in private),
            ),
            _text(
                manifest,
                "private_datasets_comments",
                "2.2.2.e",
                "Additional comments (optional):",
                optional=True,
            ),
        ],
    }
    crawled = [r for r in rows if r["category"] == "2.3"]
    crawler = manifest.crawler
    top = top_domains(reports.crawled_domain_sizes(store, policy, exclude), sme=manifest.provider.sme)
    period = (
        f"{_month(min(r['first_fetched'] for r in crawled if r['first_fetched']))} – "
        f"{_month(max(r['last_fetched'] for r in crawled if r['last_fetched']))}"
        if any(r["first_fetched"] for r in crawled)
        else None
    )
    s23 = {
        "id": "2.3",
        "title": "2.3 Data crawled and scraped from online sources",
        "fields": [
            _attest(manifest, "crawlers_used", "2.3.a", "Were crawlers used by the provider or on behalf of?"),
            F(
                "2.3.b",
                "If yes, specify crawler name(s)/identifier(s):",
                f"{crawler.name} (robots.txt product token {crawler.product_token}; User-Agent: {crawler.user_agent})",
                "manifest",
            )
            if crawler
            else _missing("2.3.b", "If yes, specify crawler name(s)/identifier(s):", "no [crawler] in the manifest"),
            F("2.3.c", "Purposes of the crawler(s):", crawler.purpose, "manifest")
            if crawler
            else _missing("2.3.c", "Purposes of the crawler(s):", "no [crawler] in the manifest"),
            F("2.3.d", "General description of crawler behaviour:", _crawler_behaviour(manifest), "draft"),
            F("2.3.e", "Period of data collection:", period, "store")
            if period
            else _missing("2.3.e", "Period of data collection:", "no crawled document has a fetch date"),
            _text(
                manifest,
                "crawled_content_description",
                "2.3.f",
                "Comprehensive description of the type of content and online sources crawled:",
            ),
            F("2.3.g", "Type of modality covered:", _modalities_of(rows, {"2.3"}), "store"),
            F(
                "2.3.h",
                "Summary of the most relevant domain names crawled:",
                {
                    "domains": [d for d, _, _ in top.domains],
                    "sizes": [s for _, s, _ in top.domains],
                    "total_domains": top.total,
                    "cutoff": top.cutoff,
                    "rule": top.rule,
                    "metric": top.metric,
                },
                "store",
                f"{len(top.domains)} of {top.total} domains crawled ({top.rule}, ties at the cut-off "
                f"included), ranked by {top.metric}; registrable domains per the Public Suffix List.",
            ),
            _text(manifest, "crawled_comments", "2.3.i", "Additional comments (optional):", optional=True),
        ],
    }
    s24 = {
        "id": "2.4",
        "title": "2.4 User data",
        "fields": [
            _attest(
                manifest,
                "user_data_model_interactions",
                "2.4.a",
                "Was data from user interactions with the AI "
                "model (e.g. user input and prompts) used to train the model?",
            ),
            _attest(
                manifest,
                "user_data_other_services",
                "2.4.b",
                "Was data collected from user interactions with "
                "the provider's other services or products used to train the model?",
            ),
            _text(
                manifest,
                "user_data_services",
                "2.4.c",
                "If yes, provide a general description of the provider's "
                "services or products that were used to collect the user data:",
                optional=manifest.attestations["user_data_other_services"] == "no",
            ),
            F("2.4.d", "Type of modality covered:", _modalities_of(rows, {"2.4"}), "store"),
            _text(manifest, "user_data_comments", "2.4.e", "Additional comments (optional):", optional=True),
        ],
    }
    s25 = {
        "id": "2.5",
        "title": "2.5 Synthetic data",
        "fields": [
            _attest(
                manifest,
                "synthetic_data",
                "2.5.a",
                "Was synthetic AI-generated data created by the provider or on their behalf to train the model?",
            ),
            F("2.5.b", "If yes, modality of the synthetic data:", _modalities_of(rows, {"2.5"}), "store"),
            _text(
                manifest,
                "synthetic_generators",
                "2.5.c",
                "If yes, specify the general-purpose AI model(s) used to "
                "generate the synthetic data if available on the market:",
                optional=manifest.attestations["synthetic_data"] == "no",
            ),
            _text(
                manifest,
                "synthetic_other_models",
                "2.5.d",
                "Information about other AI models, including provider's "
                "own AI model(s) not available on the market, used to generate synthetic data to train the model "
                "to which this Summary applies:",
                optional=True,
            ),
            _text(manifest, "synthetic_comments", "2.5.e", "Additional comments (optional):", optional=True),
        ],
    }
    s26 = {
        "id": "2.6",
        "title": "2.6 Other sources of data",
        "fields": [
            _attest(
                manifest,
                "other_sources",
                "2.6.a",
                "Have data sources other than those described in Sections 2.1 to 2.5 been used to train the model?",
            ),
            _text(
                manifest,
                "other_sources_description",
                "2.6.b",
                "If yes, provide a narrative description of these data sources and the data:",
                optional=manifest.attestations["other_sources"] == "no",
            ),
            _text(manifest, "other_sources_comments", "2.6.c", "Additional comments (optional):", optional=True),
        ],
    }
    undeclared = [r for r in rows if r["category"] not in SOURCE_CATEGORIES]
    if undeclared:
        s26["fields"].append(
            F(
                "2.6.note",
                "Note from the scanner:",
                f"{sum(r['documents'] for r in undeclared)} "
                "documents come from sources no manifest declares; declare them before publishing.",
                "store",
            )
        )
    return [
        {"id": "2", "title": "2. List of data sources", "fields": []},
        s21,
        s221,
        s222,
        s23,
        s24,
        s25,
        s26,
    ]


def _dataset_line(d) -> str:
    parts = [d.name + (f" {d.version}" if d.version else "")]
    if d.url:
        parts.append(d.url)
    parts.append("modalities: " + ", ".join(d.modalities))
    if d.collected_from or d.collected_to:
        parts.append(f"collected {d.collected_from or 'not known'} to {d.collected_to or 'not known'}")
    return " — ".join(parts)


def _crawler_behaviour(manifest: Manifest) -> str:
    token = manifest.crawler.product_token if manifest.crawler else "our product token"
    return (
        f"The crawler reads and follows robots.txt per RFC 9309 for the token {token} (and the * group "
        "when no group names it): longest match, Allow on ties, 4xx = no restriction, 5xx or unreachable = "
        "complete disallow, a cached copy used at most 24 hours. It also honours the other machine-readable "
        "reservations listed in section 3.1. It does not circumvent paywalls, logins or CAPTCHAs. "
        "[Draft generated from the tool's configuration: review before publication.]"
    )


def _processing(manifest: Manifest, excl: dict, policy: str, decided: bool, dups: dict) -> list[dict]:
    protocols = (
        "robots.txt (RFC 9309), including an unreachable robots.txt as a full disallow; "
        "W3C TDMRep (/.well-known/tdmrep.json, tdm-reservation headers and HTML meta); "
        "X-Robots-Tag and robots meta noai / noimageai; IETF AI preferences Content-Usage (header and "
        "robots.txt); Cloudflare Content-Signal; Spawning ai.txt; RSL licences; IPTC Data Mining"
    )
    if decided:
        reasons = (
            "; ".join(
                f"{r['signal']}: {r['documents']} documents, {r['tokens']:,} tokens, {r['domains']} domains"
                for r in excl["by_reason"]
            )
            or "none"
        )
        ev = excl["evidence"]
        dates = (
            (
                f"evidence observed between {ev['first_seen']:%d/%m/%Y} and {ev['last_seen']:%d/%m/%Y} "
                f"({ev['artefacts']} artefacts: {', '.join(ev['kinds'] or [])})"
            )
            if ev["first_seen"]
            else "no evidence referenced"
        )
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(excl["verdicts"].items()))
        measures = (
            f"Before training, every document was checked against the machine-readable reservations "
            f"observed for its URL at the time it was collected, under policy {policy} "
            f"v{excl['policy_version']} (reservations by any known AI-training agent token or by the * "
            f"group count). Protocols honoured: {protocols}. Protocols actually found and checked: "
            f"{', '.join(excl['protocols_checked']) or 'none'}. Outcome: {verdicts}. Documents excluded, "
            f"by the reason that decided: {reasons}. {dates.capitalize()}. Sites on the provider's "
            "blocklists are excluded. [Draft: review before publication.]"
        )
    else:
        measures = None
    s31 = {
        "id": "3.1",
        "title": "3.1 Respect of reservation of rights from text and data mining exception or limitation",
        "fields": [
            _attest(
                manifest,
                "code_of_practice_signatory",
                "3.1.a",
                "Are you a Signatory to the Code of Practice for "
                "general-purpose AI models that includes commitments to respect reservations of rights from the "
                "TDM exception or limitation?",
            ),
            F(
                "3.1.b",
                "Describe the measures implemented before model training to respect reservations of rights from "
                "the TDM exception or limitation before and during data collection, including the opt-out "
                "protocols and "
                "solutions honoured by the provider or, as applicable, by third parties from which datasets have been "
                "obtained:",
                measures,
                "draft",
            )
            if measures
            else _missing(
                "3.1.b",
                "Describe the measures implemented before model training to respect reservations of rights:",
                "no decisions in the store: run `provenance decide` first",
            ),
            _text(manifest, "tdm_comments", "3.1.c", "Additional comments (optional):", optional=True),
        ],
    }
    blocked = sum(len(b.domains) for b in manifest.blocklists)
    s32_text = manifest.summary_text.get("illegal_content_measures")
    if blocked:
        s32_text = (s32_text + " " if s32_text else "") + (
            f"Blocklists: {', '.join(b.name for b in manifest.blocklists)} ({blocked} domains)."
        )
    s32 = {
        "id": "3.2",
        "title": "3.2 Removal of illegal content",
        "fields": [
            F("3.2.a", "General description of measures taken:", s32_text, "manifest")
            if s32_text
            else _missing(
                "3.2.a",
                "General description of measures taken:",
                "not provided: summary.illegal_content_measures in the manifest",
            ),
        ],
    }
    dedup = (
        f"Near-duplicate detection (MinHash): {dups['duplicates']} duplicates in {dups['clusters']} clusters."
        if dups["clusters"]
        else None
    )
    other = manifest.summary_text.get("other_processing")
    value = " ".join(x for x in (other, dedup) if x) or None
    s33 = {
        "id": "3.3",
        "title": "3.3 Other information (optional)",
        "fields": [
            F(
                "3.3.a",
                "Other relevant information about data processing (optional):",
                value,
                "draft" if dedup else "manifest",
            )
            if value
            else F(
                "3.3.a",
                "Other relevant information about data processing (optional):",
                None,
                "missing",
                "optional; summary.other_processing in the manifest",
            ),
        ],
    }
    return [{"id": "3", "title": "3. Data processing aspects", "fields": []}, s31, s32, s33]


def all_labels(summary: dict) -> list[str]:
    return [f["label"] for s in summary["sections"] for f in s["fields"]]


def attestation_values(summary: dict) -> dict[str, str]:
    return {f["id"]: f["value"] for s in summary["sections"] for f in s["fields"] if f["source"] == "attestation"}
