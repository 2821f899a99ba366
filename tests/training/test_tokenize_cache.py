"""The cache of tokenised training facts (`prixlm.training.data.tokenize_rows`).

`datasets` named the cache file after `encode_batch` by reference (its module and name): after
a change of the encoding code (`modeling_prixlm.formatting.encode_row`, `_join`, `_tokenize`,
the control-token check), the next run on the same dataset folder trained on the old encoding
from the old file. The name now holds a digest of the files of the encoding code: changed code
gets a new file; the same code, rows and tokenizer reuse the cached one, also from another
process.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets

from prixlm.training.data import load_training_rows, tokenize_rows

ROOT = Path(__file__).resolve().parents[2]

#: One `train.py`-like tokenisation: argv = dataset folder, tokenizer folder.
TOKENIZE = """
import json, sys

import datasets
from transformers import XLMRobertaTokenizer

import prixlm.training.data as data

dataset, tokenizer_dir = sys.argv[1:]
datasets.logging.set_verbosity_info()  # "Loading cached processed dataset at ..."
tokenizer = XLMRobertaTokenizer.from_pretrained(tokenizer_dir)
rows = data.load_training_rows(dataset, ["de", "en"], "all")
encoded = data.tokenize_rows(rows, tokenizer, None)
print(json.dumps({"file": encoded.cache_files[0]["filename"], "labels": encoded["labels"][:]}))
"""

#: `formatting._join`'s labels, and the same line not labelling the object's [EOS]: the
#: encoding changed as past commits changed it (other labels, same rows).
LABELS = "labels = [IGNORE_INDEX] * len(prompt) + object_ids + [IGNORE_INDEX]"
NO_EOS_LABEL = (
    "labels = [IGNORE_INDEX] * len(prompt) + object_ids[:-1] + [IGNORE_INDEX, IGNORE_INDEX]"
)


def _edited_formatting(tmp_path: Path) -> Path:
    """A folder holding a copy of `modeling_prixlm` whose `_join` does not label [EOS]: put
    first on the path, it is the code a new process imports."""
    folder = tmp_path / "edited"
    shutil.copytree(ROOT / "modeling_prixlm", folder / "modeling_prixlm")
    source = folder / "modeling_prixlm" / "formatting.py"
    text = source.read_text(encoding="utf-8")
    assert text.count(LABELS) == 1
    source.write_text(text.replace(LABELS, NO_EOS_LABEL), encoding="utf-8")
    return folder


def _tokenize_in_a_new_process(
    dataset: Path, tokenizer_dir: Path, cache: Path, first_on_path: Path | None = None
) -> tuple[dict, bool]:
    """(the encoded rows' cache file and labels, whether they were read from the cache)."""
    env = {
        **os.environ,
        "HF_DATASETS_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(str(p) for p in (first_on_path, ROOT) if p),
    }
    done = subprocess.run(
        [sys.executable, "-c", TOKENIZE, str(dataset), str(tokenizer_dir)],
        cwd=cache.parent, env=env, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stem = Path(result["file"]).stem  # the log names `<stem>_*_of_00001.arrow`
    cached = any(
        "Loading cached processed dataset at" in line and stem in line
        for line in done.stderr.splitlines()
    )
    return result, cached


def _tokenize_in_this_process(dataset: Path, tokenizer_dir: Path, cache: Path, monkeypatch) -> dict:
    """`TOKENIZE`'s result, tokenised in this process into `cache`, which holds nothing yet
    (so nothing is read from it: the rows are encoded and written)."""
    from transformers import XLMRobertaTokenizer

    assert not cache.exists()
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    tokenizer = XLMRobertaTokenizer.from_pretrained(tokenizer_dir)
    encoded = tokenize_rows(load_training_rows(dataset, ["de", "en"], "all"), tokenizer, None)
    result = {"file": encoded.cache_files[0]["filename"], "labels": encoded["labels"][:]}
    return json.loads(json.dumps(result))  # as read from the process's output line


def test_a_new_process_with_changed_encoding_code_does_not_read_the_old_cache(
    tiny_dataset_dir, tiny_tokenizer, tmp_path, monkeypatch
):
    """Run 1 tokenises (in this process, as `TOKENIZE` does: this process's code is the
    unedited code); run 2, a new process on the same folder and cache, imports an edited
    `formatting.py` that does not label [EOS] (it got run 1's labels from run 1's file);
    run 3, a new process with the code as in run 1, reuses run 1's file."""
    tokenizer_dir = tmp_path / "tokenizer"
    tiny_tokenizer.save_pretrained(tokenizer_dir)
    cache = tmp_path / "hf_datasets_cache"
    eos = tiny_tokenizer.convert_tokens_to_ids("[EOS]")

    first = _tokenize_in_this_process(tiny_dataset_dir, tokenizer_dir, cache, monkeypatch)
    changed, changed_cached = _tokenize_in_a_new_process(
        tiny_dataset_dir, tokenizer_dir, cache, _edited_formatting(tmp_path)
    )
    again, again_cached = _tokenize_in_a_new_process(tiny_dataset_dir, tokenizer_dir, cache)

    assert Path(first["file"]).is_relative_to(cache)  # written there: the cache was empty
    assert all(eos in labels for labels in first["labels"])
    assert not changed_cached and changed["file"] != first["file"]
    assert not any(eos in labels for labels in changed["labels"])  # the changed encoding
    assert len(changed["labels"]) == len(first["labels"])
    assert again_cached and again == first  # unchanged: the same file, read back


def test_the_same_code_rows_and_tokenizer_reuse_the_cached_file(
    tiny_dataset_dir, tiny_tokenizer, tmp_path, monkeypatch
):
    """In one process, a second encoding reads the first file back (not rewritten)."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    rows = load_training_rows(tiny_dataset_dir, ["de", "en"], "all")
    first = tokenize_rows(rows, tiny_tokenizer, None)
    file = Path(first.cache_files[0]["filename"])
    assert file.is_relative_to(tmp_path / "cache")
    written = file.stat().st_mtime_ns
    again = tokenize_rows(rows, tiny_tokenizer, None)
    assert again.cache_files[0]["filename"] == str(file)
    assert file.stat().st_mtime_ns == written
    assert again.to_list() == first.to_list()


def test_other_map_arguments_still_name_their_own_file(
    tiny_dataset_dir, tiny_tokenizer, tmp_path, monkeypatch
):
    """What `datasets` hashed by default still counts: `max_length`, the tokenizer."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    rows = load_training_rows(tiny_dataset_dir, ["de", "en"], "all")
    other = copy.deepcopy(tiny_tokenizer)
    other.add_tokens(["Deutschland"])  # another vocabulary: other ids
    names = {
        tokenize_rows(rows, tokenizer, max_length).cache_files[0]["filename"]
        for tokenizer, max_length in ((tiny_tokenizer, None), (tiny_tokenizer, 20), (other, None))
    }
    assert len(names) == 3
