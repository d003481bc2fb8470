"""English, Hindi in Devanagari and Hindi in Latin letters, also for two-word messages."""

from __future__ import annotations

import pytest

from bot.understanding.normalise import normalise

CASES = [
    ("otp nahi aa raha", "hi-Latn"),
    ("otp nhi aaya", "hi-Latn"),
    ("certificate kaise milega", "hi-Latn"),
    ("mera status", "hi-Latn"),
    ("password bhool gaya", "hi-Latn"),
    ("namaste", "hi-Latn"),
    ("dhanyavad", "hi-Latn"),
    ("madad chahiye", "hi-Latn"),
    ("sir mera certificate abhi tak nahi aaya", "hi-Latn"),
    ("reset password", "en"),
    ("download certificate", "en"),
    ("hi", "en"),
    ("thanks", "en"),
    ("my status", "en"),
    ("OTP not received", "en"),
    ("how do I download my certificate", "en"),
    ("certifcate not recieved", "en"),
    ("पासवर्ड भूल गया", "hi"),
    ("मेरी प्रगति", "hi"),
    ("certificate नहीं मिला", "hi"),
    ("ओटीपी", "hi"),
]


@pytest.mark.parametrize(("text", "lang"), CASES)
def test_detects_the_form_of_writing(brain, text, lang):
    assert brain.matcher.detector.detect(normalise(text)) == lang


@pytest.mark.parametrize("text", ["", "🙏", "12345", "காலை வணக்கம்", "你好", "Привет"])
def test_no_language_for_no_letters_or_another_script(brain, text):
    assert brain.matcher.detector.detect(normalise(text)) is None
