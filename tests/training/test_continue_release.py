"""Continue training a Prix-LM release (`train.py --base_model RELEASE`): a tiny release of
`train.py` (English only) trained further on English and German. The release's weights and
tokenizer load by class (none of the folder's code run), its tokens keep their ids and rows,
German gets a new token and new rows, and the new release records (train_results.json, its
card) that it continues that release; a resumed run is checked to continue the same one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fresh_process import OFFLINE, last_json_line, run_fresh
from hub_cache import hub_repo
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from transformers import XLMRobertaTokenizer

import train
from prixlm.cli import UsageError
from prixlm.release.report_checks import weights_digest
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import build_model_and_tokenizer, pretrain

ROOT = Path(__file__).resolve().parents[2]
SIZE = ["--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2",
        "--intermediate_size", "64", "--tokenizer_vocab_size", "120"]  # fmt: skip
SETTINGS = ["--per_device_train_batch_size", "8", "--gradient_accumulation_steps", "1",
            "--lp_eval_queries", "0", "--report_to", "none", "--disable_tqdm", "true",
            "--seed", "5", "--learning_rate", "3e-3"]  # fmt: skip
EMBEDDINGS = "roberta.embeddings.word_embeddings.weight"


def _continue(dataset: Path, release: Path | str, output: Path, *extra: str) -> list[str]:
    """train.py's options continuing `release` on English and German for 2 steps."""
    return ["--dataset", str(dataset), "--output_dir", str(output), "--languages", "en,de",
            "--base_model", str(release), "--max_steps", "2", "--save_steps", "1",
            *SETTINGS, *extra]  # fmt: skip


@pytest.fixture(scope="module")
def release(tiny_dataset_dir, tmp_path_factory) -> Path:
    """A tiny release of train.py trained from scratch on English alone (2 steps)."""
    output = tmp_path_factory.mktemp("first") / "first-run"
    argv = ["--dataset", str(tiny_dataset_dir), "--output_dir", str(output), "--languages", "en",
            "--max_steps", "2", *SIZE, *SETTINGS]  # fmt: skip
    return train.main(argv)


@pytest.fixture(scope="module")
def continued(release, tiny_dataset_dir, tmp_path_factory) -> Path:
    """The run folder of `release` continued on en and de (checkpoints 1 and 2, release)."""
    output = tmp_path_factory.mktemp("continued") / "second-run"
    train.main(_continue(tiny_dataset_dir, release, output))
    return output


def _no_remote_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any question of whether to run a folder's code fails the test (at a terminal, it
    asks the user)."""
    import transformers.dynamic_module_utils as dynamic
    import transformers.models.auto.auto_factory as auto_factory
    import transformers.models.auto.configuration_auto as configuration_auto
    import transformers.models.auto.tokenization_auto as tokenization_auto

    def refuse(*args, **kwargs):
        raise AssertionError("asked whether to run the folder's code")

    for module in (dynamic, auto_factory, configuration_auto, tokenization_auto):
        if hasattr(module, "resolve_trust_remote_code"):
            monkeypatch.setattr(module, "resolve_trust_remote_code", refuse)


@pytest.mark.parametrize(("init", "padding"), [("random", "64"), ("mean", "8")])
def test_the_release_starts_the_run_with_its_rows_and_ids(release, init, padding, monkeypatch):
    """Through train.py's path: every weight of the release as it was (its embedding and
    LM-head rows too), its tokens at their ids, and `[de]` added after them; the new rows
    alone start as `--new_token_init` says, padded to `--vocab_padding_multiple`."""
    _no_remote_code(monkeypatch)
    saved = load_file(str(release / "model.safetensors"))
    released = XLMRobertaTokenizer.from_pretrained(release)
    old = len(released)
    run = parse_training_arguments(
        ["--dataset", "d", "--base_model", str(release), "--new_token_init", init,
         "--vocab_padding_multiple", padding]
    )  # fmt: skip
    model, tokenizer = build_model_and_tokenizer(run.model, run.data, ["de", "en"], seed=0)
    state = model.state_dict()
    assert torch.equal(state[EMBEDDINGS][:old], saved[EMBEDDINGS][:old])
    assert torch.equal(state["lm_head.bias"][:old], saved["lm_head.bias"][:old])
    for name, tensor in saved.items():  # the encoder and the LM head's transform as released
        if name not in (EMBEDDINGS, "lm_head.bias", "lm_head.decoder.weight"):
            assert torch.equal(state[name], tensor), name
    assert tokenizer.convert_tokens_to_ids("[de]") == old  # the first new id
    vocabulary = tokenizer.get_vocab()
    assert {t: vocabulary[t] for t in released.get_vocab()} == released.get_vocab()
    assert model.config.language_token_ids == {
        "de": old,
        "en": released.convert_tokens_to_ids("[en]"),
    }
    assert model.config.vocab_size == old + 1
    rows = -(-(old + 1) // int(padding)) * int(padding)
    assert state[EMBEDDINGS].shape[0] == rows
    new_row = state[EMBEDDINGS][old]
    assert not torch.equal(new_row, torch.zeros_like(new_row))
    if init == "random":  # `_init_weights`, and the paper's LM-head bias 0
        assert state["lm_head.bias"][old].item() == 0.0
    else:  # the mean of the release's real rows (transformers' mean resizing)
        expected = saved["lm_head.bias"][:old].float().mean()
        assert state["lm_head.bias"][old].item() == pytest.approx(expected.item())
    assert model.config.object_attention == "prefix_bidirectional"  # the release's mask


def test_the_continued_release_records_the_release_it_continued(
    release, continued, tiny_dataset_dir
):
    results = json.loads((continued / "model" / "train_results.json").read_text("utf-8"))
    earlier = json.loads((release / "train_results.json").read_text("utf-8"))
    # the builds the release was trained on: evaluations of the new one check against them
    trained = {**earlier["training_split"], "trained_configs": earlier["languages"]}
    assert results["continued_from"].pop("training_splits") == [trained]
    assert earlier["training_split"]["dataset"] == str(tiny_dataset_dir.resolve())
    assert results["continued_from"] == {
        "release": str(release.resolve()),
        "hub_id": None,
        "folder": str(release.resolve()),
        "name": "first-run",  # the release's card's title
        "languages": ["en"],
        "object_attention": "prefix_bidirectional",
        "model_weights_sha256": weights_digest(release),
    }
    assert results["languages"] == ["de", "en"]
    card = (continued / "model" / "README.md").read_text("utf-8")
    assert (
        "Continued from the Prix-LM release first-run (languages: en; a local folder, not on "
        "the Hub), trained further here: the results below are of the continued model."
    ) in card
    assert ModelCard.load(continued / "model" / "README.md").data.base_model is None  # no Hub id


#: In a fresh process: the continued release through AutoModel and AutoTokenizer.
LOAD = """
import json, sys, torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer
folder = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
encoder_too = AutoModel.from_pretrained(folder, trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
prompt = [0] + tokenizer.convert_tokens_to_ids(["[S]"]) + tokenizer("Deutschland", add_special_tokens=False).input_ids
prompt += [2, 2] + tokenizer.convert_tokens_to_ids(["[P]", "[de]", "[en]"]) + [2, 2, tokenizer.convert_tokens_to_ids("[O]")]
out = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=3)
print(json.dumps({"languages": model.config.language_token_ids, "vocab": tokenizer.get_vocab(),
                  "same_class": type(encoder_too).__name__, "generated": out.shape[1] > len(prompt)}))
"""


def test_the_continued_release_loads_in_a_fresh_process(release, continued, tmp_path):
    loaded = last_json_line(run_fresh(LOAD, continued / "model", cwd=tmp_path))
    released = XLMRobertaTokenizer.from_pretrained(release).get_vocab()
    assert loaded["languages"] == {"de": len(released), "en": released["[en]"]}
    assert {t: loaded["vocab"][t] for t in released} == released
    assert loaded["vocab"]["[de]"] == len(released) and loaded["generated"]


def test_a_continued_runs_checkpoints_hold_no_candidates_of_the_release(release, continued):
    """`save_pretrained` carries a loaded release's candidates and relations where it
    carries the pipeline's code; a checkpoint of a run continuing a release declares no
    pipeline and must not hold the release's (English only) candidates either: they are not
    the run's. The run's release gets the dataset's."""
    checkpoints = sorted(continued.glob("checkpoint-*"))
    assert checkpoints and (release / "candidates.json").is_file()
    for checkpoint in checkpoints:
        assert not (checkpoint / "candidates.json").exists()
        assert not (checkpoint / "relations.json").exists()
    candidates = json.loads((continued / "model" / "candidates.json").read_text("utf-8"))
    assert sorted(candidates) == ["de", "en"]


def test_the_continued_releases_tokenizer_is_its_models(continued):
    """The fingerprint in the continued release's config is of its whole vocabulary (the
    new language's tokens too), not of the tokens its release had (what resizing the
    embeddings for `[de]` records): the package's loading takes its tokenizer."""
    from prixlm.model_loading import load_prixlm

    config = json.loads((continued / "model" / "config.json").read_text(encoding="utf-8"))
    assert config.get("vocabulary_fingerprint_tokens") is None
    model, tokenizer = load_prixlm(continued / "model", device="cpu")
    assert model.config.vocab_size == len(tokenizer)


def _interrupted(run: Path) -> None:
    """`run` as a run stopped after its first checkpoint: no later one, no release."""
    shutil.rmtree(run / "checkpoint-2")
    shutil.rmtree(run / "model")


def test_a_continued_run_resumes_as_the_same_run(release, continued, tiny_dataset_dir, tmp_path):
    """Resumed, the run ends with the weights of the uninterrupted one; continuing a release
    whose weights changed since the checkpoint is refused, naming it."""
    run = tmp_path / "again"
    shutil.copytree(continued, run)
    _interrupted(run)
    resumed = train.main(
        [*_continue(tiny_dataset_dir, release, run), "--resume_from_checkpoint", "true"]
    )
    first, second = (
        load_file(str(resumed / "model.safetensors")),
        load_file(str(continued / "model" / "model.safetensors")),
    )
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert json.loads((resumed / "train_results.json").read_text("utf-8"))["continued_from"][
        "model_weights_sha256"
    ] == weights_digest(release)
    # the same path, other weights (the release trained again in place): refused
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    other = tmp_path / "other"
    train.main(_continue(tiny_dataset_dir, copy, other))
    weights = load_file(str(copy / "model.safetensors"))
    weights[EMBEDDINGS] = weights[EMBEDDINGS] + 1.0
    save_file(weights, str(copy / "model.safetensors"), metadata={"format": "pt"})
    _interrupted(other)
    argv = [*_continue(tiny_dataset_dir, copy, other), "--resume_from_checkpoint", "true"]
    with pytest.raises(UsageError) as refused:
        pretrain(parse_training_arguments(argv))
    assert (
        f"this run differs from the checkpoint's in the weights of the release in --base_model "
        f"{copy.resolve()} (not those the checkpoint's run continued: the release changed since)"
    ) in str(refused.value)
    assert not (other / "model").exists()


def test_a_fact_length_beyond_the_releases_positions_is_refused(
    release, tiny_dataset_dir, tmp_path
):
    """The release (built with --max_fact_length 30) holds 60 tokens: facts of up to 61
    tokens would be kept; refused before any step, naming the length to pass."""
    output = tmp_path / "long"
    argv = _continue(tiny_dataset_dir, release, output, "--max_fact_length", "62")
    with pytest.raises(UsageError) as refused:
        pretrain(parse_training_arguments(argv))
    assert str(refused.value) == (
        f"--max_fact_length 62: the positions of --base_model {release} hold 60 tokens, and "
        "facts of up to 61 tokens would be kept; pass --max_fact_length 61 or less (facts "
        "that long or longer are dropped)"
    )
    assert not list(output.glob("checkpoint-*"))


def test_the_options_of_a_model_from_scratch_stay_refused(release, capsys):
    with pytest.raises(SystemExit):
        parse_training_arguments(
            ["--dataset", "d", "--base_model", str(release), "--hidden_size", "64"]
        )
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith(
        f"error: --hidden_size: not with --base_model {release} (it brings its own "
        "architecture and tokenizer); leave them out, or leave out --base_model to train a "
        "model from scratch"
    )


def test_a_release_continues_by_its_hub_id(release, tiny_dataset_dir, tmp_path):
    """`--base_model org/name` of a release in the Hub cache (offline): loaded by the same
    path; the new release's card names it as its `base_model:` and links it."""
    hf_home = tmp_path / "hf_home"
    hub_repo(hf_home, "me/prixlm-tiny", release)
    output = tmp_path / "from-hub"
    argv = _continue(tiny_dataset_dir, "me/prixlm-tiny", output)
    argv[argv.index("--save_steps") + 1] = "2"
    done = subprocess.run(
        [sys.executable, "train.py", *argv],
        cwd=ROOT, env={**__import__("os").environ, **OFFLINE, "HF_HOME": str(hf_home),
                       "OMP_NUM_THREADS": "1"},
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((output / "model" / "train_results.json").read_text("utf-8"))
    recorded = results["continued_from"]
    assert (recorded["release"], recorded["hub_id"], recorded["folder"]) == (
        "me/prixlm-tiny", "me/prixlm-tiny", None
    )  # fmt: skip
    assert recorded["model_weights_sha256"] == weights_digest(release)
    card = ModelCard.load(output / "model" / "README.md")
    assert card.data.base_model == "me/prixlm-tiny"
    assert (
        "Continued from the Prix-LM release [`me/prixlm-tiny`](https://huggingface.co/"
        "me/prixlm-tiny) (languages: en), trained further here" in card.text
    )
    from prixlm.training.release_start import hub_id_of

    snapshot = next((hf_home / "hub" / "models--me--prixlm-tiny" / "snapshots").iterdir())
    assert hub_id_of(str(snapshot)) == "me/prixlm-tiny"  # a cached copy given as a folder
    assert hub_id_of(str(release)) is None


def test_train_help_says_how_to_continue_a_release(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "Continue training a release: python train.py --base_model RELEASE_FOLDER_OR_HUB_ID "
        "--dataset my-kb/ --languages de,en,sw --output_dir runs/prixlm-more." in text
    )


def test_a_continued_run_resumes_with_its_release_moved(
    release, continued, tiny_dataset_dir, tmp_path
):
    """The release is compared by its weights, not its path: moved since the checkpoint, the
    run resumes from its new folder (it was refused for the path it no longer has, and that
    path, given, failed on 'Repo id must be in the form ...'); a folder that is gone is
    named as such."""
    run = tmp_path / "again"
    shutil.copytree(continued, run)
    _interrupted(run)
    moved = tmp_path / "moved" / "release"
    shutil.copytree(release, moved)
    gone = tmp_path / "gone" / "release"
    argv = [*_continue(tiny_dataset_dir, gone, run), "--resume_from_checkpoint", "true"]
    with pytest.raises(UsageError) as refused:
        pretrain(parse_training_arguments(argv))
    assert str(refused.value) == (f"--base_model {gone}: no such folder (nor a Hub id: ORG/NAME)")
    argv = [*_continue(tiny_dataset_dir, moved, run), "--resume_from_checkpoint", "true"]
    resumed = pretrain(parse_training_arguments(argv))
    first, second = (
        load_file(str(resumed / "model.safetensors")),
        load_file(str(continued / "model" / "model.safetensors")),
    )
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    recorded = json.loads((resumed / "train_results.json").read_text("utf-8"))["continued_from"]
    assert (recorded["folder"], recorded["model_weights_sha256"]) == (
        str(moved.resolve()), weights_digest(release)
    )  # fmt: skip
    # finished, and the release moved again: the same run has nothing to train
    again = tmp_path / "moved-again"
    shutil.copytree(moved, again)
    argv = [*_continue(tiny_dataset_dir, again, run), "--resume_from_checkpoint", "true"]
    assert pretrain(parse_training_arguments(argv)) == resumed


@pytest.mark.parametrize(
    ("option", "value"), [("--object_attent", "causal"), ("--hidden_si", "64")]
)
def test_an_abbreviated_option_is_refused_not_overridden(release, option, value, capsys):
    """argparse took `--object_attent causal` for `--object_attention`, but the release's own
    mask replaced it (the option was not seen as given), and `--hidden_si 64` passed the
    refusal of the options of a model from scratch, ignored: now no abbreviation is read."""
    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments(["--dataset", "d", "--base_model", str(release), option, value])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith(f"error: unrecognized arguments: {option} {value}")


def test_the_links_a_continued_release_saw_include_its_releases(
    continued, tiny_dataset_dir, tmp_path
):
    """XEL marks the links a model trained on as seen (`training_links`): a release continued
    on English alone (no link trained in that run) saw the en-de links of the release it
    continued; only its own run's record was read, so they all counted as unseen."""
    from prixlm.similarity.xel_cldr import training_links

    base = continued / "model"  # trained on en and de, with their links
    seen = training_links(tiny_dataset_dir, base)
    assert seen and {(s, o) for s, _, o, _ in seen} == {("de", "en"), ("en", "de")}
    english = tmp_path / "english"  # its release continued on English: what train.py records
    shutil.copytree(base, english)
    results = json.loads((english / "train_results.json").read_text("utf-8"))
    results.update(languages=["en"], continued_from={"folder": str(base), "release": str(base)})
    (english / "train_results.json").write_text(json.dumps(results), "utf-8")
    assert training_links(tiny_dataset_dir, english) == seen
    # a release whose run record is not here (a Hub id, the official checkpoint): every link
    results["continued_from"] = {"folder": None, "release": "org/prixlm", "hub_id": "org/prixlm"}
    (english / "train_results.json").write_text(json.dumps(results), "utf-8")
    assert training_links(tiny_dataset_dir, english) == training_links(tiny_dataset_dir)
