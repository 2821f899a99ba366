"""The builder's output: Parquet + dataset card, atomic writes, real samples, CLI errors."""

from __future__ import annotations

import bz2
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import (
    DBO,
    EN,
    FR,
    LABEL,
    REPO,
    SAMPLES,
    add_lines,
    write_dumps,
)

from dataset_builders.prixlm_dbpedia.prixlm_dbpedia import PrixLMDBpedia
from prixlm.data.dbpedia import SplitSettings
from prixlm.data.dbpedia.build import build_dataset, construct, main
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions
from prixlm.data.dbpedia.splits import build_rows
from prixlm.data.ntriples import DumpError


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def test_build_writes_parquet_and_card_that_load_offline(tmp_path: Path, dumps: Path) -> None:
    out = tmp_path / "kb"
    assert main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "en", "fr", "links"]
    rows, _ = build_dataset(dumps, None)
    de = rows.triples["de"]
    assert sorted(p.name for p in (out / "de").iterdir()) == sorted(
        f"{split}.parquet" for split, split_rows in de.items() if split_rows
    )
    schema = pq.read_schema(out / "links" / "train.parquet")
    assert schema.names == [
        "kind",
        "subject",
        "relation",
        "object",
        "subject_language",
        "object_language",
        "subject_id",
        "relation_id",
        "object_id",
        "all_objects",
    ]
    assert schema == pq.read_schema(out / "de" / "test.parquet")
    card = (out / "README.md").read_text()
    assert (
        "config_name: de" in card and "config_name: all" in card and "license: cc-by-sa-3.0" in card
    )
    assert "zhou-etal-2022-prix" in card
    # Every config's features written out, without YAML aliases (`&id001` / `*id001`).
    assert card.count("- name: all_objects\n    list: string") == card.count("config_name:") // 2
    assert "&id" not in card and "*id" not in card
    script = (
        "import json, sys\nfrom datasets import load_dataset\n"
        "out = {}\n"
        "for config in ('de', 'links', 'all', None):\n"  # None: the card's default config
        "    d = load_dataset(sys.argv[1], config)\n"
        "    out[config] = {s: d[s].num_rows for s in d}\n"
        "out['row'] = load_dataset(sys.argv[1], 'de', split='train')[0]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    stats = rows.stats["de"]  # the paper's Table 1 columns, then the splits
    assert f"| de | {stats.entities} | {stats.triples} | {len(de['train'])} | " in card
    assert stats.entities == 11 and stats.triples + stats.removed_inverse == 14
    assert loaded["de"] == {s: len(v) for s, v in de.items() if v}
    assert loaded["links"] == {"train": len(rows.links)}
    assert loaded["all"]["train"] == sum(len(t["train"]) for t in rows.triples.values()) + len(
        rows.links
    )
    assert loaded["null"] == loaded["all"]  # load_dataset(folder) without a config name
    first = de["train"][0]
    assert loaded["row"] == dict(zip(loaded["row"], first, strict=True))
    # The builder class gives the same rows, in the same order.
    builder = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=str(tmp_path / "c2"))
    builder.download_and_prepare()
    assert builder.as_dataset(split="test")["object"] == [r[3] for r in de["test"]]
    with pytest.raises(ValueError, match="config 'it'"):
        PrixLMDBpedia(
            config_name="it", data_dir=str(dumps), cache_dir=str(tmp_path / "c3")
        ).download_and_prepare()


def test_killed_build_leaves_nothing_complete_and_rerun_is_identical(tmp_path: Path) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    big = dumps / "mappingbased_objects_en.ttl"  # enough facts that the build takes a moment
    lines = [f'<{EN}E{i}> {LABEL} "entity {i}"@en .' for i in range(20000)]
    add_lines(dumps / "labels_en.ttl", lines)
    big.write_text(
        big.read_text()
        + "\n".join(f"<{EN}E{i}> <{DBO}p{i % 7}> <{EN}E{(i * 7) % 20000}> ." for i in range(20000))
        + "\n"
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "prixlm.data.dbpedia.build",
        "--dump_dir",
        str(dumps),
        "--output_dir",
        str(out),
        "--no_progress",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*.partial/*/*.parquet")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # killed part-way, while writing
    assert not out.exists()
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0
    first = _hashes(out)
    assert not list(tmp_path.glob(".out.*"))  # no staging or moved-aside folder left
    assert {path.split("/")[0] for path in first} == {"de", "en", "fr", "links"}
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0
    assert _hashes(out) == first


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/dbpedia_samples absent")
def test_real_samples_as_dump_folder(tmp_path: Path) -> None:  # noqa: PLR0915
    """Real DBpedia lines: en labels/facts plus the Databus hub file as the link source."""
    folder = tmp_path / "real"
    folder.mkdir()
    objects = (SAMPLES / "mappingbased_objects_en.ttl").read_text()
    (folder / "mappingbased_objects_en.ttl").write_text(objects)
    names = {"Actrius", "Ventura_Pons", "Spain", "Alain_Connes", "Jacques_Dixmier"}
    labels = [f'<{EN}{n}> {LABEL} "{n.replace("_", " ")}"@en .' for n in sorted(names)]
    labels_en = folder / "labels_en.ttl"  # the sample: the file's first lines, then these
    labels_en.write_text((SAMPLES / "labels_en.ttl").read_text() + "# completed\n")
    add_lines(labels_en, labels)
    (folder / "labels_fr.ttl").write_text(f'<{FR}Afrique> {LABEL} "Afrique"@fr .\n')
    (folder / "labels_ko.ttl").write_text(
        f'<http://ko.dbpedia.org/resource/아프리카> {LABEL} "아프리카"@ko .\n'
    )
    (folder / "sameas-all-wikis.ttl").write_text((SAMPLES / "sameas-all-wikis.ttl").read_text())
    index, options = DumpIndex.scan(folder), ReadOptions()
    with construct(index, ["en", "fr", "ko"], tmp_path / "work", options) as con:
        facts = con.execute("SELECT s_iri, r_iri, o_iri FROM facts ORDER BY ALL").fetchall()
        pairs = con.execute("SELECT * FROM pairs").fetchall()
        stats = build_rows(con, ["en", "fr", "ko"], SplitSettings()).stats
        links = con.execute(
            "SELECT subject, object, subject_language, object_language FROM rows "
            "WHERE kind = 'link'"
        ).fetchall()
        relations = {
            r for (r,) in con.sql("SELECT relation FROM rows WHERE config = 'en'").fetchall()
        }
    assert facts == [
        (EN + "Actrius", DBO + "country", EN + "Spain"),
        (EN + "Actrius", DBO + "director", EN + "Ventura_Pons"),
        (EN + "Actrius", DBO + "producer", EN + "Ventura_Pons"),
        (EN + "Actrius", DBO + "writer", EN + "Ventura_Pons"),
        (EN + "Alain_Connes", DBO + "doctoralAdvisor", EN + "Jacques_Dixmier"),
    ]
    assert pairs == [("fr", FR + "Afrique", "ko", "http://ko.dbpedia.org/resource/아프리카")]
    assert set(links) == {("Afrique", "아프리카", "fr", "ko"), ("아프리카", "Afrique", "ko", "fr")}
    assert stats["en"].triples == 5
    assert relations == {"country", "director", "producer", "writer", "doctoral advisor"}


def test_bad_arguments_get_clear_errors(tmp_path: Path, dumps: Path, capsys) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["--dump_dir", str(dumps), "--output_dir", str(precious)]) == 2
    assert "is not a dataset build; not replacing it" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"
    assert main(["--dump_dir", str(tmp_path / "none"), "--output_dir", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert (
        main(["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "o"), "--languages", "d e"])
        == 2
    )
    assert "invalid language code 'd e'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="split protocol"):
        SplitSettings(protocol="random")
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "labels_en.ttl.bz2").write_bytes(
        bz2.compress(b"<a> <b> <c> .\n" * 1000)[:-30]
    )
    (tmp_path / "cut" / "mappingbased_objects_en.ttl").write_text("")  # a language to build
    with pytest.raises(DumpError, match="labels_en.ttl.bz2.*truncated"):
        build_dataset(tmp_path / "cut", None)


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    identity = [
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "-c",
        "init.defaultBranch=main",
    ]
    return subprocess.run(
        ["git", *identity, "-C", str(folder), *args], capture_output=True, text=True, check=True
    )


def test_rebuild_keeps_git_and_user_files_and_removes_stale_configs(
    tmp_path: Path, dumps: Path
) -> None:
    out = tmp_path / "kb"
    arguments = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
    assert main(arguments) == 0
    _git(out, "init", "-q")
    _git(out, "add", "-A")
    _git(out, "commit", "-q", "-m", "first build")
    (out / "notes.txt").write_text("mine")
    (out / "extra").mkdir()
    (out / "extra" / "more.txt").write_text("also mine")
    assert main([*arguments, "--languages", "en,de"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".git",
        "README.md",
        "de",
        "en",
        "extra",
        "links",
        "notes.txt",
    ]  # fr (no longer built) is gone; the repository and the user's files are kept
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "extra" / "more.txt").read_text() == "also mine"
    assert _git(out, "log", "--format=%s").stdout == "first build\n"
    status = _git(out, "status", "--porcelain").stdout.splitlines()
    assert " D fr/test.parquet" in status and "?? notes.txt" in status
    assert " M README.md" in status
    card = (out / "README.md").read_text()
    assert "config_name: de" in card and "config_name: fr" not in card
    assert not list(tmp_path.glob(".kb.*"))


def test_a_rebuild_after_a_crash_between_the_renames_drops_stale_configs(
    tmp_path: Path, dumps: Path
) -> None:
    """Killed between its two renames, a build leaves `.kb.old` and no `kb`; the next build
    worked out what the old one owned before putting it back, so it owned nothing and kept
    the configs it no longer builds for good."""
    from prixlm.outputs.atomic import _old_path

    out = tmp_path / "kb"
    arguments = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
    assert main(arguments) == 0
    (out / "notes.txt").write_text("mine")
    out.rename(_old_path(out))  # the crash state
    assert main([*arguments, "--languages", "en,de"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "en", "links", "notes.txt"]
    assert not list(tmp_path.glob(".kb.*"))


def test_a_fresh_git_repository_is_a_valid_output_folder(tmp_path: Path, dumps: Path) -> None:
    out = tmp_path / "kb"
    out.mkdir()
    _git(out, "init", "-q")
    assert main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".git", "README.md", "de", "en", "fr", "links"]
    assert _git(out, "status", "--porcelain").stdout.count("??") == 5


def test_the_written_out_features_are_those_datasets_makes() -> None:
    """The shards' and the card's features, written out (no `datasets` import in a build),
    are what `datasets` makes of the row's columns; and a build does not import it."""
    import datasets

    from prixlm.data.dbpedia import output

    expected = datasets.Features(
        {
            **{name: datasets.Value("string") for name in output.COLUMNS[:-1]},
            "all_objects": datasets.List(datasets.Value("string")),
        }
    )
    assert expected.to_dict() == output.FEATURE_DICT
    assert expected._to_yaml_list() == output.FEATURE_YAML
    assert output.FEATURES == expected
    code = "import sys, prixlm.data.dbpedia.build; print('datasets' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_copy_statements_side_by_side_write_each_file_and_raise_the_first_error(
    tmp_path: Path,
) -> None:
    """`copy_shards` runs the statements on cursors in threads: every file as one `COPY`
    alone writes it, and a failing statement raises (the others' files are written)."""
    import duckdb

    from prixlm.data.dbpedia.output import copy_shards

    con = duckdb.connect(":memory:", config={"threads": 3})
    con.execute("CREATE TABLE t AS SELECT range AS i, 'x' || range AS s FROM range(100000)")

    def statement(k: int, folder: Path = tmp_path) -> str:
        return (
            f"COPY (SELECT * FROM t WHERE i % 5 = {k} ORDER BY i) "
            f"TO '{folder / f'{k}.parquet'}' (FORMAT parquet)"
        )

    copy_shards(con, [statement(k) for k in range(5)])
    for k in range(5):
        table = pq.read_table(tmp_path / f"{k}.parquet")
        assert table.column("i").to_pylist() == list(range(k, 100000, 5))
    alone = tmp_path / "alone"
    alone.mkdir()
    con.execute(statement(3, alone))
    assert (alone / "3.parquet").read_bytes() == (tmp_path / "3.parquet").read_bytes()
    with pytest.raises(duckdb.Error, match="missing"):
        copy_shards(con, [statement(0, tmp_path / "missing" / "no"), statement(1)])
    con.close()


@pytest.mark.parametrize(
    "threads, limit, expected, restored",
    [(3, "4GB", "2.7 GiB", "3.7 GiB"), (3, None, "2.7 GiB", "3.6 GiB"), (1, "4GB", "3.7 GiB", "3.7 GiB")],
)  # fmt: skip
def test_copy_statements_side_by_side_run_under_three_quarters_of_the_memory_limit(
    tmp_path: Path, threads: int, limit: str | None, expected: str, restored: str
) -> None:
    """More than one `COPY` at a time runs under `SIDE_BY_SIDE_MEMORY_SHARE` (3/4) of the
    build's memory limit (memory outside DuckDB's limit grows with them), or of the limit
    DuckDB prints when none is given ("3.7 GiB" for 4GB, set back as that text, which DuckDB
    reads as a little less); one at a time keeps the whole limit; the limit is set back
    afterwards, also when a statement fails."""
    import duckdb

    from prixlm.data.dbpedia.output import SIDE_BY_SIDE_MEMORY_SHARE, copy_shards

    assert SIDE_BY_SIDE_MEMORY_SHARE == 0.75
    con = duckdb.connect(":memory:", config={"threads": threads, "memory_limit": "4GB"})

    def statement(k: int, folder: Path = tmp_path) -> str:
        return (
            f"COPY (SELECT {k} AS k, current_setting('memory_limit') AS m) "
            f"TO '{folder / f'{k}.csv'}' (FORMAT csv, HEADER false)"
        )

    copy_shards(con, [statement(k) for k in range(4)], memory_limit=limit)
    for k in range(4):
        assert (tmp_path / f"{k}.csv").read_text().strip() == f"{k},{expected}"
    setting = "SELECT current_setting('memory_limit')"
    assert con.execute(setting).fetchone() == (restored,)
    con.execute("SET memory_limit = '4GB'")
    with pytest.raises(duckdb.Error, match="missing"):
        copy_shards(con, [statement(0, tmp_path / "missing" / "no"), statement(1)], False, "4GB")
    assert con.execute(setting).fetchone() == ("3.7 GiB",)
    con.close()


@pytest.mark.parametrize(
    "text, expected",
    [("3.7 GiB", int(3.7 * 2**30)), ("500.0 MiB", 500 * 2**20), ("4GB", 4 * 10**9),
     ("1000B", 1000), ("12 bytes", 12), ("2 kib", 2048)],
)  # fmt: skip
def test_size_bytes_reads_duckdb_size_settings(text: str, expected: int) -> None:
    from prixlm.data.dbpedia.output import size_bytes

    assert size_bytes(text) == expected


def test_size_bytes_refuses_what_is_not_a_size() -> None:
    from prixlm.data.dbpedia.output import size_bytes

    for text in ("80%", "12 iB", "1.5 XB", None):
        with pytest.raises(ValueError, match="not a size"):
            size_bytes(text)


def test_the_builder_builds_again_when_the_dumps_change(tmp_path: Path) -> None:
    """Its cache was keyed by the folder's path: dumps exported again into the same folder
    gave the earlier rows."""
    dumps = write_dumps(tmp_path / "dumps")
    cache = str(tmp_path / "cache")
    first = PrixLMDBpedia(config_name="all", data_dir=str(dumps), cache_dir=cache)
    first.download_and_prepare()
    before = len(first.as_dataset(split="train"))
    facts = dumps / "mappingbased_objects_de.ttl"
    facts.write_text("\n".join(facts.read_text().splitlines()[::2]) + "\n")  # half the facts
    second = PrixLMDBpedia(config_name="all", data_dir=str(dumps), cache_dir=cache)
    assert second.config_id != first.config_id
    second.download_and_prepare()
    assert len(second.as_dataset(split="train")) < before
    same = PrixLMDBpedia(config_name="all", data_dir=str(dumps), cache_dir=cache)
    assert same.config_id == second.config_id  # unchanged dumps: the cache serves them


def test_the_builder_fingerprints_dumps_in_subfolders_and_refuses_an_empty_config(
    tmp_path: Path,
) -> None:
    """The dump scan finds `dumps/<lang>/...` but the fingerprint read only the folder's own
    files (the hash of nothing): a re-export there was served from the old cache. `links`
    of dumps without link files gave an empty DatasetDict."""
    import shutil

    dumps = write_dumps(tmp_path / "flat")
    nested = tmp_path / "nested"
    for path in dumps.iterdir():
        language = path.stem.rsplit("_", 1)[-1]
        (nested / language).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, nested / language / path.name)
    cache = str(tmp_path / "cache")
    first = PrixLMDBpedia(config_name="de", data_dir=str(nested), cache_dir=cache)
    facts = nested / "de" / "mappingbased_objects_de.ttl"
    facts.write_text("\n".join(facts.read_text().splitlines()[::2]) + "\n")
    second = PrixLMDBpedia(config_name="de", data_dir=str(nested), cache_dir=cache)
    assert second.config_id != first.config_id
    for path in dumps.glob("interlanguage_links_*"):
        path.unlink()
    with pytest.raises(ValueError, match=r"config 'links': the dumps give no rows for it"):
        PrixLMDBpedia(
            config_name="links", data_dir=str(dumps), cache_dir=str(tmp_path / "c4")
        ).download_and_prepare()
