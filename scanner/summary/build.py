"""The public summary of training content (AI Act Art. 53(1)(d), Commission template) built from
the measured facts and the manifest, one function per template section, with the official labels.

Every field says where its value came from: `store` (computed from evidence), `manifest` (written
by a person), `attestation` (yes / no / to be provided: never inferred from scan data),
`draft` (generated from measured facts for a person to review) or `missing` (with the reason:
never left blank). A `required` field that is missing blocks a final summary (see gate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from scanner.manifest import NOT_APPLICABLE, SOURCE_CATEGORIES, Manifest
from scanner.summary.algorithms import large_datasets, size_band
from scanner.summary.domains import shown
from scanner.summary.facts import Facts
from scanner.summary.wording import (
    MODALITY_LABELS,
    PROTOCOLS_HONOURED,
    count,
    language_name,
    protocol_name,
    reason_name,
)

MODALITIES = ("text", "image", "video", "audio", "other")  # the order of the template's checkboxes
WHITESPACE_TOKENIZER = "whitespace tokens of the extracted text, each CJK character counted as one token (the default)"


@dataclass(frozen=True, slots=True)
class Field:
    """One answer of the template."""

    id: str
    label: str
    value: Any
    source: str
    note: str | None = None
    required: bool = True

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "value": self.value,
            "source": self.source,
            "note": self.note,
            "required": self.required,
        }


def _section(sid: str, title: str, fields: list[Field], guidance: str | None = None) -> dict:
    return {"id": sid, "title": title, "guidance": guidance, "fields": [f.as_dict() for f in fields]}


def _missing(fid: str, label: str, why: str, required: bool = True) -> Field:
    return Field(fid, label, None, "missing", why, required)


def _attest(manifest: Manifest, key: str, fid: str, label: str) -> Field:
    value = manifest.attestations.get(key, "to be provided")
    note = None if value != "to be provided" else f"to be confirmed by the provider (manifest attestations.{key})"
    return Field(fid, label, value, "attestation", note)


def _text(manifest: Manifest, key: str, fid: str, label: str, optional: bool = False) -> Field:
    value = manifest.summary_text.get(key)
    if value:
        return Field(fid, label, value, "manifest", required=not optional)
    if optional:
        return _missing(fid, label, f"optional; add summary.{key} to the manifest to fill it", required=False)
    return _missing(fid, label, f"not provided: add summary.{key} to the manifest")


def _month(dt: datetime | date | None) -> str | None:
    return dt.strftime("%m/%Y") if dt else None


def checkboxes(present: set[str], other: str | None = None) -> dict:
    """Every modality of the form, checked or not; Other carries its "please specify"."""
    return {
        "checkboxes": [
            {
                "label": MODALITY_LABELS[m],
                "checked": m in present,
                **({"specify": other if "other" in present else None} if m == "other" else {}),
            }
            for m in MODALITIES
        ]
    }


def _store_modalities(facts: Facts, categories: set[str]) -> set[str]:
    return {
        r["modality"] if r["modality"] in MODALITIES else "other" for r in facts.rows if r["category"] in categories
    }


def _declared_modalities(manifest: Manifest, category: str) -> set[str]:
    return {m for d in manifest.datasets if d.category == category for m in d.modalities}


def _yes(manifest: Manifest, key: str) -> bool:
    return manifest.attestations.get(key) == "yes"


def build_summary(
    manifest: Manifest,
    facts: Facts,
    *,
    status: str = "draft",
    version: int | None = None,
    tokenizer: str = WHITESPACE_TOKENIZER,
    generated_at: datetime | None = None,
    generator: str = "provenance-scanner",
    stored_finals: list[dict] | None = None,
) -> dict:
    """The summary document. `status` is draft or final; only a final carries a public version.
    `stored_finals`: earlier finals in the store ({version, date}), listed even when the manifest
    gives no link for them."""
    generated_at = generated_at or datetime.now(UTC)
    exact = manifest.publication.disclose_exact_figures
    sections = [
        section_header(manifest, status, version, generated_at, stored_finals or []),
        _section("1", "1. General information", []),
        section_1_1(manifest),
        section_1_2(manifest),
        section_1_3(manifest, facts, tokenizer, exact),
        _section(
            "2",
            "2. List of data sources",
            [],
            "(information about specific sources of data used to train the general-purpose AI model)",
        ),
        section_2_1(manifest, facts, exact),
        _section("2.2", "2.2 Private non-publicly available datasets obtained from third parties", []),
        section_2_2_1(manifest),
        section_2_2_2(manifest),
        section_2_3(manifest, facts, exact),
        section_2_4(manifest, facts),
        section_2_5(manifest, facts),
        section_2_6(manifest, facts),
        _section("3", "3. Data processing aspects", []),
        section_3_1(manifest, facts),
        section_3_2(manifest),
        section_3_3(manifest, facts),
    ]
    return {
        "schema": "provenance-scanner/eu-training-summary/2",
        "template": "eu",
        "template_name": "Template for the public summary of training content for general-purpose AI models "
        "(European Commission, July 2025)",
        "status": status,
        "version": version,
        "provider": manifest.provider.name,
        "models": [f"{m.name} {m.version}" for m in manifest.models],
        "generated_at": generated_at.isoformat(),
        "generator": generator,
        "measurement_basis": facts.basis,
        "tokenizer": tokenizer,
        "disclose_exact_figures": exact,
        "sections": sections,
        "appendix": appendix(facts),
    }


def appendix(facts: Facts) -> dict:
    """Exact figures for the provider's files and the AI Office on request; not public by default
    (the template asks for size bands, not the exact mix: Explanatory Notice para 22)."""
    return {
        "sizes_by_source": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in facts.rows
        ],
        "top_domains": [{"domain": d, "size": s, "rank": k} for d, s, k in facts.top.domains],
        "top_domains_measure": facts.top.metric,
        "tld_token_shares": facts.tlds,
        "language_tokens": facts.languages,
        "decisions": _counts_dict(facts),
        "excluded_by_reason": facts.exclusions["by_reason"],
    }


def _counts_dict(facts: Facts) -> dict:
    c = facts.counts
    return {k: getattr(c, k) for k in c.__slots__}


# -- header ---------------------------------------------------------------------------------------
def section_header(manifest: Manifest, status: str, version: int | None, when: datetime, stored: list[dict]) -> dict:
    previous = [
        {"version": p.version, "date": p.date.isoformat() if p.date else None, "url": p.url}
        for p in manifest.publication.previous_versions
    ]
    listed = {p["version"] for p in previous}
    previous += [
        {"version": str(p["version"]), "date": p["date"], "url": "no link given in the manifest"}
        for p in stored
        if str(p["version"]) not in listed and p["version"] != version
    ]
    if status == "final":
        value: Any = {"version": str(version), "previous": previous}
        f0 = Field("0.a", "Version of the Summary:", value, "manifest" if previous else "store")
    else:
        f0 = Field(
            "0.a",
            "Version of the Summary:",
            {"version": None, "previous": previous},
            "draft",
            "a draft has no public version number: `provenance summary --final` assigns one",
        )
    return _section("0", "Header", [f0, Field("0.b", "Last update:", when.strftime("%d/%m/%Y"), "store")])


# -- 1 General information -----------------------------------------------------------------------
def section_1_1(manifest: Manifest) -> dict:
    p = manifest.provider
    rep = (p.authorised_representative or "").strip()
    label_b = "Authorised representative name and contact details:"
    if rep.lower() == NOT_APPLICABLE:
        f_b = Field("1.1.b", label_b, "Not applicable", "manifest")
    elif rep:
        f_b = Field("1.1.b", label_b, rep, "manifest")
    else:
        f_b = _missing(
            "1.1.b",
            label_b,
            'not provided: set provider.authorised_representative, or "not applicable" when the provider '
            "is established in the EU",
        )
    return _section(
        "1.1",
        "1.1 Provider identification",
        [Field("1.1.a", "Provider name and contact details:", f"{p.name}; {p.contact}", "manifest"), f_b],
    )


def section_1_2(manifest: Manifest) -> dict:
    models = [f"{m.name} {m.version}" for m in manifest.models]
    label_b = "Model dependencies:"
    said = [m.base_model for m in manifest.models if m.base_model]
    deps = [
        f"{m.name} {m.version} modifies {m.base_model}"
        + (f" (its summary: {m.base_model_summary_url})" if m.base_model_summary_url else "")
        for m in manifest.models
        if m.base_model and m.base_model.lower() != NOT_APPLICABLE
    ]
    if deps:
        f_b = Field("1.2.b", label_b, deps, "manifest")
    elif said and len(said) == len(manifest.models):
        f_b = Field("1.2.b", label_b, "Not applicable", "manifest")
    else:
        f_b = _missing(
            "1.2.b",
            label_b,
            'not provided: set models[].base_model, or "not applicable" for a model trained from scratch',
        )
    dates = [f"{m.name} {m.version}: {m.eu_market_date:%d/%m/%Y}" for m in manifest.models if m.eu_market_date]
    label_c = "Date of placement of the model on the Union market:"
    return _section(
        "1.2",
        "1.2 Model identification",
        [
            Field("1.2.a", "Versioned model name(s):", models, "manifest")
            if models
            else _missing("1.2.a", "Versioned model name(s):", "no [[models]] in the manifest"),
            f_b,
            Field("1.2.c", label_c, dates, "manifest")
            if dates and len(dates) == len(models)
            else _missing("1.2.c", label_c, "not provided: models[].eu_market_date in the manifest"),
        ],
    )


def _size_row(modality: str, facts: Facts, manifest: Manifest, exact: bool) -> dict:
    rows = [r for r in facts.rows if (r["modality"] if r["modality"] in MODALITIES else "other") == modality]
    declared = {m for d in manifest.datasets for m in d.modalities}
    present = bool(rows) or modality in declared
    row: dict[str, Any] = {
        "modality": MODALITY_LABELS[modality],
        "present": present,
        "training_data_size": None,
        "measured": None,
        "types_of_content": manifest.summary_text.get(f"{modality}_content_types"),
    }
    if not present:
        return row
    if modality == "text":
        amount = sum(r["tokens"] for r in rows)
        row["training_data_size"] = size_band("text", amount)
        row["measured"] = f"{amount:,} tokens" if exact else None
    elif modality == "image":
        amount = sum(r["documents"] for r in rows)
        row["training_data_size"] = size_band("image", amount)
        row["measured"] = f"{amount:,} images" if exact else None
    elif modality in ("audio", "video"):
        timed = facts.durations.get(modality) or {"documents": 0, "timed": 0, "seconds": 0.0}
        hours = manifest.summary_text.get(f"{modality}_hours")
        if timed["documents"] and timed["timed"] == timed["documents"]:
            amount = timed["seconds"] / 3600
            row["training_data_size"] = size_band(modality, amount)
            row["measured"] = f"{amount:,.1f} hours (playing time of every file)" if exact else None
        elif hours and hours.replace(".", "", 1).isdigit():
            row["training_data_size"] = size_band(modality, float(hours))
            row["measured"] = f"{hours} hours (stated in the manifest)" if exact else None
        else:
            missing = timed["documents"] - timed["timed"]
            row["training_data_size"] = (
                f"not measured: state it in the manifest (summary.{modality}_hours); "
                f"{missing:,} of {timed['documents']:,} files have no known playing time"
                if timed["documents"]
                else f"not measured: state it in the manifest (summary.{modality}_hours)"
            )
    else:
        spec = manifest.summary_text.get("other_modality")
        size = manifest.summary_text.get("other_size")
        row["training_data_size"] = (
            f"{spec}: {size}" if spec and size else "not measured: state the modality and its size in the manifest"
        )
    return row


def section_1_3(manifest: Manifest, facts: Facts, tokenizer: str, exact: bool) -> dict:
    table = [_size_row(m, facts, manifest, exact) for m in MODALITIES]
    dedup = (
        "sizes are before deduplication (deduplication not run)"
        if not facts.dups["clusters"]
        else f"near-duplicates counted once ({count(facts.dups['duplicates'], 'copy', 'copies')} left out)"
    )
    latest = max((r["last_fetched"] for r in facts.rows if r["last_fetched"]), default=None)
    ongoing = manifest.summary_text.get("continuous_training")
    label_d = "Latest date of data acquisition/collection for model training:"
    if latest:
        f_d = Field(
            "1.3.d",
            label_d,
            (_month(latest) or "") + (f". {ongoing}" if ongoing else ""),
            "store",
            None if ongoing else "add summary.continuous_training: whether the model keeps training on new data",
            required=True,
        )
    else:
        f_d = _missing("1.3.d", label_d, "no document has a fetch date")
    return _section(
        "1.3",
        "1.3 Modalities, overall training data size and other characteristics",
        [
            Field(
                "1.3.a",
                "Modality / Training data size / Types of content",
                table,
                "store",
                f"Measured on {facts.basis}; {dedup}. Text in {tokenizer}. Types of content come from the "
                "manifest (summary.<modality>_content_types).",
            ),
            f_d,
            _languages(manifest, facts, exact),
            _other_characteristics(manifest, facts, exact),
            Field(
                "1.3.g",
                "Additional comments (optional):",
                " ".join(x for x in (manifest.summary_text.get("general_comments"), f"Text size in {tokenizer}.") if x),
                "draft",
                required=False,
            ),
        ],
        "(general information about the overall training data after pre-processing and before the training "
        "of the model)",
    )


_EU_LANGUAGES = {
    "bg": "Bulgarian", "hr": "Croatian", "cs": "Czech", "da": "Danish", "nl": "Dutch", "en": "English",
    "et": "Estonian", "fi": "Finnish", "fr": "French", "de": "German", "el": "Greek", "hu": "Hungarian",
    "ga": "Irish", "it": "Italian", "lv": "Latvian", "lt": "Lithuanian", "mt": "Maltese", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "sk": "Slovak", "sl": "Slovenian", "es": "Spanish", "sv": "Swedish",
}  # fmt: skip


def _languages(manifest: Manifest, facts: Facts, exact: bool) -> Field:
    label = "Description of the linguistic characteristics of the overall training data:"
    rows = facts.languages
    identified = [r for r in rows if r["language"] != "unidentified"]
    total = sum(r["tokens"] for r in rows) or 1
    if not identified:
        field = _text(manifest, "languages", "1.3.e", label)
        note = "no language identified in the store (documents.language is empty): written by a person"
        return Field(field.id, field.label, field.value, field.source, field.note or note, field.required)
    parts = []
    for r in identified:
        share = 100 * r["tokens"] / total
        parts.append(language_name(r["language"]) + (f" ({share:.1f} % of tokens)" if exact else ""))
    eu = sorted({_EU_LANGUAGES[r["language"]] for r in identified if r["language"] in _EU_LANGUAGES})
    unidentified = next((r for r in rows if r["language"] == "unidentified"), None)
    text = (
        "Languages identified in the text, by decreasing share of tokens: "
        + ", ".join(parts)
        + ". EU official languages covered: "
        + (", ".join(eu) if eu else "none")
        + "."
    )
    if unidentified:
        text += f" {count(unidentified['documents'], 'document')} had no identifiable language."
    extra = manifest.summary_text.get("languages")
    return Field("1.3.e", label, text + (f" {extra}" if extra else ""), "draft", "language identified at ingest")


def _other_characteristics(manifest: Manifest, facts: Facts, exact: bool) -> Field:
    label = "Other relevant characteristics of the overall training data:"
    given = manifest.summary_text.get("other_characteristics")
    if facts.tlds:
        tlds = ", ".join(f".{t['tld']}" + (f" {t['token_share']} %" if exact else "") for t in facts.tlds)
        text = f"Most represented top-level domains of web content, by share of tokens: {tlds}."
        return Field("1.3.f", label, " ".join(x for x in (given, text) if x), "draft", required=False)
    return _text(manifest, "other_characteristics", "1.3.f", label, optional=True)


# -- 2 List of data sources ----------------------------------------------------------------------
def _dataset_prose(d, share: float | None = None, exact: bool = False) -> str:
    text = f"{d.name}" + (f", version {d.version}" if d.version else ", version not stated")
    text += f", published at {d.url}" if d.url else ", no public link given"
    text += ". " + (f"Only part was used: {d.subset}." if d.subset else "The dataset as ingested was used.")
    if share is not None and exact:
        text += f" It makes up {100 * share:.1f} % of the publicly available data of its modality."
    return text


def section_2_1(manifest: Manifest, facts: Facts, exact: bool) -> dict:
    public_sizes: dict[str, dict[str, int]] = {}
    for r in facts.rows:
        if r["category"] == "2.1":
            sizes = public_sizes.setdefault(r["modality"], {})
            sizes[r["source_id"]] = r["tokens"] if r["modality"] == "text" else r["documents"]
    declared = {d.source_id: d for d in manifest.datasets}
    large, large_ids = [], set()
    for modality, sizes in sorted(public_sizes.items()):
        for source_id, share in large_datasets(sizes):
            large_ids.add(source_id)
            ds = declared.get(source_id)
            large.append(
                f"{MODALITY_LABELS.get(modality, 'Other')}: "
                + (_dataset_prose(ds, share, exact) if ds else f"{source_id} (not declared in the manifest).")
            )
    public = [d for d in manifest.datasets if d.category == "2.1"]
    others = [d for d in public if d.source_id not in large_ids]
    present = _store_modalities(facts, {"2.1"}) | _declared_modalities(manifest, "2.1")
    used = _yes(manifest, "public_datasets_used")
    return _section(
        "2.1",
        "2.1 Publicly available datasets",
        [
            _attest(
                manifest,
                "public_datasets_used",
                "2.1.a",
                "Have you used publicly available datasets to train the model?",
            ),
            Field(
                "2.1.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                checkboxes(present, manifest.summary_text.get("other_modality")),
                "store",
            ),
            Field(
                "2.1.c",
                "List of large publicly available datasets:",
                large or "None",
                "store",
                "Large: more than 3 % of the publicly available data used for that modality (tokens for text).",
                required=used,
            ),
            Field(
                "2.1.d",
                "General description of other publicly available datasets not listed above:",
                " ".join(_dataset_prose(d) for d in others) or "None",
                "draft",
                required=False,
            ),
            _text(manifest, "public_datasets_comments", "2.1.e", "Additional comments (optional):", optional=True),
        ],
    )


def section_2_2_1(manifest: Manifest) -> dict:
    return _section(
        "2.2.1",
        "2.2.1 Datasets commercially licensed by rightsholders or their representatives",
        [
            _attest(
                manifest,
                "commercial_licences",
                "2.2.1.a",
                "Have you concluded transactional commercial licensing agreement(s) with rightsholder(s) or with "
                "their representatives?",
            ),
            Field(
                "2.2.1.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                checkboxes(_declared_modalities(manifest, "2.2.1")),
                "manifest",
            ),
            _text(manifest, "licensed_comments", "2.2.1.c", "Additional comments (optional)", optional=True),
        ],
    )


def section_2_2_2(manifest: Manifest) -> dict:
    private = [d for d in manifest.datasets if d.category == "2.2.2"]
    return _section(
        "2.2.2",
        "2.2.2 Private datasets obtained from other third parties",
        [
            _attest(
                manifest,
                "private_third_party_datasets",
                "2.2.2.a",
                "Have you obtained private datasets from third parties that are not licensed as described in "
                "Section 2.2.1, such as data obtained from providers of private databases, or data intermediaries?",
            ),
            Field(
                "2.2.2.b",
                "If yes, specify the modality(ies) of the content covered by the datasets concerned:",
                checkboxes(_declared_modalities(manifest, "2.2.2")),
                "manifest",
            ),
            Field(
                "2.2.2.c",
                "If publicly known, list private datasets obtained from other third parties:",
                [_dataset_prose(d) for d in private if d.publicly_known] or "None",
                "manifest",
            ),
            _text(
                manifest,
                "private_datasets_description",
                "2.2.2.d",
                "General description of non-publicly known private datasets obtained from third parties",
                optional=not any(not d.publicly_known for d in private),
            ),
            _text(manifest, "private_datasets_comments", "2.2.2.e", "Additional comments (optional):", optional=True),
        ],
    )


def _crawler_behaviour(manifest: Manifest, facts: Facts) -> Field:
    label = "General description of crawler behaviour:"
    crawler = manifest.crawler
    c = facts.counts
    if crawler is None:
        return _missing("2.3.d", label, "no [crawler] in the manifest", required=_yes(manifest, "crawlers_used"))
    text = (
        f"The crawler reads robots.txt per RFC 9309 and follows the group for its product token "
        f"{crawler.product_token} (the * group when no group names it)."
    )
    if c.crawled:
        text += f" Of {count(c.crawled, 'crawled document')}, {c.crawled_robots} were decided with a robots.txt"
        text += f" in the evidence; {c.crawled_stale} on evidence observed more than 24 hours before they were fetched"
        if c.crawled_stale and facts.age.get("max_days") is not None:
            text += f" (up to {count(int(facts.age['max_days']), 'day')} older)"
        text += "."
    given = manifest.summary_text.get("crawler_behaviour")
    if given:
        text += " " + given
        return Field("2.3.d", label, text, "draft")
    return Field(
        "2.3.d",
        label,
        text,
        "draft",
        "the behaviour towards CAPTCHAs, logins and paywalls is not measured: state it in summary.crawler_behaviour",
    )


def section_2_3(manifest: Manifest, facts: Facts, exact: bool) -> dict:
    crawled = [r for r in facts.rows if r["category"] == "2.3"]
    crawler = manifest.crawler
    needed = _yes(manifest, "crawlers_used")
    firsts = [r["first_fetched"] for r in crawled if r["first_fetched"]]
    period = (
        f"{_month(min(firsts))} – {_month(max(r['last_fetched'] for r in crawled if r['last_fetched']))}"
        if firsts
        else None
    )
    top = facts.top
    listed = len(top.domains)
    value = {
        "domains": [shown(d) for d, _, _ in top.domains],
        "sizes": [s for _, s, _ in top.domains] if exact else None,
        "total_domains": top.total,
        "cutoff": top.cutoff,
        "rule": top.rule,
        "metric": top.metric,
    }
    return _section(
        "2.3",
        "2.3 Data crawled and scraped from online sources",
        [
            _attest(manifest, "crawlers_used", "2.3.a", "Were crawlers used by the provider or on behalf of?"),
            Field(
                "2.3.b",
                "If yes, specify crawler name(s)/identifier(s):",
                f"{crawler.name} (robots.txt product token {crawler.product_token}; User-Agent: {crawler.user_agent})",
                "manifest",
            )
            if crawler
            else _missing(
                "2.3.b", "If yes, specify crawler name(s)/identifier(s):", "no [crawler] in the manifest", needed
            ),
            Field("2.3.c", "Purposes of the crawler(s):", crawler.purpose, "manifest")
            if crawler
            else _missing("2.3.c", "Purposes of the crawler(s):", "no [crawler] in the manifest", needed),
            _crawler_behaviour(manifest, facts),
            Field("2.3.e", "Period of data collection:", period, "store")
            if period
            else _missing("2.3.e", "Period of data collection:", "no crawled document has a fetch date", needed),
            _text(
                manifest,
                "crawled_content_description",
                "2.3.f",
                "Comprehensive description of the type of content and online sources crawled:",
                optional=not needed,
            ),
            Field("2.3.g", "Type of modality covered:", checkboxes(_store_modalities(facts, {"2.3"})), "store"),
            Field(
                "2.3.h",
                "Summary of the most relevant domain names crawled:",
                value,
                "store",
                f"{count(listed, 'domain')} listed of {count(top.total, 'domain')} crawled ({top.rule}, ties at the "
                f"cut-off included), ranked by {top.metric}; registrable domains per the Public Suffix List, "
                "internationalised names counted once.",
                required=needed,
            ),
            _text(manifest, "crawled_comments", "2.3.i", "Additional comments (optional):", optional=True),
        ],
        "(excluding publicly available datasets already compiled by third parties and made available on "
        "platforms such as Common Crawl, which are covered under Section 2.1)",
    )


def section_2_4(manifest: Manifest, facts: Facts) -> dict:
    return _section(
        "2.4",
        "2.4 User data",
        [
            _attest(
                manifest,
                "user_data_model_interactions",
                "2.4.a",
                "Was data from user interactions with the AI model (e.g. user input and prompts) used to train the "
                "model?",
            ),
            _attest(
                manifest,
                "user_data_other_services",
                "2.4.b",
                "Was data collected from user interactions with the provider's other services or products used to "
                "train the model?",
            ),
            _text(
                manifest,
                "user_data_services",
                "2.4.c",
                "If yes, provide a general description of the provider's services or products that were used to "
                "collect the user data:",
                optional=not _yes(manifest, "user_data_other_services"),
            ),
            Field("2.4.d", "Type of modality covered:", checkboxes(_store_modalities(facts, {"2.4"})), "store"),
            _text(manifest, "user_data_comments", "2.4.e", "Additional comments (optional):", optional=True),
        ],
        "(information about user data collected by all services and products of the provider, including "
        "through mail services, social media platforms, content platforms)",
    )


def section_2_5(manifest: Manifest, facts: Facts) -> dict:
    present = _store_modalities(facts, {"2.5"}) | _declared_modalities(manifest, "2.5")
    return _section(
        "2.5",
        "2.5 Synthetic data",
        [
            _attest(
                manifest,
                "synthetic_data",
                "2.5.a",
                "Was synthetic AI-generated data created by the provider or on their behalf to train the model?",
            ),
            Field("2.5.b", "If yes, modality of the synthetic data:", checkboxes(present), "store"),
            _text(
                manifest,
                "synthetic_generators",
                "2.5.c",
                "If yes, specify the general-purpose AI model(s) used to generate the synthetic data if available on "
                "the market:",
                optional=not _yes(manifest, "synthetic_data"),
            ),
            _text(
                manifest,
                "synthetic_other_models",
                "2.5.d",
                "Information about other AI models, including provider's own AI model(s) not available on the "
                "market, used to generate synthetic data to train the model to which this Summary applies:",
                optional=True,
            ),
            _text(manifest, "synthetic_comments", "2.5.e", "Additional comments (optional):", optional=True),
        ],
    )


def section_2_6(manifest: Manifest, facts: Facts) -> dict:
    fields = [
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
            optional=not _yes(manifest, "other_sources"),
        ),
        _text(manifest, "other_sources_comments", "2.6.c", "Additional comments (optional):", optional=True),
    ]
    return _section("2.6", "2.6 Other sources of data", fields)


def undeclared_documents(facts: Facts) -> int:
    return sum(r["documents"] for r in facts.rows if r["category"] not in SOURCE_CATEGORIES)


# -- 3 Data processing aspects ---------------------------------------------------------------------
def tdm_measures(manifest: Manifest, facts: Facts) -> str | None:
    """3.1.b from the counts: how many documents were decided on fresh evidence, on stale evidence,
    on page meta only, how many stayed unknown yet are counted, and what was excluded, by reason."""
    excl, c = facts.exclusions, facts.counts
    if not excl["verdicts"]:
        return None
    checked = ", ".join(protocol_name(p) for p in excl["protocols_checked"]) or "none"
    reasons = "; ".join(f"{reason_name(r['signal'])}: {count(r['documents'], 'document')}" for r in excl["by_reason"])
    text = (
        f"Before training, documents were checked against the machine-readable reservations recorded for their "
        f"URLs under policy {facts.policy} v{excl['policy_version']} (a reservation addressed to any known "
        f"AI-training agent token, or to all crawlers, counts). Protocols the tool honours: {PROTOCOLS_HONOURED}. "
        f"Protocols for which evidence was found and checked: {checked}. "
        f"Of {count(c.total, 'document')}, {c.decided} have a decision. {c.stale} rest on evidence observed more "
        "than 24 hours before the fetch (stale evidence"
    )
    if c.stale and facts.age.get("max_days") is not None:
        text += f", up to {count(int(facts.age['max_days']), 'day')} older"
    text += f"); {c.fresh} on evidence observed within 24 hours of the fetch"
    # Each clause said only when its count is not zero (unknown always: it is never hidden).
    clauses = (
        (c.undated, f"; {c.undated} have no fetch date, so the age of their evidence cannot be judged"),
        (
            c.no_evidence,
            f"; {c.no_evidence} were decided on signals with no stored artefact (a provider blocklist, or "
            "metadata embedded in the file itself)",
        ),
        (
            True,
            f"; {c.unknown_used} had no machine-readable evidence at all (verdict unknown) and are counted in "
            "the sizes",
        ),
        (c.undecided_used, f"; {c.undecided_used} have no decision under this policy and are counted in the sizes too"),
        (
            c.meta_only,
            f". {c.meta_only} were allowed after checking only the page's own meta tags "
            "(no robots.txt or other site-wide evidence)",
        ),
    )
    text += "".join(clause for said, clause in clauses if said)
    if c.reserved:
        text += f". {count(c.reserved, 'document')} excluded as reserved, by the reason that decided: {reasons}."
    else:
        text += ". No document was excluded as reserved."
    if facts.dups["clusters"]:
        text += f" {count(c.duplicates_left_out, 'further duplicate')} left out as copies."
    if manifest.blocklists:
        blocked = sum(len(b.domains) for b in manifest.blocklists)
        text += f" Sites on the provider's blocklists ({count(blocked, 'domain')}) are excluded."
    return text


def section_3_1(manifest: Manifest, facts: Facts) -> dict:
    label_b = (
        "Describe the measures implemented before model training to respect reservations of rights from the TDM "
        "exception or limitation before and during data collection, including the opt-out protocols and solutions "
        "honoured by the provider or, as applicable, by third parties from which datasets have been obtained:"
    )
    measures = tdm_measures(manifest, facts)
    return _section(
        "3.1",
        "3.1 Respect of reservation of rights from text and data mining exception or limitation",
        [
            _attest(
                manifest,
                "code_of_practice_signatory",
                "3.1.a",
                "Are you a Signatory to the Code of Practice for general-purpose AI models that includes commitments "
                "to respect reservations of rights from the TDM exception or limitation?",
            ),
            Field("3.1.b", label_b, measures, "draft", "generated from the decision counts in the store")
            if measures
            else _missing("3.1.b", label_b, "no decisions in the store: run `provenance decide` first"),
            _text(manifest, "tdm_comments", "3.1.c", "Additional comments (optional):", optional=True),
        ],
        "(measures implemented by the provider to identify and comply with the reservation of rights from the text "
        "and data mining (TDM) exception or limitation expressed pursuant to Article 4(3) of Directive (EU) "
        "2019/790)",
    )


def section_3_2(manifest: Manifest) -> dict:
    text = manifest.summary_text.get("illegal_content_measures")
    blocked = sum(len(b.domains) for b in manifest.blocklists)
    if blocked:
        names = ", ".join(b.name for b in manifest.blocklists)
        text = (text + " " if text else "") + f"Blocklists: {names} ({count(blocked, 'domain')})."
    label = "General description of measures taken:"
    return _section(
        "3.2",
        "3.2 Removal of illegal content",
        [
            Field("3.2.a", label, text, "manifest")
            if text
            else _missing("3.2.a", label, "not provided: summary.illegal_content_measures in the manifest")
        ],
    )


def section_3_3(manifest: Manifest, facts: Facts) -> dict:
    dups = facts.dups
    dedup = (
        f"Near-duplicate detection (MinHash): {count(dups['duplicates'], 'duplicate')} in "
        f"{count(dups['clusters'], 'cluster')}, one document per cluster kept."
        if dups["clusters"]
        else None
    )
    value = " ".join(x for x in (manifest.summary_text.get("other_processing"), dedup) if x) or None
    label = "Other relevant information about data processing (optional):"
    return _section(
        "3.3",
        "3.3 Other information (optional)",
        [
            Field("3.3.a", label, value, "draft" if dedup else "manifest", required=False)
            if value
            else _missing("3.3.a", label, "optional; summary.other_processing in the manifest", required=False)
        ],
    )


def all_labels(summary: dict) -> list[str]:
    return [f["label"] for s in summary["sections"] for f in s["fields"]]


def attestation_values(summary: dict) -> dict[str, str]:
    return {f["id"]: f["value"] for s in summary["sections"] for f in s["fields"] if f["source"] == "attestation"}


def fields_by_id(summary: dict) -> dict[str, dict]:
    return {f["id"]: f for s in summary["sections"] for f in s["fields"]}
