"""Run sizes of Table 1: `toy` (the test suite), `quick`, `full` (CPU), `gpu`/`gpu2` (device).

Every profile trains Prix-LM Single and All with the **same** architecture and tokenizer
(one tokenizer trained on every language's names) and the same batch size. Step budgets
are time budgets (`jobs.TimeBudget`: the linear schedule is fitted to the steps the time
allows; `*_steps` are only upper bounds): each Single gets `single_time_limit` seconds,
All `all_time_limit`. The steps each run reached are in the JSON and in `docs/results.md`.
CPU profiles count a job's own CPU time (`budget_clock: cpu`), so what a run reaches does not
depend on what else the machine is doing; device profiles count wall time.

KGE search: `kge_grid` (a base point, then one factor changed at a time) x `kge_epochs`
(evaluated along one run; a list, or a list per model: `kge_epoch_points`), per model and
language, selected on validation MRR, cut at the first epoch point after `kge_time_limit`
seconds.
"""

from __future__ import annotations

from typing import Any

PAPER_LANGUAGES = "en,it,de,fr,fi,et,tr,hu,ja"


def _grid(model: str, base: dict[str, Any], changes: list[dict[str, Any]]) -> list[dict]:
    return [{"model": model, **base}] + [{"model": model, **base, **c} for c in changes]


_KGE_BASE = {"embedding_dim": 128, "learning_rate": 5e-3, "num_negatives": 32, "batch_size": 512}
_KGE_CHANGES = {
    "TransE": [
        {"embedding_dim": 256},
        {"learning_rate": 1e-3},
        {"num_negatives": 128},
        {"margin": 12.0},
        {"adversarial_temperature": 0.5},
    ],
    "RotatE": [
        {"embedding_dim": 256},
        {"learning_rate": 1e-3},
        {"num_negatives": 128},
        {"margin": 6.0},
        {"adversarial_temperature": 0.5},
    ],
}
_KGE_MARGIN = {"TransE": 6.0, "RotatE": 9.0}


def kge_epoch_points(profile: dict[str, Any], model: str) -> list[int]:
    """The epoch points of `model`'s search: `kge_epochs` is one list or `{model: list}`."""
    points = profile["kge_epochs"]
    return list(points[model] if isinstance(points, dict) else points)


def kge_grid(model: str, size: str) -> list[dict[str, Any]]:
    base = {**_KGE_BASE, "margin": _KGE_MARGIN[model], "adversarial_temperature": 1.0}
    changes = _KGE_CHANGES[model]
    if size == "toy":
        return [{"model": model, **base, "embedding_dim": 16}]
    if size == "quick":
        changes = changes[:1]
    return _grid(model, base, changes)


# train.py options shared by Single and All (from scratch, as prixlm.demo)
_PRIXLM = {
    "hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
    "intermediate_size": 1024, "learning_rate": 1e-3, "warmup_steps": 0.06,
    "weight_decay": 0.01, "per_device_train_batch_size": 128,
    "gradient_accumulation_steps": 1, "logging_steps": 100, "lp_eval_queries": 0,
    "max_fact_length": 64,
}  # fmt: skip

PROFILES: dict[str, dict[str, Any]] = {
    "toy": {
        "languages": "en,de",
        "prixlm": {
            **_PRIXLM,
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "per_device_train_batch_size": 16,
            "logging_steps": 10,
        },  # fmt: skip
        "single_steps": 10,
        "all_steps": 20,
        "single_variants": {"lr1e3": {}},
        "all_variants": {"lr1e3": {}, "pivot": {"dataset": "pivot"}},
        "pivot": "en",
        "tokenizer_vocab_size": 400,
        "kge_size": "toy",
        "kge_epochs": [1, 2],
        "union_epochs": [1],
        "eval_limit": 6,
        "workers": 1,
        "device": "cpu",
        "beam_k": 0,
        "score_batch": 8,
        "score_rows": 512,
    },
    # CPU profiles: two worker processes of one thread; time limits bound every training run
    # and KGE search, so the wall time is about the sum below / 2 whatever the machine. Full
    # ranking dominates on CPU (measured here: 3 languages x 156 validation queries with the
    # demo-size model took > 6 min on one shared core), hence the query limits of `quick`.
    "quick": {  # measured wall time: docs/results.md (quick block)
        "languages": "en,de,ja",
        "prixlm": {
            **_PRIXLM,
            "hidden_size": 192,
            "intermediate_size": 768,
            "per_device_train_batch_size": 64,
            "disable_tqdm": True,
        },
        "single_steps": 5000,
        "all_steps": 20000,
        "single_variants": {"lr1e3": {}},
        "all_variants": {"pivot": {"dataset": "pivot"}},
        "pivot": "en",
        "tokenizer_vocab_size": 8000,
        "kge_size": "quick",
        # RotatE at Adam 5e-3 needs far more epochs than TransE: validation MRR (en, CPU)
        # .057 / .154 at 20 / 50 epochs, (GPU run, nine languages) .25 / .31 at 100 / 200;
        # union graph (en, de, ja) .04 / .11 / .21 at 5 / 10 / 20 epochs (was [1, 2]: .003)
        "kge_epochs": {"TransE": [20, 50], "RotatE": [100, 200]},
        "union_epochs": [20, 40],
        "eval_limit": 150,
        "validation_limit": 30,
        "workers": 2,
        "device": "cpu",
        "beam_k": 0,
        "score_batch": 16,
        "score_rows": 1024,
        "single_time_limit": 90,
        "all_time_limit": 240,
        "kge_time_limit": 120,  # RotatE reaches its 200-epoch point (~1 s an epoch)
        "union_time_limit": 150,
        "budget_clock": "cpu",
    },
    "full": {  # ~2 h on 2 cores (estimate; not measured end to end)
        "languages": PAPER_LANGUAGES,
        "prixlm": {**_PRIXLM, "per_device_train_batch_size": 64, "disable_tqdm": True},
        "single_steps": 20000,
        "all_steps": 100000,
        "single_variants": {"lr1e3": {}},
        "all_variants": {"pivot": {"dataset": "pivot"}},
        "pivot": "en",
        "tokenizer_vocab_size": 8000,
        "kge_size": "quick",
        # as in `quick` (RotatE and the union graph need more epochs); not yet measured here
        "kge_epochs": {"TransE": [50, 100], "RotatE": [100, 200]},
        "union_epochs": [10, 20],
        "eval_limit": None,
        "validation_limit": 50,
        "workers": 2,
        "device": "cpu",
        "beam_k": 0,
        "score_batch": 16,
        "score_rows": 1024,
        "single_time_limit": 240,
        "all_time_limit": 1800,
        "kge_time_limit": 240,
        "union_time_limit": 300,
        "budget_clock": "cpu",
    },
    "gpu": {  # one H200 call: step budgets are fitted to the time limits (TimeBudget)
        "languages": PAPER_LANGUAGES,
        "prixlm": {**_PRIXLM, "disable_tqdm": True, "per_device_train_batch_size": 256},
        "single_steps": 4000,
        "all_steps": 40000,
        "single_variants": {"lr1e3": {}, "lr2e3": {"learning_rate": 2e-3}},
        "all_variants": {
            "lr1e3": {},
            "pivot": {"dataset": "pivot"},
            "pivotlr2e3": {"dataset": "pivot", "learning_rate": 2e-3},
        },
        "pivot": "en",
        "tokenizer_vocab_size": 8000,
        "kge_size": "full",
        "kge_epochs": [100, 200, 400],
        "union_epochs": [20, 50],
        "eval_limit": None,
        "workers": 12,
        "device": "cuda",
        "beam_k": 50,
        "score_batch": 64,
        "score_rows": 16384,
        "all_time_limit": 220,
        "single_time_limit": 40,
        "kge_time_limit": 100,
        "union_time_limit": 120,
    },
}
# The second device call (the first one's KGE jobs lacked a wheel and its evaluations ran out
# of GPU memory at score_rows 16384 with 12 processes): its finished Single runs are carried
# over (resume) and the rest fits ~4 minutes: one All variant, no beam search, a smaller grid.
PROFILES["gpu2"] = {
    **PROFILES["gpu"],
    "single_variants": {"lr1e3": {}},
    "all_variants": {"pivot": {"dataset": "pivot"}},
    "kge_size": "quick",
    "kge_epochs": [100, 200],
    "union_epochs": [10, 20],
    "workers": 12,
    "beam_k": 0,
    "score_batch": 32,
    "score_rows": 4096,
    "validation_limit": 40,
    "all_time_limit": 90,
    "kge_time_limit": 60,
    "union_time_limit": 60,
}


def get_profile(name: str) -> dict[str, Any]:
    if name not in PROFILES:
        raise ValueError(f"--profile {name!r}: expected one of {sorted(PROFILES)}")
    return {**PROFILES[name], "name": name}


__all__ = ["PAPER_LANGUAGES", "PROFILES", "get_profile", "kge_epoch_points", "kge_grid"]
