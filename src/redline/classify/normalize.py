"""Text normalisation: undo the cheap tricks that hide words from signals and models.

``normalize`` applies, in order: Unicode NFKC; removal of zero-width, soft-hyphen
and bidi control characters; folding of Latin look-alike letters from other
scripts *inside words that are mostly Latin* (so Russian or Greek text is left
alone); leetspeak folding *inside words that mix letters and digits/symbols* (so
"2024" and "$5" are left alone); re-joining words spelt out with separators
("s u r v e i l" or "s.u.r.v.e.i.l"); whitespace collapse; and case folding.
The result is for matching and classification, never shown to a person.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Zero-width characters, soft hyphen, word joiner, BOM, and bidi embedding/override/isolate controls.
_INVISIBLE = dict.fromkeys(
    [
        173,
        847,
        1564,
        4447,
        4448,
        6068,
        6069,
        6158,
        12644,
        65279,
        65440,
        *list(range(8203, 8208)),
        *list(range(8234, 8239)),
        *list(range(8288, 8304)),
    ],
)

# Letters of Cyrillic, Greek and other scripts that look like Latin letters.
_CONFUSABLES = {
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y",
    "х": "x", "ԝ": "w", "ɡ": "g", "ӏ": "l", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
    "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ѵ": "v",
    "ɑ": "a", "ı": "i", "ȷ": "j", "ℓ": "l",
}  # fmt: skip
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
         "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"}  # fmt: skip

_WORD = re.compile(r"\S+")
_HAS_ALPHA = re.compile(r"[^\W\d_]")
_LEET_CHARS = re.compile(r"[013457892@$!|+€]")
# Four or more single characters separated by one space, dot, dash, underscore or asterisk.
_SPACED = re.compile(r"(?<!\w)(?:\w[ .\-_*]){3,}\w(?!\w)")
_SPACE = re.compile(r"\s+")


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z" or "A" <= ch <= "Z"


@functools.lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> str:
    letters = [c for c in word if _HAS_ALPHA.match(c)]
    if not letters:
        return word
    latin = sum(1 for c in letters if _is_latin(c))
    if latin and latin * 2 >= len(letters):
        word = "".join(_CONFUSABLES.get(c.lower(), c) for c in word)
    if _LEET_CHARS.search(word) and latin:
        stripped = word.strip(".,;:?!\"'()[]{}")
        # Only fold a token that is letters with leet characters inside it, not numbers or prices.
        if stripped and any(_is_latin(c) for c in stripped) and not stripped.replace(".", "").isdigit():
            core = "".join(_LEET.get(c, c) for c in stripped)
            word = word.replace(stripped, core, 1)
    return word


def _join_spaced(match: re.Match[str]) -> str:
    return re.sub(r"[ .\-_*]", "", match.group(0))


def normalize(text: str) -> str:
    """Return ``text`` normalised for matching: see the module docstring."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _WORD.sub(lambda m: _fold_word(m.group(0)), text)
    text = _SPACED.sub(_join_spaced, text)
    return _SPACE.sub(" ", text).strip().casefold()
