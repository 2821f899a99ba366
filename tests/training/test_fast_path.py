"""The fast training path through the Trainer: packed rows under `torch_compile` train as
padded rows do in eager mode, static batch shapes as dynamic ones (through train.py too);
the GPU benchmark's toy run on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_models import TINY_FACTS, make_tiny_model
from transformers import Trainer, TrainingArguments

from modeling_prixlm.formatting import encode_triple
from prixlm.training.collator import PrixLMCollator, static_batch_shape
from prixlm.training.data import load_training_rows

ROOT = Path(__file__).resolve().parents[2]


def _losses(tokenizer, tmp_path: Path, name: str, **collator_and_compile):
    """Logged losses of 2 Trainer steps, and the graphs and graph breaks dynamo saw."""
    compile_backend = collator_and_compile.pop("compile_backend", None)
    model = make_tiny_model(tokenizer, dropout=0.0)
    facts = [encode_triple(tokenizer, *fact) for fact in TINY_FACTS] * 2
    collator = PrixLMCollator(
        tokenizer.pad_token_id,
        object_token_id=model.config.object_token_id,
        position_budget=model.config.max_position_embeddings - model.config.pad_token_id - 1,
        **collator_and_compile,
    )
    args = TrainingArguments(
        output_dir=str(tmp_path / name),
        per_device_train_batch_size=12,
        max_steps=2,
        learning_rate=1e-3,
        adam_beta2=0.98,
        use_cpu=True,
        torch_compile_backend=compile_backend,
        remove_unused_columns=False,
        logging_steps=1,
        logging_nan_inf_filter=False,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    dataset = [{"input_ids": f.input_ids, "labels": f.labels} for f in facts]
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    counters = torch._dynamo.utils.counters
    counters.clear()
    try:
        trainer.train()
        graphs, breaks = counters["stats"]["unique_graphs"], sum(counters["graph_break"].values())
    finally:
        torch._dynamo.reset()
    losses = [record["loss"] for record in trainer.state.log_history if "loss" in record]
    return losses, graphs, breaks


def test_compiled_packed_training_matches_eager_padded_training(tiny_tokenizer, tmp_path):
    eager, graphs, _ = _losses(tiny_tokenizer, tmp_path, "eager")
    assert graphs == 0
    compiled, graphs, breaks = _losses(
        tiny_tokenizer,
        tmp_path,
        "compiled",
        packing=True,
        pack_length=64,
        compile_backend="aot_eager",
    )
    assert graphs >= 1 and breaks == 0
    assert len(eager) == len(compiled) == 2
    assert compiled == pytest.approx(eager, abs=1e-4)


def _tiny_features(tokenizer):
    facts = [encode_triple(tokenizer, *fact) for fact in TINY_FACTS]
    return [{"input_ids": f.input_ids, "labels": f.labels} for f in facts]


def test_static_shapes_pad_every_batch_to_one_shape_and_grow_with_a_warning(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    features = _tiny_features(tiny_tokenizer)
    dynamic = PrixLMCollator.for_model(model.config, packing=True, pack_length=64)
    rows, labels = static_batch_shape(dynamic, features * 4, batch_size=6, samples=16)
    assert rows >= 2 and labels % 64 == 0
    static = PrixLMCollator.for_model(
        model.config, packing=True, pack_length=64, pad_rows_to=rows, pad_labels_to=labels
    )
    shapes = set()
    for start in range(0, len(features), 6):
        batch = static(features[start : start + 6])
        assert batch["label_positions"].shape == batch["label_targets"].shape == (labels,)
        shapes.add(tuple(batch["input_ids"].shape))
        for key in ("attention_mask", "labels", "position_ids", "fact_ids"):
            assert batch[key].shape == batch["input_ids"].shape, key
        assert (
            batch["fact_ids"][dynamic(features[start : start + 6])["input_ids"].shape[0] :] == -1
        ).all()
    assert shapes == {(rows, 64)}
    tight = PrixLMCollator.for_model(
        model.config, packing=True, pack_length=64, pad_rows_to=1, pad_labels_to=8
    )
    with pytest.warns(UserWarning, match="more than pad_rows_to=1"):
        batch = tight(features)  # 12 facts need more than one row: a larger shape, nothing cut
    assert batch["input_ids"].shape[0] == 8 and batch["label_positions"].shape[0] == 64
    torch.testing.assert_close(
        batch["attention_mask"].sum(), dynamic(features)["attention_mask"].sum()
    )


def test_static_shapes_train_as_dynamic_shapes_do(tiny_tokenizer, tmp_path):
    dynamic, _, _ = _losses(tiny_tokenizer, tmp_path, "dynamic", packing=True, pack_length=64)
    static, _, _ = _losses(
        tiny_tokenizer,
        tmp_path,
        "static",
        packing=True,
        pack_length=64,
        pad_rows_to=8,
        pad_labels_to=128,
    )
    assert len(static) == 2 and static == pytest.approx(dynamic, abs=1e-4)


def test_train_py_with_static_shapes_logs_the_losses_of_dynamic_shapes(
    tiny_dataset_dir, tmp_path, capfd
):
    import train

    args = [
        "--dataset", str(tiny_dataset_dir), "--languages", "en,de", "--hidden_size", "32",
        "--num_hidden_layers", "2", "--num_attention_heads", "2", "--intermediate_size", "64",
        "--tokenizer_vocab_size", "120", "--per_device_train_batch_size", "8",
        "--gradient_accumulation_steps", "1", "--lp_eval_queries", "0", "--report_to", "none",
        "--disable_tqdm", "true", "--seed", "7", "--logging_steps", "1", "--max_steps", "3",
        "--save_strategy", "no", "--dropout", "0",
    ]  # fmt: skip
    losses = {}
    for name, extra in (("dynamic", []), ("static", ["--static_shapes"])):
        release = train.main([*args, "--output_dir", str(tmp_path / name), *extra])
        history = json.loads((release / "train_results.json").read_text())
        losses[name] = history
    assert "static batch shape:" in capfd.readouterr().err
    # every fact of the config is counted: trained on, or dropped by the length filter
    facts = len(load_training_rows(tiny_dataset_dir, ["en", "de"], "all"))
    for history in losses.values():
        assert history["train_facts"] + history["train_facts_dropped"] == facts
        assert history["train_facts"] > 0
    assert losses["static"]["train_loss"] == pytest.approx(
        losses["dynamic"]["train_loss"], abs=1e-4
    )


def test_trainer_counts_parameters_once_for_its_flops(tiny_tokenizer, tmp_path):
    from prixlm.training.trainer import PrixLMTrainer

    model = make_tiny_model(tiny_tokenizer)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    ours, theirs = PrixLMTrainer(model=model, args=args), Trainer(model=model, args=args)
    inputs = {"input_ids": torch.ones(3, 7, dtype=torch.long)}
    assert ours.floating_point_ops(inputs) == theirs.floating_point_ops(inputs) > 0
    assert ours._non_embedding_parameters == model.num_parameters(exclude_embeddings=True)


def test_gpu_benchmark_runs_at_toy_size_on_the_cpu(tmp_path):
    output = tmp_path / "bench.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_gpu_train.py"), "--device", "cpu", "--tiny",
         "--threads", "1", "--dataloader_workers", "0", "--work_dir", str(tmp_path / "runs"),
         "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith("ratio fast path / previous path")
    report = json.loads(output.read_text())
    assert set(report["facts_per_s"]) == {
        "xlmr_causal_lm",
        "before",
        "after",
        "after_static",
        "after_static_cudagraphs",
    }
    assert all(value > 0 for value in report["facts_per_s"].values())
    assert set(report["useful_mfu"]) == set(report["facts_per_s"])
    assert report["device"].startswith("cpu") and "bench_gpu_train.py" in report["command"]
    settings = report["settings"]
    assert settings["vocab"] == 1013 and 18.5 < settings["mean_fact_tokens"] < 19.5
    # packing leaves less padding than padding every fact to its batch's longest
    assert (
        report["paths"]["after"]["padding_fraction"] < report["paths"]["before"]["padding_fraction"]
    )
    # static shapes: sized from the data, every batch of that shape
    rows, labels = report["paths"]["after_static"]["static_shape"]
    assert report["paths"]["after_static"]["batch_shape"] == [rows, 128] and labels % 64 == 0
    assert report["paths"]["after"]["static_shape"] is None
    steps = report["paths"]["after"]["step_ms"]  # every timed step, for slow-step hunting
    assert len(steps) == settings["steps"] and all(t > 0 for t in steps)
    assert max(steps) == pytest.approx(report["paths"]["after"]["step_ms_min_max"][1], abs=0.01)


def test_static_shapes_resume_the_same_run(tiny_dataset_dir, tiny_tokenizer, tmp_path):
    from test_train_runs import _args

    from prixlm.training.arguments import parse_training_arguments
    from prixlm.training.resume import check_same_run, run_record, write_run_record

    argv = _args(tiny_dataset_dir, tmp_path / "run")
    plain = run_record(parse_training_arguments(argv), tiny_tokenizer)
    static = parse_training_arguments([*argv, "--static_shapes", "--pad_rows_to", "9"])
    assert static.data.static_shapes and static.data.pad_rows_to == 9
    checkpoint = tmp_path / "checkpoint-4"
    checkpoint.mkdir()
    write_run_record(checkpoint, plain)
    check_same_run(checkpoint, run_record(static, tiny_tokenizer), tiny_tokenizer)  # no error
