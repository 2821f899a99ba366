#!/usr/bin/env bash
# Table 1's full run in ONE call of a GPU machine; how it was run is in
# docs/results.md. Profile `gpu` (12 workers, DEADLINE 470 s): each All (links through en;
# every pair's links; chosen on validation) trains for at most 240 s with its validation curve
# (stopped when flat), each of the 18 PyKEEN searches gets 180 s
# (early-stopped configurations, larger dimensions first), Singles 40 s each; about 7.5 min
# in all (estimated from the 2026-12-04 call's rates; not yet run with these budgets). Runs the
# committed code from a snapshot folder (`git archive HEAD` of what the run needs: the package,
# the model code, train.py, the card templates and this script), so other people's uncommitted
# edits in the working tree do not travel into the run:
#   here:   bash bench/device_wheels.sh && rm -rf .t1src && mkdir .t1src \
#             && git archive HEAD prixlm modeling_prixlm train.py model_card.md dataset_builders \
#                results/device_table1.sh | tar -x -C .t1src
#   device: run(command="bash .t1src/results/device_table1.sh", carry=[".whl", ".t1src"])
# (/.whl/, /.t1src/ and /.t1jobs/ belong in .git/info/exclude here.) What the call sends,
# measured 2026-12-07: the checkout's tracked files 7.4 MB + .t1src 1.6 MB + .whl 48.1 MB
# = 57.1 MB (54.5 MiB of the 64 MiB limit).
# Wheels (.whl/ and .whl/tf/, `bash bench/device_wheels.sh`) supply what the machine lacks
# (datasets, pykeen, babel; transformers at the venv's version and what it needs).
# A second call resumes from the first's job records: unpack its jobs.tar.gz (it holds
# jobs/<name>.json) with `mkdir .t1jobs && tar xzf jobs.tar.gz -C .t1jobs` and add ".t1jobs"
# to carry (.t1jobs/*.json is read too). A .t1jobs/ without records stops the run.
# No Hub kernels (USE_HUB_KERNELS=0): nothing is downloaded during the run, and the image lacks
# the `kernels` package that transformers would need to load each trained model with them.
# Dry run here at toy size:
#   PY=$PWD/.venv/bin/python PROFILE=toy EXTRA="--languages en,de" OUT=/tmp/t1out bash .t1src/results/device_table1.sh
set -u
OUT=${OUT:-/tmp/table1-out}
PY=${PY:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/table1-work}
mkdir -p "$OUT"
# records of jobs finished by an earlier call (resume): .t1jobs/*.json or .t1jobs/jobs/*.json
if [ -d .t1jobs ]; then
  shopt -s nullglob
  records=(.t1jobs/*.json .t1jobs/jobs/*.json)
  shopt -u nullglob
  if [ "${#records[@]}" -eq 0 ]; then
    echo "error: .t1jobs/ holds no job records (.t1jobs/*.json or .t1jobs/jobs/*.json); unpack" \
      "the earlier call's archive with: mkdir .t1jobs && tar xzf jobs.tar.gz -C .t1jobs" >&2
    exit 2
  fi
  mkdir -p "$WORK/jobs" && cp "${records[@]}" "$WORK/jobs/" || exit 1
  echo "resuming: ${#records[@]} job records from .t1jobs/"
fi
# The image's transformers is older than the package needs (>= 5.24): .whl/tf/ brings ours.
if [ -d .whl ] && ! "$PY" -c "import sys, pykeen, datasets, babel, transformers; sys.exit(tuple(int(x) for x in transformers.__version__.split('.')[:2]) < (5, 24))" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl .whl/tf/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1 \
  USE_HUB_KERNELS=0 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
  MPLBACKEND=Agg
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import importlib.metadata, torch, transformers, datasets, pykeen; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'datasets', datasets.__version__, 'pykeen', importlib.metadata.version('pykeen'))" | tee -a "$OUT/gpu.txt"
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
