"""A newcomer's ordinary mistakes, on the demo's outputs: one `error:` line naming the
argument, exit status 2, no traceback, for every command line.

Each case runs the command's `main` in this process against a tiny `make demo` output
(`tests/demo_output.py`).
"""

from __future__ import annotations

import importlib
import json

import pytest

#: (module, argv with {root} for the demo output, what the one error line must contain)
CASES = [
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run --dataset {root}/dataset --languages en",
     "--model {root}/run: a training run folder; its release folder is {root}/run/model"),
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/nowhere --dataset {root}/dataset --languages en", "--model {root}/nowhere"),
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/dataset --languages fr", "--languages fr:"),
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/dataset --languages en --split dev", "--split dev"),
    ("prixlm.link_prediction.evaluate_lp",
     "--model {root}/run/model --dataset {root}/nowhere --languages en", "--dataset {root}/nowhere"),
    ("train", "--dataset {root}/nowhere --output_dir {root}/run2", "--dataset {root}/nowhere"),
    ("train", "--dataset_dir {root}/nowhere --output_dir {root}/run2", "--dataset {root}/nowhere"),
    ("train", "--dataset {root}/dataset --languages en,de,fr --output_dir {root}/run2",
     "--languages fr:"),
    ("train", "--dataset {root}/dataset --languages en --lp_eval_split tset --output_dir {root}/run2",
     "--lp_eval_split tset: config 'en' of {root}/dataset has the splits ['test', 'train', 'validation']"),
    ("prixlm.complete",
     "--model {root}/run --dataset {root}/dataset --target_language ja --output {root}/x.nt",
     "--model {root}/run: a training run folder"),
    ("prixlm.complete",
     "--model {root}/run/model --dataset {root}/nowhere --target_language ja --output {root}/x.nt",
     "--dataset {root}/nowhere"),
    ("prixlm.complete",
     "--model {root}/run/model --dataset {root}/dataset --target_language et --output {root}/x.nt",
     "--target_language 'et': not a language of"),
    ("prixlm.release.convert_official", "{root}/run/model {root}/converted",
     "SRC {root}/run/model: already a Prix-LM folder"),
    ("prixlm.release.convert_official", "{root}/dataset {root}/converted",
     "SRC {root}/dataset: no config.json"),
    ("prixlm.data.cldr.export", "--languages xx --output_dir {root}/dumps2",
     "unknown CLDR locale(s) ['xx']"),
    ("prixlm.publish", "{root}/run me/x", "DIR {root}/run: a training run's output_dir"),
    ("prixlm.release.model_card", "{root}/nowhere", "{root}/nowhere"),
    ("prixlm.demo", "--languages xx --output_dir {root}/demo2", "unknown CLDR locale(s) ['xx']"),
    ("prixlm.similarity.xel", "--model {root}/run/model --languages dee", "unknown CLDR locale(s) ['dee']"),
    ("prixlm.similarity.xel", "--model {root}/run/model --languages de --training_dataset {root}/nowhere",
     "--training_dataset {root}/nowhere: no such folder"),
    ("prixlm.similarity.bli_cldr", "--pairs en-itt --output_dir {root}/bli", "--pairs en-itt: unknown locale 'itt'"),
    ("prixlm.similarity.plain_mlm",
     "--reference {root}/run/model --dataset {root}/dataset --languages en,fi --output_dir {root}/p --max_steps 1",
     "--languages fi: "),
]  # fmt: skip


@pytest.mark.parametrize(("module", "argv", "message"), CASES)
def test_a_mistake_is_one_error_line_and_exit_2(tiny_demo_output, capsys, module, argv, message):
    root = tiny_demo_output
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_info:
        returned = main(argv.format(root=root).split())
        raise SystemExit(returned)  # the commands that return their status
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message.format(root=root) in lines[0] and "Traceback" not in err


def test_limit_is_what_the_counts_report(tiny_demo_output, capsys):
    from prixlm.complete import main

    root = tiny_demo_output
    main(f"--model {root}/run/model --dataset {root}/dataset --target_language ja --limit 2 "
         f"--output {root}/limited.nt --num_beams 2 --no_progress".split())  # fmt: skip
    counts = capsys.readouterr().out.splitlines()[0]
    assert ", queries 2, queries_beyond_limit " in counts


def test_the_demo_release_card_has_its_test_results(tiny_demo_output):
    """No placeholder: the demo names its card, keeps its test results, a working tag."""
    from huggingface_hub import ModelCard

    folder = tiny_demo_output / "run" / "model"
    card = ModelCard.load(folder / "README.md")
    assert card.data.model_name == "prixlm-demo" and card.data.pipeline_tag == "other"
    assert {e.dataset_split for e in card.data.eval_results} >= {"test"}
    assert not card.data.datasets  # a local folder is no Hub dataset id
    relations = json.loads((folder / "relations.json").read_text(encoding="utf-8"))
    assert sorted(relations) == ["de", "en", "ja"] and "currency" in relations["de"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--variant both", "argument --variant: invalid choice: 'both'"),
        (
            "--object_attention prefix",
            "invalid choice: 'prefix' (choose from 'prefix_bidirectional'",
        ),
        ("--tokenize_num_proc 0", "error: --tokenize_num_proc 0: at least 1"),
        ("--label_smoothing_factor 0.1", "error: --label_smoothing_factor 0.1: not supported"),
        ("--max_length 0", "error: unrecognized arguments: --max_length 0"),
    ],
)
def test_train_option_values_are_usage_errors_before_any_work(capsys, option, message):
    """They were tracebacks (a ValueError after the tokenizer's training, for some); label
    smoothing trained each position against its own token."""
    from prixlm.training.arguments import parse_training_arguments

    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments(["--dataset", "d", "--output_dir", "o", *option.split()])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "message"),
    [("cdua", "'cdua': not a torch device (cpu, cuda, cuda:1, ...)"),
     ("cuda:7", "'cuda:7': ")],
)  # fmt: skip
def test_a_device_this_machine_cannot_use_is_a_usage_error(capsys, value, message):
    """A typo in --device, or a GPU the machine lacks, was a torch traceback after the model
    and the data had loaded."""
    import torch

    from prixlm.link_prediction.evaluate_lp import main

    if value.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "m", "--dataset", "d", "--languages", "en", "--device", value])
    assert exit_info.value.code == 2
    assert f"argument --device: {message}" in capsys.readouterr().err
