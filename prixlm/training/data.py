"""From a built Prix-LM dataset folder to tokenised training facts.

The folder is what `python -m prixlm.data.dbpedia.build` writes (Parquet +
dataset card, one config per language plus `links`); rows follow docs/architecture.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets

from modeling_prixlm.formatting import MAX_FACT_LENGTH, encode_row, known_languages
from prixlm.data.loading import load_kb

VARIANTS = ("all", "single")


def dataset_languages(dataset_dir: str | Path) -> list[str]:
    """The language configs of a built dataset (every config but `links` and `all`)."""
    names = datasets.get_dataset_config_names(str(dataset_dir))
    return sorted(n for n in names if n not in ("links", "all"))


def resolve_languages(dataset_dir: str | Path, languages: str | list[str]) -> list[str]:
    """`"all"`, `"de,fr"` or a list -> validated, sorted language codes."""
    available = dataset_languages(dataset_dir)
    if isinstance(languages, str):
        languages = (
            available
            if languages == "all"
            else [c.strip() for c in languages.split(",") if c.strip()]
        )
    missing = sorted(set(languages) - set(available))
    if missing:
        raise ValueError(
            f"--languages: {dataset_dir} has no config for {missing}; available: {', '.join(available)}"
        )
    if not languages:
        raise ValueError("--languages: no language given")
    return sorted(set(languages))


def load_split(dataset_dir: str | Path, config: str, split: str) -> datasets.Dataset:
    """One split of one config, with a clear error when it is missing or empty."""
    try:
        rows = load_kb(dataset_dir, config, split=split)
    except Exception as error:  # noqa: BLE001 - datasets raises many types; name the input
        raise ValueError(
            f"{dataset_dir}: cannot load config {config!r} split {split!r}: {error}"
        ) from error
    if len(rows) == 0:
        raise ValueError(f"{dataset_dir}: config {config!r} split {split!r} is empty")
    return rows


def load_training_rows(
    dataset_dir: str | Path, languages: list[str], variant: str
) -> datasets.Dataset:
    """Training facts: each language's train triples, plus (variant `all`) the links between them.

    `single` is the paper's "Prix-LM (Single)" (pass one language); `all` is "Prix-LM (All)".
    """
    if variant not in VARIANTS:
        raise ValueError(f"--variant {variant!r}: expected one of {VARIANTS}")
    if variant == "single" and len(languages) != 1:
        raise ValueError(
            f"--variant single trains one language's triples; got languages {languages}"
        )
    parts = [load_split(dataset_dir, language, "train") for language in languages]
    if variant == "all" and len(languages) > 1:
        wanted = set(languages)
        links = load_split(dataset_dir, "links", "train").filter(
            lambda row: row["subject_language"] in wanted and row["object_language"] in wanted
        )
        if len(links):
            parts.append(links)
    return datasets.concatenate_datasets(parts)


def check_languages_have_tokens(tokenizer: Any, rows: datasets.Dataset) -> None:
    """Every language used by a link must have its `[xx]` token."""
    if "link" not in set(rows.unique("kind")):
        return
    used = set(rows.unique("subject_language")) | set(rows.unique("object_language"))
    missing = sorted(used - set(known_languages(tokenizer)))
    if missing:
        raise ValueError(
            f"languages {missing} have no token in the tokenizer: add them with "
            "modeling_prixlm.formatting.add_prixlm_tokens(tokenizer, languages)"
        )


def tokenize_rows(
    rows: datasets.Dataset, tokenizer: Any, max_length: int | None = MAX_FACT_LENGTH
) -> datasets.Dataset:
    """Encode rows as `input_ids`, `labels`, `length`; drop facts of `max_length` tokens or more."""
    check_languages_have_tokens(tokenizer, rows)

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        fact = encode_row(tokenizer, row)
        return {"input_ids": fact.input_ids, "labels": fact.labels, "length": len(fact)}

    encoded = rows.map(encode, remove_columns=rows.column_names, desc="tokenising facts")
    if max_length:
        encoded = encoded.filter(
            lambda row: row["length"] < max_length, desc=f"dropping facts of >= {max_length} tokens"
        )
    if len(encoded) == 0:
        raise ValueError(f"no training fact is shorter than {max_length} tokens")
    return encoded


def tokenizer_training_texts(dataset_dir: str | Path, languages: list[str]) -> list[str]:
    """Entity and relation names of every split of the languages (for the offline tokenizer)."""
    texts: list[str] = []
    for language in languages:
        for rows in load_kb(dataset_dir, language).values():
            texts.extend(rows["subject"])
            texts.extend(rows["relation"])
            texts.extend(rows["object"])
    return texts
