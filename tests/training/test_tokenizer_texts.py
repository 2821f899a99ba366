"""The tokenizer is trained on every label the candidate sets rank: a label left out is
written through `<unk>`, and two such labels tokenise alike and rank as one candidate.
`dataset_candidates` lists each label at a link end in a language, also one that no fact of
that language names and one whose other end is in a language not trained."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "completion"))

from completion_kb import write_dataset  # noqa: E402

from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402
from modeling_prixlm.formatting import add_prixlm_tokens  # noqa: E402
from prixlm.link_prediction.candidate_files import dataset_candidates  # noqa: E402
from prixlm.link_prediction.scorer import canonical_labels  # noqa: E402
from prixlm.training.data import tokenizer_training_texts  # noqa: E402

LANGUAGES = ["en", "ja"]
#: ja labels named by links only: no ja fact holds them (the second one's other end is fr)
LINK_ONLY = ["ウォン", "ドル", "ポンド"]


def _row(kind: str, subject: tuple[str, str], relation: str, obj: tuple[str, str]) -> dict:
    (s, s_lang), (o, o_lang) = subject, obj
    return {"kind": kind, "subject": s, "relation": relation, "object": o,
            "subject_language": s_lang, "object_language": o_lang,
            "subject_id": f"{s_lang}:{s}", "relation_id": f"rel:{relation}" if relation else "",
            "object_id": f"{o_lang}:{o}", "all_objects": [o]}  # fmt: skip


def _triple(language: str, subject: str, relation: str, obj: str) -> dict:
    return _row("triple", (subject, language), relation, (obj, language))


def _links(first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
    return [_row("link", first, "", second), _row("link", second, "", first)]


@pytest.fixture(scope="module")
def link_only_dataset(tmp_path_factory) -> Path:
    """en facts, one ja fact; the ja currencies but 日本円 are at link ends only."""
    en = [_triple("en", "Japan", "currency", "Japanese yen"),
          _triple("en", "Korea", "currency", "won"),
          _triple("en", "United States", "currency", "dollar")]  # fmt: skip
    ja = [_triple("ja", "日本", "通貨", "日本円")]
    links = [
        *_links(("Japan", "en"), ("日本", "ja")),
        *_links(("Japanese yen", "en"), ("日本円", "ja")),
        *_links(("won", "en"), ("ウォン", "ja")),
        *_links(("dollar", "en"), ("ドル", "ja")),
        *_links(("livre sterling", "fr"), ("ポンド", "ja")),  # fr: no config, not trained
    ]
    configs = {"en": {"train": en, "test": en[:1]}, "ja": {"train": ja, "test": ja},
               "links": {"train": links}}  # fmt: skip
    return write_dataset(tmp_path_factory.mktemp("link_only") / "data", configs)


@pytest.mark.parametrize("languages", [["ja"], ["en", "ja"], ["en"]])
def test_the_texts_hold_every_candidate_label_of_the_trained_languages(
    link_only_dataset, languages
):
    """Before: one language trained read no link, and a link counted only when both its ends
    were trained (ポンド, whose other end is fr, was left out for en+ja)."""
    texts = tokenizer_training_texts(link_only_dataset, languages)
    candidates = dataset_candidates(link_only_dataset, languages)
    for language in languages:
        assert sorted(set(candidates[language]) - set(texts)) == [], language
    if "ja" in languages:
        assert [t for t in texts if t in LINK_ONLY] == LINK_ONLY  # once each, in link order
    assert "livre sterling" not in texts  # a link end in a language not trained
    if languages == ["en"]:  # the en ends of the links are en facts' names already
        assert not set(LINK_ONLY) & set(texts)


def test_table1_tokenizer_writes_every_candidate_without_merging_them(link_only_dataset, tmp_path):
    """Table 1, the ablations and DBP-5L train with `prepare_tokenizer`, which read the
    triples only: ウォン and ドル became `['▁', '<unk>']` and ranked as one candidate."""
    from transformers import AutoTokenizer

    from prixlm.experiments.table1_data import prepare_tokenizer

    folder = prepare_tokenizer(tmp_path, link_only_dataset, LANGUAGES, 100)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    add_prixlm_tokens(tokenizer, LANGUAGES)
    labels = dataset_candidates(link_only_dataset, ["ja"])["ja"]
    assert labels == sorted(["ウォン", "ドル", "ポンド", "日本", "日本円"])
    ids = {label: tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels}
    assert [label for label, row in ids.items() if tokenizer.unk_token_id in row] == []
    canonical = canonical_labels(EntityTrie.from_labels(tokenizer, labels))
    assert canonical == {label: label for label in labels}  # no label ranks as another


def test_a_kept_tokenizer_trained_on_the_earlier_texts_is_trained_again(
    link_only_dataset, tmp_path
):
    """A Table 1 work folder keeps its tokenizer by what it was trained from: one kept from
    the triples-only texts was reused silently, and the plans (which hold its digest) were
    taken as done."""
    from prixlm.experiments.table1_data import TOKENIZER_SOURCE, folder_digest, prepare_tokenizer

    folder = prepare_tokenizer(tmp_path, link_only_dataset, LANGUAGES, 100, "data")
    source_file = folder / TOKENIZER_SOURCE
    source = json.loads(source_file.read_text("utf-8"))
    assert sorted(source) == ["data_sha256", "languages", "texts", "vocab_size"]
    from prixlm.training.data import TOKENIZER_TEXTS_RULE

    assert source == {"data_sha256": "data", "languages": LANGUAGES, "vocab_size": 100,
                      "texts": TOKENIZER_TEXTS_RULE}  # fmt: skip
    (folder / "marker").touch()
    assert prepare_tokenizer(tmp_path, link_only_dataset, LANGUAGES, 100, "data") == folder
    assert (folder / "marker").is_file()  # the same source: kept
    # the source an earlier folder recorded: no texts rule
    earlier = {key: value for key, value in source.items() if key != "texts"}
    source_file.write_text(json.dumps(earlier), "utf-8")
    digest = folder_digest(folder)
    prepare_tokenizer(tmp_path, link_only_dataset, LANGUAGES, 100, "data")
    assert not (folder / "marker").exists()  # trained again
    assert json.loads(source_file.read_text("utf-8")) == source
    assert folder_digest(folder) != digest  # Table 1's and the ablations' plans change
