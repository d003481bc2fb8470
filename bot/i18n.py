"""The bot's own strings through Babel gettext catalogs in locales/, and locale-aware formatting.

The `.po` sources are compiled in memory when the bot starts, so there is no build step and no stale
`.mo` file. A catalog that is missing, broken or incomplete stops start-up with the file and line:
gettext would otherwise fall back to English silently.
"""

from __future__ import annotations

import string
from datetime import date
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import Translations

from bot.config import LANGUAGES

DOMAIN = "messages"
BABEL_LOCALES = {"en": "en_IN", "hi": "hi_IN"}
# Extraction keywords for `t(lang, "message")`: the message is the second argument.
KEYWORDS = {"t": (2,)}


class CatalogError(RuntimeError):
    """A translation catalog cannot be used; the message names the file and line."""


def catalog_path(locales_dir: Path, lang: str) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path, lang: str) -> Catalog:
    """A `.po` file parsed strictly."""
    if not path.is_file():
        raise CatalogError(f"{path}: translation catalog not found")
    try:
        with path.open("rb") as stream:
            return read_po(stream, locale=lang, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: cannot read the catalog: {error}") from error


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_catalog(path: Path, catalog: Catalog, *, require_translations: bool) -> None:
    """Every message translated (when required), none fuzzy, placeholders kept."""
    for message in catalog:
        if not message.id:
            continue
        where = f"{path}:{message.lineno}"
        if require_translations and (not message.string or message.fuzzy):
            raise CatalogError(f"{where}: no {catalog.locale} translation for {message.id!r}")
        if message.string and _placeholders(message.string) != _placeholders(message.id):
            raise CatalogError(f"{where}: the translation must keep the placeholders of {message.id!r}")


@lru_cache(maxsize=4)
def load_translations(locales_dir: Path) -> dict[str, Translations]:
    """One checked Translations object per language."""
    translations = {}
    reference: set[str] | None = None
    for lang in LANGUAGES:  # English first: its catalog lists every message the code uses
        path = catalog_path(locales_dir, lang)
        catalog = read_catalog(path, lang)
        check_catalog(path, catalog, require_translations=lang != "en")
        messages = {message.id for message in catalog if message.id}
        if reference is None:
            reference = messages
        elif missing := sorted(reference - messages):
            raise CatalogError(f"{path}: {len(missing)} messages missing, first {missing[0]!r} (run `make locales`)")
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        translations[lang] = Translations(fp=buffer, domain=DOMAIN)
    return translations


class Texts:
    """Translates the bot's strings into a reply language (`en` or `hi`)."""

    def __init__(self, locales_dir: Path):
        self._translations = load_translations(locales_dir)

    def t(self, lang: str, message: str, **values: object) -> str:
        """The message in `lang` with its `{placeholders}` filled."""
        translated = self._translations[lang].gettext(message)
        return translated.format(**values) if values else translated

    @staticmethod
    @lru_cache(maxsize=4096)
    def date(lang: str, value: date) -> str:
        """A date as readers of that language expect it (`24 Nov 2026` / `24 नव॰ 2026`). Remembered:
        a reminder run writes the same few deadlines thousands of times, and Babel takes 50 µs each."""
        return format_date(value, format="medium", locale=BABEL_LOCALES[lang])
