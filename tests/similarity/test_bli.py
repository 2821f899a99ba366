"""prixlm.similarity.bli and bli_cldr: Procrustes, the dictionary reader, BLI metrics."""

from __future__ import annotations

import pytest
import torch

from prixlm.similarity.bli import (
    bli_ranks,
    evaluate_bli,
    procrustes,
    read_dictionary,
    vecmap_normalize,
    write_dictionary,
)
from prixlm.similarity.bli_cldr import dictionary_pairs, link_overlap, split_pairs


def _rotation(dim: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=torch.Generator().manual_seed(seed)))
    return q


def test_procrustes_recovers_a_known_rotation_exactly():
    source = torch.randn(50, 12, generator=torch.Generator().manual_seed(0))
    rotation = _rotation(12, 1)
    mapping = procrustes(source, source @ rotation)
    torch.testing.assert_close(mapping, rotation, rtol=0, atol=1e-5)
    torch.testing.assert_close(mapping @ mapping.T, torch.eye(12), rtol=0, atol=1e-5)


def test_vecmap_normalize_is_unit_centred_unit():
    vectors = torch.randn(30, 6, generator=torch.Generator().manual_seed(2)) + 5.0
    normalized = vecmap_normalize(vectors)
    torch.testing.assert_close(normalized.norm(dim=1), torch.ones(30))
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    centred = unit - unit.mean(dim=0)
    torch.testing.assert_close(normalized, centred / centred.norm(dim=1, keepdim=True))


class _TableEmbedder:
    """Embeds by lookup: `table[text]`."""

    def __init__(self, table: dict[str, torch.Tensor]):
        self.table = table

    def embed(self, texts):
        return torch.stack([self.table[t] for t in texts])


def test_bli_on_a_rotated_space_is_perfect_and_on_a_shuffled_one_is_not():
    generator = torch.Generator().manual_seed(3)
    words = [f"w{i}" for i in range(60)]
    vectors = torch.randn(60, 16, generator=generator)
    rotation = _rotation(16, 4)
    table = {w: vectors[i] for i, w in enumerate(words)}
    table |= {f"t{i}": vectors[i] @ rotation for i in range(60)}
    pairs = [(f"w{i}", f"t{i}") for i in range(60)]
    metrics = evaluate_bli(_TableEmbedder(table), pairs[:40], pairs[40:])
    assert metrics["accuracy"] == metrics["hits_at_1"] == 1.0 and metrics["mrr"] == 1.0
    assert (metrics["num_train_pairs"], metrics["num_test_pairs"], metrics["num_candidates"]) == (
        40,
        20,
        20,
    )
    # a source word with two gold targets: its rank is that of the better one
    two_golds = evaluate_bli(_TableEmbedder(table), pairs[:40], pairs[40:] + [("w40", "t41")])
    assert two_golds["num_queries"] == 20 and two_golds["accuracy"] == 1.0
    shuffled = {f"t{i}": vectors[(i * 7 + 3) % 60] for i in range(60)}
    broken = evaluate_bli(_TableEmbedder(table | shuffled), pairs[:40], pairs[40:])
    assert broken["accuracy"] < 0.3


def test_dictionary_reader_round_trip_and_file_line_errors(tmp_path):
    path = tmp_path / "en-fi.txt"
    write_dictionary([("January", "tammikuu"), ("seconds", "sekunnit")], path)
    assert path.read_text(encoding="utf-8") == "January\ttammikuu\nseconds\tsekunnit\n"
    path.write_text("January\ttammikuu\n\nlight year\tvalovuosi\r\n", encoding="utf-8")
    assert read_dictionary(path) == [("January", "tammikuu"), ("light year", "valovuosi")]
    bad = tmp_path / "bad.txt"
    bad.write_text("January\ttammikuu\nFebruary helmikuu\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt:2: expected 'source<TAB>target'"):
        read_dictionary(bad)
    bad.write_text("a\tb\n\t\tc\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt:2:"):
        read_dictionary(bad)
    with pytest.raises(ValueError, match="contains a tab"):
        write_dictionary([("a\tb", "c")], tmp_path / "x.txt")


def test_cldr_dictionary_is_held_out_of_the_kb_and_split_without_overlap():
    from prixlm.data.cldr.export import build_locale_kb

    pairs = dictionary_pairs("en", "fi")
    assert ("January", "tammikuu") in pairs and len(pairs) > 300
    english, finnish = build_locale_kb("en"), build_locale_kb("fi")
    kb_labels = {label.casefold() for label in english.labels.values()}
    assert not any(source.casefold() in kb_labels for source, _ in pairs)
    links = [(english.labels[e], finnish.labels[e]) for e in english.labels if e in finnish.labels]
    assert link_overlap(pairs, links) == 0.0
    assert link_overlap([links[0], ("January", "tammikuu")], links) == 0.5
    train, test = split_pairs(pairs, seed=0)
    assert len(train) + len(test) == len(pairs) and len(test) >= 0.25 * len(pairs)
    for side in (0, 1):  # no word on both sides, case-folded (targets leaked before)
        assert not {p[side].casefold() for p in train} & {p[side].casefold() for p in test}
    assert split_pairs(pairs, seed=0) == (train, test)


def test_pairs_sharing_a_word_stay_on_one_side():
    """`elokuu`/`elokuuta` -> `Ağustos` split apart gave the test answer away in train."""
    pairs = [("elokuu", "Ağustos"), ("elokuuta", "Ağustos"), ("calories", "calorie"),
             ("Calories", "Calorie"), *[(f"w{i}", f"v{i}") for i in range(20)]]  # fmt: skip
    for seed in range(20):
        train, test = split_pairs(pairs, seed=seed)
        assert sorted(train + test) == sorted(pairs)
        for group in ({"elokuu", "elokuuta"}, {"calories", "Calories"}):
            sides = {s in group for s, _ in train}, {s in group for s, _ in test}
            assert not (True in sides[0] and True in sides[1]), (seed, train, test)


def test_large_dictionaries_split_5k_2k_by_source_word():
    pairs = [(f"s{i // 2}", f"t{i}") for i in range(9000)]  # two translations per source
    train, test = split_pairs(pairs, seed=1)
    assert (len(train), len(test)) == (5000, 2000)
    assert not {s for s, _ in train} & {s for s, _ in test}


def test_bli_ranks_count_a_word_with_several_translations_once_in_the_hubness():
    """CSLS's `r_S(y)` (mean cosine of target y to its k nearest source words) takes each
    source word once, however many gold translations it has: checked against the formula
    written out, on random spaces where word 0 has three translations."""
    generator = torch.Generator().manual_seed(0)
    gold = [[0, 1, 2], [3], [4], [0]]
    for _ in range(200):
        sources, targets = (
            torch.randn(4, 3, generator=generator),
            torch.randn(5, 3, generator=generator),
        )
        cosine = (
            torch.nn.functional.normalize(sources, dim=1)
            @ torch.nn.functional.normalize(targets, dim=1).T
        )
        r_s = cosine.topk(2, dim=0).values.mean(dim=0)  # (5,) over the 4 distinct words
        csls = 2 * cosine - r_s[None, :]  # r_T(x) is a constant per source: left out
        expected = [
            min(1 + int((csls[row] > csls[row, column]).sum()) for column in columns)
            for row, columns in enumerate(gold)
        ]
        assert bli_ranks(sources, targets, gold, k=2).tolist() == expected


def test_two_gold_translations_tied_at_the_top_are_a_hit():
    """Each gold's rank counted the source's other golds as competitors: two tied at the
    top gave rank 1.5 (no hit), where XEL, which filters them, gives 1."""
    torch.manual_seed(0)
    targets = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    targets[1] = targets[0]  # two translations with the same vector
    sources = targets[[0, 2, 3]].clone()
    tied = bli_ranks(sources, targets, [[0, 1], [2], [3]], k=2)
    alone = bli_ranks(sources, targets, [[0], [2], [3]], k=2)  # one gold: nothing filtered
    assert tied[0] == 1.0 and alone[0] == 1.5  # the other gold competes only when not gold
    assert tied[1:].tolist() == alone[1:].tolist()


class _Lookup:
    """An embedder whose vector of `a7` is the one of `b7` (every gold ranks first)."""

    def __init__(self, vectors: dict[str, torch.Tensor]) -> None:
        self.vectors = vectors

    def embed(self, texts):
        return torch.stack([self.vectors[text[1:]] for text in texts])


def test_a_test_pair_listed_twice_is_one_gold():
    """A repeated pair tied its gold with itself: half a place off, or 'rank below 1'."""
    generator = torch.Generator().manual_seed(0)
    embedder = _Lookup({str(i): torch.randn(8, generator=generator) for i in range(40)})
    train = [(f"a{i}", f"b{i}") for i in range(20)]
    test = [(f"a{i}", f"b{i}") for i in range(20, 40)]
    once = evaluate_bli(embedder, train, test)
    twice = evaluate_bli(embedder, train, test + test[:3])
    assert twice["mrr"] == once["mrr"] == 1.0 and twice["num_test_pairs"] == 20
    assert once["mapping_rank"] == 8
    with pytest.warns(UserWarning, match="3 train pairs fix the mapping in 3 of 8 directions"):
        assert evaluate_bli(embedder, train[:3], test)["mapping_rank"] == 3
    sources = torch.tensor([[1.0, 0.0]])
    targets = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.8, 0.2]])
    assert bli_ranks(sources, targets, [[3, 3]]).tolist() == [3.0]  # was 2.5


def test_dictionary_reader_drops_a_byte_order_mark(tmp_path):
    (tmp_path / "d.txt").write_bytes("\ufeffhouse\tHaus\n".encode())
    assert read_dictionary(tmp_path / "d.txt") == [("house", "Haus")]


def test_a_pair_without_train_and_test_words_is_refused_before_writing(tmp_path, capsys):
    """`pt_BR-pt`: CLDR names every word alike in both, so no word pair is left; the export
    wrote empty dictionaries and the evaluation stopped only after the model was trained."""
    from prixlm.similarity.bli_cldr import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--pairs", "en-it,pt_BR-pt", "--output_dir", str(tmp_path / "bli")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(
        "error: --pairs en-it,pt_BR-pt: language pair 'pt_BR-pt': 0 word pairs outside the KB's "
        "labels, too few for a train and a test dictionary"
    )
    assert not (tmp_path / "bli").exists()  # en-it is not written either


def test_writing_dictionaries_loads_no_model_code():
    """`python -m prixlm.similarity.bli_cldr` writes text files from CLDR, but imported torch
    and transformers through `prixlm.similarity.bli` (5.4 of its 6.3 s on the demo's
    en-de,en-ja): its dictionary helpers are now in the torch-free `bli_dictionary`."""
    import subprocess
    import sys

    code = (
        "import sys, prixlm.similarity.bli_cldr; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
