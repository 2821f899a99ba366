"""Loading by Hub id from a Hugging Face cache, offline (HF_HUB_OFFLINE=1), as a user does
after `huggingface-cli download` on a machine that then goes offline.

A model whose files the cache lacks in part is an error naming those files (a code module
missing is not "cannot load its weights"); a dataset downloaded into the Hub cache, which
`datasets` does not load by id offline, is an error naming the download's folder, and that
folder loads. Each case runs in a fresh process with its own Hub cache built here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fresh_process import last_json_line, run_fresh
from hub_cache import COMMIT, hub_repo

ROOT = Path(__file__).resolve().parents[1]


MODEL_CHILD = textwrap.dedent(
    """
    import json, sys
    from prixlm.cli import UsageError
    from prixlm.model_loading import load_prixlm
    out = {}
    for repo in sys.argv[1:]:
        try:
            model, tokenizer = load_prixlm(repo, "cpu")
            out[repo] = "loaded " + type(model).__name__
        except UsageError as error:
            out[repo] = str(error)
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def model_loads(tiny_prixlm, tmp_path_factory) -> dict:
    model, tokenizer = tiny_prixlm
    folder = tmp_path_factory.mktemp("release") / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    hf_home = tmp_path_factory.mktemp("hub_models")
    hub_repo(hf_home, "me/whole", folder)
    hub_repo(hf_home, "me/no-module", folder, drop=("beam_cache.py",))
    hub_repo(hf_home, "me/no-tokenizer", folder, drop=("tokenizer.json",))
    repos = ("me/whole", "me/no-module", "me/no-tokenizer", "me/absent")
    done = run_fresh(MODEL_CHILD, *repos, cwd=hf_home, hf_home=hf_home, PYTHONPATH=str(ROOT))
    return last_json_line(done)


def test_a_whole_cached_model_loads_offline(model_loads):
    assert model_loads["me/whole"] == "loaded PrixLMForCausalKB"


@pytest.mark.parametrize(
    ("repo", "missing"),
    [
        ("me/no-module", "beam_cache.py"),  # imported by modeling_prixlm.py, not the weights
        ("me/no-tokenizer", "tokenizer.json"),
        ("me/absent", "config.json"),
    ],
)
def test_a_model_file_missing_from_the_cache_is_named(model_loads, repo, missing):
    assert model_loads[repo] == (
        f"--model {repo}: HF_HUB_OFFLINE is set and the Hub cache lacks {missing} of it "
        f"(revision main): download the repository whole with a connection "
        f"(`huggingface-cli download {repo}`), or pass a folder that holds it"
    )


DATASET_CHILD = textwrap.dedent(
    """
    import json, sys
    from prixlm.cli import UsageError
    from prixlm.data.loading import load_kb
    out = {}
    for source in sys.argv[1:]:
        try:
            out[source] = list(load_kb(source, "en", split="train")["object"])
        except UsageError as error:
            out[source] = str(error)
    print(json.dumps(out))
    """
)

CARD = """---
configs:
- config_name: en
  data_files:
  - split: train
    path: en/train.parquet
---
"""


def test_a_dataset_downloaded_into_the_hub_cache_is_named_offline_and_loads(tmp_path):
    """`datasets` loads no Hub id offline from the Hub cache's download: the error names
    the download's folder (not "no copy of it is cached"), and that folder loads."""
    build = tmp_path / "build"
    (build / "en").mkdir(parents=True)
    (build / "README.md").write_text(CARD, encoding="utf-8")
    rows = {"subject": ["Germany"], "relation": ["currency"], "object": ["euro"]}
    pq.write_table(pa.table(rows), build / "en" / "train.parquet")
    hf_home = tmp_path / "hf_home"
    snapshot = hub_repo(hf_home, "me/kb", build, kind="dataset") / "snapshots" / COMMIT
    done = run_fresh(
        DATASET_CHILD, "me/kb", snapshot, cwd=tmp_path, hf_home=hf_home, PYTHONPATH=str(ROOT)
    )
    out = last_json_line(done)
    assert out["me/kb"].startswith("--dataset me/kb: the Hub cannot be asked (")
    assert out["me/kb"].endswith(f"pass that download's folder instead: {snapshot}")
    assert out[str(snapshot)] == ["euro"]
