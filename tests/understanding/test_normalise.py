"""Normalisation keeps Devanagari whole, unlike rapidfuzz's default processor."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz, utils

from bot.understanding.normalise import normalise, stem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("पासवर्ड भूल गया", "पासवर्ड भूल गया"),
        ("OTP nahi aa raha!!!", "otp nahi aa raha"),
        ("सर्टिफ़िकेट   नहीं मिला।", "सर्टिफिकेट नहीं मिला"),  # nukta folded, danda is punctuation
        ("हाँ", "हां"),  # chandrabindu and anusvara are written interchangeably
        ("कक्षा १० पास", "कक्षा 10 पास"),
        ("\uff23\uff45\uff52\uff54\uff49\uff46\uff49\uff43\uff41\uff54\uff45", "certificate"),  # full-width letters
        ("plzzzzz help", "plzz help"),
        ("e-mail\u200d id", "e mail id"),
        ("प्र\u200cमाण", "प्रमाण"),
        ("\x00\x1b[31m'; DROP TABLE employee;--", "31m drop table employee"),
        ("🙏🙏", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_composed_and_decomposed_forms_are_equal():
    decomposed = "क\u093c"  # ka + nukta
    assert normalise(decomposed) == normalise("\u0958") == "क"


def test_default_process_breaks_devanagari_but_ours_does_not():
    assert utils.default_process("पासवर्ड भूल गया") == "प सवर ड भ ल गय"
    score = fuzz.ratio("पासवर्ड भूल गया", "पासवर्ड भूल गई", processor=normalise)
    assert 80 < score < 100


@pytest.mark.parametrize(
    ("words", "common"),
    [
        (["certificate", "certificates"], "certificat"),
        (["receive", "received", "receiving"], "receiv"),
        (["verify", "verified"], "verifi"),
        (["मिला", "मिली", "मिलेगा"], "मिल"),
        (["करना", "करने"], "कर"),
    ],
)
def test_stem_brings_inflections_together(words, common):
    assert {stem(word) for word in words} == {common}


def test_stem_leaves_short_words_alone():
    assert stem("otp") == "otp"
    assert stem("पद") == "पद"
