"""Loading and validating the content in faq/ and intents/ (data a helpdesk officer edits).

Each file is read with its lines (`bot.yamlfile`) and checked against the pydantic schemas below;
every mistake of a file is reported at once, each with file, line, entry and field, so an editor
fixes them in one pass instead of one start-up per typo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from bot.understanding.normalise import is_devanagari, normalise
from bot.yamlfile import Location, Problem, YamlFileError, field_name, line_of, problems, read_yaml

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
# Whom an off-topic question belongs to: the user's own office (salary, leave, ...), the helpdesk
# staff (a part of iGOT the knowledge base does not cover), or nobody (chit-chat).
REFER_VALUES = ("office", "helpdesk", "none")


class ContentError(ValueError):
    """Mistakes in content files, each named by file, line, entry and field (one per line)."""

    def __init__(self, mistakes: list[str]):
        self.mistakes = mistakes
        super().__init__("\n".join(mistakes))

    @classmethod
    def at(
        cls, path: Path, problem: str, *, line: int | None = None, entry: str = "", field_name: str = ""
    ) -> ContentError:
        return cls([describe(path, problem, line=line, entry=entry, field_name=field_name)])


def describe(path: Path, problem: str, *, line: int | None = None, entry: str = "", field_name: str = "") -> str:
    """`faq/x.yaml:12, entry 'id', field 'answer.hi': problem`."""
    parts = [f"{path}:{line}" if line else str(path)]
    if entry:
        parts.append(f"entry '{entry}'")
    if field_name:
        parts.append(f"field '{field_name}'")
    return f"{', '.join(parts)}: {problem}"


# What the rest of the bot uses --------------------------------------------------------------


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
class OffTopic:
    """Questions the bot must not answer (salary, leave, the Discuss forum...), and whom to refer them to."""

    id: str
    refer: str  # one of REFER_VALUES
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
    emoji: dict[str, frozenset[str]] = field(default_factory=dict)  # emoji -> what it may mean (greet, yes, ...)
    neutral_words: frozenset[str] = frozenset()  # "ok", "sir": written alike by English and Hindi writers


@dataclass(frozen=True)
class Knowledge:
    """Everything the bot knows, loaded and checked."""

    faqs: dict[str, FaqEntry]
    intents: dict[str, Intent]
    lexicon: Lexicon
    off_topic: dict[str, OffTopic] = field(default_factory=dict)

    def title(self, topic_id: str, lang: str) -> str:
        """A topic's menu label in the given language."""
        return self.faqs[topic_id].title[lang]

    def labelled_examples(self) -> Iterator[tuple[str, str]]:
        """Every example question as (id, text): FAQ topics, intents, then off-topic groups, in all writings."""
        entries: list[FaqEntry | Intent | OffTopic] = [*self.faqs.values(), *self.intents.values()]
        entries.extend(self.off_topic.values())
        for entry in entries:
            for form in WRITING_FORMS:
                for text in entry.examples[form]:
                    yield entry.id, text


# The schemas of the files --------------------------------------------------------------------


def _devanagari_share(text: str) -> float:
    letters = [char for char in text if unicodedata.category(char)[0] == "L"]
    return sum(1 for char in letters if is_devanagari(char)) / len(letters) if letters else 0.0


def _word(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value.strip()
    hint = " (write it in quotes: YAML reads yes/no/on/off as true/false)" if isinstance(value, bool) else ""
    raise ValueError(f"{value!r} is not a word{hint}")


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not text (write it in quotes: YAML reads yes/no/on/off as true/false)")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("is missing or empty")
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"has {len(text)} characters, at most {limit} allowed")
        return text

    return check


def _answer_in_devanagari(text: str) -> str:
    if _devanagari_share(text) < 0.5:
        raise ValueError("must be written in Devanagari")
    return text


def _example_in(script: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if (script == "Devanagari") != (_devanagari_share(text) >= 0.5):
            raise ValueError(f"'{text}' should be in {script}")
        return text

    return check


Word = Annotated[str, BeforeValidator(_word)]
Text = Annotated[str, BeforeValidator(_text)]
LatinExample = Annotated[Text, AfterValidator(_example_in("Latin letters"))]
DevanagariExample = Annotated[Text, AfterValidator(_example_in("Devanagari"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Item = TypeVar("Item", bound=_Strict)


class _Titles(_Strict):
    en: Annotated[Text, AfterValidator(_at_most(MAX_TITLE_CHARS))]
    hi: Annotated[Text, AfterValidator(_at_most(MAX_TITLE_CHARS)), AfterValidator(_answer_in_devanagari)]


class _Answers(_Strict):
    en: Annotated[Text, AfterValidator(_at_most(MAX_ANSWER_CHARS))]
    hi: Annotated[Text, AfterValidator(_at_most(MAX_ANSWER_CHARS)), AfterValidator(_answer_in_devanagari)]


class _Examples(_Strict):
    en: list[LatinExample] = Field(min_length=1)
    hi: list[DevanagariExample] = Field(min_length=1)
    hi_latn: list[LatinExample] = Field(min_length=1, alias="hi-Latn")

    def by_form(self) -> dict[str, tuple[str, ...]]:
        return {"en": tuple(self.en), "hi": tuple(self.hi), "hi-Latn": tuple(self.hi_latn)}


class _FaqItem(_Strict):
    id: Text
    title: _Titles
    answer: _Answers
    examples: _Examples
    escalate: Literal["none", "offer"] = "none"
    personal: StrictBool = False
    state_contact: StrictBool = False


class _IntentItem(_Strict):
    id: Text
    examples: _Examples


class _OffTopicItem(_Strict):
    id: Text
    refer: Literal["office", "helpdesk", "none"]
    examples: _Examples


class _YesNo(_Strict):
    yes: list[Word] = Field(default_factory=list)
    no: list[Word] = Field(default_factory=list)


class _LexiconFile(_Strict):
    variants: dict[str, list[Word]] = Field(default_factory=dict)
    synonyms: dict[str, list[Word]] = Field(default_factory=dict)
    function_words: list[Word] = Field(default_factory=list)
    hinglish_words: list[Word] = Field(default_factory=list)
    english_words: list[Word] = Field(default_factory=list)
    neutral_words: list[Word] = Field(default_factory=list)
    answers: _YesNo = Field(default_factory=_YesNo)
    emoji: dict[Literal["greet", "thanks", "yes", "no"], list[Word]] = Field(default_factory=dict)


# Additions made at run time (`helpdesk faq add`, the console) ------------------------------------

TOPIC_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def _topic_id(value: str) -> str:
    if not TOPIC_ID.fullmatch(value):
        raise ValueError(f"'{value}' is not a topic id: lowercase words joined by dots, like 'support.dark_mode'")
    return value


class _AddedExamples(_Strict):
    en: list[LatinExample] = Field(default_factory=list)
    hi: list[DevanagariExample] = Field(default_factory=list)
    hi_latn: list[LatinExample] = Field(default_factory=list, alias="hi-Latn")

    def by_form(self) -> dict[str, tuple[str, ...]]:
        return {"en": tuple(self.en), "hi": tuple(self.hi), "hi-Latn": tuple(self.hi_latn)}


class _AddedFaq(_Strict):
    """A new FAQ entry, or new answers and examples for one: the file's rules, parts optional."""

    id: Annotated[Text, AfterValidator(_topic_id)]
    title: _Titles | None = None
    answer: _Answers | None = None
    examples: _AddedExamples = Field(default_factory=_AddedExamples)
    escalate: Literal["none", "offer"] | None = None


@dataclass(frozen=True)
class Addition:
    """A checked addition: what `with_additions` layers over the files."""

    id: str
    title: dict[str, str] | None
    answer: dict[str, str] | None
    examples: dict[str, tuple[str, ...]]
    escalate: bool | None = None


def check_addition(source: str, item: dict[str, Any], knowledge: Knowledge, *, kind: str) -> Addition:
    """An addition checked like an entry of faq/ (lengths, both languages, scripts, id), or a ContentError
    whose lines name `source` (e.g. `faq add`), the entry and the field.

    kind: `faq` (a new entry needs a title and an answer in both languages and an example; an existing
    one may get new answers and examples), `examples` (for an existing topic or intent) or `off_topic`.
    """
    where = Path(source)
    entry = str(item.get("id", ""))
    try:
        added = _AddedFaq.model_validate(item)
    except ValidationError as error:
        raise ContentError(_describe_all(where, problems(error, item), entry, 0, item)) from None
    examples = added.examples.by_form()
    mistakes: list[str] = []
    if not any(examples.values()) and (kind != "faq" or added.id not in knowledge.faqs):
        mistakes.append(describe(where, "at least one example question is needed", entry=entry, field_name="examples"))
    known = added.id in knowledge.faqs
    if kind == "faq":
        if added.id in knowledge.intents or added.id in knowledge.off_topic:
            mistakes.append(describe(where, "already an intent or off-topic id", entry=entry, field_name="id"))
        elif not known:
            for part, value in (("title", added.title), ("answer", added.answer)):
                if value is None:
                    mistakes.append(describe(where, "a new entry needs it in en and hi", entry=entry, field_name=part))
    elif kind == "examples" and not (known or added.id in knowledge.intents):
        mistakes.append(describe(where, "no FAQ topic or intent has this id", entry=entry, field_name="id"))
    elif kind == "off_topic" and (known or added.id in knowledge.intents):
        mistakes.append(describe(where, "an FAQ topic or intent, not an off-topic group", entry=entry, field_name="id"))
    _raise_if(mistakes)
    return Addition(
        id=added.id,
        title={"en": added.title.en, "hi": added.title.hi} if added.title else None,
        answer={"en": added.answer.en, "hi": added.answer.hi} if added.answer else None,
        examples=examples,
        escalate=None if added.escalate is None else added.escalate == "offer",
    )


def with_additions(base: Knowledge, additions: list[tuple[str, Addition]]) -> Knowledge:
    """The files' knowledge with the additions (kind, addition) applied in order; the files stay as they are."""
    faqs, intents, off_topic = dict(base.faqs), dict(base.intents), dict(base.off_topic)
    for kind, added in additions:
        if kind == "off_topic":
            group = off_topic.get(added.id) or OffTopic(id=added.id, refer="none", examples=_no_examples())
            off_topic[added.id] = replace(group, examples=_merged(group.examples, added.examples))
        elif added.id in intents:
            intents[added.id] = replace(intents[added.id], examples=_merged(intents[added.id].examples, added.examples))
        elif added.id in faqs:
            entry = faqs[added.id]
            faqs[added.id] = replace(
                entry,
                title=added.title or entry.title,
                answer=added.answer or entry.answer,
                examples=_merged(entry.examples, added.examples),
                escalate=entry.escalate if added.escalate is None else added.escalate,
            )
        elif added.title and added.answer:
            faqs[added.id] = FaqEntry(
                id=added.id,
                title=added.title,
                answer=added.answer,
                examples=_merged(_no_examples(), added.examples),
                escalate=bool(added.escalate),
            )
    return replace(base, faqs=faqs, intents=intents, off_topic=off_topic)


def _no_examples() -> dict[str, tuple[str, ...]]:
    return {form: () for form in WRITING_FORMS}


def _merged(old: dict[str, tuple[str, ...]], new: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {form: tuple(dict.fromkeys([*old.get(form, ()), *new.get(form, ())])) for form in WRITING_FORMS}


# Reading -------------------------------------------------------------------------------------


def _document(path: Path) -> Any:
    try:
        return read_yaml(path)
    except YamlFileError as error:
        raise ContentError.at(path, error.problem, line=error.line) from None


def _items(path: Path) -> list[Any]:
    document = _document(path)
    if not isinstance(document, list):
        raise ContentError.at(path, "must be a list of entries (each starting with '- id: ...')")
    return document


def _entry_name(item: Any, index: int) -> str:
    entry_id = item.get("id") if isinstance(item, dict) else None
    return str(entry_id).strip() if isinstance(entry_id, str) and entry_id.strip() else f"#{index + 1}"


def _validated(path: Path, document: list[Any], schema: type[Item], mistakes: list[str]) -> Iterator[tuple[int, Item]]:
    """Each item that passes `schema`; the mistakes of those that do not are added to `mistakes`."""
    for index, item in enumerate(document):
        try:
            yield index, schema.model_validate(item)
        except ValidationError as error:
            entry = _entry_name(item, index)
            mistakes.extend(_describe_all(path, problems(error, document, (index,)), entry, index, document))


def _describe_all(path: Path, found: list[Problem], entry: str, index: int, document: Any) -> list[str]:
    return [
        describe(
            path,
            problem.message,
            line=problem.line or line_of(document, (index,)),
            entry=entry,
            field_name=field_name(problem.location),
        )
        for problem in found
    ]


def _raise_if(mistakes: list[str]) -> None:
    if mistakes:
        raise ContentError(mistakes)


def load_faqs(folder: Path) -> dict[str, FaqEntry]:
    """Every FAQ entry in folder/*.yaml, validated."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ContentError.at(folder, "holds no .yaml files")
    faqs: dict[str, FaqEntry] = {}
    sources: dict[str, Path] = {}
    mistakes: list[str] = []
    for path in files:
        try:
            document = _items(path)
        except ContentError as error:
            mistakes.extend(error.mistakes)  # the other files are still checked
            continue
        for index, item in _validated(path, document, _FaqItem, mistakes):
            if item.id in faqs:
                mistakes.append(
                    describe(
                        path,
                        f"duplicate id, already defined in {sources[item.id]}",
                        line=line_of(document, (index, "id")),
                        entry=item.id,
                        field_name="id",
                    )
                )
                continue
            faqs[item.id] = FaqEntry(
                id=item.id,
                title={"en": item.title.en, "hi": item.title.hi},
                answer={"en": item.answer.en, "hi": item.answer.hi},
                examples=item.examples.by_form(),
                escalate=item.escalate == "offer",
                personal=item.personal,
                state_contact=item.state_contact,
            )
            sources[item.id] = path
    _raise_if(mistakes)
    return faqs


def load_intents(path: Path) -> dict[str, Intent]:
    """The conversation intents, validated: exactly the ids the engine handles."""
    document = _items(path)
    intents: dict[str, Intent] = {}
    mistakes: list[str] = []
    for index, item in _validated(path, document, _IntentItem, mistakes):
        line = line_of(document, (index, "id"))
        if item.id not in INTENT_IDS:
            problem = f"unknown intent; the bot handles {', '.join(INTENT_IDS)}"
            mistakes.append(describe(path, problem, line=line, entry=item.id, field_name="id"))
        elif item.id in intents:
            mistakes.append(describe(path, "duplicate id", line=line, entry=item.id, field_name="id"))
        else:
            intents[item.id] = Intent(id=item.id, examples=item.examples.by_form())
    if not mistakes and (missing := [intent_id for intent_id in INTENT_IDS if intent_id not in intents]):
        mistakes.append(describe(path, f"intents missing: {', '.join(missing)}"))
    _raise_if(mistakes)
    return intents


def load_off_topic(path: Path) -> dict[str, OffTopic]:
    """Groups of questions outside the bot's knowledge, learnt only to abstain on them."""
    if not path.exists():
        return {}
    document = _items(path)
    groups: dict[str, OffTopic] = {}
    mistakes: list[str] = []
    for index, item in _validated(path, document, _OffTopicItem, mistakes):
        if item.id in groups:
            line = line_of(document, (index, "id"))
            mistakes.append(describe(path, "duplicate id", line=line, entry=item.id, field_name="id"))
            continue
        groups[item.id] = OffTopic(id=item.id, refer=item.refer, examples=item.examples.by_form())
    _raise_if(mistakes)
    return groups


def load_lexicon(path: Path) -> Lexicon:
    """The matcher's word knowledge, validated."""
    document = _document(path)
    if not isinstance(document, dict):
        raise ContentError.at(path, "must be a mapping of sections (variants, synonyms, ...)")
    try:
        data = _LexiconFile.model_validate(document)
    except ValidationError as error:
        raise ContentError([_lexicon_mistake(path, problem) for problem in problems(error, document)]) from None
    mistakes: list[str] = []
    lexicon = Lexicon(
        variants=_word_groups(path, document, data.variants, "variants", mistakes),
        synonyms=_word_groups(path, document, data.synonyms, "synonyms", mistakes),
        function_words=_normalised(data.function_words),
        hinglish_words=_normalised(data.hinglish_words),
        english_words=_normalised(data.english_words),
        yes_words=_normalised(data.answers.yes),
        no_words=_normalised(data.answers.no),
        emoji=_emoji_meanings(path, document, data.emoji, mistakes),
        neutral_words=_normalised(data.neutral_words),
    )
    _raise_if(mistakes)
    return lexicon


def _lexicon_mistake(path: Path, problem: Problem) -> str:
    """A section's group is named like an entry: `entry 'not', field 'synonyms'`."""
    location: Location = problem.location
    if len(location) >= 2 and location[0] in ("variants", "synonyms", "emoji"):
        return describe(path, problem.message, line=problem.line, entry=str(location[1]), field_name=str(location[0]))
    return describe(path, problem.message, line=problem.line, field_name=field_name(location))


def _normalised(words: list[str]) -> frozenset[str]:
    return frozenset(normalise(word) for word in words)


def _word_groups(
    path: Path, document: Any, groups: dict[str, list[str]], section: str, mistakes: list[str]
) -> dict[str, str]:
    """A `canonical: [forms]` section turned into form -> canonical; a form in two groups is a mistake."""
    mapping: dict[str, str] = {}
    for canonical, forms in groups.items():
        target = normalise(canonical)
        for form in [canonical, *forms]:
            key = normalise(form)
            if mapping.get(key, target) != target:
                line = line_of(document, (section, canonical))
                problem = f"'{form}' already belongs to '{mapping[key]}'"
                mistakes.append(describe(path, problem, line=line, entry=canonical, field_name=section))
                continue
            mapping[key] = target
    return mapping


def _emoji_meanings(
    path: Path, document: Any, sections: Mapping[Any, list[str]], mistakes: list[str]
) -> dict[str, frozenset[str]]:
    """emoji -> what it may mean: 🙏 is listed under greet and thanks, 👍 under thanks and yes."""
    meanings: dict[str, set[str]] = {}
    for meaning, emojis in sections.items():
        for emoji in emojis:
            key = emoji_key(emoji)
            if len(key) != 1:
                line = line_of(document, ("emoji", meaning))
                problem = f"'{emoji}' is not one emoji (write each on its own)"
                mistakes.append(describe(path, problem, line=line, entry=meaning, field_name="emoji"))
                continue
            meanings.setdefault(key, set()).add(meaning)
    return {emoji: frozenset(found) for emoji, found in meanings.items()}


def emoji_key(text: str) -> str:
    """The emoji of a text without what only varies its look: skin tones, variation selectors, joiners, spaces."""
    return "".join(char for char in text if not _decoration(char))


def _decoration(char: str) -> bool:
    return char.isspace() or "\ufe00" <= char <= "\ufe0f" or "\U0001f3fb" <= char <= "\U0001f3ff" or char == "\u200d"


def load_knowledge(content_dir: Path) -> Knowledge:
    """faq/, intents/intents.yaml, intents/off_topic.yaml and intents/lexicon.yaml under content_dir."""
    faqs = load_faqs(content_dir / "faq")
    intents = load_intents(content_dir / "intents" / "intents.yaml")
    off_topic_path = content_dir / "intents" / "off_topic.yaml"
    off_topic = load_off_topic(off_topic_path)
    if clash := set(faqs) & set(intents):
        raise ContentError.at(content_dir / "faq", f"ids used both as FAQ topic and intent: {', '.join(sorted(clash))}")
    if clash := (set(faqs) | set(intents)) & set(off_topic):
        raise ContentError.at(off_topic_path, f"ids already used by FAQ topics or intents: {', '.join(sorted(clash))}")
    lexicon = load_lexicon(content_dir / "intents" / "lexicon.yaml")
    return Knowledge(faqs=faqs, intents=intents, lexicon=lexicon, off_topic=off_topic)
