"""Text normalisation that is safe for Devanagari.

rapidfuzz's `default_process` treats Devanagari vowel signs and the virama as punctuation
(`'पासवर्ड भूल गया'` becomes `'प सवर ड भ ल गय'`), so the bot normalises with `normalise` instead: letters,
combining marks and digits are kept, everything else separates words.
"""

from __future__ import annotations

import re
import unicodedata

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_NUKTA = "\u093c"
# Spelling choices that Hindi writers make freely: nukta dots (ज़/ज), chandrabindu vs anusvara (हाँ/हां).
_LOOSE_SPELLINGS = str.maketrans({_NUKTA: None, "\u0901": "\u0902"})
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(.)\1{2,}")  # "plzzzz" -> "plzz", "hiii" -> "hii"


def normalise(text: str) -> str:
    """NFKC, casefolded, digits in ASCII, punctuation and symbols turned into single spaces."""
    text = unicodedata.normalize("NFD", text.translate(_INVISIBLE))
    # NFKC rather than plain NFC also folds full-width and other compatibility forms of letters.
    text = unicodedata.normalize("NFKC", text.translate(_LOOSE_SPELLINGS)).casefold()
    text = text.translate(_DEVANAGARI_DIGITS)
    kept = [char if unicodedata.category(char)[0] in "LMN" else " " for char in text]
    return _SPACES.sub(" ", _REPEATS.sub(r"\1\1", "".join(kept))).strip()


def is_devanagari(char: str) -> bool:
    return "\u0900" <= char <= "\u097f"


# Light stemming: inflections that change nothing a helpdesk question is about.
# Hindi suffixes after Ramanathan & Rao, "A Lightweight Stemmer for Hindi" (2003), longest first.
# fmt: off
# Laid out by suffix length (in characters), longest first; the formatter would unroll it to one a line.
_HINDI_SUFFIXES = sorted(
    [
        "ाएंगी", "ाएंगे", "ाऊंगी", "ाऊंगा", "ाइयां", "ाइयों",
        "ाएगी", "ाएगा", "ाओगी", "ाओगे", "एंगी", "ेंगी", "एंगे", "ेंगे", "ूंगी", "ूंगा", "ातीं", "नाओं",
        "नाएं", "ताओं", "ताएं", "ियां", "ियों",
        "ाकर", "ाइए", "ाईं", "ाया", "ेगी", "ेगा", "ोगी", "ोगे", "ाने", "ाना", "ाते", "ाती",
        "ाता", "तीं", "ाओं", "ाएं", "ुओं", "ुएं", "ुआं",
        "कर", "ाओ", "िए", "ाई", "ाए", "ने", "नी", "ना", "ते", "ीं", "ती", "ता",
        "ां", "ों", "ें",
        "ो", "े", "ू", "ु", "ी", "ि", "ा",
    ],
    key=len,
    reverse=True,
)
# fmt: on
_ENGLISH_SUFFIXES = ("ing", "ed", "s")


def stem(token: str) -> str:
    """The token without its inflectional ending, when enough of a word remains."""
    if not token:
        return token
    if is_devanagari(token[0]):
        for suffix in _HINDI_SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 2:
                return token[: -len(suffix)]
        return token
    if len(token) < 4 or not token.isascii() or not token.isalpha():
        return token
    for suffix in _ENGLISH_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
            token = token[: -len(suffix)]
            break
    # "receive"/"received" and "verify"/"verified" meet at "receiv" and "verifi".
    if token.endswith("e") and len(token) > 3:
        return token[:-1]
    if token.endswith("y") and len(token) > 3:
        return token[:-1] + "i"
    return token
