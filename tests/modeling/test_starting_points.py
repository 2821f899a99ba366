"""Starting points: the official release converter and `from_xlm_roberta`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    XLMRobertaConfig,
    XLMRobertaForCausalLM,
    XLMRobertaForMaskedLM,
)

from modeling_prixlm.formatting import encode_triple
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.release.convert_official import convert_official, main


def _xlmr_config(vocab_size: int, is_decoder: bool) -> XLMRobertaConfig:
    return XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        layer_norm_eps=1e-5,
        is_decoder=is_decoder,
    )


def _official_release(tokenizer, folder: Path, is_decoder: bool = False) -> XLMRobertaForCausalLM:
    """A random XLMRobertaForCausalLM written the way the official release is (no `is_decoder`)."""
    torch.manual_seed(3)
    official = XLMRobertaForCausalLM(_xlmr_config(len(tokenizer), is_decoder=is_decoder)).eval()
    folder.mkdir()
    config = official.config.to_dict()
    config.pop("is_decoder", None)
    (folder / "config.json").write_text(json.dumps(config))
    state = {k: v for k, v in official.state_dict().items() if not k.startswith("lm_head.decoder.")}
    state["roberta.embeddings.position_ids"] = torch.arange(64)[None]  # the 4.x int64 buffer
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "added_tokens.json").write_text(json.dumps(tokenizer.get_added_vocab()))
    tokenizer.save_pretrained(folder)
    return official


@pytest.mark.parametrize(("mode", "is_decoder"), [("causal", True), ("bidirectional", False)])
def test_converted_official_checkpoint_gives_identical_logits(
    tiny_tokenizer, tmp_path, mode, is_decoder
):
    official = _official_release(tiny_tokenizer, tmp_path / "official", is_decoder)
    (tmp_path / ".converted.partial").mkdir()  # left by a killed conversion: removed
    destination = convert_official(
        tmp_path / "official", tmp_path / "converted", object_attention=mode
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["converted", "official"]
    assert sorted(
        p.name for p in destination.iterdir() if p.suffix in {".bin", ".safetensors"}
    ) == ["model.safetensors"]
    # max_position_embeddings 64, positions start at pad_token_id + 1 = 2: 62 tokens fit
    assert AutoTokenizer.from_pretrained(destination).model_max_length == 62
    converted = AutoModelForCausalLM.from_pretrained(destination, trust_remote_code=True).eval()
    assert converted.config.object_attention == mode and converted.config.vocab_size == len(
        tiny_tokenizer
    )
    fact = encode_triple(tiny_tokenizer, "Japan", "currency", "Japanese yen")
    ids = torch.tensor([fact.input_ids])
    with torch.no_grad():
        expected = official(ids, attention_mask=torch.ones_like(ids)).logits
        got = converted(ids, use_cache=False).logits
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_converted_folder_is_self_contained_with_candidates(tiny_tokenizer, tmp_path, capsys):
    """Issue 11: the converted folder carries the pipeline, handler.py and `--candidates`."""
    _official_release(tiny_tokenizer, tmp_path / "official")
    candidates = {"en": ["euro", "Japanese yen"], "de": ["Euro"]}
    (tmp_path / "candidates.json").write_text(json.dumps(candidates))
    main([str(tmp_path / "official"), str(tmp_path / "out"), "--candidates", str(tmp_path / "candidates.json")])  # fmt: skip
    destination = tmp_path / "out"
    assert capsys.readouterr().out.strip() == str(destination)
    assert json.loads((destination / "candidates.json").read_text()) == candidates
    assert {"pipeline_prixlm.py", "handler.py", "beam_search.py"} <= {
        p.name for p in destination.iterdir()
    }
    config = json.loads((destination / "config.json").read_text())
    assert "prixlm-link-prediction" in config["custom_pipelines"]
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(SystemExit) as exit_info:  # one error line, exit 2
        main([str(tmp_path / "official"), str(tmp_path / "out2"), "--candidates", str(tmp_path / "bad.json")])  # fmt: skip
    assert exit_info.value.code == 2
    assert "bad.json: expected {language: [label" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()


def test_converter_rejects_foreign_weights_and_existing_output(tiny_tokenizer, tmp_path):
    _official_release(tiny_tokenizer, tmp_path / "official")
    state = torch.load(tmp_path / "official" / "pytorch_model.bin", weights_only=True)
    state["bert.extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "official" / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"unexpected \['bert.extra.weight'\]"):
        convert_official(tmp_path / "official", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        convert_official(tmp_path / "official", tmp_path / "exists")
    # a config.json that does not fit the weights: named, not a RuntimeError traceback
    del state["bert.extra.weight"]
    torch.save(state, tmp_path / "official" / "pytorch_model.bin")
    config = json.loads((tmp_path / "official" / "config.json").read_text())
    (tmp_path / "official" / "config.json").write_text(json.dumps({**config, "hidden_size": 64}))
    with pytest.raises(
        ValueError, match=r"official: the weights do not fit its config\.json \(.*size mismatch"
    ):
        convert_official(tmp_path / "official", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_converter_failing_midway_leaves_no_output(tiny_tokenizer, tmp_path, monkeypatch):
    _official_release(tiny_tokenizer, tmp_path / "official")

    def save_then_fail(self, folder, **kwargs):
        (Path(folder) / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(PrixLMForCausalKB, "save_pretrained", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        convert_official(tmp_path / "official", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official"]


def test_from_xlm_roberta_keeps_weights_and_adds_tokens(tmp_path):
    from prixlm.training.tokenizer_training import train_tokenizer

    tokenizer = train_tokenizer(
        ["Japan", "currency", "Japanese yen", "Germany", "euro"] * 5, vocab_size=60
    )
    torch.manual_seed(0)
    base = XLMRobertaForMaskedLM(_xlmr_config(len(tokenizer), is_decoder=False))
    base.save_pretrained(tmp_path / "xlmr")
    tokenizer.save_pretrained(tmp_path / "xlmr")
    vocab = len(tokenizer)
    model, prix_tokenizer = PrixLMForCausalKB.from_xlm_roberta(str(tmp_path / "xlmr"), ["fr", "en"])
    assert prix_tokenizer.convert_tokens_to_ids(
        ["[S]", "[P]", "[O]", "[EOS]", "[en]", "[fr]"]
    ) == list(range(vocab, vocab + 6))
    assert model.config.vocab_size == vocab + 6 and model.config.language_token_ids == {
        "en": vocab + 4,
        "fr": vocab + 5,
    }
    torch.testing.assert_close(
        model.roberta.encoder.layer[1].output.dense.weight,
        base.roberta.encoder.layer[1].output.dense.weight,
    )
    torch.testing.assert_close(
        model.get_input_embeddings().weight[:vocab], base.roberta.embeddings.word_embeddings.weight
    )
    assert model.lm_head.decoder.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.generation_config.eos_token_id == model.config.end_of_object_token_id
    # loading compares the tokenizer found with the one the model was made with
    from modeling_prixlm.tokenizer_checks import tokenizer_mismatch, vocabulary_fingerprint

    assert model.config.vocabulary_fingerprint == vocabulary_fingerprint(prix_tokenizer)
    assert tokenizer_mismatch(prix_tokenizer, model.config) is None
    fact = encode_triple(prix_tokenizer, "Japan", "currency", "euro")
    loss = model(torch.tensor([fact.input_ids]), labels=torch.tensor([fact.labels])).loss
    assert torch.isfinite(loss)
    # the checkpoint's dropout unless told; told, every dropout module has it
    config = _xlmr_config(len(tokenizer), is_decoder=False)
    assert model.config.hidden_dropout_prob == config.hidden_dropout_prob > 0
    model, _ = PrixLMForCausalKB.from_xlm_roberta(str(tmp_path / "xlmr"), ["fr"], dropout=0.0)
    assert model.config.hidden_dropout_prob == model.config.attention_probs_dropout_prob == 0.0
    dropouts = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and set(dropouts) == {0.0}
    assert {m.dropout_prob for m in model.modules() if hasattr(m, "dropout_prob")} <= {0.0}
    model.train()
    ids = torch.tensor([fact.input_ids])
    torch.testing.assert_close(model(ids).logits, model(ids).logits)  # nothing dropped


@pytest.mark.parametrize("init", ["random", "mean"])
def test_from_xlm_roberta_starts_new_tokens_as_told(tmp_path, init):
    """The paper's new tokens are "randomly initialized" (rows N(0, 0.02), LM-head bias 0, as
    transformers gave new rows then); `mean`: around the mean of XLM-R's rows and bias."""
    from prixlm.training.tokenizer_training import train_tokenizer

    tokenizer = train_tokenizer(["Japan", "currency", "Japanese yen"] * 5, vocab_size=60)
    torch.manual_seed(0)
    base = XLMRobertaForMaskedLM(_xlmr_config(len(tokenizer), is_decoder=False))
    with torch.no_grad():  # rows far from 0: a mean start and a random one differ plainly
        base.roberta.embeddings.word_embeddings.weight.add_(1.0)
        base.lm_head.bias.fill_(-3.0)
    base.save_pretrained(tmp_path / "xlmr")
    tokenizer.save_pretrained(tmp_path / "xlmr")
    vocab = len(tokenizer)
    model, _ = PrixLMForCausalKB.from_xlm_roberta(
        str(tmp_path / "xlmr"), ["en", "fr"], new_token_init=init
    )
    new_rows = model.get_input_embeddings().weight[vocab : vocab + 6].detach()
    new_bias = model.lm_head.bias[vocab : vocab + 6].detach()
    if init == "random":
        assert abs(new_rows.mean().item()) < 0.05 and 0.01 < new_rows.std().item() < 0.03
        assert new_bias.abs().max().item() == 0.0
    else:
        assert abs(new_rows.mean().item() - 1.0) < 0.01 and new_rows.std().item() < 0.01
        torch.testing.assert_close(new_bias, torch.full((6,), -3.0))
    with pytest.raises(ValueError, match="new_token_init 'zeros'"):
        PrixLMForCausalKB.from_xlm_roberta(str(tmp_path / "xlmr"), ["en"], new_token_init="zeros")


def test_from_xlm_roberta_refuses_what_is_not_an_xlmr_checkpoint_with_its_tokenizer(tmp_path):
    """A BERT folder (pad id 1), an encoder without its LM head and a tokenizer of another
    size were all accepted: the first two trained random weights, the last gave the new
    tokens the checkpoint's old rows or real pieces new ones."""
    from transformers import BertConfig, BertForMaskedLM, XLMRobertaModel

    from prixlm.training.tokenizer_training import train_tokenizer

    tokenizer = train_tokenizer(["Japan", "currency", "Japanese yen", "euro"] * 5, vocab_size=60)
    config = _xlmr_config(len(tokenizer), is_decoder=False)
    cases = {
        "bert": BertForMaskedLM(
            BertConfig(
                vocab_size=len(tokenizer),
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                pad_token_id=1,
            )
        ),  # fmt: skip
        "encoder": XLMRobertaModel(config),
        "rows": XLMRobertaForMaskedLM(_xlmr_config(len(tokenizer) + 8, is_decoder=False)),
    }
    expected = {
        "bert": "model type 'bert', not an XLM-R checkpoint",
        "encoder": "not an XLM-R masked-LM checkpoint: no weights for ['lm_head.",
        "rows": f"its tokenizer has {len(tokenizer)} tokens but the model {len(tokenizer) + 8}",
    }
    for name, model in cases.items():
        model.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
        with pytest.raises(ValueError, match=re.escape(expected[name])):
            PrixLMForCausalKB.from_xlm_roberta(str(tmp_path / name), ["en"])
