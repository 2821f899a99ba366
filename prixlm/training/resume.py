"""Resuming a training run continues the same run, or refuses and says why.

Every checkpoint holds, besides the Trainer's files, the run's tokenizer (the Trainer saves
it) and `prixlm_run.json`: the arguments that define the run (`RUN_ARGUMENTS`, the model
and data arguments), a fingerprint of the dataset's files and of the tokenizer's vocabulary.
`--resume_from_checkpoint` then

- reuses the checkpoint's tokenizer (training a tokenizer again is not deterministic: other
  ids, and the weights would continue for ids they were not trained on);
- refuses (`UsageError`) when the arguments, the data or the tokenizer differ from the
  checkpoint's, naming each difference (an option that shapes the model and that the
  record does not name: by the checkpoint's `config.json`, `checkpoint_model`);
- refuses a damaged checkpoint (a file cut short, unreadable), or one of an unfinished run
  without the optimizer's, the schedule's or the random state (`checkpoint_files`: without
  them Adam and the warm-up would start again), naming the file and the previous complete
  checkpoint to resume from;
- says so and trains nothing when the run is already finished (`finished_run`).

`resume_checkpoint` resolves `--resume_from_checkpoint` and refuses a new run into a folder
that holds an earlier run's checkpoints or release.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers.trainer_utils import get_last_checkpoint

from prixlm.cli import UsageError
from prixlm.training.checkpoint_files import (
    RUN_FILE,
    check_checkpoint,
    checkpoint_folders,
    finished_run,
)
from prixlm.training.checkpoint_model import model_differences
from prixlm.training.data_fingerprint import (
    data_record,
    dataset_fingerprint,
    files_digest,
    same_data,
)
from prixlm.training.run_settings import accelerator_arguments, difference, sampler_record

#: The training arguments a resumed run must share with its checkpoint (the model's and the
#: data's arguments are compared whole, but for `NOT_COMPARED`; `--accelerator_config`'s
#: batch settings too: `prixlm.training.run_settings`).
RUN_ARGUMENTS = (
    "seed",
    "learning_rate",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "weight_decay",
    "max_grad_norm",
    "warmup_steps",
    "lr_scheduler_type",
    "lr_scheduler_kwargs",
    "optim",
    "optim_args",
    "data_seed",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "train_sampling_strategy",
    "dataloader_drop_last",
    "bf16",
    "fp16",
    "world_size",
    # what else changes what is learned (a resume that added NEFTune noise went on silently)
    "neftune_noise_alpha",
    "label_smoothing_factor",
    "auto_find_batch_size",
    "full_determinism",
    "average_tokens_across_devices",
    "ignore_data_skip",
    "optim_target_modules",
    "use_liger_kernel",
    "length_column_name",
)
#: Arguments that change how a run is carried out or described, not what it learns (static
#: batch shapes only add padding; the residual's dtype is a numerical setting, as the compile
#: mode); the dataset's and the tokenizer's folders are compared by their contents instead.
NOT_COMPARED = {
    "tokenize_num_proc",
    "dataset_id",
    "dataset",
    "tokenizer_dir",
    "static_shapes",
    "pad_rows_to",
    "pad_labels_to",
    "autocast_residual",
}
#: The digest of a continued release's weights in the run record (`release_start`).
RELEASE_DIGEST = "model_weights_sha256"
#: A release folder's files in a run folder: a new run there would replace them.
RELEASE_FILES = ("model", "train_results.json")
#: The link prediction curve (Fig. 2) a run writes beside its checkpoints: a new run there
#: would show it as its own (or put it in its release).
CURVE_FILES = ("lp_curve.png", "lp_curve.csv")
#: The Trainer's TensorBoard logs (`<output_dir>/runs/<date>_<host>`, transformers 5.x):
#: kept, TensorBoard would show an earlier run's curves beside the new run's.
TRAINER_LOGS = "runs"


def remove_earlier_run(output_dir: str | Path) -> None:
    """Remove an earlier run's checkpoints, release, curve and TensorBoard logs from
    `output_dir`, so that a new run may start there (`resume_checkpoint` refuses one beside
    them), holding its one-writer lock: `OutputLockedError` before anything is removed while
    a training writes it."""
    import shutil

    from prixlm.outputs.lock import writer_lock

    output_dir = Path(output_dir)
    earlier_files = (output_dir / name for name in (*RELEASE_FILES, *CURVE_FILES, TRAINER_LOGS))
    with writer_lock(output_dir, argument="--output_dir"):
        for earlier in [*checkpoint_folders(output_dir), *earlier_files]:
            if earlier.is_dir():
                shutil.rmtree(earlier)
            else:
                earlier.unlink(missing_ok=True)


def run_record(run: Any, tokenizer: Any | None) -> dict[str, Any]:
    """What defines `run` (a `TrainingRun`) trained with `tokenizer`, as stored in
    `prixlm_run.json` (without `tokenizer`: its arguments and data only)."""
    arguments = {**dataclasses.asdict(run.model), **dataclasses.asdict(run.data)}
    arguments = {k: v for k, v in arguments.items() if k not in NOT_COMPARED}
    arguments.update({name: getattr(run.training, name, None) for name in RUN_ARGUMENTS})
    arguments.update(accelerator_arguments(run.training))  # split_batches, ...
    dataset = run.data.dataset
    record = {
        "arguments": json.loads(json.dumps(arguments, default=str)),
        **data_record(dataset),  # its files' fingerprints, or a Hub id (`data_fingerprint`)
        "dataset_dir": str(dataset),
        **sampler_record(run.training),  # the batch order's rule (group_by_length, ...)
    }
    if tokenizer is not None:
        record["tokenizer"] = vocabulary_fingerprint(tokenizer)
    return record


def vocabulary_fingerprint(tokenizer: Any) -> str:
    """sha256 of the tokenizer's token -> id map."""
    vocabulary = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps(vocabulary, ensure_ascii=False).encode()).hexdigest()


def write_run_record(folder: Path, record: dict[str, Any]) -> None:
    """Store `record` in a checkpoint folder."""
    (folder / RUN_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), "utf-8")


def check_same_run(
    checkpoint: str | Path,
    record: dict[str, Any],
    tokenizer: Any | None = None,
    also_same: Mapping[str, Any] | None = None,
    config: Any | None = None,
) -> None:
    """`UsageError` naming every difference between this run and `checkpoint`'s (the
    tokenizer's only when `record` has it: `run_record` with a tokenizer). `also_same`: a
    stored argument value that means this run's too (`links` True, as earlier records spelled
    `--links` as given, where these data train no link). `config`: the model built to
    resume, compared with the checkpoint's `config.json` where the record does not name
    the option (`checkpoint_model.model_differences`).

    A checkpoint without `prixlm_run.json` (written before it existed) is checked only by
    its `config.json`, and an argument its record does not have (recorded since) is not.
    """
    checkpoint = Path(checkpoint)
    stored_file = checkpoint / RUN_FILE
    stored = json.loads(stored_file.read_text("utf-8")) if stored_file.is_file() else None
    old_arguments = (stored or {}).get("arguments", {})
    differences = model_differences(checkpoint, config, old_arguments) if config is not None else []
    if stored is None:
        if differences:
            _refuse(checkpoint, differences)
        return
    new_arguments = record["arguments"]
    also_same = also_same or {}
    for name in sorted(set(old_arguments) | set(new_arguments)):
        if name not in old_arguments:  # recorded only since that checkpoint was written
            continue
        old, new = old_arguments.get(name), new_arguments.get(name)
        if name in also_same and old == also_same[name]:
            continue
        if name == "base_model" and _both_continued(stored, record):
            continue  # a release is compared by its weights (`_other_release`), not its path
        if old != new:
            differences.append(difference(name, new, old))  # worded as what to change
    if _hub_id(stored) or _hub_id(record):  # a Hub id: the id is compared
        if _hub_id(stored) != _hub_id(record):
            differences.append(
                f"--dataset {record['dataset_dir']} (the checkpoint's: {stored.get('dataset_dir')})"
            )
    elif not same_data(stored, record):
        differences.append(
            f"the dataset in --dataset {record['dataset_dir']} (other files than the checkpoint's)"
        )
    if "tokenizer" in record and stored.get("tokenizer") != record["tokenizer"]:
        differences.append(f"the tokenizer ({_moved_ids(checkpoint, tokenizer)})")
    if (moved := _other_release(stored, record)) is not None:
        differences.append(moved)
    if differences:
        _refuse(checkpoint, differences)


def _both_continued(stored: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether both runs continued a Prix-LM release (`continued_from`): the same one
    where its weights are (`_other_release`), wherever its folder is now."""
    return bool(stored.get("continued_from")) and bool(record.get("continued_from"))


def _other_release(stored: Mapping[str, Any], record: Mapping[str, Any]) -> str | None:
    """The difference where both runs continued a Prix-LM release (`continued_from`) and
    its weights are not those the checkpoint's run started from; else None."""
    old, new = stored.get("continued_from"), record.get("continued_from")
    if not old or not new or old.get(RELEASE_DIGEST) == new.get(RELEASE_DIGEST):
        return None
    return (
        f"the weights of the release in --base_model {new.get('release')} (not those the "
        "checkpoint's run continued: the release changed since)"
    )


def _refuse(checkpoint: Path, differences: list[str]) -> None:
    raise UsageError(
        f"--resume_from_checkpoint {checkpoint}: this run differs from the checkpoint's "
        f"in {'; '.join(differences)}; resume with the checkpoint's settings and data, or "
        "start a new run in another --output_dir"
    )


#: The fingerprint of no files: what records written before Hub ids were compared hold
#: for a Hub dataset.
_NO_FILES = hashlib.sha256().hexdigest()


def _hub_id(record: dict[str, Any]) -> str | None:
    """The Hub id of the dataset `record`'s run read, None for a dataset folder."""
    data = str(record.get("data", ""))
    return str(record.get("dataset_dir")) if data.startswith("hub:") or data == _NO_FILES else None


def _moved_ids(checkpoint: Path, tokenizer: Any) -> str:
    from transformers import XLMRobertaTokenizer  # by name, as pretrain loads it

    try:
        old = XLMRobertaTokenizer.from_pretrained(checkpoint).get_vocab()
    except (OSError, ValueError):
        return "the checkpoint's cannot be read"
    new = tokenizer.get_vocab()
    moved = [
        (t, old.get(t), new.get(t)) for t in sorted(set(old) | set(new)) if old.get(t) != new.get(t)
    ]
    examples = ", ".join(f"{t!r} {a} -> {b}" for t, a, b in moved[:3])
    return f"{len(moved)} of {len(old)} ids differ, e.g. {examples}"


def resume_checkpoint(output_dir: str, resume: str | None, world_size: int = 1) -> str | None:
    """The checkpoint `--resume_from_checkpoint` names (`true`: the last one), checked
    (`check_checkpoint`); None for a new run, refused (`UsageError`) when `output_dir` holds
    an earlier run's checkpoints (they would be rotated with the new run's), its release
    (`RELEASE_FILES`: the new run would replace it) or, unless this run was asked to go
    on (`true`: a start that stopped before its first checkpoint, started again), its curve
    (`CURVE_FILES`: the new run would show it as its own). A checkpoint of another folder
    is continued only into an `output_dir` without such files: `check_foreign_resume`."""
    earlier_files = (*RELEASE_FILES, *CURVE_FILES)
    if resume in ("true", "True", "last"):
        resume = get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None
        if resume is None:
            print(f"no checkpoint in {output_dir}: starting from scratch", file=sys.stderr)
            earlier_files = RELEASE_FILES
    if resume:
        if not Path(resume).is_dir():
            raise UsageError(f"--resume_from_checkpoint {resume}: no such checkpoint folder")
        check_checkpoint(resume, world_size)
        check_foreign_resume(output_dir, resume)
        return resume
    if Path(output_dir).is_dir() and (earlier := get_last_checkpoint(output_dir)):
        release = Path(output_dir) / "model"
        if finished_run(earlier) is not None and release.is_dir():  # nothing to continue
            raise UsageError(
                f"--output_dir {output_dir} holds a finished run (its last checkpoint: "
                f"{Path(earlier).name}; its release: {release}): to upload that release (a "
                "--push_to_hub that failed), run this command again with "
                f"--resume_from_checkpoint true, or python -m prixlm.publish {shlex.quote(str(release))} "
                "REPO_ID; "
                "to train a new run, start it in another --output_dir, or remove that folder"
            )
        raise UsageError(
            f"--output_dir {output_dir} holds an earlier run's checkpoints (the last: "
            f"{Path(earlier).name}): continue it with --resume_from_checkpoint true, or start "
            "this run in another --output_dir"
        )
    for name in earlier_files:
        if (found := Path(output_dir) / name).exists():
            what = "release" if name in RELEASE_FILES else "link prediction curve"
            raise UsageError(
                f"--output_dir {output_dir} holds an earlier run's {what} ({found}) and no "
                f"checkpoint to resume: start this run in another --output_dir, or remove {found}"
            )
    return None


def check_foreign_resume(output_dir: str, resume: str) -> None:
    """`UsageError` when `resume`, a checkpoint of another folder, would continue into an
    `output_dir` holding run files (checkpoints, release, curve): the run's checkpoints went
    beside them, rotated together by step, and its release replaced the one there."""
    here = Path(output_dir)
    if not here.is_dir() or Path(resume).resolve().parent == here.resolve():
        return
    found = [p.name for p in checkpoint_folders(here)]
    found += [name for name in (*RELEASE_FILES, *CURVE_FILES) if (here / name).exists()]
    if found:
        raise UsageError(
            f"--resume_from_checkpoint {resume}: a checkpoint of another folder, and "
            f"--output_dir {output_dir} already holds a run's files ({', '.join(found)}), "
            "which it would be mixed with and replace; continue in a new --output_dir, or "
            "resume that folder's own run with --resume_from_checkpoint true"
        )


__all__ = [
    "CURVE_FILES",
    "RELEASE_FILES",
    "RUN_ARGUMENTS",
    "RUN_FILE",
    "check_foreign_resume",
    "check_same_run",
    "dataset_fingerprint",
    "files_digest",
    "remove_earlier_run",
    "resume_checkpoint",
    "run_record",
    "vocabulary_fingerprint",
    "write_run_record",
]
