"""Campaign validation: every mistake of a file at once, in plain words, with the valid names and values;
the README's table of fields is the model's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.reminders import CampaignError, load_campaigns
from bot.reminders.campaigns import Campaign, check_campaign

MANY_MISTAKES = """\
- id: Bad ID
  name: ""
  enabled: maybe
  audience:
    designations: ASHA
    district: [Raipur]
    batch_ends_within_days: soon
  schedule:
    every: monthly
  message:
    en: "Hi {nmae}"
  colour: red
  send_window: 9-5
- just text
- id: good
  name: Fine
  message: {en: x, hi: y}
  audience: {inactive_days: 0}
  schedule: {start: 2026-13-01}
"""


def test_every_mistake_of_a_file_is_listed_at_once_with_its_line_and_plain_words(tmp_path: Path):
    path = tmp_path / "campaigns.yaml"
    path.write_text(MANY_MISTAKES, encoding="utf-8")
    with pytest.raises(CampaignError) as error:
        load_campaigns(path)
    lines = str(error.value).splitlines()
    expected = [
        ":1: campaign 1, field id: must be 1 to 64 small letters, digits, - or _",
        ":2: campaign 1, field name: is missing or empty",
        ":3: campaign 1, field enabled: must be true or false",
        ":5: campaign 1, field audience.designations: must be a list",
        ":6: campaign 1, field audience.district: is not a known field (did you mean districts? the fields here "
        "are designations, departments, districts, pending_mandatory, batch_ends_within_days, inactive_days)",
        ":7: campaign 1, field audience.batch_ends_within_days: must be a whole number",
        ":9: campaign 1, field schedule.every: must be one of once, daily, weekly",
        ":11: campaign 1, field message.en: unknown placeholder {nmae}; use count, course_names, courses",
        ":11: campaign 1, field message.hi: is missing or empty",
        ":12: campaign 1, field colour: is not a known field (the fields here are id, name, enabled, audience, "
        "schedule, message, whatsapp_template, timezone, send_window)",
        ":13: campaign 1, field send_window: '9-5' is not a window of hours; write HH:MM-HH:MM",
        ":14: campaign 2, field (campaign): must be a mapping of fields",
        ":18: campaign 3, field audience.inactive_days: must be at least 1",
        ":19: campaign 3, field schedule.start: must be a date written YYYY-MM-DD",
    ]
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}{start}"), (line, start)
    assert not any("Input should" in line or "Extra inputs" in line for line in lines)


def test_a_campaign_from_the_console_gets_its_mistakes_by_field_without_lines():
    found = check_campaign({"id": "x", "name": "X", "message": {"en": "Hi", "hi": ""}, "schedule": {"every": "hourly"}})
    assert isinstance(found, list)
    assert [(problem.location, problem.message) for problem in found] == [
        (("schedule", "every"), "must be one of once, daily, weekly"),
        (("message", "hi"), "is missing or empty"),
    ]
    assert isinstance(check_campaign({"id": "x", "name": "X", "message": {"en": "a", "hi": "b"}}), Campaign)


def _documented_fields() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Course reminders", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, flags=re.MULTILINE):
        names.update(re.findall(r"`([a-z_.]+)`", row))
    return names


def _model_fields(model: type, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        inner = field.annotation
        if isinstance(inner, type) and hasattr(inner, "model_fields"):
            names |= _model_fields(inner, f"{prefix}{name}.")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_the_readme_documents_every_campaign_field_and_no_other():
    assert _documented_fields() == _model_fields(Campaign)
