from __future__ import annotations

from pathlib import Path

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
