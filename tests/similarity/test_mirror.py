"""prixlm.similarity.mirror (Mirror-BERT tuning) and plain_mlm (the plain-text baseline)."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from tiny_models import TINY_FACTS

from prixlm.similarity.embedder import EncoderEmbedder, PrixLMEmbedder, load_embedder
from prixlm.similarity.mirror import (
    MirrorCollator,
    erase_and_mask,
    frequent_words,
    info_nce_loss,
    main,
    mirror_tune,
)
from prixlm.similarity.plain_mlm import train_plain_mlm

WORDS = sorted({part for fact in TINY_FACTS for part in fact})


def test_info_nce_equals_a_hand_computed_value():
    s = 1 / math.sqrt(2)
    first = torch.tensor([[2.0, 0.0], [0.0, 1.0]])  # lengths do not matter (cosine)
    second = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    tau = 0.5

    def term(positive: float, others: list[float]) -> float:
        return -math.log(math.exp(positive / tau) / sum(math.exp(c / tau) for c in others))

    # anchors a1=(1,0), a2=(0,1), b1=(1,0), b2=(s,s); each row: positive, all but itself
    expected = (
        term(1.0, [0.0, 1.0, s])  # a1: a2, b1 (positive), b2
        + term(s, [0.0, 0.0, s])  # a2: a1, b1, b2 (positive)
        + term(1.0, [1.0, 0.0, s])  # b1: a1 (positive), a2, b2
        + term(s, [s, s, s])  # b2: a1, a2 (positive), b1
    ) / 4
    loss = info_nce_loss(first, second, tau)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="temperature=0"):
        info_nce_loss(first, second, 0)


def test_span_masking_follows_mirror_bert():
    rng = random.Random(0)
    assert erase_and_mask("Japan", "<mask>", 5, 30, rng) == "Japan"  # too short
    text = "International System of Units (SI)"
    masked = erase_and_mask(text, "<mask>", 5, 30, rng)
    assert masked != text and "<mask>" in masked
    left, right = masked.split(" <mask> ")
    assert (
        len(left) + len(right) == len(text) - 5 and text.startswith(left) and text.endswith(right)
    )


def test_collator_gives_two_views(tiny_tokenizer):
    collator = MirrorCollator(tiny_tokenizer, min_masked_chars=0, span_mask_length=2)
    batch = collator([{"text": "Swiss franc"}, {"text": "euro"}])
    assert batch["input_ids"].shape[0] == batch["twin_input_ids"].shape[0] == 2
    assert tiny_tokenizer.mask_token_id in batch["twin_input_ids"].tolist()[0]
    assert tiny_tokenizer.mask_token_id not in batch["input_ids"].tolist()[0]
    short = MirrorCollator(tiny_tokenizer, max_length=3)([{"text": "Swiss franc Japan"}])
    assert short["input_ids"].shape == (1, 3)


def test_frequent_words():
    words = frequent_words(["Swiss franc", "CFA franc (BCEAO)", "franc", "Swiss-German", "2 x"])
    assert words[0] == "franc" and words[1] == "Swiss" and "2" not in words
    assert "Swiss-German" in words and len(frequent_words(["a b c"], limit=2)) == 2


def test_mirror_tuning_and_the_plain_baseline_save_loadable_folders(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "kb")
    tokenizer.save_pretrained(tmp_path / "kb")
    (tmp_path / "kb" / "candidates.json").write_text(json.dumps({"en": WORDS[:3]}))
    before = PrixLMEmbedder(model, tokenizer, pooling="first").embed(WORDS)
    tuned = mirror_tune(
        tmp_path / "kb", tmp_path / "kb-mirror", WORDS, max_steps=3, batch_size=8,
        learning_rate=1e-3,
    )  # fmt: skip
    embedder = load_embedder(str(tuned), pooling="first")
    assert isinstance(embedder, PrixLMEmbedder) and not isinstance(embedder, EncoderEmbedder)
    after = embedder.embed(WORDS)
    assert after.shape == before.shape and (after - before).abs().max() > 1e-4
    assert not (tmp_path / ".kb-mirror.trainer").exists()
    # a release like its source: the pipeline its config names loads (it lacked the code)
    assert (tuned / "candidates.json").read_text() == (
        tmp_path / "kb" / "candidates.json"
    ).read_text()
    from transformers import pipeline

    assert (
        type(pipeline(model=str(tuned), trust_remote_code=True)).__name__ == "PrixLMLinkPrediction"
    )
    with pytest.raises(TypeError, match="unknown Mirror-BERT settings"):
        mirror_tune(tmp_path / "kb", tmp_path / "x", WORDS, tau=0.1)

    plain = train_plain_mlm(tmp_path / "kb", WORDS, tmp_path / "plain", max_steps=2, batch_size=8)
    baseline = load_embedder(str(plain), pooling="mean", batch_size=3)
    assert isinstance(baseline, EncoderEmbedder)
    assert baseline.model.config.hidden_size == model.config.hidden_size
    assert baseline.model.config.num_hidden_layers == model.config.num_hidden_layers
    vectors = baseline.embed(WORDS)
    assert vectors.shape == before.shape
    together = load_embedder(str(plain), pooling="mean", batch_size=64).embed(WORDS)
    torch.testing.assert_close(vectors, together, rtol=0, atol=1e-5)
    plain_tuned = mirror_tune(plain, tmp_path / "plain-mirror", WORDS, max_steps=2, batch_size=8)
    assert isinstance(load_embedder(str(plain_tuned)), EncoderEmbedder)


def test_cli_reads_a_word_list(tiny_prixlm, tmp_path, capsys):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "kb")
    tokenizer.save_pretrained(tmp_path / "kb")
    words = tmp_path / "words.txt"
    words.write_text("\n".join(WORDS) + "\n\n", encoding="utf-8")
    argv = ["--model", str(tmp_path / "kb"), "--output_dir", str(tmp_path / "out"), "--words"]
    tuned = main([*argv, str(words), "--max_steps", "1", "--batch_size", "4"])
    assert (tuned / "model.safetensors").is_file() and (tuned / "tokenizer_config.json").is_file()
    old = main(["--model", str(tmp_path / "kb"), "--output", str(tmp_path / "old"), "--words",
                str(words), "--max_steps", "1", "--batch_size", "4"])  # fmt: skip
    assert old == tmp_path / "old" and (old / "model.safetensors").is_file()  # old spelling
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:  # one error line naming the file
        main([*argv, str(empty)])
    assert exit_info.value.code == 2
    assert f"error: --words {empty}: no words" in capsys.readouterr().err
