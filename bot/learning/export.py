"""`helpdesk faq export`: the knowledge added in the database written as faq/ files, for review in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.knowledge import WRITING_FORMS, FaqEntry, Knowledge, OffTopic

HEADERS = {
    "added.yaml": "# New FAQ entries added with `helpdesk faq add` or in the console: copy them into faq/.\n",
    "changed.yaml": (
        "# FAQ entries of faq/ as staff changed them (answers, more examples): each replaces the entry\n"
        "# of the same id in faq/.\n"
    ),
    "off_topic.yaml": (
        "# Off-topic groups with the questions staff marked as off-topic: each replaces the group of the\n"
        "# same id in intents/off_topic.yaml, or is added to it.\n"
    ),
}


class _Dumper(yaml.SafeDumper):
    """Answers with line breaks written as `|-` blocks, as in faq/."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def export(knowledge: Knowledge, base: Knowledge, folder: Path) -> tuple[list[Path], list[str]]:
    """Write what differs from the files; returns the files written and warnings (an entry that a faq/
    file would refuse: examples missing in a writing)."""
    folder.mkdir(parents=True, exist_ok=True)
    added = [entry for topic_id, entry in knowledge.faqs.items() if topic_id not in base.faqs]
    changed = [entry for topic_id, entry in knowledge.faqs.items() if base.faqs.get(topic_id, entry) != entry]
    groups = [group for group_id, group in knowledge.off_topic.items() if base.off_topic.get(group_id) != group]
    documents: dict[str, list[dict[str, Any]]] = {
        "added.yaml": [_faq_item(entry) for entry in added],
        "changed.yaml": [_faq_item(entry) for entry in changed],
        "off_topic.yaml": [_off_topic_item(group) for group in groups],
    }
    written, warnings = [], []
    for name, items in documents.items():
        if not items:
            continue
        path = folder / name
        body = yaml.dump(items, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
        path.write_text(HEADERS[name] + body, encoding="utf-8")
        written.append(path)
        for item in items:
            missing = [form for form in WRITING_FORMS if not item["examples"][form]]
            if missing:
                warnings.append(f"{path}: entry '{item['id']}' has no examples in {', '.join(missing)}; add some")
    return written, warnings


def _faq_item(entry: FaqEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": dict(entry.title),
        "answer": dict(entry.answer),
        "escalate": "offer" if entry.escalate else "none",
        "personal": entry.personal,
        "state_contact": entry.state_contact,
        "examples": {form: list(entry.examples[form]) for form in WRITING_FORMS},
    }


def _off_topic_item(group: OffTopic) -> dict[str, Any]:
    return {
        "id": group.id,
        "refer": group.refer,
        "examples": {form: list(group.examples[form]) for form in WRITING_FORMS},
    }
