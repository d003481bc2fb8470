"""Loading and validating the content in faq/ and intents/ (data a helpdesk officer edits)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import LANGUAGES
from bot.understanding.normalise import is_devanagari, normalise

WRITING_FORMS = ("en", "hi", "hi-Latn")
INTENT_IDS = (
    "greet",
    "thanks",
    "help",
    "human",
    "my_status",
    "ticket_status",
    "language",
    "reminders_stop",
    "reminders_start",
)
MAX_ANSWER_CHARS = 600
MAX_TITLE_CHARS = 40
ESCALATE_VALUES = ("none", "offer")


class ContentError(ValueError):
    """A mistake in a content file, named by file, line, entry and field."""

    def __init__(self, path: Path, problem: str, *, line: int | None = None, entry: str = "", field_name: str = ""):
        where = f"{path}:{line}" if line else str(path)
        parts = [where]
        if entry:
            parts.append(f"entry '{entry}'")
        if field_name:
            parts.append(f"field '{field_name}'")
        super().__init__(f"{', '.join(parts)}: {problem}")


@dataclass(frozen=True)
class FaqEntry:
    """One knowledge-base answer with the ways users ask for it."""

    id: str
    title: dict[str, str]
    answer: dict[str, str]
    examples: dict[str, tuple[str, ...]]
    escalate: bool = False
    personal: bool = False
    state_contact: bool = False


@dataclass(frozen=True)
class Intent:
    """A conversation intent (greet, human, ...) with example messages."""

    id: str
    examples: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Lexicon:
    """How people write: spelling variants, cross-script synonyms and language cue words."""

    variants: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    function_words: frozenset[str] = frozenset()
    hinglish_words: frozenset[str] = frozenset()
    english_words: frozenset[str] = frozenset()
    yes_words: frozenset[str] = frozenset()
    no_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Knowledge:
    """Everything the bot knows, loaded and checked."""

    faqs: dict[str, FaqEntry]
    intents: dict[str, Intent]
    lexicon: Lexicon

    def title(self, topic_id: str, lang: str) -> str:
        """A topic's menu label in the given language."""
        return self.faqs[topic_id].title[lang]

    def labelled_examples(self) -> Iterator[tuple[str, str]]:
        """Every example question as (topic or intent id, text), FAQ topics first, in all writings."""
        entries: tuple[FaqEntry | Intent, ...] = (*self.faqs.values(), *self.intents.values())
        for entry in entries:
            for form in WRITING_FORMS:
                for text in entry.examples[form]:
                    yield entry.id, text


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line each mapping starts on."""


class _LineDict(dict[Any, Any]):
    line: int = 0


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=_LineLoader)
    except UnicodeDecodeError as error:
        raise ContentError(path, f"not UTF-8 text ({error.reason})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ContentError(path, f"not valid YAML: {getattr(error, 'problem', error)}", line=line) from error


def _is_devanagari_text(text: str) -> bool:
    letters = [char for char in text if unicodedata.category(char)[0] == "L"]
    devanagari = sum(1 for char in letters if is_devanagari(char))
    return bool(letters) and devanagari / len(letters) >= 0.5


class _Checker:
    """Field checks for one mapping in one file, raising ContentError with full context."""

    def __init__(self, path: Path, item: Any, index: int):
        if not isinstance(item, dict):
            raise ContentError(path, f"item {index + 1} is not a mapping of fields")
        self.path, self.item = path, item
        self.line = getattr(item, "line", None)
        self.entry = str(item.get("id") or f"#{index + 1}")

    def fail(self, field_name: str, problem: str) -> ContentError:
        return ContentError(self.path, problem, line=self.line, entry=self.entry, field_name=field_name)

    def text(self, value: object, field_name: str, *, limit: int | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_name, "is missing or empty")
        value = value.strip()
        if limit and len(value) > limit:
            raise self.fail(field_name, f"has {len(value)} characters, at most {limit} allowed")
        return value

    def per_language(self, name: str, languages: tuple[str, ...], *, limit: int | None = None) -> dict[str, str]:
        value = self.item.get(name)
        if not isinstance(value, dict):
            raise self.fail(name, f"must give a text for each of {', '.join(languages)}")
        texts = {}
        for lang in languages:
            text = self.text(value.get(lang), f"{name}.{lang}", limit=limit)
            if lang == "hi" and not _is_devanagari_text(text):
                raise self.fail(f"{name}.{lang}", "must be written in Devanagari")
            texts[lang] = text
        return texts

    def examples(self) -> dict[str, tuple[str, ...]]:
        value = self.item.get("examples")
        if not isinstance(value, dict):
            raise self.fail("examples", f"must list examples for each of {', '.join(WRITING_FORMS)}")
        examples = {}
        for form in WRITING_FORMS:
            texts = value.get(form)
            if not isinstance(texts, list) or not texts:
                raise self.fail(f"examples.{form}", "is missing or empty")
            checked = []
            for number, text in enumerate(texts, start=1):
                text = self.text(text, f"examples.{form}[{number}]")
                if (form == "hi") != _is_devanagari_text(text):
                    script = "Devanagari" if form == "hi" else "Latin letters"
                    raise self.fail(f"examples.{form}[{number}]", f"'{text}' should be in {script}")
                checked.append(text)
            examples[form] = tuple(checked)
        return examples

    def flag(self, name: str) -> bool:
        value = self.item.get(name, False)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value


def _entries(path: Path) -> list[Any]:
    data = _read_yaml(path)
    if not isinstance(data, list):
        raise ContentError(path, "must be a list of entries (each starting with '- id: ...')")
    return data


def load_faqs(folder: Path) -> dict[str, FaqEntry]:
    """Every FAQ entry in folder/*.yaml, validated."""
    faqs: dict[str, FaqEntry] = {}
    sources: dict[str, Path] = {}
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ContentError(folder, "holds no .yaml files")
    for path in files:
        for index, item in enumerate(_entries(path)):
            check = _Checker(path, item, index)
            entry_id = check.text(item.get("id"), "id")
            if entry_id in faqs:
                raise check.fail("id", f"duplicate id, already defined in {sources[entry_id]}")
            escalate = item.get("escalate", "none")
            if escalate not in ESCALATE_VALUES:
                raise check.fail("escalate", f"must be one of {', '.join(ESCALATE_VALUES)}")
            faqs[entry_id] = FaqEntry(
                id=entry_id,
                title=check.per_language("title", LANGUAGES, limit=MAX_TITLE_CHARS),
                answer=check.per_language("answer", LANGUAGES, limit=MAX_ANSWER_CHARS),
                examples=check.examples(),
                escalate=escalate == "offer",
                personal=check.flag("personal"),
                state_contact=check.flag("state_contact"),
            )
            sources[entry_id] = path
    return faqs


def load_intents(path: Path) -> dict[str, Intent]:
    """The conversation intents, validated: exactly the ids the engine handles."""
    intents: dict[str, Intent] = {}
    for index, item in enumerate(_entries(path)):
        check = _Checker(path, item, index)
        intent_id = check.text(item.get("id"), "id")
        if intent_id not in INTENT_IDS:
            raise check.fail("id", f"unknown intent; the bot handles {', '.join(INTENT_IDS)}")
        if intent_id in intents:
            raise check.fail("id", "duplicate id")
        intents[intent_id] = Intent(id=intent_id, examples=check.examples())
    missing = [intent_id for intent_id in INTENT_IDS if intent_id not in intents]
    if missing:
        raise ContentError(path, f"intents missing: {', '.join(missing)}")
    return intents


def _word_list(path: Path, data: dict[str, Any], name: str) -> frozenset[str]:
    words = data.get(name, [])
    if not isinstance(words, list):
        raise ContentError(path, "must be a list of words", line=getattr(data, "line", None), field_name=name)
    _check_words(path, words, field_name=name)
    return frozenset(normalise(word) for word in words)


def _check_words(path: Path, words: list[object], *, field_name: str, entry: str = "") -> None:
    for word in words:
        if not isinstance(word, str) or not word.strip():
            hint = " (write it in quotes: YAML reads yes/no/on/off as true/false)" if isinstance(word, bool) else ""
            raise ContentError(path, f"{word!r} is not a word{hint}", entry=entry, field_name=field_name)


def _word_groups(path: Path, data: dict[str, Any], name: str) -> dict[str, str]:
    """A `canonical: [forms]` section turned into form -> canonical."""
    groups = data.get(name, {})
    if not isinstance(groups, dict):
        raise ContentError(path, "must map each canonical word to a list of forms", field_name=name)
    mapping: dict[str, str] = {}
    for canonical, forms in groups.items():
        if not isinstance(forms, list):
            raise ContentError(path, "must be a list of words", entry=str(canonical), field_name=name)
        _check_words(path, forms, field_name=name, entry=str(canonical))
        target = normalise(str(canonical))
        for form in [str(canonical), *forms]:
            key = normalise(form)
            if mapping.get(key, target) != target:
                raise ContentError(
                    path, f"'{form}' already belongs to '{mapping[key]}'", entry=str(canonical), field_name=name
                )
            mapping[key] = target
    return mapping


def load_lexicon(path: Path) -> Lexicon:
    """The matcher's word knowledge, validated."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(path, "must be a mapping of sections (variants, synonyms, ...)")
    answers = data.get("answers", {})
    return Lexicon(
        variants=_word_groups(path, data, "variants"),
        synonyms=_word_groups(path, data, "synonyms"),
        function_words=_word_list(path, data, "function_words"),
        hinglish_words=_word_list(path, data, "hinglish_words"),
        english_words=_word_list(path, data, "english_words"),
        yes_words=_word_list(path, answers, "yes"),
        no_words=_word_list(path, answers, "no"),
    )


def load_knowledge(content_dir: Path) -> Knowledge:
    """faq/, intents/intents.yaml and intents/lexicon.yaml under content_dir."""
    faqs = load_faqs(content_dir / "faq")
    intents = load_intents(content_dir / "intents" / "intents.yaml")
    clash = set(faqs) & set(intents)
    if clash:
        raise ContentError(content_dir / "faq", f"ids used both as FAQ topic and intent: {', '.join(sorted(clash))}")
    return Knowledge(faqs=faqs, intents=intents, lexicon=load_lexicon(content_dir / "intents" / "lexicon.yaml"))
