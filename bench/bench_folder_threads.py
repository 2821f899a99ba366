"""Pipeline queries from a release folder alone (no prixlm), on a CPU shared with busy jobs.

A Hub user loads the folder with `transformers` only: `import prixlm` (which sets OpenMP's
passive wait policy before torch loads) never runs, and libgomp's waiting threads spin for
milliseconds at the end of every parallel region. This compares, in one run, child
processes that each load `pipeline(model=FOLDER, trust_remote_code=True)` with `prixlm` and
`modeling_prixlm` unimportable and time `--queries` triple queries (top 5, K=`--num_beams`):

- default: the environment as a Hub user has it (no `OMP_WAIT_POLICY`);
- passive: `OMP_WAIT_POLICY=PASSIVE` exported before Python starts (what the card says);
- handler: `handler.py` imported first (Inference Endpoints' entry point), which sets the
  policy with `os.environ.setdefault` before it imports transformers (and torch);
- late: the policy set in Python after `import torch` (what a pipeline could do itself);
- one_thread: the default environment and `torch.set_num_threads(1)`.

`--busy N` (default: the number of usable cores) busy loops (`while True: pass`) run for
the whole measurement. Cases are interleaved, `--rounds` times, so the machine's other load
falls on all of them. Prints the median seconds per query of each case; the last line is
the ratio default/passive and default/handler.

    python bench/bench_folder_threads.py outputs/demo/run/model [--rounds 3] [--queries 12]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, sys, time
for name in ("prixlm", "modeling_prixlm", "train"):
    sys.modules[name] = None  # a Hub user: only the folder's code serves
case, folder, queries, beams = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
if case == "handler":
    import importlib.util
    spec = importlib.util.spec_from_file_location("handler", folder + "/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the file alone, as Endpoints load it: torch loads here
    run = module.EndpointHandler(folder)
    ask = lambda q: run({"inputs": q, "parameters": {"num_beams": beams}})
else:
    import torch
    if case == "late":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # after libgomp has read its environment
    if case == "one_thread":
        torch.set_num_threads(1)
    from transformers import pipeline
    pipe = pipeline(model=folder, trust_remote_code=True)
    ask = lambda q: pipe(q, num_beams=beams)
ask(queries[0])  # warm-up: the trie, the first forward
times = []
for query in queries:
    start = time.perf_counter()
    ask(query)
    times.append(time.perf_counter() - start)
print("TIMES " + json.dumps(times))
"""

CASES = ("default", "passive", "handler", "one_thread", "late")


def child_env(case: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "PRIXLM"))}
    env.pop("PYTHONPATH", None)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if case == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def run_case(case: str, folder: Path, queries: list[str], beams: int, workdir: str) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(folder), json.dumps(queries), str(beams)],
        env=child_env(case),
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("TIMES ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"case {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(line[len("TIMES ") :])


def folder_queries(folder: Path, count: int) -> list[str]:
    """Triple queries of the folder's widget examples and relations (subjects of its card)."""
    relations = json.loads((folder / "relations.json").read_text(encoding="utf-8"))
    candidates = json.loads((folder / "candidates.json").read_text(encoding="utf-8"))
    language = "en" if "en" in candidates else sorted(candidates)[0]
    names = relations.get(language) or ["currency"]
    subjects = candidates[language][:: max(1, len(candidates[language]) // count)]
    return [
        f"{subject} | {names[i % len(names)]} | {language}"
        for i, subject in enumerate(subjects[:count])
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a release folder (relations.json inside)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=12)
    parser.add_argument("--num_beams", type=int, default=50)
    parser.add_argument("--busy", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    queries = folder_queries(args.folder.resolve(), args.queries)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the busy loops die with us
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    times: dict[str, list[float]] = {case: [] for case in cases}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for round_ in range(args.rounds):
                for case in cases if round_ % 2 == 0 else reversed(cases):
                    found = run_case(case, args.folder.resolve(), queries, args.num_beams, workdir)
                    times[case] += found
                    median = statistics.median(found)
                    print(f"round {round_ + 1} {case}: median {median:.3f} s", flush=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    print(
        f"{args.busy} busy loops, {args.rounds} rounds x {len(queries)} queries, K={args.num_beams}"
    )
    print("| case | median s/query | p90 s/query |\n|---|---:|---:|")
    medians = {}
    for case in cases:
        medians[case] = statistics.median(times[case])
        p90 = statistics.quantiles(times[case], n=10)[-1]
        print(f"| {case} | {medians[case]:.3f} | {p90:.3f} |")
    ratios = [f"default/{c}: {medians['default'] / medians[c]:.1f}x" for c in ("passive", "handler") if c in medians]  # fmt: skip
    print("folder query median " + ", ".join(ratios))


if __name__ == "__main__":
    main()
