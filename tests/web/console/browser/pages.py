"""What the console's browser tests share: Debian's Chromium, the two screen sizes, logging in,
tabs that record browser errors, and screenshots kept as test artifacts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
# Debian's own Chromium, never a browser Playwright downloads; quiet and offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 412, "height": 900}
DESKTOP = {"width": 1366, "height": 900}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
PASSWORD = "correct horse battery"


def open_page(browser: Browser, size: dict[str, int], problems: list[str], **options) -> Page:
    """A tab at this size that records browser errors (a stylesheet or script blocked by the CSP, ...)."""
    context = browser.new_context(viewport=size, is_mobile=size is PHONE, has_touch=size is PHONE, **options)
    page = context.new_page()
    page.on("console", lambda message: problems.extend(console_problems(message)))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


def log_in(page: Page, server: str, name: str = "desk1") -> None:
    page.goto(f"{server}/staff/")
    expect(page).to_have_url(f"{server}/staff/login")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def submit(page: Page, button: str, confirmation: str) -> None:
    """Press a form's button and wait for the confirmation on the page it leads to."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("status")).to_have_text(confirmation)


def console_problems(message: ConsoleMessage) -> list[str]:
    """Browser errors such as a stylesheet blocked by the CSP or a missing file; not the favicon.

    Browsers ask for /favicon.ico on their own; it is not part of the console. A form the console
    refused (422, with its reason on the page) is reported by Chromium too, and is no error of the page.
    """
    if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
        return []
    if "the server responded with a status of 422" in message.text:
        return []
    return [f"{message.text} ({message.location.get('url')})"]


def fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def devanagari_font_loaded(page: Page) -> bool:
    """Whether Hindi on the page is drawn with the console's own Noto Sans Devanagari (not system boxes)."""
    return page.evaluate(
        """async () => {
            await document.fonts.ready;
            return [...document.fonts].some(
                (face) => face.family.replaceAll('"', '') === 'Noto Sans Devanagari' && face.status === 'loaded');
        }"""
    )


def shot(page: Page, artifacts: Path, name: str) -> None:
    size = page.viewport_size
    page.screenshot(path=str(artifacts / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)
