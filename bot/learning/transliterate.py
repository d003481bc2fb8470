"""A rough Latin spelling of Devanagari words, and a loose form of Latin words, so that "डार्क मोड" and
"dark mode" meet when unanswered questions are grouped.

Only for grouping: words the lexicon maps across scripts never get here with a difference, and a
grouping needs the two writings to land close, not a correct romanisation.
"""

from __future__ import annotations

import re

# fmt: off
_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n", "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n", "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "f", "ब": "b", "भ": "bh", "म": "m", "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
}
_VOWELS = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ee", "उ": "u", "ऊ": "oo", "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
    "ऋ": "ri", "ऑ": "o",
}
_SIGNS = {
    "ा": "aa", "ि": "i", "ी": "ee", "ु": "u", "ू": "oo", "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ृ": "ri",
    "ॉ": "o", "ं": "n", "ँ": "n", "ः": "h",  # noqa: RUF001 (the visarga, not a colon)
}
# fmt: on
_VIRAMA = "्"
_LOOSE = [(re.compile(r"ee|ii"), "i"), (re.compile(r"oo|uu"), "u"), (re.compile(r"ph"), "f"), (re.compile(r"w"), "v")]
_DOUBLED = re.compile(r"(.)\1+")


def romanised(word: str) -> str:
    """A Devanagari word in Latin letters (other words as they are), the inherent vowel dropped where
    Hindi speakers drop it ("मोड" is "mod")."""
    out: list[str] = []
    for index, char in enumerate(word):
        if char in _CONSONANTS:
            out.append(_CONSONANTS[char])
            following, after = word[index + 1 : index + 2], word[index + 2 : index + 3]
            # The inherent vowel is not said at the end, nor before a syllable with its own vowel
            # sign ("अपडेट" is "apdet", "बदलना" is "badalna").
            if following and following not in _SIGNS and following != _VIRAMA and after not in _SIGNS:
                out.append("a")
        elif char in _VOWELS:
            out.append(_VOWELS[char])
        elif char in _SIGNS:
            out.append(_SIGNS[char])
        elif char != _VIRAMA:
            out.append(char)
    return "".join(out)


def loose(word: str) -> str:
    """The word as it sounds, give or take: long vowels, doubled letters, w/v and ph/f written alike."""
    word = romanised(word)
    for pattern, replacement in _LOOSE:
        word = pattern.sub(replacement, word)
    return _DOUBLED.sub(r"\1", word)
