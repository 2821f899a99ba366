"""The Space serves the model revision it is told (`PRIXLM_MODEL_REVISION`), not main.

The Hub is a local cache holding `me/prixlm-tiny` at two refs (offline, as
`huggingface_hub` lays it out): `v1`, the tiny release with its card, and `main`, a
different card and no weights (loading main fails).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fresh_process import run_fresh
from space_server import SPACE_DIR

REPO = "me/prixlm-tiny"
#: The widget of main's card: the app's examples if it read main's card.
MAIN_WIDGET = [{"text": "Japan | currency"}]
CHILD = """
import json, sys
for name in ("prixlm", "modeling_prixlm", "train"):
    sys.modules[name] = None  # only the repo's own code serves
sys.path.insert(0, sys.argv[1])
import app
space = app.PrixLMSpace(sys.argv[2], num_beams=5, revision=sys.argv[3] or None)
print(json.dumps({"name": space.model_name, "examples": space.examples,
                  "languages": space.languages}))
"""


@pytest.fixture(scope="module")
def hub_cache(space_model, tmp_path_factory) -> Path:
    """A Hub cache with `REPO` at `v1` (the release) and `main` (another card, no weights,
    English candidates only)."""
    cache = tmp_path_factory.mktemp("hub_cache")
    repo = cache / "hub" / f"models--{REPO.replace('/', '--')}"
    for ref, commit in (("v1", "1" * 40), ("main", "2" * 40)):
        snapshot = repo / "snapshots" / commit
        shutil.copytree(space_model, snapshot)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    main = repo / "snapshots" / ("2" * 40)
    (main / "model.safetensors").unlink()
    card = (main / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    header["widget"] = MAIN_WIDGET
    body = card.split("---", 2)[2]
    (main / "README.md").write_text(f"---\n{yaml.safe_dump(header)}---{body}", encoding="utf-8")
    candidates = json.loads((main / "candidates.json").read_text(encoding="utf-8"))
    (main / "candidates.json").write_text(json.dumps({"en": candidates["en"]}))
    return cache


def _app(hub_cache: Path, revision: str | None) -> subprocess.CompletedProcess:
    return run_fresh(
        CHILD, SPACE_DIR, REPO, revision or "", cwd=hub_cache, hf_home=hub_cache, check=False,
        HF_HUB_CACHE=str(hub_cache / "hub"), HF_MODULES_CACHE=str(hub_cache / "modules"),
    )  # fmt: skip


def _served(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served_v1(hub_cache) -> dict:
    """What the app serves when told `v1` (one fresh process for the module's tests)."""
    return _served(_app(hub_cache, "v1"))


def test_the_app_serves_the_revision_it_is_told(hub_cache, served_v1):
    """The app loaded `pipeline(model=REPO)`: main, whatever revision was published."""
    assert served_v1["name"] == f"`{REPO}` at `v1`"  # the page's model line
    assert served_v1["examples"][0] == ["Germany", "currency", "en"]  # v1's card, not main's
    assert _app(hub_cache, None).returncode != 0  # main: no weights


def test_the_app_ranks_the_candidates_of_its_revision(served_v1):
    """The pipeline reads `candidates.json` at the revision of its weights (main holds
    English only)."""
    assert served_v1["languages"] == ["de", "en"]


def test_the_app_reads_the_revision_variable(monkeypatch):
    """`PRIXLM_MODEL_REVISION` (the variable `publish --space --model_revision` sets) goes to
    the app's model, and the error line names it."""
    from prixlm.publish_space import SPACE_REVISION_VARIABLE

    monkeypatch.syspath_prepend(str(SPACE_DIR))
    import app

    assert app.REVISION_ENV == SPACE_REVISION_VARIABLE
    loaded = []

    def refuse(source, revision=None):
        loaded.append((source, revision))
        raise ValueError("no such revision")

    monkeypatch.setattr(app, "PrixLMSpace", refuse)
    monkeypatch.setenv(app.MODEL_ENV, REPO)
    monkeypatch.setenv(app.REVISION_ENV, "v1")
    with pytest.raises(SystemExit, match="PRIXLM_MODEL_REVISION=v1: cannot load the model"):
        app.main()
    assert loaded == [(REPO, "v1")]
