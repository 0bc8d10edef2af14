"""End to end: a merchant's owner reads the console's Payments page in Debian's Chromium, on a phone and a desktop.

Customers paid two orders with the sandbox card; days later the daily payout sent the matured part to the bank
and a card network opened a chargeback on one order. The owner opens Payments from the console's navigation and
reads the payable (what the next payout can take, what is still held), the payout with its bank reference, the
dispute, and this month's statement line by line; then picks last month and sees it empty. Each viewport also
passes axe, fits its width and overlaps nothing.
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_looks_right, sign_in_agent, watch_errors
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.pay_helpers import card_payment

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
BARS = ".topbar-brand > *, .topbar-nav a, .topbar-me button, .console-nav a"
BRL = 1_000_000


async def test_an_owner_reads_payable_payouts_disputes_and_the_statement(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    c = server.container
    sellers = {}
    for name in VIEWPORTS:
        biz = await create_business(server, f"Loja {name.title()}")
        email = f"owner.pay.{name}@example.com"
        await c.inbox.create_agent(int(biz.waba_id), email=email, name="Olga Owner", role="owner", password=PASSWORD)
        sellers[name] = (int(biz.waba_id), email)
        await card_payment(c, waba_id=int(biz.waba_id), amount=100 * BRL, fee=3_990_000, reference_id=f"{name}-1")
    server.clock.advance(hours=49)  # the first sales have waited the payout delay
    for name, (waba, _email) in sellers.items():
        await card_payment(c, waba_id=waba, amount=20 * BRL, fee=798_000, reference_id=f"{name}-2")
    run = await c.payouts.run_due()
    assert sorted(p.amount for p in run.paid) == [96_010_000, 96_010_000]
    for name in VIEWPORTS:
        await c.disputes.open(f"{name}-2", 20 * BRL, reason="fraudulent")
    month = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date().replace(day=1)
    last_month = (month - datetime.timedelta(days=1)).strftime("%Y-%m")

    for name, viewport in VIEWPORTS.items():
        _waba, email = sellers[name]
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        watch_errors(page, errors)
        await sign_in_agent(page, server.base_url, email, PASSWORD)
        await page.goto(server.base_url + "/inbox/console")
        await page.click("#console-nav-payments")
        await page.wait_for_url(re.compile(r"/inbox/console/payments$"))
        # 96.01 paid out; 19.202 from the second sale, less its 20.00 chargeback (the fee stays): owed.
        await expect(page.locator("#payable-balance-BRL")).to_have_text("-0.798")
        await expect(page.locator("#payable-owed-BRL")).to_contain_text("You owe 0.798 BRL")
        await expect(page.locator("#payable-available-BRL")).to_have_text("0.00")
        await expect(page.locator("#payable-held-BRL")).to_have_text("19.202")
        payout = page.locator("#payouts-table tbody tr")
        await expect(payout).to_have_count(1)
        await expect(payout).to_contain_text("96.01 BRL")
        await expect(payout).to_contain_text("paid")
        await expect(payout.locator(".reference")).to_contain_text("po_sandbox_")
        await expect(page.locator("#disputes-table tbody tr")).to_contain_text(f"{name}-2")
        lines = page.locator("#statement-table")
        await expect(lines.locator('tr[data-line="captures"] td')).to_have_text("120.00")
        await expect(lines.locator('tr[data-line="fees"] td')).to_have_text("-4.788")
        await expect(lines.locator('tr[data-line="payouts"] td')).to_have_text("-96.01")
        await expect(lines.locator('tr[data-line="disputes"] td')).to_have_text("-20.00")
        await expect(lines.locator('tr[data-line="closing"] td')).to_have_text("-0.798")
        await assert_looks_right(page, BARS, f"payments ({name})")
        await page.screenshot(path=f"/tmp/console-payments-{name}.png", full_page=True)

        await page.fill("#statement-month", last_month)
        await page.click("#statement-show")
        await page.wait_for_url(re.compile(rf"month={last_month}"))
        await expect(page.locator('#statement-table tr[data-line="captures"] td')).to_have_text("0.00")
        await expect(page.locator('#statement-table tr[data-line="closing"] td')).to_have_text("0.00")
        await assert_looks_right(page, BARS, f"payments, last month ({name})")
        await context.close()
    assert not errors, errors
