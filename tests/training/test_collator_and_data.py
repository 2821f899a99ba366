"""The collator token by token, and data errors raised before training starts."""

from __future__ import annotations

import shutil

import pytest
import torch
from tiny_models import plain_xlmr_tokenizer

from modeling_prixlm.formatting import encode_link, encode_triple
from prixlm.cli import UsageError
from prixlm.training.collator import PrixLMCollator
from prixlm.training.data import load_split, load_training_rows, resolve_languages, tokenize_rows


def test_collator_pads_and_keeps_labels_on_object_and_eos_only(tiny_tokenizer):
    tok = tiny_tokenizer
    triple = encode_triple(tok, "Japan", "currency", "Japanese yen")
    link = encode_link(tok, "Deutschland", "de", "en", "Germany")
    batch = PrixLMCollator(tok.pad_token_id)(
        [{"input_ids": f.input_ids, "labels": f.labels} for f in (triple, link)]
    )
    width = max(len(triple), len(link))
    assert (
        batch["input_ids"].shape
        == batch["labels"].shape
        == batch["attention_mask"].shape
        == (2, width)
    )
    assert batch["object_logits_only"] is True
    eos = tok.convert_tokens_to_ids("[EOS]")
    for row, fact in enumerate((triple, link)):
        n = len(fact)
        assert batch["input_ids"][row, :n].tolist() == fact.input_ids
        assert batch["input_ids"][row, n:].tolist() == [tok.pad_token_id] * (width - n)
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (width - n)
        labels = batch["labels"][row].tolist()
        object_ids = fact.input_ids[fact.object_start + 1 : n - 1]
        assert labels == [-100] * (fact.object_start + 1) + object_ids + [-100] * (width - n + 1)
        assert object_ids[-1] == eos
    assert link.input_ids[
        link.object_start - 4 : link.object_start - 2
    ] == tok.convert_tokens_to_ids(["[de]", "[en]"])


def test_dataset_rows_tokenise_and_filter(tiny_dataset_dir, tiny_tokenizer):
    languages = resolve_languages(tiny_dataset_dir, "all")
    assert languages == ["de", "en"]
    rows = load_training_rows(tiny_dataset_dir, languages, "all")
    kinds = rows["kind"]
    assert kinds.count("link") == 20 and kinds.count("triple") >= 10
    single = load_training_rows(tiny_dataset_dir, ["de"], "single")
    assert set(single["kind"]) == {"triple"} and set(single["subject_language"]) == {"de"}
    encoded = tokenize_rows(rows, tiny_tokenizer, max_length=None)
    assert len(encoded) == len(rows)
    assert all(
        len(i) == len(label) == n
        for i, label, n in zip(
            encoded["input_ids"], encoded["labels"], encoded["length"], strict=True
        )
    )
    assert len(tokenize_rows(rows, tiny_tokenizer, max_length=20)) < len(rows)


def test_bad_inputs_fail_before_training(tiny_dataset_dir, tiny_tokenizer, tmp_path):
    with pytest.raises(ValueError, match=r"has no config for \['xx'\]; available: de, en"):
        resolve_languages(tiny_dataset_dir, "en,xx")
    with pytest.raises(ValueError, match="--variant single trains one language"):
        load_training_rows(tiny_dataset_dir, ["de", "en"], "single")
    empty = tmp_path / "empty"
    (empty / "de").mkdir(parents=True)
    load_split(tiny_dataset_dir, "de", "train").select([]).to_parquet(
        str(empty / "de" / "train.parquet")
    )
    (empty / "README.md").write_text(
        "---\nconfigs:\n- config_name: de\n  data_files:\n  - split: train\n    path: de/train.parquet\n---\n"
    )
    with pytest.raises(UsageError, match=r"^--dataset .*empty: config 'de' split 'train' is empty"):
        load_split(empty, "de", "train")
    corrupted = tmp_path / "corrupted"
    shutil.copytree(tiny_dataset_dir, corrupted)
    shard = corrupted / "de" / "train.parquet"
    shard.write_bytes(shard.read_bytes()[:100])  # truncated: was a ValueError, a traceback
    with pytest.raises(
        UsageError,
        match=rf"^--dataset .*corrupted: cannot load config 'de' split 'train': {shard}: not a "
        r"readable Parquet file",
    ):
        load_split(corrupted, "de", "train")

    from modeling_prixlm.formatting import add_prixlm_tokens

    no_german = plain_xlmr_tokenizer()
    add_prixlm_tokens(no_german, ["en"])
    rows = load_training_rows(tiny_dataset_dir, ["de", "en"], "all")
    with pytest.raises(ValueError, match=r"languages \['de'\] have no token"):
        tokenize_rows(rows, no_german)


def test_no_fact_shorter_than_max_fact_length_is_a_usage_error(tiny_dataset_dir, tiny_tokenizer):
    """It was a plain ValueError, a traceback out of train.py (`user_errors` catches
    `UsageError`s); the message names the option."""
    rows = load_training_rows(tiny_dataset_dir, ["de"], "single")
    with pytest.raises(
        UsageError, match=rf"^--max_fact_length 3: none of the {len(rows)} training facts is "
    ):
        tokenize_rows(rows, tiny_tokenizer, max_length=3)
    with pytest.raises(UsageError, match="^--tokenize_num_proc 0: at least 1"):
        tokenize_rows(rows, tiny_tokenizer, num_proc=0)


def test_collator_rejects_misaligned_features():
    with pytest.raises(ValueError, match="feature 0: input_ids and labels differ"):
        PrixLMCollator(1)([{"input_ids": [0, 1, 2], "labels": [-100, 1]}])
    assert torch.equal(
        PrixLMCollator(1, pad_to_multiple_of=8)([{"input_ids": [0], "labels": [-100]}])[
            "input_ids"
        ],
        torch.tensor([[0] + [1] * 7]),
    )


def test_load_split_names_the_dataset_whatever_loading_raises(monkeypatch, tmp_path):
    """A failure `load_kb` does not name itself (e.g. a Hub dataset's), or an empty split it
    returns, was a plain ValueError: a traceback out of train.py."""
    import datasets

    import prixlm.training.data as data

    def failing(*args, **kwargs):
        raise RuntimeError("boom\nmore")

    monkeypatch.setattr(data, "load_kb", failing)
    with pytest.raises(
        UsageError, match=r"^--dataset org/kb: cannot load config 'de' split 'train': boom$"
    ):
        load_split("org/kb", "de", "train")
    monkeypatch.setattr(data, "load_kb", lambda *a, **k: datasets.Dataset.from_dict({"x": []}))
    with pytest.raises(UsageError, match=r"^--dataset org/kb: config 'de' split 'train' is empty$"):
        load_split("org/kb", "de", "train")
