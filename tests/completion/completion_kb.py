"""A tiny en/de KB with one German fact held out, and a tiny Prix-LM trained on the rest
(helpers of `conftest.completion_kb`, importable by the tests)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch

from prixlm.data.cldr.dump_format import DBPEDIA_ONTOLOGY, resource_iri

ENTITIES = {  # key: (en label, de label)
    "Germany": ("Germany", "Deutschland"),
    "France": ("France", "Frankreich"),
    "Italy": ("Italy", "Italien"),
    "Austria": ("Austria", "Österreich"),
    "Japan": ("Japan", "Japan"),
    "Euro": ("euro", "Euro"),
    "Yen": ("Japanese yen", "Yen (Währung)"),
    "German": ("German", "Deutsch"),
    "French": ("French", "Französisch"),
    "Italian": ("Italian", "Italienisch"),
    "Japanese": ("Japanese", "Japanisch"),
}
RELATIONS = {"currency": ("currency", "Währung"), "officialLanguage": ("official language", "Amtssprache")}  # fmt: skip
FACTS = [
    ("Germany", "currency", "Euro"),
    ("France", "currency", "Euro"),
    ("Italy", "currency", "Euro"),
    ("Austria", "currency", "Euro"),
    ("Japan", "currency", "Yen"),
    ("Germany", "officialLanguage", "German"),
    ("France", "officialLanguage", "French"),
    ("Italy", "officialLanguage", "Italian"),
    ("Austria", "officialLanguage", "German"),
    ("Japan", "officialLanguage", "Japanese"),
]
HELD_OUT = ("France", "currency", "Euro")  # German test split: the fact to propose
EN_ONLY = ("Atlantis", "currency", "Euro")  # an English subject with no German link
LANGUAGES = ("en", "de")


def iri(language: str, key: str) -> str:
    label = "Atlantis" if key == "Atlantis" else ENTITIES[key][LANGUAGES.index(language)]
    return resource_iri(language, label)


def label(language: str, key: str) -> str:
    return "Atlantis" if key == "Atlantis" else ENTITIES[key][LANGUAGES.index(language)]


def triple_row(language: str, fact: tuple[str, str, str]) -> dict:
    subject, relation, obj = fact
    return {
        "kind": "triple",
        "subject": label(language, subject),
        "relation": RELATIONS[relation][LANGUAGES.index(language)],
        "object": label(language, obj),
        "subject_language": language,
        "object_language": language,
        "subject_id": iri(language, subject),
        "relation_id": DBPEDIA_ONTOLOGY + relation,
        "object_id": iri(language, obj),
        "all_objects": [],
    }


def link_row(key: str, source: str, target: str) -> dict:
    return {
        "kind": "link",
        "subject": label(source, key),
        "relation": "",
        "object": label(target, key),
        "subject_language": source,
        "object_language": target,
        "subject_id": iri(source, key),
        "relation_id": "",
        "object_id": iri(target, key),
        "all_objects": [label(target, key)],
    }


def dataset_rows() -> dict[str, dict[str, list[dict]]]:
    """config -> split -> rows: en (every fact + EN_ONLY), de (HELD_OUT in test), links."""
    en = [triple_row("en", fact) for fact in [*FACTS, EN_ONLY]]
    de_train = [triple_row("de", fact) for fact in FACTS if fact != HELD_OUT]
    links = [link_row(k, s, t) for k in ENTITIES for s, t in (("en", "de"), ("de", "en"))]
    configs = {
        "en": {"train": en},
        "de": {"train": de_train, "test": [triple_row("de", HELD_OUT)]},
        "links": {"train": links},
    }
    for splits in configs.values():  # every true object of (subject, relation), as the builder
        objects = defaultdict(set)
        for rows in splits.values():
            for row in rows:
                objects[row["subject"], row["relation"]].add(row["object"])
        for rows in splits.values():
            for row in rows:
                row["all_objects"] = sorted(objects[row["subject"], row["relation"]])
    return configs


def write_dataset(folder: Path, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """Parquet files plus a card whose `configs:` lists them (as the builder writes)."""
    from datasets import Dataset, Features, List, Value

    string = Value("string")
    features = Features({name: string for name in triple_row("en", FACTS[0])})
    features["all_objects"] = List(string)
    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            (folder / config).mkdir(parents=True, exist_ok=True)
            columns = {name: [row[name] for row in rows] for name in features}
            Dataset.from_dict(columns, features=features).to_parquet(
                folder / config / f"{split}.parquet"
            )
            card += [f"  - split: {split}", f"    path: {config}/{split}.parquet"]
    (folder / "README.md").write_text("\n".join([*card, "---", ""]), encoding="utf-8")
    return folder


def train_tiny_model(rows: list[dict], steps: int = 100, seed: int = 0):
    """(model, tokenizer): a 2-layer Prix-LM fitted to `rows` (full batch, AdamW)."""
    from modeling_prixlm.formatting import add_prixlm_tokens, encode_row
    from prixlm.training.collator import PrixLMCollator
    from prixlm.training.model_factory import build_prixlm
    from prixlm.training.tokenizer_training import train_tokenizer

    texts = [row[column] for row in rows for column in ("subject", "relation", "object")]
    tokenizer = train_tokenizer(texts * 4, vocab_size=150)
    add_prixlm_tokens(tokenizer, LANGUAGES)
    model = build_prixlm(
        tokenizer,
        seed=seed,
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=96,
    )
    encoded = [encode_row(tokenizer, row) for row in rows]
    features = [{"input_ids": e.input_ids, "labels": e.labels} for e in encoded]
    batch = PrixLMCollator(tokenizer.pad_token_id)(features)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    return model.eval(), tokenizer


#: The held-out German fact, as the completion's N-Triples line names it.
EXPECTED = (iri("de", HELD_OUT[0]), DBPEDIA_ONTOLOGY + HELD_OUT[1], iri("de", HELD_OUT[2]))


def run_complete(dataset: Path, model: Path, output: Path, *extra: str) -> int:
    """`python -m prixlm.complete` into German from `dataset` with `model` (5 beams)."""
    from prixlm.complete import main

    return main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(output), "--num_beams", "5", "--no_progress", *extra,
        ]
    )  # fmt: skip
