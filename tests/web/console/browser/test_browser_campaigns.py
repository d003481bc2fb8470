"""The campaign editor in a real headless browser (Debian's Chromium, Playwright) at phone size (412×900)
and desktop size (1366×900): every mistake shown at once, a campaign saved within the officer's district,
its preview, an edit, a pause and a delete. Screenshots go to test-artifacts/console/ (or TEST_ARTIFACTS_DIR)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.db import session_scope
from bot.tickets.staff import add_staff
from tests.web.console.browser.pages import PASSWORD, SIZES, fits_the_screen, log_in, open_page, shot
from tests.web.console.nodal import without_lucknow


@pytest.fixture
def raipur_officer(database) -> None:
    with session_scope(database) as session:
        add_staff(session, name="raipur1", password=PASSWORD, role="nodal", districts=["Raipur"])


@pytest.mark.parametrize("size", SIZES)
def test_the_campaign_editor(browser, server, raipur_officer, state_report, artifacts, size):
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server, "raipur1")
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Reminder campaigns")).to_be_visible()
    expect(page.get_by_role("link", name="Campaigns")).to_have_attribute("aria-current", "page")

    form = page.locator("form.campaign-form")
    form.get_by_label("Campaign id").fill("raipur-posh")
    form.get_by_label("Name", exact=True).fill("POSH before the deadline")
    form.get_by_label("Message in English").fill("Namaste {name}, please finish: {courses}")
    form.get_by_label("Message in Hindi").fill("नमस्ते {name}, कृपया पूरा करें: {courses}")
    page.get_by_role("button", name="Preview without saving").click()
    expect(page.get_by_role("heading", name="Whom raipur-posh would reach now")).to_be_visible()
    expect(page.locator(".notice")).to_contain_text("Not saved yet")
    expect(page.locator('[data-figure="audience"]')).to_have_text("2")
    shot(page, artifacts, "campaign-draft-preview")
    page.get_by_role("link", name="← All campaigns").click()
    expect(page.get_by_text("No campaigns made here yet.")).to_be_visible()  # the preview saved nothing

    form.get_by_label("Campaign id").fill("Raipur POSH")
    form.get_by_label("Name", exact=True).fill("POSH before the deadline")
    form.get_by_label("Districts", exact=True).fill("Raipur, Lucknow")
    form.get_by_label("No activity for (days)").fill("0")
    form.get_by_label("Message in English").fill("Namaste {name}, please finish: {courses}")
    page.get_by_role("button", name="Save campaign").click()
    alert = page.locator(".error[role=alert]")
    expect(alert).to_contain_text("Please correct these 4 mistakes")
    for text in ("Campaign id: must be 1 to 64 small letters", "Districts: Lucknow: you may reach only Raipur",
                 "No activity for (days): must be at least 1", "Message in Hindi: is missing or empty"):  # fmt: skip
        expect(alert).to_contain_text(text)
    expect(form.get_by_label("Districts", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Message in English")).to_have_value("Namaste {name}, please finish: {courses}")
    assert fits_the_screen(page), f"the editor with its mistakes is wider than the {size} screen"
    shot(page, artifacts, "campaign-mistakes")

    alert.get_by_role("link", name="Districts").click()
    form.get_by_label("Campaign id").fill("raipur-posh")
    form.get_by_label("Districts", exact=True).fill("")
    form.get_by_label("No activity for (days)").fill("")
    form.get_by_label("Message in Hindi").fill("नमस्ते {name}, कृपया पूरा करें: {courses}")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign 'POSH before the deadline' saved")
    row = page.locator("table.campaigns tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Districts: Raipur.")
    expect(row).to_contain_text("Running")
    expect(page.locator("table.effect")).to_contain_text("Reminded")
    assert fits_the_screen(page), f"the campaigns page is wider than the {size} screen"
    shot(page, artifacts, "campaigns")

    row.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", name="Whom raipur-posh would reach now")).to_be_visible()
    expect(page.locator('[data-figure="audience"]')).to_have_text("2")  # Asha and Bhim have courses pending
    expect(page.locator('.sample[lang="hi"]')).to_contain_text("नमस्ते")
    assert without_lucknow(page.content())
    assert fits_the_screen(page), f"the preview is wider than the {size} screen"
    shot(page, artifacts, "campaign-preview")

    page.get_by_role("link", name="Edit this campaign").click()
    page.get_by_label("Name", exact=True).fill("POSH, last call")
    page.get_by_role("button", name="Save changes").click()
    expect(row).to_contain_text("POSH, last call")
    row.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("paused: nothing is planned or sent until it is resumed")
    expect(row).to_contain_text("Paused")
    shot(page, artifacts, "campaign-paused")
    row.get_by_role("link", name="POSH, last call", exact=True).click()
    page.get_by_role("button", name="Delete this campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign raipur-posh deleted")
    expect(page.locator("table.campaigns")).to_have_count(0)
    assert problems == []
