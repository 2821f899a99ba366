#!/usr/bin/env bash
# The GPU figures in one call on a lent GPU machine (one H200, 16 cores; its image has torch,
# transformers and pyarrow but not duckdb). Each benchmark has its own time limit and writes
# its JSON under $OUT as it goes, so a cut-short run keeps what it measured. Usage, from the
# repository root with the duckdb wheel in .whl/ (`bash bench/device_wheels.sh`):
#   OUT=/tmp/out bash bench/device_run.sh
# A step whose budget (seconds) is 0 is skipped. The whole set fits two calls of one machine
# (one H200, 2026-12-05: the first took 4 min 55 s with BUILD_S=150, the second 2 min 38 s):
#   TRAIN_S=255 LP_S=165 bash bench/device_run.sh              # training ~2.5 min, decoding ~1.5
#   TRAIN_S=0 LP_S=0 BUILD_S=250 BUILD_ENTITIES=1000000 bash bench/device_run.sh   # the build
# (at the default 1.5M entities the 1-thread build alone takes 85 s: BUILD_S=400 for all counts)
# The image's transformers (5.17.0 on 2026-12-05) is older than the package needs (>= 5.24):
# with .whl/tf/ carried (`bash bench/device_wheels.sh`), the venv's transformers and what it
# needs are installed first, so the figures come from the version the tests ran;
# TF_WHEELS=0 keeps the image's (the GPU figures of 2026-12-04/05 were measured under it).
set -u
OUT=${OUT:-/tmp/device_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ "${TF_WHEELS:-1}" != 0 ] && [ -d .whl/tf ] && ! python3 -c "import sys, transformers; sys.exit(tuple(int(x) for x in transformers.__version__.split('.')[:2]) < (5, 24))" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/pytf .whl/tf/*.whl || exit 1
  export PYTHONPATH="/tmp/pytf${PYTHONPATH:+:$PYTHONPATH}"
fi
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
  nproc
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
# 1. pretraining throughput through the Trainer (XLM-R base shape, batch 1,024)
if [ "${TRAIN_S:-270}" -gt 0 ]; then
  timeout "${TRAIN_S:-270}" python3 bench/bench_gpu_train.py --output "$OUT/bench_gpu_train.json" \
    > "$OUT/bench_gpu_train.log" 2>&1
  echo "train rc=$?"; tail -15 "$OUT/bench_gpu_train.log"
fi
# 2. link prediction: the device loop before and after, 10k and 1M entities, K=50
if [ "${LP_S:-200}" -gt 0 ]; then
  # LP_ARGS: more options, e.g. LP_ARGS="--entities 1000000 --after_only_rows 16384,32768"
  timeout "${LP_S:-200}" python3 bench/bench_lp_gpu.py --output "$OUT/bench_lp_gpu.json" \
    ${LP_ARGS:-} > "$OUT/bench_lp_gpu.log" 2>&1
  echo "lp rc=$?"; tail -15 "$OUT/bench_lp_gpu.log"
fi
# 3. the dataset build at 1..16 threads (needs the duckdb wheel)
if [ "${BUILD_S:-0}" -gt 0 ]; then
  python3 -m pip install -q --no-deps --no-index --target /tmp/pydeps .whl/duckdb-*.whl &&
  PYTHONPATH="/tmp/pydeps${PYTHONPATH:+:$PYTHONPATH}" timeout "$BUILD_S" python3 bench/bench_build_cores.py --entities "${BUILD_ENTITIES:-1500000}" \
    --threads 1,2,4,8,16 --work_dir /tmp/bc --budget_s $((BUILD_S - 15)) \
    --output "$OUT/bench_build_cores.json" > "$OUT/bench_build_cores.log" 2>&1
  echo "build rc=$?"; tail -12 "$OUT/bench_build_cores.log"
fi
# 4. one 3M-line dump file read by 1 and by 2 processes, on 2 of the cores (taskset; no duckdb)
if [ "${PARTS_S:-0}" -gt 0 ]; then
  python3 bench/synthetic_dumps.py --languages 1 --entities 2000000 \
    --output_dir /tmp/bp/dumps_1x2000000 > "$OUT/bench_build_parts.log" 2>&1
  PIN=$(command -v taskset > /dev/null && echo "taskset -c 0,1")
  timeout "$PARTS_S" $PIN python3 bench/bench_build_parts.py --repeats 3 \
    --work_dir /tmp/bp --output "$OUT/bench_build_parts_2cores.json" >> "$OUT/bench_build_parts.log" 2>&1
  echo "parts rc=$?"; tail -6 "$OUT/bench_build_parts.log"
fi
