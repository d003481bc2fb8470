"""Putting recorded questions into clusters, in the database: the ones not grouped yet, or all open ones again."""

from __future__ import annotations

from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from bot.learning.clusters import Grouper, Signature
from bot.models import ClusterStatus, GapCluster, UnansweredQuestion, id_col, saved_id
from bot.understanding.matcher import Matcher

BATCH = 5000  # questions read at a time
GROUPING_LOCK = 0x6761_7073  # "gaps": the advisory lock's key


def group_pending(session: Session, matcher: Matcher) -> int:
    """Cluster every question recorded since the last grouping; returns how many were grouped.

    Deterministic: questions in the order they were recorded, clusters in the order they were made.
    One grouping at a time (PostgreSQL: a transaction lock; SQLite: the caller's `write_scope`), so two
    workers never seed the same cluster twice. The caller's transaction commits.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GROUPING_LOCK})
    clusters = session.exec(select(GapCluster).order_by(col(GapCluster.id)))
    seeds = [(saved_id(cluster), cluster.seed) for cluster in clusters]
    grouper = Grouper(matcher, seeds)
    grouped = 0
    last_id = 0
    while True:
        rows = session.exec(
            select(id_col(UnansweredQuestion.id), UnansweredQuestion.text)
            .where(col(UnansweredQuestion.cluster_id).is_(None), col(UnansweredQuestion.id) > last_id)
            .order_by(col(UnansweredQuestion.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return grouped
        assigned: list[tuple[int, int]] = []
        made: dict[int, Signature] = {}
        for question_id, question in rows:
            key, found = grouper.assign(question)
            if key < 0 and key not in made:
                made[key] = found
            assigned.append((question_id, key))
        ids = _save_clusters(session, made)
        grouper.rename(ids)
        session.execute(
            update(UnansweredQuestion),
            [{"id": question_id, "cluster_id": ids.get(key, key)} for question_id, key in assigned],
        )
        grouped += len(rows)
        last_id = assigned[-1][0]


def _save_clusters(session: Session, made: dict[int, Signature]) -> dict[int, int]:
    """The new clusters inserted in the order they were made: their temporary keys -> ids."""
    clusters = {key: GapCluster(seed=found.encoded()) for key, found in sorted(made.items(), reverse=True)}
    session.add_all(clusters.values())
    session.flush()
    return {key: saved_id(cluster) for key, cluster in clusters.items()}


def regroup(session: Session, matcher: Matcher) -> int:
    """Group the questions of every open cluster afresh (answered and off-topic clusters stay as they are)."""
    open_ids = select(GapCluster.id).where(GapCluster.status == ClusterStatus.OPEN)
    session.execute(
        update(UnansweredQuestion).where(col(UnansweredQuestion.cluster_id).in_(open_ids)).values(cluster_id=None)
    )
    session.execute(delete(GapCluster).where(col(GapCluster.status) == ClusterStatus.OPEN))
    return group_pending(session, matcher)
