#!/usr/bin/env bash
# DBP-5L (`make dbp5l`'s `gpu` profile) in ONE call of a GPU machine (one H200): about 8 min
# (wheels ~20 s, conversion + tokenizer ~60 s, jobs until --deadline_s 420 from the start).
# Runs the committed code from a snapshot folder and carries the KEnS-layout data:
#   here:   rm -rf .d5src .d5data && mkdir .d5src && git archive HEAD | tar -x -C .d5src \
#             && cp -r ../shared/dbp5l .d5data
#   device: run(command="bash .d5src/results/device_dbp5l.sh", carry=[".whl", ".d5src", ".d5data"],
#               timeout_s=560)
# Wheels in .whl/ (Python 3.12, what the machine lacks; `bash bench/device_wheels.sh` fetches them):
#   datasets 5.2.0, dill 0.4.1, multiprocess 0.70.19, duckdb 1.4.5, pykeen 1.11.1,
#   class-resolver 0.8.2, docdata 0.0.5, more-itertools 11.2.1, more-click 0.1.3,
#   pystow 0.10.3, backports-zstd 1.8.0, torch-max-mem 0.1.6, torch-ppr 0.0.8,
#   click-default-group 1.2.4, dataclasses-json 0.6.7, marshmallow 3.26.2,
#   typing-inspect 0.9.0, mypy-extensions 1.2.0; in .whl/tf/: transformers 5.25.0,
#   huggingface_hub 2.4.0, httpx2 2.16.2, httpcore2 2.16.2, click 8.5.1, truststore 0.10.5.
# A second call resumes: carry the first call's job records (jobs.tar.gz unpacked) as .d5jobs/.
# Dry run here at toy size (a KEnS-layout folder in DATA):
#   PY=$PWD/.venv/bin/python PROFILE=toy DATA=/tmp/layout OUT=/tmp/d5out bash .d5src/results/device_dbp5l.sh
set -u
OUT=${OUT:-/tmp/dbp5l-out}
PY=${PY:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${DATA:-.d5data}" && pwd)
WORK=${WORK:-/tmp/dbp5l-work}
mkdir -p "$OUT"
if [ -d .whl ] && ! $PY -c "import pykeen, datasets, duckdb" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl .whl/tf/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1 \
  PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
$PY -c "import importlib.metadata as m, torch, transformers, datasets; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'datasets', datasets.__version__, 'pykeen', m.version('pykeen'))" | tee -a "$OUT/gpu.txt"
if [ -d .d5jobs ]; then mkdir -p "$WORK/jobs" && cp .d5jobs/*.json "$WORK/jobs/"; fi
cd "$SRC"
set -o pipefail
$PY -m prixlm.experiments.dbp5l --profile "${PROFILE:-gpu}" --data "$DATA" --work_dir "$WORK" \
  --deadline_s "${DEADLINE:-420}" --results "$OUT/dbp5l.json" --docs "$OUT/results.md" \
  --chart "$OUT/dbp5l_search.png" \
  ${EXTRA:-} > "$OUT/log.txt" 2>&1
status=$?
grep -E "^\[|deadline|Error|Exception|Traceback|FAILED" "$OUT/log.txt" | tail -60
[ "$status" -eq 0 ] || tail -25 "$OUT/log.txt"  # the failure itself
[ -d "$WORK/jobs" ] && tar czf "$OUT/jobs.tar.gz" -C "$WORK" jobs
echo "dbp5l exit status $status"
exit "$status"
