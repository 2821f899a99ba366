"""Knowledge probing (paper §3.5, mLAMA): the paper's single-token protocol and exact multi-token scoring.

**The paper's protocol** (`single_token`): a probe counts only when its answer is one token
of the vocabulary that the filter allows (`probing_vocab.answer_vocabulary`: no punctuation,
stop words or incomplete word pieces); the model's prediction is the allowed token with the
highest probability at the answer position; accuracy is the share of probes whose prediction
is the answer. As in LAMA, the probe's *other* true objects are filtered (never predicted):
those in the probe files and, when a file gives them, its `all_obj_labels`.

How each model is asked:

- **Prix-LM** is asked causally: the answer position is the first object position, after
  `[O]`, where the model predicts an object's first token. The paper reads both models'
  answers "at the [Mask] token"; Prix-LM produces objects after `[O]`, and asking it there
  is this project's deliberate reading of that. `query_form="template"` (default) asks with
  the natural-language template: the filled text before `[Y]` is the subject segment and the
  text after it the relation segment,
  `<s>[S] The official language of France is </s></s>[P] . </s></s>[O]`; a template with
  nothing before or after `[Y]` cannot be asked this way. `query_form="triple"` asks in the
  KB's own form, `[S] subject [P] relation` (the template's `label` if given, else the
  relation id split into words): link prediction on the probe facts, an upper bound on what
  the template form can reach.
- **A masked LM** (the plain-text baseline folder, XLM-R): the standard fill-mask route, the
  template with `[X]` filled and `[Y]` replaced by the tokenizer's mask token; the logits at
  the mask.

**The same probes for both models**: whatever the model or query form, a probe is scored
only where Prix-LM's template form can ask it (`askable`: text before and after `[Y]`); the
masked LM, which could be asked the others, is not, so the two models are compared on the
same probes. `num_unaskable` counts the probes left out (per relation and per language). Every
CLDR template (`probing_templates`) has text on both sides: none is left out there.

**Beyond the paper** (`multi_token`, Prix-LM only): every probe, whatever its answer's length,
ranks the relation's candidate answers (every object of the relation in that language's
probes) by the exact log-likelihood `log p(o | prompt)` of `prixlm.link_prediction.
candidate_scoring.score_candidates`, with the same prompt; realistic ranks, other true
objects filtered; accuracy (= hits@1) and MRR, beside what a random ranking would score
(`chance_accuracy` = mean 1/n, `chance_mrr` = mean H_n/n over the probes' n candidates): the
candidate sets are small, so chance is far from zero.

Candidate answers that tokenise alike are one answer (as in link prediction), counted
(`merged_candidates`) and warned when they merge through `<unk>`. An answer holding a
control token's text is left out (`candidates_unreadable`), and a probe with a long prompt
is ranked among the answers that fit the model's positions after it
(`probes_with_candidates_too_long`); a probe whose gold answer is left out is a miss
(`num_missing`): `prixlm.similarity.probing_multi_token`.

Per language: `accuracy` is the mean over relations (mLAMA's average), `micro_accuracy` over
probes; `average` is the mean over languages that have probes (multi-token: those the model
has a language token for; `prixlm.similarity.probing_summary`)::

    python -m prixlm.similarity.probing --model outputs/demo/run/model --probes outputs/probes \
        --languages en,de,ja --output probing.json
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, partial
from itertools import accumulate
from pathlib import Path
from typing import Any

import torch

from modeling_prixlm.decoding_steps import (
    DecodingRows,
    encode_query,
    eval_mode,
    left_pad,
    model_device,
    run_rows,
)
from prixlm.cli import command_parser, print_json, user_errors
from prixlm.data.relation_names import relation_words
from prixlm.model_loading import MODEL_CODE_HELP, load_model
from prixlm.similarity.probing_data import Probe, ProbeFormatError, ProbeSet, Template, read_mlama
from prixlm.similarity.probing_multi_token import rank_relation
from prixlm.similarity.probing_summary import average, multi_token_summary, summarise_relations
from prixlm.similarity.probing_vocab import answer_vocabulary, stop_words

QUERY_FORMS = ("template", "triple")
MODEL_KINDS = ("prixlm", "masked_lm")


def askable(template: Template, probe: Probe) -> bool:
    """Whether Prix-LM's template form can ask `probe` (text before and after `[Y]`): the
    probes every model and query form is scored on (see the module doc)."""
    return all(template.split(probe.sub_label))


def _ask(template: Template, probe: Probe, kind: str, query_form: str, mask: str | None) -> Any:
    """The Prix-LM prompt row or masked-LM text of `probe` (None: not asked)."""
    if not askable(template, probe):
        return None
    if kind == "masked_lm":
        return template.fill(probe.sub_label, mask)
    if query_form == "triple":
        relation = template.label or relation_words(template.relation)
        return {"kind": "triple", "subject": probe.sub_label, "relation": relation}
    before, after = template.split(probe.sub_label)
    return {"kind": "triple", "subject": before, "relation": after}


def answer_logits(
    model: Any, tokenizer: Any, queries: Sequence[Any], kind: str, batch_size: int = 32
) -> torch.Tensor:
    """`(len(queries), vocab)` float32 logits at the answer position.

    Prix-LM: `queries` are prompt rows; the logits after `[O]` (left-padded prompts). A
    masked LM: `queries` are texts with one mask token each; the logits at the mask.
    """
    device = model_device(model)
    out = []
    with torch.no_grad(), eval_mode(model):
        for start in range(0, len(queries), batch_size):
            batch = queries[start : start + batch_size]
            if kind == "prixlm":
                prompts = [encode_query(tokenizer, row) for row in batch]
                rows = DecodingRows(*left_pad(prompts, tokenizer.pad_token_id, device), None)
                logits, _ = run_rows(model, rows, fresh=True, use_cache=False)
            else:
                encoded = tokenizer(list(batch), padding=True, return_tensors="pt").to(device)
                is_mask = encoded["input_ids"] == tokenizer.mask_token_id
                if not bool((is_mask.sum(dim=1) == 1).all()):
                    raise ValueError("each masked-LM probe needs exactly one mask token")
                logits = model(**encoded).logits[is_mask].float()
            out.append(logits.cpu())
    return torch.cat(out)


def _filtered(probes: Sequence[Probe]) -> list[set[str]]:
    """Per probe of one relation, its other true objects (same subject, compared exactly, and
    its `known_objects`), gold excluded: the subjects' objects gathered once, not per probe."""
    objects: dict[str, set[str]] = {}
    for probe in probes:
        objects.setdefault(probe.sub_label, set()).add(probe.obj_label)
    return [(objects[p.sub_label] | p.known_objects) - {p.obj_label} for p in probes]


def _chance_mrr(ranked: Sequence[int]) -> float:
    """Mean H_n / n over the probes' candidate counts n (each H_n summed as 1/1 + ... + 1/n);
    n = 0, a probe whose gold answer is left out, adds 0."""
    harmonic = list(accumulate((1 / r for r in range(1, max(ranked) + 1)), initial=0))
    return sum(harmonic[n] / n for n in ranked if n) / len(ranked)


def _single_token_id(tokenizer: Any, text: str) -> int | None:
    """The one token `text` (composed: NFC, as in training) is, or None."""
    ids = tokenizer(unicodedata.normalize("NFC", text), add_special_tokens=False)["input_ids"]
    return ids[0] if len(ids) == 1 else None


def single_token_accuracy(
    model: Any,
    tokenizer: Any,
    probe_set: ProbeSet,
    kind: str,
    query_form: str = "template",
    stop: Iterable[str] | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """The paper's protocol on one language (see the module doc)."""
    vocab_size = model.config.get_text_config().vocab_size
    allowed = answer_vocabulary(
        tokenizer, vocab_size, stop_words(probe_set.language) if stop is None else stop
    )
    token_id = cache(partial(_single_token_id, tokenizer))  # labels recur across probes
    per_relation = {}
    for relation, probes in sorted(probe_set.probes.items()):
        template = probe_set.templates[relation]
        asked = [_ask(template, p, kind, query_form, tokenizer.mask_token) for p in probes]
        gold = [token_id(p.obj_label) for p in probes]
        allowed_gold = [g is not None and bool(allowed[g]) for g in gold]
        eligible = [i for i, ok in enumerate(allowed_gold) if ok and asked[i] is not None]
        counts = {
            "num_total": len(probes),
            "num_multi_token_or_filtered": allowed_gold.count(False),
            "num_unaskable": asked.count(None),
        }
        if not eligible:
            per_relation[relation] = {"accuracy": None, "num_probes": 0, **counts}
            continue
        logits = answer_logits(model, tokenizer, [asked[i] for i in eligible], kind, batch_size)
        logits = logits.masked_fill(~allowed[: logits.shape[1]], float("-inf"))
        filtered = _filtered(probes)
        for row, i in enumerate(eligible):
            others = [token_id(o) for o in filtered[i]]
            others = [o for o in others if o is not None and o != gold[i]]
            if others:
                logits[row, others] = float("-inf")
        predicted = logits.argmax(dim=1).tolist()
        hits = sum(predicted[row] == gold[i] for row, i in enumerate(eligible))
        per_relation[relation] = {
            "accuracy": hits / len(eligible),
            "num_probes": len(eligible),
            **counts,
        }
    return summarise_relations(per_relation)


def multi_token_accuracy(
    model: Any,
    tokenizer: Any,
    probe_set: ProbeSet,
    query_form: str = "template",
    batch_size: int = 8,
) -> dict[str, Any]:
    """Exact candidate scoring of every probe of one language (Prix-LM; see the module doc
    and `probing_multi_token`)."""
    per_relation = {}
    for relation, probes in sorted(probe_set.probes.items()):
        template = probe_set.templates[relation]
        asked = [(i, _ask(template, p, "prixlm", query_form, None)) for i, p in enumerate(probes)]
        asked = [(i, row) for i, row in asked if row is not None]
        unaskable = {"num_unaskable": len(probes) - len(asked)}
        if not asked:
            per_relation[relation] = {"accuracy": None, "mrr": None, "num_probes": 0, **unaskable}
            continue
        where = f"probing {probe_set.language} {relation}"
        figures, ranked = rank_relation(
            model, tokenizer, probes, asked, _filtered(probes), where, batch_size
        )
        chance = sum(1 / n for n in ranked if n) / len(ranked)  # a gold left out: 0
        per_relation[relation] = {
            **figures, "chance_accuracy": chance, "chance_mrr": _chance_mrr(ranked), **unaskable
        }  # fmt: skip
    return summarise_relations(per_relation)


def probe_model(
    model: Any,
    tokenizer: Any,
    probe_sets: Mapping[str, ProbeSet],
    kind: str = "prixlm",
    query_form: str = "template",
    multi_token: bool = True,
    stop: Mapping[str, Iterable[str]] | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Both protocols on loaded probe sets; see `evaluate_probing` for the result."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind={kind!r}: expected one of {MODEL_KINDS}")
    if query_form not in QUERY_FORMS:
        raise ValueError(f"query_form={query_form!r}: expected one of {QUERY_FORMS}")
    single: dict[str, Any] = {}
    for language, probe_set in sorted(probe_sets.items()):
        words = None if stop is None else stop.get(language, ())
        single[language] = single_token_accuracy(
            model, tokenizer, probe_set, kind, query_form, words, batch_size
        )
    results: dict[str, Any] = {
        "model_kind": kind,
        "query_form": query_form if kind == "prixlm" else "fill_mask",
        "single_token": {"per_language": single, "average": average(single)},
    }
    if multi_token and kind == "prixlm":
        multi = {
            language: multi_token_accuracy(model, tokenizer, probe_set, query_form)
            for language, probe_set in sorted(probe_sets.items())
        }
        results["multi_token"] = multi_token_summary(model, multi)
    return results


def evaluate_probing(
    model_dir: str | Path,
    probes_dir: str | Path,
    languages: Sequence[str] | None = None,
    query_form: str = "template",
    multi_token: bool = True,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Probe a saved model (Prix-LM or masked LM) with mLAMA-layout probes.

    Returns:
        `{"model_kind", "query_form", "single_token": {"per_language": {lang: {"accuracy",
        "micro_accuracy", "num_probes", "num_unaskable", "per_relation": {rel: {"accuracy",
        "num_probes", "num_total", "num_multi_token_or_filtered", "num_unaskable"}}}},
        "average"}, "multi_token": {"per_language": {lang: {"accuracy", "mrr",
        "chance_accuracy", "chance_mrr", "micro_accuracy", "num_probes", "num_unaskable",
        "merged_candidates", "model_language", "per_relation": {rel: {..., "num_candidates",
        "merged_candidates"}}}}, "average", "average_mrr", "average_chance", "not_averaged"}}`
        (`num_missing`, `candidates_unreadable` and `probes_with_candidates_too_long` per
        relation and language where not 0: `probing_multi_token`)
        (`multi_token` for Prix-LM only; its averages leave out the languages the model has
        no language token for, `not_averaged`: `probing_summary`). An accuracy is None where
        no probe could be asked.
    """
    model, tokenizer, kind = load_model(model_dir, "cpu")
    probe_sets = read_mlama(probes_dir, languages)
    results = probe_model(
        model, tokenizer, probe_sets, kind, query_form, multi_token, batch_size=batch_size
    )
    return {"model": str(model_dir), "probes": str(probes_dir), **results}


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("prixlm.similarity.probing", __doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", required=True, help=f"a Prix-LM or masked-LM model folder; {MODEL_CODE_HELP}"
    )
    parser.add_argument("--probes", required=True, help="an mLAMA-layout probes folder")
    parser.add_argument("--languages", help="comma-separated (default: every language folder)")
    parser.add_argument(
        "--query_form",
        choices=QUERY_FORMS,
        default="template",
        help="Prix-LM: ask with the natural-language template, or as the triple "
        "[S] subject [P] relation",
    )
    parser.add_argument("--no_multi_token", action="store_true", help="skip exact scoring")
    parser.add_argument("--batch_size", type=int, default=32, help="probes per forward")
    parser.add_argument("--output", help="write the results as JSON here (atomically)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from prixlm.outputs.atomic import check_output_file

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch_size {args.batch_size}: at least 1")
    languages = args.languages.split(",") if args.languages else None
    with user_errors(ProbeFormatError):  # before the model loads: one line naming file:line
        if args.output:  # not over what it reads, nor a folder there
            inputs = (("--model", args.model), ("--probes", args.probes))
            check_output_file(args.output, "--output", inputs)
        read_mlama(args.probes, languages)
    with user_errors():
        results = evaluate_probing(
            args.model,
            args.probes,
            languages,
            query_form=args.query_form,
            multi_token=not args.no_multi_token,
            batch_size=args.batch_size,
        )
        print_json(results, args.output)
    return 0


__all__ = [
    "MODEL_KINDS",
    "QUERY_FORMS",
    "answer_logits",
    "askable",
    "evaluate_probing",
    "multi_token_accuracy",
    "probe_model",
    "relation_words",
    "single_token_accuracy",
]

if __name__ == "__main__":
    sys.exit(main())
