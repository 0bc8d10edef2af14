"""Issue 14's "done when", end to end in Debian's Chromium against a live server: Atelier Nova, a Brazilian
shop, creates a click-to-chat campaign in the console; the demo publisher's feed shows its ad to Ada (a phone,
Portuguese); Ada taps "Send message" and lands in the shop's chat with the ad's text prefilled, asks about a size;
Caio answers from the team inbox, Ada orders the dress from the shop, Caio requests payment (order_details) and Ada
pays with the sandbox card. The campaign's insights page then shows 1 click → 1 conversation → 1 purchase with
its revenue and ROAS, every message the business sent inside the 72-hour free entry point — a marketing template
included — is free and charged nothing, and the ledger verifies.
"""

from __future__ import annotations

import asyncio
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import Connection, func, select
from typer.testing import CliRunner

from parley.ads.models import ad_clicks, ad_impressions
from parley.business.models import business_messages
from parley.cli.main import app as parley_cli
from parley.ledger.models import ledger_accounts, ledger_transfers
from tests.conftest import LiveServer
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, sign_in_agent, watch_errors
from tests.integration.business_helpers import (
    ack_all,
    approved_template,
    create_business,
    send,
    statuses,
    template_body,
)
from tests.integration.commerce_helpers import add_product, catalog_of, set_commerce
from tests.integration.inbox_helpers import PASSWORD
from tests.integration.test_graph_media import jpeg

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

DRESS = Decimal("189.90")  # BRL
BRL_IN_USD = Decimal("0.18")  # the default reporting rate (settings.ads.conversion_rates)
HEADLINE = "Linen dresses, made to measure"
ASK = "Oi! Vocês têm este vestido no tamanho M?"


async def staff_page(browser: Browser, server: LiveServer, email: str, viewport: object, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, email, PASSWORD)
    return page


async def feed_with_the_ad(page: Page, base_url: str) -> None:
    """The publisher's feed, reloaded until the ad server has picked the new campaign up (it reloads on the bus's
    `ads.changed`, at once in one process)."""
    for _ in range(20):
        await page.goto(base_url + "/demo/feed")
        frame = page.frame_locator("iframe[title='Sponsored']")
        try:
            await expect(frame.locator("h2")).to_have_text(HEADLINE, timeout=1_500)
            return
        except AssertionError:
            await asyncio.sleep(0.5)
    raise AssertionError("the feed never showed Atelier Nova's ad")


async def test_an_ad_click_becomes_a_paid_order_and_the_insights_show_the_return(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    c = server.container
    shop = await create_business(server, "Atelier Nova", phone="+5511987650077")
    waba = int(shop.waba_id)
    catalog_id = await catalog_of(server, shop, "Atelier Nova")
    await add_product(server, catalog_id, "dress-m", "Linen dress, size M", int(DRESS * 1_000_000), currency="BRL")
    await set_commerce(server, shop, cart=True, visible=True)
    await approved_template(
        server, shop, name="new_collection", category="MARKETING", body="New linen {{1}} in store from {{2}}!"
    )
    await c.billing.topup(waba, 50_000_000, "ads-budget")  # $50 for the campaign (and messages, were any charged)
    for email, name, role in (("nina@atelier.example", "Nina", "owner"), ("caio@atelier.example", "Caio", "agent")):
        await c.inbox.create_agent(waba, email=email, name=name, role=role, password=PASSWORD)

    # 1. Nina (the owner, at her desk) creates the campaign from the console's first screen.
    owner = await staff_page(browser, server, "nina@atelier.example", DESKTOP, errors)
    await owner.goto(server.base_url + "/inbox/console")
    await owner.click("#console-nav-ads")
    await owner.get_by_label("Campaign name").fill("Linen summer")
    await owner.get_by_label("Objective").select_option("OUTCOME_SALES")
    await owner.get_by_label("Daily budget (USD)").fill("20.00")
    await owner.get_by_label("Markets (country codes, comma-separated)").fill("BR")
    await owner.get_by_label("Languages (codes, comma-separated)").fill("pt")
    await owner.get_by_label("Headline (up to 40 characters)").fill(HEADLINE)
    await owner.get_by_label("Text (125 characters recommended)").fill("Ask us about sizes and colours.")
    await owner.get_by_label("Image (JPEG or PNG)").set_input_files(
        {"name": "dress.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
    )
    await owner.get_by_label("Message people start with").fill(ASK)
    await owner.get_by_label("Welcome message").fill("Obrigada! Respondemos em minutos.")
    await owner.click("#new-campaign-submit")
    campaign = owner.locator("#campaigns-table tbody tr", has_text="Linen summer")
    await expect(campaign.locator(".campaign-review")).to_contain_text("Approved")
    await expect(campaign.locator(".campaign-status")).to_have_text("Active")

    # 2. Ada, on her phone in Portuguese, reads the publisher's feed: the ad is there, between posts.
    ada = await server.user("Ada", phone="+5511912340077")
    context = await browser.new_context(viewport=PHONE, locale="pt-BR")  # type: ignore[arg-type]
    await context.add_init_script(f"localStorage.setItem('parley.token', {ada.token!r});")
    person = await context.new_page()
    watch_errors(person, errors)
    await feed_with_the_ad(person, server.base_url)
    await assert_accessible(person, "the publisher's feed with the ad")
    await assert_fits_width(person, "the publisher's feed at 390 px")

    # 3. She taps "Send message": the shop's chat opens with the ad's text; she sends it.
    frame = person.frame_locator("iframe[title='Sponsored']")
    await frame.get_by_role("link", name="Send message").click()
    await person.wait_for_url("**/app#*")
    await expect(person.locator("#composer-input")).to_have_value(ASK)
    await person.click("#send")
    await expect(person.locator(".message.own", has_text=ASK)).to_have_attribute(
        "data-message-id", re.compile(r"^\d+$")
    )

    # 4. Caio answers from the team inbox (within 24 h: the 72-hour free entry point opens).
    agent = await staff_page(browser, server, "caio@atelier.example", DESKTOP, errors)
    await agent.locator(".assignee-tab[data-assignee=all]").click()
    await agent.locator(".conversation-row", has_text="Ada").click()
    await expect(agent.locator("#message-list")).to_contain_text(ASK)
    await agent.fill("#reply-text", "Temos sim! O M está no catálogo, é só pedir.")
    await agent.click("#reply-send")
    await expect(person.locator(".message", has_text="Temos sim!")).to_have_count(1)

    # 5. Ada orders the dress from the shop; Caio requests payment; Ada pays with the sandbox card.
    await person.get_by_role("button", name="Business info").click()
    info = person.get_by_role("dialog", name="Atelier Nova")
    await info.locator(".product-tile[data-retailer-id=dress-m]").get_by_role("button", name="Add to cart").click()
    await info.get_by_role("button", name="Close").click()
    await person.get_by_role("button", name="Cart, 1 item").click()
    cart = person.get_by_role("dialog", name="Your cart")
    await cart.get_by_role("button", name="Send to business").click()
    await expect(cart).to_have_count(0)
    card = agent.locator("#message-list .order-card")
    await expect(card).to_have_attribute("data-order-total", str(int(DRESS * 1_000_000)))
    await card.get_by_role("button", name="Request payment").click()
    request = agent.locator("#payment-dialog")
    await agent.fill("#payment-link", "https://pay.atelier-nova.example/ada")
    await request.get_by_role("button", name="Send payment request").click()
    await expect(request).to_be_hidden()
    review = person.get_by_role("button", name="Review and pay")
    await review.click()
    sheet = person.get_by_role("dialog", name="Your order")
    await sheet.get_by_label("Card number").fill("4242 4242 4242 4242")
    await sheet.get_by_label("Expiry (MM/YY)").fill("12/34")
    await sheet.get_by_label("CVC").fill("123")
    await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(sheet.locator(".order-sheet-state")).to_have_text("Paid")

    # 6. A day later the shop's CRM sends a marketing template: still inside the free entry point.
    server.clock.advance(hours=30)
    promo = await send(server, shop, template_body(ada, "new_collection"))
    assert promo.status_code == 200, promo.text
    await ack_all(server, ada)
    priced = [s for s in await statuses(server, shop, promo.json()["messages"][0]["id"]) if "pricing" in s]
    assert priced and priced[0]["status"] == "sent", priced  # then delivered, or read at once: Ada's page is open
    for status in priced:
        assert status["pricing"]["type"] == "free_entry_point" and status["pricing"]["billable"] is False, status

    # 7. Nina opens the campaign's insights: 1 click → 1 conversation → 1 purchase, its revenue and ROAS.
    await c.ad_server.flush()  # what the server served so far is on the books (it flushes every second anyway)
    spend = await c.db.read(
        lambda conn: (
            sum(r.price for r in conn.execute(select(ad_impressions.c.price)))
            + sum(r.price for r in conn.execute(select(ad_clicks.c.price)))
        )
    )
    revenue = int(DRESS * BRL_IN_USD * 1_000_000)  # the sale at the reporting rate: 34.182 USD, in micros
    await owner.reload()
    await campaign.locator("a.campaign-link").click()
    await owner.wait_for_url(re.compile(r"/inbox/console/ads/insights\?campaign=\d+"))
    await expect(owner.locator("#funnel-clicks")).to_have_text("1")
    await expect(owner.locator("#funnel-conversations")).to_have_text("1")
    await expect(owner.locator("#funnel-purchases")).to_have_text("1")
    await expect(owner.locator("#ads-revenue")).to_have_text("34.18")
    assert spend > 0  # the impressions Ada saw were charged at the auction's price
    roas = (Decimal(revenue) / Decimal(spend)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    await expect(owner.locator("#ads-roas")).to_have_text(format(roas, "f"))
    await assert_accessible(owner, "the campaign's insights")
    await owner.screenshot(path="/tmp/parley-ads-scenario-insights.png", full_page=True)

    # 8. Nothing the business sent in the window was charged: every message it sent Ada is a free entry point
    # message, no message charge touched its wallet, and the books verify.
    def sent_and_charged(conn: Connection) -> tuple[list[str | None], int]:
        kinds = [
            r.pricing_type
            for r in conn.execute(
                select(business_messages.c.pricing_type).where(
                    business_messages.c.waba_id == waba, business_messages.c.direction == "out"
                )
            )
        ]
        wallet = conn.execute(select(ledger_accounts.c.id).where(ledger_accounts.c.key == f"waba:{waba}:wallet"))
        charges = conn.execute(
            select(func.count()).where(
                ledger_transfers.c.code == "message_charge", ledger_transfers.c.debit_account_id == wallet.scalar_one()
            )
        ).scalar_one()
        return kinds, int(charges)

    kinds, charges = await c.db.read(sent_and_charged)
    assert len(kinds) >= 3 and set(kinds) == {"free_entry_point"}, kinds  # the answer, order_details, the template
    assert charges == 0
    env = {
        "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(server.settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
    }
    result = await asyncio.to_thread(CliRunner().invoke, parley_cli, ["ledger", "verify"], env=env)
    assert result.exit_code == 0, result.output
    for page in (person, agent, owner):
        await page.context.close()
    assert not errors, errors
