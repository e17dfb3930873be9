"""Finding corpus files: folders walked recursively, globs expanded by us, each file's format.

Globs are expanded here rather than by the shell, so `ingest 'data/**/*.jsonl.zst'` works for a
million files (no argument-length limit) and the same pattern works in a manifest's `paths`.
A folder that is one dataset (a Hugging Face `save_to_disk` dataset or DatasetDict, or a folder
holding only Parquet/Arrow shards) stays one unit, read as it always was; any other folder is
walked and each supported file is read on its own. Files of no known format are listed, never
silently dropped.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from scanner.errors import InputError


class Format(StrEnum):
    WARC = "warc"
    ARC = "arc"
    JSONL = "jsonl"
    PARQUET = "parquet"
    DATASET = "dataset"  # a folder read as one dataset (HF save_to_disk, DatasetDict, shards)


_SUFFIXES: tuple[tuple[tuple[str, ...], Format], ...] = (
    ((".warc", ".warc.gz", ".warc.lz4"), Format.WARC),
    ((".arc", ".arc.gz"), Format.ARC),
    ((".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.zstd", ".json.gz", ".ndjson"), Format.JSONL),
    ((".parquet",), Format.PARQUET),
)
# Files a Hugging Face `save_to_disk` folder carries next to its shards.
_HF_MARKERS = ("dataset_dict.json", "state.json", "dataset_info.json")
_SHARD_SUFFIXES = (".arrow", ".parquet")
_SIDECARS = (".json", ".md", ".txt", ".lock", ".crc")  # metadata a shard folder may hold
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Found:
    """One unit to ingest: a file, or a folder read as one dataset, with its size on disk."""

    path: Path
    format: Format
    size: int


@dataclass(frozen=True, slots=True)
class Discovery:
    found: tuple[Found, ...]
    unknown: tuple[Path, ...]  # files of no supported format: listed and skipped

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.found)


def format_of(path: Path) -> Format | None:
    """The format of a file by its name; None when it is not a corpus format we read."""
    name = path.name.lower()
    for suffixes, fmt in _SUFFIXES:
        if name.endswith(suffixes):
            return fmt
    return None


def is_dataset_dir(folder: Path) -> bool:
    """A folder read as one dataset: HF markers, or nothing in it but columnar shards and sidecars
    (and no HF dataset saved further down).

    A folder of `.jsonl` or WARC files is not one; it is walked and each file read.
    """
    if any((folder / m).is_file() for m in _HF_MARKERS):
        return True
    shards = 0
    for p in _files_under(folder):
        name = p.name.lower()
        if name in _HF_MARKERS:
            return False  # datasets saved one by one below: each is its own unit
        if name.endswith(_SHARD_SUFFIXES):
            shards += 1
        elif not name.endswith(_SIDECARS):
            return False
    return shards > 0


def discover(targets: Iterable[str | Path]) -> Discovery:
    """Every corpus unit named by files, folders (recursive) and globs, in a stable order.

    A target that matches nothing is a user mistake and raises InputError naming it.
    """
    found: dict[Path, Found] = {}
    unknown: dict[Path, None] = {}
    for target in targets:
        paths = _expand(str(target))
        for path in paths:
            if path.is_dir():
                _walk(path, found, unknown)
            else:
                _add_file(path, found, unknown)
    return Discovery(tuple(found.values()), tuple(unknown))


def _expand(target: str) -> list[Path]:
    if os.path.exists(target):
        return [Path(target)]
    if _GLOB_CHARS & set(target):
        matches = sorted(glob.glob(os.path.expanduser(target), recursive=True))
        if not matches:
            raise InputError(target, "no files match this pattern")
        return [Path(m) for m in matches]
    raise InputError(target, "no such file or folder")


def _walk(folder: Path, found: dict[Path, Found], unknown: dict[Path, None]) -> None:
    if is_dataset_dir(folder):
        found.setdefault(folder, Found(folder, Format.DATASET, sum(_size(p) for p in _files_under(folder))))
        return
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise InputError(str(folder), f"cannot list: {exc.strerror or exc}") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden files and folders (.git, .cache) are not corpus
        if entry.is_dir():
            _walk(entry, found, unknown)
        elif entry.is_file():
            _add_file(entry, found, unknown)


def _add_file(path: Path, found: dict[Path, Found], unknown: dict[Path, None]) -> None:
    fmt = format_of(path)
    if fmt is None:
        unknown.setdefault(path)  # a lone .arrow shard too: name its dataset folder instead
    else:
        found.setdefault(path, Found(path, fmt, _size(path)))


def _files_under(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
