#!/usr/bin/env bash
# `make bench`: every CPU benchmark at a small setting (each under a minute on 2 busy cores),
# one after the other, to see that they run and what their ratios look like. The figures in
# docs/benchmarks.md come from the commands given in each of its sections, not from these.
# Nothing is written under results/: JSON and dumps go to $WORK (default below).
#   bash bench/quick.sh                     # all of them
#   bash bench/quick.sh bench_lp_speed      # only those whose script name contains a word
# Left out: bench_build_scale.py (adds a git worktree of the old builder), bench_space.py
# and bench_folder_threads.py (need `make demo`'s release folder; the second also starts
# busy loops on every core).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)  # the runs start there, wherever this is called from
PY=${PY:-$ROOT/.venv/bin/python}
case $PY in /*) ;; */*) PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY") ;; esac
WORK=${WORK:-/tmp/prixlm_bench_quick}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$ROOT"
RUNS=(
  "bench_train_step.py --sizes 256x4 --warmup 2 --repeats 5"
  "bench_generation_cache.py --rows 256x4x8 --new_tokens 8 --repeats 3"
  "bench_object_logits.py --vocab_sizes 0 --warmup 1 --repeats 3"
  "bench_dump_parsing.py --lines 200000 --memory_lines 100000 --repeat 1"
  "bench_line_length.py --sizes_mib 4,8,16"
  "bench_cldr_build.py --skip_all --repeats 1"
  "bench_lp_speed.py --queries 8 --batch_sizes 8 --repeats 1"
  "bench_trie_processor.py --entities 20000 --repeats 2"
  "bench_constraint_overhead.py --entities 20000 --steps 4 --repeats 2"
  "bench_trie_build.py --entities 100000 --memory_entities 20000"
  "bench_csls.py --sources 5000 --targets 5000"
  "bench_kge_heap.py --entities 500 --epochs 10 --repeats 1"
  "bench_card_configs.py --reads 10 --repeats 1"
  "bench_label_encoding.py --labels 20000 --repeats 2"
  "bench_xel_seen_links.py --repeats 1"
  "bench_threads.py --steps 5 --warmup 1 --time_limit 30"
  "bench_records.py --entities 50000 --repeats 2 --work_dir @WORK@/records"
  "bench_length_filter.py --dump_dir @WORK@/dumps_2x20000 --entities 20000"
  "bench_tokenize.py --copies 1 --repeats 1"
  "bench_build_cores.py --entities 100000 --threads 1,2 --work_dir @WORK@/cores"
  "bench_build_parts.py --entities 500000 --repeats 2 --work_dir @WORK@/parts"
  "bench_build_floor.py --size 300k --repeats 2 --work_dir @WORK@/floor"
  "bench_gpu_train.py --device cpu --tiny --work_dir @WORK@/gpu_train --output @WORK@/bench_gpu_train.json"
  "bench_lp_gpu.py --device cpu --tiny --output @WORK@/bench_lp_gpu.json"
)
failed=()
for run in "${RUNS[@]}"; do
  read -ra words <<< "$run"  # @WORK@ replaced after the split: a $WORK with spaces stays one word
  words=("${words[@]//@WORK@/$WORK}")
  script=${words[0]}
  if [ "$#" -gt 0 ]; then
    wanted=0
    for word in "$@"; do [[ $script == *"$word"* ]] && wanted=1; done
    [ "$wanted" -eq 1 ] || continue
  fi
  echo "== bench/${words[*]}"
  started=$SECONDS
  if ! "$PY" "bench/$script" "${words[@]:1}"; then failed+=("$script"); fi
  echo "   ($((SECONDS - started)) s)"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
