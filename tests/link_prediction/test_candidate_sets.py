"""A language's candidates are the labels of its triples and link ends: one set for its
triples and its link rows, the same in its config, in `links` and in `all`.

`evaluate_lp` on a Parquet dataset with a language config (`de`), the `links` config and
`all` (the language's triples plus links whose German ends name entities no triple has).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset

from prixlm.link_prediction.candidate_files import dataset_candidates
from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import candidate_labels

TRAIN = [
    ("Deutschland", "Währung", "Euro"),
    ("Frankreich", "Amtssprache", "Französisch"),
]
TEST = [
    ("Frankreich", "Währung", "Euro"),
    ("Deutschland", "Amtssprache", "Französisch"),
]
#: (English, German): the German ends are in no triple (link-only labels)
LINKED = [
    ("German", "Deutsch"),
    ("Japan", "Japan"),
    ("Japanese yen", "Japanischer Yen"),
    ("Swiss franc", "Schweizer Franken"),
]
TRIPLE_LABELS = ["Deutschland", "Euro", "Frankreich", "Französisch"]
LINK_ENDS = sorted(de for _, de in LINKED)
#: the German candidates: the triples' labels and the link-only ones
EVERY = sorted(TRIPLE_LABELS + LINK_ENDS)


def triple(subject: str, relation: str, object_: str) -> dict:
    objects = sorted({o for s, r, o in TRAIN + TEST if (s, r) == (subject, relation)})
    return _row("triple", subject, relation, object_, "de", "de", objects)


def link(subject: str, subject_language: str, object_: str, object_language: str) -> dict:
    return _row("link", subject, "", object_, subject_language, object_language, [object_])


def _row(kind, subject, relation, object_, first, second, objects) -> dict:
    return {
        "kind": kind, "subject": subject, "relation": relation, "object": object_,
        "subject_language": first, "object_language": second,
        "subject_id": "", "relation_id": "", "object_id": "", "all_objects": objects,
    }  # fmt: skip


def write_dataset(root: Path) -> dict[str, dict[str, list[dict]]]:
    """Configs `de`, `links` and `all` as Parquet with a card: `{config: {split: rows}}`."""
    links = [link(en, "en", de, "de") for en, de in LINKED]
    links += [link(de, "de", en, "en") for en, de in LINKED]
    configs = {
        "de": {"train": [triple(*f) for f in TRAIN], "test": [triple(*f) for f in TEST]},
        "links": {"train": links},
    }
    configs["all"] = {"train": configs["de"]["train"] + links, "test": configs["de"]["test"]}
    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            (root / config).mkdir(parents=True, exist_ok=True)
            Dataset.from_list(rows).to_parquet(root / config / f"{split}.parquet")
            card += [f"  - split: {split}", f"    path: {config}/{split}.parquet"]
    (root / "README.md").write_text("\n".join([*card, "---", ""]), encoding="utf-8")
    return configs


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    model, tokenizer = tiny_prixlm
    root = tmp_path_factory.mktemp("candidate_sets")
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return root, write_dataset(root / "data")


def _evaluate(root: Path, languages: str, split: str, mode: str) -> dict:
    report = main(
        [
            "--model", str(root / "model"), "--dataset", str(root / "data"),
            "--languages", languages, "--split", split, "--mode", mode, "--num_beams", "5",
        ]
    )  # fmt: skip
    return report["results"]


def test_the_candidates_of_a_language_are_its_triple_and_link_labels(saved):
    root, configs = saved
    english = sorted(en for en, _ in LINKED)  # no `en` config: its link ends
    assert dataset_candidates(root / "data", ["de", "en"]) == {"de": EVERY, "en": english}
    assert candidate_labels(configs["all"], "de") == EVERY  # one config's rows, every kind
    assert candidate_labels(configs["de"], "de") == TRIPLE_LABELS  # its config alone
    assert candidate_labels(configs["all"], "de", ["triple"]) == TRIPLE_LABELS
    assert candidate_labels(configs["links"], "de", ["link"]) == LINK_ENDS
    # rows without a `kind` column: a row joining two languages is a link
    bare = {split: [{k: v for k, v in r.items() if k != "kind"} for r in rows]
            for split, rows in configs["all"].items()}  # fmt: skip
    assert candidate_labels(bare, "de", ["triple"]) == TRIPLE_LABELS
    assert candidate_labels(bare, "de") == EVERY
    with pytest.raises(ValueError, match="kinds"):
        candidate_labels(configs["de"], "de", ["fact"])


@pytest.mark.parametrize("mode", ["full", "beam"])
def test_all_gives_a_language_the_numbers_of_its_own_config(saved, mode):
    root, _ = saved
    results = _evaluate(root, "de,all", "test", mode)
    assert set(results) == {"de", "all/de"}
    assert results["de"]["num_candidates"] == len(EVERY)
    assert results["de"]["num_queries"] == len(TEST)
    assert results["all/de"] == results["de"]


def test_link_rows_are_ranked_among_the_candidates_of_the_triples(saved):
    root, _ = saved
    links = _evaluate(root, "links", "train", "full")
    assert set(links) == {"links/de", "links/en"}
    assert links["links/de"]["num_candidates"] == len(EVERY)  # the triples' labels too
    assert links["links/de"]["num_queries"] == len(LINKED)
    assert links["links/en"]["num_candidates"] == len(LINKED)
    # `all`'s train split: its triples as in `de`, its links apart, as in `links`
    both = _evaluate(root, "de,all", "train", "full")
    assert set(both) == {"de", "all/de", "all/links/de", "all/links/en"}
    assert both["all/de"] == both["de"]
    assert both["all/de"]["num_candidates"] == len(EVERY)
    assert both["all/links/de"] == links["links/de"]
    assert both["all/links/en"] == links["links/en"]
