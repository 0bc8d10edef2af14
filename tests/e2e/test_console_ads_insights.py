"""End to end: an advertiser's owner reads the console's ads insights in Debian's Chromium, on a phone and a
desktop: the funnel from impressions to purchases, spend, revenue and ROAS, the per-day charts, the per-ad table,
another date range, one campaign, and the CSV download. Each view passes axe, fits its width, overlaps nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, watch_errors
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.test_ads_insights import _setup

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
BARS = ".topbar-brand > *, .topbar-nav a, .topbar-me button, .console-nav a"


async def test_an_owner_reads_the_ads_funnel_and_downloads_the_csv(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    for name, viewport in VIEWPORTS.items():
        biz, ads, day1 = await _setup(server)
        email = f"owner.ads.{name}@example.com"
        await server.container.inbox.create_agent(
            int(biz.waba_id), email=email, name="Olga Owner", role="owner", password=PASSWORD
        )
        since, until = day1.date().isoformat(), (day1.date() + timedelta(days=1)).isoformat()
        context = await browser.new_context(viewport=viewport, accept_downloads=True)
        page = await context.new_page()
        watch_errors(page, errors)
        await sign_in_agent(page, server.base_url, email, PASSWORD)
        await page.goto(server.base_url + "/inbox/console/ads/insights")
        await page.fill("#ads-since", since)
        await page.fill("#ads-until", until)
        await page.click("#ads-submit")
        await page.wait_for_url(re.compile(rf"since={since}"))
        await expect(page.locator("#funnel-impressions")).to_have_text("7")
        await expect(page.locator("#funnel-clicks")).to_have_text("1")
        await expect(page.locator("#funnel-conversations")).to_have_text("1")
        await expect(page.locator("#funnel-purchases")).to_have_text("2")
        await expect(page.locator("#ads-spend")).to_have_text("5.50")
        await expect(page.locator("#ads-revenue")).to_have_text("9.00")
        await expect(page.locator("#ads-roas")).to_have_text("1.64")
        await expect(page.locator("#ads-money-chart")).to_be_visible()
        await expect(page.locator("#ads-funnel-chart")).to_be_visible()
        first = page.locator(f"#ad-row-{ads[0].id}")
        await expect(first).to_contain_text("Ad 1")
        await expect(first).to_contain_text("4.50")
        await expect(page.locator("#ads-table tbody tr")).to_have_count(2)
        await assert_looks_right(page, BARS, f"ads insights ({name})")
        await page.screenshot(path=f"/tmp/console-ads-insights-{name}.png", full_page=True)

        async with page.expect_download() as download_info:
            await page.click("#ads-csv")
        download = await download_info.value
        rows = list(csv.DictReader(io.StringIO((await download.path()).read_text(encoding="utf-8"))))
        assert [(r["name"], r["date"]) for r in rows] == [("Ad 1", since), ("Ad 2", until)]

        # The day before: nothing was shown, and the page says so instead of drawing empty charts.
        earlier = (day1.date() - timedelta(days=1)).isoformat()
        await page.fill("#ads-since", earlier)
        await page.fill("#ads-until", earlier)
        await page.click("#ads-submit")
        await page.wait_for_url(re.compile(rf"until={earlier}"))
        await expect(page.locator("#funnel-impressions")).to_have_text("1")  # the one just before midnight
        await expect(page.locator("#ads-table tbody tr")).to_have_count(1)

        # since after until: the form says why.
        await page.fill("#ads-since", until)
        await page.fill("#ads-until", since)
        await page.click("#ads-submit")
        await expect(page.locator("#ads-error")).to_contain_text("since")
        await assert_looks_right(page, BARS, f"ads insights, bad range ({name})")
        await context.close()
    assert not errors, errors
