"""A resume compares what training reads of the dataset folder (its Parquet files and the
card's configs and features), not how the card says it was built: the same Parquet files
built again from the dumps named by another path (relative, or the folder moved) resume; a
change of the rows is still refused; a checkpoint recorded before resumes on its data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_train_runs import _args

from prixlm.cli import UsageError
from prixlm.data.dbpedia.build import main as build_main
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.data_fingerprint import READ_FIELD
from prixlm.training.pretrain import pretrain
from prixlm.training.resume import RUN_FILE, dataset_fingerprint

STEPS = ("--max_steps", "4", "--save_steps", "2")
RESUME = ("--resume_from_checkpoint", "true")


def _build(dumps: str | Path, output: Path) -> None:
    argv = ["--dump_dir", str(dumps), "--output_dir", str(output), "--languages", "en,de"]
    assert build_main([*argv, "--no_progress"]) == 0


def _train(dataset: Path, run: Path, *extra: str) -> Path:
    return pretrain(parse_training_arguments(_args(dataset, run, *STEPS, *extra)))


def _parquet(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.parquet")}


@pytest.fixture(scope="module")
def stopped(tmp_path_factory, dumps_writer) -> tuple[Path, Path]:
    """(dumps, run): a 4-step run of a dataset built from `dumps` (named by its absolute
    path), stopped after its checkpoint at step 2 (the later checkpoint and release gone)."""
    root = tmp_path_factory.mktemp("rebuilt")
    dumps, dataset, run = dumps_writer(root / "dumps"), root / "dataset", root / "run"
    _build(dumps, dataset)
    _train(dataset, run)
    for name in ("model", "checkpoint-4", "lp_curve.png", "lp_curve.csv", "train_results.json"):
        if (run / name).is_dir():
            shutil.rmtree(run / name)
        else:
            (run / name).unlink(missing_ok=True)
    return dumps, run


def _copy(stopped: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(dataset built as the run's was, a copy of the stopped run) in `tmp_path`."""
    dumps, run = stopped
    _build(dumps, tmp_path / "dataset")
    return tmp_path / "dataset", Path(shutil.copytree(run, tmp_path / "run"))


def _steps(run: Path) -> int:
    state = json.loads((run / "checkpoint-4" / "trainer_state.json").read_text("utf-8"))
    return state["global_step"]


def test_the_same_parquet_built_from_dumps_named_otherwise_resumes(
    stopped, tmp_path, monkeypatch
) -> None:
    dataset, run = _copy(stopped, tmp_path)
    parquet, card = _parquet(dataset), (dataset / "README.md").read_text("utf-8")
    moved = tmp_path / "moved dumps"
    shutil.copytree(stopped[0], moved)
    monkeypatch.chdir(tmp_path)
    _build("moved dumps", dataset)  # again, into the same folder, the dumps named relative
    assert _parquet(dataset) == parquet  # byte for byte
    rebuilt = (dataset / "README.md").read_text("utf-8")
    assert rebuilt != card and "--dump_dir 'moved dumps'" in rebuilt  # the command as typed
    release = _train(dataset, run, *RESUME)
    assert (release / "model.safetensors").is_file() and _steps(run) == 4


def test_other_rows_are_refused(stopped, tmp_path) -> None:
    dataset, run = _copy(stopped, tmp_path)
    train_file = dataset / "en" / "train.parquet"
    pq.write_table(pq.read_table(train_file).slice(1), train_file)
    with pytest.raises(UsageError, match=rf"in the dataset in --dataset {dataset} \(other files"):
        _train(dataset, run, *RESUME)
    assert not (run / "checkpoint-4").exists()


def test_a_checkpoint_recorded_before_resumes_on_its_unchanged_data(stopped, tmp_path) -> None:
    """A record without `data_read` (an earlier version's) is compared by `data` (the card
    and Parquet files, as `dataset_fingerprint` still gives it): the same folder, built by
    the same command, resumes."""
    dataset, run = _copy(stopped, tmp_path)
    record_file = run / "checkpoint-2" / RUN_FILE
    record = json.loads(record_file.read_text("utf-8"))
    assert "data" not in record  # taken only to compare with an earlier record
    assert record.pop(READ_FIELD)
    record["data"] = dataset_fingerprint(dataset)  # as an earlier version recorded it
    record_file.write_text(json.dumps(record), "utf-8")
    release = _train(dataset, run, *RESUME)
    assert (release / "model.safetensors").is_file() and _steps(run) == 4


def test_the_read_fingerprint_covers_the_cards_configs_and_features_not_its_text(
    stopped, tmp_path
) -> None:
    from prixlm.training.data_fingerprint import read_fingerprint

    dataset = tmp_path / "dataset"
    _build(stopped[0], dataset)
    card = dataset / "README.md"
    built, read, text = (
        dataset_fingerprint(dataset),
        read_fingerprint(dataset),
        card.read_text("utf-8"),
    )
    card.write_text(text.replace("--languages en,de", "--languages de,en"), "utf-8")
    assert dataset_fingerprint(dataset) != built and read_fingerprint(dataset) == read
    for old, new in (
        ("path:\n    - en/validation.parquet", "path:\n    - en/train.parquet"),  # data_files
        ("name: object_id\n    dtype: string", "name: object_id\n    dtype: large_string"),
    ):
        assert text.count(old) >= 1, old
        card.write_text(text.replace(old, new, 1), "utf-8")
        assert read_fingerprint(dataset) != read, new


def test_a_run_start_hashes_the_dataset_once(stopped, tmp_path, monkeypatch) -> None:
    """The record of a run's start (`data_record`) reads and hashes each Parquet byte once:
    two digests over the same bytes (`data` beside `data_read`) doubled the hashing of a
    dataset of many GB at every start and resume."""
    import hashlib

    from prixlm.training import data_fingerprint

    dataset = tmp_path / "dataset"
    _build(stopped[0], dataset)
    hashed: list[int] = []
    sha256 = hashlib.sha256

    class Counting:
        def __init__(self) -> None:
            self._digest = sha256()

        def update(self, data: bytes) -> None:
            hashed.append(len(data))
            self._digest.update(data)

        def hexdigest(self) -> str:
            return self._digest.hexdigest()

    monkeypatch.setattr(data_fingerprint.hashlib, "sha256", Counting)
    record = data_fingerprint.data_record(str(dataset))
    parquet = sum(len(data) for data in _parquet(dataset).values())
    card = (dataset / "README.md").stat().st_size  # its metadata: configs and features
    assert parquet < sum(hashed) < parquet + card  # each byte once, paths, metadata
    assert set(record) == {READ_FIELD}
