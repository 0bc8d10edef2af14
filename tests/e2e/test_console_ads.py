"""End to end: a business owner runs click-to-chat ads from the console's Ads page in Debian's Chromium, on a phone
and a desktop. From the console's first screen they open Ads, fill in "New campaign" (name, objective, budget,
bid, markets, languages, an interest, headline, text, an image, the opening message and a welcome), see it listed
as approved with its budget, pause and resume it; a budget below one event's price is refused with the reason; an
ad with a phone number in its text is listed as not approved with the rule it broke. Each view passes axe, fits
its width and overlaps nothing."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, watch_errors
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.test_graph_media import jpeg

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
BARS = ".topbar-brand > *, .topbar-nav a, .topbar-me button, .console-nav a"


async def test_an_owner_creates_pauses_and_reads_the_review_of_campaigns(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    c = server.container
    for name, viewport in VIEWPORTS.items():
        biz = await create_business(server, f"Loja {name.title()}")
        email = f"owner.ads.{name}@example.com"
        await c.inbox.create_agent(int(biz.waba_id), email=email, name="Olga Owner", role="owner", password=PASSWORD)
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        watch_errors(page, errors)
        await sign_in_agent(page, server.base_url, email, PASSWORD)
        await page.goto(server.base_url + "/inbox/console")
        await page.click("#console-nav-ads")
        await page.wait_for_url(re.compile(r"/inbox/console/ads$"))
        await expect(page.locator("#campaigns-none")).to_be_visible()
        await assert_looks_right(page, BARS, f"ads, empty ({name})")

        await page.get_by_label("Campaign name").fill("Summer dresses")
        await page.get_by_label("Objective").select_option("OUTCOME_ENGAGEMENT")
        await page.get_by_label("Daily budget (USD)").fill("0.10")
        await page.get_by_label("Headline (up to 40 characters)").fill("Summer dresses are here")
        await page.get_by_label("Text (125 characters recommended)").fill("Ask us about sizes and colours.")
        await page.click("#new-campaign-submit")
        await expect(page.locator("#new-campaign-error")).to_contain_text("daily_budget")
        assert (await c.ads.overview(int(biz.waba_id)))["campaigns"] == []  # nothing half-made

        await page.get_by_label("Daily budget (USD)").fill("20.00")
        await page.get_by_label("Bid strategy").select_option("COST_CAP")
        await page.get_by_label("Bid per 1,000 impressions (USD, for a cap)").fill("5.00")
        await page.get_by_label("Markets (country codes, comma-separated)").fill("BR, PT")
        await page.get_by_label("Languages (codes, comma-separated)").fill("pt")
        await page.get_by_label("Fashion and clothing").check()
        await page.get_by_label("Image (JPEG or PNG)").set_input_files(
            {"name": "dress.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
        )
        await page.get_by_label("Message people start with").fill("Hi! Which sizes do you have?")
        await page.get_by_label("Welcome message").fill("Thanks for writing! A person will answer soon.")
        await page.click("#new-campaign-submit")
        row = page.locator("#campaigns-table tbody tr", has_text="Summer dresses")
        await expect(row).to_have_count(1)
        await expect(row.locator(".campaign-review")).to_contain_text("Approved")
        await expect(row.locator(".campaign-status")).to_have_text("Active")
        await expect(row).to_contain_text("20.00")
        await expect(row.locator("a.campaign-link")).to_have_attribute("href", re.compile(r"insights\?campaign=\d+"))
        await assert_looks_right(page, BARS, f"ads, one campaign ({name})")

        await row.get_by_role("button", name="Pause Summer dresses").click()
        await expect(row.locator(".campaign-status")).to_have_text("Paused")
        await row.get_by_role("button", name="Resume Summer dresses").click()
        await expect(row.locator(".campaign-status")).to_have_text("Active")

        await page.get_by_label("Campaign name").fill("Call us")
        await page.get_by_label("Daily budget (USD)").fill("10.00")
        await page.get_by_label("Bid strategy").select_option("LOWEST_COST_WITHOUT_CAP")
        await page.get_by_label("Bid per 1,000 impressions (USD, for a cap)").fill("")
        await page.get_by_label("Headline (up to 40 characters)").fill("Questions?")
        await page.get_by_label("Text (125 characters recommended)").fill("Call 011 98765 4321 today")
        await page.get_by_label("Image (JPEG or PNG)").set_input_files([])
        await page.click("#new-campaign-submit")
        refused = page.locator("#campaigns-table tbody tr", has_text="Call us")
        await expect(refused.locator(".campaign-review")).to_contain_text("Not approved")
        await expect(refused.locator(".ads-reason")).to_contain_text("PHONE_IN_TEXT")
        await expect(refused.locator(".campaign-status")).to_have_text("Not approved")
        await assert_looks_right(page, BARS, f"ads, a refused ad ({name})")
        stored = (await c.ads.overview(int(biz.waba_id)))["campaigns"][0]["ads"][0]
        assert stored["media_type"] == "image" and stored["welcome_message"].startswith("Thanks for writing")
        assert stored["prefilled_text"] == "Hi! Which sizes do you have?" and stored["quality"] > 0.5
        await page.screenshot(path=f"/tmp/console-ads-{name}.png", full_page=True)
        await context.close()
    assert not errors, errors
