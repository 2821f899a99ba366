#!/usr/bin/env bash
# The wheels a lent GPU machine lacks (its image: Python 3.12, torch, transformers, pyarrow),
# downloaded here into .whl/ for `carry`: the versions of this checkout's .venv, so the device
# runs what the tests ran. .whl/ holds what the DBP-5L, Table 1 and build scripts install;
# .whl/tf/ our transformers and what it needs (results/device_dbp5l.sh installs both).
#   bash bench/device_wheels.sh        # then: du -sh .whl (a call carries at most 64 MiB)
set -eu
PY=${PY:-.venv/bin/python}
KIT=(datasets dill multiprocess duckdb pykeen class-resolver docdata more-itertools more-click
  pystow backports-zstd torch-max-mem torch-ppr click-default-group dataclasses-json marshmallow
  typing-inspect mypy-extensions babel)
TF=(transformers huggingface_hub httpx2 httpcore2 click truststore)
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
mkdir -p .whl/tf
fetch .whl "${KIT[@]}"
fetch .whl/tf "${TF[@]}"
ls .whl .whl/tf
du -sh .whl
