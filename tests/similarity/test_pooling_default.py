"""One embedding pooling default, first-token, at every entry point; a Mirror-tuned folder's
config records the pooling it was tuned with, which its embedders then use by default."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable

import pytest
import torch
from tiny_models import TINY_FACTS

import prixlm.similarity.mirror as mirror
import prixlm.similarity.study as study
import prixlm.similarity.xel as xel
from modeling_prixlm.modeling_prixlm import DEFAULT_POOLING, PrixLMForCausalKB
from prixlm.similarity.embedder import EncoderEmbedder, PrixLMEmbedder, load_embedder

TEXTS = sorted({part for fact in TINY_FACTS for part in fact})


class _Parsed(Exception):
    pass


def parsed_pooling(main: Callable, monkeypatch) -> str | None:
    """`--pooling` of the namespace that `main([])` parses (the command stops there)."""
    seen = {}

    def record(parser, args=None, namespace=None):
        seen["pooling"] = parser.get_default("pooling")
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", record)
    with pytest.raises(_Parsed):
        main([])
    return seen["pooling"]


def save(model, tokenizer, folder):
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_every_entry_point_defaults_to_first_token_pooling(tiny_prixlm, tmp_path, monkeypatch):
    model, tokenizer = tiny_prixlm
    assert DEFAULT_POOLING == "first"
    ids = torch.tensor([tokenizer("Japanese yen")["input_ids"]])
    with torch.no_grad():  # PrixLMForCausalKB.embed
        plain = model.embed(ids)
        torch.testing.assert_close(plain, model.embed(ids, pooling="first"), rtol=0, atol=0)
        assert (plain - model.embed(ids, pooling="mean")).abs().max() > 1e-3
    first = PrixLMEmbedder(model, tokenizer, pooling="first").embed(TEXTS)
    assert (
        first - PrixLMEmbedder(model, tokenizer, pooling="mean").embed(TEXTS)
    ).abs().max() > 1e-3
    torch.testing.assert_close(PrixLMEmbedder(model, tokenizer).embed(TEXTS), first, rtol=0, atol=0)
    assert EncoderEmbedder(model, tokenizer).pooling == "first"
    folder = str(save(model, tokenizer, tmp_path / "kb"))
    for embedder in (
        PrixLMEmbedder.from_pretrained(folder),
        load_embedder(folder),
        xel._load_embedder(folder, None, 64),  # `--pooling` unset
    ):
        assert embedder.pooling == "first"
        torch.testing.assert_close(embedder.embed(TEXTS), first, rtol=0, atol=1e-6)
    # the commands: `make similarity` (study), Mirror tuning (function, trainer and CLI)
    assert parsed_pooling(study.main, monkeypatch) == "first"
    assert parsed_pooling(mirror.main, monkeypatch) == "first"
    assert mirror.MIRROR_DEFAULTS["pooling"] == "first"
    assert inspect.signature(mirror.MirrorTrainer.__init__).parameters["pooling"].default == "first"


def test_a_mirror_tuned_folder_s_pooling_is_its_embedders_default(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    source = save(model, tokenizer, tmp_path / "kb")
    words = tmp_path / "words.txt"
    words.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    tuned = mirror.main(
        ["--model", str(source), "--output_dir", str(tmp_path / "mean"), "--words", str(words),
         "--max_steps", "1", "--batch_size", "4", "--pooling", "mean"]
    )  # fmt: skip
    assert json.loads((tuned / "config.json").read_text())["prixlm_pooling"] == "mean"
    mean = PrixLMEmbedder.from_pretrained(str(tuned), pooling="mean").embed(TEXTS)
    first = PrixLMEmbedder.from_pretrained(str(tuned), pooling="first").embed(TEXTS)
    assert (mean - first).abs().max() > 1e-3
    for embedder in (load_embedder(str(tuned)), PrixLMEmbedder.from_pretrained(str(tuned))):
        assert embedder.pooling == "mean"
        torch.testing.assert_close(embedder.embed(TEXTS), mean, rtol=0, atol=0)
    assert load_embedder(str(tuned), pooling="first").pooling == "first"  # explicit: it wins
    # the model's own embed reads the recorded pooling too
    loaded = PrixLMForCausalKB.from_pretrained(str(tuned)).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        own = loaded.embed(batch["input_ids"], batch["attention_mask"])
        as_mean = loaded.embed(batch["input_ids"], batch["attention_mask"], pooling="mean")
        as_first = loaded.embed(batch["input_ids"], batch["attention_mask"], pooling="first")
    torch.testing.assert_close(own, as_mean, rtol=0, atol=0)
    assert (own - as_first).abs().max() > 1e-3

    # the xel command embeds with it and reports it
    queries = tmp_path / "q.txt"
    queries.write_text("1 ||| Germany ||| Deutschland ||| LOC\n", encoding="utf-8")
    kb = tmp_path / "kb.txt"
    kb.write_text("1 ||| Germany ||| LOC\n2 ||| France ||| LOC\n", encoding="utf-8")
    output = tmp_path / "xel.json"
    xel.main(["--model", str(tuned), "--benchmark", "lrxel", "--queries", f"de={queries}",
              "--targets", str(kb), "--output", str(output)])  # fmt: skip
    assert json.loads(output.read_text(encoding="utf-8"))["pooling"] == "mean"

    # a default tuning records first-token pooling
    default = mirror.mirror_tune(source, tmp_path / "first", TEXTS, max_steps=1, batch_size=4)
    assert json.loads((default / "config.json").read_text())["prixlm_pooling"] == "first"
    assert load_embedder(str(default)).pooling == "first"
    with pytest.raises(ValueError, match="pooling='cls': expected one of"):
        mirror.mirror_tune(source, tmp_path / "x", TEXTS, pooling="cls")


def test_a_mirror_tuned_masked_lm_s_pooling_is_its_embedders_default(tiny_tokenizer, tmp_path):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
        pad_token_id=tiny_tokenizer.pad_token_id,
    )  # fmt: skip
    plain = save(XLMRobertaForMaskedLM(config), tiny_tokenizer, tmp_path / "plain")
    tuned = mirror.mirror_tune(plain, tmp_path / "tuned", TEXTS, max_steps=1, pooling="mean")
    embedder = load_embedder(str(tuned))
    assert isinstance(embedder, EncoderEmbedder) and embedder.pooling == "mean"
    expected = load_embedder(str(tuned), pooling="mean").embed(TEXTS)
    torch.testing.assert_close(embedder.embed(TEXTS), expected, rtol=0, atol=0)


def test_a_recorded_pooling_of_another_name_is_refused_naming_the_file(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    folder = save(model, tokenizer, tmp_path / "kb")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "prixlm_pooling": "max"}))
    with pytest.raises(ValueError, match=r"kb/config.json: prixlm_pooling='max': expected one of"):
        load_embedder(str(folder))
