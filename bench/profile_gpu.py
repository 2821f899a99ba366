"""Where a GPU step's time goes: `torch.profiler` tables of the fast training step and of
the device-resident link-prediction loop, the same settings as `bench_gpu_train.py` and
`bench_lp_gpu.py`.

Run (one H200, about 2 minutes; `--device cpu --tiny`: a dry run in seconds)::

    python bench/profile_gpu.py --output_dir /tmp/profile

Writes, per part, `<part>.txt` (the operators and kernels by device time, with input
shapes) and `<part>.json` (wall time of the profiled steps, the sum of device kernel time,
hence how long the device sat idle, and the top entries).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_gpu_train  # noqa: E402
import bench_lp_gpu  # noqa: E402
from gpu_train_paths import PATHS as TRAIN_PATHS  # noqa: E402
from lp_gpu_setting import Ids, model_config, synthetic_prompts, synthetic_trie  # noqa: E402

from modeling_prixlm.beam_search import decode_batch_on_device  # noqa: E402
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB  # noqa: E402


def summarise(prof: Any, wall_s: float, device: torch.device, top: int = 40) -> dict[str, Any]:
    """Device-busy time against wall time, and the `top` entries by self device time."""
    events = prof.key_averages(group_by_input_shape=True)
    on_device = device.type == "cuda"
    key = "self_device_time_total" if on_device else "self_cpu_time_total"
    rows = sorted(events, key=lambda e: getattr(e, key, 0), reverse=True)[:top]
    kernels = [e for e in prof.events() if on_device and e.device_type.name == "CUDA"]
    busy_us = sum(e.device_time for e in kernels) if kernels else None
    return {
        "wall_ms": 1000 * wall_s,
        "device_busy_ms": None if busy_us is None else busy_us / 1000,
        "top": [
            {
                "name": e.key,
                "shapes": str(e.input_shapes)[:160],
                "calls": e.count,
                "self_ms": getattr(e, key, 0) / 1000,
            }
            for e in rows
        ],
    }


def write(out: Path, part: str, prof: Any, summary: dict[str, Any], device: torch.device) -> None:
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    table = prof.key_averages(group_by_input_shape=True).table(sort_by=sort, row_limit=60)
    (out / f"{part}.txt").write_text(table, encoding="utf-8")
    (out / f"{part}.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"== {part}: wall {summary['wall_ms']:.1f} ms, device busy {summary['device_busy_ms']}")
    for entry in summary["top"][:25]:
        print(
            f"{entry['self_ms']:9.2f} ms {entry['calls']:5d}  {entry['name'][:70]}  {entry['shapes'][:90]}"
        )


class ProfileSteps(TrainerCallback):
    """Profiles optimizer steps `start` .. `start + count` of a Trainer run."""

    def __init__(self, start: int, count: int, device: torch.device) -> None:
        self.start, self.count, self.device = start, count, device
        activities = [ProfilerActivity.CPU]
        if device.type == "cuda":
            activities.append(ProfilerActivity.CUDA)
        self.prof = profile(activities=activities, record_shapes=True)
        self.wall_s = 0.0
        self._began = 0.0

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.start:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.prof.__enter__()
            self._began = time.perf_counter()
        elif state.global_step == self.start + self.count:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.wall_s = time.perf_counter() - self._began
            self.prof.__exit__(None, None, None)


def profile_training(args: argparse.Namespace, out: Path) -> None:
    device = torch.device(args.device)
    path = args.train_path
    train_args = bench_gpu_train.parse(
        ["--device", args.device, "--paths", path, "--steps", str(args.train_steps + 2)]
        + (["--tiny"] if args.tiny else [])
    )
    facts = bench_gpu_train.facts_for(train_args)
    callback = ProfileSteps(train_args.warmup, args.train_steps, device)
    bench_gpu_train.run_path(path, train_args, facts, device, extra_callbacks=[callback])
    summary = summarise(callback.prof, callback.wall_s / args.train_steps, device)
    summary["per"] = "step (wall_ms and device_busy_ms are per step; top entries over all steps)"
    if summary["device_busy_ms"] is not None:
        summary["device_busy_ms"] /= args.train_steps
    write(out, "train_step", callback.prof, summary, device)


def profile_link_prediction(args: argparse.Namespace, out: Path) -> None:
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    ids = Ids(2_002 if args.tiny else 250_002)
    config = model_config(args.tiny, ids)
    with torch.device(device):
        model = PrixLMForCausalKB(config).eval()
    num_beams = 8 if args.tiny else 50
    max_rows = 64 if args.tiny else 8192
    entities = 2_000 if args.tiny else 1_000_000
    prompts = synthetic_prompts(max_rows // num_beams * 2, 0, ids)
    trie = synthetic_trie(entities, 0, ids)
    decode = decode_batch_on_device
    bench_lp_gpu.decode_all(decode, model, prompts, trie, num_beams, max_rows)  # warm-up
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof:
        _, wall = bench_lp_gpu.timed(
            device,
            lambda: bench_lp_gpu.decode_all(decode, model, prompts, trie, num_beams, max_rows),
        )
    summary = summarise(prof, wall, device)
    summary["queries"] = len(prompts)
    summary["queries_per_s_under_profiler"] = len(prompts) / wall
    write(out, "decode_batch_on_device", prof, summary, device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--parts", default="train,lp")
    parser.add_argument("--train_steps", type=int, default=3)
    parser.add_argument(
        "--train_path",
        default="after",
        choices=TRAIN_PATHS,
        help="the bench_gpu_train.py path whose training steps are profiled",
    )
    parser.add_argument("--output_dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    if "lp" in parts:
        profile_link_prediction(args, args.output_dir)
    if "train" in parts:
        profile_training(args, args.output_dir)


if __name__ == "__main__":
    main()
