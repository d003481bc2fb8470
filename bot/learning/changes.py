"""Knowledge staff add at run time: stored as changes over faq/ and intents/, audited, revertible."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.access import audit
from bot.knowledge import Addition, Knowledge, check_addition, with_additions
from bot.models import ChangeKind, ClusterStatus, GapCluster, KnowledgeChange, saved_id, utcnow
from bot.understanding.language import EN, HI, HI_LATN
from bot.understanding.matcher import Matcher
from bot.understanding.normalise import is_devanagari, normalise


class ChangeError(ValueError):
    """A change that cannot be made as asked (an unknown cluster or change); said in one line."""


def by_writing(matcher: Matcher, texts: list[str]) -> dict[str, list[str]]:
    """Example questions sorted into the writings of faq/: Devanagari, English, Hindi in Latin letters."""
    forms: dict[str, list[str]] = {EN: [], HI: [], HI_LATN: []}
    for text in dict.fromkeys(text.strip() for text in texts if text.strip()):
        letters = [char for char in text if char.isalpha()]
        if letters and sum(map(is_devanagari, letters)) * 2 >= len(letters):
            forms[HI].append(text)
        else:
            forms[HI_LATN if matcher.detector.detect(normalise(text)) == HI_LATN else EN].append(text)
    return forms


def add_change(
    session: Session,
    *,
    kind: ChangeKind,
    item: dict[str, Any],
    knowledge: Knowledge,
    actor: str,
    source: str,
    cluster_id: int | None = None,
) -> KnowledgeChange:
    """Check `item` like a faq/ entry (ContentError naming `source`, the entry and the field), store it,
    audit it, and mark the cluster it answers. The caller commits; workers pick it up on their next poll."""
    added = check_addition(source, item, knowledge, kind=kind)
    cluster = None
    if cluster_id is not None:
        cluster = session.get(GapCluster, cluster_id)
        if cluster is None:
            raise ChangeError(f"no cluster #{cluster_id} (see helpdesk gaps)")
    content: dict[str, Any] = {"examples": {form: list(texts) for form, texts in added.examples.items() if texts}}
    if added.title:
        content["title"] = added.title
    if added.answer:
        content["answer"] = added.answer
    if added.escalate is not None:
        content["escalate"] = "offer" if added.escalate else "none"
    change = KnowledgeChange(kind=kind, topic_id=added.id, content=content, cluster_id=cluster_id, actor=actor)
    session.add(change)
    session.flush()
    if cluster is not None:
        cluster.status = ClusterStatus.OFF_TOPIC if kind == ChangeKind.OFF_TOPIC else ClusterStatus.ANSWERED
        cluster.topic_id = None if kind == ChangeKind.OFF_TOPIC else added.id
        cluster.resolved_at, cluster.resolved_by = utcnow(), actor
    examples = sum(len(texts) for texts in added.examples.values())
    detail = f"{kind} {added.id}: {examples} examples" + (", answers" if added.answer else "")
    detail += f", cluster #{cluster_id}" if cluster_id is not None else ""
    audit.record(
        session, actor=actor, action=f"knowledge.{kind}", subject=f"knowledge:{saved_id(change)}", detail=detail
    )
    return change


def revert(session: Session, change_id: int, *, actor: str) -> KnowledgeChange:
    """Undo a change: it stops counting on every worker's next poll, and the cluster it answered reopens."""
    change = session.get(KnowledgeChange, change_id)
    if change is None or change.reverted_at is not None:
        raise ChangeError(f"no change #{change_id} in force")
    change.reverted_at, change.reverted_by = utcnow(), actor
    if change.cluster_id is not None and (cluster := session.get(GapCluster, change.cluster_id)):
        cluster.status, cluster.topic_id, cluster.resolved_at, cluster.resolved_by = (
            ClusterStatus.OPEN,
            None,
            None,
            None,
        )
    audit.record(
        session, actor=actor, action="knowledge.reverted", subject=f"knowledge:{change_id}", detail=change.topic_id
    )
    return change


def in_force(session: Session) -> list[KnowledgeChange]:
    """The changes not reverted, in the order they were made."""
    query = select(KnowledgeChange).where(col(KnowledgeChange.reverted_at).is_(None)).order_by(col(KnowledgeChange.id))
    return list(session.exec(query))


def addition_of(change: KnowledgeChange) -> Addition:
    content = change.content
    escalate = content.get("escalate")
    return Addition(
        id=change.topic_id,
        title=content.get("title"),
        answer=content.get("answer"),
        examples={form: tuple(texts) for form, texts in content.get("examples", {}).items()},
        escalate=None if escalate is None else escalate == "offer",
    )


def layered(session: Session, base: Knowledge) -> Knowledge:
    """The files' knowledge with every change in force."""
    return with_additions(base, [(change.kind, addition_of(change)) for change in in_force(session)])


def version(session: Session) -> tuple[int, int]:
    """Changes so far and reverts so far: different whenever the knowledge in force is (one cheap query)."""
    newest, reverted = session.exec(
        select(func.coalesce(func.max(KnowledgeChange.id), 0), func.count(col(KnowledgeChange.reverted_at)))
    ).one()
    return int(newest or 0), int(reverted)
