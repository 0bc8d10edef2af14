"""Issue 15's scenario (3), end to end in Debian's Chromium against a live server: Fia (an affiliate, at her
desk) opens /earn from her chats, gets her link for Loja Verde's shop, copies it and shows its QR code; Bea (on her
phone) opens the link, lands in the shop's chat signed in, and pays an order with the sandbox card; Fia's /earn
shows the commission pending; the clock passes the refund window, the release sweep runs, Fia sees it paid and her
Parley Pay wallet holds it; a second purchase is refunded inside the window and Fia sees it clawed back. The ledger
verifies after each step; the pages pass axe at 390 and 1280 px.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, expect
from typer.testing import CliRunner

from parley.business import parse_wamid
from parley.cli.main import app as parley_cli
from parley.payments.books import person_wallet_key
from tests.conftest import LiveServer
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, watch_errors
from tests.integration.affiliate_helpers import balance, ledger_ok, merchant, refund
from tests.integration.business_helpers import send
from tests.integration.test_merchant_payments import brazil_order

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
DAY_H = 24


async def person_page(browser: Browser, token: str, viewport: object, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    await context.add_init_script(f"localStorage.setItem('parley.token', {token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    return page


async def cli(server: LiveServer, *args: str) -> str:
    env = {
        "PARLEY_DATABASE_URL": server.settings.resolved_database_url,
        "PARLEY_DATA_DIR": str(server.settings.data_dir),
        "PARLEY_SECRET_KEY": "test-secret",
    }
    result = await asyncio.to_thread(CliRunner().invoke, parley_cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def pay_in_the_chat(page: Page, server: LiveServer, shop: object, buyer: object, reference_id: str) -> None:
    """The shop sends an order (2 × Camiseta, 110.00 BRL) through the Business API; the buyer pays it by card."""
    expires = server.clock.now_ms() // 1000 + 3600
    sent = await send(server, shop, brazil_order(buyer, reference_id, expires))  # type: ignore[arg-type]
    assert sent.status_code == 200, sent.text
    message_id = str(parse_wamid(sent.json()["messages"][0]["id"]))
    bubble = page.locator(f'.message[data-message-id="{message_id}"] .order-card')
    await bubble.get_by_role("button", name="Review and pay").click()
    sheet = page.get_by_role("dialog", name="Your order")
    await sheet.get_by_label("Card number").fill("4242 4242 4242 4242")
    await sheet.get_by_label("Expiry (MM/YY)").fill("12/34")
    await sheet.get_by_label("CVC").fill("123")
    await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(sheet.locator(".order-sheet-state")).to_have_text("Paid")
    await sheet.get_by_role("button", name="Close").click()


async def test_an_affiliate_shares_a_link_a_purchase_pays_a_commission_and_a_refund_claws_one_back(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    shop = await merchant(server, "Loja Verde", rate_bp=500, window_days=7, hold_days=14, terms="5 % de cada pedido")
    fia = await server.user("Fia")
    bea = await server.user("Bea", phone="+5511912340015")

    # 1. Fia opens /earn at her desk: Loja Verde's program is there; she gets her link and copies it.
    earn = await person_page(browser, fia.token, DESKTOP, errors)
    await earn.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    await earn.goto(server.base_url + "/app")
    await earn.get_by_role("link", name="Earn with affiliate links").click()
    await earn.wait_for_url("**/earn")
    program = earn.locator("#earn-programs li", has_text="Loja Verde")
    await expect(program).to_contain_text("5.00 % commission")
    await expect(program).to_contain_text("5 % de cada pedido")
    await assert_accessible(earn, "/earn before any link (1280 px)")
    await program.get_by_role("button", name="Get my link for Loja Verde").click()
    link = earn.locator("#earn-links li", has_text="Loja Verde")
    url_box = link.get_by_role("textbox", name="Your link for Loja Verde")
    await expect(url_box).to_have_value(re.compile(r"/r/[A-Za-z0-9_-]{10,}$"))
    shared = await url_box.input_value()
    await link.get_by_role("button", name="Copy link").click()
    await expect(link.get_by_role("button", name="Copied")).to_be_visible()
    assert await earn.evaluate("navigator.clipboard.readText()") == shared
    url = server.base_url + shared[shared.index("/r/") :]  # the link names PARLEY_PUBLIC_URL; this server's port
    await link.get_by_text("QR code").click()
    qr = link.get_by_role("img", name="QR code of your link for Loja Verde")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    await assert_accessible(earn, "/earn with a link (1280 px)")
    await assert_fits_width(earn, "/earn at 1280 px")

    # 2. Bea, on her phone, opens the shared link: she lands in Loja Verde's chat (signed in, the click is hers).
    buyer = await person_page(browser, bea.token, PHONE, errors)
    await buyer.goto(url)
    await buyer.wait_for_url("**/app#chat=*")
    await buyer.fill("#composer-input", "Oi! Vi a camiseta pelo link da Fia.")
    await buyer.click("#send")
    await expect(buyer.locator(".message.own", has_text="Vi a camiseta")).to_have_attribute(
        "data-message-id", re.compile(r"^\d+$")
    )
    await assert_accessible(buyer, "the shop's chat from an affiliate link (390 px)")
    await assert_fits_width(buyer, "the shop's chat at 390 px")

    # 3. The shop sends the order, Bea pays it by card: Fia's commission is pending.
    await pay_in_the_chat(buyer, server, shop, bea, "VERDE-1")
    assert await ledger_ok(server)
    await earn.reload()
    await expect(earn.locator('[data-figure="total-pending"] dd')).to_have_text("5.50 BRL")
    await expect(earn.locator('[data-figure="total-paid"] dd')).to_have_text("0.00 BRL")
    await expect(link).to_contain_text("Purchases1")

    # 4. Fifteen days later the refund window has closed: the release sweep pays Fia's wallet.
    server.clock.advance(hours=15 * DAY_H)
    assert await server.container.affiliate_commissions.release_due() == 1  # one pass of the server's sweep
    assert await balance(server, person_wallet_key(int(fia.user_id), "BRL")) == 5_500_000
    assert await ledger_ok(server)
    await earn.reload()
    await expect(earn.locator('[data-figure="total-paid"] dd')).to_have_text("5.50 BRL")
    await expect(earn.locator('[data-figure="total-pending"] dd')).to_have_text("0.00 BRL")

    # 5. Bea buys again through the link; the shop refunds that order inside the window: clawed back.
    await buyer.goto(url)
    await buyer.wait_for_url("**/app#chat=*")
    await buyer.fill("#composer-input", "Quero mais uma!")  # a new customer service window for the order
    await buyer.click("#send")
    await expect(buyer.locator(".message.own", has_text="Quero mais uma!")).to_have_attribute(
        "data-message-id", re.compile(r"^\d+$")
    )
    await pay_in_the_chat(buyer, server, shop, bea, "VERDE-2")
    await earn.reload()
    await expect(earn.locator('[data-figure="total-pending"] dd')).to_have_text("5.50 BRL")
    server.clock.advance(hours=2 * DAY_H)
    refunded = await refund(server, shop, "VERDE-2", 11000)
    assert refunded.status_code == 200, refunded.text
    assert await ledger_ok(server)
    await earn.reload()
    await expect(earn.locator('[data-figure="total-clawed_back"] dd')).to_have_text("5.50 BRL")
    await expect(earn.locator('[data-figure="total-pending"] dd')).to_have_text("0.00 BRL")
    await expect(earn.locator('[data-figure="total-paid"] dd')).to_have_text("5.50 BRL")
    await earn.screenshot(path="/tmp/parley-affiliate-earn-1280.png", full_page=True)

    # 6. The same page on a phone; a forged link shows the friendly "not valid" page.
    await earn.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await earn.reload()
    await expect(earn.locator('[data-figure="total-clawed_back"] dd')).to_have_text("5.50 BRL")
    await assert_accessible(earn, "/earn (390 px)")
    await assert_fits_width(earn, "/earn at 390 px")
    await earn.screenshot(path="/tmp/parley-affiliate-earn-390.png", full_page=True)
    forged = await buyer.goto(server.base_url + "/r/ThisIsNotARealCode")
    assert forged is not None and forged.status == 404
    await expect(buyer.get_by_role("heading", name="This link is not valid")).to_be_visible()
    await assert_accessible(buyer, "the not-valid link page (390 px)")
    await assert_fits_width(buyer, "the not-valid link page at 390 px")

    assert "ok" in (await cli(server, "ledger", "verify")).lower()
    for page in (earn, buyer):
        await page.context.close()
    assert not errors, errors
