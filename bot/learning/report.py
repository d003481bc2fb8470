"""The clusters of unanswered questions as staff see them: biggest and most recent first."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.models import ClusterStatus, GapCluster, UnansweredQuestion, saved_id

EXAMPLES_SHOWN = 5
SUGGESTED = 3


@dataclass(frozen=True)
class Gap:
    """One cluster over the period asked about."""

    id: int
    count: int
    examples: list[str]  # distinct texts, newest first
    langs: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    suggested: list[str]  # the FAQ topics the bot thought closest, most often first
    status: str
    topic_id: str | None

    @property
    def answered(self) -> bool:
        return self.status != ClusterStatus.OPEN

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "count": self.count,
            "examples": self.examples,
            "langs": self.langs,
            "last_seen": self.last_seen.isoformat(timespec="seconds"),
            "suggested": self.suggested,
            "answered": self.answered,
        }


def gap_clusters(
    session: Session,
    *,
    since: datetime,
    faq_ids: Collection[str],
    limit: int = 50,
    open_only: bool = False,
    only: int | None = None,
) -> list[Gap]:
    """The `limit` biggest clusters by questions recorded since `since`, ties broken by recency (or the
    cluster `only`)."""
    question = UnansweredQuestion
    count = func.count(col(question.id))
    last = func.max(question.created_at)
    query = (
        select(question.cluster_id, count, func.min(question.created_at), last)
        .where(col(question.cluster_id).is_not(None), question.created_at >= since)
        .group_by(col(question.cluster_id))
        .order_by(count.desc(), last.desc(), col(question.cluster_id))
        .limit(limit)
    )
    if only is not None:
        query = query.where(question.cluster_id == only)
    if open_only:
        open_ids = select(GapCluster.id).where(GapCluster.status == ClusterStatus.OPEN)
        query = query.where(col(question.cluster_id).in_(open_ids))
    totals = session.exec(query).all()
    ids = [cluster_id for cluster_id, *_ in totals if cluster_id is not None]
    if not ids:
        return []
    clusters = {
        saved_id(cluster): cluster for cluster in session.exec(select(GapCluster).where(col(GapCluster.id).in_(ids)))
    }
    details = session.exec(
        select(question.cluster_id, question.text, question.lang, question.candidates)
        .where(col(question.cluster_id).in_(ids), question.created_at >= since)
        .order_by(col(question.id).desc())
    ).all()
    examples: dict[int, list[str]] = defaultdict(list)
    langs: dict[int, Counter[str]] = defaultdict(Counter)
    suggested: dict[int, Counter[str]] = defaultdict(Counter)
    for cluster_id, text, lang, candidates in details:
        if cluster_id is None:
            continue
        if len(examples[cluster_id]) < EXAMPLES_SHOWN and text not in examples[cluster_id]:
            examples[cluster_id].append(text)
        langs[cluster_id][lang or "?"] += 1
        suggested[cluster_id].update(label for label in candidates if label in faq_ids)
    gaps = []
    for cluster_id, total, first_seen, last_seen in totals:
        if cluster_id is None:
            continue
        cluster = clusters[cluster_id]
        ranked = sorted(suggested[cluster_id].items(), key=lambda item: (-item[1], item[0]))
        gaps.append(
            Gap(
                id=cluster_id,
                count=total,
                examples=examples[cluster_id],
                langs=dict(sorted(langs[cluster_id].items())),
                first_seen=first_seen,
                last_seen=last_seen,
                suggested=[label for label, _ in ranked[:SUGGESTED]],
                status=cluster.status,
                topic_id=cluster.topic_id,
            )
        )
    return gaps


def cluster_questions(session: Session, cluster_id: int) -> list[str]:
    """Every distinct question of a cluster, oldest first (to become examples)."""
    texts = session.exec(
        select(UnansweredQuestion.text)
        .where(UnansweredQuestion.cluster_id == cluster_id)
        .order_by(col(UnansweredQuestion.id))
    )
    return list(dict.fromkeys(texts))
