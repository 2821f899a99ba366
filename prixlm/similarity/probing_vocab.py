"""The answer vocabulary of the paper's probing protocol (§3.5): whole words only.

"Punctuation, stop words, and incomplete word pieces are filtered out from the vocabulary
during prediction." A token id may be predicted when it is none of:

- a special or added token (`<s>`, `<pad>`, `<mask>`, `[S]`, `[P]`, `[O]`, `[EOS]`, `[de]`...),
  or an id beyond the tokenizer (a model vocabulary padded past it);
- an incomplete word piece: in a SentencePiece vocabulary (XLM-R's, ours) a piece that does
  not start a word (no leading `▁`) or the bare `▁`; in a WordPiece vocabulary one that
  starts with `##`;
- punctuation: a word made only of Unicode punctuation or symbols (categories P*, S*);
- a stop word of the probe's language (`STOP_WORDS`, case-folded; or the caller's list).

`STOP_WORDS` are short lists of function words (articles, pronouns, auxiliaries,
prepositions, conjunctions) for the paper's nine languages; other languages get none unless
the caller passes a list.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import torch

WORD_START = "▁"  # SentencePiece's word-start marker
WORDPIECE_CONTINUATION = "##"

STOP_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "en": "a an the and or but of in on at to for from by with as is are was were be been "
        "it its this that these those he she they we you i his her their our not no which who "
        "what also has have had do does did",
        "de": "der die das den dem des ein eine einer eines einem einen und oder aber in im an "
        "am auf zu zum zur von vom mit für aus bei ist sind war waren wird werden es er sie "
        "wir ihr ich nicht kein keine auch als wie",
        "fr": "le la les l un une des du de d et ou mais en dans au aux sur à pour par avec est "
        "sont était il elle ils elles on nous vous je ce cette ces qui que ne pas se sa son ses",
        "it": "il lo la i gli le l un uno una di del della dei delle da dal in nel nella a al "
        "alla e o ma per con su è sono era che non si suo sua suoi lui lei noi voi io",
        "fi": "ja tai mutta on ovat oli olivat ei se ne hän he me te minä sinä joka jotka kuin "
        "myös että tämä nämä tuo sen sekä kanssa",
        "et": "ja või aga on oli olid ei see need tema nad meie teie mina sina kes mis kui ka "
        "et selle seda ning koos",
        "tr": "ve veya ama bir bu şu o da de ile için gibi çok daha en ne ki mi değil olan "
        "olarak ise ben sen biz siz onlar",
        "hu": "a az egy és vagy de is nem van volt vannak hogy ez az azt ezt mint meg el ki "
        "be le én te ő mi ti ők",
        "ja": "の に は を た が で て と し れ さ ある いる も する から な こと として い や "
        "れる など なっ ない この ため その あっ よう また もの という あり まで られ なる へ か "
        "だ これ によって により おり より による ず なり られる において ば なかっ なく しかし "
        "について せ だっ その後 できる それ う ので なお のみ でき き つ における および いう "
        "さらに でも ら たり その他 に関する たち ます ん なら です",
    }.items()
}


def stop_words(language: str) -> frozenset[str]:
    """The built-in stop words of `language` (empty for a language without a list)."""
    return STOP_WORDS.get(language, frozenset())


def _is_punctuation(word: str) -> bool:
    return all(unicodedata.category(char)[0] in "PS" or char.isspace() for char in word)


def answer_vocabulary(tokenizer: Any, vocab_size: int, stop: Iterable[str] = ()) -> torch.Tensor:
    """`(vocab_size,)` bool: True for the ids a probe may predict (see the module doc).

    Args:
        tokenizer: the model's tokenizer.
        vocab_size: the model's output size (ids from `len(tokenizer)` on are never allowed).
        stop: stop words to exclude (compared case-folded, marker stripped).
    """
    stop = {word.casefold() for word in stop}
    allowed = torch.zeros(vocab_size, dtype=torch.bool)
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(vocab_size, len(tokenizer)))))
    sentencepiece = any(piece.startswith(WORD_START) for piece in pieces if piece)
    excluded = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())
    for token_id, piece in enumerate(pieces):
        if token_id in excluded or not piece:
            continue
        if sentencepiece:
            if not piece.startswith(WORD_START):
                continue  # continues a word
            word = piece[len(WORD_START) :]
        else:
            if piece.startswith(WORDPIECE_CONTINUATION):
                continue
            word = piece
        if not word or _is_punctuation(word) or word.casefold() in stop:
            continue
        allowed[token_id] = True
    return allowed


__all__ = ["STOP_WORDS", "answer_vocabulary", "stop_words"]
