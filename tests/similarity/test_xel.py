"""XEL: the XL-BEL and LR-XEL readers, entity ranking with known vectors, CLDR queries, CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

from prixlm.similarity import xel_cldr
from prixlm.similarity.xel import entity_ranks, evaluate_xel, main
from prixlm.similarity.xel_readers import (
    XelFormatError,
    XelQuery,
    XelTarget,
    read_lrxel_kb,
    read_lrxel_queries,
    read_xlbel_dictionary,
    read_xlbel_queries,
)

# Lines in the real layouts (cambridgeltl/sapbert xl_bel/, shuyanzhou/pbel_plus data/).
XLBEL_V0 = "C0004057||アスピリン\nC3714497|C0004096||小児ぜんそく\n\nCUI-less||何か\n"
XLBEL_V1 = "C3714497|C0004096||Astma|| <tgt>Astma</tgt> a sairastanut Wilkinson kuoli.\n"
UMLS_DICTIONARY = "C0004057||aspirin\nC0004057||acetylsalicylic acid\nC0004096||asthma\n"
LRXEL_QUERIES = "3378263 ||| John Michael Talbot ||| ጆን ማይክል ታልበት ||| PER\n"
LRXEL_KB = "3378263 ||| John Michael Talbot ||| PER\n16429160 ||| George Karrys ||| PER\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_xlbel_queries_both_versions(tmp_path):
    v0 = read_xlbel_queries(write(tmp_path, "ja_1k_test_query.txt", XLBEL_V0), "ja")
    assert v0 == [
        XelQuery("アスピリン", frozenset({"C0004057"}), "ja"),
        XelQuery("小児ぜんそく", frozenset({"C3714497", "C0004096"}), "ja"),
    ]  # the blank line and the CUI-less mention are skipped
    v1 = read_xlbel_queries(write(tmp_path, "fi_ctx.txt", XLBEL_V1), "fi")
    assert v1[0].mention == "Astma"
    assert v1[0].gold == {"C3714497", "C0004096"}
    assert v1[0].context.startswith(" <tgt>Astma</tgt>")


def test_xlbel_dictionary(tmp_path):
    targets = read_xlbel_dictionary(write(tmp_path, "umls.txt", UMLS_DICTIONARY))
    assert targets[1] == XelTarget("acetylsalicylic acid", "C0004057")
    assert len(targets) == 3


@pytest.mark.parametrize(
    ("reader", "text", "line"),
    [
        (lambda p: read_xlbel_queries(p, "ja"), "C0004057||アスピリン\nC0004057 アスピリン\n", 2),
        (lambda p: read_xlbel_queries(p, "ja"), "C1||a\n\n||b\n", 3),
        (read_xlbel_dictionary, "C0004057||aspirin\nC1||x||y\n", 2),
        (lambda p: read_lrxel_queries(p, "am"), LRXEL_QUERIES + "3378263 ||| x ||| PER\n", 2),
        (read_lrxel_kb, "1 ||| a ||| PER\n2|||b|||PER\n", 2),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, reader, text, line):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(XelFormatError, match=rf"bad\.txt:{line}: expected"):
        reader(path)


def test_lrxel_queries_and_kb(tmp_path):
    queries = read_lrxel_queries(write(tmp_path, "am_test", LRXEL_QUERIES), "am")
    assert queries == [XelQuery("ጆን ማይክል ታልበት", frozenset({"3378263"}), "am")]
    kb = read_lrxel_kb(write(tmp_path, "kb", LRXEL_KB))
    assert kb == [
        XelTarget("John Michael Talbot", "3378263"),
        XelTarget("George Karrys", "16429160"),
    ]


def test_entity_ranks_max_over_names_filters_other_gold_and_halves_ties():
    # Targets: entity A has two names (one exactly the query's direction), B one, C one.
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.8, 0.6]])
    entities = ["A", "A", "B", "C"]
    queries = torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.6, 0.8], [1.0, 1.0]])
    gold = [{"B"}, {"C"}, {"A", "B"}, {"Z"}]
    ranks, top = entity_ranks(queries, targets, entities, gold)
    # q0 (0, 1): A = 1.0 (its 2nd name), B = 0.8, C = 0.6 -> B is 2nd.
    # q1 (1, 0): A = 1.0, C = 0.8 -> C is 2nd.
    # q2: gold {A, B}: A = max(0.6, 0.8) = 0.8, B = 1.0 -> best gold B, A filtered: rank 1.
    # q3: gold Z is not a target: a miss (inf).
    assert ranks.tolist()[:3] == [2.0, 2.0, 1.0]
    assert math.isinf(ranks[3])
    assert top[:3] == ["A", "A", "B"]
    # Query blocks of one row (the memory bound) give the same ranks and top entities.
    blocked, blocked_top = entity_ranks(queries, targets, entities, gold, max_block_floats=1)
    assert blocked.tolist()[:3] == [2.0, 2.0, 1.0] and math.isinf(blocked[3])
    assert blocked_top == top
    # A tie: two entities with the same vector as the query -> rank 1.5.
    tied, _ = entity_ranks(
        torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [2.0, 0.0]]), ["X", "Y"], [{"Y"}]
    )
    assert tied.tolist() == [1.5]


def test_a_gold_entity_tied_with_another_gold_entity_is_ranked_first():
    """A mention with two right entities (a composite id) that score the same is a hit:
    the other right entity must not count as ranked above (rank 1.5 would be a half miss),
    while a wrong entity tied with them still does."""
    query = torch.tensor([[1.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    ranks, top = entity_ranks(query, targets, ["A", "B", "C"], [{"A", "B"}])
    assert ranks.tolist() == [1.0]
    assert top == ["A"]
    with_wrong_tie, _ = entity_ranks(query, targets, ["A", "B", "C"], [{"A"}])
    assert with_wrong_tie.tolist() == [1.5]  # B is not gold here: a real tie


class TableEmbedder:
    """A `TextEmbedder` with fixed vectors per text."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def embed(self, texts):
        return torch.tensor([self.table[t] for t in texts])


def test_evaluate_xel_per_language_accuracy_and_mrr():
    embedder = TableEmbedder(
        {
            "Germany": [1.0, 0.0, 0.0],
            "France": [0.0, 1.0, 0.0],
            "Japan": [0.0, 0.0, 1.0],
            "Deutschland": [0.9, 0.1, 0.0],  # nearest: Germany (right)
            "Frankreich": [0.9, 0.2, 0.0],  # Germany first, France second (rank 2)
            "日本": [0.0, 0.1, 0.9],  # Japan (right)
        }
    )
    targets = [XelTarget(n, n) for n in ("Germany", "France", "Japan")]
    queries = [
        XelQuery("Deutschland", frozenset({"Germany"}), "de"),
        XelQuery("Frankreich", frozenset({"France"}), "de"),
        XelQuery("日本", frozenset({"Japan"}), "ja"),
    ]
    results = evaluate_xel(embedder, queries, targets)
    assert results["per_language"]["de"]["accuracy"] == 0.5
    assert results["per_language"]["de"]["mrr"] == pytest.approx(0.75)
    assert results["per_language"]["ja"]["accuracy"] == 1.0
    assert results["average"] == {"accuracy": 0.75, "mrr": pytest.approx(0.875)}
    assert results["num_target_entities"] == 3


def test_cldr_queries_link_labels_to_english_and_mark_seen(monkeypatch):
    monkeypatch.setattr(
        xel_cldr,
        "training_links",
        lambda dataset, model=None: {("de", "Deutschland", "en", "Germany")},
    )
    data = xel_cldr.cldr_xel_queries(["de"], training_dataset="unused")
    by_mention = {q.mention: (q, s) for q, s in zip(data.queries, data.seen, strict=True)}
    germany, seen = by_mention["Deutschland"]
    assert germany.gold == {"territory:DE"} and seen
    assert by_mention["Frankreich"][0].gold == {"territory:FR"} and not by_mention["Frankreich"][1]
    target_names = {t.name for t in data.targets}
    assert {"Germany", "France", "German"} <= target_names
    # "Berlin" is the same in German and English: a string match, dropped by default.
    assert "Berlin" not in by_mention
    assert data.info["de"]["identical_dropped"] > 0
    assert data.info["de"]["queries"] == len(data.queries)
    assert data.info["de"]["seen"] == 1
    kept = xel_cldr.cldr_xel_queries(["de"], drop_identical=False)
    assert "Berlin" in {q.mention for q in kept.queries}


def test_cldr_default_languages_are_the_paper_eight_and_lr_xel():
    assert xel_cldr.default_languages() == [
        *("it", "de", "fr", "fi", "et", "tr", "hu", "ja"),
        *("te", "lo", "mr"),
    ]


def test_cli_lrxel_on_a_saved_tiny_model(tmp_path, tiny_prixlm, monkeypatch):
    import prixlm.similarity.xel as xel_module

    pooled, load = [], xel_module._load_embedder  # unset: the folder's, else first-token
    monkeypatch.setattr(xel_module, "_load_embedder", lambda *a: pooled.append(a[1]) or load(*a))
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    queries = write(tmp_path, "q.txt", "1 ||| Germany ||| Deutschland ||| LOC\n")
    kb = write(tmp_path, "kb.txt", "1 ||| Germany ||| LOC\n2 ||| France ||| LOC\n")
    output = tmp_path / "out" / "xel.json"
    args = ["--model", str(tmp_path / "model"), "--benchmark", "lrxel"]
    args += ["--queries", f"de={queries}", "--targets", str(kb), "--output", str(output)]
    assert main(args) == 0
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["per_language"]["de"]["num_queries"] == 1
    assert results["per_language"]["de"]["mrr"] in (1.0, 0.5, 1 / 1.5)
    assert results["num_target_entities"] == 2
    assert pooled == [None] and results["pooling"] == "first"  # recorded in the report


def test_cli_malformed_query_file_exits_with_file_and_line(tmp_path, capsys):
    queries = write(tmp_path, "ja_1k_test_query.txt", "C0004057||アスピリン\nbroken line\n")
    targets = write(tmp_path, "umls.txt", UMLS_DICTIONARY)
    args = ["--model", "unused", "--benchmark", "xlbel", "--queries", f"ja={queries}"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--targets", str(targets)])
    assert exit_info.value.code == 2
    assert "ja_1k_test_query.txt:2: expected" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--queries", "ja=q.txt", "--targets", "umls.txt"],
         "--queries and --targets: only with --benchmark xlbel or lrxel (running --benchmark cldr)"),
        (["--benchmark", "xlbel", "--queries", "ja=q.txt", "--targets", "umls.txt",
          "--training_dataset", "data"],
         "--training_dataset: only with --benchmark cldr (running --benchmark xlbel)"),
        (["--benchmark", "lrxel", "--queries", "ja=q.txt", "--targets", "kb.txt",
          "--languages", "ja", "--keep_identical"],
         "--keep_identical and --languages: only with --benchmark cldr (running --benchmark lrxel)"),
    ],
)  # fmt: skip
def test_cli_refuses_an_option_of_another_benchmark(options, message, capsys):
    """XL-BEL files given without `--benchmark xlbel` are refused, not ignored for the
    CLDR queries (and the other way round), before any model is loaded."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "unused", *options])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def _dataset_with_a_long_link(tmp_path: Path) -> Path:
    """The completion tests' tiny dataset with one link too long for a run's 64-token facts
    (`en` Germany -> `de` "Deutschland " * 20)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "completion"))
    from completion_kb import dataset_rows, link_row, write_dataset

    configs = dataset_rows()
    long = {**link_row("Germany", "en", "de"), "object": "Deutschland " * 20}
    configs["links"]["train"].append(long)
    return write_dataset(tmp_path / "data", configs)


#: The run record of a release trained on de and en with links (`train.py`'s fields).
RUN = {"languages": ["de", "en"], "links": True, "variant": "all", "max_fact_length": 64}


def _release_with_run_record(tokenizer, tmp_path: Path) -> Path:
    """A release folder holding `tokenizer` and the run record `RUN`."""
    release = tmp_path / "model"
    tokenizer.save_pretrained(release)
    (release / "train_results.json").write_text(json.dumps(RUN))
    return release


def test_seen_links_are_those_the_run_trained_on(tiny_prixlm, tmp_path):
    """Every link of the dataset counted as seen, also those train.py dropped as too long
    or between languages the run did not train, or in a run without links."""
    model, tokenizer = tiny_prixlm
    dataset = _dataset_with_a_long_link(tmp_path)
    release = _release_with_run_record(tokenizer, tmp_path)
    every = xel_cldr.training_links(dataset)
    trained = xel_cldr.training_links(dataset, release)
    assert ("en", "Germany", "de", "Deutschland " * 20) in every - trained
    assert trained == every - {("en", "Germany", "de", "Deutschland " * 20)}
    (release / "train_results.json").write_text(json.dumps({**RUN, "languages": ["en"]}))
    assert xel_cldr.training_links(dataset, release) == set()
    (release / "train_results.json").write_text(json.dumps({**RUN, "links": False}))
    assert xel_cldr.training_links(dataset, release) == set()
    assert xel_cldr.training_links(dataset, tmp_path / "plain") == every  # no run record


def test_seen_links_tokenise_the_names_in_one_call_not_per_row(tiny_prixlm, tmp_path, monkeypatch):
    """`training_links` with a run record encoded each link row on its own: two tokenizer
    calls and two fact-token lookups per row (8,224 CLDR links of the demo: most of the
    time `xel --training_dataset` spent outside the model). The names are now tokenised as
    train.py does (`BatchTokenized`: no per-text call), with the same seen links."""
    import transformers

    model, tokenizer = tiny_prixlm
    dataset = _dataset_with_a_long_link(tmp_path)
    release = _release_with_run_record(tokenizer, tmp_path)
    calls = []

    class Counting:
        def __init__(self, inner):
            self._inner = inner

        def __call__(self, text, *args, **kwargs):
            calls.append(text)
            return self._inner(text, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._inner, name)

    loaded = transformers.AutoTokenizer.from_pretrained
    monkeypatch.setattr(
        transformers.AutoTokenizer,
        "from_pretrained",
        lambda *args, **kwargs: Counting(loaded(*args, **kwargs)),
    )
    every = xel_cldr.training_links(dataset)
    trained = xel_cldr.training_links(dataset, release)
    assert len(every) >= 4
    assert trained == every - {("en", "Germany", "de", "Deutschland " * 20)}
    assert calls == []  # no text called one at a time


def test_a_link_train_py_dropped_for_a_control_token_is_unseen_not_an_error(
    tiny_prixlm, tmp_path, monkeypatch
):
    """A link whose name holds a control token's text (`Deutschland [O] x`) is dropped by
    train.py (`encode_batch`); `xel --training_dataset` stopped on it with a traceback
    (`ControlTokenError`). It is now an unseen link, the others as before."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "completion"))
    from completion_kb import dataset_rows, link_row, write_dataset

    _, tokenizer = tiny_prixlm
    configs = dataset_rows()
    configs["links"]["train"].append(
        {**link_row("Germany", "en", "de"), "object": "Deutschland [O] x"}
    )
    dataset = write_dataset(tmp_path / "data", configs)
    release = _release_with_run_record(tokenizer, tmp_path)
    every = xel_cldr.training_links(dataset)
    assert xel_cldr.training_links(dataset, release) == every - {
        ("en", "Germany", "de", "Deutschland [O] x")
    }


def test_a_mirror_tuned_folder_keeps_the_links_its_source_trained_on(tiny_prixlm, tmp_path):
    """`prixlm.similarity.mirror` -> `xel --model TUNED --training_dataset D`: the tuned
    folder had no `train_results.json`, so every link of the dataset counted as seen, also
    those the source run dropped (too long, other languages): on the demo, 1,110 of 1,110
    German queries seen where the source model had 709, and the unseen metrics were gone."""
    from prixlm.similarity.mirror import mirror_tune

    model, tokenizer = tiny_prixlm
    dataset = _dataset_with_a_long_link(tmp_path)
    source = tmp_path / "model"
    model.save_pretrained(source)
    tokenizer.save_pretrained(source)
    (source / "train_results.json").write_text(json.dumps(RUN))
    words = ["Germany", "Deutschland", "France", "Frankreich", "Berlin", "Paris"]
    tuned = mirror_tune(source, tmp_path / "model-mirror", words, max_steps=1, batch_size=4)
    trained = xel_cldr.training_links(dataset, source)
    assert ("en", "Germany", "de", "Deutschland " * 20) not in trained
    assert xel_cldr.training_links(dataset, tuned) == trained
    assert len(xel_cldr.training_links(dataset)) == len(trained) + 1


def test_readers_drop_a_byte_order_mark_and_split_composite_dictionary_ids(tmp_path):
    """A BOM stayed in line 1's CUI (never matched); `C2|C3||name` was one entity "C2|C3"
    that no query's gold (split at '|') could match."""
    (tmp_path / "q.txt").write_bytes("\ufeffC0004057||aspirin\n".encode())
    assert read_xlbel_queries(tmp_path / "q.txt", "en")[0].gold == {"C0004057"}
    (tmp_path / "d.txt").write_bytes("\ufeffC0004057||aspirin\nC2|C3||asthma\n".encode())
    assert read_xlbel_dictionary(tmp_path / "d.txt") == [
        XelTarget("aspirin", "C0004057"), XelTarget("asthma", "C2"), XelTarget("asthma", "C3")
    ]  # fmt: skip
    (tmp_path / "l.txt").write_bytes(("\ufeff" + LRXEL_KB).encode())
    assert read_lrxel_kb(tmp_path / "l.txt")[0].entity == "3378263"


@pytest.mark.parametrize("retrieval", ["cosine", "csls"])
def test_unseen_metrics_are_the_unseen_queries_ranks_among_all(retrieval):
    """`seen` gives the unseen queries' metrics from the ranks of the whole run: with CSLS a
    name's hubness is averaged over every query of the language (evaluating the unseen
    queries alone averaged it over those few and ranked them otherwise: MRR .523 for .307)."""
    from prixlm.similarity.xel import xel_metrics
    from prixlm.similarity.xel_readers import XelQuery, XelTarget

    generator = torch.Generator().manual_seed(4)
    names, mentions = [f"n{i}" for i in range(12)], [f"m{i}" for i in range(10)]
    table = {text: torch.randn(8, generator=generator) for text in names + mentions}

    class Table:
        def embed(self, texts):
            return torch.stack([table[text] for text in texts])

    targets = [XelTarget(name=name, entity=f"Q{i % 8}") for i, name in enumerate(names)]
    queries = [XelQuery(mention=m, gold=frozenset({f"Q{i % 8}"}), language="de")
               for i, m in enumerate(mentions)]  # fmt: skip
    seen = [i % 2 == 0 for i in range(10)]
    result = evaluate_xel(Table(), queries, targets, retrieval=retrieval, seen=seen)
    vectors = Table().embed(mentions)
    ranks, _ = entity_ranks(vectors, Table().embed(names), [t.entity for t in targets],
                            [q.gold for q in queries], retrieval=retrieval)  # fmt: skip
    unseen = torch.tensor([not flag for flag in seen])
    assert result["unseen"]["per_language"]["de"] == xel_metrics(ranks[unseen])
    assert result["per_language"]["de"] == xel_metrics(ranks)
    alone = evaluate_xel(Table(), [q for q, s in zip(queries, seen, strict=True) if not s], targets,
                         retrieval=retrieval)["per_language"]["de"]  # fmt: skip
    if retrieval == "csls":
        assert alone["mrr"] != pytest.approx(result["unseen"]["per_language"]["de"]["mrr"])
    else:  # cosine ranks do not depend on the other queries
        assert alone == result["unseen"]["per_language"]["de"]
    assert "unseen" not in evaluate_xel(Table(), queries, targets, seen=[True] * 10)
