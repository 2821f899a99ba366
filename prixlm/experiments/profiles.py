"""Run sizes of Table 1: `toy` (the test suite), `quick`, `full` (CPU), `gpu`/`gpu2` (device).

Every profile trains Prix-LM Single and All with the **same** architecture and tokenizer
(one tokenizer trained on every language's names) and the same batch size. Step budgets
are time budgets (`time_budget.TimeBudget`: the linear schedule is fitted to the steps the time
allows; `*_steps` are only upper bounds): each Single gets `single_time_limit` seconds,
All `all_time_limit`. The steps each run reached are in the JSON and in `docs/results.md`.
CPU profiles count a job's own CPU time (`budget_clock: cpu`), so what a run reaches does not
depend on what else the machine is doing; device profiles count wall time.

`threads_per_worker`: torch threads of each job (absent: `os.cpu_count() // workers`,
`jobs.worker_threads`). They change the numbers in their last digits and, under a CPU-time
budget, the steps reached, so the CPU profiles fix them at 1 (what the committed runs used)
and the runners record the count used (the results' `profile`, every job record's
`torch_num_threads` and the `OMP_NUM_THREADS=` of its train.py `command`).

KGE search: `kge_grid` (a base point, then one factor changed at a time) x `kge_epochs`
(evaluated along one run; a list, or a list per model: `kge_epoch_points`), per model and
language, selected on validation MRR, cut at the first epoch point after `kge_time_limit`
seconds. The `full` grid (profiles `full`, `gpu`) tries the larger dimensions first (RotatE
256, 512, 1000; TransE 256, 512) and evaluates every 25 epochs up to 400 with early stopping
(`kge_patience` evaluations without a relative validation-MRR gain of `kge_relative_delta`:
PyKEEN's `EarlyStoppingLogic`), so each point trains as long as validation still improves.

Prix-LM All with `all_curve_every`: validation curve every that many steps (`all_curve`:
the metric, `mrr` of a full ranking of `all_curve_queries` validation queries per language,
or the validation `loss`), stopped when flat (`prixlm.experiments.curve.FlatRule`: no gain
above `all_flat_min_gain` over the last `all_flat_window` evaluations) or at the time budget;
with `all_anneal_share` (`full`, `gpu`), a flat curve does not stop training at once: the
learning rate decays from its value there to 0 over that share of the steps trained so far.
On the full CPU run's validation queries, annealing over 20% more steps after the flat point
raised All's average hits@1 / MRR from 25.8 / 34.4 to 27.8 / 37.1
(`results/table1_anneal_check.json`).
"""

from __future__ import annotations

from typing import Any

PAPER_LANGUAGES = "en,it,de,fr,fi,et,tr,hu,ja"


def _grid(model: str, base: dict[str, Any], changes: list[dict[str, Any]]) -> list[dict]:
    """The base point, then one point per change of it; RotatE's entities start uniform
    (`prixlm.baselines.kge.ENTITY_INIT`, named in every point: a search made with the
    xavier start is another search)."""
    init = {"entity_initializer": "uniform"} if model == "RotatE" else {}
    first = {"model": model, **base, **init}
    return [first] + [{**first, **change} for change in changes]


_KGE_BASE = {"embedding_dim": 128, "learning_rate": 5e-3, "num_negatives": 32, "batch_size": 512}
_KGE_CHANGES = {
    "TransE": [
        {"embedding_dim": 256},
        {"embedding_dim": 512},
        {"learning_rate": 1e-3},
        {"num_negatives": 128},
        {"margin": 12.0},
        {"adversarial_temperature": 0.5},
    ],
    "RotatE": [
        {"embedding_dim": 256},
        {"embedding_dim": 512},
        {"embedding_dim": 1000},
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
        return _grid(model, {**base, "embedding_dim": 16}, [])
    if size == "quick":
        changes = changes[:1]
    elif size != "full":
        raise ValueError(f"kge_size={size!r}: expected toy, quick or full")
    return _grid(model, base, changes)


def kge_stopping(profile: dict[str, Any]) -> dict[str, Any]:
    """`kge_job`'s early-stopping arguments of `profile` (none: every epoch point is run)."""
    if not profile.get("kge_patience"):
        return {}
    return {"patience": profile["kge_patience"],
            "relative_delta": profile.get("kge_relative_delta", 0.0)}  # fmt: skip


def all_curve_settings(profile: dict[str, Any]) -> dict[str, Any]:
    """`prixlm_job`'s validation-curve arguments for All (none: no curve, no flat stop)."""
    if not profile.get("all_curve_every"):
        return {}
    return {
        "curve_every": profile["all_curve_every"],
        "curve_metric": profile.get("all_curve", "loss"),
        "curve_queries": profile.get("all_curve_queries", 20),
        "flat_window": profile.get("all_flat_window", 3),
        "flat_min_gain": profile.get("all_flat_min_gain", 0.0),
        "anneal_share": profile.get("all_anneal_share", 0.0),
    }


#: every 25 epochs up to 400: the points of the early-stopped search (`full` grid)
EVERY_25_TO_400 = list(range(25, 401, 25))


# train.py options shared by Single and All (from scratch, as prixlm.demo)
_PRIXLM = {
    "hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
    "intermediate_size": 1024, "learning_rate": 1e-3, "warmup_steps": 0.06,
    "weight_decay": 0.01, "per_device_train_batch_size": 128,
    "gradient_accumulation_steps": 1, "logging_steps": 100, "lp_eval_queries": 0,
    "max_fact_length": 64,
}  # fmt: skip

# The test suite's model: one tiny layer (Table 1's and DBP-5L's toy profiles).
_TOY_PRIXLM = {**_PRIXLM, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
               "intermediate_size": 64, "per_device_train_batch_size": 16,
               "logging_steps": 10}  # fmt: skip

PROFILES: dict[str, dict[str, Any]] = {
    "toy": {
        "languages": "en,de",
        "prixlm": _TOY_PRIXLM,
        "single_steps": 10,
        "all_steps": 20,
        "all_curve": "loss",
        "all_curve_every": 5,
        "all_flat_window": 2,
        "all_flat_min_gain": 0.0,
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
        "threads_per_worker": 1,
        "device": "cpu",
        "beam_k": 0,
        "score_batch": 16,
        "score_rows": 1024,
        "single_time_limit": 90,
        "all_time_limit": 240,
        "all_curve": "loss",  # cheap: every validation fact, one forward each
        "all_curve_every": 100,
        "all_flat_window": 3,
        "all_flat_min_gain": 0.02,
        "kge_time_limit": 120,  # RotatE reaches its 200-epoch point (~1 s an epoch)
        "union_time_limit": 150,
        "budget_clock": "cpu",
    },
    # CPU, 2 workers: 47,908 s of jobs measured with RotatE's searches cut at 2,400 s; with
    # the whole RotatE grid about 100,000 s (~14 h on 2 cores, in several starts: resumable)
    "full": {
        "languages": PAPER_LANGUAGES,
        # a checkpoint every 1,000 steps (~9 min on one thread): a stopped run goes on from it
        "prixlm": {
            **_PRIXLM,
            "per_device_train_batch_size": 64,
            "disable_tqdm": True,
            "save_steps": 1000,
        },
        "single_steps": 20000,
        "all_steps": 100000,
        "single_variants": {"lr1e3": {}},
        "all_variants": {"pivot": {"dataset": "pivot"}},
        "pivot": "en",
        "tokenizer_vocab_size": 8000,
        # the full grid, early-stopped; on one CPU thread RotatE costs ~1.2 s an epoch at dim
        # 128 and ~10 s at 1000: 2,400 s reached dims 128-512 (3 of 8 points), the whole grid
        # takes an estimated 7,000-8,000 s a language; TransE's whole grid took 780-1,930 s
        "kge_size": "full",
        "kge_epochs": EVERY_25_TO_400,
        "kge_patience": 3,
        "kge_relative_delta": 0.01,
        "union_epochs": [10, 20],
        "eval_limit": None,
        "validation_limit": 50,
        "workers": 2,
        "threads_per_worker": 1,  # as the committed Table 1 ran (its notes)
        "device": "cpu",
        "beam_k": 0,
        "score_batch": 16,
        "score_rows": 1024,
        "single_time_limit": 240,
        "all_time_limit": 7200,  # the max budget; the curve's flatness stops it earlier
        "all_curve": "loss",  # full ranking is too slow on CPU to evaluate every few minutes
        "all_curve_every": 250,
        "all_flat_window": 4,
        "all_flat_min_gain": 0.01,
        "all_anneal_share": 0.2,
        "kge_time_limit": 10800,
        "union_time_limit": 300,
        "budget_clock": "cpu",
    },
    # one H200 call (`results/device_table1.sh`, deadline 470 s, 12 workers): All trains for
    # at most 280 s beside the rest (its curve every 500 steps, ~23 steps/s measured there);
    # 11 workers share 9 Singles (~80 s each), the union graph and 18 KGE searches of at
    # most 200 s each (~0.3 s an epoch at dim 128 with 12 processes on the GPU: ~650
    # epochs a search, so the early stopping decides how many grid points each reaches)
    # Two All variants, chosen on validation: links through the pivot, and every pair's links
    # (`main`); on en, de, ja at 10 epochs every pair was 2.2 / 1.5 points (hits@1 / MRR)
    # above the pivot on validation, at 300 steps 5.1 / 3.2 below (`ablations`).
    "gpu": {
        "languages": PAPER_LANGUAGES,
        "prixlm": {**_PRIXLM, "disable_tqdm": True, "per_device_train_batch_size": 256},
        "single_steps": 4000,
        "all_steps": 40000,
        "single_variants": {"lr1e3": {}},
        "all_variants": {"pivot": {"dataset": "pivot"}, "links": {}},
        "pivot": "en",
        "tokenizer_vocab_size": 8000,
        "kge_size": "full",
        "kge_epochs": EVERY_25_TO_400,
        "kge_patience": 2,
        "kge_relative_delta": 0.01,
        "union_epochs": [10, 20],
        "eval_limit": None,
        "validation_limit": 40,
        "workers": 12,
        "device": "cuda",
        "beam_k": 0,
        "score_batch": 32,
        "score_rows": 4096,
        "all_time_limit": 240,
        "all_curve": "mrr",
        "all_curve_every": 500,
        "all_curve_queries": 30,
        "all_flat_window": 4,
        "all_flat_min_gain": 0.005,
        "all_anneal_share": 0.2,
        "single_time_limit": 40,
        "kge_time_limit": 180,
        "union_time_limit": 60,
    },
}
# The profile of the committed Table 1 (its second device call: the first one's KGE jobs
# lacked a wheel and its evaluations ran out of GPU memory at score_rows 16384 with 12
# processes): one All variant, no beam search, the quick grid at 100 and 200 epochs.
PROFILES["gpu2"] = {
    **PROFILES["gpu"],
    "all_variants": {"pivot": {"dataset": "pivot"}},
    "kge_size": "quick",
    "kge_epochs": [100, 200],
    "kge_patience": None,
    "all_time_limit": 90,
    "all_curve_every": None,
    "kge_time_limit": 60,
}


def get_profile(name: str) -> dict[str, Any]:
    if name not in PROFILES:
        raise ValueError(f"--profile {name!r}: expected one of {sorted(PROFILES)}")
    return {**PROFILES[name], "name": name}


__all__ = [
    "all_curve_settings",
    "PAPER_LANGUAGES",
    "PROFILES",
    "get_profile",
    "kge_epoch_points",
    "kge_grid",
    "kge_stopping",
]
