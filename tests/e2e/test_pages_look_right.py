"""Every page a person or a business owner opens, on the demo's data, at a phone's width and a desktop's: no
serious accessibility violation (axe-core), nothing wider than the screen, nothing in a bar drawn over
something else. Each page's own tests use it; this sweep makes sure none is left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from parley.web.console_pages import SECTIONS
from tests.e2e.conftest import ServerProcess
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, sign_in_person

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


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_every_page_is_accessible_and_fits(browser: Browser, demo_server: ServerProcess, viewport: str) -> None:
    base = demo_server.base_url
    errors: list[str] = []

    person = await browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await person.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(base + "/")
    await assert_looks_right(page, "main form > *", f"/ at {viewport}")
    await sign_in_person(page, base, PEOPLE[viewport])
    await assert_looks_right(page, ".sidebar-header > *, .sidebar-header button", f"/app at {viewport}")
    await page.locator(".chat-item").first.click()
    await assert_looks_right(page, ".chat-header > *", f"/app with a chat open at {viewport}")
    await person.close()

    owner = await browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await owner.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(base + "/inbox/login")
    await assert_looks_right(page, "form > *", f"/inbox/login at {viewport}")
    await sign_in_agent(page, base, OWNER, PASSWORD, start=None)
    await expect(page.locator("#conversation-list li").first).to_be_visible()
    await assert_looks_right(page, TOP_BAR, f"/inbox at {viewport}")
    await page.locator("#conversation-list li").first.click()
    await expect(page.locator("#conversation-view")).to_be_visible()
    await assert_looks_right(
        page, f"{TOP_BAR}, .conversation-header > *", f"/inbox with a conversation open at {viewport}"
    )
    await page.goto(base + "/inbox/reports")
    await assert_looks_right(page, TOP_BAR, f"/inbox/reports at {viewport}")
    for section, path, label in SECTIONS:
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        await expect(page.locator(f"#console-nav-{section}")).to_have_attribute("aria-current", "page")
        await page.screenshot(path=f"/tmp/parley-console-{section}-{viewport}.png", full_page=True)
        await assert_looks_right(page, f"{TOP_BAR}, .console-nav a", f"console {label} at {viewport}")
    await owner.close()
    assert errors == []
