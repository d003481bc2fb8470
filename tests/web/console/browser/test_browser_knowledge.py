"""Unanswered questions and teaching the bot in a real headless browser (Debian's Chromium, Playwright) at
phone size (412×900) and desktop size (1366×900). Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.db import session_scope
from bot.learning.live import layered_brain
from bot.messages import Incoming
from bot.tickets.staff import add_staff
from tests.web.console.browser.pages import PASSWORD, SIZES, fits_the_screen, log_in, open_page, shot

DARK_MODE = ["dark mode kaise lagaye", "how to turn on dark mode", "डार्क मोड कैसे चालू करें", "drak mode chahiye"]


@pytest.mark.parametrize("size", SIZES)
def test_an_admin_answers_the_dark_mode_cluster(browser, server, database, dialogue, brain, artifacts, size):
    with session_scope(database) as session:
        add_staff(session, name="boss", password=PASSWORD, role="admin")
    for number, text in enumerate(DARK_MODE):
        dialogue.handle(Incoming(channel="whatsapp", user_key=f"+9198000{number:05d}", text=text))
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server, "boss")
    page.get_by_role("link", name="Unanswered questions").click()
    expect(page.get_by_role("heading", name="Unanswered questions", exact=True)).to_be_visible()
    cluster = page.locator("li.gap").first
    expect(cluster.get_by_role("heading")).to_contain_text("4 ×")
    expect(cluster).to_contain_text("drak mode chahiye")
    assert fits_the_screen(page)
    shot(page, artifacts, "unanswered")

    cluster.get_by_role("link", name="New FAQ entry").click()
    expect(page.get_by_role("heading", name="New FAQ entry")).to_be_visible()
    expect(page.get_by_label("Example questions")).to_contain_text("डार्क मोड कैसे चालू करें")
    page.get_by_label("Topic id").fill("support.dark_mode")
    page.get_by_label("Menu title in English").fill("Dark mode")
    page.get_by_label("Menu title in Hindi").fill("डार्क मोड")
    page.get_by_label("Answer in English").fill("Open the app's Settings > Theme and choose Dark.")
    page.get_by_label("Answer in Hindi").fill("ऐप की सेटिंग्स में थीम खोलें और डार्क चुनें।")
    assert fits_the_screen(page)
    shot(page, artifacts, "teach-form")
    page.get_by_role("button", name="Check and save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as change #1 (support.dark_mode)")
    expect(page.locator("li.gap")).to_have_count(0)
    expect(page.get_by_role("button", name="Revert change #1")).to_be_visible()
    assert problems == []

    learned, _ = layered_brain(brain, database)
    assert learned.matcher.understand("dark mode kaise chalu karu").match == "support.dark_mode"


@pytest.mark.parametrize("size", SIZES)
def test_insights_at_a_glance(browser, server, database, dialogue, artifacts, size):
    with session_scope(database) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    said = [("otp nahi aa raha", "yes"), ("otp not received", "yes"), ("how do I download my certificate", "no"),
            ("certificate kaise milega", "yes"), ("dark mode kaise lagaye", None),
            ("kisi insaan se baat karao", None)]  # fmt: skip
    for number, (text, rating) in enumerate(said):
        user = f"+9198000{number:05d}"
        dialogue.handle(Incoming(channel="whatsapp", user_key=user, text=text))
        if rating:
            dialogue.handle(Incoming(channel="whatsapp", user_key=user, text="", choice=rating))
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server, "desk1")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    expect(page.locator("svg.bar").first).to_have_attribute(
        "aria-label", "6 questions: 4 answered, 1 not answered, 1 to a person"
    )
    expect(page.get_by_text("dark mode kaise lagaye")).to_be_visible()
    assert fits_the_screen(page)
    shot(page, artifacts, "insights")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "insights-28-days.csv"
    assert problems == []
