"""The Trainer with crash-safe checkpoints and release folders (`prixlm.outputs.atomic`)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from transformers import Trainer, TrainerCallback, TrainerState, TrainingArguments
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_jit_checkpoint import JITCheckpointCallback
from transformers.trainer_pt_utils import BatchRebalanceSampler, LengthGroupedSampler
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from prixlm.outputs.atomic import (
    check_parent,
    disk_errors,
    partial_path,
    publish,
    recover_interrupted,
)
from prixlm.release.finite_weights import check_finite_weights
from prixlm.training.checkpoint_rotation import RotationAfterSave
from prixlm.training.loader_workers import WorkersLeaveSigterm
from prixlm.training.log_lines import lines_off_terminal
from prixlm.training.option_checks import WarmUpCheck
from prixlm.training.processes import global_batch_of, split_batches
from prixlm.training.resume import RUN_FILE, write_run_record
from prixlm.training.sampling import GroupedByLength
from prixlm.training.tied_weights import untied_missing_keys


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class PrixLMTrainer(RotationAfterSave, WorkersLeaveSigterm, Trainer):
    """`Trainer` whose checkpoints and release folder appear only when complete.

    A checkpoint `<output_dir>/checkpoint-<step>` is written by the Trainer inside
    `<output_dir>/.checkpoint-<step>.partial/` (every process writes its RNG state there)
    and published under its final name when all processes are done, so a run killed
    mid-save never leaves a checkpoint that looks whole (`get_last_checkpoint` ignores the
    partial folder, and the next save of that step removes it); a save that fails (a full
    disk) removes the partial folder before its error goes on. `run_record` (if set) is
    stored in every checkpoint as `prixlm_run.json` (`prixlm.training.resume`). With
    `--train_sampling_strategy group_by_length` every process cuts its share of the batches
    from one order (`prixlm.training.sampling.GroupedByLength`); `batch_rebalance` orders by
    the same seed. A warm-up as long as the run is refused before its first step
    (`WarmUpCheck`), and the facts each start trains are counted (`facts_trained`). The
    checkpoints beyond `--save_total_limit` go after the callbacks' `on_save`
    (`RotationAfterSave`); a resume does not report tied keys missing (`untied_missing_keys`).
    Its DataLoader workers leave a SIGTERM to it (`WorkersLeaveSigterm`).
    """

    run_record: dict | None = None
    _non_embedding_parameters: int | None = None
    _grouped_sampler: GroupedByLength | None = None
    _facts: torch.Tensor | int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # first: no other callback (a checkpoint evaluation at step 0) works for a refused run
        self.callback_handler.callbacks.insert(0, WarmUpCheck())
        self.add_callback(_FactEnding())
        callbacks = self.callback_handler.callbacks
        for index, callback in enumerate(callbacks):
            if type(callback) is JITCheckpointCallback:  # `--enable_jit_checkpoint`
                callbacks[index] = _JITBetweenUpdates.replacing(callback)
        lines_off_terminal(callbacks)  # a log file gets stamped lines, not a bar's frames

    def train(self, *args: Any, **kwargs: Any) -> Any:
        # `train` aligns the generation config's end tokens with the tokenizer's `</s>`
        # (warning "new PAD/BOS/EOS tokens", `eos_token_id` [`</s>`, `[EOS]`] in every
        # checkpoint); a fact ends at `[EOS]` alone: `_FactEnding` restores it.
        with _quiet_token_alignment():
            return super().train(*args, **kwargs)

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        """The Trainer's sampler, but for `group_by_length` a `GroupedByLength` over the
        lengths the Trainer reads: one order on every process (the Trainer's drew it from
        each process's own random state), seeded by `--data_seed` (else `--seed`) and the
        epoch, grouped by the global batch (`prixlm.training.sampling`); for
        `batch_rebalance` the Trainer's `BatchRebalanceSampler` with that seed (the Trainer
        left it at its fixed default, 42: every seed trained one order). Both take the batch
        the Trainer trains (`--auto_find_batch_size` lowers it after an out-of-memory error)."""
        sampler = super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        if isinstance(sampler, LengthGroupedSampler):
            sampler = GroupedByLength(sampler.lengths, self._global_batch(), seed)
        elif isinstance(sampler, BatchRebalanceSampler):
            sampler = BatchRebalanceSampler(
                lengths=sampler.lengths,
                effective_batch_size=self._train_batch_size * sampler.grad_accum * sampler.dp_size,
                dp_size=sampler.dp_size,
                grad_accum=sampler.grad_accum,
                shuffle=sampler.shuffle,
                seed=seed,
                rank=sampler.rank,
                drop_last=sampler.drop_last,
            )
        self._grouped_sampler = sampler if isinstance(sampler, GroupedByLength) else None
        return sampler

    def _global_batch(self) -> int:
        """Facts per update with the per-device batch the Trainer trains."""
        return global_batch_of(
            self._train_batch_size,
            self.args.gradient_accumulation_steps,
            self.args.world_size,
            split=split_batches(self.args),
        )

    def _inner_training_loop(self, *args: Any, **kwargs: Any) -> Any:
        # a retry of `--auto_find_batch_size` starts again: its facts are counted anew
        self._facts = None
        return super()._inner_training_loop(*args, **kwargs)

    def training_step(self, model: Any, inputs: dict, *args: Any, **kwargs: Any) -> Any:
        """The Trainer's step, counting the batch's facts (one `[O]` each) on the device:
        no host sync per step (`facts_trained` reads the count once)."""
        object_token = getattr(getattr(self.model, "config", None), "object_token_id", None)
        ids = inputs.get("input_ids")
        if ids is not None:
            facts = (ids == object_token).sum() if object_token is not None else ids.shape[0]
            self._facts = facts if self._facts is None else self._facts + facts
        return super().training_step(model, inputs, *args, **kwargs)

    def facts_trained(self) -> int:
        """The facts this start's steps trained, over every process (each process calls it:
        a collective with several); 0 before any step. A fact repeated to fill a batch
        counts each time it is trained."""
        count = self._facts if self._facts is not None else 0
        count = torch.as_tensor(count, dtype=torch.int64, device=self.args.device)
        if self.args.world_size > 1:
            count = self.accelerator.reduce(count, reduction="sum")
        return int(count.item())

    def train_batch_size(self) -> int:
        """The per-device batch trained: `--per_device_train_batch_size`, or what
        `--auto_find_batch_size` lowered it to (the Trainer's state records it)."""
        return int(self.state.train_batch_size or self.args.per_device_train_batch_size)

    def _run_epoch(self, *args: Any, **kwargs: Any) -> Any:
        # A resumed epoch's data loader skips its first batches (accelerate's
        # `skip_first_batches`), through which `set_epoch` no longer reaches a sampler of
        # several processes: the epoch is set here, as the Trainer passes it.
        if self._grouped_sampler is not None and isinstance(kwargs.get("epoch"), int):
            self._grouped_sampler.set_epoch(kwargs["epoch"])
        return super()._run_epoch(*args, **kwargs)

    def floating_point_ops(self, inputs: dict) -> int:
        """The Trainer's estimate, 6 × input tokens × non-embedding parameters, with the
        parameters counted once (the Trainer counts them at every step: ~1 ms of Python
        per step for XLM-R base)."""
        if "input_ids" not in inputs or not hasattr(self.model, "num_parameters"):
            return super().floating_point_ops(inputs)
        if self._non_embedding_parameters is None:
            self._non_embedding_parameters = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs["input_ids"].numel() * self._non_embedding_parameters

    def release_from_checkpoint(self, checkpoint: str | Path) -> dict:
        """Load the weights and state of a finished run's last `checkpoint` (no training
        step); returns the metrics a `train()` would have (the last logged loss)."""
        self._load_from_checkpoint(str(checkpoint))
        self.state = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME))
        losses = [entry["loss"] for entry in self.state.log_history if "loss" in entry]
        return {"global_step": self.state.global_step, **({"loss": losses[-1]} if losses else {})}

    def _save_checkpoint(self, model, trial) -> None:
        run_dir = Path(self._get_output_dir(trial=trial))
        final = run_dir / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = partial_path(final, shared=True)  # every process writes into it
        saving = self.args.should_save  # the process that creates, publishes and removes it
        if saving:
            check_parent(final, "--output_dir")
            recover_interrupted(final)
            staging.mkdir()
        with _removed_on_error(staging, saving):
            _barrier()  # the partial folder exists before any process writes into it
            original = self._get_output_dir
            # The Trainer writes `<run dir>/checkpoint-<step>`: here `<staging>/checkpoint-<step>`.
            self._get_output_dir = lambda trial=None: str(staging)  # type: ignore[method-assign]
            try:
                with disk_errors(staging / final.name):
                    super()._save_checkpoint(model, trial)
            finally:
                self._get_output_dir = original  # type: ignore[method-assign]
            if saving and self.run_record is not None:
                with disk_errors(staging / final.name / RUN_FILE):
                    write_run_record(staging / final.name, self.run_record)
            _barrier()  # every process has written its files
            if saving:
                publish(staging / final.name, final)
                shutil.rmtree(staging)
        if saving:  # in the training loop: after every callback's `on_save`
            self.rotate_after_save(run_dir)
        _barrier()

    def _issue_warnings_after_load(self, load_result: Any) -> None:
        # a tied key (the LM head's decoder: the embeddings) is not saved, nor missing
        missing = untied_missing_keys(self.model, load_result.missing_keys)
        super()._issue_warnings_after_load(load_result._replace(missing_keys=missing))

    def _args_json(self) -> str:
        """`training_args.json`: the arguments, with the per-device batch trained (the
        card's table reads it)."""
        values = self.args.to_dict()
        values["per_device_train_batch_size"] = self.train_batch_size()
        return json.dumps(values, indent=2)

    def save_release(
        self,
        destination: str | Path,
        extra_files: dict[str, dict] | None = None,
        finalize: Callable[[Path], object] | None = None,
    ) -> Path:
        """Write the final model folder atomically: weights, tokenizer, arguments, metrics.

        Written in `.<name>.partial` beside `destination`, then renamed. The Trainer's
        pickled `training_args.bin` is replaced by `training_args.json`; `extra_files`
        `{name: JSON content}` are added. `finalize(staging_folder)` runs last, on the saving
        process, before the rename (e.g. `prixlm.release.folder.complete_release_folder` and
        the model card), so the folder appears complete. Weights that are not all finite
        (a run that diverged) are refused first (`UsageError`: `check_finite_weights`). A
        write that fails names its file (`disk_errors`) and the partial folder is removed.
        """
        check_finite_weights(self.model)  # every process: all of them stop, none waits
        destination = Path(destination)
        staging = partial_path(destination, shared=True)
        if self.args.should_save:
            check_parent(destination, "--output_dir")
            recover_interrupted(destination)
        _barrier()
        saving = self.args.should_save  # the process that writes the folder and removes it
        with _removed_on_error(staging, saving):
            with disk_errors(staging):
                self.save_model(str(staging))  # collective: every process takes part
            if saving:
                (staging / "training_args.bin").unlink(missing_ok=True)
                files = {"training_args.json": self._args_json()}
                for file_name, content in (extra_files or {}).items():
                    files[file_name] = json.dumps(content, indent=2, sort_keys=True)
                for file_name, text in files.items():
                    with disk_errors(staging / file_name):
                        (staging / file_name).write_text(text, encoding="utf-8")
                if finalize is not None:
                    with disk_errors(staging):
                        finalize(staging)
                publish(staging, destination)
        _barrier()
        return destination


class _FactEnding(TrainerCallback):
    """At the start of training (after the Trainer's token alignment), generation ends a
    fact at `[EOS]` alone, as in the release folder."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        config = getattr(model, "config", None)
        if getattr(model, "generation_config", None) is not None and hasattr(
            config, "end_of_object_token_id"
        ):
            model.generation_config.eos_token_id = config.end_of_object_token_id


class _JITBetweenUpdates(JITCheckpointCallback):
    """`--enable_jit_checkpoint`'s callback, checkpointing a SIGTERM only between updates,
    after the step's loss is logged, through the Trainer's crash-safe save. transformers'
    checkpoints before the optimizer's step and at a step's begin: step N with the random
    state of a later point, so a resumed run trained other dropout masks (other losses and
    weights, silently); and its `checkpoint-N/` marker folder, cut by a SIGKILL, was the
    run's last checkpoint."""

    _pending: int | None = None  # the step whose loss log the checkpoint waits for
    _answered = False  # the one SIGTERM checkpoint requested

    @classmethod
    def replacing(cls, callback: JITCheckpointCallback) -> _JITBetweenUpdates:
        """This callback with `callback`'s trainer and SIGTERM handler."""
        between = cls()
        between.trainer, between.jit_manager = callback.trainer, callback.jit_manager
        return between

    def _requested(self) -> bool:
        """Whether a SIGTERM asks for the checkpoint: once (a second SIGTERM's timer would
        ask again after training stopped, and `on_epoch_end` would save the step twice)."""
        manager = self.jit_manager
        if manager is None:
            return False
        asked, manager.is_checkpoint_requested = manager.is_checkpoint_requested, False
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # each process's SIGTERM timer ends on its own: one process in the checkpoint's
            # barrier and another in the next step's collectives waited for each other
            # until the launcher's SIGKILL. All checkpoint at the step where one is asked.
            flag = torch.tensor([int(asked)], device=self.trainer.args.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            asked = bool(flag.item())
        if not asked or self._answered:
            return False
        self._answered = True
        return True

    def _checkpoint(self) -> None:
        self.trainer._save_checkpoint(self.trainer.model, trial=None)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return control

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self._requested():  # the loss is logged, then `on_log` checkpoints
            control.should_log = control.should_training_stop = True
            if not control.should_save:  # a save step: the Trainer's own save follows the log
                self._pending = state.global_step
        return control

    def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self._pending == state.global_step:
            self._pending = None
            self._checkpoint()
        return control

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self._requested():
            control.should_training_stop = True
            if control.should_save:  # the Trainer saves after this callback
                control.should_log = True
            elif self.trainer._globalstep_last_logged < state.global_step:
                control.should_log = True  # logged after this callback: then `on_log`
                self._pending = state.global_step
            else:
                self._checkpoint()
        return control


class _TokenAlignmentFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "new PAD/BOS/EOS tokens" not in record.getMessage()


@contextmanager
def _quiet_token_alignment() -> Iterator[None]:
    """Drop `transformers.trainer_utils.align_special_tokens`' warning for the block."""
    logger = logging.getLogger("transformers.trainer_utils")
    token_filter = _TokenAlignmentFilter()
    logger.addFilter(token_filter)
    try:
        yield
    finally:
        logger.removeFilter(token_filter)


@contextmanager
def _removed_on_error(staging: Path, owner: bool) -> Iterator[None]:
    """On an exception, the process that created the partial folder `staging` (`owner`)
    removes it before the exception goes on; the other processes of the run, which may
    write into it, leave it to that one."""
    try:
        yield
    except BaseException:
        if owner:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def trained_schedule(
    callbacks: Sequence[Any], args: TrainingArguments, last_step: int
) -> dict[str, Any]:
    """`{"trained_schedule": ...}` for `train_results.json` where a callback changed the
    schedule or the length of the run (`trained_schedule(last_step)`: a time budget, a flat
    validation curve), else `{}`: the step the run ended at (`last_step`), `--max_steps` as
    given, the warm-up steps and the step the linear decay reached 0 at as trained (the
    arguments' values where no callback changed them), `stopped_by` (`"max_steps"` where no
    callback ended the run) and a flat curve's `anneal`. `training_args.json` keeps the
    arguments as given."""
    parts = [c.trained_schedule(last_step) for c in callbacks if hasattr(c, "trained_schedule")]
    parts = [part for part in parts if part]
    if not parts:
        return {}
    planned = args.max_steps if args.max_steps > 0 else last_step
    record: dict[str, Any] = {
        "last_step": last_step,
        "max_steps_given": args.max_steps,
        "warmup_steps": args.get_warmup_steps(planned),
        "decay_to_zero_at": planned,
        "stopped_by": "max_steps",
    }
    for part in parts:
        record.update(part)
    return {"trained_schedule": record}


__all__ = ["PrixLMTrainer", "trained_schedule"]
