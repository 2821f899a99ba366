"""A model declares the languages it is trained on, not every language its tokenizer has.

`train.py --tokenizer_dir` may name another release's tokenizer, trained on more languages:
its `[ja]` stays in the vocabulary, but a run on en,de never trains it. The release's
`config.json` declared `[ja]` all the same, and every language check reads the config: a
completion into ja then ran on the untrained token. The config also records the
fingerprint of the tokenizer saved with the model (a resumed run: the same).
"""

from __future__ import annotations

import json
import shutil

import pytest
from transformers import AutoTokenizer, pipeline

from prixlm.training.model_factory import build_prixlm, prixlm_config_for

#: train.py arguments of a tiny run of two steps (en,de: the tiny KB's languages)
TINY_RUN = [
    "--languages", "en,de", "--hidden_size", "32", "--num_hidden_layers", "2",
    "--num_attention_heads", "2", "--intermediate_size", "64", "--max_steps", "2",
    "--per_device_train_batch_size", "8", "--gradient_accumulation_steps", "1",
    "--lp_eval_queries", "0", "--report_to", "none", "--disable_tqdm", "true", "--seed", "7",
]  # fmt: skip


def test_the_config_declares_only_the_languages_given(tiny_tokenizer):
    ids = {code: tiny_tokenizer.convert_tokens_to_ids(f"[{code}]") for code in ("de", "en")}
    config = prixlm_config_for(tiny_tokenizer, hidden_size=16, languages=["en", "DE"])
    assert config.language_token_ids == ids
    model = build_prixlm(tiny_tokenizer, hidden_size=16, num_attention_heads=2, languages=["en"])
    assert model.config.language_token_ids == {"en": ids["en"]}
    assert model.config.vocab_size == len(tiny_tokenizer)  # the other tokens stay


def test_without_languages_every_language_token_is_declared(tiny_tokenizer):
    config = prixlm_config_for(tiny_tokenizer, hidden_size=16)
    assert sorted(config.language_token_ids) == ["de", "en", "fr", "ja"]


def test_a_language_the_tokenizer_lacks_is_refused(tiny_tokenizer):
    with pytest.raises(ValueError, match="unknown language code 'ko'; known: de, en, fr, ja"):
        prixlm_config_for(tiny_tokenizer, hidden_size=16, languages=["en", "ko"])


def test_a_run_on_another_releases_tokenizer_declares_only_its_languages(
    tiny_dataset_dir, tiny_tokenizer, tmp_path
):
    """`--tokenizer_dir` of a tokenizer with de, en, fr and ja; a run on en,de: its release
    declares de and en, refuses a link from ja, and records the saved tokenizer's
    fingerprint; its release written again from its checkpoint, the same."""
    import train
    from modeling_prixlm.tokenizer_checks import vocabulary_fingerprint

    tokenizer_dir = tmp_path / "other_release_tokenizer"
    tiny_tokenizer.save_pretrained(tokenizer_dir)
    run = tmp_path / "run"
    common = ["--dataset", str(tiny_dataset_dir), "--output_dir", str(run), *TINY_RUN]
    release = train.main([*common, "--tokenizer_dir", str(tokenizer_dir), "--save_steps", "2"])

    config = json.loads((release / "config.json").read_text(encoding="utf-8"))
    saved = AutoTokenizer.from_pretrained(release, trust_remote_code=True)
    assert config["language_token_ids"] == {
        "de": saved.convert_tokens_to_ids("[de]"),
        "en": saved.convert_tokens_to_ids("[en]"),
    }
    assert saved.convert_tokens_to_ids("[ja]") != saved.unk_token_id  # kept in the vocabulary
    results = json.loads((release / "train_results.json").read_text(encoding="utf-8"))
    assert sorted(results["languages"]) == sorted(config["language_token_ids"])
    assert config["vocabulary_fingerprint"] == vocabulary_fingerprint(saved)

    pipe = pipeline(model=str(release), trust_remote_code=True)
    with pytest.raises(ValueError, match="language 'ja': the model has no language token"):
        pipe({"subject": "Japan", "language": "ja", "target_language": "en"})

    shutil.rmtree(release)  # stopped before its release: resumed, written from the checkpoint
    resumed = train.main(
        [*common, "--tokenizer_dir", str(tokenizer_dir), "--resume_from_checkpoint", "true"]
    )
    again = json.loads((resumed / "config.json").read_text(encoding="utf-8"))
    assert again["language_token_ids"] == config["language_token_ids"]
    assert again["vocabulary_fingerprint"] == config["vocabulary_fingerprint"]
