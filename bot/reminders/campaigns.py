"""Reminder campaigns as data: a YAML file checked at load, every mistake reported with file, line and field.

A campaign says who gets a reminder (the audience), what it says (English and Hindi, with the
employee's pending courses and nearest deadline filled in; the WhatsApp template for outside the
24-hour window), when (once, daily or weekly from `start` to `end`) and the frequency cap that
follows from the schedule: at most one reminder per person per campaign per period.
"""

from __future__ import annotations

import re
import string
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.localtime import parse_window, time_zone
from bot.yamlfile import Problem, YamlFileError, field_name, line_of, problems, read_yaml

DEFAULT_CAMPAIGNS = Path(__file__).resolve().parent / "default_campaigns.yaml"
PLACEHOLDERS = frozenset({"name", "courses", "course_names", "deadline", "count"})
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class CampaignError(ValueError):
    """The campaigns file cannot be used; the message says where (file:line) and which field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(_Strict):
    """Who the campaign reaches; every filter given must hold (lists match any of their values, case-insensitively)."""

    designations: tuple[str, ...] = Field(default=(), description="designation or group, e.g. ASHA, ANM, Constable")
    departments: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    pending_mandatory: bool = Field(default=False, description="has a mandatory course not completed")
    batch_ends_within_days: int | None = Field(
        default=None, ge=0, description="a pending (mandatory, if asked) course's batch ends within N days"
    )
    inactive_days: int | None = Field(default=None, ge=1, description="no enrolment or conversation updated for N days")


class Schedule(_Strict):
    every: Literal["once", "daily", "weekly"] = "once"
    start: date | None = None  # inclusive, in the campaign's time zone
    end: date | None = None  # inclusive

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Message(_Strict):
    en: str = Field(min_length=1)
    hi: str = Field(min_length=1)

    @field_validator("en", "hi")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as error:
            raise ValueError(f"broken placeholder: {error}") from None
        if unknown := sorted(names - PLACEHOLDERS):
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {', '.join(sorted(PLACEHOLDERS))}")
        return text


class WhatsAppTemplate(_Strict):
    content_sid: dict[Literal["en", "hi"], str] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("content_sid")
    @classmethod
    def _sid(cls, sids: dict[str, str]) -> dict[str, str]:
        for lang, sid in sids.items():
            if sid and not (sid.startswith("HX") and len(sid) == 34):
                raise ValueError(f"{lang}: a content SID looks like HX followed by 32 hex digits")
        return {lang: sid for lang, sid in sids.items() if sid}

    @field_validator("variables")
    @classmethod
    def _variables(cls, variables: dict[str, str]) -> dict[str, str]:
        for key, value in variables.items():
            if not key.isdigit():
                raise ValueError(f"variable {key!r}: template variables are numbered 1, 2, ...")
            Message._known_placeholders(value)
        return variables


class Campaign(_Strict):
    id: str
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    audience: Audience = Field(default_factory=Audience)
    schedule: Schedule = Field(default_factory=Schedule)
    message: Message
    whatsapp_template: WhatsAppTemplate = Field(default_factory=WhatsAppTemplate)
    timezone: str | None = Field(default=None, description="default: the TIMEZONE setting")
    send_window: str | None = Field(default=None, description="HH:MM-HH:MM; default: REMINDER_SEND_WINDOW")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(
                "must be 1 to 64 small letters, digits, - or _ (starting with a letter or digit), "
                "e.g. pending-mandatory"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            time_zone(value)
        return value

    @field_validator("send_window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    # Periods: the frequency cap -------------------------------------------------------------

    def period(self, today: date) -> str | None:
        """The period `today` (local date) falls in, or None when the campaign is not running then."""
        if not self.enabled or (self.schedule.start and today < self.schedule.start):
            return None
        if self.schedule.end and today > self.schedule.end:
            return None
        if self.schedule.every == "once":
            return "once"
        if self.schedule.every == "daily":
            return today.isoformat()
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"


def in_window(window: str, local: datetime) -> bool:
    start, end = parse_window(window)
    return local.time() >= start and (end is None or local.time() < end)


def next_opening(window: str, local: datetime) -> datetime:
    """When the window next opens after `local` (a local, aware time); `local` itself if it is open."""
    if in_window(window, local):
        return local
    start, _ = parse_window(window)
    opening = datetime.combine(local.date(), start, tzinfo=local.tzinfo)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=local.tzinfo)
    return opening


# Loading ------------------------------------------------------------------------------------


def check_campaign(item: object, document: object = None, at: tuple[int, ...] = ()) -> Campaign | list[Problem]:
    """The campaign, or every mistake in it in plain words (lines from `document`, where `item` is at `at`)."""
    try:
        return Campaign.model_validate(item)
    except ValidationError as error:
        found = problems(error, document, at, model=Campaign)
        return sorted(found, key=lambda problem: problem.line or 0)


def load_campaigns(path: Path | None = None) -> list[Campaign]:
    """The campaigns of a YAML file (a list of campaigns); CampaignError lists every mistake, each with
    file, line and field."""
    path = path or DEFAULT_CAMPAIGNS
    try:
        document = read_yaml(path)
    except YamlFileError as error:
        raise CampaignError(str(error)) from None
    if document is None:
        return []
    if not isinstance(document, list):
        raise CampaignError(f"{path}:1: the file must be a list of campaigns (each starting with '- id: ...')")
    campaigns: list[Campaign] = []
    seen: dict[str, int | None] = {}
    mistakes: list[str] = []
    for index, item in enumerate(document):
        checked = check_campaign(item, document, (index,))
        if isinstance(checked, list):
            mistakes.extend(
                f"{path}:{problem.line or line_of(document, (index,)) or '?'}: campaign {index + 1}, "
                f"field {field_name(problem.location) or '(campaign)'}: {problem.message}"
                for problem in checked
            )
            continue
        line = line_of(document, (index, "id"))
        if checked.id in seen:
            mistakes.append(f"{path}:{line}: campaign id {checked.id!r} is already used on line {seen[checked.id]}")
            continue
        seen[checked.id] = line
        campaigns.append(checked)
    if mistakes:
        raise CampaignError("\n".join(mistakes))
    return campaigns
