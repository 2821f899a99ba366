"""A model evaluated on another build of its training data: a rebuild with another `--seed`
or `--split_protocol`, or a larger test fraction, draws its test split from facts the model
was trained on (about 85%, counted here), and `evaluate_lp` ranked it without a word, an
inflated result. The release records its training build's split (`train_results.json`),
and the ranking commands refuse such a split, naming both builds, unless
`--allow_training_facts` (kept in the report); a rebuild with the same draw is ranked, and a
release that records nothing (earlier ones, the official checkpoint) says once it is not
checked."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from prixlm.completion.measure import main as measure_main
from prixlm.data.dbpedia.build import main as build_main
from prixlm.data.loading import load_kb
from prixlm.link_prediction.evaluate_lp import main as evaluate_main
from prixlm.release.model_card import main as model_card_main
from train import main as train_main

LANGUAGES = ("en", "de", "ja")


@pytest.fixture(scope="module")
def rebuilds(tiny_demo_output, tmp_path_factory):
    """Builds of the demo's CLDR export beside the model's own: `seed1` (`--seed 1`),
    `language` (`--split_protocol language`), `same_draw` (en,de with test fraction 0.12)."""
    root = tmp_path_factory.mktemp("rebuilds")
    options = {
        "seed1": ["--languages", "en,de,ja", "--seed", "1"],
        "language": ["--languages", "en,de,ja", "--split_protocol", "language"],
        "same_draw": ["--languages", "en,de", "--test_fraction", "0.12"],
    }
    for name, extra in options.items():
        argv = ["--dump_dir", str(tiny_demo_output / "cldr_dumps"), "--output_dir", str(root / name)]  # fmt: skip
        assert build_main([*argv, *extra, "--no_progress"]) == 0
    return root


def _facts(dataset: Path, split: str, languages=LANGUAGES) -> list[tuple[str, ...]]:
    return [
        (language, row["subject"], row["relation"], row["object"])
        for language in languages
        for row in load_kb(dataset, language, split)
        if row["kind"] == "triple"
    ]


def _trained_share(tiny_demo_output: Path, dataset: Path, split: str, languages=LANGUAGES):
    trained = set(_facts(tiny_demo_output / "dataset", "train"))
    rows = _facts(dataset, split, languages)
    return sum(row in trained for row in rows) / len(rows)


def _evaluate(model: Path, dataset: Path, *extra: str, languages: str = "en,de,ja"):
    argv = ["--model", str(model), "--dataset", str(dataset), "--languages", languages,
            "--limit", "2", "--num_beams", "2"]  # fmt: skip
    return evaluate_main([*argv, *extra])


def _told(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("error", "warning", "note"))]


@pytest.mark.parametrize(
    ("rebuild", "settings"),
    [("seed1", "protocol fact, seed 1"), ("language", "protocol language, seed 0")],
)
def test_a_rebuild_drawn_afresh_is_refused_naming_both_builds(
    tiny_demo_output, rebuilds, capsys, rebuild, settings
):
    model, dataset = tiny_demo_output / "run" / "model", rebuilds / rebuild
    assert _trained_share(tiny_demo_output, dataset, "test") > 0.75  # what would be ranked
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _evaluate(model, dataset)
    assert exit_info.value.code == 2
    assert _told(capsys.readouterr().err) == [
        f"error: --model {model} was trained on {(tiny_demo_output / 'dataset').resolve()} "
        "(protocol fact, seed 0, test fraction 0.1, validation fraction 0.05); --dataset "
        f"{dataset} has {settings}, test fraction 0.1, validation fraction 0.05: about 85% of "
        "its test split (en, de, ja) is drawn from the model's training facts, and its "
        "results would be inflated; evaluate the build the model was trained on (or one with "
        "the same protocol and seed, whose test and validation fractions stay within the "
        "model's), or give --allow_training_facts to rank it anyway (the report records it)"
    ]
    report = _evaluate(model, dataset, "--allow_training_facts")
    kept = report["training_split"]
    assert (kept["result"], kept["allowed"], kept["expected_training_share"]) == (
        "overlap", True, 0.85,
    )  # fmt: skip
    assert kept["trained_on"]["settings"]["seed"] == 0
    assert kept["evaluated"]["settings"]["protocol"] == rebuild.replace("seed1", "fact")
    assert set(report["results"]) == set(LANGUAGES)
    warned = _told(capsys.readouterr().err)[0]
    assert warned.endswith(": its results are inflated; ranked (--allow_training_facts)")
    assert "give --allow_training_facts" not in warned  # it was given


def test_a_rebuild_with_the_same_draw_is_ranked_and_its_wider_validation_is_not(
    tiny_demo_output, rebuilds, capsys
):
    model, dataset = tiny_demo_output / "run" / "model", rebuilds / "same_draw"
    # test 0.12 of seed 0 lies within the model's test + validation (0.15): no training fact
    assert _trained_share(tiny_demo_output, dataset, "test", ("en", "de")) == 0
    capsys.readouterr()
    report = _evaluate(model, dataset, languages="en,de")
    assert report["training_split"]["result"] == "same draw"
    assert _told(capsys.readouterr().err) == []
    # its validation split, 0.12 to 0.17, reaches into the model's training range
    assert _trained_share(tiny_demo_output, dataset, "validation", ("en", "de")) > 0.2
    with pytest.raises(SystemExit):
        _evaluate(model, dataset, "--split", "validation", languages="en,de")
    assert "about 40% of its validation split (en, de)" in capsys.readouterr().err


def test_a_build_of_languages_the_model_was_not_trained_on_is_ranked_without_a_word(
    tiny_demo_output, tmp_path, capsys
):
    """A French KB drawn with another seed holds no fact of the en/de/ja build the model was
    trained on; it was refused as "about 85% ... drawn from the model's training facts"."""
    from prixlm.data.cldr.export import export_cldr_kb

    export_cldr_kb(["fr"], tmp_path / "dumps", progress=False)
    dataset = tmp_path / "fr"
    argv = ["--dump_dir", str(tmp_path / "dumps"), "--output_dir", str(dataset), "--seed", "1"]
    assert build_main([*argv, "--languages", "fr", "--no_progress"]) == 0
    capsys.readouterr()
    report = _evaluate(tiny_demo_output / "run" / "model", dataset, languages="fr")
    assert report["training_split"]["result"] == "other languages"
    assert report["results"]["fr"]["num_queries"] == 2
    assert _told(capsys.readouterr().err) == []


def test_a_language_of_the_build_the_model_was_not_trained_on_is_ranked_without_a_word(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    """A model trained with `--languages en` on the en/de/ja build saw no German fact: the
    seed-1 rebuild's German test split was refused as drawn from its training facts (the
    record held the whole build's configs); its English one still is."""
    argv = ["--dataset", str(tiny_demo_output / "dataset"), "--languages", "en",
            "--output_dir", str(tmp_path / "en"), "--max_steps", "2", "--lp_eval_queries", "0",
            "--hidden_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2",
            "--intermediate_size", "64", "--tokenizer_vocab_size", "1500",
            "--per_device_train_batch_size", "4", "--report_to", "none", "--disable_tqdm", "true"]  # fmt: skip
    model = train_main(argv)
    capsys.readouterr()
    report = _evaluate(model, rebuilds / "seed1", languages="de")
    assert report["training_split"]["result"] == "other languages"
    assert report["training_split"]["trained_on"]["trained_configs"] == ["en"]
    assert _told(capsys.readouterr().err) == []
    with pytest.raises(SystemExit):
        _evaluate(model, rebuilds / "seed1", languages="en")
    assert "about 85% of its test split (en)" in capsys.readouterr().err


def test_the_models_own_build_is_ranked_without_a_word(tiny_demo_output, capsys):
    model = tiny_demo_output / "run" / "model"
    capsys.readouterr()
    report = _evaluate(model, tiny_demo_output / "dataset")
    assert report["training_split"]["result"] == "same build"
    assert _told(capsys.readouterr().err) == []


def test_a_release_that_records_no_training_split_says_once_it_is_not_checked(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    older = tmp_path / "model"  # as a release of an earlier version, or the converted official
    shutil.copytree(tiny_demo_output / "run" / "model", older)
    results = json.loads((older / "train_results.json").read_text(encoding="utf-8"))
    del results["training_split"]
    (older / "train_results.json").write_text(json.dumps(results), encoding="utf-8")
    capsys.readouterr()
    report = _evaluate(older, rebuilds / "seed1")
    assert report["training_split"] == {"result": "not recorded"}
    assert _told(capsys.readouterr().err) == [
        f"note: --model {older} records no split of its training data (a release of an "
        "earlier version, or the official checkpoint): whether --split test holds facts it "
        "was trained on is not checked"
    ]


def test_completion_measure_refuses_a_hidden_split_of_training_facts(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    model, dataset = tiny_demo_output / "run" / "model", rebuilds / "seed1"
    capsys.readouterr()
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "2", "--max_per_pair", "1", "--output", str(tmp_path / "m.json")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        measure_main(argv)
    assert exit_info.value.code == 2
    assert "about 85% of its test split (de) is drawn from the model's training facts" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "m.json").exists()


def test_a_release_continued_on_a_rebuild_is_checked_against_both_builds(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    """The demo's release continued on the seed-1 rebuild: that rebuild's test split is its
    own run's build, but 85% of it were training facts of the release it continued."""
    release, dataset = tiny_demo_output / "run" / "model", rebuilds / "seed1"
    argv = ["--base_model", str(release), "--dataset", str(dataset), "--languages", "en,de,ja",
            "--output_dir", str(tmp_path / "more"), "--max_steps", "2", "--lp_eval_queries", "0",
            "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1",
            "--report_to", "none", "--disable_tqdm", "true"]  # fmt: skip
    continued = train_main(argv)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _evaluate(continued, dataset)
    assert exit_info.value.code == 2
    told = _told(capsys.readouterr().err)
    assert len(told) == 1 and told[0].startswith(
        f"error: --model {continued} continued a release trained on "
        f"{(tiny_demo_output / 'dataset').resolve()} (protocol fact, seed 0, test fraction 0.1, "
        f"validation fraction 0.05); --dataset {dataset} has protocol fact, seed 1, "
    )
    assert "about 85% of its test split (en, de, ja)" in told[0]
    # not "evaluate the build the model was trained on": that build is the one refused
    assert "; evaluate a build with the protocol and seed of the release it continued" in told[0]
    # the release's own build: its run's (seed 1) test split overlaps the rebuild's train
    with pytest.raises(SystemExit):
        _evaluate(continued, tiny_demo_output / "dataset")
    assert f"error: --model {continued} was trained on {dataset.resolve()}" in (
        capsys.readouterr().err
    )


def test_a_report_ranked_on_training_facts_goes_on_no_card(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    model = tmp_path / "model"  # a copy: the card is written into the folder
    shutil.copytree(tiny_demo_output / "run" / "model", model)
    report = tmp_path / "seed1.json"
    _evaluate(model, rebuilds / "seed1", "--allow_training_facts", "--output", str(report))
    card = (model / "README.md").read_text(encoding="utf-8")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        model_card_main([str(model), "--evaluation", str(report)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --evaluation {report}: ranks a split drawn from the model's training facts "
        "(about 85%, ranked with --allow_training_facts): its figures are inflated and go on "
        "no card; evaluate the build the model was trained on"
    )
    assert (model / "README.md").read_text(encoding="utf-8") == card


def _as_earlier_build(source: Path, folder: Path, seed: int | None = None) -> Path:
    """`source` copied as a build of an earlier builder left it: a card without the YAML
    record of its draw (`prixlm_split`), its "Splits" text naming `seed` (default its own)."""
    shutil.copytree(source, folder)
    card = (folder / "README.md").read_text(encoding="utf-8")
    earlier = re.sub(r"^prixlm_split:\n(?:  .*\n)+", "", card, count=1, flags=re.MULTILINE)
    assert earlier != card and "draw:" not in earlier
    if seed is not None:
        earlier = earlier.replace("hash seed 1;", f"hash seed {seed};")
    (folder / "README.md").write_text(earlier, encoding="utf-8")
    return folder


def test_an_earlier_builders_draw_of_the_same_seed_is_not_taken_for_the_same_draw(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    """The builder before the md5 draw ranked keys by blake2b: its seed-0 card states what
    today's seed-0 card states, yet ~85% of its test split were training facts of a model
    trained on today's build. Such a build (here: the seed-1 files under a seed-0 card
    without the draw record) is not ranked as the same draw, silently."""
    earlier = _as_earlier_build(rebuilds / "seed1", tmp_path / "earlier", seed=0)
    assert "prixlm_split" not in (earlier / "README.md").read_text(encoding="utf-8")
    assert _trained_share(tiny_demo_output, earlier, "test") > 0.75
    capsys.readouterr()
    report = _evaluate(tiny_demo_output / "run" / "model", earlier)
    assert report["training_split"]["result"] == "unknown"
    assert report["training_split"]["evaluated"]["settings"]["draw"] is None
    told = _told(capsys.readouterr().err)
    assert len(told) == 1 and told[0].startswith("warning: ")
    assert "whether its test split holds facts the model was trained on cannot be told" in told[0]


def test_the_draw_is_read_from_the_cards_yaml_whatever_its_text_says(
    tiny_demo_output, rebuilds, tmp_path, capsys
):
    """A user reflowed the "Splits" lines of the same-draw rebuild's card: the YAML's record
    still says it is the model's draw, ranked without a word."""
    edited = tmp_path / "edited"
    shutil.copytree(rebuilds / "same_draw", edited)
    card = (edited / "README.md").read_text(encoding="utf-8")
    reflowed = card.replace(
        "- test fraction 0.12, validation fraction 0.05,\n  hash seed 0;",
        "- test fraction: 0.12; validation fraction: 0.05; seed: 0;",
    )
    assert reflowed != card
    (edited / "README.md").write_text(reflowed, encoding="utf-8")
    capsys.readouterr()
    report = _evaluate(tiny_demo_output / "run" / "model", edited, languages="en,de")
    assert report["training_split"]["result"] == "same draw"
    assert _told(capsys.readouterr().err) == []


def test_a_model_trained_on_an_earlier_build_ranks_that_build_without_a_word(
    tiny_demo_output, tmp_path, capsys
):
    """An earlier build's card records neither its draw nor its files' digests: the files
    themselves tell that the model's build is the one evaluated."""
    from demo_output import TINY_TRAINING

    earlier = _as_earlier_build(tiny_demo_output / "dataset", tmp_path / "earlier")
    card = (earlier / "README.md").read_text(encoding="utf-8")
    stripped = "\n".join(
        line for line in card.splitlines() if "description: Parquet files sha256" not in line
    )
    assert stripped != card
    (earlier / "README.md").write_text(stripped + "\n", encoding="utf-8")
    argv = {"--dataset": str(earlier), "--output_dir": str(tmp_path / "run"), **TINY_TRAINING}
    model = train_main([item for pair in argv.items() for item in pair])
    capsys.readouterr()
    report = _evaluate(model, earlier)
    assert report["training_split"]["result"] == "same build"
    assert _told(capsys.readouterr().err) == []
