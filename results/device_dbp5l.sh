#!/usr/bin/env bash
# DBP-5L (`make dbp5l`'s `gpu` profile) in ONE call of a GPU machine (one H200): about 8 min
# (wheels ~20 s, conversion + tokenizer ~60 s, jobs until --deadline_s 420 from the start).
# Runs the committed code from a snapshot folder (only what the run needs: the package, the
# model code, train.py, the card templates and this script) and carries the KEnS-layout data:
#   here:   bash bench/device_wheels.sh dbp5l && rm -rf .d5src .d5data && mkdir .d5src \
#             && git archive HEAD prixlm modeling_prixlm train.py model_card.md dataset_builders \
#                results/device_dbp5l.sh | tar -x -C .d5src && cp -r ../shared/dbp5l .d5data
#   device: run(command="bash .d5src/results/device_dbp5l.sh", carry=[".whl", ".d5src", ".d5data"],
#               timeout_s=560)
# (/.whl/, /.d5src/, /.d5data/ and /.d5jobs/ belong in .git/info/exclude here.)
# Wheels in .whl/ (Python 3.12, what the machine lacks; `bash bench/device_wheels.sh dbp5l`
# fetches them at the venv's versions, so check `ls .whl .whl/tf` for the exact ones): datasets,
# dill, multiprocess, duckdb, pykeen, class-resolver, docdata, more-itertools, more-click,
# pystow, backports-zstd, torch-max-mem, torch-ppr, click-default-group, dataclasses-json,
# marshmallow, typing-inspect, mypy-extensions; in .whl/tf/: transformers, huggingface_hub,
# httpx2, httpcore2, click, truststore (the image's transformers is older than the package's
# >= 5.24). What the call sends, measured 2026-12-07: the checkout's tracked files 7.4 MB (they
# always travel) + .d5src 1.6 MB + .d5data 7.6 MB + .whl 37.9 MB = 54.5 MB (52.0 MiB of the
# 64 MiB limit); `du -sb .whl .d5src .d5data` and the tracked files' size before the call.
# A second call resumes from the first's job records: unpack its jobs.tar.gz (it holds
# jobs/<name>.json) with `mkdir .d5jobs && tar xzf jobs.tar.gz -C .d5jobs` and add ".d5jobs"
# to carry (.d5jobs/*.json is read too). A .d5jobs/ without records stops the run.
# No Hub kernels (USE_HUB_KERNELS=0): nothing is downloaded during the run, and the image lacks
# the `kernels` package that transformers would need to load each trained model with them.
# Dry run here at toy size (a KEnS-layout folder in DATA):
#   PY=$PWD/.venv/bin/python PROFILE=toy DATA=/tmp/layout OUT=/tmp/d5out bash .d5src/results/device_dbp5l.sh
set -u
OUT=${OUT:-/tmp/dbp5l-out}
PY=${PY:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${DATA:-.d5data}" && pwd)
WORK=${WORK:-/tmp/dbp5l-work}
mkdir -p "$OUT"
# records of jobs finished by an earlier call (resume): .d5jobs/*.json or .d5jobs/jobs/*.json
if [ -d .d5jobs ]; then
  shopt -s nullglob
  records=(.d5jobs/*.json .d5jobs/jobs/*.json)
  shopt -u nullglob
  if [ "${#records[@]}" -eq 0 ]; then
    echo "error: .d5jobs/ holds no job records (.d5jobs/*.json or .d5jobs/jobs/*.json); unpack" \
      "the earlier call's archive with: mkdir .d5jobs && tar xzf jobs.tar.gz -C .d5jobs" >&2
    exit 2
  fi
  mkdir -p "$WORK/jobs" && cp "${records[@]}" "$WORK/jobs/" || exit 1
  echo "resuming: ${#records[@]} job records from .d5jobs/"
fi
if [ -d .whl ] && ! "$PY" -c "import sys, pykeen, datasets, duckdb, transformers; sys.exit(tuple(int(x) for x in transformers.__version__.split('.')[:2]) < (5, 24))" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl .whl/tf/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1 \
  USE_HUB_KERNELS=0 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
  MPLBACKEND=Agg
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import importlib.metadata as m, torch, transformers, datasets; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'datasets', datasets.__version__, 'pykeen', m.version('pykeen'))" | tee -a "$OUT/gpu.txt"
cd "$SRC"
set -o pipefail
"$PY" -m prixlm.experiments.dbp5l --profile "${PROFILE:-gpu}" --data "$DATA" --work_dir "$WORK" \
  --deadline_s "${DEADLINE:-420}" --results "$OUT/dbp5l.json" --docs "$OUT/results.md" \
  --chart "$OUT/dbp5l_search.png" \
  ${EXTRA:-} > "$OUT/log.txt" 2>&1
status=$?
grep -E "^\[|deadline|Error|Exception|Traceback|FAILED" "$OUT/log.txt" | tail -60
[ "$status" -eq 0 ] || tail -25 "$OUT/log.txt"  # the failure itself
[ -d "$WORK/jobs" ] && tar czf "$OUT/jobs.tar.gz" -C "$WORK" jobs
echo "dbp5l exit status $status"
exit "$status"
