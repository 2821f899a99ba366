"""The release folder's pipeline: complete a fact or a cross-lingual link (Algorithm 1).

    from transformers import pipeline
    complete = pipeline(model="path/or/org-name", trust_remote_code=True)  # no task name needed
    complete("Germany | currency")                  # [{"object": "euro", "score": -0.3}, ...]
    complete("Deutschland | currency | de")         # the candidates of another language
    complete({"subject": "Germany", "relation": "currency", "language": "en"})
    complete({"subject": "Germany", "language": "en", "target_language": "de"})  # a link
    complete(["Germany | currency", "Japan | currency"], top_k=3, num_beams=10)  # one batch

Inputs (one, or a list decoded together):

- `"subject | relation"` or `"subject | relation | language"` (a triple query);
- `{"subject", "relation"[, "language"]}` (a triple query);
- `{"subject", "language", "target_language"}` (a link query: the subject's name in
  `target_language`, prompt `[S] subject [P] [language] [target_language] [O]`).

Relation names are those of the training data, in English in every language (`currency`,
not `Währung`); `complete.relations` lists them per language (the folder's `relations.json`,
`{"en": ["capital", "currency", ...], ...}`) and `complete.languages` the candidate
languages. A query with a relation the folder does not list still gets answers (the model's
guess for an unseen relation), with a `UserWarning` that lists the known relations (at the
caller's line; the pipeline keeps a bounded record of those shown).

A query without a language uses the `language` parameter, else the folder's only language,
else `en` if the folder has it. Output per query: the `top_k` best objects, each
`{"object": label, "score": log-likelihood}` (summed `log p` of the object's tokens and
`[EOS]` over the full vocabulary; higher is better), best first: exactly what the package's
`prixlm.predict_objects` returns (`beam_search.predict_objects`,
Algorithm 1 with `num_beams` = K), labels as stored, no special tokens.

Candidates: the entity labels per language in the folder's `candidates.json`
(`{"en": ["Germany", "euro", ...], ...}`, written by the package's
`prixlm.release.folder.complete_release_folder`), or `candidates=` when the pipeline is
built (it replaces the stored languages it names, in any spelling: `EN` replaces `en`). A
language's trie is built once, at its first query in any spelling; then a `UserWarning` (at
the caller's line) counts its labels left out as unreadable (they hold a control token's text,
`[O]`, `</s>`) and those answered as another label (they tokenise alike:
`candidate_checks`). A language the model has no token for (`config.language_token_ids`)
has no candidates: `candidates=` in it is a `ValueError`, and the folder's `candidates.json`
listing it (another build's file) has it left out with a `UserWarning`. A tokenizer that is
not the one the model was trained with (another build's: `tokenizer_checks`) is a
`ValueError` when the pipeline is built; half-precision weights (`dtype=torch.bfloat16`)
a `UserWarning`: they rank otherwise than the float32 weights. A folder's files are read
by the absolute path it had when the pipeline was built (a later change of directory does not
matter); a Hub repo's file that can be neither fetched nor found in the Hub cache is an
`OSError` that says so, not an empty list (`stored_files`).

Limits (a public endpoint's memory stays bounded): those of `pipeline_queries`, each breach a
`ValueError` naming the limit, raised before any decoding.

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

import itertools
import sys
import types
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from torch.utils.data import Dataset
from transformers import Pipeline

from .beam_search import RankedObjects, default_max_rows, predict_objects
from .candidate_checks import (
    candidates_advice,
    check_model_language,
    model_language_problem,
    readable_trie,
    twins_message,
    unreadable_message,
    untrained_languages,
)
from .candidate_checks import for_language as _for_language  # the Space looks it up here
from .candidate_checks import given_candidates as _given_candidates
from .candidate_checks import stored_code as _stored_code
from .constrained_decoding import EntityTrie
from .decoding_steps import encode_query, half_precision_message
from .formatting import language_key
from .pipeline_queries import (
    MAX_NUM_BEAMS,
    MAX_QUERIES,
    MAX_ROWS,
    check_input,
    check_no_other_parameters,
    check_text,
    checked_parameter,
    default_language,
    parse_query,
    relation_key,
    shown,
    unknown_relation_message,
)
from .position_checks import check_positions
from .stored_files import (
    CANDIDATES_FILE,
    RELATIONS_FILE,
    StoredFiles,
    read_candidates,
    read_relations,
)
from .tokenizer_checks import check_pipeline_tokenizer

DEFAULT_TOP_K = 5
#: K of Algorithm 1 (the paper's 50).
DEFAULT_NUM_BEAMS = 50
#: The call parameters (also the `parameters` of an Inference Endpoints request).
PARAMETERS = ("top_k", "num_beams", "language", "max_rows")
#: Unknown-relation warnings a pipeline keeps, texts and record of those shown (more: dropped).
MAX_CACHED_WARNINGS = 1024


def _warn_from_caller(message: str, registry: dict) -> None:
    """`warnings.warn(message)` at the first caller outside this module and transformers,
    recorded in `registry` (bounded) and not in the caller's `__warningregistry__`, which
    keeps every distinct text for good. Filters apply as usual (default: once per line)."""
    frame = sys._getframe(1)
    module = frame.f_globals.get("__name__", "")
    while frame.f_back and (module == __name__ or module.startswith("transformers.")):
        frame = frame.f_back
        module = frame.f_globals.get("__name__", "")
    if len(registry) > MAX_CACHED_WARNINGS:  # bounded, whatever is asked
        registry.clear()
    file, line = frame.f_code.co_filename, frame.f_lineno
    warnings.warn_explicit(message, UserWarning, file, line, module or None, registry)


class PrixLMLinkPrediction(Pipeline):
    """Top-k objects of triple or link queries by constrained beam search (module docstring).

    Args:
        candidates: `{language: [labels]}` replacing or adding to the folder's `candidates.json`.
        Everything else as `transformers.Pipeline` (built by `transformers.pipeline`).
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    #: `problem -> advice` ending the error for a language without candidates (`candidates=`;
    #: the endpoint handler sets its own on its pipeline: its callers build none).
    candidates_advice = staticmethod(candidates_advice)

    def __init__(
        self, *args: Any, candidates: Mapping[str, Sequence[str]] | None = None, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        # a folder by its absolute path now: a later chdir must not make it a Hub id
        self._stored = StoredFiles.of(
            getattr(self.model, "name_or_path", "") or "",
            getattr(self.model, "loaded_revision", None),
        )
        check_pipeline_tokenizer(self.tokenizer, self.model.config, self._stored)
        self._given = _given_candidates(candidates, self.model.config)
        self._labels: dict[str, list[str]] | None = None
        self._relations: dict[str, list[str]] | None = None
        self._relation_keys: dict[str, frozenset[str]] | None = None  # per stored language
        self._relation_warnings: dict[tuple[str, str], str] = {}  # per (relation, language)
        self._warnings_shown: dict = {}  # `warnings.warn_explicit`'s registry, bounded
        if (precision := half_precision_message(self.model)) is not None:  # dtype=torch.bfloat16
            _warn_from_caller(precision, self._warnings_shown)
        self._tries: dict[str, EntityTrie] = {}  # per stored code (`candidate_language`)

    # ------------------------------------------------------------------ candidates
    def _stored_file(self, name: str) -> str | None:
        """The local path of the folder's (or Hub repo's) file `name`, at the revision the
        model was loaded at (`loaded_revision`; a bare repo id would read main's); None if it
        has none, OSError if the Hub could not be asked and has not cached it (`StoredFiles`)."""
        return self._stored.path(name)

    @property
    def candidate_labels(self) -> dict[str, list[str]]:
        """`{language: [labels]}`: the folder's `candidates.json` (if any), each language
        `candidates=` names replaced, in any spelling (the labels under the stored code)."""
        if self._labels is None:
            path = self._stored_file(CANDIDATES_FILE)
            stored = read_candidates(path) if path is not None else {}
            untrained = untrained_languages(stored, self.model.config)  # another build's file
            for code, problem in untrained.items():  # left out: an app serving it still starts
                where = f"{CANDIDATES_FILE} of {self._stored.source or '?'!r}"
                _warn_from_caller(f"{where}: {code!r} left out: {problem}", self._warnings_shown)
            stored = {code: labels for code, labels in stored.items() if code not in untrained}
            replaced = {language_key(code) for code in self._given}
            kept = {c: labels for c, labels in stored.items() if language_key(c) not in replaced}
            given = {_stored_code(stored, c) or c: labels for c, labels in self._given.items()}
            self._labels = {**kept, **given}
        return self._labels

    @property
    def languages(self) -> list[str]:
        """The languages that have candidates (the folder's and `candidates=`), sorted."""
        return sorted(self.candidate_labels)

    @property
    def relations(self) -> dict[str, list[str]]:
        """`{language: [relation names]}` of the folder's `relations.json` ({} if it has none)."""
        if self._relations is None:
            path = self._stored_file(RELATIONS_FILE)
            self._relations = read_relations(path) if path is not None else {}
        return self._relations

    def relation_warning(self, relation: str, language: str) -> str | None:
        """The warning (made once) for a relation the model was not trained on in `language`
        (compared as the model reads names: `relation_key`); None if it was, or none are stored."""
        if self._relation_keys is None:  # built whole, then published (racing threads: twice)
            stored = self.relations.items()
            self._relation_keys = {c: frozenset(map(relation_key, n)) for c, n in stored}
        keys = _for_language(self._relation_keys, language)
        if not keys or relation_key(relation) in keys:
            return None
        warning = self._relation_warnings.get((relation, language))
        if warning is None:
            if len(self._relation_warnings) >= MAX_CACHED_WARNINGS:  # bounded, whatever is asked
                self._relation_warnings.clear()
            known = _for_language(self.relations, language)
            warning = unknown_relation_message(relation, language, known, RELATIONS_FILE)
            self._relation_warnings[relation, language] = warning
        return warning

    def candidate_language(self, language: str) -> str:
        """The code `language` has among the candidates' languages, in any spelling (`en`
        for `EN`); ValueError if it has no candidates (naming the model's languages where it
        has no token for `language`)."""
        code = _stored_code(self.candidate_labels, language)
        if code is None or not self.candidate_labels[code]:
            stored = ", ".join(sorted(self.candidate_labels)) or "none"
            advice = self.candidates_advice(model_language_problem(self.model.config, language))
            raise ValueError(
                f"no candidate entities for language {language!r} (stored: {stored}; "
                f"{CANDIDATES_FILE} of {self._stored.source or '?'!r}): {advice}"
            )
        return code

    def trie(self, language: str) -> EntityTrie:
        """The candidates' trie of `language`, built at its first use in any spelling."""
        code = self.candidate_language(language)
        if code not in self._tries:
            labels = self.candidate_labels[code]
            trie, _, unreadable = readable_trie(self.tokenizer, labels)  # tokenised once
            where = f"candidates[{code!r}]"
            if unreadable:
                message = unreadable_message(unreadable, len(labels), where)
                if trie is None:
                    raise ValueError(f"{message}; none is left to rank")
                _warn_from_caller(message, self._warnings_shown)
            assert trie is not None  # an empty list has no code (`candidate_language`)
            if (twins := twins_message(trie, where)) is not None:
                _warn_from_caller(twins, self._warnings_shown)
            self._tries[code] = trie
        return self._tries[code]

    # ------------------------------------------------------------------ Pipeline steps
    def _sanitize_parameters(
        self,
        top_k: int | None = None,
        num_beams: int | None = None,
        language: str | None = None,
        max_rows: int | None = None,
        **others: Any,
    ) -> tuple[dict, dict, dict]:
        check_no_other_parameters(others, PARAMETERS)  # a TypeError naming this method before
        preprocess, forward, postprocess = {}, {}, {}
        if language is not None:
            if not isinstance(language, str) or not language.strip():
                raise ValueError(f"language={shown(language)}: a language code such as 'de'")
            check_text("parameter language", language)  # an error never echoes it whole
            preprocess["language"] = language.strip()
        if num_beams is not None:
            forward["num_beams"] = checked_parameter("num_beams", num_beams, MAX_NUM_BEAMS)
        if max_rows is not None:
            forward["max_rows"] = checked_parameter("max_rows", max_rows, MAX_ROWS)
        if top_k is not None:
            postprocess["top_k"] = checked_parameter("top_k", top_k)
        return preprocess, forward, postprocess

    def preprocess(self, inputs: Any, language: str | None = None) -> dict[str, list]:
        """One input -> `{"queries": [query tuple], "languages": [candidate language]}`.

        Everything that can fail is checked here, before any decoding (ValueError).
        """
        check_input(inputs)
        query = parse_query(inputs)
        source = query["language"] or language or default_language(sorted(self.candidate_labels))
        if source is None:
            raise ValueError(
                f"input {inputs!r} names no language and the candidates cover "
                f"{', '.join(sorted(self.candidate_labels)) or 'none (build the pipeline with candidates=)'}: "
                "add ' | <language>' or pass language="
            )
        if query["target_language"] is not None:
            key: tuple[str, ...] = (query["subject"], source, query["target_language"])
            target = query["target_language"]
            check_model_language(self.model.config, source)  # the subject's language token
        else:
            key, target = (query["subject"], query["relation"]), source
            warning = self.relation_warning(query["relation"], source)
            if warning is not None:
                _warn_from_caller(warning, self._warnings_shown)
        code = self.candidate_language(target)  # unknown candidate language: ValueError now
        prompt = encode_query(self.tokenizer, key)  # unknown language token, empty tokenisation
        # a query too long for the positions: refused before any query of a list is decoded
        check_positions(self.model.config, [key], [prompt], self.trie(code))
        return {"queries": [key], "languages": [code]}

    def _forward(
        self,
        model_inputs: dict[str, list],
        num_beams: int = DEFAULT_NUM_BEAMS,
        max_rows: int | None = None,
    ) -> dict[str, list[RankedObjects]]:
        """Algorithm 1 for every query, one decoding per candidate language (in input order;
        `languages` holds the stored codes, `candidate_language`, so spellings share one).
        `max_rows` by default: `predict_objects`' for the model's device, at most `MAX_ROWS`."""
        if max_rows is None:
            max_rows = min(default_max_rows(self.model), MAX_ROWS)
        queries, languages = model_inputs["queries"], model_inputs["languages"]
        beams = {"num_beams": num_beams, "max_rows": max_rows}
        ranked: list[RankedObjects | None] = [None] * len(queries)
        for language in dict.fromkeys(languages):
            rows = [i for i, lang in enumerate(languages) if lang == language]
            asked = [tuple(queries[i]) for i in rows]
            found = predict_objects(self.model, self.tokenizer, asked, self.trie(language), **beams)
            for row, result in zip(rows, found, strict=True):
                ranked[row] = result
        return {"ranked": ranked}

    def postprocess(
        self, model_outputs: dict[str, list[RankedObjects]], top_k: int = DEFAULT_TOP_K
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """`[{"object", "score"}]` best first (top_k), or one such list per query of a batch."""
        top = slice(top_k)
        answers = [
            [{"object": o, "score": s} for o, s in zip(r.labels[top], r.scores[top], strict=True)]
            for r in model_outputs["ranked"]
        ]
        return answers[0] if len(answers) == 1 and not model_outputs.get("batch") else answers

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """One input -> its answers; a list or tuple -> a list of answers, decoded together (at
        most 256 queries without `batch_size`; with it, in chunks of `batch_size`, any length);
        a generator or torch `Dataset` (`KeyDataset`) with `batch_size` -> an iterator of
        answers, `batch_size` inputs decoded together. `batch_size` is an integer 1..256 for
        every input; `num_workers` is ignored (one process decodes)."""
        kwargs.pop("num_workers", None)
        batch_size = kwargs.pop("batch_size", None)
        size = (
            None if batch_size is None else checked_parameter("batch_size", batch_size, MAX_QUERIES)
        )
        if isinstance(inputs, (list, tuple)):
            return self._decode_together(list(inputs), kwargs, size)
        if size is None or not isinstance(inputs, (types.GeneratorType, Dataset)):
            return super().__call__(inputs, **kwargs)
        dataset = inputs if isinstance(inputs, Dataset) else None  # read by index
        items = inputs if dataset is None else map(dataset.__getitem__, range(len(dataset)))
        return self._decode_in_chunks(items, size, kwargs)

    def _decode_in_chunks(
        self, items: Iterator[Any], size: int, kwargs: dict[str, Any]
    ) -> Iterator[Any]:
        """The answers of `items`, `size` inputs decoded together; the parameters are checked
        now, not at the first answer."""
        self._sanitize_parameters(**kwargs)
        chunks = iter(lambda: list(itertools.islice(items, size)), [])
        return (answer for chunk in chunks for answer in self._decode_together(chunk, kwargs))

    def _decode_together(
        self, inputs: list[Any], kwargs: dict[str, Any], size: int | None = None
    ) -> list[Any]:
        """The answers of a list of inputs, every one checked before any is decoded, then
        decoded `size` at a time (None: as one batch, of at most `MAX_QUERIES` inputs)."""
        if not inputs:
            raise ValueError("no inputs: pass a query or a non-empty list of queries")
        if size is None and len(inputs) > MAX_QUERIES:
            raise ValueError(
                f"{len(inputs)} queries in one call; at most {MAX_QUERIES}: split the list"
            )
        stored = (self._preprocess_params, self._forward_params, self._postprocess_params)
        given = self._sanitize_parameters(**kwargs)
        preprocess, forward, postprocess = ({**a, **b} for a, b in zip(stored, given, strict=True))
        prepared = [self.preprocess(item, **preprocess) for item in inputs]
        answers, size = [], size or len(prepared)
        for start in range(0, len(prepared), size):
            chunk = prepared[start : start + size]
            batch = {k: [x for item in chunk for x in item[k]] for k in ("queries", "languages")}
            outputs = self.forward(batch, **forward)
            answers += self.postprocess({**outputs, "batch": True}, **postprocess)
        return answers


__all__ = [
    "CANDIDATES_FILE",
    "PARAMETERS",
    "RELATIONS_FILE",
    "PrixLMLinkPrediction",
    "read_candidates",
    "read_relations",
    "unknown_relation_message",
]
