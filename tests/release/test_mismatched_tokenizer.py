"""A release folder holding another build's tokenizer is refused where it is loaded.

Such a tokenizer can have the model's size and the model's ids of `[S] [P] [O] [EOS]` and of
the language tokens, and still give the words other ids: the model then reads every name as
other words, and the pipeline and the package's commands answered garbage (evaluation: 0.0)
with no message. Training records the vocabulary's fingerprint in `config.json`; the
package's loading (`load_prixlm`, every `--model`) and the folder's own pipeline compare it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from transformers import AutoTokenizer, pipeline

from prixlm.cli import UsageError
from prixlm.model_loading import load_prixlm


def _swap_two_words(folder: Path) -> tuple[str, str]:
    """Give two word pieces of the folder's tokenizer each other's id (scores and all): the
    same size, the same special and Prix-LM token ids, other word ids. Returns the pieces."""
    path = folder / "tokenizer.json"
    tokenizer = json.loads(path.read_text(encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    special = {token["id"] for token in tokenizer["added_tokens"]}
    first, second = [i for i in range(len(vocab)) if i not in special][:2]
    vocab[first], vocab[second] = vocab[second], vocab[first]
    path.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    return vocab[second][0], vocab[first][0]


def _swap_two_added_tokens(folder: Path, first: str = "<s>", second: str = "</s>") -> None:
    """Give two added tokens of the folder's tokenizer each other's id: the word pieces
    and every Prix-LM token keep theirs, a sequence's start and end are read swapped."""
    path = folder / "tokenizer.json"
    tokenizer = json.loads(path.read_text(encoding="utf-8"))
    ids = {token["content"]: token["id"] for token in tokenizer["added_tokens"]}
    for token in tokenizer["added_tokens"]:
        if token["content"] in (first, second):
            token["id"] = ids[second if token["content"] == first else first]
    vocab = tokenizer["model"]["vocab"]
    vocab[ids[first]], vocab[ids[second]] = vocab[ids[second]], vocab[ids[first]]
    path.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")


@pytest.fixture()
def swapped(released, tmp_path) -> Path:
    """A copy of the tiny release whose tokenizer is another build's (`_swap_two_words`)."""
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    _swap_two_words(folder)
    return folder


def test_the_release_records_the_fingerprint_of_the_tokenizer_saved_with_it(released):
    from modeling_prixlm.tokenizer_checks import vocabulary_fingerprint

    folder = released[2]
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    saved = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    assert config["vocabulary_fingerprint"] == vocabulary_fingerprint(saved)
    assert config["vocabulary_fingerprint"] == vocabulary_fingerprint(released[1])
    model, tokenizer = load_prixlm(folder, device="cpu")  # its own tokenizer: loads
    assert len(tokenizer) == len(released[1])
    answers = pipeline(model=str(folder), trust_remote_code=True)("Germany | currency", top_k=1)
    assert len(answers) == 1


def test_the_swapped_tokenizer_passes_the_special_token_checks(released, swapped):
    """What the fingerprint catches and the older checks did not: same size, same ids of
    every Prix-LM token, one word read as another."""
    from modeling_prixlm.formatting import check_tokenizer_matches

    original = AutoTokenizer.from_pretrained(released[2], trust_remote_code=True)
    other = AutoTokenizer.from_pretrained(swapped, trust_remote_code=True)
    check_tokenizer_matches(other, released[0].config)  # passes
    assert len(other) == len(original)
    assert other.get_added_vocab() == original.get_added_vocab()
    assert other.get_vocab() != original.get_vocab()


def test_load_prixlm_refuses_another_builds_tokenizer(swapped):
    with pytest.raises(UsageError) as raised:
        load_prixlm(swapped, device="cpu", argument="--model")
    message = str(raised.value)
    assert message.startswith(f"--model {swapped}: its tokenizer is not the one its model was ")
    assert "the tokenizer is another build's" in message
    assert "(tokenizer.json, tokenizer_config.json)" in message
    assert "config.json vocabulary_fingerprint" in message


def test_the_folders_pipeline_refuses_another_builds_tokenizer(swapped):
    with pytest.raises(ValueError) as raised:
        pipeline(model=str(swapped), trust_remote_code=True)
    message = str(raised.value)
    assert f"the tokenizer of {str(swapped)!r}" in message
    assert "is not the one its model" in message
    assert "the tokenizer is another build's" in message
    assert "copy the tokenizer files (tokenizer.json, tokenizer_config.json)" in message


def test_a_config_without_the_fingerprint_is_not_compared(swapped):
    """A release written before the field existed still loads (nothing to compare with)."""
    path = swapped / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    del config["vocabulary_fingerprint"]
    path.write_text(json.dumps(config), encoding="utf-8")
    model, _ = load_prixlm(swapped, device="cpu")
    assert model.config.vocabulary_fingerprint is None
    assert pipeline(model=str(swapped), trust_remote_code=True).languages == ["de", "en"]


def test_another_builds_added_token_ids_are_refused(released, tmp_path):
    """Two added tokens (`<s>`, `</s>`) with each other's ids: the word pieces and the
    Prix-LM tokens keep their ids, so only the fingerprint (added tokens included) tells."""
    from modeling_prixlm.formatting import check_tokenizer_matches

    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    _swap_two_added_tokens(folder)
    original = AutoTokenizer.from_pretrained(released[2], trust_remote_code=True)
    other = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    assert (other.bos_token_id, other.eos_token_id) == (
        original.eos_token_id,
        original.bos_token_id,
    )
    check_tokenizer_matches(other, released[0].config)  # passes
    with pytest.raises(UsageError, match="the tokenizer is another build's"):
        load_prixlm(folder, device="cpu", argument="--model")
    with pytest.raises(ValueError, match="the tokenizer is another build's"):
        pipeline(model=str(folder), trust_remote_code=True)


def _with_added_tokens(source: Path, folder: Path, swap_words: bool = False) -> list[str]:
    """The release of `source` extended as transformers users extend a model: its own
    tokenizer (two word pieces swapped first where `swap_words`: another build's)
    with two new tokens, `resize_token_embeddings(len(tokenizer))`, both saved to `folder`
    (the model code of the release's folder resizes). Returns the new tokens."""
    from transformers import AutoModelForCausalLM

    shutil.copytree(source, folder)
    if swap_words:
        _swap_two_words(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    added = ["Euroland", "Yenland"]
    tokenizer.add_tokens(added)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return added


def test_a_tokenizer_extended_with_add_tokens_and_resize_still_loads(released, tmp_path):
    """`tokenizer.add_tokens` then `model.resize_token_embeddings(len(tokenizer))`, both
    saved: the release's vocabulary with new ids after it. The config's fingerprint is of
    the trained vocabulary (its first ids), so the folder loads, and ranks as the release
    does over candidates of the trained vocabulary (new tokens only add to the softmax)."""
    folder = tmp_path / "extended"
    added = _with_added_tokens(released[2], folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    vocab = released[0].config.vocab_size
    assert config["vocab_size"] == vocab + len(added)
    assert config["vocabulary_fingerprint_tokens"] == vocab
    model, tokenizer = load_prixlm(folder, device="cpu")
    assert tokenizer.convert_tokens_to_ids(added) == [vocab, vocab + 1]
    answers = pipeline(model=str(folder), trust_remote_code=True)("Germany | currency", top_k=3)
    expected = pipeline(model=str(released[2]), trust_remote_code=True)(
        "Germany | currency", top_k=3
    )
    assert [a["object"] for a in answers] == [a["object"] for a in expected]


def test_another_builds_tokenizer_extended_with_add_tokens_is_still_refused(released, tmp_path):
    """The same extension of a tokenizer of another build (two word ids swapped) is refused:
    the fingerprint of the first ids tells the swap."""
    folder = tmp_path / "extended"
    _with_added_tokens(released[2], folder, swap_words=True)
    with pytest.raises(UsageError, match="the tokenizer is another build's"):
        load_prixlm(folder, device="cpu", argument="--model")
    with pytest.raises(ValueError, match="the tokenizer is another build's"):
        pipeline(model=str(folder), trust_remote_code=True)
