#!/usr/bin/env bash
# Table 1's full run in ONE call of a GPU machine; how it was run is in
# docs/results.md. Profile `gpu` (12 workers, DEADLINE 470 s): each All (links through en;
# every pair's links; chosen on validation) trains for at most 240 s with its validation curve
# (stopped when flat), each of the 18 PyKEEN searches gets 180 s
# (early-stopped configurations, larger dimensions first), Singles 40 s each; about 7.5 min
# in all (estimated from the 2026-12-04 call's rates; not yet run with these budgets). Runs the committed code from a snapshot folder (`git archive HEAD`), so
# other people's uncommitted edits in the working tree do not travel into the run:
#   here:   rm -rf .t1src && mkdir .t1src && git archive HEAD | tar -x -C .t1src
#   device: run(command="bash .t1src/results/device_table1.sh", carry=[".whl", ".t1src"])
# Wheels (.whl/ and .whl/tf/, `bash bench/device_wheels.sh`) supply what the machine lacks
# (datasets, pykeen, babel; transformers at the venv's version and what it needs).
# Dry run here at toy size:
#   PY=$PWD/.venv/bin/python PROFILE=toy EXTRA="--languages en,de" OUT=/tmp/t1out bash .t1src/results/device_table1.sh
set -u
OUT=${OUT:-/tmp/table1-out}
PY=${PY:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/table1-work}
mkdir -p "$OUT"
# The image's transformers is older than the package needs (>= 5.24): .whl/tf/ brings ours.
if [ -d .whl ] && ! "$PY" -c "import sys, pykeen, datasets, babel, transformers; sys.exit(tuple(int(x) for x in transformers.__version__.split('.')[:2]) < (5, 24))" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl .whl/tf/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1 \
  PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import importlib.metadata, torch, transformers, datasets, pykeen; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'datasets', datasets.__version__, 'pykeen', importlib.metadata.version('pykeen'))" | tee -a "$OUT/gpu.txt"
# records of runs finished by an earlier call (resume): carried in .t1jobs/
if [ -d .t1jobs ]; then mkdir -p "$WORK/jobs" && cp .t1jobs/*.json "$WORK/jobs/"; fi
cd "$SRC"
set -o pipefail
"$PY" -m prixlm.experiments.table1 --profile "${PROFILE:-gpu}" --work_dir "$WORK" \
  --deadline_s "${DEADLINE:-470}" --results "$OUT/table1.json" --docs "$OUT/results.md" \
  --chart "$OUT/table1.png" ${EXTRA:-} > "$OUT/log.txt" 2>&1
status=$?
grep -E "^\[|deadline|Error|Exception|Traceback|FAILED" "$OUT/log.txt" | tail -60
[ "$status" -eq 0 ] || tail -25 "$OUT/log.txt"  # the failure itself
[ -d "$WORK/jobs" ] && tar czf "$OUT/jobs.tar.gz" -C "$WORK" jobs
echo "table1 exit status $status"
exit "$status"
