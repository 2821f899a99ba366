"""The synthetic DBpedia 2016-10 dumps of the scale benchmark (`bench/synthetic_dumps.py`):
well-formed for our reader, accepted by the build with the counts the generator expects,
deterministic by seed and independent of its chunking and of its processes."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from prixlm.data.dbpedia.build import main as build_main
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions
from prixlm.data.ntriples import Literal, ReadStats, read_triples

_PATH = Path(__file__).resolve().parents[2] / "bench" / "synthetic_dumps.py"
_SPEC = importlib.util.spec_from_file_location("synthetic_dumps", _PATH)
synthetic = importlib.util.module_from_spec(_SPEC)
sys.modules["synthetic_dumps"] = synthetic
_SPEC.loader.exec_module(synthetic)

LANGUAGES = 4  # en, de, fr, ja: Latin with and without diacritics, and kana
ENTITIES = 600


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("synthetic") / "dumps"
    return folder, synthetic.write_dumps(folder, LANGUAGES, ENTITIES, seed=3)


def digest(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.glob("*.ttl"))
    }


def test_layout_is_the_2016_10_release(generated) -> None:
    folder, counts = generated
    index = DumpIndex.scan(folder)
    assert index.languages("labels") == ["de", "en", "fr", "ja"]
    for kind in ("labels", "objects", "links"):
        assert sorted(language for k, language in index.files if k == kind) == [
            "de",
            "en",
            "fr",
            "ja",
        ]
    assert index.variants == [] and index.hub_files == []
    assert counts.lines["labels_en.ttl"] == ENTITIES
    # ~1.5 facts and 0.6 links per other language per concept (the module's shape)
    assert 1.2 * ENTITIES < counts.lines["mappingbased_objects_de.ttl"] < 1.8 * ENTITIES
    assert 0.5 * 3 * ENTITIES < counts.lines["interlanguage_links_ja.ttl"] < 0.7 * 3 * ENTITIES


def test_every_line_parses_with_our_reader(generated) -> None:
    folder, counts = generated
    scripts = {"de": "äöü", "fr": "éèêàç", "ja": "アイウエオカキクケコ"}
    paths = sorted(folder.glob("*.ttl"))
    assert paths and {p.name for p in paths} == set(counts.lines)
    for path in paths:
        stats = ReadStats()
        triples = list(read_triples(path, strict=True, stats=stats))
        assert stats.malformed == 0 and stats.comments == 2, path.name
        assert stats.triples == len(triples) == counts.lines[path.name]
        if path.name.startswith("labels_"):
            language = path.stem.split("_", 1)[1]
            texts = [obj.value for _, _, obj in triples]
            assert all(isinstance(obj, Literal) and obj.language == language for *_, obj in triples)
            assert len(set(texts)) == len(texts)  # unique within a language
            assert 3 <= min(map(len, texts)) and max(map(len, texts)) <= 60
            if language in scripts:
                assert any(set(text) & set(scripts[language]) for text in texts), language


def test_build_keeps_the_expected_rows(generated, tmp_path: Path) -> None:
    folder, counts = generated
    for link_languages in (None, ["en"]):
        output = tmp_path / f"built_{link_languages}"
        args = ["--dump_dir", str(folder), "--output_dir", str(output), "--no_progress"]
        if link_languages:
            args += ["--link_languages", ",".join(link_languages)]
        assert build_main(args) == 0
        built = synthetic.dataset_row_counts(output)
        totals = {config: sum(splits.values()) for config, splits in built.items()}
        assert totals == synthetic.expected_row_counts(counts, link_languages)
        assert set(built["links"]) == {"train"}
    # facts between labelled concepts only: some lines point at unlabelled IRIs
    assert counts.facts["en"] < counts.lines["mappingbased_objects_en.ttl"]


@pytest.mark.parametrize("suffix", ["bz2", "gz"])
def test_compressed_copy_builds_the_same_dataset(generated, tmp_path: Path, suffix: str) -> None:
    """`bench_build_scale.py --compress`: the dumps as DBpedia ships them, the same rows."""
    spec = importlib.util.spec_from_file_location(
        "bench_build_scale", _PATH.with_name("bench_build_scale.py")
    )
    scale = sys.modules["bench_build_scale"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    folder, _ = generated
    packed = scale.compressed_copy(folder, suffix)
    assert sorted(path.name for path in packed.iterdir()) == sorted(
        [f"{name}.{suffix}" for name in digest(folder)] + [synthetic.INFO_FILE]
    )
    assert scale.compressed_copy(folder, suffix) == packed  # reused, not written again
    shards = {}
    for name, dumps in (("plain", folder), (suffix, packed)):
        output = tmp_path / name
        assert (
            build_main(["--dump_dir", str(dumps), "--output_dir", str(output), "--no_progress"])
            == 0
        )
        shards[name] = {
            str(path.relative_to(output)): path.read_bytes() for path in output.rglob("*.parquet")
        }
    assert len(shards["plain"]) >= 5 and shards[suffix] == shards["plain"]


def test_read_options_count_no_malformed_line(generated) -> None:
    folder, _ = generated
    options = ReadOptions(strict=False)
    for path in sorted(folder.glob("*.ttl")):
        for _ in options.triples(path):
            pass
    assert sum(stats.malformed for stats in options.stats.values()) == 0


def test_deterministic_by_seed_and_independent_of_chunking(
    generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, counts = generated
    again = synthetic.write_dumps(tmp_path / "again", LANGUAGES, ENTITIES, seed=3)
    assert digest(tmp_path / "again") == digest(folder)
    assert again.lines == counts.lines and again.facts == counts.facts
    monkeypatch.setattr(synthetic, "CHUNK", 97)  # many partial chunks
    synthetic.write_dumps(tmp_path / "chunked", LANGUAGES, ENTITIES, seed=3)
    assert digest(tmp_path / "chunked") == digest(folder)
    monkeypatch.setattr(synthetic, "SLICE_CONCEPTS", 150)  # each file in slices of concepts
    for processes in (1, 3):
        sliced = synthetic.write_dumps(
            tmp_path / f"p{processes}", LANGUAGES, ENTITIES, 3, processes
        )
        assert digest(tmp_path / f"p{processes}") == digest(folder)
        assert (sliced.lines, sliced.facts, sliced.link_pairs) == (
            counts.lines,
            counts.facts,
            counts.link_pairs,
        )
    synthetic.write_dumps(tmp_path / "other", LANGUAGES, ENTITIES, seed=4)
    other = digest(tmp_path / "other")
    assert all(other[name] != value for name, value in digest(folder).items())


def test_skew_of_relations_and_objects(generated) -> None:
    folder, _ = generated
    relations: dict[str, int] = {}
    objects: dict[str, int] = {}
    for _, relation, obj in read_triples(folder / "mappingbased_objects_en.ttl"):
        relations[relation] = relations.get(relation, 0) + 1
        objects[obj] = objects.get(obj, 0) + 1
    total = sum(relations.values())
    top_relation = max(relations.values()) / total
    top_object = max(objects.values()) / total
    assert 0.1 < top_relation < 0.3 and len(relations) > 50  # Zipf over 300 properties
    assert top_object > 20 / ENTITIES  # far above uniform (1 / ENTITIES)


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--languages 0"):
        synthetic.write_dumps(tmp_path / "x", 0, 10)
    with pytest.raises(ValueError, match="--entities 0"):
        synthetic.write_dumps(tmp_path / "x", 2, 0)
    assert not (tmp_path / "x").exists()
