"""prixlm.similarity.bli: one word spelled two ways (NFC/NFD, spacing) is one BLI word."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

import torch

from prixlm.similarity.bli import Pair, clean_word, evaluate_bli, read_dictionary

KOELN_NFC = unicodedata.normalize("NFC", "Köln")
KOELN_NFD = unicodedata.normalize("NFD", "Köln")
ZUERICH_NFC = unicodedata.normalize("NFC", "Zürich")
ZUERICH_NFD = unicodedata.normalize("NFD", "Zürich")


class _ComposingEmbedder:
    """Embeds by lookup of the text as the real embedder reads it (NFC, split on whitespace).

    Source word `a` has a random vector, its translation the same vector rotated, so that
    every word ranks its own translation first; "Cologne city" sits next to "Cologne".
    """

    def __init__(self, dim: int = 8, train_size: int = 20) -> None:
        generator = torch.Generator().manual_seed(0)
        rotation, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
        sources = [f"a{i}" for i in range(train_size)] + ["Cologne", "Zurich"]
        targets = [f"b{i}" for i in range(train_size)] + [KOELN_NFC, ZUERICH_NFC]
        vectors = torch.randn(len(sources), dim, generator=generator)
        self.table: dict[str, torch.Tensor] = {}
        for row, (source, target) in enumerate(zip(sources, targets, strict=True)):
            self.table[source] = vectors[row]
            self.table[target] = vectors[row] @ rotation
        noise = 0.05 * torch.randn(dim, generator=generator)
        self.table["Cologne city"] = self.table["Cologne"] + noise
        self.train: list[Pair] = [(f"a{i}", f"b{i}") for i in range(train_size)]

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """`(len(texts), dim)`: each text's vector, read composed with spaces collapsed."""
        keys = [" ".join(unicodedata.normalize("NFC", text).split()) for text in texts]
        return torch.stack([self.table[key] for key in keys])


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_read_dictionary_returns_one_form_for_nfc_and_nfd_and_for_spacing(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.txt",
        [f"Cologne\t{KOELN_NFC}", f"Cologne\t{KOELN_NFD}", "New  York \t New\u00a0York"],
    )
    pairs = read_dictionary(path)
    assert pairs[0] == pairs[1] == ("Cologne", KOELN_NFC)
    assert pairs[2] == ("New York", "New York")
    assert len(pairs) == 3  # the reader keeps each line; evaluate_bli merges repeats
    assert clean_word(f"  {KOELN_NFD}\t ") == KOELN_NFC


def test_nfd_spelling_is_one_candidate_with_the_all_nfc_metrics(tmp_path: Path) -> None:
    embedder = _ComposingEmbedder()
    mixed = _write(
        tmp_path / "mixed.txt",
        [f"Cologne\t{KOELN_NFC}", f"Cologne city\t{KOELN_NFD}", f"Zurich\t{ZUERICH_NFC}"],
    )
    composed = _write(
        tmp_path / "nfc.txt",
        [f"Cologne\t{KOELN_NFC}", f"Cologne city\t{KOELN_NFC}", f"Zurich\t{ZUERICH_NFC}"],
    )
    reference = evaluate_bli(embedder, embedder.train, read_dictionary(composed))
    assert reference["num_candidates"] == 2
    assert reference["hits_at_1"] == reference["mrr"] == 1.0
    metrics = evaluate_bli(embedder, embedder.train, read_dictionary(mixed))
    assert metrics["num_candidates"] == 2
    assert metrics == reference


def test_evaluate_bli_cleans_pairs_passed_directly_and_merges_their_repeats() -> None:
    embedder = _ComposingEmbedder()
    composed = [("Cologne", KOELN_NFC), ("Cologne city", KOELN_NFC), ("Zurich", ZUERICH_NFC)]
    reference = evaluate_bli(embedder, embedder.train, composed)
    spelled = [
        ("Cologne", KOELN_NFC),
        ("Cologne  city", KOELN_NFD),
        ("Zurich", ZUERICH_NFC),
        (" Zurich", ZUERICH_NFD),  # the pair above again, up to spelling: one gold
    ]
    metrics = evaluate_bli(embedder, embedder.train, spelled)
    assert metrics["num_candidates"] == 2 and metrics["num_test_pairs"] == 3
    assert metrics == reference
