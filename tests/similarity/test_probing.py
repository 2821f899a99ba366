"""Knowledge probing: mLAMA reader, answer vocabulary, the paper's protocol on stub models
whose logits we set, exact multi-token scoring, the CLDR probe export round trip, the CLI."""

from __future__ import annotations

import json
import unicodedata
from types import SimpleNamespace

import pytest
import torch
from transformers import XLMRobertaTokenizer

from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.similarity import probing_export
from prixlm.similarity.probing import (
    evaluate_probing,
    main,
    multi_token_accuracy,
    probe_model,
    relation_words,
)
from prixlm.similarity.probing_data import (
    Probe,
    ProbeFormatError,
    ProbeSet,
    Template,
    read_mlama,
)
from prixlm.similarity.probing_templates import RELATIONS, TEMPLATES
from prixlm.similarity.probing_vocab import answer_vocabulary

# mLAMA's layout (norakassner/mlama, mlama1.1/<lang>/): templates.jsonl and P*.jsonl lines.
TEMPLATES_JSONL = (
    '{"relation": "P36", "template": "The capital of [X] is [Y] .", "label": "capital", '
    '"description": "..."}\n'
    '{"relation": "P19", "template": "[X] was born in [Y] .", "label": "place of birth"}\n'
)
P36_JSONL = (
    '{"uuid": "a1", "lineid": 0, "sub_uri": "Q142", "sub_label": "France", '
    '"obj_uri": "Q90", "obj_label": "Paris"}\n'
    '{"uuid": "a2", "lineid": 1, "sub_uri": "Q183", "sub_label": "Germany", '
    '"obj_uri": "Q64", "obj_label": "Berlin"}\n'
)


def write_mlama(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_read_mlama_real_layout(tmp_path):
    root = write_mlama(
        tmp_path / "mlama1.1",
        {
            "en/templates.jsonl": TEMPLATES_JSONL,
            "en/P36.jsonl": P36_JSONL,
            "en/P1001.jsonl": P36_JSONL,  # no template in en: listed, not read
        },
    )
    sets = read_mlama(root)
    assert list(sets) == ["en"]
    en = sets["en"]
    assert en.templates["P36"] == Template("P36", "The capital of [X] is [Y] .", "capital")
    assert en.probes["P36"][1] == Probe("Germany", "Berlin", "P36", "en", "a2")
    assert en.untemplated == ["P1001"]
    assert "P19" not in en.probes  # a template without a probe file
    assert en.templates["P36"].split("France") == ("The capital of France is", ".")


def test_read_mlama_composes_names_and_drops_a_byte_order_mark(tmp_path):
    """Decomposed (NFD) labels tokenised as other pieces than the model was trained on (a
    single-token gold counted as multi-token); a BOM made line 1 'not JSON'; a padded known
    object stayed a candidate beside its stripped self."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Zürich")
    record = {"uuid": "z", "sub_label": "Schweiz", "obj_label": decomposed,
              "all_obj_labels": [f" {decomposed} ", "Genf "]}  # fmt: skip
    root = write_mlama(
        tmp_path / "mlama1.1",
        {"de/templates.jsonl": "\ufeff" + TEMPLATES_JSONL, "de/P36.jsonl": json.dumps(record)},
    )
    probe = read_mlama(root)["de"].probes["P36"][0]
    assert probe.obj_label == "Zürich" and len(probe.obj_label) == 6
    assert probe.known_objects == {"Zürich", "Genf"}


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("P36.jsonl", P36_JSONL + "{not json\n", 3, "not JSON"),
        ("P36.jsonl", '{"sub_label": "France"}\n', 1, "'obj_label'"),
        ("templates.jsonl", '{"relation": "P36", "template": "[X] is here ."}\n', 1, r"\[Y\]"),
        ("templates.jsonl", "\n[1, 2]\n", 2, "JSON object"),
    ],
)
def test_read_mlama_malformed_line_names_file_and_line(tmp_path, name, text, line, message):
    files = {"en/templates.jsonl": TEMPLATES_JSONL, "en/P36.jsonl": P36_JSONL}
    files[f"en/{name}"] = text
    root = write_mlama(tmp_path, files)
    with pytest.raises(ProbeFormatError, match=rf"{name}:{line}: .*{message}"):
        read_mlama(root, ["en"])


PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁Paris", "▁Berlin", "▁Lyon", "▁the", "ris", "▁.",
          "▁", "▁France", "▁Germany", "▁capital", "▁of", "▁is", "▁The", "▁Frankfurt", "▁am",
          "▁Main", "<mask>"]  # fmt: skip


@pytest.fixture(scope="module")
def word_tokenizer():
    """An XLM-R-layout tokenizer whose pieces we know, with the Prix-LM tokens added."""
    tokenizer = XLMRobertaTokenizer(vocab=[(p, -float(i)) for i, p in enumerate(PIECES)])
    add_prixlm_tokens(tokenizer, ["en"])
    return tokenizer


def test_answer_vocabulary_keeps_whole_words_only(word_tokenizer):
    allowed = answer_vocabulary(word_tokenizer, len(word_tokenizer) + 3, stop={"the", "of", "is"})
    kept = set(word_tokenizer.convert_ids_to_tokens(torch.nonzero(allowed)[:, 0].tolist()))
    # Gone: special and added tokens, the piece "ris", "▁." and "▁", stop words ("▁The" too:
    # case-folded), ids past the
    # tokenizer (a padded model vocabulary).
    assert kept == {"▁Paris", "▁Berlin", "▁Lyon", "▁France", "▁Germany", "▁capital",
                    "▁Frankfurt", "▁am", "▁Main"}  # fmt: skip


class StubLM(torch.nn.Module):
    """Every answer position gets the same logits: `order` best first (Prix-LM or masked LM)."""

    def __init__(self, tokenizer, order: list[str], masked: bool):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        vocab = len(tokenizer)
        self.config = SimpleNamespace(
            get_text_config=lambda: SimpleNamespace(vocab_size=vocab),
            object_attention="prefix_bidirectional",
        )
        self.row = torch.full((vocab,), -10.0)
        for rank, token in enumerate(order):
            self.row[tokenizer.convert_tokens_to_ids(token)] = 10.0 - rank
        self.masked, self.mask_id = masked, tokenizer.mask_token_id
        self.calls: list[torch.Tensor] = []

    def forward(self, input_ids, attention_mask=None, logits_to_keep=0, **kwargs):
        self.calls.append(input_ids)
        if self.masked:
            logits = torch.zeros(*input_ids.shape, self.row.numel())
            logits[input_ids == self.mask_id] = self.row
            return SimpleNamespace(logits=logits)
        return SimpleNamespace(logits=self.row.expand(input_ids.shape[0], 1, -1))


def capital_probes() -> ProbeSet:
    template = Template("P36", "The capital of [X] is [Y] .")
    probes = [
        Probe("France", "Paris", "P36", "en", known_objects=frozenset({"Paris", "Lyon"})),
        Probe("Germany", "Berlin", "P36", "en"),
        Probe("Hesse", "Frankfurt am Main", "P36", "en"),  # three tokens: not in the protocol
        Probe("Nowhere", "the", "P36", "en"),  # a stop word: not a possible answer
    ]
    return ProbeSet("en", {"P36": template}, {"P36": probes})


@pytest.mark.parametrize("kind", ["prixlm", "masked_lm"])
def test_single_token_protocol_filters_punctuation_stop_words_pieces_and_other_answers(
    word_tokenizer, kind
):
    # Best first: punctuation, a stop word, a word piece, special tokens, France's other true
    # object (Lyon), then Paris, then Berlin.
    order = ["▁.", "▁the", "ris", "[EOS]", "</s>", "▁Lyon", "▁Paris", "▁Berlin"]
    model = StubLM(word_tokenizer, order, masked=kind == "masked_lm")
    results = probe_model(model, word_tokenizer, {"en": capital_probes()}, kind, multi_token=False)
    relation = results["single_token"]["per_language"]["en"]["per_relation"]["P36"]
    # France -> Paris (Lyon filtered): right; Germany -> Paris: wrong.
    assert relation["accuracy"] == 0.5
    assert relation["num_probes"] == 2
    assert relation["num_multi_token_or_filtered"] == 2
    assert results["single_token"]["average"] == 0.5
    asked = word_tokenizer.convert_ids_to_tokens(model.calls[0][0].tolist())
    if kind == "prixlm":  # the template split at [Y]: subject and relation segments, then [O]
        assert asked[-1] == "[O]" and "▁capital" in asked and "[P]" in asked
    else:
        assert "<mask>" in asked and "[O]" not in asked


def test_both_models_are_scored_on_the_probes_prix_lm_can_be_asked(word_tokenizer):
    """A template with nothing before `[Y]` cannot be asked of Prix-LM (no subject segment);
    the masked LM could be asked it, but counting it there compared the two models on
    different probes."""
    probe_set = capital_probes()
    probe_set.templates["P1376"] = Template("P1376", "[Y] is the capital of [X] .")
    probe_set.probes["P1376"] = [Probe("France", "Paris", "P1376", "en"),
                                 Probe("Germany", "Berlin", "P1376", "en")]  # fmt: skip
    order = ["▁Paris", "▁Berlin"]
    runs = {
        (kind, form): probe_model(
            StubLM(word_tokenizer, order, masked=kind == "masked_lm"),
            word_tokenizer,
            {"en": probe_set},
            kind,
            form,
            multi_token=False,
        )["single_token"]["per_language"]["en"]
        for kind, form in [("prixlm", "template"), ("prixlm", "triple"), ("masked_lm", "template")]
    }
    # the same denominators: the left-out relation's probes count for no model
    probes = {run: (en["num_probes"], en["per_relation"]["P1376"]["num_probes"])
              for run, en in runs.items()}  # fmt: skip
    assert set(probes.values()) == {(2, 0)}, probes
    for en in runs.values():  # and how many were left out is recorded
        assert en["per_relation"]["P1376"]["num_unaskable"] == en["num_unaskable"] == 2
        assert en["per_relation"]["P1376"]["accuracy"] is None


def test_multi_token_scoring_matches_score_candidates(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    template = Template("currency", "The currency of [X] is [Y] .")
    probes = [
        Probe("Germany", "euro", "currency", "en"),
        Probe("Japan", "Japanese yen", "currency", "en"),
        Probe("Switzerland", "Swiss franc", "currency", "en", known_objects=frozenset({"euro"})),
    ]
    probe_set = ProbeSet("en", {"currency": template}, {"currency": probes})
    result = multi_token_accuracy(model, tokenizer, probe_set)["per_relation"]["currency"]
    candidates = ["Japanese yen", "Swiss franc", "euro"]  # sorted: the relation's objects
    rows = [
        {"kind": "triple", "subject": f"The currency of {p.sub_label} is", "relation": "."}
        for p in probes
    ]
    scores = score_candidates(model, tokenizer, rows, candidates)
    scores[2, 2] = float("-inf")  # Switzerland's other true object is filtered
    gold = [2, 0, 1]
    ranks = [1 + float((scores[i] > scores[i, g]).sum()) for i, g in enumerate(gold)]
    assert result["num_probes"] == 3 and result["num_candidates"] == 3
    assert result["accuracy"] == pytest.approx(sum(r == 1 for r in ranks) / 3)
    assert result["mrr"] == pytest.approx(sum(1 / r for r in ranks) / 3)
    # Random ranking: 3, 3 and 2 candidates (Switzerland's "euro" filtered).
    assert result["chance_accuracy"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 2) / 3)
    assert result["chance_mrr"] == pytest.approx((11 / 18 + 11 / 18 + 3 / 4) / 3)


def test_multi_token_counts_the_probes_prix_lm_cannot_be_asked(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    template = Template("currency", "[Y] is the currency of [X] .")
    probes = [Probe("Germany", "euro", "currency", "en"), Probe("Japan", "yen", "currency", "en")]
    probe_set = ProbeSet("en", {"currency": template}, {"currency": probes})
    for form in ("template", "triple"):
        result = multi_token_accuracy(model, tokenizer, probe_set, form)
        assert (result["num_probes"], result["num_unaskable"], result["accuracy"]) == (0, 2, None)


def test_multi_token_labels_that_tokenise_alike_are_one_answer(tiny_prixlm):
    """A decomposed (NFD) spelling of a candidate encodes like it: one answer, as in link
    prediction (it was a second candidate tying with the first)."""
    model, tokenizer = tiny_prixlm
    template = Template("currency", "The currency of [X] is [Y] .")

    def probe_set(form: str) -> ProbeSet:
        other = {unicodedata.normalize(form, "Fränkli")}  # Japan's other true object
        probes = [
            Probe("Germany", "euro", "currency", "en"),
            Probe("Japan", "Japanese yen", "currency", "en", known_objects=frozenset(other)),
            Probe("Liechtenstein", "Fränkli", "currency", "en", known_objects=frozenset(other)),
        ]
        return ProbeSet("en", {"currency": template}, {"currency": probes})

    composed = multi_token_accuracy(model, tokenizer, probe_set("NFC"))["per_relation"]
    with_twin = multi_token_accuracy(model, tokenizer, probe_set("NFD"))["per_relation"]
    assert with_twin["currency"]["num_candidates"] == 3
    assert (with_twin["currency"]["merged_candidates"], composed["currency"]["merged_candidates"]) == (1, 0)  # fmt: skip
    with_twin["currency"]["merged_candidates"] = 0
    assert with_twin == composed


def test_relation_words():
    assert relation_words("officialLanguage") == "official language"
    assert relation_words("P19") == "P19"


def cldr_rows(language: str):
    """Test rows of a CLDR build (dataset schema)."""
    base = (
        "http://dbpedia.org/resource/"
        if language == "en"
        else f"http://{language}.dbpedia.org/resource/"
    )
    facts = [("Germany", "currency", "Euro", ["Euro"]),
             ("France", "officialLanguage", "French", ["French"]),
             ("Switzerland", "officialLanguage", "German", ["French", "German", "Italian"]),
             ("Nowhere", "unknownRelation", "Nothing", ["Nothing"])]  # fmt: skip
    return [
        {
            "kind": "triple",
            "subject": s,
            "relation": relation_words(r),
            "object": o,
            "subject_language": language,
            "object_language": language,
            "subject_id": base + s,
            "relation_id": "http://dbpedia.org/ontology/" + r,
            "object_id": base + o,
            "all_objects": every,
        }  # fmt: skip
        for s, r, o, every in facts
    ]


def test_cldr_probe_export_round_trips_through_the_reader(tmp_path, monkeypatch):
    import prixlm.data.loading

    requested = []

    def fake_load_kb(dataset, config, split=None):
        requested.append((dataset, config, split))
        return cldr_rows(config)

    monkeypatch.setattr(prixlm.data.loading, "load_kb", fake_load_kb)
    output = tmp_path / "probes"
    stats = probing_export.export_probes("data/", output, ["en", "de"])
    assert requested == [("data/", "en", "test"), ("data/", "de", "test")]
    assert stats["en"] == {"currency": 1, "officialLanguage": 2, "untemplated": 1}
    sets = read_mlama(output)
    assert sorted(sets) == ["de", "en"]
    switzerland = sets["en"].probes["officialLanguage"][1]
    assert (switzerland.sub_label, switzerland.obj_label) == ("Switzerland", "German")
    assert switzerland.known_objects == {"French", "German", "Italian"}
    assert sets["de"].templates["currency"].template == TEMPLATES["de"]["currency"]
    assert json.loads((output / "probes_info.json").read_text())["split"] == "test"
    assert not list(tmp_path.glob(".*partial"))
    with pytest.raises(ValueError, match="no probing templates for \\['xx'\\]"):
        probing_export.export_probes("data/", tmp_path / "other", ["xx"])


def test_templates_cover_every_relation_with_text_around_the_answer():
    for language, templates in TEMPLATES.items():
        assert set(templates) == set(RELATIONS), language
        for template in templates.values():
            before, after = Template("r", template).split("S")
            assert before and after, (language, template)


def test_cli_on_a_saved_tiny_model(tmp_path, tiny_prixlm):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    probes = write_mlama(
        tmp_path / "probes",
        {
            "en/templates.jsonl": '{"relation": "currency", "template": "[X] pays in [Y] ."}\n',
            "en/currency.jsonl": '{"sub_label": "Germany", "obj_label": "euro"}\n'
            '{"sub_label": "Japan", "obj_label": "Japanese yen"}\n',
        },
    )
    output = tmp_path / "probing.json"
    assert main(["--model", str(tmp_path / "model"), "--probes", str(probes),
                 "--output", str(output)]) == 0  # fmt: skip
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["model_kind"] == "prixlm"
    assert results["multi_token"]["per_language"]["en"]["num_probes"] == 2
    single = results["single_token"]["per_language"]["en"]["per_relation"]["currency"]
    assert single["num_total"] == 2
    direct = evaluate_probing(tmp_path / "model", probes, ["en"], multi_token=False)
    assert direct["single_token"] == results["single_token"]


def test_masked_lm_folder_is_probed_by_fill_mask(tmp_path, tiny_tokenizer):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    config = XLMRobertaConfig(
        vocab_size=len(tiny_tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=tiny_tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    XLMRobertaForMaskedLM(config).save_pretrained(tmp_path / "mlm")
    tiny_tokenizer.save_pretrained(tmp_path / "mlm")
    probes = write_mlama(
        tmp_path / "probes",
        {
            "en/templates.jsonl": '{"relation": "language", "template": "[X] speaks [Y] ."}\n',
            "en/language.jsonl": '{"sub_label": "Germany", "obj_label": "German"}\n'
            '{"sub_label": "Japan", "obj_label": "Japanese yen"}\n',
        },
    )
    results = evaluate_probing(tmp_path / "mlm", probes)
    assert results["model_kind"] == "masked_lm" and results["query_form"] == "fill_mask"
    assert "multi_token" not in results  # exact scoring needs Prix-LM's causal object
    single = results["single_token"]["per_language"]["en"]["per_relation"]["language"]
    # "German" is one whole-word token of the tiny vocabulary, "Japanese yen" is not.
    assert (single["num_total"], single["num_probes"]) == (2, 1)
    assert single["accuracy"] in (0.0, 1.0)


@pytest.fixture(scope="module")
def cldr_dataset(tmp_path_factory):
    """The real CLDR KB (en, de) exported and built (~5 s)."""
    from prixlm.data.cldr.export import export_cldr_kb
    from prixlm.data.dbpedia.build import build_dataset

    root = tmp_path_factory.mktemp("cldr")
    export_cldr_kb(["en", "de"], root / "dumps")
    build_dataset(root / "dumps", root / "dataset", ["en", "de"], progress=False)
    return root / "dataset"


def test_real_cldr_build_round_trips_through_probes_and_xel_links(cldr_dataset, tmp_path):
    from prixlm.data.loading import load_kb
    from prixlm.similarity.xel_cldr import cldr_xel_queries

    stats = probing_export.export_probes(cldr_dataset, tmp_path / "probes", ["en", "de"])
    sets = read_mlama(tmp_path / "probes")
    test_rows = load_kb(cldr_dataset, "de", split="test")
    assert sum(len(p) for p in sets["de"].probes.values()) == test_rows.num_rows
    assert stats["de"]["untemplated"] == 0 and set(sets["de"].probes) <= set(RELATIONS)
    row = test_rows[0]
    relation = probing_export.relation_name(row["relation_id"])
    probe = next(p for p in sets["de"].probes[relation] if p.sub_label == row["subject"])
    assert probe.known_objects >= {row["object"]}
    # XEL on the same build: every de -> en link is in its training links, ja is unseen.
    xel = cldr_xel_queries(["de", "ja"], training_dataset=cldr_dataset)
    assert xel.info["de"]["seen"] == xel.info["de"]["queries"] > 1000
    assert xel.info["ja"]["seen"] == 0


def test_cli_malformed_probes_exit_before_loading_the_model(tmp_path, capsys):
    probes = write_mlama(tmp_path, {"en/templates.jsonl": TEMPLATES_JSONL, "en/P36.jsonl": "{\n"})
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(tmp_path / "no_model"), "--probes", str(probes)])
    assert exit_info.value.code == 2
    assert "P36.jsonl:1: not JSON" in capsys.readouterr().err


def test_cli_missing_model_folder_exits_naming_it(tmp_path, capsys):
    probes = write_mlama(
        tmp_path, {"en/templates.jsonl": TEMPLATES_JSONL, "en/P36.jsonl": P36_JSONL}
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(tmp_path / "runs" / "model"), "--probes", str(probes)])
    assert exit_info.value.code == 2
    assert "--model" in capsys.readouterr().err
