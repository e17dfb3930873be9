"""Manifests: the declarative TOML that says who we are, what we trained on and what we block.

Format documented key by key in manifests/README.md; `manifests/example.toml` is a worked example.
Validation is strict: an unknown key is an error (typos must not silently drop a declaration),
and every error names the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scanner.corpus.fields import FieldMap
from scanner.errors import ManifestError
from scanner.urls import registrable_domain

SOURCE_CATEGORIES = {
    "2.1": "Publicly available datasets",
    "2.2.1": "Datasets commercially licensed by rightsholders or their representatives",
    "2.2.2": "Private datasets obtained from other third parties",
    "2.3": "Data crawled and scraped from online sources",
    "2.4": "User data",
    "2.5": "Synthetic data",
    "2.6": "Other sources of data",
}
MODALITIES = ("text", "image", "audio", "video", "other")
TRI_STATE = ("yes", "no", "to be provided")
ATTESTATIONS = {
    "public_datasets_used": "2.1 Have you used publicly available datasets to train the model?",
    "commercial_licences": "2.2.1 Have you concluded transactional commercial licensing agreement(s)?",
    "private_third_party_datasets": "2.2.2 Have you obtained private datasets from third parties?",
    "crawlers_used": "2.3 Were crawlers used by the provider or on behalf of?",
    "user_data_model_interactions": "2.4 Was data from user interactions with the AI model used?",
    "user_data_other_services": "2.4 Was data from the provider's other services used?",
    "synthetic_data": "2.5 Was synthetic AI-generated data created to train the model?",
    "other_sources": "2.6 Have other data sources been used?",
    "code_of_practice_signatory": "3.1 Are you a Signatory to the Code of Practice?",
}
# The free-text keys of [summary]: a misspelt key is an error, never a silently empty field.
SUMMARY_TEXT_KEYS = {
    **{f"{m}_content_types": f"1.3 types of content, {m}" for m in ("text", "image", "audio", "video", "other")},
    "other_modality": "1.3 Other modality: please specify",
    "other_size": "1.3 Other modality: approximate size and unit",
    "audio_hours": "1.3 audio hours, when the store cannot measure them (a number as a string)",
    "video_hours": "1.3 video hours, when the store cannot measure them (a number as a string)",
    "continuous_training": "1.3 whether the model is continuously trained on new data after the latest date",
    "languages": "1.3 linguistic characteristics (used when the store has no identified languages)",
    "other_characteristics": "1.3 other relevant characteristics",
    "general_comments": "1.3 additional comments",
    "public_datasets_comments": "2.1 additional comments",
    "licensed_comments": "2.2.1 additional comments",
    "private_datasets_description": "2.2.2 description of non-publicly known private datasets",
    "private_datasets_comments": "2.2.2 additional comments",
    "crawled_content_description": "2.3 type of content and online sources crawled",
    "crawler_behaviour": "2.3 general description of crawler behaviour (captchas, logins, paywalls)",
    "crawled_comments": "2.3 additional comments",
    "user_data_services": "2.4 services or products user data was collected from",
    "user_data_comments": "2.4 additional comments",
    "synthetic_generators": "2.5 models on the market used to generate synthetic data",
    "synthetic_other_models": "2.5 other models used to generate synthetic data",
    "synthetic_comments": "2.5 additional comments",
    "other_sources_description": "2.6 narrative description of other sources",
    "other_sources_comments": "2.6 additional comments",
    "tdm_comments": "3.1 additional comments",
    "illegal_content_measures": "3.2 measures to remove illegal content",
    "other_processing": "3.3 other information about data processing",
}
NOT_APPLICABLE = "not applicable"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    contact: str
    authorised_representative: str | None
    sme: bool


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    version: str
    eu_market_date: date | None
    base_model: str | None
    base_model_summary_url: str | None


@dataclass(frozen=True, slots=True)
class Crawler:
    name: str
    product_token: str
    user_agent: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    version: str | None
    url: str | None
    category: str
    modalities: tuple[str, ...]
    licence: str | None
    collected_from: date | None
    collected_to: date | None
    publicly_known: bool
    paths: tuple[Path, ...]
    fields: FieldMap
    subset: str | None = None  # 2.1.c: if only part was used, how it was selected
    in_store: bool = True  # false: declared only (e.g. licensed data not scanned); no documents expected
    ca: dict[str, str] | None = None  # California AB 2013 answers a person gives (see manifests/README.md)

    @property
    def source_id(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


@dataclass(frozen=True, slots=True)
class Blocklist:
    name: str
    reason: str | None
    domains: tuple[str, ...]  # registrable domains


@dataclass(frozen=True, slots=True)
class PreviousVersion:
    version: str
    date: date | None
    url: str


@dataclass(frozen=True, slots=True)
class Publication:
    """How the public summary is published: earlier versions and what is disclosed."""

    previous_versions: tuple[PreviousVersion, ...] = ()
    disclose_exact_figures: bool = False  # exact counts in the public text (template para 22: bands suffice)


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    provider: Provider
    models: tuple[Model, ...]
    crawler: Crawler | None
    datasets: tuple[Dataset, ...]
    blocklists: tuple[Blocklist, ...]
    attestations: dict[str, str]  # key -> yes | no | to be provided
    summary_text: dict[str, str]  # free text a person writes for the summary
    publication: Publication = Publication()

    def dataset(self, name: str) -> Dataset:
        for ds in self.datasets:
            if ds.name == name or ds.source_id == name:
                return ds
        raise KeyError(name)


class _Reader:
    """Typed access to one TOML table with errors that carry the file and the key path."""

    def __init__(self, file: str, table: Any, where: str) -> None:
        self.file, self.where = file, where
        if not isinstance(table, dict):
            self.fail("", f"must be a table, got {type(table).__name__}")
        self.table: dict[str, Any] = table

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, problem: str) -> None:
        raise ManifestError(self.file, self.key(name) if name else self.where, problem)

    def allow_only(self, *names: str) -> None:
        for k in self.table:
            if k not in names:
                self.fail(k, f"unknown key (expected one of: {', '.join(names)})")

    def get(self, name: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
        if name not in self.table:
            if required:
                self.fail(name, "is required")
            return None
        value = self.table[name]
        # TOML booleans are ints in Python: never accept one for the other.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.fail(name, f"must be {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            self.fail(name, f"must be {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        if isinstance(value, str) and required and not value.strip():
            self.fail(name, "must not be empty")
        return value

    def text(self, name: str, required: bool = False) -> str | None:
        return self.get(name, str, required)

    def required_text(self, name: str) -> str:
        """A string the manifest must give (a missing one fails with the file and key)."""
        value = self.get(name, str, True)
        assert isinstance(value, str)
        return value

    def day(self, name: str) -> date | None:
        value = self.get(name, (date, str))
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.fail(name, f"must be a date like 2025-03-01, got {value!r}")
        return value

    def strings(self, name: str, required: bool = False) -> tuple[str, ...]:
        value = self.get(name, (list, str), required)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"{name}[{i}]", f"must be a string, got {type(item).__name__}")
        return tuple(items)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        bool: "true or false",
        int: "an integer",
        list: "a list",
        dict: "a table",
        date: "a date",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(file, "(file)", f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(file, "(file)", f"not UTF-8: {exc.reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(file, "(syntax)", str(exc)) from exc
    top = _Reader(file, data, "")
    top.allow_only(
        "schema", "provider", "models", "crawler", "datasets", "blocklists", "attestations", "summary", "publication"
    )
    schema = top.get("schema", int)
    if schema not in (None, 1):
        top.fail("schema", f"manifest schema {schema} is not supported (this tool reads 1)")
    if "provider" not in data:
        top.fail("provider", "is required (the header of the EU summary)")
    datasets = tuple(
        _dataset(file, path.parent, item, f"datasets[{i}]") for i, item in enumerate(_array(top, "datasets"))
    )
    seen: set[str] = set()
    for i, ds in enumerate(datasets):
        if ds.source_id in seen:
            raise ManifestError(file, f"datasets[{i}].name", f"duplicate dataset {ds.source_id!r}")
        seen.add(ds.source_id)
    return Manifest(
        path=path,
        provider=_provider(_Reader(file, data["provider"], "provider")),
        models=tuple(_model(_Reader(file, m, f"models[{i}]")) for i, m in enumerate(_array(top, "models"))),
        crawler=_crawler(_Reader(file, data["crawler"], "crawler")) if "crawler" in data else None,
        datasets=datasets,
        blocklists=tuple(
            _blocklist(file, path.parent, b, f"blocklists[{i}]") for i, b in enumerate(_array(top, "blocklists"))
        ),
        attestations=_attestations(_Reader(file, data.get("attestations", {}), "attestations")),
        summary_text=_summary_text(_Reader(file, data.get("summary", {}), "summary")),
        publication=_publication(file, _Reader(file, data.get("publication", {}), "publication")),
    )


def _array(top: _Reader, name: str) -> list[Any]:
    value = top.get(name, list)
    return value or []


def _provider(r: _Reader) -> Provider:
    r.allow_only("name", "contact", "authorised_representative", "sme")
    return Provider(
        name=r.required_text("name"),
        contact=r.required_text("contact"),
        authorised_representative=r.text("authorised_representative"),
        sme=bool(r.get("sme", bool)),
    )


def _model(r: _Reader) -> Model:
    r.allow_only("name", "version", "eu_market_date", "base_model", "base_model_summary_url")
    return Model(
        name=r.required_text("name"),
        version=r.required_text("version"),
        eu_market_date=r.day("eu_market_date"),
        base_model=r.text("base_model"),
        base_model_summary_url=r.text("base_model_summary_url"),
    )


def _crawler(r: _Reader) -> Crawler:
    r.allow_only("name", "product_token", "user_agent", "purpose")
    token = r.required_text("product_token")
    if not _TOKEN.match(token):
        r.fail("product_token", f"{token!r} is not a robots.txt product token ([A-Za-z0-9_-]+)")
    user_agent = r.required_text("user_agent")
    if token.lower() not in user_agent.lower():
        r.fail("user_agent", f"must contain the product token {token!r} so sites can match it")
    return Crawler(
        name=r.required_text("name"),
        product_token=token,
        user_agent=user_agent,
        purpose=r.required_text("purpose"),
    )


def _dataset(file: str, base: Path, item: Any, where: str) -> Dataset:
    r = _Reader(file, item, where)
    r.allow_only(
        "name",
        "version",
        "url",
        "category",
        "modality",
        "licence",
        "collection_period",
        "publicly_known",
        "paths",
        "fields",
        "subset",
        "in_store",
        "ca",
    )
    name = r.required_text("name")
    if not _NAME.match(name):
        r.fail("name", f"{name!r}: use letters, digits, '.', '_' or '-'")
    category = r.required_text("category")
    if category not in SOURCE_CATEGORIES:
        r.fail(
            "category",
            f"{category!r} is not an EU template source category (one of {', '.join(SOURCE_CATEGORIES)})",
        )
    modalities = r.strings("modality", required=True)
    for i, m in enumerate(modalities):
        if m not in MODALITIES:
            r.fail(f"modality[{i}]", f"{m!r} is not one of {', '.join(MODALITIES)}")
    start = end = None
    if "collection_period" in r.table:
        period = _Reader(file, r.table["collection_period"], r.key("collection_period"))
        period.allow_only("start", "end")
        start, end = period.day("start"), period.day("end")
        if start and end and end < start:
            period.fail("end", f"{end} is before start {start}")
    paths = tuple(Path(os.path.normpath(base / p)) for p in r.strings("paths"))
    return Dataset(
        name=name,
        version=r.text("version"),
        url=r.text("url"),
        category=category,
        modalities=modalities,
        licence=r.text("licence"),
        collected_from=start,
        collected_to=end,
        publicly_known=r.get("publicly_known", bool) is not False,
        paths=paths,
        fields=_fields(_Reader(file, r.table.get("fields", {}), r.key("fields"))),
        subset=r.text("subset"),
        in_store=r.get("in_store", bool) is not False,
        ca=_ca(_Reader(file, r.table["ca"], r.key("ca"))) if "ca" in r.table else None,
    )


def _fields(r: _Reader) -> FieldMap:
    names = ("url", "text", "html", "date", "id", "duration")
    r.allow_only(*names)
    given = {n: r.strings(n) for n in names if n in r.table}
    return FieldMap(**given)


def _blocklist(file: str, base: Path, item: Any, where: str) -> Blocklist:
    r = _Reader(file, item, where)
    r.allow_only("name", "reason", "domains", "file")
    domains = list(r.strings("domains"))
    listed = r.text("file")
    if listed:
        try:
            lines = (base / listed).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            r.fail("file", f"cannot read {listed}: {exc.strerror or exc}")
        domains += [ln.split("#", 1)[0].strip() for ln in lines]
    cleaned = []
    for i, d in enumerate(x for x in domains if x):
        host = d.lower().removeprefix("*.").strip(".")
        if not host or "/" in host or " " in host:
            r.fail(f"domains[{i}]", f"{d!r} is not a domain name")
        cleaned.append(registrable_domain(host))
    return Blocklist(name=r.required_text("name"), reason=r.text("reason"), domains=tuple(sorted(set(cleaned))))


def _attestations(r: _Reader) -> dict[str, str]:
    r.allow_only(*ATTESTATIONS)
    out = {}
    for key in ATTESTATIONS:
        value = r.text(key) or "to be provided"
        if value not in TRI_STATE:
            r.fail(key, f"{value!r} must be one of: {', '.join(TRI_STATE)}")
        out[key] = value
    return out


def _summary_text(r: _Reader) -> dict[str, str]:
    r.allow_only(*SUMMARY_TEXT_KEYS)
    return {key: r.text(key) or "" for key in r.table}


def _publication(file: str, r: _Reader) -> Publication:
    r.allow_only("previous_versions", "disclose_exact_figures")
    previous = []
    for i, item in enumerate(r.get("previous_versions", list) or []):
        p = _Reader(file, item, r.key(f"previous_versions[{i}]"))
        p.allow_only("version", "date", "url")
        previous.append(PreviousVersion(p.required_text("version"), p.day("date"), p.required_text("url")))
    return Publication(tuple(previous), bool(r.get("disclose_exact_figures", bool)))


# California AB 2013 (Cal. Bus. & Prof. Code §22757.20(b)): what only a person can say per dataset.
CA_KEYS = {
    "purpose": "(2) how the dataset furthers the intended purpose of the system",
    "data_points": "(3) number of data points as a range, for a dataset not in the store",
    "intellectual_property": "(5) whether it includes data protected by copyright, trademark or patent, "
    "or is entirely in the public domain",
    "purchased_or_licensed": "(6) purchased or licensed: yes | no | to be provided",
    "personal_information": "(7) includes personal information (Cal. Civ. Code 1798.140): yes | no | to be provided",
    "aggregate_consumer_information": "(8) includes aggregate consumer information: yes | no | to be provided",
    "processing_purpose": "(9) the intended purpose of cleaning, processing or modification",
    "first_used": "(11) date first used in development (YYYY-MM-DD or YYYY-MM)",
    "collection_ongoing": "(10) whether collection is ongoing: yes | no | to be provided",
    "synthetic_data": "(12) synthetic data generation used: yes | no | to be provided",
}
CA_TRI_STATE = (
    "purchased_or_licensed",
    "personal_information",
    "aggregate_consumer_information",
    "collection_ongoing",
    "synthetic_data",
)


def _ca(r: _Reader) -> dict[str, str]:
    r.allow_only(*CA_KEYS)
    out = {}
    for key in CA_KEYS:
        value = r.get(key, (str, date))
        if value is None:
            continue
        value = value.isoformat() if isinstance(value, date) else value
        if key in CA_TRI_STATE and value not in TRI_STATE:
            r.fail(key, f"{value!r} must be one of: {', '.join(TRI_STATE)}")
        out[key] = value
    return out
