from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import tiny_texts
from transformers import AutoTokenizer

from prixlm.training.tokenizer_training import train_tokenizer


def test_xlmr_layout_reload_and_determinism(tmp_path: Path):
    tokenizer = train_tokenizer(tiny_texts(), vocab_size=150)
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3]) == ["<s>", "<pad>", "</s>", "<unk>"]
    assert tokenizer.convert_ids_to_tokens(len(tokenizer) - 1) == "<mask>"
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.sep_token_id) == (1, 0, 2)
    encoded = tokenizer("Japanese yen", "Swiss franc")["input_ids"]
    assert encoded[0] == 0 and encoded.count(2) == 3 and encoded[-1] == 2
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded).__name__ == "XLMRobertaTokenizer"
    for text in ["Japanese yen", "Deutschland Währung", "日本円", "unseen Ωmega"]:
        assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert train_tokenizer(tiny_texts(), vocab_size=150).get_vocab() == tokenizer.get_vocab()


def test_a_vocabulary_too_small_for_the_characters_is_a_clear_error():
    """The Rust trainer's message named no size (a toy profile on real DBP-5L names met it)."""
    texts = [chr(0x4E00 + i) * 2 for i in range(300)]
    with pytest.raises(ValueError, match=r"vocab_size=100: too small for the 300 distinct .*305"):
        train_tokenizer(texts, 100)
    assert len(train_tokenizer(texts, 305).get_vocab()) >= 305


def test_training_on_the_demos_names_gives_the_same_ids_and_files(tmp_path: Path):
    """The trainer's scores vary in their last bits from run to run: 8 to 18 of the demo's
    6,000 pieces (en, de, ja) took other ids, so `make demo` trained another model each run."""
    from prixlm.data.cldr.export import build_locale_kb

    texts = [
        label for code in ("en", "de", "ja") for label in build_locale_kb(code).labels.values()
    ]
    runs = [train_tokenizer(texts, vocab_size=6000) for _ in range(4)]
    for index, tokenizer in enumerate(runs):
        tokenizer.save_pretrained(tmp_path / str(index))
    files = {(tmp_path / str(i) / "tokenizer.json").read_bytes() for i in range(len(runs))}
    assert len(files) == 1 and all(run.get_vocab() == runs[0].get_vocab() for run in runs)
