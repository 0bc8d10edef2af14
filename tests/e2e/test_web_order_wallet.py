"""End to end: a person adds money to their Parley Pay wallet in the web client, then pays a business's order from
the wallet in the order sheet ("Pay from wallet (balance …)" beside the card), choosing a payment PIN on the way;
a wallet that cannot cover the order offers the card only. Chromium at phone and desktop widths, with the a11y
check."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from parley.business import parse_wamid
from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_accessible, assert_fits_width
from tests.e2e.test_web_client_people import person_page
from tests.e2e.test_web_wallet import balance_shown, close_dialog, open_wallet
from tests.integration.business_helpers import create_business, person_writes, send
from tests.integration.test_merchant_payments import brazil_order

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_a_person_tops_up_then_pays_an_order_from_the_wallet(
    server: LiveServer, browser: Browser, viewport: str
) -> None:
    biz = await create_business(server, "Loja Verde")
    person = await server.user("Lia", phone="+5511987650321" if viewport == "phone" else "+5511987650322")
    await person_writes(server, person, biz, "Quero uma camiseta")
    sent = await send(server, biz, brazil_order(person, f"WAL-{viewport}", server.clock.now_ms() // 1000 + 3600))
    assert sent.status_code == 200, sent.text
    message_id = str(parse_wamid(sent.json()["messages"][0]["id"]))
    errors: list[str] = []
    page = await person_page(browser, server, person, errors, VIEWPORTS[viewport])

    # An empty wallet: the order sheet offers the card only.
    await page.locator(".chat-item").first.click()
    bubble = page.locator(f'.message[data-message-id="{message_id}"] .order-card')
    await bubble.get_by_role("button", name="Review and pay").click()
    sheet = page.get_by_role("dialog", name="Your order")
    await expect(sheet.get_by_label("Card number")).to_be_visible()
    await expect(sheet.get_by_text("Pay by card")).to_be_visible()
    await expect(sheet.get_by_role("radio")).to_have_count(0)
    await sheet.get_by_role("button", name="Close").click()
    if await page.locator("#back").is_visible():
        await page.click("#back")

    # Lia adds R$ 150.00 with the sandbox's UPI test ID.
    await open_wallet(page)
    await page.fill("#topup-amount", "150.00")
    await page.select_option("#topup-method", "upi")
    await page.fill("#topup-vpa", "success@parley")
    await page.click("#topup-submit")
    await balance_shown(page, "150.00")
    await close_dialog(page, "wallet-dialog")

    await page.locator(".chat-item").first.click()
    await bubble.get_by_role("button", name="Review and pay").click()
    await expect(sheet).to_be_visible()
    wallet_choice = sheet.get_by_role("radio", name=re.compile(r"^Pay from wallet \(balance .*150[.,]00\)"))
    await expect(wallet_choice).to_be_visible()
    await expect(sheet.get_by_role("radio", name="Card")).to_be_checked()
    await wallet_choice.check()
    await expect(sheet.get_by_label("Card number")).to_be_hidden()
    pin = sheet.get_by_label("Choose a payment PIN (4 or 6 digits)")
    await expect(pin).to_be_visible()
    await assert_accessible(page, f"order sheet, paying from the wallet ({viewport})")
    await assert_fits_width(page, f"order sheet, paying from the wallet ({viewport})")
    await page.screenshot(path=f"/tmp/parley-order-wallet-{viewport}.png")

    await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(sheet.get_by_role("alert")).to_have_text("Enter your payment PIN (4 or 6 digits).")
    await pin.fill("2580")
    await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(sheet.locator(".order-sheet-state")).to_have_text("Paid")
    await expect(sheet.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)
    await sheet.get_by_role("button", name="Close").click()
    await expect(bubble.locator(".order-state")).to_have_text("Paid")
    await assert_accessible(page, f"chat with an order paid from the wallet ({viewport})")

    # The wallet paid R$ 110.00 of its R$ 150.00; the PIN chosen here is the wallet's now.
    if await page.locator("#back").is_visible():
        await page.click("#back")
    await open_wallet(page)
    await balance_shown(page, "40.00")
    assert (await server.http.get("/client/v1/wallet", headers=person.headers)).json()["pin_set"] is True
    assert errors == []
    await page.context.close()
