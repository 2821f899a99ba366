"""Mirror-BERT tuning (Liu et al., 2021) with the transformers Trainer.

Self-supervised contrastive learning on a word list: each string and its augmented twin are
positives, every other string of the batch (both views) a negative. Augmentation as in
Mirror-BERT: the two views run through the model in train mode (different dropout masks),
and the second view's text gets a random span of `span_mask_length` characters replaced by
the mask token when the text has at least `min_masked_chars` characters. The loss is
InfoNCE (NT-Xent, `pytorch_metric_learning.losses.NTXentLoss` in Mirror-BERT's
`src/contrastive_learning.py`) over the `2B` cosine-normalised embeddings of a batch of `B`
pairs, with temperature `tau`, averaged over all `2B` anchors::

    loss = mean_i -log( exp(cos(e_i, e_i+) / tau) / sum_{j != i} exp(cos(e_i, e_j) / tau) )

Defaults (cambridgeltl/mirror-bert, `mirror_scripts/mirror_word_bert.sh` for word lists and
`src/data_loader.py`): learning rate 2e-5, 2 epochs, `max_length` 25, dropout 0.1 (the
model's own), [CLS]/first-token pooling (`agg_mode cls`; the tuned folder's config records
the pooling, which the embedders then use), AdamW with weight decay 0.01 and no schedule,
temperature 0.2 (the word setting; their code comments "sentence & phrase: 0.04, word:
0.2"), span masking of 5 characters on strings of 30+ characters (`erase_and_mask`: the
span of `mirror_sentence_bert.sh`; `mirror_word_bert.sh` turns masking off with
`--random_span_mask 0`; the words of a word list are shorter than 30 characters, so they
are not masked either way, and a list of long phrases gets the sentence recipe's
masking), batch 128 (Prix-LM paper §3.3; Mirror-BERT
used 200). Input: the 10k most frequent words (the paper: English
words; on the embedded default the most frequent words of the KB's English labels).

    python -m prixlm.similarity.mirror --model outputs/demo/run/model \\
        --output_dir outputs/demo/mirror [--words words.txt | --dataset outputs/demo/dataset]

Without `--words`, the input is the most frequent words of `--dataset`'s English labels.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import prixlm.threads  # noqa: F401 - first: sets OpenMP's wait policy before torch loads

# isort: split
import torch
from transformers import Trainer, TrainingArguments

from modeling_prixlm.modeling_prixlm import DEFAULT_POOLING, EMBEDDING_POOLING
from prixlm.cli import UsageError, command_parser, renamed_options, user_errors
from prixlm.model_loading import MODEL_CODE_HELP, check_model_source, load_model
from prixlm.similarity.embedder import POOLING_CONFIG_KEY, encoder_pooled
from prixlm.text_lines import utf8_lines

MIRROR_DEFAULTS: dict[str, Any] = {
    "learning_rate": 2e-5,
    "num_train_epochs": 2,
    "max_length": 25,
    "temperature": 0.2,
    "span_mask_length": 5,
    "min_masked_chars": 30,
    "batch_size": 128,
    "weight_decay": 0.01,
    "pooling": DEFAULT_POOLING,
    "num_words": 10_000,
}


def info_nce_loss(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of `B` positive pairs with in-batch negatives (module doc formula).

    Args:
        first, second: `(B, d)` embeddings of the two views; row i of each is a positive pair.
        temperature: `tau` (> 0).
    Returns:
        The scalar loss, the mean over the `2B` anchors.
    """
    if first.shape != second.shape or first.dim() != 2:
        raise ValueError(f"views {tuple(first.shape)} and {tuple(second.shape)} differ")
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: expected > 0")
    batch = first.shape[0]
    both = torch.nn.functional.normalize(torch.cat([first, second]).float(), dim=1)
    logits = both @ both.T / temperature
    logits.fill_diagonal_(float("-inf"))  # an anchor is not its own negative
    twin = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(logits.device)
    return torch.nn.functional.cross_entropy(logits, twin)


def erase_and_mask(
    text: str, mask_token: str, span: int, min_chars: int, rng: random.Random
) -> str:
    """`text` with a random `span`-character substring replaced by `mask_token`.

    Texts shorter than `min_chars` (or not longer than `span`) are returned unchanged.
    """
    if span <= 0 or len(text) <= span or len(text) < min_chars:
        return text
    start = rng.randrange(len(text) - span)
    return f"{text[:start]} {mask_token} {text[start + span :]}"


class MirrorCollator:
    """Texts `[{"text": str}, ...]` -> two right-padded views `(B, length)` (ids and masks)."""

    def __init__(
        self,
        tokenizer: Any,
        max_length: int = MIRROR_DEFAULTS["max_length"],
        span_mask_length: int = MIRROR_DEFAULTS["span_mask_length"],
        min_masked_chars: int = MIRROR_DEFAULTS["min_masked_chars"],
        seed: int = 0,
    ):
        self.tokenizer, self.max_length = tokenizer, max_length
        self.span, self.min_chars = span_mask_length, min_masked_chars
        self.mask_token = tokenizer.mask_token or tokenizer.unk_token
        self.rng = random.Random(seed)

    def _encode(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        )

    def __call__(self, features: Sequence[dict[str, str]]) -> dict[str, torch.Tensor]:
        texts = [feature["text"] for feature in features]
        masked = [
            erase_and_mask(t, self.mask_token, self.span, self.min_chars, self.rng) for t in texts
        ]
        first, second = self._encode(texts), self._encode(masked)
        return {
            "input_ids": first["input_ids"],
            "attention_mask": first["attention_mask"],
            "twin_input_ids": second["input_ids"],
            "twin_attention_mask": second["attention_mask"],
        }


class MirrorTrainer(Trainer):
    """A Trainer whose loss is Mirror-BERT's InfoNCE over (text, augmented twin) pairs."""

    def __init__(
        self, *args: Any, temperature: float, pooling: str = DEFAULT_POOLING, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.temperature, self.pooling = temperature, pooling

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        first = encoder_pooled(model, inputs["input_ids"], inputs["attention_mask"], self.pooling)
        second = encoder_pooled(
            model, inputs["twin_input_ids"], inputs["twin_attention_mask"], self.pooling
        )
        loss = info_nce_loss(first, second, self.temperature)
        return (loss, {"embeddings": first}) if return_outputs else loss


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def frequent_words(texts: Sequence[str], limit: int = MIRROR_DEFAULTS["num_words"]) -> list[str]:
    """The `limit` most frequent words of `texts` (letters only), ties by first appearance."""
    counts = Counter(word for text in texts for word in _WORD.findall(text))
    return [word for word, _ in counts.most_common(limit)]


def kb_label_words(dataset_dir: str | Path, language: str = "en", limit: int = 10_000) -> list[str]:
    """Most frequent words of the entity labels of a KB language's train split."""
    from prixlm.data.loading import load_kb

    train = load_kb(dataset_dir, language, "train")
    return frequent_words(list(train["subject"]) + list(train["object"]), limit)


def read_words(path: str | Path, argument: str = "--words") -> list[str]:
    """One word (or phrase) per line; blank lines skipped. `UsageError` (a `ValueError`)
    naming `argument` and the file (and the line) if it is not UTF-8 or holds no word."""
    try:  # a missing file: an OSError naming it
        words = [word for _, line in utf8_lines(path, UsageError) if (word := line.strip())]
    except UsageError as error:  # "<path>:<line>: not UTF-8 (...)"
        raise UsageError(f"{argument} {error}") from None
    if not words:
        raise UsageError(f"{argument} {path}: no words (expected one word per line)")
    return words


def input_words(words_file: Path | None, dataset: Path, limit: int) -> list[str]:
    """The command's words: the first `limit` of `--words`, else the `limit` most frequent
    of `--dataset`'s English labels. `UsageError` naming the argument for fewer than 2 (a
    single word is its own batch: InfoNCE has no negative, the loss is 0 and the "tuned"
    model its source)."""
    if words_file is not None:
        words, source = read_words(words_file)[:limit], f"--words {words_file}"
    else:
        words, source = kb_label_words(dataset, "en", limit), f"--dataset {dataset}"
    if len(words) < 2:
        raise UsageError(
            f"{source}: {len(words)} word{'s' if len(words) != 1 else ''}; Mirror-BERT needs at "
            "least 2 (the other words of a batch are each word's negatives)"
        )
    return words


def check_output_dir(output_dir: Path, inputs: Sequence[tuple[str, Path | str | None]]) -> None:
    """Before any work: `--output_dir` can be written (its parents are folders, it is no
    file) and is not, nor holds, nor lies inside a local input (`(argument, path)` pairs): the
    tuned folder replaces it whole."""
    from prixlm.outputs.atomic import check_parent

    target = check_parent(output_dir, "--output_dir").resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"--output_dir {output_dir}: a file is there; a folder is written")
    for argument, source in inputs:
        if source is None or not Path(source).exists():
            continue
        source_path = Path(source).resolve()
        if target == source_path:
            where = "is"
        elif target in source_path.parents:
            where = "holds"
        elif source_path in target.parents:
            where = "is inside"
        else:
            continue
        raise UsageError(
            f"--output_dir {output_dir}: {where} {argument} {source} (the tuned folder would "
            "replace or change what it reads); choose a folder outside it"
        )


def load_encoder(model_dir: str | Path) -> tuple[Any, Any]:
    """`(model, tokenizer)` of a Prix-LM folder or a masked-LM folder, ready to train (CPU)."""
    model, tokenizer, _ = load_model(model_dir, "cpu")
    return model.train(), tokenizer


def mirror_tune(
    model_dir: str | Path,
    output_dir: str | Path,
    words: Sequence[str],
    seed: int = 0,
    max_steps: int = -1,
    **overrides: Any,
) -> Path:
    """Mirror-tune the model in `model_dir` on `words`; save it as a model folder `output_dir`.

    `overrides` replace `MIRROR_DEFAULTS` entries (e.g. `batch_size=16`); `max_steps > 0`
    caps the steps (else `num_train_epochs`). The folder is written atomically; its config
    records the pooling (`POOLING_CONFIG_KEY`), which `load_embedder` then uses by default.
    """
    from transformers import set_seed

    from prixlm.outputs.atomic import atomic_folder, disk_errors

    unknown = set(overrides) - set(MIRROR_DEFAULTS)
    if unknown:
        raise TypeError(
            f"unknown Mirror-BERT settings {sorted(unknown)}; known: {sorted(MIRROR_DEFAULTS)}"
        )
    settings = {**MIRROR_DEFAULTS, **overrides}
    if settings["pooling"] not in EMBEDDING_POOLING:
        raise ValueError(f"pooling={settings['pooling']!r}: expected one of {EMBEDDING_POOLING}")
    if len(words) < 2:  # one word: no negative, a loss of 0 and an untouched model
        raise ValueError(f"{len(words)} word(s) to tune on: at least 2")
    set_seed(seed)
    model, tokenizer = load_encoder(model_dir)
    output_dir = Path(output_dir)
    work_dir = output_dir.with_name(f".{output_dir.name}.trainer")
    arguments = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        num_train_epochs=settings["num_train_epochs"],
        max_steps=max_steps,
        weight_decay=settings["weight_decay"],
        lr_scheduler_type="constant",
        save_strategy="no",
        logging_steps=10,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        seed=seed,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    trainer = MirrorTrainer(
        model=model,
        args=arguments,
        train_dataset=[{"text": word} for word in words],
        data_collator=MirrorCollator(
            tokenizer,
            settings["max_length"],
            settings["span_mask_length"],
            settings["min_masked_chars"],
            seed,
        ),
        temperature=settings["temperature"],
        pooling=settings["pooling"],
    )
    try:  # the Trainer's scratch folder goes also when training or saving fails
        trainer.train()
        model.eval()
        setattr(model.config, POOLING_CONFIG_KEY, settings["pooling"])  # what it was tuned for
        with atomic_folder(output_dir, argument="--output_dir") as staging:
            with disk_errors(output_dir, "--output_dir"):  # a full disk: named
                model.save_pretrained(staging)
                tokenizer.save_pretrained(staging)
            if "end_of_object_token_id" in model.config.to_dict():
                _complete_prixlm_folder(Path(model_dir), staging)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # the Trainer's scratch (no checkpoints)
    return output_dir


#: The source run's record of the facts its weights were trained on (`train.py`): Mirror
#: tuning reads words, no facts, so the tuned weights were trained on the same ones.
TRAINING_RECORD = "train_results.json"


def _complete_prixlm_folder(source: Path, staging: Path) -> None:
    """A tuned Prix-LM folder as a release: the Hub code its config names (the pipeline,
    the decoders) and the source folder's candidates, relations and training record, when
    it has them. The record tells the commands that read a folder's training facts (the xel
    command's seen links, evaluate_lp's training-facts check) what the tuned weights were
    trained on; without it, every link of `--training_dataset` counted as seen."""
    from prixlm.release.folder import CANDIDATES_FILE, RELATIONS_FILE, complete_release_folder

    for name in (CANDIDATES_FILE, RELATIONS_FILE, TRAINING_RECORD):
        if (source / name).is_file():
            shutil.copyfile(source / name, staging / name)
    complete_release_folder(staging)


def main(argv: list[str] | None = None) -> Path:
    parser = command_parser("prixlm.similarity.mirror", __doc__)
    parser.add_argument(
        "--model", required=True, help=f"a Prix-LM or masked-LM model folder; {MODEL_CODE_HELP}"
    )
    parser.add_argument("--output_dir", required=True, type=Path, help="the tuned model folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--words", type=Path, help="word list, one per line")
    source.add_argument(
        "--dataset",
        type=Path,
        default=Path("outputs/demo/dataset"),
        help="KB folder whose English labels' most frequent words are the input (not "
        "allowed with --words)",
    )
    parser.add_argument(
        "--num_words",
        type=int,
        default=MIRROR_DEFAULTS["num_words"],
        help="words used: the first of --words, or the most frequent of --dataset",
    )
    parser.add_argument(
        "--batch_size", type=int, default=MIRROR_DEFAULTS["batch_size"], help="pairs per step"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=MIRROR_DEFAULTS["temperature"],
        help="tau of the InfoNCE loss",
    )
    parser.add_argument(
        "--learning_rate",
        type=float,
        default=MIRROR_DEFAULTS["learning_rate"],
        help="AdamW's, constant (no schedule)",
    )
    parser.add_argument(
        "--num_train_epochs",
        type=float,
        default=MIRROR_DEFAULTS["num_train_epochs"],
        help="epochs over the words",
    )
    parser.add_argument(
        "--pooling",
        choices=EMBEDDING_POOLING,
        default=MIRROR_DEFAULTS["pooling"],
        help="a word's embedding: its first token's state (Mirror-BERT) or the mean of its "
        "tokens'; the tuned folder's config records it for the embedders",
    )
    parser.add_argument("--max_steps", type=int, default=-1, help="> 0: cap the steps")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the training (order, dropout, masks)"
    )
    args = parser.parse_args(renamed_options(argv, {"--output": "--output_dir"}))
    for name, low in (("num_words", 2), ("batch_size", 2)):  # in-batch negatives: 2 at least
        if getattr(args, name) < low:
            parser.error(f"--{name} {getattr(args, name)}: at least {low}")
    for name in ("temperature", "learning_rate", "num_train_epochs"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name} {getattr(args, name)}: more than 0")
    if args.max_steps == 0 or args.max_steps < -1:
        parser.error(f"--max_steps {args.max_steps}: at least 1 (or -1: --num_train_epochs)")
    with user_errors():  # a missing file or folder, a word list of one: one line, exit 2
        check_model_source(args.model)
        words_source = ("--words", args.words) if args.words else ("--dataset", args.dataset)
        check_output_dir(args.output_dir, [("--model", args.model), words_source])
        words = input_words(args.words, args.dataset, args.num_words)
        return mirror_tune(
            args.model,
            args.output_dir,
            words,
            seed=args.seed,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            temperature=args.temperature,
            learning_rate=args.learning_rate,
            num_train_epochs=args.num_train_epochs,
            pooling=args.pooling,
        )


if __name__ == "__main__":
    main()
