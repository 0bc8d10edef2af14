"""End to end: Parley Pay in the web client, in Debian's Chromium, the way two people use it.

Ana (on a desktop) adds money to her wallet with the sandbox's UPI test ID, sends Bruno money in their chat with her
new payment PIN, and sees the payment bubble; Bruno (on a phone) sees the bubble, its receipt and his balance. A
payment over Brazil's cap per payment is refused with the cap named on screen, and nothing moves. The pages pass
the accessibility check and fit both widths.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, assert_no_overlap
from tests.e2e.test_web_client_people import back_to_chats, open_chat, person_page

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


async def open_wallet(page: Page) -> None:
    await page.click("#settings-open")
    await page.click("#wallet-open")
    await expect(page.locator("#wallet-dialog")).to_be_visible()
    await expect(page.locator(".pay-balance-amount[data-currency='BRL']")).to_be_visible()


async def balance_shown(page: Page, amount: str) -> None:
    await expect(page.locator(".pay-balance-amount[data-currency='BRL']")).to_have_text(amount)


async def close_dialog(page: Page, dialog: str) -> None:
    await page.locator(f"#{dialog} .pay-close").click()
    await expect(page.locator(f"#{dialog}")).to_be_hidden()
    if dialog == "wallet-dialog":
        await page.click("#settings-close")


async def send_money(page: Page, amount: str, note: str = "") -> None:
    await page.click("#pay-button")
    await expect(page.locator("#pay-dialog")).to_be_visible()
    await expect(page.locator("#pay-currency")).to_have_value("BRL")
    await page.fill("#pay-amount", amount)
    await page.fill("#pay-note", note)
    await page.click("#pay-continue")


async def test_top_up_send_money_in_a_chat_and_the_cap(server: LiveServer, browser: Browser) -> None:
    ana = await server.user("Ana", phone="+5511987650001")
    bruno = await server.user("Bruno", phone="+5511987650002")
    await server.send_text(bruno, "Dinner was great!", to=ana)
    errors: list[str] = []

    page = await person_page(browser, server, ana, errors, DESKTOP)
    # Ana adds money with the sandbox's UPI test ID.
    await open_wallet(page)
    await balance_shown(page, "0.00")
    await page.fill("#topup-amount", "100.00")
    await page.select_option("#topup-method", "upi")
    await expect(page.locator("#topup-hint")).to_contain_text("success@parley")
    await page.fill("#topup-vpa", "success@parley")
    await page.click("#topup-submit")
    await expect(page.locator("#wallet-status")).to_have_text("Added 100.00 BRL.")
    await balance_shown(page, "100.00")
    await expect(page.locator(".pay-movement").first).to_contain_text("Added money")
    await expect(page.locator(".pay-movement").first).to_contain_text("100.00 BRL")
    await assert_accessible(page, "desktop: wallet")
    await page.screenshot(path="/tmp/web-wallet-desktop.png")
    await close_dialog(page, "wallet-dialog")

    # In her chat with Bruno: Send money, choose a PIN, pay.
    await open_chat(page, "Bruno")
    await send_money(page, "12.50", "pizza")
    await expect(page.locator("#pay-summary")).to_contain_text("12.50 BRL to Bruno")
    await assert_accessible(page, "desktop: PIN step")
    await page.fill("#pay-pin", "2580")
    await page.click("#pay-confirm")
    await expect(page.locator("#pay-dialog")).to_be_hidden()
    bubble = page.locator(".message.own.business-payment")
    await expect(bubble.locator(".payment-amount")).to_have_text("12.50 BRL")
    await expect(bubble.locator(".payment-note")).to_have_text("pizza")
    await expect(bubble.locator(".payment-status")).to_have_text("Paid")
    await assert_accessible(page, "desktop: chat with a payment")
    await assert_fits_width(page, "desktop: chat with a payment")

    # Over Brazil's cap per payment: refused, the cap named, nothing moved.
    await send_money(page, "1000.01")
    await expect(page.locator("#pay-error")).to_have_text("the limit per payment is 1000.00 BRL")
    await expect(page.locator("#pay-pin-form")).to_be_hidden()
    await close_dialog(page, "pay-dialog")
    await expect(page.locator(".message.business-payment")).to_have_count(1)

    # Bruno, on his phone, sees the bubble, its receipt and his balance.
    other = await person_page(browser, server, bruno, errors, PHONE)
    await open_chat(other, "Ana")
    incoming = other.locator(".message.incoming.business-payment")
    await expect(incoming.locator(".payment-amount")).to_have_text("12.50 BRL")
    await assert_fits_width(other, "phone: chat with a payment")
    await assert_no_overlap(other, "#back, #chat-avatar, #chat-heading, #pay-button", "phone: chat header")
    await incoming.locator(".payment-receipt").click()
    receipt = other.locator("#receipt-body")
    await expect(receipt).to_contain_text("12.50 BRL")
    await expect(receipt).to_contain_text("0.00 BRL")  # the fee: payments between people are free
    await expect(receipt).to_contain_text(f"Ana ({ana.phone})")
    await assert_accessible(other, "phone: receipt")
    await other.screenshot(path="/tmp/web-wallet-receipt-phone.png")
    await close_dialog(other, "receipt-dialog")
    await back_to_chats(other)
    await open_wallet(other)
    await balance_shown(other, "12.50")
    await expect(other.locator(".pay-movement").first).to_contain_text("Received · Ana")
    await assert_fits_width(other, "phone: wallet")
    await assert_accessible(other, "phone: wallet")

    # Ana's wallet says what is left.
    await page.click("#settings-open")
    await page.click("#wallet-open")
    await balance_shown(page, "87.50")
    assert (await server.container.ledger.verify()).ok
    assert not errors, errors


async def test_send_money_is_only_offered_in_a_chat_with_one_person(server: LiveServer, browser: Browser) -> None:
    ana, bruno, carla = (
        await server.user("Ana", phone="+5511987650011"),
        await server.user("Bruno", phone="+5511987650012"),
        await server.user("Carla", phone="+5511987650013"),
    )
    await server.send_text(bruno, "Oi", to=ana)
    group = await server.http.post(
        "/client/v1/groups", headers=ana.headers, json={"name": "Trip", "members": [bruno.phone, carla.phone]}
    )
    assert group.status_code == 200
    errors: list[str] = []
    page = await person_page(browser, server, ana, errors, PHONE)
    await open_chat(page, "Bruno")
    await expect(page.locator("#pay-button")).to_be_visible()
    await back_to_chats(page)
    await open_chat(page, "Trip")
    await expect(page.locator("#pay-button")).to_be_hidden()
    assert not errors, errors
