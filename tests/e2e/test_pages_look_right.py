"""Every page a person or a business owner opens, on the demo's data, at a phone's width and a desktop's: no
serious accessibility violation (axe-core), nothing wider than the screen, nothing in a bar drawn over
something else. Each page's own tests use it; this sweep makes sure none is left out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from parley.web.console_pages import SECTIONS
from tests.e2e.conftest import ServerProcess
from tests.e2e.page_checks import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORTS,
    assert_accessible,
    assert_fits_width,
    assert_no_overlap,
)

pytestmark = pytest.mark.e2e
# One demo person per width: asking the same number for a second code within 30 s is refused.
PEOPLE = {"desktop": "+14155550101", "phone": "+14155550102"}
OWNER, PASSWORD = "owner@parley-coffee.example", "parley-demo"
TOP_BAR = ".topbar > *, .topbar a, .topbar button"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(Path(tmp_path_factory.mktemp("pages")) / "var")
    server.cli("db", "upgrade")
    server.cli("demo")
    server.start()
    try:
        yield server  # type: ignore[misc]
    finally:
        server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def check(page: Page, what: str, bars: str) -> None:
    await assert_accessible(page, what)
    await assert_fits_width(page, what)
    await assert_no_overlap(page, bars, what)


async def sign_in_person(page: Page, base_url: str, phone: str) -> None:
    await page.goto(base_url + "/")
    await page.fill("#phone", phone)
    await page.click("#request-code")
    await expect(page.locator("#code")).to_be_visible()
    if await page.locator("#dev-panel").get_attribute("open") is None:
        await page.click("#dev-panel-toggle")
    code = page.locator(f'.dev-code[data-phone="{phone}"] .dev-code-value').first
    await expect(code).to_have_text(re.compile(r"\S+"))
    await page.fill("#code", (await code.inner_text()).strip())
    await page.click("#verify")
    await page.wait_for_url(re.compile(r"/app"))


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_every_page_is_accessible_and_fits(browser: Browser, demo_server: ServerProcess, viewport: str) -> None:
    base = demo_server.base_url
    errors: list[str] = []

    person = await browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await person.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(base + "/")
    await check(page, f"/ at {viewport}", "main form > *")
    await sign_in_person(page, base, PEOPLE[viewport])
    await check(page, f"/app at {viewport}", ".sidebar-header > *, .sidebar-header button")
    await page.locator(".chat-item").first.click()
    await check(page, f"/app with a chat open at {viewport}", ".chat-header > *")
    await person.close()

    owner = await browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await owner.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(base + "/inbox/login")
    await check(page, f"/inbox/login at {viewport}", "form > *")
    await page.fill("#email", OWNER)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(re.compile(r"/inbox$"))
    await expect(page.locator("#conversation-list li").first).to_be_visible()
    await check(page, f"/inbox at {viewport}", TOP_BAR)
    await page.locator("#conversation-list li").first.click()
    await expect(page.locator("#conversation-view")).to_be_visible()
    await check(page, f"/inbox with a conversation open at {viewport}", f"{TOP_BAR}, .conversation-header > *")
    await page.goto(base + "/inbox/reports")
    await check(page, f"/inbox/reports at {viewport}", TOP_BAR)
    for section, path, label in SECTIONS:
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        await expect(page.locator(f"#console-nav-{section}")).to_have_attribute("aria-current", "page")
        await page.screenshot(path=f"/tmp/parley-console-{section}-{viewport}.png", full_page=True)
        await check(page, f"console {label} at {viewport}", f"{TOP_BAR}, .console-nav a")
    await owner.close()
    assert errors == []
