"""Which of the Trainer's settings an optimizer and a learning-rate schedule read.

transformers reads `--warmup_steps` in every schedule but those of
`SCHEDULES_WITHOUT_WARMUP` (`transformers.get_scheduler`), and `--adam_beta1`,
`--adam_beta2` and `--adam_epsilon` in the Adam family of `--optim` only (`reads_adam`).
The run's checks (`prixlm.training.option_checks`) and the model card's table
(`prixlm.release.card_settings`) share them. No torch import: the card is rendered without it.
"""

from __future__ import annotations

from typing import Any

#: Schedules that never read the warm-up (`transformers.get_scheduler`).
SCHEDULES_WITHOUT_WARMUP = ("constant", "reduce_lr_on_plateau", "greedy")
#: Schedules that follow an evaluation metric (training runs no evaluation).
SCHEDULES_OF_EVALUATIONS = ("reduce_lr_on_plateau", "greedy")
#: The Adam settings of `TrainingArguments`.
ADAM_SETTINGS = ("adam_beta1", "adam_beta2", "adam_epsilon")


def setting_value(option: Any) -> str:
    """An option's value as typed: an enum's value, or the value itself."""
    return str(getattr(option, "value", option))


def reads_warmup(schedule: Any) -> bool:
    """Whether `--lr_scheduler_type schedule` warms up (None: not recorded, the default's)."""
    return schedule is None or setting_value(schedule) not in SCHEDULES_WITHOUT_WARMUP


def reads_adam(optim: Any) -> bool:
    """Whether `--optim optim` reads `ADAM_SETTINGS`: an Adam variant (`adamw_torch`,
    `adamw_torch_fused`, `paged_adamw_8bit`, `schedule_free_radam`, ...), not `sgd`,
    `adagrad`, `adafactor`, `lion_32bit`, `rmsprop`, ... (None: not recorded, the default's)."""
    return optim is None or "adam" in setting_value(optim)


__all__ = [
    "ADAM_SETTINGS",
    "SCHEDULES_OF_EVALUATIONS",
    "SCHEDULES_WITHOUT_WARMUP",
    "reads_adam",
    "reads_warmup",
    "setting_value",
]
