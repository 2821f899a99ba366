"""`kens` filters the train objects of the query's own language: a test row of language L
ranks the same in the `all` config (`all/L`) as in L's own config, through `evaluate_lp`.

Triple prompts carry no language, so a model scores a query of `all/fr` exactly as the same
query of `fr`; the two configs must then give the same metrics. The filter once keyed the
train objects by (subject, relation) alone, so in `all` a French row lost the candidates that
were English train objects of the same subject label and relation name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from tiny_models import make_tiny_model

import prixlm.link_prediction.evaluation as evaluation
from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.data.kg_layout import convert_layout
from prixlm.data.loading import load_kb
from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.protocols import filter_objects, get_protocol, train_objects
from prixlm.training.tokenizer_training import train_tokenizer

LANGUAGES = ("en", "fr")
RESOURCE = {"en": "http://dbpedia.org/resource/", "fr": "http://fr.dbpedia.org/resource/"}
NAMES = {
    "en": ["Houston", "Austin", "Texas", "United_States", "Harris_County", "Travis_County"],
    "fr": ["Houston", "Austin", "Texas", "États-Unis", "Harris_County", "Travis_County"],
}
#: Relation 0 is "located in", 1 "country"; lines are `head id, relation id, tail id`.
#: fr's test row (Houston, located in, États-Unis) has the fr train object Harris County
#: and the en train object Texas, also a fr label; en's test row (Austin, located in,
#: Texas) has the en train object United States and the fr train object Travis County.
KG = {
    "en-train": ["0\t0\t2", "1\t0\t3", "5\t0\t2", "4\t0\t2", "2\t1\t3"],
    "en-val": [],
    "en-test": ["1\t0\t2"],
    "fr-train": ["0\t0\t4", "1\t0\t5", "2\t1\t3"],
    "fr-val": [],
    "fr-test": ["0\t0\t3"],
}
#: The scores of a model that reads no language in a triple prompt: the same in any config.
PREFERENCES = {
    ("Houston", "located in"): {"Texas": 3.0, "Harris County": 2.0, "États-Unis": 1.0},
    ("Austin", "located in"): {"Travis County": 3.0, "United States": 2.0, "Texas": 1.0},
}
#: Each test row's gold: the raw rank 3 (two candidates above it), one of them its own
#: language's train object (filtered), the other a train object of the other language only
#: (kept): the filtered rank 2 under `kens`; `ours` filters every split of the row's
#: language (`all_objects`) and also gives 2.
EXPECTED = {"hits_at_1": 0.0, "hits_at_3": 1.0, "hits_at_10": 1.0, "mrr": 0.5}


def write_layout(root: Path) -> Path:
    """The KG above in the KEnS layout (entity lists, relation IRIs, split files, links)."""
    files = {
        "relations.txt": [
            "http://dbpedia.org/ontology/locatedIn",
            "http://dbpedia.org/ontology/country",
        ],
        "seed_alignlinks/en-fr.tsv": ["0\t0", "1\t1", "2\t2", "3\t3"],
        **{f"entity/{lang}.tsv": [RESOURCE[lang] + n for n in NAMES[lang]] for lang in LANGUAGES},
        **{f"kg/{name}.tsv": lines for name, lines in KG.items()},
    }
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


class PreferenceScorer(evaluation.PrixLMScorer):
    """`PrixLMScorer` (its candidate merging too) with the fixed scores `PREFERENCES`."""

    def score(self, queries: Sequence[dict], candidates: Sequence[str]) -> torch.Tensor:
        """`(queries, candidates)` scores of `PREFERENCES`, 0 for any other candidate."""
        return torch.tensor(
            [
                [PREFERENCES.get((q["subject"], q["relation"]), {}).get(c, 0.0) for c in candidates]
                for q in queries
            ],
            dtype=torch.float64,
        )


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`(dataset, model)`: the KG converted by `prixlm.data.kg_layout`, a tiny saved model."""
    root = tmp_path_factory.mktemp("kens_all")
    dataset = root / "dataset"
    convert_layout(write_layout(root / "kg"), dataset)
    labels = [n.replace("_", " ") for lang in LANGUAGES for n in NAMES[lang]]
    tokenizer = train_tokenizer([*labels, "located in", "country"] * 4, vocab_size=120)
    add_prixlm_tokens(tokenizer, list(LANGUAGES))
    model = make_tiny_model(tokenizer)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return dataset, root / "model"


def test_the_all_config_filters_each_row_by_its_own_language_train_split(folders) -> None:
    """The train index of `all` keys its objects by language: the French row's filter is
    French Harris County only, as in `fr` (the English train object Texas was in it)."""
    dataset, _ = folders
    every = load_kb(dataset, "all")
    index = train_objects(every["train"].to_list())
    rows = every["test"].to_list()
    kens = filter_objects(rows, get_protocol("kens"), index)
    by_language = {row["object_language"]: objects for row, objects in zip(rows, kens, strict=True)}
    assert by_language == {"en": ["United States"], "fr": ["Harris County"]}
    for lang in LANGUAGES:
        own = load_kb(dataset, lang)
        alone = train_objects(own["train"].to_list())
        assert filter_objects(own["test"].to_list(), get_protocol("kens"), alone) == [
            by_language[lang]
        ]
    assert index[("fr", "Houston", "located in")] == {"Harris County"}
    assert index[("en", "Houston", "located in")] == {"Texas"}


def test_evaluate_lp_gives_all_the_per_language_kens_metrics(folders, monkeypatch, capsys):
    """`evaluate_lp --languages en,fr,all --protocol kens,ours`: `all/<L>` equals `<L>`
    under both protocols, with the ranks worked out above (hits@1 1.0 and MRR 1.0 in `all`
    before the filter was keyed by language)."""
    dataset, model = folders
    monkeypatch.setattr(evaluation, "PrixLMScorer", PreferenceScorer)
    report = main(
        ["--model", str(model), "--dataset", str(dataset), "--languages", "en,fr,all",
         "--mode", "full", "--protocol", "kens,ours"]
    )  # fmt: skip
    capsys.readouterr()
    for protocol in ("kens", "ours"):
        results = report["results_by_protocol"][protocol]
        assert set(results) == {"en", "fr", "all/en", "all/fr"}
        for lang in LANGUAGES:
            alone, within_all = results[lang], results[f"all/{lang}"]
            assert within_all == alone, (protocol, lang)
            assert {k: alone[k] for k in EXPECTED} == EXPECTED, (protocol, lang)
            assert alone["num_queries"] == 1 and alone["num_candidates"] == 6
