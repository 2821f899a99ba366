"""One PyKEEN search of a Table 1 profile, for one model and language of a built dataset.

The `kge_job` that `make table1` runs (grid, epoch points, early stopping, time limit of the
profile), alone: to check a baseline's search, or to tune it, without the rest of Table 1.
The record (every grid point's validation MRR and hits@1, the winner, its validation and
test metrics, seconds) is printed and, with `--output`, written as JSON.

Each grid point's model is seeded afresh (PyKEEN's `random_seed` sets every generator), so
a point trained alone (`--points 3,4`: the profile's third and fourth) is trained exactly as
in the whole search: searches of disjoint points can run in parallel and be compared.

    python -m prixlm.experiments.kge_search --dataset outputs/demo/dataset --language en \\
        --model RotatE --profile full --grid_points 2 --output /tmp/rotate_en.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from prixlm.baselines.kge import require_pykeen
from prixlm.cli import command_parser, positive_float, positive_int, user_errors
from prixlm.experiments.profiles import get_profile, kge_epoch_points, kge_grid, kge_stopping
from prixlm.outputs.atomic import check_output_file, write_json


def search(
    dataset: str,
    language: str,
    model: str,
    profile_name: str,
    grid_points: int | None = None,
    points: list[int] | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    device: str | None = None,
) -> dict[str, Any]:
    """`kge_job` with `profile_name`'s settings; `grid_points`: only the first that many;
    `points`: only these (1-based positions in the profile's grid, in this order)."""
    from prixlm.experiments.jobs import kge_job

    profile = get_profile(profile_name)
    grid = kge_grid(model, profile["kge_size"])[:grid_points]
    if points:
        outside = [p for p in points if not 1 <= p <= len(grid)]
        if outside:
            raise ValueError(f"--points {outside}: the {model} grid has points 1 to {len(grid)}")
        grid = [grid[p - 1] for p in points]
    record = kge_job(
        dataset,
        [language],
        grid,
        kge_epoch_points(profile, model),
        seed=seed,
        device=device or profile["device"],
        eval_limit=profile["eval_limit"],
        time_limit=time_limit or profile.get("kge_time_limit"),
        budget_clock=profile.get("budget_clock", "wall"),
        **kge_stopping(profile),
    )
    return {**record, "profile": profile_name, "points": points or list(range(1, len(grid) + 1))}


def _positions(text: str) -> list[int]:
    """`--points 3,4` -> [3, 4]."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected grid positions like 3,4") from None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser("prixlm.experiments.kge_search", __doc__)
    parser.add_argument("--dataset", required=True, help="a dataset built by prixlm")
    parser.add_argument("--language", required=True, help="the language config to search on")
    parser.add_argument(
        "--model", default="RotatE", choices=["TransE", "RotatE"], help="the KGE model"
    )
    parser.add_argument("--profile", default="full", help="toy | quick | full | gpu | gpu2")
    parser.add_argument(
        "--grid_points", type=positive_int, default=None, help="the first N points only"
    )
    parser.add_argument("--points", type=_positions, default=None,
                        help="only these grid points, e.g. 3,4 (1-based; default: all)")  # fmt: skip
    parser.add_argument(
        "--time_limit",
        type=positive_float,
        default=None,
        help="seconds of training (default: the profile's; CPU seconds where the profile's "
        "budget_clock is cpu)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every grid point")
    parser.add_argument("--device", default=None, help="cpu | cuda (default: the profile's)")
    parser.add_argument("--output", type=Path, default=None, help="the record as JSON")
    args = parser.parse_args(argv)
    with user_errors(ValueError):
        require_pykeen()
        if args.output:  # before the search: not over the dataset, nor a folder there
            check_output_file(args.output, "--output", (("--dataset", args.dataset),))
        record = search(args.dataset, args.language, args.model, args.profile, args.grid_points,
                        args.points, args.time_limit, args.seed, args.device)  # fmt: skip
        if args.output:
            write_json(record, args.output, "--output")
        print(json.dumps({k: record[k] for k in ("winner", "validation", "test", "seconds")}))
    return record


if __name__ == "__main__":
    main()
