"""Options a run cannot honour are one `error:` line before any work; runs with several
processes say how big their updates are and which facts an epoch repeats."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from parsed_options import BASE, refused
from transformers.utils import is_torch_tf32_available

from prixlm.cli import UsageError
from prixlm.training.arguments import (
    PrixLMTrainingArguments,
    demo_training_argv,
    parse_training_arguments,
)
from prixlm.training.processes import (
    announce_processes,
    facts_repeated_per_epoch,
    process_notes,
    repeated_facts,
    trained_batches,
)


def test_fp16_on_the_cpu_is_refused_with_bf16_as_the_way(capsys):
    """accelerate turns fp16 on only off the CPU: the run trained in fp32 (bit-identical
    weights) while training_args.json and the card said fp16."""
    line = refused(capsys, "--fp16", "--use_cpu")
    assert line.endswith("error: --fp16: not on the CPU (fp16 mixed precision runs on a GPU only: "
                         "this run would train in fp32 while its records say fp16); use --bf16, "
                         "which runs on the CPU")  # fmt: skip
    assert parse_training_arguments([*BASE, "--bf16", "--use_cpu"]).training.bf16


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device: fp16 runs there")
def test_fp16_without_a_gpu_is_refused(capsys):
    line = refused(capsys, "--fp16")
    assert "error: --fp16: not on the CPU" in line and line.endswith(
        "use --bf16 --use_cpu, which runs on the CPU"
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device: bf16 may run there")
@pytest.mark.parametrize("option", ["--bf16", "--bf16_full_eval"])
def test_bf16_without_a_gpu_is_refused_with_use_cpu_as_the_way(capsys, option):
    """The Trainer's own check raised `ValueError: Your setup doesn't support bf16/gpu`
    (a traceback) while the arguments were parsed."""
    line = refused(capsys, option)
    assert line.endswith(
        f"error: {option}: no GPU here (bf16 mixed precision runs on a GPU, or on the CPU "
        f"with --use_cpu); use {option} --use_cpu, which runs on the CPU"
    )
    assert parse_training_arguments([*BASE, option, "--use_cpu"]).training.use_cpu


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--max_steps 1", "--warmup_steps 0.06: a warm-up of 1 step(s) covers all --max_steps 1"),
        ("--max_steps 2 --warmup_steps 2", "--warmup_steps 2: a warm-up of 2 step(s)"),
        ("--max_steps 5 --warmup_steps 0.99", "--warmup_steps 0.99: a warm-up of 5 step(s)"),
        ("--max_steps 3 --warmup_steps 7", "--warmup_steps 7: a warm-up of 7 step(s)"),
    ],
)
def test_a_warm_up_over_every_step_isrefused(capsys, options, message):
    """With --max_steps 1 and the default 6% warm-up the one update had learning rate 0:
    the release was the initial weights, its card saying 1 step trained."""
    line = refused(capsys, *options.split())
    assert f"error: {message}" in line and "lower --warmup_steps (0: none)" in line


@pytest.mark.parametrize(
    "options",
    [
        "--max_steps 2",  # ceil(0.06 x 2) = 1 warm-up step, then one at the peak
        "--max_steps 17",  # ceil(0.06 x 17) = 2
        "--max_steps 1 --warmup_steps 0",
        "--max_steps 3 --warmup_steps 2",
        "--max_steps 1 --lr_scheduler_type constant",  # reads no warm-up
        "--max_steps -1",  # the epochs decide: the steps are not known yet
    ],
)
def test_a_warm_up_shorter_than_the_run_is_kept(options):
    training = parse_training_arguments([*BASE, *options.split()]).training
    if training.max_steps > 0 and training.lr_scheduler_type != "constant":
        assert training.get_warmup_steps(training.max_steps) < training.max_steps


@pytest.mark.parametrize("max_steps", [1, 2, 4])
def test_the_demo_recipe_parses_at_every_step_count(max_steps):
    """`python -m prixlm.demo --max_steps 1` would be refused for a warm-up it never typed."""
    argv = demo_training_argv("d", "o", "en", max_steps)
    training = parse_training_arguments(argv).training
    assert training.warmup_steps == (0.06 if max_steps > 1 else 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--eval_strategy steps", "--eval_strategy steps: not supported (training runs no evaluation"),
        ("--eval_strategy epoch", "--eval_strategy epoch: not supported"),
        ("--eval_on_start true", "--eval_on_start: not supported (training runs no evaluation"),
        ("--load_best_model_at_end true", "--load_best_model_at_end: not supported"),
        ("--load_best_model_at_end true --eval_strategy steps", "--eval_strategy steps: not"),
        ("--gradient_checkpointing true", "--gradient_checkpointing: not supported (the Prix-LM model has no activation checkpointing)"),
        ("--activation_checkpointing", "--activation_checkpointing: not supported"),
    ],
)  # fmt: skip
def test_trainer_options_without_an_effect_here_are_refused_before_any_work(
    capsys, options, message
):
    """They were tracebacks: the Trainer's (no eval_dataset; checkpointing the model does
    not support) after the tokenizer's training, or TrainingArguments' at parsing."""
    assert f"error: {message}" in refused(capsys, *options.split())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--lr_scheduler_type reduce_lr_on_plateau", "--lr_scheduler_type reduce_lr_on_plateau: not supported (it sets the learning rate from the evaluation loss, and training runs no evaluation"),
        ("--lr_scheduler_type greedy", "--lr_scheduler_type greedy: not supported (it sets the learning rate from the evaluation loss"),
        ("--fp16 --bf16 --use_cpu", "--fp16 with --bf16: choose one (mixed precision in fp16 or in bf16, not both)"),
        ("--fp16 --bf16", "--fp16 with --bf16: choose one"),
        ("--fp16_full_eval --bf16_full_eval --use_cpu", "--fp16_full_eval with --bf16_full_eval: choose one"),
    ],
)  # fmt: skip
def test_schedules_of_evaluations_and_two_precisions_are_one_error_line(capsys, options, message):
    """They were tracebacks of the Trainer's arguments (`requires an eval strategy`, `At most
    one of fp16 and bf16 can be True`) while the command line was parsed."""
    line = refused(capsys, *options.split())
    assert f"error: {message}" in line
    if "--lr_scheduler_type" in options:
        assert line.endswith("use linear (the paper's), cosine or constant")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lr_scheduler_type", "cosine_with_min_lr"], "--lr_scheduler_type cosine_with_min_lr with --lr_scheduler_kwargs '{}': One of min_lr or min_lr_rate should be set"),
        (["--lr_scheduler_type", "warmup_stable_decay"], "--lr_scheduler_type warmup_stable_decay with --lr_scheduler_kwargs '{}': get_wsd_schedule() missing 1 required positional argument: 'num_decay_steps'"),
        (["--lr_scheduler_type", "cosine", "--lr_scheduler_kwargs", '{"min_lr": 1e-5}'], "--lr_scheduler_type cosine with --lr_scheduler_kwargs '{\"min_lr\": 1e-05}': get_cosine_schedule_with_warmup() got an unexpected keyword argument 'min_lr'"),
        (["--optim", "adamw_torch", "--learning_rate=-1e-4"], "--optim adamw_torch: Invalid learning rate: -0.0001 (--learning_rate, --adam_beta1"),
        (["--optim", "adamw_torch", "--adam_beta2", "1.2"], "--optim adamw_torch: Invalid beta parameter at index 1: 1.2"),
        (["--optim", "sgd", "--adam_epsilon=-1"], None),  # sgd reads no epsilon
        (["--weight_decay=-0.01"], "--weight_decay -0.01: at least 0"),
        (["--warmup_steps=-1"], "Got warmup_steps = -1.0, Expected value warmup_steps >= 0"),
    ],
)  # fmt: skip
def test_optimizer_and_schedule_values_are_refused_before_any_work(capsys, options, message):
    """The Trainer's optimizer or schedule raised these as tracebacks when training began,
    after the tokenizer's training and the facts' tokenisation (`--warmup_steps -1`: the
    Trainer's arguments, while parsing); a negative weight decay trained."""
    if message is None:
        assert parse_training_arguments([*BASE, *options]).training.adam_epsilon == -1
        return
    line = refused(capsys, *options)
    assert f"error: {message}" in line


@pytest.mark.parametrize(
    "options",
    [
        ["--lr_scheduler_type", "cosine_with_min_lr", "--lr_scheduler_kwargs", '{"min_lr": 1e-5}'],
        ["--lr_scheduler_type", "warmup_stable_decay", "--lr_scheduler_kwargs", '{"num_decay_steps": 3}'],
        ["--lr_scheduler_type", "polynomial", "--lr_scheduler_kwargs", '{"power": 2.0}'],
        ["--optim", "adafactor"],
        ["--max_steps", "8", "--warmup_steps", "4", "--lr_scheduler_type", "inverse_sqrt"],
    ],
)  # fmt: skip
def test_schedules_with_their_settings_parse(options):
    run = parse_training_arguments([*BASE, *options])
    assert run.training.weight_decay == 0.0


@pytest.mark.skipif(is_torch_tf32_available(), reason="TF32 runs here")
def test_tf32_without_a_gpu_that_has_it_is_one_error_line(capsys):
    """`ValueError: --tf32 requires Ampere or a newer GPU arch` was a traceback."""
    where = "this GPU has none" if torch.cuda.is_available() else "no GPU here"
    assert refused(capsys, "--tf32", "true").endswith(
        f"error: --tf32 true: TF32 matrix multiplies run on an Ampere or newer NVIDIA GPU "
        f"({where}); leave --tf32 out"
    )
    assert parse_training_arguments([*BASE, "--tf32", "false"]).training.tf32 is False


def test_trainer_options_are_refused_in_code_too(tmp_path):
    with pytest.raises(UsageError, match="--eval_strategy steps: not supported"):
        PrixLMTrainingArguments(output_dir=str(tmp_path), eval_strategy="steps")


def test_help_says_the_batch_options_are_per_process():
    """Under torchrun the defaults made 1,024 facts per update in each process."""
    fields = PrixLMTrainingArguments.__dataclass_fields__
    for name in ("per_device_train_batch_size", "gradient_accumulation_steps"):
        text = fields[name].metadata["help"]
        assert "1,024 facts per update in one process" in text and "N processes" in text


def test_several_gpus_in_one_process_are_refused_before_any_work(monkeypatch, tmp_path):
    """nn.DataParallel splits a batch's tensors, while its labelled positions index the
    whole batch: an IndexError, or with --static_shapes a wrong loss."""
    from prixlm.training.pretrain import pretrain

    run = parse_training_arguments(["--dataset", str(tmp_path / "none"), "--output_dir",
                                    str(tmp_path / "run")])  # fmt: skip
    monkeypatch.setattr(PrixLMTrainingArguments, "n_gpu", property(lambda self: 2))
    with pytest.raises(UsageError) as raised:
        pretrain(run)
    message = str(raised.value)
    assert message.startswith("2 GPUs in one process: not supported")
    assert "torchrun --nproc_per_node 2 train.py" in message
    assert "accelerate launch --multi_gpu --num_processes 2" in message
    assert not (tmp_path / "run").exists()  # no lock, no folder: nothing done


@pytest.mark.parametrize(
    ("facts", "world", "batch", "options"),
    [
        (32, 2, 3, {}),
        (32, 2, 4, {}),
        (33, 2, 4, {}),
        (5, 2, 4, {}),  # fewer facts than one global batch
        (5, 3, 4, {}),
        (32, 2, 6, {"split_batches": True}),
        (33, 3, 6, {"split_batches": True}),
        (32, 2, 3, {"drop_last": True}),
        (32, 2, 3, {"even_batches": False}),
        (32, 1, 3, {}),
    ],
)
def test_facts_repeated_per_epoch_are_what_accelerate_presents(facts, world, batch, options):
    """Counted against accelerate's own sharding of one epoch's batches."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler, SequentialSampler

    drop_last = options.get("drop_last", False)
    presented = 0
    for rank in range(world):
        sampler = BatchSampler(SequentialSampler(range(facts)), batch, drop_last)
        if world == 1:
            presented += sum(len(b) for b in sampler)
            continue
        shard = BatchSamplerShard(
            sampler,
            num_processes=world,
            process_index=rank,
            split_batches=options.get("split_batches", False),
            even_batches=options.get("even_batches", True),
        )
        presented += sum(len(b) for b in shard)
    expected = max(0, presented - facts)
    assert facts_repeated_per_epoch(facts, world, batch, **options) == expected


@pytest.mark.parametrize(
    ("facts", "world", "batch", "accumulation", "drop_last"),
    [
        (32, 2, 5, 2, False),  # 20 + 12 facts: none repeated (the even-batches count said 8)
        (32, 1, 10, 3, False),  # 30 + 2 facts for 3 micro-batches: 1 repeated (it said 0)
        (32, 2, 5, 3, False),  # 30 + 2 facts for 6 micro-batches: 4 repeated
        (32, 2, 4, 4, False),  # 32: whole updates
        (7, 2, 4, 2, False),  # fewer facts than one update: 7 for 4 micro-batches
        (32, 2, 5, 3, True),  # the incomplete update left out
    ],
)
def test_facts_repeated_per_epoch_under_batch_rebalance_are_what_its_sampler_presents(
    facts, world, batch, accumulation, drop_last
):
    """`--train_sampling_strategy batch_rebalance`: counted against transformers' own
    `BatchRebalanceSampler` (each process's micro-batches, as the Trainer builds it)."""
    from transformers.trainer_pt_utils import BatchRebalanceSampler

    presented = sum(
        len(micro_batch)
        for rank in range(world)
        for micro_batch in BatchRebalanceSampler(
            lengths=[10 + i % 7 for i in range(facts)],
            effective_batch_size=batch * accumulation * world,
            dp_size=world,
            grad_accum=accumulation,
            rank=rank,
            drop_last=drop_last,
        )
    )
    kept = (
        facts
        if not drop_last
        else facts // (batch * accumulation * world) * (batch * accumulation * world)
    )
    repeated = facts_repeated_per_epoch(
        facts, world, batch, drop_last=drop_last, rebalance_accumulation=accumulation
    )
    assert repeated == presented - kept
    training = SimpleNamespace(
        **vars(_args(world, per_device=batch, accumulation=accumulation)),
        train_sampling_strategy="batch_rebalance",
    )
    training.dataloader_drop_last = drop_last
    assert repeated_facts(training, facts) == repeated  # the start note's count
    assert trained_batches(training, facts, batch)["train_facts_repeated_per_epoch"] == repeated


def _args(world: int, per_device: int = 32, accumulation: int = 32, rank: int = 0):
    return SimpleNamespace(
        world_size=world,
        process_index=rank,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        dataloader_drop_last=False,
        accelerator_config=SimpleNamespace(split_batches=False, even_batches=True),
    )


def test_several_processes_say_their_global_batch_and_the_repeated_facts():
    """The reviewer's case: 32 facts, 2 processes x 3: 36 presentations, 4 facts twice; and
    the defaults under torchrun: 2,048 facts per update, not the paper's 1,024."""
    notes = process_notes(_args(2, per_device=3, accumulation=1), 32, 4)
    assert notes == [
        "global batch: 2 processes x 3 facts x 1 accumulation steps = 6 facts per update",
        "note: 4 facts repeated per epoch to fill the last batch across 2 processes (32 facts, "
        "2 x 3 per step; --dataloader_drop_last true leaves the incomplete batch out instead)",
    ]
    (defaults,) = process_notes(_args(2), 2048, 0)
    assert defaults == (
        "global batch: 2 processes x 32 facts x 32 accumulation steps = 2,048 facts per update "
        "(the batch options are per process: for the paper's 1,024, --gradient_accumulation_steps 16)"
    )  # fmt: skip
    assert "smaller --per_device_train_batch_size" in process_notes(_args(3), 10, 0)[0]
    assert process_notes(_args(1), 32, 0) == []


def test_only_the_first_process_prints_and_each_records_the_count(capsys):
    assert announce_processes(_args(2, per_device=3, accumulation=1, rank=1), 32) == 4
    assert capsys.readouterr().err == ""
    assert announce_processes(_args(2, per_device=3, accumulation=1), 32) == 4
    assert "note: 4 facts repeated per epoch" in capsys.readouterr().err
    assert announce_processes(_args(1, per_device=3), 32) == 0
    assert capsys.readouterr().err == ""


def test_batches_are_copied_blocking_on_the_cpu():
    """Non-blocking copies overlap a copy to the GPU with the step before; on the CPU there is
    no pinned memory and transformers warned at every start that they were asked for."""
    run = parse_training_arguments(["--dataset", "d", "--output_dir", "o", "--use_cpu"])
    assert not run.training.dataloader_pin_memory
    assert run.training.accelerator_config.non_blocking is False
    if not torch.cuda.is_available():  # a CPU machine without --use_cpu (make demo)
        run = parse_training_arguments(["--dataset", "d", "--output_dir", "o"])
        assert not run.training.dataloader_pin_memory
        assert run.training.accelerator_config.non_blocking is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--base_model", "xlm-roberta-base", "--hidden_size", "1024", "--tokenizer_dir", "t"],
            "error: --tokenizer_dir, --hidden_size: not with --base_model xlm-roberta-base (it "
            "brings its own architecture and tokenizer); leave them out, or leave out "
            "--base_model to train a model from scratch",
        ),
        (
            ["--base_model=xlm-roberta-base", "--num-hidden-layers=2"],
            "error: --num_hidden_layers: not with --base_model xlm-roberta-base",
        ),
        (
            ["--new_token_init", "mean"],
            "error: --new_token_init: only with --base_model (a model from scratch starts "
            "every row at random)",
        ),
    ],
)
def test_options_the_starting_point_ignores_are_refused(capsys, options, message):
    """`--base_model` with a scratch model's size or tokenizer trained XLM-R's own size with
    XLM-R's tokenizer, and `--new_token_init` from scratch changed nothing: both ran."""
    assert message in refused(capsys, *options)
    run = parse_training_arguments([*BASE, "--base_model", "xlm-roberta-base", "--new_token_init", "mean"])  # fmt: skip
    assert (run.model.base_model, run.model.new_token_init) == ("xlm-roberta-base", "mean")
    run = parse_training_arguments([*BASE, "--hidden_size", "64", "--tokenizer_dir", "t"])
    assert (run.model.hidden_size, run.model.tokenizer_dir) == (64, "t")
    run = parse_training_arguments([*BASE, "--tokenizer_vocab_size", "4000"])  # it is trained
    assert run.model.tokenizer_vocab_size == 4000


@pytest.mark.parametrize("strategy", ["checkpoint", "all_checkpoints", "every_save"])
def test_hub_strategies_that_upload_during_the_run_are_refused(capsys, strategy, hub_online):
    """`--push_to_hub` uploads the release folder once, at the end: `--hub_strategy
    checkpoint` (the last checkpoint, to resume on another machine) uploaded nothing during
    the run, exit 0; `--help` said the model was pushed at every save."""
    assert refused(capsys, "--push_to_hub", "--hub_strategy", strategy).endswith(
        f"error: --hub_strategy {strategy}: not supported (--push_to_hub uploads the release "
        "folder once, when training has written it, never a checkpoint: they hold the "
        "optimizer state and pickles); leave --hub_strategy out, or use end"
    )
    run = parse_training_arguments([*BASE, "--push_to_hub", "--hub_strategy", "end"])
    assert run.training.push_to_hub is True
    help_text = PrixLMTrainingArguments.__dataclass_fields__["push_to_hub"].metadata["help"]
    assert "once it is complete" in help_text and "checkpoints are never uploaded" in help_text


def test_push_to_hub_offline_is_refused_before_any_work(capsys, monkeypatch):
    """Under HF_HUB_OFFLINE the upload after the whole training failed: refused at the start
    now."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert refused(capsys, "--push_to_hub", "--hub_model_id", "me/tiny").endswith(
        "error: --push_to_hub: HF_HUB_OFFLINE is set, so the upload after training would "
        "fail; unset it, or train without --push_to_hub and upload the release later "
        "(python -m prixlm.publish <output_dir>/model REPO_ID)"
    )
