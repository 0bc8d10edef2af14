"""Issue 13's "done when", end to end in Debian's Chromium against a live server: a person opens a Brazilian
shop's catalog from its profile, fills a cart and sends it; the agent sees the order in the team inbox and
requests payment (order_details); the person pays with the sandbox card; the business's webhook hears
`captured`; the agent marks the order shipped (after Meta's refusal to cancel a paid order is shown); an admin
refunds one line in the console; the console's statement and the operator's revenue report show the 3.99 %
commission and its partial reversal to the micro.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from typer.testing import CliRunner

from parley.cli.main import app as parley_cli
from tests.conftest import LiveServer, User
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, sign_in_agent, watch_errors
from tests.integration.business_helpers import create_business, person_writes, subscribe_app
from tests.integration.commerce_helpers import add_product, catalog_of, set_commerce
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.test_webhooks_support import Receiver, receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

CENT = Decimal("0.01")
RATE = Decimal("0.0399")  # Brazil's default merchant commission (payments/fees.py: 399 bps)
MUG, TEE = Decimal("12.00"), Decimal("39.90")


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def shown(amount: Decimal) -> str:
    """An amount as the console's statement writes it (at least 2 decimals, a minus sign when negative)."""
    return f"{amount:.2f}"


async def payment_statuses(rx: Receiver) -> list[dict[str, Any]]:
    return [s for post in rx.posts for s in post.value.get("statuses", []) if s.get("type") == "payment"]


async def person_page(browser: Browser, server: LiveServer, person: User, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def staff_page(browser: Browser, server: LiveServer, email: str, viewport: Any, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, email, PASSWORD)
    return page


async def test_a_person_buys_pays_and_gets_a_line_refunded_and_the_books_show_the_fee(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    async with receiver(verify_token="vt-shop") as rx:
        shop = await create_business(server, "Loja Azul", phone="+5511987650001")
        await subscribe_app(server, shop, rx.url, "vt-shop", ["messages"])
        catalog_id = await catalog_of(server, shop, "Loja Azul")
        await add_product(server, catalog_id, "mug-1", "Blue mug", int(MUG * 1_000_000), currency="BRL")
        await add_product(server, catalog_id, "tee-1", "Red tee", int(TEE * 1_000_000), currency="BRL")
        await set_commerce(server, shop, cart=True, visible=True)
        waba = int(shop.waba_id)
        await server.container.inbox.create_agent(
            waba, email="caio@loja.example", name="Caio", role="agent", password=PASSWORD
        )
        await server.container.inbox.create_agent(
            waba, email="olga@loja.example", name="Olga", role="admin", password=PASSWORD
        )
        ada = await server.user("Ada", phone="+5511912340001")
        await person_writes(server, ada, shop, "Oi! Vocês têm canecas?")

        # 1. Ada (on her phone) opens the shop's catalog from its profile, fills her cart and sends it.
        person = await person_page(browser, server, ada, errors)
        await person.locator(".chat-item", has_text="Loja Azul").click()
        await person.get_by_role("button", name="Business info").click()
        info = person.get_by_role("dialog", name="Loja Azul")
        await expect(info.locator(".catalog-grid .product-tile")).to_have_count(2)
        await info.locator(".product-tile[data-retailer-id=mug-1]").get_by_role("button", name="Add to cart").click()
        await info.locator(".product-tile[data-retailer-id=tee-1]").get_by_role("button", name="Add to cart").click()
        await expect(person.get_by_role("button", name="Cart, 2 items")).to_be_visible()
        await info.get_by_role("button", name="Close").click()
        await person.get_by_role("button", name="Cart, 2 items").click()
        cart = person.get_by_role("dialog", name="Your cart")
        await cart.get_by_role("button", name="One more Blue mug").click()
        total = 2 * MUG + TEE  # 63.90
        await expect(cart.locator(".cart-total-amount")).to_contain_text("63.90")
        await cart.get_by_role("button", name="Send to business").click()
        await expect(cart).to_have_count(0)
        await expect(person.locator(".message.own .order-card .order-total-amount")).to_contain_text("63.90")

        # 2. Caio sees the order in the team inbox and requests payment for it.
        agent = await staff_page(browser, server, "caio@loja.example", DESKTOP, errors)
        await agent.locator(".assignee-tab[data-assignee=all]").click()
        await agent.locator(".conversation-row", has_text="Ada").click()
        card = agent.locator("#message-list .order-card")
        await expect(card.locator(".order-line")).to_have_count(2)
        await expect(card).to_have_attribute("data-order-total", "63900000")
        await card.get_by_role("button", name="Request payment").click()
        request = agent.locator("#payment-dialog")
        await expect(request.locator(".payment-total")).to_have_text("Total 63.90 BRL")
        await agent.fill("#payment-link", "https://pay.loja.example/ada")
        await request.get_by_role("button", name="Send payment request").click()
        await expect(request).to_be_hidden()
        sent = agent.locator("#message-list .biz-card.card-order_details")
        await expect(sent).to_have_count(1)

        # 3. Ada reviews the order and pays with the sandbox card.
        review = person.get_by_role("button", name="Review and pay")
        await expect(review).to_be_visible()
        await review.click()
        sheet = person.get_by_role("dialog", name="Your order")
        await expect(sheet).to_contain_text("Not paid yet")
        await sheet.get_by_label("Card number").fill("4242 4242 4242 4242")
        await sheet.get_by_label("Expiry (MM/YY)").fill("12/34")
        await sheet.get_by_label("CVC").fill("123")
        await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await expect(sheet.locator(".order-sheet-state")).to_have_text("Paid")
        await sheet.get_by_role("button", name="Close").click()

        # 4. The business's webhook hears `captured` for 63.90 BRL.
        while "captured" not in [s["status"] for s in await payment_statuses(rx)]:
            await rx.wait_for(len(rx.posts) + 1, timeout=10)
        captured = next(s for s in await payment_statuses(rx) if s["status"] == "captured")
        assert (captured["payment"]["amount"], captured["payment"]["currency"]) == (
            {"value": 6390, "offset": 100},
            "BRL",
        )
        reference_id = captured["payment"]["reference_id"]

        # 5. Caio (now on his phone) sets the order's status: canceling a paid order is refused (he reads Meta's
        # reason), shipped goes.
        await agent.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await sent.get_by_role("button", name=f"Order status of {reference_id}").click()
        status = agent.get_by_role("dialog", name=re.compile("^Order status"))
        await agent.select_option("#order-status-value", "canceled")
        await status.get_by_role("button", name="Send status").click()
        await expect(status.get_by_role("alert")).to_contain_text("refund it")
        await agent.select_option("#order-status-value", "shipped")
        await agent.fill("#order-status-description", "Rastreio BR123")
        await assert_accessible(agent, "order status dialog")
        await assert_fits_width(agent, "order status dialog at 390 px")
        await agent.screenshot(path="/tmp/parley-commerce-scenario-order-status.png")
        await status.get_by_role("button", name="Send status").click()
        await expect(status).to_be_hidden()
        await expect(agent.locator("#message-list .biz-card.card-order_status")).to_have_count(1)
        await person.get_by_role("button", name="View order").last.click()
        await expect(person.get_by_role("dialog", name="Your order")).to_contain_text(re.compile("shipped", re.I))
        await person.get_by_role("dialog", name="Your order").get_by_role("button", name="Close").click()

        # 6. Olga (an admin, on her phone) refunds the tee's line from the console's Payments page.
        admin = await staff_page(browser, server, "olga@loja.example", PHONE, errors)
        await admin.goto(server.base_url + "/inbox/console/payments")
        row = admin.locator(f'#orders-table tr[data-reference="{reference_id}"]')
        await expect(row.locator(".order-total")).to_have_text("63.90 BRL")
        await expect(row.locator(".order-refunded")).to_have_text("0.00 BRL")
        await row.get_by_role("button", name=f"Refund order {reference_id}").click()
        refund = admin.get_by_role("dialog", name=f"Refund order {reference_id}")
        await refund.get_by_label("1 × Red tee: 39.90 BRL").check()
        await assert_accessible(admin, "refund dialog")
        await assert_fits_width(admin, "refund dialog at 390 px")
        await refund.get_by_role("button", name="Refund", exact=True).click()
        await expect(row.locator(".order-refunded")).to_have_text("39.90 BRL")

        # 7. The statement shows the commission and its partial reversal to the micro.
        fee = half_up(total * RATE)  # 63.90 × 3.99 % = 2.54961 → 2.55
        fee_back = half_up(fee * TEE / total)  # 2.55 × 39.90 / 63.90 = 1.5922… → 1.59
        assert (fee, fee_back) == (Decimal("2.55"), Decimal("1.59"))
        lines = admin.locator("#statement-table")
        expected = {
            "captures": total,
            "fees": -fee,
            "refunds": -TEE,
            "fees_returned": fee_back,
            "closing": total - fee - TEE + fee_back,
        }
        for key, amount in expected.items():
            await expect(lines.locator(f'tr[data-line="{key}"] td')).to_have_text(shown(amount))
        await assert_accessible(admin, "payments page after a refund")
        await assert_fits_width(admin, "payments page at 390 px")
        await admin.screenshot(path="/tmp/parley-commerce-scenario-payments.png", full_page=True)

        # 8. The operator's revenue report: the payments lever holds the fee less what the refund returned.
        today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date().isoformat()
        env = {
            "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
            "PARLEY_DATA_DIR": str(server.settings.data_dir),
            "PARLEY_SECRET_KEY": "test-secret",
        }
        result = await asyncio.to_thread(
            CliRunner().invoke, parley_cli, ["billing", "revenue", "--from", today, "--to", today, "--json"], env=env
        )
        assert result.exit_code == 0, result.output
        levers = {(lv["lever"], lv["currency"]): lv for lv in json.loads(result.stdout)["by_lever"]}
        assert levers[("payments", "BRL")]["revenue"] == shown(fee - fee_back)  # 0.96
        assert levers[("payments", "BRL")]["postings"] == 2  # the fee, and its part returned by the refund
        for page in (person, agent, admin):
            await page.context.close()
    assert not errors, errors
