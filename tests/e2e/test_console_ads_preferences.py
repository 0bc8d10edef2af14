"""End to end: a person chooses "Ads you see elsewhere" in the web client's settings panel (Debian's Chromium, phone
and desktop widths): topics are off until they opt in, their choice is kept across a reload, and turning it off
forgets the topics. The panel passes axe and fits the width."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_accessible, assert_fits_width
from tests.e2e.test_web_client_people import person_page

pytestmark = pytest.mark.e2e


async def interests_become(server: LiveServer, viewer: str, wanted: frozenset[str]) -> None:
    """What the ad server reads for this viewer reaches `wanted` (the page saves in the background)."""
    for _ in range(100):
        if await server.container.ad_preferences.interests_of(viewer) == wanted:
            return
        await asyncio.sleep(0.05)
    assert await server.container.ad_preferences.interests_of(viewer) == wanted


expect.set_options(timeout=15_000)


async def test_a_person_opts_into_ad_topics_and_out_again(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    for name, viewport in VIEWPORTS.items():
        person = await server.user(f"Ana {name}")
        viewer = server.container.ad_viewers.of_person(int(person.user_id))
        page = await person_page(browser, server, person, errors, viewport)
        await page.click("#settings-open")
        consent = page.get_by_label("Choose topics for the ads I see")
        await expect(consent).not_to_be_checked()
        travel = page.get_by_label("Travel and holidays")
        await expect(travel).to_be_disabled()

        await consent.check()
        await expect(travel).to_be_enabled()
        await travel.check()
        await expect(page.locator("#settings-status")).to_have_text("Saved")
        await interests_become(server, viewer, frozenset({"travel"}))
        await assert_fits_width(page, f"settings with ad topics ({name})")
        await assert_accessible(page, f"settings with ad topics ({name})")

        await page.reload()
        await page.click("#settings-open")
        await expect(page.get_by_label("Travel and holidays")).to_be_checked()
        await page.get_by_label("Choose topics for the ads I see").uncheck()
        await expect(page.get_by_label("Travel and holidays")).not_to_be_checked()
        await expect(page.get_by_label("Travel and holidays")).to_be_disabled()
        await interests_become(server, viewer, frozenset())
        await page.context.close()
    assert errors == []
