"""What a run's record holds besides its options, and how a refused resume names a difference.

A checkpoint's `prixlm_run.json` (`prixlm.training.resume.run_record`) records the options
that define the run by their names; it also records the number of processes (`world_size`:
no option, the launcher's) and the settings of `--accelerator_config` that change which
facts each update trains (`ACCELERATOR_ARGUMENTS`). `difference` words one of them as the
user changes it: an option as typed, the processes as a launch command.
"""

from __future__ import annotations

import json
from typing import Any

from prixlm.training.processes import accelerator_setting

#: accelerate's settings that change what each update trains: processes sharing each batch
#: instead of one each (`split_batches`), the last batch filled with facts from the epoch's
#: start (`even_batches`), batches read by the first process and sent to the others
#: (`dispatch_batches`).
ACCELERATOR_ARGUMENTS = ("split_batches", "even_batches", "dispatch_batches")
#: How a record names them: `accelerator_config.<setting>`.
ACCELERATOR_PREFIX = "accelerator_config."


def accelerator_arguments(training: Any) -> dict[str, Any]:
    """`ACCELERATOR_ARGUMENTS` of a run's `TrainingArguments`, as its record stores them."""
    config = getattr(training, "accelerator_config", None)
    return {
        f"{ACCELERATOR_PREFIX}{name}": accelerator_setting(config, name, None)
        for name in ACCELERATOR_ARGUMENTS
    }


def difference(name: str, new: Any, old: Any) -> str:
    """One difference between this run (`new`) and its checkpoint (`old`) in the recorded
    argument `name`, worded as what to change."""
    if name == "world_size":
        launch = (
            f"torchrun --nproc_per_node {old} train.py ..." if old != 1 else "python train.py ..."
        )
        return (
            f"processes: {new} (the checkpoint's: {old}): launch it as the checkpoint was, "
            f"e.g. {launch}"
        )
    if name.startswith(ACCELERATOR_PREFIX):
        setting = name.removeprefix(ACCELERATOR_PREFIX)
        return (
            f"--accelerator_config {json.dumps({setting: new})} (the checkpoint's: "
            f"{json.dumps({setting: old})})"
        )
    return f"--{name} {new} (the checkpoint's: {old})"


__all__ = ["ACCELERATOR_ARGUMENTS", "accelerator_arguments", "difference"]
