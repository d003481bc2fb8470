"""What the bot could not answer, how those questions group, and the knowledge staff added at run time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class GapKind(StrEnum):
    """Why a question counts as unanswered."""

    ABSTAINED = "abstained"  # the bot did not answer (a "did you mean" or "I did not understand")
    NONE_OF_THESE = "none_of_these"  # the user refused every "did you mean" offer
    NOT_HELPED = "not_helped"  # "Did this help?" answered "No"
    TICKET = "ticket"  # a ticket opened because the bot did not understand


class ClusterStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  # its questions are now examples of an FAQ topic
    OFF_TOPIC = "off_topic"  # its questions are now off-topic examples


class UnansweredQuestion(TableModel, table=True):
    """One question the bot did not answer: masked text, language, channel, time and the bot's guesses.

    Nothing links it to the user: no conversation, no phone; phones, emails and numbers in the text
    are masked before it is stored.
    """

    __tablename__ = "unanswered_question"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    text: str = Field(max_length=500)
    lang: str | None = Field(default=None, max_length=8)
    channel: str = Field(max_length=20)
    candidates: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="the bot's closest ids, best first"
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)
    cluster_id: int | None = Field(default=None, foreign_key="gap_cluster.id", index=True)


class GapCluster(TableModel, table=True):
    """Similar unanswered questions, grouped around the first one (its terms are the `seed`)."""

    __tablename__ = "gap_cluster"

    id: int | None = Field(default=None, primary_key=True)
    seed: str = Field(max_length=500, description="the first question's terms, space-separated")
    status: str = Field(default=ClusterStatus.OPEN, max_length=12, index=True)
    topic_id: str | None = Field(default=None, max_length=80, description="the topic that answered it")
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=60)


class ChangeKind(StrEnum):
    FAQ = "faq"  # a new FAQ entry, or new answers and examples for an existing one
    EXAMPLES = "examples"  # more examples for an existing topic
    OFF_TOPIC = "off_topic"  # examples the bot must not answer


class KnowledgeChange(TableModel, table=True):
    """One change staff made to the knowledge, layered over faq/ and intents/ in id order until reverted."""

    __tablename__ = "knowledge_change"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    topic_id: str = Field(max_length=80, index=True)
    content: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description='{"title": {en, hi}, "answer": {en, hi}, "examples": {form: [texts]}}, each part optional',
    )
    cluster_id: int | None = Field(default=None, foreign_key="gap_cluster.id")
    actor: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow)
    reverted_at: datetime | None = None
    reverted_by: str | None = Field(default=None, max_length=60)


class MessageOutcome(TableModel, table=True):
    """What became of one message, for the insights: no user, no text; written with the reply."""

    __tablename__ = "message_outcome"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str = Field(max_length=20)
    lang: str = Field(max_length=8)
    topic: str | None = Field(default=None, max_length=80, description="the FAQ topic answered or rated")
    outcome: str = Field(max_length=16, description="answered, abstained, off_topic, escalated, intent, ...")
    feedback: str | None = Field(default=None, max_length=3, description="'yes'/'no' to 'Did this help?'")
