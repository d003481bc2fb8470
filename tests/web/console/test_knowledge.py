"""The "Unanswered questions" page and teaching the bot from the console, over HTTP as a browser would."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from bot.learning import changes
from bot.models import ClusterStatus, GapCluster, KnowledgeChange
from tests.dialogue.test_engine import say
from tests.web.console.helpers import act, csrf_of, post_form, reply_reaches_user, staff_client

DARK_MODE = ["dark mode kaise lagaye", "how to turn on dark mode", "डार्क मोड कैसे चालू करें", "drak mode chahiye"]
ENTRY = {
    "kind": "faq",
    "topic_id": "support.dark_mode",
    "title_en": "Dark mode",
    "title_hi": "डार्क मोड",
    "answer_en": "Open Settings > Theme > Dark.",
    "answer_hi": "ऐप की सेटिंग्स में थीम खोलें और डार्क चुनें।",
}


def asked(engine, texts) -> None:
    for number, text in enumerate(texts):
        say(engine, text, user=f"+9198000{number:05d}")


def cluster_id(page: str) -> str:
    match = re.search(r"knowledge/new\?cluster=(\d+)", page)
    assert match, page
    return match.group(1)


def test_staff_see_the_clusters_and_only_admins_publish(app, engine, other_roles):
    asked(engine, DARK_MODE)
    page = staff_client(app, "desk1").get("/staff/gaps")
    assert page.status_code == 200
    assert "4</span> × “" in page.text and "drak mode chahiye" in page.text
    assert "New FAQ entry" not in page.text and "Revert" not in page.text
    assert staff_client(app, "desk1").get("/staff/knowledge/new").status_code == 403
    assert "New FAQ entry" in staff_client(app, "boss").get("/staff/gaps").text


def test_an_admin_answers_a_cluster_and_reverts_it(app, engine, db_engine, other_roles):
    asked(engine, DARK_MODE)
    boss = staff_client(app, "boss")
    cluster = cluster_id(boss.get("/staff/gaps").text)
    form = boss.get(f"/staff/knowledge/new?cluster={cluster}").text
    assert "New FAQ entry" in form and "From cluster #" in form
    for question in DARK_MODE:
        assert question in form  # the examples are prefilled
    examples = "\n".join([*DARK_MODE, "dark mode kaise chalu karu"])
    response = post_form(boss, f"/staff/knowledge/new?cluster={cluster}", "/staff/knowledge/new",
                         cluster=cluster, examples=examples, **ENTRY)  # fmt: skip
    assert response.status_code == 303, response.text
    page = boss.get("/staff/gaps").text
    assert "Saved as change #1 (support.dark_mode)" in page
    assert "drak mode chahiye" not in page  # answered: no longer an open cluster
    assert "#1 faq support.dark_mode" in page
    with Session(db_engine) as session:
        assert session.get(GapCluster, int(cluster)).status == ClusterStatus.ANSWERED
        assert [change.actor for change in changes.in_force(session)] == ["boss"]
    response = post_form(boss, "/staff/gaps", "/staff/knowledge/1/revert")
    assert response.status_code == 303
    page = boss.get("/staff/gaps").text
    assert "Change #1 (support.dark_mode) reverted" in page and "reverted by boss" in page
    assert "drak mode chahiye" in page  # open again
    with Session(db_engine) as session:
        assert changes.in_force(session) == []


def test_mistakes_are_shown_and_known_queries_made_wrong_need_a_confirmation(app, db_engine, other_roles):
    boss = staff_client(app, "boss")
    wrong = post_form(boss, "/staff/knowledge/new", "/staff/knowledge/new",
                      examples="dark mode", **{**ENTRY, "answer_hi": "in latin letters"})  # fmt: skip
    assert wrong.status_code == 422
    assert (
        "console, entry &#39;support.dark_mode&#39;, field &#39;answer.hi&#39;: must be written in Devanagari"
        in wrong.text
    )
    stealing = {**ENTRY, "topic_id": "support.certificates_help", "title_en": "Certificates help"}
    examples = "how do i download my certificate\nview certificate\nwhere are my certificates shown"
    held = post_form(boss, "/staff/knowledge/new", "/staff/knowledge/new", examples=examples, **stealing)
    assert held.status_code == 409
    assert "known queries become wrong" in held.text and "where are my certificates shown" in held.text
    assert 'name="confirm"' in held.text
    with Session(db_engine) as session:
        assert changes.in_force(session) == []
    token = csrf_of(held.text)
    saved = boss.post("/staff/knowledge/new", data={"csrf_token": token, "examples": examples, "confirm": "yes",
                                                   **stealing}, follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303


def test_off_topic_and_a_topic_s_examples_from_clusters(app, engine, db_engine, other_roles):
    asked(engine, ["podcast kahan sunu"])
    boss = staff_client(app, "boss")
    cluster = cluster_id(boss.get("/staff/gaps").text)
    form = boss.get(f"/staff/knowledge/new?cluster={cluster}&kind=off_topic").text
    assert "Mark as off-topic" in form and "I only help with iGOT Karmayogi" in form
    response = post_form(boss, f"/staff/knowledge/new?cluster={cluster}&kind=off_topic", "/staff/knowledge/new",
                         kind="off_topic", cluster=cluster, examples="podcast kahan sunu")  # fmt: skip
    assert response.status_code == 303
    form = boss.get("/staff/knowledge/new?kind=examples").text
    assert '<option value="course.offline"' in form
    response = post_form(boss, "/staff/knowledge/new?kind=examples", "/staff/knowledge/new",
                         kind="examples", topic_id="course.offline", examples="offline video kaise dekhe")  # fmt: skip
    assert response.status_code == 303
    with Session(db_engine) as session:
        made = session.exec(select(KnowledgeChange)).all()
        assert [(change.kind, change.topic_id) for change in made] == [
            ("off_topic", "off_topic.marked"),
            ("examples", "course.offline"),
        ]
        assert session.get(GapCluster, int(cluster)).status == ClusterStatus.OFF_TOPIC


def test_save_as_faq_on_a_resolved_ticket(app, engine, db_engine, other_roles, user_ticket):
    boss = staff_client(app, "boss")
    assert "Save as FAQ" not in boss.get(f"/staff/tickets/{user_ticket}").text  # not resolved yet
    assert boss.get(f"/staff/knowledge/new?ticket={user_ticket}").status_code == 404
    desk1 = staff_client(app, "desk1")
    act(desk1, user_ticket, "claim")
    act(desk1, user_ticket, "reply", reply="आपका ईमेल बदल दिया गया है।")
    reply_reaches_user(engine)
    assert act(desk1, user_ticket, "resolve").status_code == 303
    page = boss.get(f"/staff/tickets/{user_ticket}").text
    assert "Save as FAQ" in page
    form = boss.get(f"/staff/knowledge/new?ticket={user_ticket}").text
    assert f"From ticket {user_ticket}" in form
    assert "आपका ईमेल बदल दिया गया है।</textarea>" in form
    assert "[email]" not in form and "mera email" in form  # the user's own words, for staff to edit


def test_a_change_builds_on_the_one_just_saved(app, db_engine, other_roles):
    """The console's worker may be a poll behind: a topic added a moment ago already takes examples."""
    boss = staff_client(app, "boss")
    saved = post_form(boss, "/staff/knowledge/new", "/staff/knowledge/new", examples="dark mode kaise lagaye", **ENTRY)
    assert saved.status_code == 303
    more = post_form(boss, "/staff/knowledge/new?kind=examples", "/staff/knowledge/new",
                     kind="examples", topic_id="support.dark_mode", examples="dark theme chahiye")  # fmt: skip
    assert more.status_code == 303, more.text
    with Session(db_engine) as session:
        assert [change.kind for change in changes.in_force(session)] == ["faq", "examples"]
