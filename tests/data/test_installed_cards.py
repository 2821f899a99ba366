"""The card templates ship with the package: an installed (non-editable) copy, run outside the
source tree, renders the dataset card from `dataset_builders/prixlm_dbpedia/dataset_card.md`
and the model card from `model_card.md` (and ships `dataset_builders/kg_layout/dataset_card.md`); a build's card shows only the configs it has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from pathlib import Path
import prixlm
from prixlm.data.dbpedia.build import main
from prixlm.data.dbpedia.card import TEMPLATE as DATASET_TEMPLATE
from prixlm.release.model_card import TEMPLATE as MODEL_TEMPLATE
from prixlm.data.kg_layout.convert import TEMPLATE as LAYOUT_TEMPLATE
site = Path(sys.argv[1])
assert LAYOUT_TEMPLATE.is_file() and not LAYOUT_TEMPLATE.is_symlink(), LAYOUT_TEMPLATE
assert Path(prixlm.__file__).is_relative_to(site), prixlm.__file__
for template in (DATASET_TEMPLATE, MODEL_TEMPLATE):
    assert template.is_file() and not template.is_symlink() and template.is_relative_to(site)
    print(template.read_text(encoding="utf-8") == Path(sys.argv[2 + (template == MODEL_TEMPLATE)]).read_text(encoding="utf-8"))
raise SystemExit(main(["--dump_dir", sys.argv[4], "--output_dir", sys.argv[5], "--no_progress", "--languages", "en"]))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A non-editable install of the repository into a folder of its own."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-compile", "--target", str(site), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return site


def test_an_installed_package_renders_its_cards_outside_the_source_tree(installed, dumps, tmp_path):
    out = tmp_path / "dataset"
    env = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(installed),
         str(ROOT / "dataset_builders" / "prixlm_dbpedia" / "dataset_card.md"),
         str(ROOT / "model_card.md"), str(dumps), str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:2] == ["True", "True"]
    card = DatasetCard.load(out / "README.md")
    configs = [entry["config_name"] for entry in card.data.to_dict()["configs"]]
    assert sorted(configs) == ["all", "en"]
    # the usage block names the configs this build has, and only those
    assert 'load_dataset("PATH_OR_REPO", "en")' in card.text
    assert '"de"' not in card.text and '"links"' not in card.text
    assert "{{" not in card.text and "{%" not in card.text
