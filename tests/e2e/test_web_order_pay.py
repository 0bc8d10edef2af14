"""End to end: a person reviews an order a business sent (order_details) in the web client and pays it by card;
the business's webhook receiver hears `captured`. Chromium at phone and desktop widths, with the a11y check."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from parley.business import parse_wamid
from tests.conftest import LiveServer
from tests.e2e.page_checks import VIEWPORTS, assert_accessible, assert_fits_width
from tests.integration.business_helpers import create_business, person_writes, send, subscribe_app
from tests.integration.test_merchant_payments import brazil_order
from tests.integration.test_webhooks_support import receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_a_person_reviews_and_pays_an_order_and_the_business_hears_captured(
    server: LiveServer, browser: Browser, viewport: str
) -> None:
    async with receiver() as rx:
        biz = await create_business(server, "Loja Azul")
        await subscribe_app(server, biz, rx.url, rx.verify_token, ["messages"])
        person = await server.user("Ana")
        await person_writes(server, person, biz, "Quero uma camiseta")
        expires = server.clock.now_ms() // 1000 + 3600
        sent = await send(server, biz, brazil_order(person, f"WEB-{viewport}", expires))
        assert sent.status_code == 200, sent.text
        message_id = str(parse_wamid(sent.json()["messages"][0]["id"]))

        errors: list[str] = []
        context = await browser.new_context(viewport=VIEWPORTS[viewport])
        await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/app")
        await page.locator(".chat-item").first.click()

        bubble = page.locator(f'.message[data-message-id="{message_id}"] .order-card')
        await expect(bubble).to_contain_text("2 × Camiseta")
        await expect(bubble.locator(".order-total")).to_have_text(re.compile(r"Total .*110[.,]00"))
        await bubble.get_by_role("button", name="Review and pay").click()

        sheet = page.get_by_role("dialog", name="Your order")
        await expect(sheet).to_be_visible()
        await expect(sheet.locator(".order-line-total")).to_contain_text("110")
        await expect(sheet).to_contain_text("Not paid yet")
        await assert_accessible(page, f"order sheet ({viewport})")
        await assert_fits_width(page, f"order sheet ({viewport})")

        await sheet.get_by_label("Card number").fill("4242 4242 4242 4242")
        await sheet.get_by_label("Expiry (MM/YY)").fill("12/34")
        await sheet.get_by_label("CVC").fill("123")
        await page.screenshot(path=f"/tmp/parley-order-sheet-{viewport}.png")
        await sheet.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await expect(sheet.locator(".order-sheet-state")).to_have_text("Paid")
        await expect(sheet.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)

        await sheet.get_by_role("button", name="Close").click()
        await expect(bubble.locator(".order-state")).to_have_text("Paid")
        await expect(bubble.get_by_role("button", name="View order")).to_be_visible()
        await assert_accessible(page, f"chat with a paid order ({viewport})")
        await assert_fits_width(page, f"chat with a paid order ({viewport})")
        await page.screenshot(path=f"/tmp/parley-order-pay-{viewport}.png")

        async def payment_statuses() -> list[dict[str, object]]:
            found = []
            for post in rx.posts:
                for status in post.value.get("statuses", []):
                    if status.get("type") == "payment":
                        found.append(status)
            return found

        while [s["status"] for s in await payment_statuses()] != ["pending", "captured"]:
            await rx.wait_for(len(rx.posts) + 1, timeout=10)
        captured = (await payment_statuses())[-1]
        assert captured["payment"] == {
            **captured["payment"],  # type: ignore[dict-item]
            "reference_id": f"WEB-{viewport}",
            "amount": {"value": 11000, "offset": 100},
            "currency": "BRL",
        }
        assert errors == []
        await context.close()
