"""End to end: a business owner uses the console's Billing page in Debian's Chromium, on a phone and a desktop.

The owner signs in through /inbox/login, opens Billing, tops up 25.00 with the sandbox's test card and sees the
balance move, tries the declined card and reads why (the balance stays), the business sends a charged template
through the Cloud API and, after a reload, the spend chart and table show it; the cost preview prices the same
message, and the month's statement opens. Each viewport also passes axe, fits its width and overlaps nothing.
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_fits_width, assert_looks_right, sign_in_agent, watch_errors
from tests.integration.business_helpers import ack_all, approved_template, create_business, send, template_body
from tests.integration.inbox_helpers import PASSWORD

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
BARS = ".topbar-brand > *, .topbar-nav a, .topbar-me button, .console-nav a"


async def _top_up(page: Page, amount: str, card: str) -> None:
    await page.fill("#topup-amount", amount)
    await page.fill("#card-number", card)
    await page.fill("#card-expiry", "12/34")
    await page.fill("#card-cvc", "123")
    await page.dblclick("#topup-submit")  # an impatient double click pays once


async def test_an_owner_tops_up_sees_a_decline_and_watches_the_spend_move(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    for n, (name, viewport) in enumerate(VIEWPORTS.items()):
        biz = await create_business(server, f"Billing {name.title()} Co")
        email = f"owner.{name}@example.com"
        await server.container.inbox.create_agent(
            int(biz.waba_id), email=email, name="Olga Owner", role="owner", password=PASSWORD
        )
        await approved_template(
            server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}."
        )
        person = await server.user("Jonas", f"+49151234500{n:02d}")

        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        watch_errors(page, errors)
        await sign_in_agent(page, server.base_url, email, PASSWORD)
        await page.goto(server.base_url + "/inbox/console")
        await page.click("#console-nav-billing")
        await page.wait_for_url(re.compile(r"/inbox/console/billing$"))
        await expect(page.locator("#balance-balance")).to_have_text("10.00")
        await page.screenshot(path=f"/tmp/console-billing-first-{name}.png", full_page=True)
        await assert_looks_right(page, BARS, f"billing ({name})")

        await _top_up(page, "25.00", "4242 4242 4242 4242")
        await expect(page.locator("#topup-result")).to_contain_text("Paid 25.00 USD with visa ending 4242")
        await expect(page.locator("#balance-balance")).to_have_text("35.00")
        await expect(page.locator("#balance-available")).to_have_text("35.00")
        assert len(await server.container.payments.recent(payer_kind="waba", payer_id=int(biz.waba_id))) == 1

        await _top_up(page, "25.00", "4000 0000 0000 0002")
        await expect(page.locator("#topup-result")).to_have_text("Your card was declined.")
        await expect(page.locator("#balance-balance")).to_have_text("35.00")
        await page.screenshot(path=f"/tmp/console-billing-topup-{name}.png", full_page=True)

        # The cost preview, then the same message really sent and delivered.
        await page.select_option("#preview-category", "marketing")
        await page.fill("#preview-to", person.phone)
        await page.click("#preview-submit")
        await expect(page.locator("#preview-amount")).to_have_text("0.1365 USD")
        sent = await send(server, biz, template_body(person, name="autumn_sale"))
        assert sent.status_code == 200, sent.text
        await ack_all(server, person)

        await page.reload()
        today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date().isoformat()
        await expect(page.locator("#spend-total")).to_have_text("0.1365")
        await expect(page.locator(f'#spend-table tr[data-day="{today}"] .day-total')).to_have_text("0.1365")
        await expect(page.locator("#spend-chart rect.bar-marketing")).to_have_count(1)
        await expect(page.locator("#balance-balance")).to_have_text("34.8635")
        await assert_looks_right(page, BARS, f"billing after a send ({name})")
        await page.screenshot(path=f"/tmp/console-billing-{name}.png", full_page=True)
        await page.locator(".topbar").screenshot(path=f"/tmp/console-billing-topbar-{name}.png")

        await page.click("#statements-table a.statement-html")
        await expect(page.locator("h1")).to_contain_text(f"Statement for Billing {name.title()} Co")
        await expect(page.locator("#total")).to_have_text("0.14 USD")
        await assert_fits_width(page, f"statement ({name})")
        await page.screenshot(path=f"/tmp/console-billing-statement-{name}.png", full_page=True)
        await context.close()
    assert not errors, errors
