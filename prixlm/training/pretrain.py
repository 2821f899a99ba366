"""Pretrain Prix-LM with the transformers Trainer (paper §3, "Training"): the one training path.

`pretrain(run)` builds (or continues) the model and tokenizer, tokenises the facts, trains
with `PrixLMTrainer` while evaluating link prediction at every checkpoint (Fig. 2), and writes
the self-contained release folder with its model card. `train.py` is its command line.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, TrainerCallback, XLMRobertaTokenizer, set_seed
from transformers.trainer_utils import get_last_checkpoint

from modeling_prixlm.formatting import (
    add_prixlm_tokens,
    check_tokenizer_matches,
    fact_generation_config,
    match_tokenizer_to_positions,
)
from prixlm.cli import UsageError, first_line
from prixlm.data.split_record import RECORD_KEY, split_record
from prixlm.library_bars import library_bars
from prixlm.link_prediction.checkpoint_callback import (
    LinkPredictionCallback,
    candidate_summary,
    restored_points,
)
from prixlm.model_loading import is_prixlm
from prixlm.outputs.atomic import check_writable_folder, writer_lock
from prixlm.publish import publish_folder
from prixlm.release.card_results import dataset_card_metadata
from prixlm.release.folder import (
    complete_release_folder,
    dataset_candidates,
    dataset_relations,
    widget_examples,
)
from prixlm.release.model_card import write_model_card
from prixlm.training.arguments import DataArguments, ModelArguments, TrainingRun, run_as_trained
from prixlm.training.checkpoint_files import checkpoint_step, finished_run
from prixlm.training.collator import training_collator
from prixlm.training.data import (
    check_split,
    load_split,
    resolve_languages,
    tokenize_rows,
    tokenizer_training_texts,
    training_rows,
)
from prixlm.training.fact_lengths import (
    check_base_model_length,
    check_facts_fit,
    longest_fact,
    scratch_positions,
)
from prixlm.training.lp_evaluation import LPSample, lp_evaluator
from prixlm.training.model_factory import build_prixlm
from prixlm.training.processes import (
    announce_processes,
    check_one_device_per_process,
    trained_batches,
)
from prixlm.training.progress import (
    LogAtSaves,
    check_reached_end,
    measured_speed,
    print_results,
    stop_said,
    whole_run,
)
from prixlm.training.release_start import (
    base_model_start,
    card_base_model,
    continued_from,
    release_overlap_warning,
)
from prixlm.training.resume import check_same_run, resume_checkpoint, run_record
from prixlm.training.run_settings import check_sampler_rule
from prixlm.training.tokenizer_training import train_tokenizer
from prixlm.training.trainer import PrixLMTrainer, trained_schedule


def build_model_and_tokenizer(
    model_args: ModelArguments,
    data_args: DataArguments,
    languages: list[str],
    seed: int,
    checkpoint: str | Path | None = None,
):
    """XLM-R or a Prix-LM release continued, + Prix-LM tokens (`release_start`), or a fresh
    small model with a tokenizer trained on the data (resuming from `checkpoint`: the
    checkpoint's tokenizer, never one trained again)."""
    if model_args.base_model:
        return base_model_start(model_args, languages)
    if model_args.tokenizer_dir:
        try:
            tokenizer = AutoTokenizer.from_pretrained(  # a Prix-LM folder's code only
                model_args.tokenizer_dir, trust_remote_code=is_prixlm(model_args.tokenizer_dir)
            )
        except (OSError, ValueError) as error:  # no such folder, or none of a tokenizer's files
            first = first_line(error)
            where = (
                "cannot load a tokenizer from this folder"
                if Path(model_args.tokenizer_dir).is_dir()
                else "no such folder, nor a Hub tokenizer that loads"
            )
            raise UsageError(
                f"--tokenizer_dir {model_args.tokenizer_dir}: {where} ({first})"
            ) from error
    elif checkpoint is not None:
        # the class by name: AutoTokenizer would read the checkpoint's config.json, whose
        # auto_map names custom code, and ask at a terminal whether to run it
        tokenizer = XLMRobertaTokenizer.from_pretrained(checkpoint)
    else:
        texts = tokenizer_training_texts(data_args.dataset, languages)
        try:
            tokenizer = train_tokenizer(texts, vocab_size=model_args.tokenizer_vocab_size)
        except ValueError as error:  # fewer pieces than the texts' characters: an option's value
            message = str(error).removeprefix("vocab_size=")  # "20: too small for ..."
            raise UsageError(f"--tokenizer_vocab_size {message}") from error
    add_prixlm_tokens(tokenizer, languages)
    # Training facts are shorter than max_fact_length, but link prediction scores every
    # candidate entity after the prompt: leave room for twice that (+2: XLM-R's offset).
    longest = scratch_positions(data_args.max_fact_length)
    model = build_prixlm(
        tokenizer,
        seed=seed,
        languages=languages,  # not every language token of a --tokenizer_dir
        hidden_size=model_args.hidden_size,
        num_hidden_layers=model_args.num_hidden_layers,
        num_attention_heads=model_args.num_attention_heads,
        intermediate_size=model_args.intermediate_size,
        max_position_embeddings=longest + 2,
        hidden_dropout_prob=model_args.dropout,
        attention_probs_dropout_prob=model_args.dropout,
        object_attention=model_args.object_attention,
        vocab_padding_multiple=model_args.vocab_padding_multiple,
    )
    return model, tokenizer


def recorded_dataset(data_args: DataArguments) -> dict[str, Any]:
    """How `train_results.json` records the training dataset, decided now (never from the
    working directory of a later card rendering): `dataset`, the Hub id (`--dataset_id`, or
    `--dataset` when it names no folder here) or else the folder's absolute path;
    `dataset_folder`, the absolute path of `--dataset` when it is a folder (else None);
    `dataset_argument`, `--dataset` as typed; `dataset_card`, the folder card's
    `pretty_name` and `source_datasets` (None without a folder or card), for a card rendered
    where the folder is not (a published copy)."""
    typed = data_args.dataset
    folder = str(Path(typed).resolve()) if Path(typed).is_dir() else None
    metadata = dataset_card_metadata(folder) if folder else {}
    card = {key: metadata[key] for key in ("pretty_name", "source_datasets") if key in metadata}
    return {
        "dataset": data_args.dataset_id or folder or typed,
        "dataset_folder": folder,
        "dataset_argument": typed,
        "dataset_card": card or None,
    }


def hub_repo_id(training_args: Any) -> str:
    """The repo `--push_to_hub` publishes to: `--hub_model_id`, else the run folder's name."""
    return training_args.hub_model_id or Path(training_args.output_dir).absolute().name


def publish_release(release: Path, training_args: Any) -> None:
    """`--push_to_hub`: the complete release folder, nothing else (`prixlm.publish`). A
    failed upload (`PublishError`) says how to retry it without training again."""
    from prixlm.hub.calls import PublishError

    repo_id = hub_repo_id(training_args)
    try:
        commit = publish_folder(
            release,
            repo_id,
            private=training_args.hub_private_repo,
            revision=training_args.hub_revision,
            token=training_args.hub_token,
        )
    except PublishError as error:
        raise PublishError(f"{error}; {retry_upload(release, repo_id, training_args)}") from error
    print(f"published: {commit}")


def retry_upload(release: Path, repo_id: str, training_args: Any) -> str:
    """How to upload a finished run's `release` again: rerun with
    `--resume_from_checkpoint true` (where the run kept its checkpoint), or `prixlm.publish`."""
    publish = f"python -m prixlm.publish {shlex.quote(str(release))} {repo_id}"
    if training_args.hub_private_repo:
        publish += " --private"
    if training_args.hub_revision:
        publish += f" --revision {training_args.hub_revision}"
    if get_last_checkpoint(training_args.output_dir) is None:
        return f"the release is written: retry the upload with {publish}"
    return (
        f"the release is written: retry the upload by running this command again with "
        f"--resume_from_checkpoint true, or with {publish}"
    )


def pretrain(
    run: TrainingRun,
    callbacks: Sequence[TrainerCallback] = (),
    command: Sequence[str] | None = None,
) -> Path:
    """Train `run` with the Trainer and write its release folder; returns the folder's path.

    `callbacks` are added to the Trainer's (e.g. a time budget). Checkpoints go to
    `run.training.output_dir`, the release folder to its `model/`, the Fig. 2 curve to
    `lp_curve.png` beside them. One run at a time writes an `output_dir`
    (`outputs.atomic.writer_lock`: `OutputLockedError` naming the other run's process).
    `--resume_from_checkpoint` continues the same run or refuses (`prixlm.training.resume`);
    a finished run's release is left as it is (and published again with `--push_to_hub`).
    A start that stops before its last step (a SIGTERM with `--enable_jit_checkpoint`)
    writes no release: `UsageError` (`prixlm.training.progress.check_reached_end`).
    `command`: train.py's arguments; a Ctrl-C or SIGTERM that stops the training then says
    the step reached, the last checkpoint kept and the command that goes on from it.
    """
    training_args = run.training
    check_one_device_per_process(training_args)  # before any work
    # --disable_tqdm true: the Trainer's bar, and those of the dataset reads, the tokenising
    # map and the model saves (drawn by datasets and transformers themselves)
    with library_bars(not training_args.disable_tqdm):
        if not training_args.should_save:  # the other processes of a data-parallel run
            return _pretrain(run, callbacks, command)
        with writer_lock(training_args.output_dir, argument="--output_dir"):
            check_writable_folder(training_args.output_dir, "--output_dir")  # not a checkpoint
            return _pretrain(run, callbacks, command)


def _pretrain(
    run: TrainingRun, callbacks: Sequence[TrainerCallback], command: Sequence[str] | None
) -> Path:
    training_args = run.training
    resume = resume_checkpoint(
        training_args.output_dir, training_args.resume_from_checkpoint, training_args.world_size
    )
    release_path = Path(training_args.output_dir) / "model"
    last_step = finished_run(resume) if resume else None
    set_seed(training_args.seed)
    languages = resolve_languages(run.data.dataset, run.data.languages)
    if run.data.lp_eval_queries > 0:
        check_split(run.data.dataset, languages, run.data.lp_eval_split, "--lp_eval_split")
    if training_args.push_to_hub:  # before the training, not after it
        from prixlm.hub.calls import check_repo_id

        check_repo_id(hub_repo_id(training_args), "--hub_model_id")
    rows, links = training_rows(run.data.dataset, languages, run.data.variant, run.data.links)
    trained_split = split_record(run.data.dataset)  # the build read, for evaluations to check
    # earlier records spelled `--links` as given: True means this run too where none can train
    same = {"links": True} if run.data.links and not links else {}
    run = run_as_trained(run, links)  # `links`: whether link rows were trained, as recorded
    model_args, data_args = run.model, run.data
    if last_step is not None and release_path.is_dir():
        finished = {**run_record(run, tokenizer=None), **continued_from(model_args.base_model)}
        check_same_run(resume, finished, also_same=same)  # not another's
        print(
            f"the run in {training_args.output_dir} is finished (step {last_step}) and its "
            f"release folder {release_path} is written: nothing to train",
            file=sys.stderr,
        )
        if training_args.push_to_hub and training_args.process_index == 0:
            publish_release(release_path, training_args)  # a retry: the release as written
        return release_path
    model, tokenizer = build_model_and_tokenizer(
        model_args, data_args, languages, training_args.seed, checkpoint=resume
    )
    check_tokenizer_matches(tokenizer, model.config)
    match_tokenizer_to_positions(tokenizer, model.config)  # saved with every checkpoint
    check_base_model_length(model_args.base_model, data_args.max_fact_length, model.config)
    continued = continued_from(model_args.base_model)  # a release's identity, read once
    overlap = release_overlap_warning(continued, data_args.dataset, trained_split, languages)
    if overlap and training_args.process_index == 0:
        print(overlap, file=sys.stderr)
    record = {**run_record(run, tokenizer), **continued}  # resumed from the same release
    if resume:
        check_same_run(resume, record, tokenizer, also_same=same, config=model.config)
        if last_step is None:  # the rest of its epoch: cut from the same order
            check_sampler_rule(resume, record, training_args)
    train_set = tokenize_rows(
        rows, tokenizer, data_args.max_fact_length or None, num_proc=data_args.tokenize_num_proc
    )
    check_facts_fit(longest_fact(train_set), model.config, model_args.base_model)  # no step yet
    model.generation_config = fact_generation_config(model.config)
    model.set_autocast_residual(model_args.autocast_residual)
    announce_processes(training_args, len(train_set))  # several processes; all batches dropped

    # --push_to_hub is ours: the Trainer would upload output_dir as it is (checkpoints with
    # optimizer state, training_args.bin, its generic card); we publish the release folder.
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False
    # the candidates of the checkpoint link prediction and of the release (candidates.json):
    # every entity label per language, read once
    candidates = (
        dataset_candidates(data_args.dataset, languages)
        if training_args.should_save or data_args.lp_eval_queries > 0
        else None
    )
    # the rest the release takes from the dataset (relations.json, the card's widget), read
    # now too: a dataset rebuilt in place during the run no longer ends it or feeds its release
    relations, widget = None, []
    if training_args.should_save:
        relations = dataset_relations(data_args.dataset, languages)
        card_rows = (  # a few rows per language
            row
            for language in languages
            for row in load_split(data_args.dataset, language, "train").take(100)
        )
        widget = widget_examples(card_rows, languages)
    lp_callbacks, lp_sample = [], LPSample({}, {})
    if data_args.lp_eval_queries > 0:
        evaluate, lp_sample = lp_evaluator(
            tokenizer, model.config, data_args, languages, training_args.seed, candidates
        )
        # the checkpoint's points ranked among other candidates stay out of the curve
        record.update(restored_points(resume, candidate_summary(candidates)))
        left_out = record.get("lp_points_left_out")
        lp_callbacks.append(LinkPredictionCallback(evaluate, languages, training_args.output_dir,
                                                   left_out=left_out, split=data_args.lp_eval_split))  # fmt: skip
    trainer = PrixLMTrainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        data_collator=training_collator(model.config, data_args, train_set, training_args),
        processing_class=tokenizer,
        callbacks=[*lp_callbacks, *callbacks, LogAtSaves()],  # LogAtSaves: after the others
    )
    for callback in lp_callbacks:
        callback.trainer = trainer
    trainer.run_record = record  # in every checkpoint (prixlm.training.resume)

    if resume:
        print(f"resuming from {resume}", file=sys.stderr)
    if last_step is None:
        first_step = checkpoint_step(resume) if resume else 0
        with stop_said(trainer, training_args, command):  # a signal: where, how to go on
            trained = trainer.train(resume_from_checkpoint=resume).metrics
        check_reached_end(trainer.state, training_args.output_dir)  # a SIGTERM, a callback
        trained.update(measured_speed(trained, trainer.state.global_step - first_step,
                                      trainer.facts_trained()))  # fmt: skip
        if first_step:  # the Trainer's loss and runtime are this start's alone
            trained = whole_run(trained, trainer.state, first_step)
    else:  # finished, killed before its release folder: write it from the last checkpoint
        trained = trainer.release_from_checkpoint(resume)
        trained = whole_run(trained, trainer.state, last_step)
        for callback in lp_callbacks:
            callback.restore(trainer.state.log_history)
    metrics = {
        **trained,
        "train_facts": len(train_set),
        # dropped by tokenize_rows: `max_fact_length` tokens or more, or a control token
        "train_facts_dropped": len(rows) - len(train_set),
        # global_batch: facts per update (split_batches: shared), at most an epoch's; and
        # seen again each epoch: several processes' last batch filled from its start
        **trained_batches(training_args, len(train_set), trainer.train_batch_size()),
        "languages": languages,
        "variant": data_args.variant,
        "links": data_args.links,
        "max_fact_length": data_args.max_fact_length,  # facts this long or longer: dropped
        **continued,  # the release this run continued, if it did
        "world_size": training_args.world_size,
        # other CPU threads (OMP_NUM_THREADS) or torch versions give other last digits
        "torch_num_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "checkpoint_link_prediction": lp_callbacks[0].records if lp_callbacks else [],
        RECORD_KEY: trained_split,  # evaluations check their split by it (split_record)
        "checkpoint_link_prediction_settings": {
            **recorded_dataset(data_args),
            "split": data_args.lp_eval_split,
            "queries_per_language": data_args.lp_eval_queries,
            "queries": lp_sample.queries,  # per language: fewer where the split is smaller
            "num_beams": data_args.lp_eval_beams,
        },
    }
    metrics.update(trained_schedule(callbacks, training_args, trainer.state.global_step))
    settings = metrics["checkpoint_link_prediction_settings"]
    if lp_callbacks:  # per language: how many candidates the points ranked among, their sha256
        settings["candidates"] = record["lp_candidates"]
        if lp_callbacks[0].points_left_out:  # a resumed run's, ranked among other candidates
            settings["points_left_out"] = lp_callbacks[0].points_left_out
    if lp_sample.candidates_too_long:  # labels the positions cannot hold: their queries missed
        settings["candidates_too_long"] = lp_sample.candidates_too_long
    # Trainer.train() aligns generation_config.eos with the tokenizer's </s>; a fact ends at [EOS].
    trainer.model.generation_config = fact_generation_config(trainer.model.config)
    repo_id = hub_repo_id(training_args)
    # the Fig. 2 curve of this run's own points: a curve in output_dir that this run's
    # link prediction did not write (an earlier run's) stays out of its release
    curve = Path(training_args.output_dir) / "lp_curve.png"
    curve = curve if any(callback.records for callback in lp_callbacks) else None

    def finalize_release(folder: Path) -> None:
        """Self-contained (Hub code, pipeline, handler, candidates), then README.md from the
        folder's results + the Fig. 2 curve, before the folder appears."""
        complete_release_folder(  # labels the positions cannot hold: left out, warned
            folder, candidates, relations=relations, tokenizer=tokenizer, links=data_args.links
        )
        write_model_card(
            folder,
            curve=curve if curve is not None and curve.is_file() else None,
            dataset_id=data_args.dataset_id,
            base_model=card_base_model(model_args.base_model, continued),
            widget=widget,
            # named after the repo (or the run folder), not the staging folder it is written in
            model_name=repo_id.split("/")[-1],
            repo_id=repo_id if push_to_hub else str(release_path),
        )

    release = trainer.save_release(
        release_path, {"train_results.json": metrics}, finalize=finalize_release
    )
    if trainer.is_world_process_zero():
        if push_to_hub:
            publish_release(release, training_args)
        print_results(metrics, trainer.state.global_step, release)
    return release


__all__ = ["build_model_and_tokenizer", "lp_evaluator", "pretrain", "training_collator"]
