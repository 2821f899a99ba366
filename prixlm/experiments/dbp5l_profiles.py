"""Run sizes of the DBP-5L table: `toy` (the test suite), `cpu` (2 cores), `gpu` (one H200 call).

Every profile trains Prix-LM Single (per language), All (the five KGs' train triples + the
seed alignment links) and All without links with the **same** architecture, tokenizer (one
tokenizer trained on every language's labels) and batch size; training is bounded by a time
budget (`time_budget.TimeBudget`: the linear schedule is fitted to the steps the budget allows;
`*_steps` are upper bounds). CPU profiles count a job's own CPU time (`budget_clock: cpu`)
and run each job on one thread (`threads_per_worker`, as Table 1's: `profiles`).

KGE search: `kge_grid` points (a base point, then one factor changed at a time) x
`kge_epochs` (evaluated along one run), per model and language, selected on the validation
MRR; the search is never cut by time. With `kge_patience`, a point's run stops after that
many epoch points without a relative validation-MRR gain of `kge_relative_delta`.

The Prix-LM trained here is small and from scratch (no pretrained multilingual encoder):
the published systems it is compared with start from pretrained encoders or embeddings.
"""

from __future__ import annotations

from typing import Any

from prixlm.experiments.profiles import _PRIXLM, _TOY_PRIXLM, _grid

DBP5L_LANGUAGES = "el,en,es,fr,ja"

_KGE_BASE = {"embedding_dim": 128, "learning_rate": 5e-3, "num_negatives": 32, "batch_size": 512,
             "adversarial_temperature": 1.0}  # fmt: skip
_KGE_MARGIN = {"TransE": 6.0, "RotatE": 9.0}
_KGE_CHANGES = {
    "TransE": [{"embedding_dim": 256}, {"learning_rate": 1e-3}, {"num_negatives": 128},
               {"margin": 12.0}, {"adversarial_temperature": 0.5}],
    "RotatE": [{"embedding_dim": 256}, {"learning_rate": 1e-3}, {"num_negatives": 128},
               {"margin": 6.0}, {"adversarial_temperature": 0.5}],
}  # fmt: skip
# CPU: fewer negatives and larger batches (an epoch of RotatE on en with 32 negatives took
# 25-35 s on one shared core; with 8 negatives and batches of 1,024, 4.2 s on a quiet one).
# RotatE at that batch needs a larger step and tens of epochs (el, validation MRR on 1,000
# rows: .07 / .19 / .31 / .36 at 10 / 20 / 40 / 80 epochs with a learning rate of 3e-2, .36
# at 80 with batches of 256 at 1e-2), hence epoch points every 20 up to 160 with early
# stopping. TransE peaks within tens of epochs.
_CPU_BASE = {"embedding_dim": 128, "num_negatives": 8, "batch_size": 1024,
             "adversarial_temperature": 1.0}  # fmt: skip
_CPU_LEARNING_RATE = {"TransE": 1e-2, "RotatE": 3e-2}
_CPU_CHANGES = {
    "TransE": [{"learning_rate": 3e-3}, {"margin": 12.0}],
    "RotatE": [{"margin": 6.0}, {"adversarial_temperature": 0.5}],
}


# GPU (one call): batches of 1,024 (half the optimizer steps of an epoch), four points; RotatE
# needs long runs (Table 1, CLDR en: validation MRR .25 / .31 at 100 / 200 epochs) or a
# larger step at this batch (the cpu profile's el probe above), hence 2e-2 as its variant.
_GPU_BASE = {**_KGE_BASE, "batch_size": 1024}
_GPU_CHANGES = {
    "TransE": [{"embedding_dim": 256}, {"learning_rate": 2e-3}, {"margin": 12.0}],
    "RotatE": [{"embedding_dim": 256}, {"learning_rate": 2e-2}, {"margin": 6.0}],
}


def dbp5l_grid(model: str, size: str) -> list[dict[str, Any]]:
    """The search grid of `model` (`TransE` | `RotatE`) at `size` (`toy` | `cpu` | `gpu` |
    `full`: Table 1's six points)."""
    cpu_base = {
        **_CPU_BASE,
        "learning_rate": _CPU_LEARNING_RATE[model],
        "margin": _KGE_MARGIN[model],
    }
    if size == "toy":
        return _grid(model, {**cpu_base, "embedding_dim": 16}, [{"learning_rate": 3e-3}])
    if size == "cpu":
        base, changes = cpu_base, _CPU_CHANGES[model]
    elif size == "gpu":
        base, changes = {**_GPU_BASE, "margin": _KGE_MARGIN[model]}, _GPU_CHANGES[model]
    elif size == "full":
        base, changes = {**_KGE_BASE, "margin": _KGE_MARGIN[model]}, _KGE_CHANGES[model]
    else:
        raise ValueError(f"kge_size={size!r}: expected toy, cpu, gpu or full")
    return _grid(model, base, changes)


PROFILES: dict[str, dict[str, Any]] = {
    "toy": {
        "languages": "en,ja",
        "prixlm": _TOY_PRIXLM,
        "single_steps": 10,
        "all_steps": 20,
        "tokenizer_vocab_size": 400,
        "kge_size": "toy",
        "kge_epochs": {"TransE": [1, 2], "RotatE": [1, 2]},
        "eval_limit": 3,
        "validation_limit": 4,
        "workers": 1,
        "device": "cpu",
        "score_batch": 8,
        "score_rows": 512,
    },
    # 2 worker processes of one thread; budgets in CPU seconds of each job (`cpu` clock).
    # Measured here (one thread): an epoch of RotatE on en 4.2 s, TransE 1.4 s (8 negatives,
    # batches of 1,024); Prix-LM (hidden 128, 2 layers) ranks the 5,210 el entities in 3.9 s
    # a query (8,000 pieces; 4,000 pieces: ~3 s for en), hence 100 sampled test queries per
    # language for Prix-LM, the KGE winners on every test query (and on 20 sampled ones,
    # `kge_eval_limit`), no Prix-LM validation ranking (one setting each). Single and All
    # get the same training compute: 5 x 240 s = 1,200 s. Sum: KGE ~6,500 s (RotatE ~100
    # epochs a point, TransE up to 160), Prix-LM training 5 x 240 + 2 x 1,200 = 3,600 s,
    # Prix-LM ranking ~4,600 s: ~15,000 CPU s, ~2 h of wall time on 2 idle cores (the
    # budgets count CPU time, so a shared machine takes longer).
    "cpu": {
        "languages": DBP5L_LANGUAGES,
        "prixlm": {
            **_PRIXLM,
            "hidden_size": 128,
            "num_hidden_layers": 2,
            "intermediate_size": 512,
            "per_device_train_batch_size": 64,
            "disable_tqdm": True,
        },  # fmt: skip
        "single_steps": 20000,
        "all_steps": 100000,
        "single_time_limit": 240,
        "all_time_limit": 1200,
        "tokenizer_vocab_size": 4000,
        "kge_size": "cpu",
        "kge_epochs": {
            "TransE": [5, 10, 20, 40, 60, 80, 100, 120, 160],
            "RotatE": list(range(20, 161, 20)),
        },  # fmt: skip
        "kge_patience": 2,
        "kge_relative_delta": 0.01,
        "eval_limit": 100,
        "kge_eval_limit": 20,
        "validation_limit": 0,
        "kge_validation_limit": 1000,
        "workers": 2,
        "threads_per_worker": 1,  # as the committed DBP-5L figures ran (their notes)
        "device": "cpu",
        "score_batch": 8,
        "score_rows": 1024,
        "budget_clock": "cpu",
    },
    # One H200 call of <= 8 minutes (`results/device_dbp5l.sh`, `--deadline_s 420`): 17 jobs
    # in 17 processes at once. Ranking cost, from Table 1's GPU run (12 processes on one
    # H200: ~100k query x candidate scores a second for one All job): 200 sampled test
    # queries per language (All: 5 x 200 x ~11k candidates, ~110 s), the KGE winners also on
    # every test query; no Prix-LM validation ranking (one setting each). Single and All get
    # the same training time: 5 x 40 s = 200 s (All ends by ~60 + 200 + 110 s < 420 s). Not
    # yet run.
    "gpu": {
        "languages": DBP5L_LANGUAGES,
        "prixlm": {**_PRIXLM, "disable_tqdm": True, "per_device_train_batch_size": 256},
        "single_steps": 8000,
        "all_steps": 40000,
        "single_time_limit": 40,
        "all_time_limit": 200,
        "tokenizer_vocab_size": 8000,
        "kge_size": "gpu",
        "kge_epochs": {"TransE": [25, 50, 100], "RotatE": [50, 100, 150, 200]},
        "kge_patience": 2,
        "kge_relative_delta": 0.01,
        "eval_limit": 200,
        "validation_limit": 0,
        "kge_validation_limit": 2000,
        "workers": 17,
        "device": "cuda",
        "score_batch": 32,
        "score_rows": 4096,
    },
}


def get_profile(name: str) -> dict[str, Any]:
    if name not in PROFILES:
        raise ValueError(f"--profile {name!r}: expected one of {sorted(PROFILES)}")
    return {**PROFILES[name], "name": name}


__all__ = ["DBP5L_LANGUAGES", "PROFILES", "dbp5l_grid", "get_profile"]
