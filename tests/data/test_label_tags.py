"""Label language tags: DBpedia tags the labels of a few editions with an ISO code that is not
the wiki code (`labels_zh_yue.ttl` holds `@yue` labels); those build, and labels dropped for
another tag are named when a language ends with no triples."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import write_dumps

from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.convert import convert
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.read_rows import Job


def _as_edition(folder: Path, language: str, wiki: str, tag: str) -> None:
    """`write_dumps`' `language` edition renamed to the 2016-10 files of wiki `wiki`, its
    labels tagged `@tag`."""
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        text = text.replace(f"{language}.dbpedia.org", f"{wiki}.dbpedia.org")
        if path.name.startswith(f"labels_{language}."):
            text = text.replace(f"@{language} .", f"@{tag} .")
        path.write_text(text, encoding="utf-8")
        suffix = f"_{language}.ttl"
        if path.name.endswith(suffix):
            renamed = path.name[: -len(suffix)] + f"_{wiki.replace('-', '_')}.ttl"
            path.rename(path.with_name(renamed))


def test_label_tags_are_the_code_or_dbpedias_iso_code() -> None:
    from prixlm.data.dbpedia.dumps import LABEL_TAG_ALIASES, label_tags

    assert label_tags("de") == ("de",)
    assert label_tags("zh-yue") == ("zh-yue", "yue")
    assert label_tags("zh-min-nan") == ("zh-min-nan", "nan")
    assert label_tags("bat-smg") == ("bat-smg", "sgs")
    assert LABEL_TAG_ALIASES["sh"] == "hbs"
    assert LABEL_TAG_ALIASES["simple"] == "en"


def test_editions_with_iso_label_tags_build(tmp_path: Path, dumps: Path) -> None:
    folder = write_dumps(tmp_path / "dumps")
    _as_edition(folder, "fr", "zh-yue", "yue")
    _as_edition(folder, "de", "zh-min-nan", "nan")
    assert "@yue ." in (folder / "labels_zh_yue.ttl").read_text(encoding="utf-8")
    assert "@nan ." in (folder / "labels_zh_min_nan.ttl").read_text(encoding="utf-8")
    rows, _ = build_dataset(folder, None)
    reference, _ = build_dataset(dumps, None)
    for wiki, language in (("zh-yue", "fr"), ("zh-min-nan", "de")):
        assert rows.stats[wiki].triples == reference.stats[language].triples > 0
        assert rows.stats[wiki].labelled_entities == reference.stats[language].labelled_entities
        assert rows.stats[wiki].links == reference.stats[language].links > 0
    # Both readers keep the same labels: the vectorised one and the row-by-row reference.
    job = Job("labels", folder / "labels_zh_yue.ttl", tmp_path / "v.parquet", "zh-yue")
    convert(job, ReadOptions(), vectorised=True)
    convert(replace(job, output=tmp_path / "r.parquet"), ReadOptions(), vectorised=False)
    fast, slow = pq.read_table(tmp_path / "v.parquet"), pq.read_table(tmp_path / "r.parquet")
    assert fast.equals(slow)
    tagged = job.path.read_text(encoding="utf-8").count('"@yue .')
    assert fast.num_rows == tagged > 5
    assert set(fast.column("language").to_pylist()) == {"zh-yue"}


def test_labels_of_another_tag_are_named_when_no_triples_are_left(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = write_dumps(tmp_path / "dumps")
    labels = folder / "labels_de.ttl"
    text = labels.read_text(encoding="utf-8").replace("@de .", "@fr .")
    labels.write_text(text, encoding="utf-8")
    french = text.count('"@fr .')  # the file's own labels, and one French label it had
    assert french > 10
    out = tmp_path / "kb"
    argv = ["--dump_dir", str(folder), "--output_dir", str(out), "--no_progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: language 'de'")
    assert f"{labels}: {french + 1} labels dropped for their language tag" in err
    assert f"@fr ({french}), @en (1)" in err
    assert "kept if tagged @de or untagged" in err
    assert "language 'fr'" not in err and "language 'en'" not in err
    assert not out.exists()
    from prixlm.data.dbpedia.read_rows import dropped_label_tags

    assert dropped_label_tags(labels, "de", ReadOptions()) == {"fr": french, "en": 1}
