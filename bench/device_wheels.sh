#!/usr/bin/env bash
# The wheels a lent GPU machine lacks (its image: Python 3.12, torch, transformers, pyarrow),
# downloaded here into .whl/ for `carry`: the versions of this checkout's .venv, so the device
# runs what the tests ran. .whl/ holds what the script named installs; .whl/tf/ our transformers
# and what it needs. .whl/ is emptied first: it holds one version of each package (two side by
# side stop the machine's `pip install`).
#   bash bench/device_wheels.sh          # Table 1 and bench/device_run.sh: every wheel, 48.1 MB
#   bash bench/device_wheels.sh dbp5l    # results/device_dbp5l.sh: no babel, 37.9 MB
# then: du -sh .whl (a call carries at most 64 MiB, the checkout's tracked files included)
set -eu
PY=${PY:-.venv/bin/python}
KIT=(datasets dill multiprocess duckdb pykeen class-resolver docdata more-itertools more-click
  pystow backports-zstd torch-max-mem torch-ppr click-default-group dataclasses-json marshmallow
  typing-inspect mypy-extensions)
TF=(transformers huggingface_hub httpx2 httpcore2 click truststore)
case "${1:-table1}" in
  table1) KIT+=(babel) ;;  # the CLDR export of Table 1's knowledge base
  dbp5l) ;;  # DBP-5L's data is carried: no CLDR
  *)
    echo "usage: bash bench/device_wheels.sh [table1|dbp5l] (got ${1@Q})" >&2
    exit 2
    ;;
esac
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
version() { $PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
fetch() {  # fetch DIR NAME...: each NAME at the .venv's version, for CPython 3.12 on x86_64
  local dir=$1; shift
  for name in "$@"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
      -d "$dir" "$name==$(version "$name")"
  done
}
rm -rf .whl
mkdir -p .whl/tf
fetch .whl "${KIT[@]}"
fetch .whl/tf "${TF[@]}"
ls .whl .whl/tf
du -sh .whl
