"""Text sizes in a named tokenizer: a Hugging Face `tokenizers` JSON file loaded offline, applied
to the texts of the documents counted in the summary. The default stays the documented whitespace
count made at ingest (CJK characters one token each)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.errors import ScannerError
from scanner.store import Store
from scanner.store import summary_facts as sql


@dataclass(frozen=True, slots=True)
class NamedTokenizer:
    path: Path
    sha256: str
    tokenizer: Any  # a tokenizers.Tokenizer (optional extra, imported when a file is given)

    @property
    def description(self) -> str:
        return f"tokens of the Hugging Face tokenizer {self.path.name} (sha256 {self.sha256[:12]})"


def load_tokenizer(path: str | Path) -> NamedTokenizer:
    path = Path(path)
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ScannerError(
            "--tokenizer needs the `tokenizers` package: pip install 'provenance-scanner[tokenizers]'"
        ) from exc
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ScannerError(f"{path}: cannot read the tokenizer: {exc.strerror or exc}") from exc
    try:
        tok = Tokenizer.from_str(body.decode("utf-8"))
    except (UnicodeDecodeError, Exception) as exc:  # tokenizers raises a bare Exception on bad JSON
        raise ScannerError(f"{path}: not a Hugging Face tokenizer.json: {str(exc).splitlines()[0][:200]}") from exc
    return NamedTokenizer(path, hashlib.sha256(body).hexdigest(), tok)


def recount(store: Store, tok: NamedTokenizer, policy: str, exclude, batch: int = 256) -> dict[tuple[str, str], int]:
    """Tokens per (source_id, modality) of the text documents counted in the sizes."""
    out: dict[tuple[str, str], int] = {}
    for rb in sql.used_texts(store, policy, exclude):
        ids, modalities, texts = (rb.column(i).to_pylist() for i in range(3))
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            encoded = tok.tokenizer.encode_batch(chunk, add_special_tokens=False)
            for i, enc in enumerate(encoded, start=start):
                key = (ids[i], modalities[i])
                out[key] = out.get(key, 0) + len(enc.ids)
    return out
