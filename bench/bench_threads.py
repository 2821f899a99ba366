"""Training speed on a quiet and on a shared machine, before and after prixlm's thread set-up.

Why: OpenMP threads spin while they wait, so one busy process on one of the cores made
the demo's training 10-20x slower. This runs the demo's training (`prixlm.demo`'s model and
data: CLDR KB en/de/ja, hidden 192, 4 layers, batch 64; no checkpoint LP, no saves) for a
fixed number of steps in four subprocesses with a clean environment:

- before: `import torch` first, so libgomp loads with its defaults (spin ~300k iterations
  before sleeping) and prixlm's `OMP_WAIT_POLICY=PASSIVE` (set on `import prixlm`) is too
  late, which is exactly the old behaviour;
- after: `train.py` as it is (prixlm is imported first and sets the wait policy);

each on a quiet machine and beside a busy loop (`python -c 'while True: pass'`) pinned to
the last core. Prints steps/s per case; the last line is the ratio loaded/quiet after the
change (goal: >= 0.5).

    python bench/bench_threads.py [--steps 60] [--time_limit 120]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = "en,de,ja"

SETUP = """
import sys
from pathlib import Path
from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import build_dataset
from prixlm.training.data import tokenizer_training_texts
from prixlm.training.tokenizer_training import train_tokenizer
root, languages = Path(sys.argv[1]), sys.argv[2].split(",")
export_cldr_kb(languages, root / "dumps")
build_dataset(root / "dumps", root / "dataset", languages, progress=False)
texts = tokenizer_training_texts(str(root / "dataset"), languages)
train_tokenizer(texts, vocab_size=6000).save_pretrained(root / "tokenizer")
"""

# argv: case ("before" | "after"), result file, then train.py arguments.
CASE = """
import sys
if sys.argv[1] == "before":
    import torch  # libgomp loads now, with the environment as it is (no wait policy)
import prixlm  # before torch: sets the wait policy (unless torch is loaded already)
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain
import json, os, time
from transformers import TrainerCallback

class Clock(TrainerCallback):
    def __init__(self, warmup, limit):
        self.warmup, self.limit, self.start, self.end, self.steps = warmup, limit, None, None, 0
    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if state.global_step == self.warmup:
            self.start = now
        elif self.start is not None:
            self.steps, self.end = state.global_step - self.warmup, now
            if now - self.start > self.limit:  # the run ends here: its last step (pretrain
                state.max_steps = state.global_step  # refuses a run stopped before its last)
                control.should_training_stop = True

clock = Clock(int(os.environ["BENCH_WARMUP"]), float(os.environ["BENCH_TIME_LIMIT"]))
pretrain(parse_training_arguments(sys.argv[3:]), [clock])
import torch
seconds = clock.end - clock.start
with open(sys.argv[2], "w") as handle:
    json.dump({"steps": clock.steps, "seconds": seconds, "threads": torch.get_num_threads()}, handle)
"""

PREFIXES = ("OMP_", "GOMP_", "KMP_", "MKL_", "PRIXLM_")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without thread settings, offline, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    return {**env, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra}


def busy_loop() -> subprocess.Popen:
    """A single-threaded busy process pinned to the last core (where the OS allows)."""
    core = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    code = (
        f"import os\ntry:\n    os.sched_setaffinity(0, {{{core}}})\nexcept (AttributeError, OSError):\n"
        "    pass\nwhile True:\n    pass\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=clean_env())


def train_arguments(root: Path, run: Path, steps: int) -> list[str]:
    """The demo's train.py arguments with a fixed step count, no checkpoints, no LP."""
    from prixlm.training.arguments import demo_training_argv

    return [
        *demo_training_argv(root / "dataset", run, LANGUAGES, steps),
        "--tokenizer_dir", str(root / "tokenizer"), "--save_steps", str(10 * steps),
        "--save_strategy", "no", "--lp_eval_queries", "0", "--report_to", "none",
        "--disable_tqdm", "true", "--logging_steps", str(10 * steps),
    ]  # fmt: skip


def run_case(root: Path, case: str, loaded: bool, args: argparse.Namespace) -> dict:
    result = root / f"{case}-{'loaded' if loaded else 'quiet'}.json"
    run = root / f"run-{result.stem}"
    command = [sys.executable, "-c", CASE, case, str(result)]
    command += train_arguments(root, run, args.warmup + args.steps)
    env = clean_env(BENCH_WARMUP=str(args.warmup), BENCH_TIME_LIMIT=str(args.time_limit))
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # libgomp prints the spin count it loaded with
    busy = busy_loop() if loaded else None
    try:
        time.sleep(0.5 if loaded else 0)
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if done.returncode != 0:
        raise RuntimeError(f"{case} (loaded={loaded}) failed:\n{done.stderr[-3000:]}")
    measured = json.loads(result.read_text())
    spins = re.findall(r"GOMP_SPINCOUNT = '(\d+)'", done.stderr)
    measured["spin_count"] = spins[0] if len(spins) == 1 else f"?{spins}"
    measured["steps_per_second"] = measured["steps"] / measured["seconds"]
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument(
        "--time_limit", type=float, default=120, help="stop a case after this many seconds"
    )
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} cores={os.cpu_count()} load={os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        setup = [sys.executable, "-c", SETUP, str(root), LANGUAGES]
        subprocess.run(setup, cwd=ROOT, env=clean_env(), check=True, capture_output=True)
        results = {}
        for case in ("before", "after"):
            for loaded in (False, True):
                measured = run_case(root, case, loaded, args)
                results[case, loaded] = measured["steps_per_second"]
                print(
                    f"{case:<6} {'busy loop beside' if loaded else 'quiet':<16} "
                    f"{measured['steps_per_second']:6.2f} steps/s ({measured['steps']} steps, "
                    f"{measured['seconds']:.1f} s, threads={measured['threads']}, "
                    f"libgomp spin count {measured['spin_count']})",
                    flush=True,
                )
    before = results["before", True] / results["before", False]
    print(f"before: loaded/quiet = {before:.2f}")
    print(f"after: loaded/quiet = {results['after', True] / results['after', False]:.2f}")


if __name__ == "__main__":
    main()
