"""The bot's own strings through Babel gettext catalogs in locales/, and locale-aware formatting.

The `.po` sources are compiled in memory when the bot starts, so there is no build step and no stale
`.mo` file. A catalog that is missing, broken or incomplete stops start-up with the file and line:
gettext would otherwise fall back to English silently.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
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
# Babel's medium Hindi date abbreviates months ("29 नव॰ 2026"); field staff read the full name.
DATE_FORMATS = {"en": "medium", "hi": "long"}
# Extraction keywords for `t(lang, "message")` and `n(lang, "one", "many", count)`.
KEYWORDS = {"t": (2,), "n": (2, 3)}


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


def _placeholders(text: str | Iterable[str]) -> set[str]:
    """The named placeholders of a message, or of all forms of a plural one."""
    forms = [text] if isinstance(text, str) else text
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def forms(value: object) -> tuple[str, ...]:
    """A catalog message's id or translation as its forms: one, or one per plural form."""
    if isinstance(value, (tuple, list)):
        return tuple(str(form or "") for form in value)
    return (str(value or ""),)


def check_catalog(path: Path, catalog: Catalog, *, require_translations: bool) -> None:
    """Every message translated (when required), none fuzzy, placeholders kept."""
    for message in catalog:
        if not message.id:
            continue
        where = f"{path}:{message.lineno}"
        if require_translations and (not all(forms(message.string)) or message.fuzzy):
            raise CatalogError(f"{where}: no {catalog.locale} translation for {message.id!r}")
        expected = _placeholders(forms(message.id)[0])
        if any(form and _placeholders(form) != expected for form in forms(message.string)):
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
        messages = {forms(message.id)[0] for message in catalog if message.id}  # a plural: by its singular
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

    def n(self, lang: str, singular: str, plural: str, count: int, **values: object) -> str:
        """The form of the message that agrees with `count` ("1 कोर्स पूरा", "3 कोर्स पूरे"), filled in."""
        return self._translations[lang].ngettext(singular, plural, count).format(**values)

    @staticmethod
    @lru_cache(maxsize=4096)
    def date(lang: str, value: date) -> str:
        """A date as readers of that language expect it (`24 Nov 2026` / `24 नवंबर 2026`). Remembered:
        a reminder run writes the same few deadlines thousands of times, and Babel takes 50 µs each."""
        return format_date(value, format=DATE_FORMATS[lang], locale=BABEL_LOCALES[lang])
