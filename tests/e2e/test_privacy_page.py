"""End to end: from the sign-in page, a person opens "Privacy and data use" from the settings panel (Debian's
Chromium, phone and desktop widths), sees each purpose's wording and version, what is used and why and what is
kept, allows product analytics and turns it off again, and the history shows both; a number in the EU/EEA sees
the EU notice. The page passes axe and fits the width."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import PHONE, VIEWPORTS, assert_accessible, assert_fits_width, sign_in_person, watch_errors

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

GERMAN = "+4915112345679"


async def privacy_from_first_screen(browser: Browser, server: LiveServer, phone: str, viewport: dict[str, int],
                                    errors: list[str]) -> Page:  # fmt: skip
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_person(page, server.base_url, phone)
    await page.click("#settings-open")
    await page.get_by_role("link", name="Privacy and data use").click()
    await page.wait_for_url(re.compile(r"/privacy$"))
    await expect(page.locator("#consent-list")).to_have_attribute("aria-busy", "false")
    return page


async def test_a_person_allows_and_withdraws_product_analytics(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    version = server.settings.signals.wording_version
    for name, viewport in VIEWPORTS.items():
        person, friend = await server.user(f"Ana {name}"), await server.user(f"Bia {name}")
        await server.send_text(person, "hello", to=friend)
        await server.send_text(person, "again", to=friend)
        await server.container.signal_recorder.flush()
        page = await privacy_from_first_screen(browser, server, person.phone, viewport, errors)
        await expect(page.locator("#eu-notice")).to_be_hidden()
        toggle = page.get_by_label("Allow product analytics")
        await expect(toggle).not_to_be_checked()
        await expect(page.get_by_label("Allow personalised ads")).not_to_be_checked()
        card = page.locator(".consent-card", has_text="Product analytics")
        await expect(card).to_contain_text(f"Wording version {version}. You have not chosen yet.")
        await expect(card.locator(".consent-uses li")).to_have_count(1)
        await expect(page.locator("#held-figures div", has_text="Messages you sent").locator("dd")).to_have_text("2")
        await expect(page.locator("#held-figures div", has_text="Days you were active").locator("dd")).to_have_text("1")
        await expect(page.locator("#never-used li").first).to_contain_text("end-to-end encrypted")
        await expect(page.locator("#history-empty")).to_be_visible()
        await assert_fits_width(page, f"the privacy page ({name})")
        await assert_accessible(page, f"the privacy page ({name})")

        await toggle.check()
        await expect(page.locator("#privacy-status")).to_have_text("Saved: Product analytics allowed.")
        await expect(page.locator("#consent-history li")).to_have_count(1)
        await expect(page.locator("#consent-history li").first).to_contain_text("Allowed Product analytics")
        assert await server.container.signals.for_analytics(int(person.user_id)) is not None

        await page.reload()  # kept across a reload
        await expect(page.get_by_label("Allow product analytics")).to_be_checked()
        await page.get_by_label("Allow product analytics").uncheck()
        await expect(page.locator("#privacy-status")).to_have_text("Saved: Product analytics turned off.")
        await expect(page.locator("#consent-history li")).to_have_count(2)
        await expect(page.locator("#consent-history li").first).to_contain_text(
            f"Turned off Product analytics (wording version {version})"
        )
        assert await server.container.signals.for_analytics(int(person.user_id)) is None
        await assert_accessible(page, f"the privacy page after changes ({name})")
        await page.context.close()
    assert errors == []


async def test_an_eu_number_sees_the_eu_notice(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    lena = await server.user("Lena", phone=GERMAN)
    page = await privacy_from_first_screen(browser, server, lena.phone, PHONE, errors)
    await expect(page.locator("#eu-notice")).to_be_visible()
    await expect(page.locator("#eu-notice")).to_contain_text("Your number is in the EU/EEA")
    await expect(page.locator("#eu-notice-text")).to_contain_text("country and language only")
    card = page.locator(".consent-card", has_text="Personalised ads")
    await expect(card.locator(".consent-eu")).to_contain_text("never turns on interest-based ads")
    await page.get_by_label("Allow personalised ads").check()
    await expect(page.locator("#privacy-status")).to_have_text("Saved: Personalised ads allowed.")
    targeting = await server.container.signals.for_targeting(int(lena.user_id))
    assert (targeting.market, targeting.interest_allowed) == ("DE", False)
    await assert_fits_width(page, "the privacy page of an EU number (390 px)")
    await assert_accessible(page, "the privacy page of an EU number (390 px)")
    await page.context.close()
    assert errors == []
