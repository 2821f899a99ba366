"""A Hugging Face cache that cannot be written (a read-only home on a cluster, HF_HOME under
a file) is named with the variable that moves it. The commands said only
"error: ~/.cache: Read-only file system" for the datasets cache, and for the model code's
cache blamed the model: "--model M: cannot load it ([Errno 30] ... '~/.cache/huggingface')".
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prixlm.hub.hf_cache import HINT

ROOT = Path(__file__).resolve().parents[1]


def _evaluate(demo: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m prixlm.link_prediction.evaluate_lp` on the tiny demo, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XDG_CACHE"))}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), **environment)
    argv = [sys.executable, "-m", "prixlm.link_prediction.evaluate_lp", "--model",
            str(demo / "run" / "model"), "--dataset", str(demo / "dataset"), "--languages", "en",
            "--split", "test", "--limit", "2", "--num_beams", "5"]  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("datasets_cache_ok", [False, True], ids=["datasets", "model_code"])
def test_an_unwritable_hf_home_names_the_variable(tiny_demo_output, tmp_path, datasets_cache_ok):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    home = blocker / "hf"  # nothing can be made under a file (root included)
    environment = {"HF_HOME": str(home)}
    if datasets_cache_ok:  # the rows load: the model's code is copied into HF_HOME/modules
        environment["HF_DATASETS_CACHE"] = str(tmp_path / "datasets")
    result = _evaluate(tiny_demo_output, environment)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {home}") and f"({HINT}): Not a directory" in last, last
    assert "cannot load it" not in last and "Traceback" not in result.stderr


@pytest.mark.parametrize("inside", ["model", "hub/models--org--kb/snapshots/abc"])
def test_an_error_of_the_users_own_model_folder_is_not_the_caches(
    tiny_prixlm, tmp_path, monkeypatch, inside
):
    """HF_HOME set to a scratch or project folder that also holds the user's model (or the
    model passed as a snapshot folder of the Hub cache): a file of that folder that cannot
    be read is the model's error, naming --model, not the cache's hint to move HF_HOME
    (which named the cache for a permission of the user's own file)."""
    import datasets.config
    import transformers
    from huggingface_hub import constants

    from prixlm.cli import UsageError
    from prixlm.model_loading import load_model

    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    model, tokenizer = tiny_prixlm
    folder = tmp_path / inside
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    unreadable = folder / "config.json"

    def denied(*args, **kwargs):  # what a file of another user, not shared, gives (not root)
        raise PermissionError(errno.EACCES, "Permission denied", str(unreadable))

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", denied)
    with pytest.raises(UsageError) as raised:
        load_model(folder)
    message = str(raised.value)
    assert message.startswith(f"--model {folder}: cannot load it"), message
    assert "Permission denied" in message and HINT not in message
