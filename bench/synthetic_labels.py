"""Label texts for the synthetic dumps: scripts per language and the `Labeller`.

Every draw is a pure function of a 64-bit key (splitmix64's finaliser, `mix` / `mix_array` /
`uniform`), so labels do not depend on chunking. Used by `synthetic_dumps.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_M64 = (1 << 64) - 1

# (code, script); ordered so that a few languages already mix scripts, then by size.
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "latin"), ("de", "latin_de"), ("fr", "latin_fr"), ("ja", "kana"), ("ru", "cyrillic"),
    ("zh", "han"), ("ar", "arabic"), ("es", "latin_es"), ("ko", "hangul"), ("el", "greek"),
    ("it", "latin"), ("nl", "latin"), ("pl", "latin_pl"), ("pt", "latin_es"), ("sv", "latin_de"),
    ("he", "hebrew"), ("hi", "devanagari"), ("uk", "cyrillic"), ("fa", "arabic"),
    ("ca", "latin_fr"), ("cs", "latin_pl"), ("hu", "latin_de"), ("fi", "latin_de"),
    ("tr", "latin_tr"), ("et", "latin_de"), ("th", "thai"), ("ka", "georgian"),
    ("hy", "armenian"), ("bn", "bengali"), ("ta", "tamil"), ("zh-yue", "han"),
    ("ro", "latin_pl"), ("da", "latin_de"), ("no", "latin_de"), ("id", "latin"),
    ("vi", "latin_fr"), ("sr", "cyrillic"), ("bg", "cyrillic"), ("sk", "latin_pl"),
    ("eu", "latin"), ("lt", "latin_pl"), ("sl", "latin_pl"), ("hr", "latin_pl"),
    ("eo", "latin"), ("ms", "latin"), ("kk", "cyrillic"), ("be", "cyrillic"), ("gl", "latin_es"),
    ("lv", "latin_pl"), ("ur", "arabic"), ("mr", "devanagari"), ("ne", "devanagari"),
    ("te", "telugu"), ("ml", "malayalam"), ("af", "latin"), ("cy", "latin"), ("ga", "latin_fr"),
    ("is", "latin_de"), ("la", "latin"), ("lb", "latin_de"), ("mk", "cyrillic"),
    ("nn", "latin_de"), ("oc", "latin_fr"), ("sq", "latin_fr"), ("sw", "latin"),
    ("tl", "latin"), ("az", "latin_tr"), ("bs", "latin_pl"), ("br", "latin_fr"),
    ("an", "latin_es"), ("ast", "latin_es"), ("ceb", "latin"), ("war", "latin"),
    ("fy", "latin_de"), ("yi", "hebrew"), ("arz", "arabic"), ("tt", "cyrillic"),
    ("ba", "cyrillic"), ("ky", "cyrillic"), ("mn", "cyrillic"), ("uz", "latin_tr"),
    ("kn", "kannada"), ("gu", "gujarati"), ("pa", "gurmukhi"), ("si", "sinhala"),
    ("my", "myanmar"), ("km", "khmer"), ("lo", "lao"), ("am", "ethiopic"),
    ("be-x-old", "cyrillic"), ("zh-min-nan", "latin_fr"),
)  # fmt: skip

_CONSONANTS = "bcdfghklmnprstvz"
_LATIN_EXTRA = {  # vowels a language adds to a, e, i, o, u
    "latin": "",
    "latin_de": "äöü",
    "latin_fr": "éèêàç",
    "latin_es": "áéíóúñ",
    "latin_pl": "ąęółšž",
    "latin_tr": "ğışçö",
}
_RANGES = {  # script: (consonants or characters, vowel signs or None)
    "cyrillic": ("бвгдзклмнпрстфхцчш", "аеиоуыяю"),
    "greek": ("βγδκλμνπρστφχ", "αεηιουω"),
    "arabic": ("بتجحدرزسشعفقكلمنهوي", "اوي"),
    "hebrew": ("אבגדהוזחטיכלמנסעפצקרשת", "וי"),
    "devanagari": ("कखगचजटडतदनपबमयरलवसह", "ािीुेो"),
    "bengali": ("কখগচজটডতদনপবমযরলসহ", "ািীুেো"),
    "tamil": ("கசடதநபமயரலவழளறன", "ாிீுூெே"),
    "telugu": ("కగచజటడతదనపబమయరలవసహ", "ాిీుూెో"),
    "malayalam": ("കഗചജടഡതദനപബമയരലവസഹ", "ാിീുൂെോ"),
    "kannada": ("ಕಗಚಜಟಡತದನಪಬಮಯರಲವಸಹ", "ಾಿೀುೂೆೋ"),
    "gujarati": ("કગચજટડતદનપબમયરલવસહ", "ાિીુૂેો"),
    "gurmukhi": ("ਕਗਚਜਟਡਤਦਨਪਬਮਯਰਲਵਸਹ", "ਾਿੀੁੂੇੋ"),
    "sinhala": ("කගචජටඩතදනපබමයරලවසහ", "ාිීුූෙො"),
    "thai": ("กขคงจชดตทนบปผพมยรลวสห", "ะาิีุูเ"),
    "lao": ("ກຂຄງຈຊດຕທນບປຜພມຢຣລວສຫ", "ະາິີຸູ"),
    "khmer": ("កខគងចឆជញដតថទនបផពមយរលវសហ", "ាិីឹុូេ"),
    "myanmar": ("ကခဂငစဆဇညတထဒနပဖဗမယရလဝသဟ", "ါာိီုူေ"),
    "georgian": ("ბგდვზთკლმნპჟრსტფქღყშჩცძწჭხჯჰ", "აეიოუ"),
    "armenian": ("բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ", "աեէըիոու"),
    "ethiopic": ("ለሐመሠረሰቀበተኀነአከወዐዘየደገጠጰጸፀፈፐ", None),
    "kana": ("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン", None),
    "han": ("".join(chr(c) for c in range(0x4E00, 0x4E00 + 400, 2)), None),
    "hangul": ("".join(chr(0xAC00 + 28 * k) for k in range(399)), None),
}  # fmt: skip
_SPACED = {"han": False, "kana": False, "thai": False, "lao": False, "khmer": False}
_QUALIFIERS = ("film", "album", "band", "river", "city", "village", "footballer", "novel")


def mix(x: int) -> int:
    """splitmix64's finaliser: a 64-bit integer to a well-spread 64-bit integer."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def mix_array(x: np.ndarray) -> np.ndarray:
    """`mix` over a `uint64` array (same values)."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniform(x: np.ndarray) -> np.ndarray:
    """`mix_array(x)` as floats in [0, 1)."""
    return (mix_array(x) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def language_codes(count_or_codes: int | Sequence[str]) -> list[str]:
    """The first `count` codes of `LANGUAGES`, or the given codes (checked)."""
    known = dict(LANGUAGES)
    if isinstance(count_or_codes, int):
        if not 1 <= count_or_codes <= len(LANGUAGES):
            raise ValueError(f"--languages {count_or_codes}: between 1 and {len(LANGUAGES)}")
        return [code for code, _ in LANGUAGES[:count_or_codes]]
    unknown = [code for code in count_or_codes if code not in known]
    if unknown or not count_or_codes:
        raise ValueError(f"--languages: unknown codes {unknown}; known: {', '.join(known)}")
    return list(count_or_codes)


def _syllables(script: str) -> tuple[list[str], bool]:
    """The syllables of a script (all of one length in code points) and whether words are
    separated by spaces."""
    if script.startswith("latin"):
        vowels = "aeiou" + _LATIN_EXTRA[script]
        return [c + v for c in _CONSONANTS for v in vowels], True
    consonants, vowels = _RANGES[script]
    if vowels is None:
        return list(consonants), _SPACED.get(script, True)
    return [c + v for c in consonants for v in vowels], _SPACED.get(script, True)


class Labeller:
    """Label texts of one language: `labels(ids)` gives each concept id a unique label.

    A label is the concept's id written in a fixed number of syllables (so two ids never
    share a label: the head decodes to the id), then 0-3 extra words drawn from a skewed
    vocabulary of 2,048 words and, one label in 8, a qualifier: `Kabemo tesa (film)`.
    Vectorised over a chunk of ids (numpy draws, one string assembly per label).
    """

    def __init__(self, script: str, max_id: int, key: int) -> None:
        syllables, spaced = _syllables(script)
        base = len(syllables)
        pairs = 1  # head = first syllable + `pairs` two-syllable pieces
        while base ** (1 + 2 * pairs) <= max_id:
            pairs += 1
        self.base, self.pairs, self.key = base, pairs, key
        capital = script.startswith("latin") or script in ("cyrillic", "greek", "armenian")
        self.first = [s[0].upper() + s[1:] if capital else s for s in syllables]
        self.two = [a + b for a in syllables for b in syllables]
        vocab = []
        for k in range(2048):
            h = mix(key ^ ((k + 1) * 0x9E37))
            width = 1 + h % 3
            vocab.append("".join(syllables[(h >> (8 + 8 * j)) % base] for j in range(width)))
        separator = " " if spaced else ""
        self.words = [separator + word for word in vocab]
        self.qualifiers = [f" ({q})" for q in _QUALIFIERS] + [""] * (16 - len(_QUALIFIERS))

    def labels(self, ids: np.ndarray) -> list[str]:
        """The labels of `ids` (`(n,)` non-negative integers), in order."""
        ids = np.asarray(ids, dtype=np.uint64)
        base = np.uint64(self.base)
        first = (ids % base).tolist()
        rest = ids // base
        square = np.uint64(self.base * self.base)
        pieces = []
        for _ in range(self.pairs):
            pieces.append((rest % square).tolist())
            rest = rest // square
        h = mix_array(ids ^ np.uint64(self.key))
        extra = np.array([0, 1, 1, 1, 2, 2, 3, 0], dtype=np.int64)[
            (h & np.uint64(7)).astype(np.int64)
        ]
        ranks = []
        for k in range(3):
            u = ((h >> np.uint64(3 + 12 * k)) & np.uint64(0xFFF)).astype(np.float64) / 4096.0
            rank = (2048 * u**3).astype(np.int64)  # skewed towards common words
            ranks.append(np.where(extra > k, rank, -1).tolist())
        qualifier = ((h >> np.uint64(50)) & np.uint64(15)).astype(np.int64)
        qualifier = np.where(qualifier < len(_QUALIFIERS), qualifier, 15)
        qualifier = np.where((h >> np.uint64(40)) & np.uint64(3), 15, qualifier).tolist()
        two, words, quals, heads = self.two, self.words, self.qualifiers, []
        if self.pairs == 1:
            heads = [self.first[a] + two[b] for a, b in zip(first, pieces[0], strict=True)]
        else:
            heads = [
                self.first[a] + "".join(two[p[k]] for k in range(self.pairs))
                for a, p in zip(first, zip(*pieces, strict=True), strict=True)
            ]
        empty = ""
        words = [*words, empty]  # rank -1 -> no word
        return [
            head + words[a] + words[b] + words[c] + quals[q]
            for head, a, b, c, q in zip(heads, *ranks, qualifier, strict=True)
        ]

    def label(self, i: int) -> str:
        """The label of one concept id."""
        return self.labels(np.array([i], dtype=np.uint64))[0]
