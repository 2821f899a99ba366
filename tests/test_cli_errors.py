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
    ("train", "--base_model {root}/run --dataset {root}/dataset --languages en --output_dir {root}/run2",
     "--base_model {root}/run: a training run folder; its release folder is {root}/run/model"),
    ("train", "--dataset {root}/dataset --languages en --tokenizer_dir {root}/nowhere --output_dir {root}/run2",
     "--tokenizer_dir {root}/nowhere: no such folder, nor a Hub tokenizer that loads ("),
    ("train", "--dataset {root}/dataset --languages en --tokenizer_dir {root}/dataset --output_dir {root}/run2",
     "--tokenizer_dir {root}/dataset: cannot load a tokenizer from this folder (Couldn't instantiate"),
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
    ("prixlm.release.model_card", "{root}/nowhere --evaluation {root}/link_prediction_test.json",
     "FOLDER {root}/nowhere: not a model folder"),
    ("prixlm.similarity.probing", "--model {root}/run/model --probes {root}/dataset",
     "--probes {root}/dataset: not a probes folder (no <language>/templates.jsonl)"),
    ("prixlm.similarity.probing", "--model {root}/run/model --probes {root}/nowhere",
     "--probes {root}/nowhere: no such folder"),
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
    _assert_one_error_line(capsys, module, argv, message, root=tiny_demo_output)


def _assert_one_error_line(capsys, module: str, argv: str, message: str, **paths) -> None:
    """`module`'s `main(argv)` exits 2 with one `error:` line holding `message` (both
    formatted with `paths`) on stderr, besides warnings, and no traceback."""
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_info:
        returned = main(argv.format(**paths).split())
        raise SystemExit(returned)  # the commands that return their status
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message.format(**paths) in lines[0] and "Traceback" not in err


@pytest.fixture(scope="module")
def damaged_inputs(tiny_demo_output, tmp_path_factory):
    """`{bad}`: the demo's dataset with a truncated `en/train.parquet` (`ds_bad`), its model
    with a truncated `model.safetensors` (`mtr`), candidate files with an empty list
    (`empty.json`) and without the test rows' gold objects (`no_gold.json`)."""
    import shutil

    bad = tmp_path_factory.mktemp("damaged")
    shutil.copytree(tiny_demo_output / "dataset", bad / "ds_bad")
    shutil.copytree(tiny_demo_output / "run" / "model", bad / "mtr")
    for path in (bad / "ds_bad" / "en" / "train.parquet", bad / "mtr" / "model.safetensors"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    (bad / "empty.json").write_text(json.dumps({"en": []}), encoding="utf-8")
    (bad / "no_gold.json").write_text(json.dumps({"en": ["not a gold"]}), encoding="utf-8")
    return bad


EVALUATE = "prixlm.link_prediction.evaluate_lp --model {root}/run/model --dataset {root}/dataset"
TRAIN = " ".join(["--output_dir {bad}/run", "--tokenizer_vocab_size 600 --hidden_size 32",
                  "--num_hidden_layers 1 --num_attention_heads 2 --intermediate_size 64",
                  "--max_steps 1 --warmup_steps 0 --report_to none --disable_tqdm true"])  # fmt: skip
#: (command line with {root} for the demo output and {bad} for `damaged_inputs`, message)
DAMAGED_CASES = [
    pytest.param(
        "prixlm.link_prediction.evaluate_lp --model {root}/run/model --dataset {bad}/ds_bad "
        "--languages en",
        "--dataset {bad}/ds_bad: cannot load config 'en' split 'train': "
        "{bad}/ds_bad/en/train.parquet: not a readable Parquet file (Parquet magic bytes",
        id="evaluate_lp-truncated-parquet"),
    pytest.param(
        f"train --dataset {{bad}}/ds_bad --languages en {TRAIN}",
        "--dataset {bad}/ds_bad: cannot load config 'en' split 'train': "
        "{bad}/ds_bad/en/train.parquet: not a readable Parquet file",
        id="train-truncated-parquet"),
    pytest.param(
        f"train --dataset {{root}}/dataset --languages en --max_fact_length 3 {TRAIN}",
        "--max_fact_length 3: none of the ", id="train-max_fact_length-too-short"),
    pytest.param(
        "prixlm.link_prediction.evaluate_lp --model {bad}/mtr --dataset {root}/dataset "
        "--languages en",
        "--model {bad}/mtr: cannot load its weights (Error while deserializing header",
        id="evaluate_lp-truncated-weights"),
    pytest.param(
        "prixlm.complete --model {bad}/mtr --dataset {root}/dataset --target_language ja "
        "--output {bad}/x.nt",
        "--model {bad}/mtr: cannot load its weights (", id="complete-truncated-weights"),
    pytest.param(
        f"{EVALUATE} --languages en --candidates {{bad}}/empty.json",
        "--candidates {bad}/empty.json: the list of 'en' is empty",
        id="evaluate_lp-empty-candidates"),
    pytest.param(
        f"{EVALUATE} --languages en --candidates {{bad}}/no_gold.json",
        "--candidates {bad}/no_gold.json: the list of 'en' lacks the gold object of ",
        id="evaluate_lp-gold-not-a-candidate"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "message"), DAMAGED_CASES)
def test_a_damaged_input_is_one_error_line_and_exit_2(
    tiny_demo_output, damaged_inputs, capsys, monkeypatch, command, message
):
    """A truncated Parquet shard or weights file, a candidate list that is empty or lacks
    a gold object, facts all longer than --max_fact_length: each was a traceback."""
    # `Dataset.map`'s progress bar on stderr is no error line (the module, not its class)
    datasets_tqdm = importlib.import_module("datasets.utils.tqdm")
    monkeypatch.setattr(datasets_tqdm, "_hf_datasets_progress_bars_disabled", True)
    module, argv = command.split(" ", 1)
    _assert_one_error_line(capsys, module, argv, message, root=tiny_demo_output, bad=damaged_inputs)


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
        ("--max_steps 0", "error: --max_steps 0: at least 1 (or -1: --num_train_epochs decides)"),
        ("--max_steps -2", "error: --max_steps -2: at least 1"),
        ("--per_device_train_batch_size 0", "error: --per_device_train_batch_size 0: at least 1"),
        ("--gradient_accumulation_steps 0", "error: --gradient_accumulation_steps 0: at least 1"),
        ("--num_train_epochs 0", "error: --num_train_epochs 0.0: more than 0"),
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
    "option",
    ["--max_steps -1", "--max_steps 7 --num_train_epochs 0", "--max_steps 1 --warmup_steps 0"],
)
def test_train_step_counts_that_transformers_reads_stay_legal(option):
    """-1 is the Trainer's "--num_train_epochs decides"; with --max_steps the epochs are unused."""
    from prixlm.training.arguments import parse_training_arguments

    run = parse_training_arguments(["--dataset", "d", "--output_dir", "o", *option.split()])
    assert run.training.max_steps == int(option.split()[1])


#: (module, argv, the error line): values refused by the parser, before any data or model
#: is read (the demo's -1 became an epoch-based run with a checkpoint at every step).
RANGE_CASES = [
    ("prixlm.demo", "--max_steps -1", "error: --max_steps -1: at least 1"),
    ("prixlm.demo", "--max_steps 0", "error: --max_steps 0: at least 1"),
    ("prixlm.demo", "--num_beams 0", "error: --num_beams 0: at least 1"),
    ("prixlm.demo", "--test_queries -1", "error: --test_queries -1: at least 0"),
    ("prixlm.completion.measure", "--model m --dataset d --target_language de --output o.json "
     "--max_per_pair 0", "error: --max_per_pair 0: at least 1"),
    ("prixlm.completion.measure", "--model m --dataset d --target_language de --output o.json "
     "--num_beams 0", "error: --num_beams 0: at least 1"),
    ("prixlm.similarity.xel", "--model m --batch_size 0", "error: --batch_size 0: at least 1"),
    ("prixlm.similarity.probing", "--model m --probes p --batch_size 0",
     "error: --batch_size 0: at least 1"),
    ("prixlm.similarity.plain_mlm", "--reference r --dataset d --languages en --output_dir o "
     "--max_steps 0", "error: --max_steps 0: at least 1"),
    ("prixlm.similarity.plain_mlm", "--reference r --dataset d --languages en --output_dir o "
     "--max_steps 5 --batch_size 0", "error: --batch_size 0: at least 1"),
    ("prixlm.similarity.mirror", "--model m --output_dir o --batch_size 0",
     "error: --batch_size 0: at least 2"),
    ("prixlm.similarity.mirror", "--model m --output_dir o --temperature 0",
     "error: --temperature 0.0: more than 0"),
    ("prixlm.similarity.mirror", "--model m --output_dir o --max_steps 0",
     "error: --max_steps 0: at least 1 (or -1: --num_train_epochs)"),
]  # fmt: skip


#: What each command does after parsing: replaced, so that a value the parser let through
#: fails the test at once instead of running the command.
WORK = {
    "prixlm.demo": ["run_demo"],
    "prixlm.completion.measure": ["_measure"],
    "prixlm.similarity.xel": ["_load_embedder", "prixlm.similarity.xel_cldr.cldr_xel_queries"],
    "prixlm.similarity.probing": ["read_mlama", "evaluate_probing"],
    "prixlm.similarity.plain_mlm": ["kb_label_texts", "train_plain_mlm"],
    "prixlm.similarity.mirror": ["kb_label_words", "read_words", "mirror_tune"],
}


@pytest.mark.parametrize(("module", "argv", "message"), RANGE_CASES)
def test_out_of_range_counts_are_refused_by_the_parser(
    tmp_path, monkeypatch, capsys, module, argv, message
):
    def work(*args, **kwargs):
        raise AssertionError(f"{module} went on with {argv}")

    for name in WORK[module]:
        monkeypatch.setattr(name if "." in name else f"{module}.{name}", work)
    monkeypatch.chdir(tmp_path)  # the demo's default --output_dir is relative: never made
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(argv.split())
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[-1] and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_the_demo_recipe_needs_a_step_count():
    from prixlm.training.arguments import demo_training_argv

    argv = demo_training_argv("d", "r", "en", 8)
    assert argv[argv.index("--save_steps") + 1] == "2"
    with pytest.raises(ValueError, match="--max_steps -1: at least 1"):
        demo_training_argv("d", "r", "en", -1)


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


@pytest.fixture(scope="module")
def bad_files(tiny_demo_output, tmp_path_factory):
    """`{files}`: a copy of the demo's model (`m`, changed by nothing on the demo's), word
    and XEL files (`empty.txt`, `one.txt`, `q.txt`, `t.txt`; `bytes.txt`, `q_bytes.txt`: not
    UTF-8 on line 2), `notpng.png` (text), a probes folder with a line not UTF-8 (`probes`)."""
    import shutil

    files = tmp_path_factory.mktemp("files")
    shutil.copytree(tiny_demo_output / "run" / "model", files / "m")
    texts = {"empty.txt": "\n", "one.txt": "one\n", "q.txt": "C1||hello\n", "t.txt": "C2||world\n",
             "notpng.png": "a text file\n", "folder/x": ""}  # fmt: skip
    for name, text in texts.items():
        (files / name).parent.mkdir(exist_ok=True)
        (files / name).write_text(text, encoding="utf-8")
    (files / "bytes.txt").write_bytes(b'{"en": ["ok",\n"\xff"]}\n')
    (files / "q_bytes.txt").write_bytes(b"C1||hello\nC2||\xff\n")
    probes = files / "probes" / "en"
    probes.mkdir(parents=True)
    (probes / "templates.jsonl").write_text(
        '{"relation": "currency", "template": "[X] pays with [Y] ."}\n', encoding="utf-8"
    )
    (probes / "currency.jsonl").write_bytes(b'{"sub_label": "a", "obj_label": "b"}\n\xfe\n')
    return files


MIRROR = "prixlm.similarity.mirror --output_dir {files}/tuned --max_steps 1 --batch_size 2"
XEL = "prixlm.similarity.xel --model {files}/m --benchmark xlbel"
#: (command line with {root} for the demo output and {files} for `bad_files`, message)
INPUT_FILE_CASES = [
    # mirror: tracebacks, and one word trained (loss 0) into a "tuned" model, rc 0
    pytest.param(f"{MIRROR} --model {{files}}/m --words {{files}}/empty.txt",
                 "--words {files}/empty.txt: no words", id="mirror-empty-words"),
    pytest.param(f"{MIRROR} --model {{files}}/m --words {{files}}/nowhere.txt",
                 "{files}/nowhere.txt: No such file", id="mirror-missing-words"),
    pytest.param(f"{MIRROR} --model {{files}}/m --words {{files}}/bytes.txt",
                 "--words {files}/bytes.txt:2: not UTF-8", id="mirror-words-not-utf8"),
    pytest.param(f"{MIRROR} --model {{files}}/m --dataset {{files}}/nowhere",
                 "--dataset {files}/nowhere: no such folder", id="mirror-missing-dataset"),
    pytest.param(f"{MIRROR} --model {{files}}/nowhere --words {{files}}/one.txt",
                 "--model {files}/nowhere: no such folder", id="mirror-missing-model"),
    pytest.param(f"{MIRROR} --model {{files}}/m --words {{files}}/one.txt",
                 "--words {files}/one.txt: 1 word; Mirror-BERT needs at least 2",
                 id="mirror-one-word"),
    # xel: tracebacks after loading the model, or after all the work
    pytest.param(f"{XEL} --queries en={{files}}/q.txt --targets {{files}}/empty.txt",
                 "--targets {files}/empty.txt: no entity names", id="xel-empty-targets"),
    pytest.param(f"{XEL} --queries en={{files}}/empty.txt --targets {{files}}/t.txt",
                 "--queries en={files}/empty.txt: no queries", id="xel-empty-queries"),
    pytest.param("prixlm.similarity.xel --model nowhere --benchmark xlbel --queries "
                 "en={files}/q.txt --targets {files}/t.txt",
                 "--model nowhere: no such folder", id="xel-missing-model"),
    pytest.param(f"{XEL} --queries en={{files}}/q.txt --targets {{files}}/t.txt --output "
                 "{files}/folder", "--output {files}/folder: a folder is there",
                 id="xel-output-folder"),
    # input files that are not UTF-8: a traceback, or an error naming no file
    pytest.param(f"{XEL} --queries en={{files}}/q_bytes.txt --targets {{files}}/t.txt",
                 "{files}/q_bytes.txt:2: not UTF-8", id="xel-queries-not-utf8"),
    pytest.param("prixlm.release.convert_official {files}/m {files}/converted --candidates "
                 "{files}/bytes.txt", "{files}/bytes.txt:2: not UTF-8",
                 id="convert_official-candidates-not-utf8"),
    pytest.param("prixlm.release.model_card {files}/m --evaluation {files}/bytes.txt",
                 "{files}/bytes.txt:2: not UTF-8", id="model_card-evaluation-not-utf8"),
    pytest.param("prixlm.similarity.probing --model {files}/m --probes {files}/probes",
                 "{files}/probes/en/currency.jsonl:2: not UTF-8", id="probing-probes-not-utf8"),
    pytest.param("prixlm.similarity.probing --model {files}/m --probes {files}/probes "
                 "--languages en,jp", "--languages jp: no probes in {files}/probes (its "
                 "languages: en)", id="probing-languages-not-in-probes"),
    # a traceback; a text file copied into the release as its lp_curve.png, rc 0
    pytest.param("prixlm.similarity.probing_export --dataset {root}/dataset --languages en "
                 "--output_dir {files}/t.txt", "--output_dir {files}/t.txt: a file is there",
                 id="probing_export-output_dir-a-file"),
    pytest.param("prixlm.release.model_card {files}/m --curve {files}/notpng.png",
                 "--curve {files}/notpng.png: not a PNG image", id="model_card-curve-not-png"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "message"), INPUT_FILE_CASES)
def test_a_bad_input_file_is_one_error_line_and_changes_nothing(
    tiny_demo_output, bad_files, capsys, command, message
):
    before = _tree(bad_files)
    module, argv = command.split(" ", 1)
    _assert_one_error_line(capsys, module, argv, message, root=tiny_demo_output, files=bad_files)
    assert _tree(bad_files) == before  # no tuned model, no copied curve, no new card


def _tree(root) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


#: (command line with {root} for the demo output, message, what each command does after
#: its checks: replaced, so that a command that went on fails at once)
OUTPUT_ON_INPUT_CASES = [
    pytest.param("prixlm.completion.measure --model {root}/run/model --dataset {root}/dataset "
                 "--target_language ja --num_beams 2 --max_per_pair 2 --output {root}/dataset/ja/train.parquet",
                 "--output {root}/dataset/ja/train.parquet: inside --dataset {root}/dataset",
                 "prixlm.model_loading.load_prixlm", id="measure-output"),
    pytest.param("prixlm.completion.measure --model {root}/run/model --dataset {root}/dataset "
                 "--target_language ja --num_beams 2 --max_per_pair 2 --output {root}/m.json --plot "
                 "{root}/run/model/lp_curve.png",
                 "--plot {root}/run/model/lp_curve.png: inside --model {root}/run/model",
                 "prixlm.model_loading.load_prixlm", id="measure-plot"),
    pytest.param("prixlm.similarity.xel --model {root}/run/model --languages de --output "
                 "{root}/run/model/config.json",
                 "--output {root}/run/model/config.json: inside --model {root}/run/model",
                 "prixlm.similarity.xel_cldr.cldr_xel_queries", id="xel-output"),
    pytest.param("prixlm.similarity.probing --model {root}/run/model --probes {root}/dataset "
                 "--output {root}/run/model/README.md",
                 "--output {root}/run/model/README.md: inside --model {root}/run/model",
                 "prixlm.similarity.probing.read_mlama", id="probing-output"),
    pytest.param("prixlm.experiments.kge_search --dataset {root}/dataset --language en "
                 "--profile toy --output {root}/dataset/en/kge.json",
                 "--output {root}/dataset/en/kge.json: inside --dataset {root}/dataset",
                 "prixlm.experiments.kge_search.search", id="kge_search-output"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "message", "work"), OUTPUT_ON_INPUT_CASES)
def test_an_output_on_an_input_is_refused_before_any_work(
    tiny_demo_output, capsys, monkeypatch, command, message, work
):
    """Each replaced the Parquet shard, the model's config or card with its report, rc 0."""

    def went_on(*args, **kwargs):
        raise AssertionError(f"{command} went on")

    monkeypatch.setattr(work, went_on)
    before = {name: _tree(tiny_demo_output / name) for name in ("dataset", "run/model")}
    module, argv = command.split(" ", 1)
    _assert_one_error_line(capsys, module, argv, message, root=tiny_demo_output)
    assert {name: _tree(tiny_demo_output / name) for name in before} == before
