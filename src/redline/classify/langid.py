"""A light language identifier for the languages the classifier was trained on.

Script first (Han → ``zh``, Arabic → ``ar``, Cyrillic → ``ru``), then, for Latin
text, stopword and diacritic evidence for ``en``/``es``/``fr``/``de``/``pt``.
Other languages that are common enough to be mistaken for these (Italian, Dutch,
Polish, Turkish, Ukrainian, Japanese, Korean, Hindi …) are recognised only in
order to answer ``"unknown"`` for them: the classifier has not been trained on
them and must say so.

What callers may rely on: :func:`identify` is a pure function of its input,
returns one of :data:`LANGUAGES` or ``"unknown"``, and is cheap (one pass over
the characters and one over the words). Text with no linguistic evidence at all
(a command line, a number, code with ASCII identifiers) is ``"en"``, because the
classifier reads ASCII tokens as English; text too short to tell is the
caller's problem to flag (see ``readability``).
"""

from __future__ import annotations

import re
import unicodedata

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "ru", "zh", "ar", "pt")
UNKNOWN = "unknown"

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Short, high-frequency function words. A word may appear in several lists: it
# then counts for each, and the distinctive words decide.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the a an and or of to in on for with is are was were be been this that these those it its "
        "from by at as not no but if then than so do does did have has had will would can could should "
        "i you he she we they me my your our their them his her what which who whom how why where when "
        "all any each every some there here about into over after before please"
    ),
    "es": _words(
        "el la los las un una unos unas y o de del en con por para es son fue ser está están esta este "
        "esto estos estas que qué como cómo cuando dónde donde pero si no sí su sus al lo le les se nos "
        "mi mis tu tus muy más también todos todas cada hay sobre entre sin hasta desde porque ya"
    ),
    "fr": _words(
        "le la les un une des et ou de du en dans avec pour par sur est sont été être ce cette ces cet "
        "que qui quoi comment quand où mais si ne pas plus son sa ses leur leurs nous vous ils elles je "
        "il elle au aux très aussi tous toutes chaque il y a entre sans depuis parce déjà moi toi"
    ),
    "de": _words(
        "der die das den dem des ein eine einen einem einer und oder von zu im in mit für auf ist sind "
        "war waren sein dieser diese dieses was wer wie wann wo warum aber wenn nicht kein keine sich "
        "wir ihr sie ich du er es auch sehr alle jede jeden jeder gibt über zwischen ohne bis seit weil "
        "schon mich dich uns nach bei aus"
    ),
    "pt": _words(
        "o a os as um uma uns umas e ou de do da dos das em no na nos nas com por para pelo pela é são "
        "foi ser está estão este esta isto esse essa que como quando onde mas se não sim seu sua seus "
        "suas ao lhe muito mais também todos todas cada há sobre entre sem até desde porque já você "
        "vocês eu ele ela eles elas"
    ),
}
# Languages we do not support, listed only so that they are not mistaken for one we do.
_OTHER_STOPWORDS: dict[str, frozenset[str]] = {
    "it": _words(
        "il lo gli della delle dei degli che di è sono con per una un non come anche questo questa "
        "quello nella nel sul alla tutti perché però molto"
    ),
    "nl": _words(
        "de het een en van in is op te dat die voor met zijn niet aan er maar ook als bij nog wat "
        "worden wordt deze naar hoe waar"
    ),
    "pl": _words("i w z na nie się to jest że do jak ale co tak od po czy jego jej być przez dla"),
    "tr": _words("ve bir bu da de için ile ne çok gibi daha ama var mi mı olan kadar"),
    "sv": _words("och att det som en på är av för med till den har inte om ett var jag"),
    "id": _words("dan yang di ini itu dengan untuk tidak dari dalam akan pada juga saya ada"),
}
# Letters that (nearly) only one supported Latin language uses.
_MARKS: dict[str, str] = {
    "ñ": "es",
    "¿": "es",
    "¡": "es",
    "ß": "de",
    "ä": "de",
    "ö": "de",
    "ü": "de",
    "œ": "fr",
    "è": "fr",
    "ê": "fr",
    "ë": "fr",
    "î": "fr",
    "ï": "fr",
    "û": "fr",
    "ù": "fr",
    "ã": "pt",
    "õ": "pt",
}


def _script(ch: str) -> str:
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "hangul"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
        return "arabic"
    if 0x0400 <= code <= 0x04FF:
        return "cyrillic"
    if ch.isascii() or 0x00C0 <= code <= 0x024F:
        return "latin"
    return "other"


def identify(text: str) -> str:
    """The language of ``text``: one of :data:`LANGUAGES`, or ``"unknown"``."""
    if text.isascii():
        # The common case, without looking at each character's script: ASCII is its own
        # NFKC form, and all its letters are Latin (``by_script`` gives the same answer).
        return _latin_language(text.casefold()) if any(ch.isalpha() for ch in text) else "en"
    return by_script(text)


def by_script(text: str) -> str:
    """:func:`identify` by counting the script of every letter."""
    text = unicodedata.normalize("NFKC", text)
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = _script(ch)
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "en"
    total = sum(counts.values())
    script, _ = max(counts.items(), key=lambda kv: kv[1])
    if counts.get("kana", 0) > 0:
        return UNKNOWN  # Japanese mixes kana with Han; we do not read it.
    # A few foreign letters (homoglyph tricks, a quoted name) do not change the script.
    for name, lang in (("han", "zh"), ("arabic", "ar"), ("cyrillic", "ru")):
        if counts.get(name, 0) >= max(2, 0.3 * total):
            if lang == "ru" and re.search("[іїєґўІЇЄҐЎ]", text):
                return UNKNOWN  # Ukrainian or Belarusian
            if lang == "ar" and re.search("[پچژگ]", text) and counts[name] > 0.5 * total:
                return UNKNOWN  # Persian/Urdu letters
            return lang
    if script != "latin":
        return UNKNOWN
    return _latin_language(text.casefold())


def _latin_language(folded: str) -> str:
    words = _WORD.findall(folded)
    scores = {lang: 0.0 for lang in ("en", "es", "fr", "de", "pt")}
    for word in words:
        for lang, stop in _STOPWORDS.items():
            if word in stop:
                scores[lang] += 1.0
    for ch, lang in _MARKS.items():
        if ch in folded:
            scores[lang] += 1.5
    other = max((sum(1 for w in words if w in stop) for stop in _OTHER_STOPWORDS.values()), default=0)
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    if scores[best] == 0:
        if other >= 2:
            return UNKNOWN
        # ASCII-only text with no evidence (commands, identifiers, names) reads as English.
        return "en" if folded.isascii() else UNKNOWN
    if other > scores[best] + 1:
        return UNKNOWN
    return best
