"""prixlm.similarity.study: the `make similarity` runner on the toy profile (every stage)."""

from __future__ import annotations

import json

import pytest

from prixlm.similarity import study


def test_toy_run_writes_sane_json_and_docs_and_resumes(tmp_path):
    paths = {
        "--results": tmp_path / "similarity.json",
        "--docs": tmp_path / "similarity.md",
        "--chart": tmp_path / "similarity_curve.png",
    }
    argv = ["--profile", "toy", "--work_dir", str(tmp_path / "work"), "--seed", "3"]
    for flag, path in paths.items():
        argv += [flag, str(path)]
    results = study.main(argv)
    assert json.loads(paths["--results"].read_text(encoding="utf-8")) == results
    assert set(results["models"]) == set(study.MODELS)
    for name, scores in results["models"].items():
        xel = scores["xel"]["all"]
        assert set(xel["per_language"]) == {"fi"} and 0 <= xel["average"]["accuracy"] <= 1
        assert xel["per_language"]["fi"]["num_queries"] > 500
        bli = scores["bli"]["en-fi"]
        assert bli["num_test_pairs"] > 50 and 0 <= bli["accuracy"] <= bli["hits_at_10"] <= 1
        assert ("probing" in scores) == (not name.endswith("+mirror"))
    assert results["models"]["kb"]["probing"]["single_token"]["per_language"].keys() == {"en", "fi"}
    assert results["dictionaries"]["en-fi"]["link_overlap"] == 0.0
    assert [point["step"] for point in results["curve"]] == [2]
    assert results["curve"][0]["lp_hits_at_1"] is not None
    assert results["settings"]["seed"] == 3 and results["settings"]["mirror"]["batch_size"] == 128
    assert "kb model" in results["wall_seconds"] and "--seed 3" in results["commands"]["kb_model"]
    # the CPU threads change the numbers: this start's and the KB training's are recorded
    import torch

    threads = torch.get_num_threads()
    assert results["torch_num_threads"] == results["kb_train_torch_num_threads"] == threads
    assert results["commands"]["kb_model"].startswith(f"OMP_NUM_THREADS={threads} python train.py")
    assert results["commands"]["runner"].startswith(f"OMP_NUM_THREADS={threads} python -m")
    page = paths["--docs"].read_text(encoding="utf-8")
    assert (
        "| Prix-LM (KB) + Mirror |" in page and "en-fi" in page and "similarity_curve.png" in page
    )
    assert paths["--chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run reuses every stage and every evaluation: nothing is rebuilt
    again = study.main(argv)
    assert again["wall_seconds"] == {}
    assert again["models"] == results["models"] and again["curve"] == results["curve"]
    # naming no report files, the toy profile writes into its work folder (not results/)
    unnamed = study.main(argv[:6])
    assert unnamed["models"] == results["models"]
    for path in paths.values():
        assert (tmp_path / "work" / path.name).is_file()
    # other settings would reuse stages made with these: refused
    with pytest.raises(SystemExit) as exit_info:
        study.main([*argv, "--seed", "9", "--pooling", "mean"])
    assert exit_info.value.code == 2


def test_mirror_is_tuned_with_the_pooling_the_study_embeds_with(tmp_path, monkeypatch):
    """`--pooling mean` embedded with mean pooling but Mirror-tuned the `<s>` state."""
    import argparse

    import prixlm.similarity.mirror as mirror
    import prixlm.similarity.plain_mlm as plain_mlm

    for folder in ("dataset", "kb/model", "plain/model"):
        (tmp_path / folder).mkdir(parents=True)
    monkeypatch.setattr(mirror, "kb_label_words", lambda *args, **kwargs: ["a", "b"])
    monkeypatch.setattr(plain_mlm, "kb_label_texts", lambda *args, **kwargs: ["a"])
    tuned = []

    class Tuned(Exception):
        pass

    def tune(source, output, words, seed=0, max_steps=-1, **overrides):
        tuned.append(overrides)
        raise Tuned

    monkeypatch.setattr(mirror, "mirror_tune", tune)
    args = argparse.Namespace(work_dir=tmp_path, profile="toy", seed=0, pooling="mean")
    with pytest.raises(Tuned):
        study.run(args)
    assert tuned == [{"pooling": "mean"}]


def test_committed_docs_are_the_rendering_of_the_committed_json():
    """The JSON is the claim: its page must come out of it (the BLI columns and the stages
    came out in another order than the page, which was rendered from the run's own dict)."""
    from pathlib import Path

    from prixlm.similarity.study_docs import render

    root = Path(__file__).resolve().parents[2]
    results = json.loads((root / "results" / "similarity.json").read_text("utf-8"))
    page = (root / "docs" / "similarity.md").read_text("utf-8")
    assert render(results, "similarity_curve.png") == page
    sorted_keys = json.loads(json.dumps(results, sort_keys=True))  # how earlier runs wrote it
    assert render(sorted_keys, "similarity_curve.png").split("## Run")[0] == page.split("## Run")[0]


def test_study_docs_names_a_missing_or_foreign_results_file(tmp_path, capsys):
    """One line, exit 2 (was a traceback), and no docs written."""
    from prixlm.similarity.study_docs import main as study_docs_main

    (tmp_path / "other.json").write_text('{"methods": {}}', encoding="utf-8")
    for name, message in (("nowhere.json", "No such file"), ("other.json", "no 'curve'")):
        with pytest.raises(SystemExit) as stopped:
            study_docs_main([str(tmp_path / name)])
        assert stopped.value.code == 2
        assert message in capsys.readouterr().err


def test_an_edited_profile_is_refused_in_the_same_work_dir(tmp_path, monkeypatch, capsys):
    """The run settings kept the profile's name only: an edited profile value (`max_steps`)
    reused every stage made with the old one while the JSON and docs stated the new one."""

    class Ran(Exception):
        pass

    def run(args):
        raise Ran

    monkeypatch.setattr(study, "run", run)
    argv = ["--profile", "toy", "--work_dir", str(tmp_path / "work")]
    with pytest.raises(Ran):
        study.main(argv)
    with pytest.raises(Ran):  # the same profile: goes on
        study.main(argv)
    monkeypatch.setitem(study.PROFILES, "toy", {**study.PROFILES["toy"], "max_steps": 3})
    with pytest.raises(SystemExit) as stopped:
        study.main(argv)
    assert stopped.value.code == 2
    assert "profile.max_steps 3 (the folder's: 2); go on with" in capsys.readouterr().err


def test_a_replaced_model_is_evaluated_again(tmp_path, monkeypatch):
    """The evaluations were kept by model name only: a model trained again at the same path
    (a removed stage output) was given the scores of the earlier one."""
    from prixlm.similarity import study_eval

    calls = []

    def fake(task):
        def evaluate(runner, model, *args):
            calls.append((task, model.name))
            return {"weights": (model / "model.safetensors").read_text()}

        return evaluate

    for task in ("xel", "bli", "probing"):
        monkeypatch.setattr(study_eval, f"_{task}", fake(task))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_text("first")
    runner = study.Runner(tmp_path / "work", study.PROFILES["toy"], 0, "first")

    def evaluate():
        return study_eval.evaluate_model(runner, "kb", model, tmp_path, tmp_path, None, model)

    assert evaluate()["bli"] == {"weights": "first"}
    assert evaluate()["xel"] == {"weights": "first"} and len(calls) == 3  # kept
    (model / "model.safetensors").write_text("second")
    assert evaluate() == {task: {"weights": "second"} for task in ("xel", "bli", "probing")}
    assert len(calls) == 6


class _Stop(Exception):
    pass


def test_kb_training_stopped_before_its_first_checkpoint_starts_again(tmp_path, monkeypatch):
    """A study stopped (kill, Ctrl-C) after the KB training wrote its curve at step 0 but
    before its first checkpoint: the next start trains again instead of being refused on
    every rerun ("holds an earlier run's link prediction curve")."""
    import prixlm.training.pretrain as pretrain_module
    from prixlm.training.resume import resume_checkpoint

    started: list[str | None] = []

    def pretrain_until_resume_is_known(run, callbacks=()):
        output_dir = run.training.output_dir
        started.append(resume_checkpoint(output_dir, run.training.resume_from_checkpoint))
        raise _Stop

    kb = tmp_path / "work" / "kb"
    kb.mkdir(parents=True)
    (kb / "lp_curve.csv").write_text("step,hits_at_1,mrr\n0,0.0,0.0\n", "utf-8")
    monkeypatch.setattr(pretrain_module, "pretrain", pretrain_until_resume_is_known)
    with pytest.raises(_Stop):
        study.main(["--profile", "toy", "--work_dir", str(tmp_path / "work")])
    assert started == [None]  # from scratch, in the same folder
