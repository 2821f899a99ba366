"""The snapshot folder that a GPU call of Table 1 or DBP-5L runs from (its script's recipe:
`git archive HEAD <paths> | tar -x -C .d5src`) holds what the run needs and little else.

A call carries at most 64 MiB, the checkout's tracked files included. The DBP-5L call carried
a snapshot of the whole tree (7.6 MB) besides its data and wheels, and went past the limit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ["results/device_table1.sh", "results/device_dbp5l.sh"]
RECIPE = re.compile(r"git archive HEAD (.*?)\| tar -x -C (\S+)")
#: what the run reads from the snapshot besides the package's modules
CHECK = """
import sys
from pathlib import Path
import modeling_prixlm, prixlm, prixlm.experiments.dbp5l, prixlm.experiments.table1, train
from prixlm.data.dbpedia import card as dbpedia_card
from prixlm.data.kg_layout import convert
from prixlm.release import model_card
here = Path.cwd().resolve()
for module in (modeling_prixlm, prixlm, train):
    assert Path(module.__file__).resolve().is_relative_to(here), module.__file__
for template in (model_card.TEMPLATE, dbpedia_card.TEMPLATE, convert.TEMPLATE):
    assert template.read_text(encoding="utf-8").strip(), template
print("snapshot ok")
"""


def recipe_paths(script: str) -> tuple[list[str], str]:
    """The paths the script's recipe archives, and the folder it unpacks them into."""
    lines = (ROOT / script).read_text(encoding="utf-8").splitlines()
    comment = " ".join(line.lstrip("#").strip().rstrip("\\") for line in lines if line[:1] == "#")
    found = RECIPE.search(comment)
    assert found, f"{script}: no `git archive HEAD ... | tar -x -C` recipe"
    return found.group(1).split(), found.group(2)


def make_snapshot(paths: list[str], folder: Path) -> Path:
    """`paths` of this checkout copied into `folder` as the recipe's archive holds them."""
    for name in paths:
        source, target = ROOT / name, folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, target, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
    return folder


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_snapshot_holds_the_run_and_little_else(script: str, tmp_path: Path) -> None:
    paths, folder = recipe_paths(script)
    assert paths, f"{script}: the recipe archives the whole checkout"
    assert script in paths and folder in {".t1src", ".d5src"}
    snapshot = make_snapshot(paths, tmp_path / folder)
    links = [path for path in snapshot.rglob("*") if path.is_symlink()]
    assert links  # the card templates
    for link in links:
        assert link.resolve().is_relative_to(snapshot) and link.resolve().is_file(), link
    size = sum(path.stat().st_size for path in snapshot.rglob("*") if path.is_file())
    assert size < 3_000_000, size
    env = {**os.environ, "PYTHONPATH": str(snapshot)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=snapshot, env=env, capture_output=True, text=True
    )
    assert done.stdout == "snapshot ok\n", done.stdout + done.stderr
