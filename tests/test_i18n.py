"""The bot's strings: every one translated into Hindi, and broken catalogs stop start-up."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.config import PROJECT_ROOT
from bot.i18n import KEYWORDS, CatalogError, Texts, catalog_path, load_translations, read_catalog

LOCALES = PROJECT_ROOT / "locales"


def messages_in_code() -> set[str]:
    found = extract_from_dir(PROJECT_ROOT / "bot", method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=())
    return {message for _, _, message, _, _ in found}


def test_every_message_in_the_code_has_a_hindi_translation():
    catalog = read_catalog(catalog_path(LOCALES, "hi"), "hi")
    translated = {message.id for message in catalog if message.id and message.string and not message.fuzzy}
    missing = messages_in_code() - translated
    assert not missing, f"run `make locales` and translate in locales/hi: {sorted(missing)}"


def test_catalogs_hold_no_messages_the_code_no_longer_uses():
    code = messages_in_code()
    for lang in ("en", "hi"):
        catalog = read_catalog(catalog_path(LOCALES, lang), lang)
        stale = {message.id for message in catalog if message.id} - code
        assert not stale, f"{lang}: {sorted(stale)}"


def test_texts_translate_and_fill_placeholders():
    texts = Texts(LOCALES)
    assert texts.t("hi", "Yes") == "हाँ"
    assert texts.t("en", "Yes") == "Yes"
    assert texts.date("en", date(2026, 11, 24)) == "24 Nov 2026"
    assert "2026" in texts.date("hi", date(2026, 11, 24))


def copy_locales(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(LOCALES, target)
    load_translations.cache_clear()
    return target


def test_a_missing_catalog_stops_start_up(tmp_path):
    locales = copy_locales(tmp_path)
    catalog_path(locales, "hi").unlink()
    with pytest.raises(CatalogError, match=r"hi/LC_MESSAGES/messages\.po: translation catalog not found"):
        Texts(locales)


def test_an_untranslated_message_stops_start_up_with_its_line(tmp_path):
    locales = copy_locales(tmp_path)
    path = catalog_path(locales, "hi")
    path.write_text(path.read_text(encoding="utf-8").replace('msgstr "हाँ"', 'msgstr ""'), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"messages\.po:\d+: no hi translation for 'Yes'"):
        Texts(locales)


def test_a_fuzzy_translation_stops_start_up(tmp_path):
    locales = copy_locales(tmp_path)
    path = catalog_path(locales, "hi")
    text = path.read_text(encoding="utf-8").replace('msgid "Yes"', '#, fuzzy\nmsgid "Yes"', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="no hi translation for 'Yes'"):
        Texts(locales)


def test_a_garbled_catalog_stops_start_up(tmp_path):
    locales = copy_locales(tmp_path)
    catalog_path(locales, "hi").write_text('msgid "Yes"\nmsgstr "हाँ"\nmsgtxt "?"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        Texts(locales)


def test_a_catalog_missing_messages_stops_start_up(tmp_path):
    locales = copy_locales(tmp_path)
    catalog_path(locales, "hi").write_text('msgid "Yes"\nmsgstr "हाँ"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"hi/LC_MESSAGES/messages\.po: \d+ messages missing"):
        Texts(locales)
