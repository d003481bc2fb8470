"""The knowledge base: the contract's ids, and clear errors for every kind of content mistake."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.knowledge import (
    INTENT_IDS,
    MAX_ANSWER_CHARS,
    WRITING_FORMS,
    ContentError,
    load_faqs,
    load_intents,
    load_knowledge,
    load_lexicon,
    load_off_topic,
)

SHARED = PROJECT_ROOT.parent / "shared"
CONTRACT = SHARED / "faq-topics.md"
# The second release's topics join the first's: the two files together are the list of FAQ topics.
CONTRACT_FILES = (CONTRACT, SHARED / "faq-topics-2.md")
MIN_EXAMPLES = 5
MIN_FAQ_EXAMPLES = 16  # per writing form: what the first release's entries have, the second's too


def contract_ids(kind: str) -> set[str]:
    """FAQ topic ids (dotted) or intent ids from the shared contract's tables."""
    ids: set[str] = set()
    for path in CONTRACT_FILES:
        text = path.read_text(encoding="utf-8")
        ids |= set(re.findall(r"^\| ([a-z_]+(?:\.[a-z_]+)?) \|", text, flags=re.MULTILINE)) - {"id"}
    return {id_ for id_ in ids if ("." in id_) == (kind == "faq")}


@pytest.mark.skipif(
    not all(path.exists() for path in CONTRACT_FILES), reason="the shared contract is not beside this checkout"
)
def test_faq_and_intent_ids_are_exactly_the_contracts(brain):
    assert len(contract_ids("faq")) == 45
    assert set(brain.knowledge.faqs) == contract_ids("faq")
    assert set(brain.knowledge.intents) == contract_ids("intent") == set(INTENT_IDS)


def test_every_entry_is_complete_in_both_languages_and_all_three_writings(brain):
    for entry in brain.knowledge.faqs.values():
        assert set(entry.answer) == {"en", "hi"}
        assert all(len(answer) <= MAX_ANSWER_CHARS for answer in entry.answer.values())
        for form in WRITING_FORMS:
            assert len(entry.examples[form]) >= MIN_FAQ_EXAMPLES, (entry.id, form)
    for intent in brain.knowledge.intents.values():
        for form in WRITING_FORMS:
            assert len(intent.examples[form]) >= MIN_EXAMPLES, (intent.id, form)


def test_answers_that_promise_a_ticket_offer_one(brain):
    for entry in brain.knowledge.faqs.values():
        mentions_person = "talk to a person" in entry.answer["en"].lower()
        assert entry.escalate == mentions_person, entry.id


def test_no_answer_points_below_at_a_contact_that_may_not_be_configured(brain):
    for entry in brain.knowledge.faqs.values():
        assert "below" not in entry.answer["en"].lower() and "नीचे" not in entry.answer["hi"], entry.id


# One Hindi term per concept, in the answers and in the bot's own strings (users may write any).
HINDI_TERMS = {
    "certificate": ("सर्टिफिकेट", ["प्रमाणपत्र", "प्रमाण पत्र", "सर्टिफ़िकेट"]),
    "mandatory": ("अनिवार्य", ["ज़रूरी", "जरूरी", "आवश्यक"]),
    "last date": ("अंतिम तिथि", ["आख़िरी तारीख", "आखिरी तारीख", "समय सीमा", "अंतिम तारीख"]),
    "ticket": ("टिकट", ["अनुरोध", "संदर्भ नंबर"]),
    "status": ("स्टेटस", ["स्थिति"]),
    "you are welcome": ("कोई बात नहीं", ["आपका स्वागत है"]),
}


def hindi_texts(brain) -> list[tuple[str, str]]:
    texts = [(entry.id, entry.answer["hi"]) for entry in brain.knowledge.faqs.values()]
    texts += [(entry.id, entry.title["hi"]) for entry in brain.knowledge.faqs.values()]
    catalog = (PROJECT_ROOT / "locales" / "hi" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    texts += [("messages.po", line) for line in catalog.splitlines() if line.startswith("msgstr")]
    return texts


@pytest.mark.parametrize("concept", HINDI_TERMS)
def test_hindi_uses_one_term_per_concept(brain, concept):
    chosen, others = HINDI_TERMS[concept]
    texts = hindi_texts(brain)
    assert any(chosen in text for _, text in texts), concept
    offending = [(where, other) for where, text in texts for other in others if other in text]
    assert not offending, offending


def test_no_answer_invents_a_phone_helpline(brain):
    for entry in brain.knowledge.faqs.values():
        for answer in entry.answer.values():
            assert not re.search(r"\d{3}[- ]?\d{3}[- ]?\d{4}", answer), entry.id


GOOD_ENTRY = """\
- id: demo.topic
  title:
    en: Demo
    hi: डेमो
  answer:
    en: An answer.
    hi: एक जवाब।
  examples:
    en: [demo question]
    hi: [डेमो सवाल]
    hi-Latn: [demo sawal]
"""


def write_faq(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    folder = tmp_path / "faq"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_valid_file_loads(tmp_path):
    faqs = load_faqs(write_faq(tmp_path, GOOD_ENTRY))
    assert faqs["demo.topic"].answer["hi"] == "एक जवाब।"
    assert not faqs["demo.topic"].escalate


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (
            GOOD_ENTRY.replace("    hi: एक जवाब।\n", ""),
            # the line of the mapping the missing field belongs in
            r"demo\.yaml:6, entry 'demo\.topic', field 'answer\.hi': is missing",
        ),
        (GOOD_ENTRY.replace("An answer.", '""'), r"field 'answer\.en': is missing or empty"),
        (GOOD_ENTRY.replace("    hi-Latn: [demo sawal]\n", ""), r"field 'examples\.hi-Latn': is missing"),
        (GOOD_ENTRY.replace("एक जवाब।", "An answer in English"), r"field 'answer\.hi': must be written in Devanagari"),
        (
            GOOD_ENTRY.replace("[डेमो सवाल]", "[demo in latin]"),
            r"field 'examples\.hi\[1\]': 'demo in latin' should be in Devanagari",
        ),
        (GOOD_ENTRY + "  escalate: maybe\n", r"field 'escalate': must be one of none, offer"),
        (GOOD_ENTRY + "  personal: sometimes\n", r"field 'personal': must be true or false"),
        (GOOD_ENTRY.replace("An answer.", "x" * (MAX_ANSWER_CHARS + 1)), r"field 'answer\.en': has 601 characters"),
        (GOOD_ENTRY + GOOD_ENTRY, r"demo\.yaml:12, entry 'demo\.topic', field 'id': duplicate id"),
        ("- id: [unclosed\n", r"demo\.yaml:\d+: not valid YAML"),
        ("id: demo\n", r"demo\.yaml: must be a list of entries"),
        (
            GOOD_ENTRY + "  escalte: offer\n",
            r"demo\.yaml:12, entry 'demo\.topic', field 'escalte': is not a known field",
        ),
        (GOOD_ENTRY.replace("[demo sawal]", "[no]"), r"field 'examples\.hi-Latn\[1\]': False is not text .*in quotes"),
    ],
)
def test_content_mistakes_name_file_line_entry_and_field(tmp_path, broken, expected):
    with pytest.raises(ContentError, match=expected):
        load_faqs(write_faq(tmp_path, broken))


def test_every_mistake_of_every_file_is_listed_at_once(tmp_path):
    write_faq(tmp_path, GOOD_ENTRY.replace("An answer.", '""'), "one.yaml")
    folder = write_faq(
        tmp_path, GOOD_ENTRY.replace("demo.topic", "demo.other").replace("एक जवाब।", "in English"), "two.yaml"
    )
    (folder / "three.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_faqs(folder)
    assert len(error.value.mistakes) == 3
    assert re.search(r"one\.yaml:6, entry 'demo\.topic', field 'answer\.en': is missing or empty", str(error.value))
    assert re.search(
        r"two\.yaml:7, entry 'demo\.other', field 'answer\.hi': must be written in Devanagari", str(error.value)
    )
    assert re.search(r"three\.yaml:\d+: not valid YAML", str(error.value))


def test_a_duplicate_id_across_files_names_both(tmp_path):
    write_faq(tmp_path, GOOD_ENTRY, "one.yaml")
    folder = write_faq(tmp_path, GOOD_ENTRY, "two.yaml")
    with pytest.raises(ContentError, match=r"two\.yaml:1, entry 'demo\.topic'.*already defined in .*one\.yaml"):
        load_faqs(folder)


def test_intents_must_be_exactly_the_engines(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text("- id: greet\n  examples: {en: [hi], hi: [नमस्ते], hi-Latn: [namaste]}\n", encoding="utf-8")
    with pytest.raises(ContentError, match="intents missing: thanks, help"):
        load_intents(path)
    path.write_text("- id: dance\n  examples: {en: [dance], hi: [नाचो], hi-Latn: [naacho]}\n", encoding="utf-8")
    with pytest.raises(ContentError, match="entry 'dance', field 'id': unknown intent"):
        load_intents(path)


def test_lexicon_points_at_yaml_booleans_and_conflicting_forms(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("synonyms:\n  not: [no, nahi]\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"entry 'not', field 'synonyms': False is not a word .*in quotes"):
        load_lexicon(path)
    path.write_text("variants:\n  kya: [kia]\n  karna: [kia]\n", encoding="utf-8")
    with pytest.raises(ContentError, match="'kia' already belongs to 'kya'"):
        load_lexicon(path)


def test_off_topic_groups_and_emoji_are_checked_too(tmp_path):
    path = tmp_path / "off_topic.yaml"
    path.write_text(
        "- id: off_topic.salary\n  refer: boss\n  examples: {en: [salary], hi: [वेतन], hi-Latn: [tankhwah]}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ContentError, match=r"off_topic\.yaml:2, entry 'off_topic\.salary', field 'refer': must be one of"
    ):
        load_off_topic(path)
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text('emoji:\n  cheer: ["🎉"]\n', encoding="utf-8")
    with pytest.raises(ContentError, match=r"lexicon\.yaml:2, entry 'cheer', field 'emoji': must be one of"):
        load_lexicon(lexicon)
    lexicon.write_text('emoji:\n  greet: ["🙏👋"]\n', encoding="utf-8")
    with pytest.raises(ContentError, match=r"entry 'greet', field 'emoji': '🙏👋' is not one emoji"):
        load_lexicon(lexicon)


def test_the_whole_content_folder_loads_from_a_copy(tmp_path):
    for folder in ("faq", "intents"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    knowledge = load_knowledge(tmp_path)
    assert len(knowledge.faqs) == 45 and knowledge.off_topic
