"""Prix-LM in the browser: complete facts, link entities across languages, complete a TSV.

    PRIXLM_MODEL=outputs/demo/run/model python space/app.py     # or a Hub repo id
    PRIXLM_MODEL=me/prixlm-demo PRIXLM_MODEL_REVISION=v1 python space/app.py

The model is a Prix-LM release folder or Hub repo (`PRIXLM_MODEL`, default: the release
folder `make demo` writes), a repo at the branch, tag or commit `PRIXLM_MODEL_REVISION`
(default: main; the page names it; a folder has none: the app refuses one), run through its
own custom pipeline (`pipeline(model=..., revision=..., trust_remote_code=True)`), loaded
once. Needs only gradio, torch and transformers (gradio's usage reports stay off unless
`GRADIO_ANALYTICS_ENABLED=True`). Answers are the pipeline's: objects ranked by constrained
beam search (Algorithm 1), `score` the summed log-probability, `probability = exp(score)`.

Tabs: "Complete a fact" (subject, relation, language -> table + bar chart), "Link across
languages" (entity, language, target language -> labels), "Batch" (a TSV of queries -> a
TSV with scores and N-Triples). Bad input gets a message in the page, never a traceback.
The batch tab's files live in one temporary folder (the newest `BATCH_FOLDERS_KEPT`
batches), removed when the app stops (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import sys
import tempfile
import unicodedata
from collections import deque
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage reports unless asked
import gradio as gr
import pandas as pd
from batch_io import markdown_text, read_queries, write_tsv_and_ntriples
from candidates import fitting_pipeline, positions
from languages import candidate_code, card_examples, pipeline_default_language, stored_relations
from transformers import pipeline

MODEL_ENV = "PRIXLM_MODEL"
#: The model repo's branch, tag or commit to load (unset: main).
REVISION_ENV = "PRIXLM_MODEL_REVISION"
#: The release folder `make demo` writes (this file is `space/app.py` of the repository).
DEFAULT_MODEL = str(Path(__file__).resolve().parents[1] / "outputs" / "demo" / "run" / "model")
#: Longest subject or relation the app takes (characters).
MAX_TEXT_CHARS = 200
#: K of Algorithm 1 in the app (the pipeline's default, the paper's 50).
NUM_BEAMS = 50
TOP_K = 5
MAX_TOP_K = 20
#: queries per pipeline call (`pipeline_queries.MAX_QUERIES`): a batch file is asked in chunks
PIPELINE_QUERIES = 256
TABLE_COLUMNS = ["rank", "object", "probability", "log_likelihood"]
#: Special tokens of a prompt: `<s>[S] s </s></s>[P] r </s></s>[O]` (triple) and
#: `<s>[S] s </s></s>[P][s-lang][o-lang]</s></s>[O]` (link), the release's token format.
PROMPT_SPECIAL_TOKENS = {"triple": 8, "link": 10}
#: The batch tab's newest output folders kept on disk (gradio serves its own copies of the
#: files; older folders are removed, so a long-running app does not fill its disk).
BATCH_FOLDERS_KEPT = 8
#: gradio's cache (uploads, its copies of the outputs): checked hourly, files older than 1 h go.
GRADIO_CACHE_CLEANUP = (3600, 3600)


class InputError(ValueError):
    """Input the page answers with a message (the query is not run)."""


def _text(value: Any, name: str, example: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise InputError(f"{name}: expected text, got {value!r}")
    if not text:
        raise InputError(f"Type a {name}, e.g. {example}.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The {name} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS}.")
    return text


def _top_k(value: Any) -> int:
    try:
        top_k = int(value)
        whole = top_k == float(value)  # 2.7 was cut to 2 without a word
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise InputError(f"Number of answers: expected a whole number, got {value!r}.")
    if not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"Number of answers: between 1 and {MAX_TOP_K}, got {top_k}.")
    return top_k


def answers_table(answers: list[dict[str, Any]]) -> pd.DataFrame:
    """The pipeline's `[{"object", "score"}]` -> rank, object, probability, log-likelihood."""
    rows = [
        [rank, item["object"], math.exp(item["score"]), item["score"]]
        for rank, item in enumerate(answers, start=1)
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def shown(table: pd.DataFrame):
    """The table as the page shows it: 4 decimals on screen, the exact values in the data."""
    return table.style.format({"probability": "{:.4f}", "log_likelihood": "{:.4f}"})


class PrixLMSpace:
    """The loaded pipeline and the page's three actions (each returns what the page shows).

    Args:
        source: a release folder or Hub repo id.
        num_beams: K of Algorithm 1 for every query.
        revision: the Hub repo's branch, tag or commit (None: main).
    """

    def __init__(self, source: str, num_beams: int = NUM_BEAMS, revision: str | None = None):
        self.source = source
        self.revision = revision or None
        if self.revision and Path(source).is_dir():  # transformers would ignore it: refused
            raise ValueError(
                f"{source} is a local folder, and a revision ({self.revision}) names a branch, "
                "tag or commit of a Hub repo: a folder has none"
            )
        self.num_beams = num_beams
        #: the batch outputs' folder, removed with this object or at exit (`close`)
        self.outputs = tempfile.TemporaryDirectory(prefix="prixlm-space-")
        self._batch_folders: deque[Path] = deque()
        self.pipe = pipeline(model=source, revision=self.revision, trust_remote_code=True)
        self.languages = sorted(self.pipe.candidate_labels)
        if not self.languages:
            raise ValueError(f"{source}: no candidates.json: nothing to rank")
        # labels no query can reach beside a prompt: left out, with a warning in the log
        self.pipe, self.languages = fitting_pipeline(self.pipe, self.languages)
        if not self.languages:
            raise ValueError(f"{source}: no candidate label fits the model's positions")
        #: a query without a language gets the pipeline's default (None: it must name one)
        self.default_language = pipeline_default_language(self.pipe, self.languages)
        self.examples = card_examples(
            source,
            lambda language: candidate_code(self.pipe, language, self.languages),
            self.default_language,
            self.revision,
        )
        # the relations the model was trained on (relations.json), else the card's examples'
        known = {r for names in self.pipe.relations.values() for r in names}
        self.relations = sorted(known or {relation for _, relation, _ in self.examples})
        #: prompt tokens that fit beside the language's longest candidate (its [EOS] not fed)
        self.prompt_budget = {}
        for language in self.languages:  # every trie built now, not at a visitor's query
            longest = self.pipe.trie(language).max_length
            self.prompt_budget[language] = positions(self.pipe) - (longest - 1)

    @property
    def model_name(self) -> str:
        """The model as the page names it: its folder or repo id, and the revision if any."""
        return f"`{self.source}`" + (f" at `{self.revision}`" if self.revision else "")

    def _check_fits(self, kind: str, texts: list[str], language: str) -> None:
        """InputError unless the prompt fits the model beside `language`'s longest answer."""
        tokenizer = self.pipe.tokenizer
        composed = [unicodedata.normalize("NFC", text) for text in texts]  # as the model reads
        used = PROMPT_SPECIAL_TOKENS[kind] + sum(
            len(ids) for ids in tokenizer(composed, add_special_tokens=False)["input_ids"]
        )
        room = self.prompt_budget[language]
        if used > room:
            raise InputError(
                f"Too long for this model: the query takes {used} tokens and at most {room} "
                f"fit beside its longest {language} answer; shorten it."
            )

    def language_code(self, language: str, name: str = "language") -> str:
        """The code of `language` among the Space's languages, in any spelling the pipeline
        accepts (`en` for `EN`: its `candidate_language`); InputError for another."""
        code = candidate_code(self.pipe, language, self.languages)
        if code is None:
            raise InputError(
                f"Unknown {name} {language!r}: this model ranks entities of "
                f"{', '.join(self.languages)}."
            )
        return code

    def _language(self, value: Any, name: str = "language") -> str:
        example = self.default_language or self.languages[0]
        return self.language_code(_text(value, name, example), name)

    def complete(self, subject: Any, relation: Any, language: Any, top_k: Any = TOP_K):
        """(subject, relation, language) -> (message, table, chart data)."""
        query = {
            "subject": _text(subject, "subject", "Germany"),
            "relation": _text(relation, "relation", "currency"),
            "language": self._language(language),
        }
        self._check_fits("triple", [query["subject"], query["relation"]], query["language"])
        answers = self.pipe(query, top_k=_top_k(top_k), num_beams=self.num_beams)
        table = answers_table(answers)
        best = table.iloc[0]
        message = f"**{markdown_text(best['object'])}** (probability {best['probability']:.3f})"
        if self._unknown_relation(query["relation"], query["language"]):  # the warning, shown
            known = ", ".join(map(markdown_text, stored_relations(self.pipe, query["language"])))
            message += (
                f"\n\n⚠️ *{markdown_text(query['relation'])}* is not a relation this model was "
                f"trained on in {query['language']}: the answers are a guess. Known: {known}."
            )
        return message, shown(table), table[["object", "probability"]]

    def _unknown_relation(self, relation: str, language: str) -> bool:
        """Whether the model was not trained on `relation` in `language` (read as the model
        reads names: the pipeline's `relation_warning`, where the model's code has it)."""
        check = getattr(self.pipe, "relation_warning", None)
        if check is not None:
            return check(relation, language) is not None
        known = stored_relations(self.pipe, language)
        return bool(known) and relation not in known

    def link(self, entity: Any, language: Any, target: Any, top_k: Any = TOP_K):
        """(entity, its language, target language) -> (message, table)."""
        query = {
            "subject": _text(entity, "entity", "Germany"),
            "language": self._language(language),
            "target_language": self._language(target, "target language"),
        }
        self._check_fits("link", [query["subject"]], query["target_language"])
        answers = self.pipe(query, top_k=_top_k(top_k), num_beams=self.num_beams)
        best = markdown_text(answers[0]["object"])
        return f"**{best}** in {query['target_language']}", shown(answers_table(answers))

    def batch(self, path: Any, top_k: Any = 1):
        """A TSV of queries -> (message, [TSV path, N-Triples path], preview table)."""
        if not path:
            raise InputError("Upload a TSV file of queries (subject, relation, language).")
        queries = read_queries(
            Path(path),
            default_language=self.default_language,
            max_chars=MAX_TEXT_CHARS,
            language_code=self._file_language,
            languages=self.languages,
            # the pipeline's own check (control characters, ...), named by the file's line
            check_query=getattr(sys.modules.get(type(self.pipe).__module__), "check_input", None),
        )
        for query in queries:
            try:
                self._check_fits("triple", [query.subject, query.relation], query.language)
            except InputError as error:
                raise InputError(f"{Path(path).name}, line {query.line}: {error}") from None
        asked = [{"subject": q.subject, "relation": q.relation, "language": q.language}
                 for q in queries]  # fmt: skip
        answers, top_k = [], _top_k(top_k)
        for start in range(0, len(asked), PIPELINE_QUERIES):  # a file may hold more than a call
            chunk = asked[start : start + PIPELINE_QUERIES]
            answers += self.pipe(chunk, top_k=top_k, num_beams=self.num_beams)
        folder = self._new_batch_folder()
        tsv, ntriples, rows = write_tsv_and_ntriples(queries, answers, folder / "completed")
        preview = pd.DataFrame(rows[:50]).drop(columns=["subject_id", "relation_id", "object_id"])
        message = f"Completed {len(queries)} queries: {len(rows)} facts."
        asked_once = {(q.relation, q.language) for q in queries}  # each checked once, not per line
        unknown = {pair for pair in asked_once if self._unknown_relation(*pair)}
        guessed = [q for q in queries if (q.relation, q.language) in unknown]
        if guessed:  # as the single-query tab says, not only on the server's log
            lines = ", ".join(str(q.line) for q in guessed[:10]) + " …" * (len(guessed) > 10)
            relations = markdown_text(", ".join(sorted({repr(q.relation) for q in guessed})[:10]))
            message += (
                f"\n\n⚠️ {len(guessed)} queries (lines {lines}) name relations this model was "
                f"not trained on ({relations}): their answers are a guess."
            )
        return message, [str(tsv), str(ntriples)], preview

    def _file_language(self, language: str) -> str:
        """A batch file's language cell as the model's code (`language_code`); the error
        without the page's capital (the file and line go before it)."""
        try:
            return self.language_code(language)
        except InputError as error:
            message = str(error)
            raise InputError(message[:1].lower() + message[1:]) from None

    def _new_batch_folder(self) -> Path:
        """A new folder under `outputs`; the oldest beyond `BATCH_FOLDERS_KEPT` are removed."""
        folder = Path(tempfile.mkdtemp(prefix="batch-", dir=self.outputs.name))
        self._batch_folders.append(folder)
        while len(self._batch_folders) > BATCH_FOLDERS_KEPT:
            shutil.rmtree(self._batch_folders.popleft(), ignore_errors=True)
        return folder

    def close(self) -> None:
        """Remove the batch outputs' folder."""
        self._batch_folders.clear()
        self.outputs.cleanup()


def guarded(action, empty_outputs: tuple):
    """`action`'s outputs, or (the message, *empty outputs) for bad input or a failed query."""

    def run(*args):
        try:
            return action(*args)
        except Exception as error:  # the page stays usable whatever the model does
            bad_input = isinstance(error, (InputError, ValueError, TypeError))
            failed = "" if bad_input else f"The query failed: {type(error).__name__}: "
            return (f"⚠️ {failed}{markdown_text(error)}", *empty_outputs)

    run.__name__, run.__doc__ = action.__name__, action.__doc__
    return run


def build_page(space: PrixLMSpace) -> gr.Blocks:
    """The page: three tabs, each with its inputs, a message line and its outputs."""
    empty = pd.DataFrame(columns=TABLE_COLUMNS)
    in_default = [e for e in space.examples if e[2] == space.default_language]
    first = (in_default or space.examples or [["", "", space.default_language]])[0]
    language_choice = {"choices": space.languages, "allow_custom_value": True}
    with gr.Blocks(title="Prix-LM", delete_cache=GRADIO_CACHE_CLEANUP) as page:
        gr.Markdown(
            f"# Prix-LM\nComplete knowledge-base facts and link entities across languages "
            f"with {space.model_name} (languages: {', '.join(space.languages)}). "
            "Answers are ranked among the model's known entities (constrained beam search)."
        )
        with gr.Tab("Complete a fact", id="complete"):
            with gr.Row():
                subject = gr.Textbox(label="Subject", value=first[0], elem_id="subject")
                relation = gr.Dropdown(
                    choices=space.relations,
                    value=first[1],
                    allow_custom_value=True,
                    label="Relation",
                    elem_id="relation",
                )
                language = gr.Dropdown(
                    value=first[2], label="Language", elem_id="language", **language_choice
                )
                top_k = gr.Slider(1, MAX_TOP_K, value=TOP_K, step=1, label="Answers")
            submit = gr.Button("Complete", variant="primary", elem_id="complete-button")
            message = gr.Markdown(elem_id="complete-message", latex_delimiters=[])
            table = gr.Dataframe(value=empty, label="Ranked objects", elem_id="complete-table")
            chart = gr.BarPlot(
                value=empty[["object", "probability"]],
                x="object",
                y="probability",
                sort="-y",
                label="Probability",
                elem_id="complete-chart",
            )
            if space.examples:
                gr.Examples(space.examples, [subject, relation, language], label="Examples")
            submit.click(
                guarded(space.complete, (empty, empty[["object", "probability"]])),
                [subject, relation, language, top_k],
                [message, table, chart],
                api_name="complete",
            )
        with gr.Tab("Link across languages", id="link"):
            with gr.Row():
                entity = gr.Textbox(label="Entity", value=first[0], elem_id="entity")
                source = gr.Dropdown(
                    value=first[2], label="Its language", elem_id="link-language", **language_choice
                )
                others = [lang for lang in space.languages if lang != first[2]] or space.languages
                target = gr.Dropdown(
                    value=others[0], label="Target language", elem_id="target", **language_choice
                )
                link_k = gr.Slider(1, MAX_TOP_K, value=TOP_K, step=1, label="Answers")
            link_button = gr.Button("Link", variant="primary", elem_id="link-button")
            link_message = gr.Markdown(elem_id="link-message", latex_delimiters=[])
            link_table = gr.Dataframe(value=empty, label="Ranked labels", elem_id="link-table")
            link_button.click(
                guarded(space.link, (empty,)),
                [entity, source, target, link_k],
                [link_message, link_table],
                api_name="link",
            )
        with gr.Tab("Batch", id="batch"):
            gr.Markdown(
                "A query per line: `subject<TAB>relation[<TAB>language]` (optional header: these "
                "and `subject_id`, `relation_id`). You get N-Triples and a UTF-8 TSV: import it as "
                "text in a spreadsheet (cells starting with = + - @ are names, not formulas)."
            )
            upload = gr.File(label="Queries (TSV)", type="filepath", elem_id="batch-file")
            batch_k = gr.Slider(1, MAX_TOP_K, value=1, step=1, label="Objects per query")
            batch_button = gr.Button("Complete the file", variant="primary", elem_id="batch-button")
            batch_message = gr.Markdown(elem_id="batch-message", latex_delimiters=[])
            download = gr.File(label="Completed facts", file_count="multiple", elem_id="download")
            preview = gr.Dataframe(label="Preview", elem_id="batch-table")
            batch_button.click(
                guarded(space.batch, (None, None)),
                [upload, batch_k],
                [batch_message, download, preview],
                api_name="batch",
            )
    return page


def main() -> None:
    source = os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    revision = os.environ.get(REVISION_ENV) or None
    if source == DEFAULT_MODEL and not Path(source).is_dir():
        sys.exit(f"error: {source} not found: run `make demo` first or set {MODEL_ENV}")
    try:
        space = PrixLMSpace(source, revision=revision)
    except (OSError, ValueError) as error:
        named = f"{MODEL_ENV}={source}" + (f" {REVISION_ENV}={revision}" if revision else "")
        sys.exit(f"error: {named}: cannot load the model: {error}")
    page = build_page(space)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: closes as on Ctrl-C
    try:
        page.queue(default_concurrency_limit=1).launch(ssr_mode=False)
    finally:
        space.close()


if __name__ == "__main__":
    main()
