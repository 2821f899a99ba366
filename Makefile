# Fresh machine: `make demo` or `make test` (both set up .venv first, idempotently).
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: setup demo test lint bench reproduce clean table1 table1-quick dbp5l similarity space browser

setup: $(STAMP)

# torch==2.13.0 first: it resolves to the CPU wheel on disk; a bare `torch`
# requirement would otherwise pull a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,space]"
	touch $(STAMP)

demo: setup
	$(PY) -m prixlm.demo --output_dir outputs/demo

# One worker per core (at most 4), each test file on one worker: its fixtures are built once.
test: setup browser
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadfile tests

# The Space's browser test drives Debian's Chromium (Playwright downloads no browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# The Hugging Face Space (space/app.py) on the demo's release folder: http://127.0.0.1:7860
space: setup
	test -f outputs/demo/run/model/config.json || $(MAKE) demo
	PRIXLM_MODEL=outputs/demo/run/model $(PY) space/app.py

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

# Every CPU benchmark at a small setting (under a minute each; nothing written to results/).
# The committed figures come from the commands in each section of docs/benchmarks.md.
bench: setup
	PY=$(PY) bash bench/quick.sh

reproduce: setup
	$(PY) -m prixlm.demo --output_dir outputs/reproduce --languages en,it,de,fr,fi,et,tr,hu,ja --max_steps 20000

# Table 1: PyKEEN TransE/RotatE vs Prix-LM Single/All -> docs/results.md, results/table1.json
table1: setup
	$(PY) -c "import pykeen" 2>/dev/null || $(PY) -m pip install -q -e ".[baselines]"
	$(PY) -m prixlm.experiments.table1 --profile full --work_dir outputs/table1

table1-quick: setup
	$(PY) -c "import pykeen" 2>/dev/null || $(PY) -m pip install -q -e ".[baselines]"
	$(PY) -m prixlm.experiments.table1 --profile quick --work_dir outputs/table1-quick --results outputs/table1-quick/table1.json --docs outputs/table1-quick/results.md --chart outputs/table1-quick/table1.png

# DBP-5L (a KG folder in the KEnS layout): PyKEEN TransE/RotatE vs Prix-LM Single/All, our
# protocol and the papers' -> results/dbp5l.json, docs/results.md (resumable: re-run to go on)
DBP5L_DATA ?= ../shared/dbp5l
DBP5L_PROFILE ?= cpu
dbp5l: setup
	$(PY) -c "import pykeen" 2>/dev/null || $(PY) -m pip install -q -e ".[baselines]"
	$(PY) -m prixlm.experiments.dbp5l --profile "$(DBP5L_PROFILE)" --data "$(DBP5L_DATA)" --work_dir "outputs/dbp5l-$(DBP5L_PROFILE)" --chart docs/dbp5l_search.png

# XEL, BLI, probing of the KB model vs the plain-text baseline -> docs/similarity.md, results/similarity.json
similarity: setup
	$(PY) -m prixlm.similarity.study --work_dir outputs/similarity

clean:
	rm -rf outputs build *.egg-info
