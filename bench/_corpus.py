"""The generated dedup corpus (Zipf words, planted near-duplicate families) and its store rows:
shared by the dedup, scale and before/after benches, importing nothing of ours that moved since
92f19fa, so an older checkout can build the same input."""

from __future__ import annotations

import random

from scanner.corpus.records import document_row


def _word(i: int) -> str:
    letters = ""
    i += 26**5  # six letters or more: documents of ~3 KB, as in the issue
    while i:
        i, r = divmod(i, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
    return letters


def make_corpus(n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    vocab = [_word(i) for i in range(50_000)]  # letters only: datatrove's normaliser folds digits
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs: list[str] = []
    while len(docs) < n:
        words = rnd.choices(vocab, weights, k=rnd.randint(250, 560))
        docs.append(" ".join(words))
        if rnd.random() < 0.2:  # a family of 1-4 near-duplicates
            for _ in range(rnd.randint(1, 4)):
                rate = 0.0 if rnd.random() < 0.1 else rnd.uniform(0, 0.06 if rnd.random() < 0.7 else 0.2)
                variant = [rnd.choice(vocab) if rnd.random() < rate else w for w in words]
                docs.append(" ".join(variant))
    return docs[:n]


def corpus_rows(docs: list[str], start: int = 0) -> tuple[list[dict], list[dict]]:
    """The store rows of a generated corpus: one text and one document per item, ids by position
    (counted from `start`)."""
    texts = [{"text_sha256": f"{i:064x}", "text": d} for i, d in enumerate(docs, start)]
    rows = [
        document_row(
            doc_id=f"{i:032x}",
            source_id="bench",
            content_sha256=f"{i:064x}",
            raw_bytes=len(d),
            text_sha256=f"{i:064x}",
            token_count=len(d.split()),
        )
        for i, d in enumerate(docs, start)
    ]
    return texts, rows
