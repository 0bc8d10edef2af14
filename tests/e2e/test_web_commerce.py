"""End to end: a person shops in their chat with a business in the web client and sends the cart as an order.

The business's catalog is written through the repository (the catalog API is another part); its product message
is stored as the Cloud API send path stores it; the person uses the web page in Debian's Chromium at phone and
desktop sizes; the business's webhook receiver gets Meta's `order` message, and its team inbox shows the order.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from parley.messaging import InteractiveContent
from tests.conftest import LiveServer, User
from tests.e2e.page_checks import VIEWPORTS, assert_accessible, assert_fits_width, sign_in_agent, watch_errors
from tests.integration.business_helpers import Biz, create_business, subscribe_app
from tests.integration.commerce_helpers import add_product, catalog_of, change_product, set_commerce
from tests.integration.test_webhooks_support import Receiver, receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PASSWORD = "correct horse battery"


async def bakery(server: LiveServer, name: str) -> tuple[Biz, str]:
    biz = await create_business(server, name)
    catalog_id = await catalog_of(server, biz)
    await add_product(server, catalog_id, "BREAD", "Sourdough bread", 4_500_000, description="Baked this morning.")
    await add_product(server, catalog_id, "CAKE", "Carrot cake", 12_990_000, sale_price=9_990_000)
    await add_product(server, catalog_id, "PIE", "Apple pie", 8_000_000, availability="out of stock")
    await set_commerce(server, biz, cart=True, visible=True)
    return biz, catalog_id


async def business_shows_product(server: LiveServer, biz: Biz, person: User, catalog_id: str) -> str:
    """The business's product message to the person (stored as the Cloud API's send stores it)."""
    content = InteractiveContent(
        type="product", body="Fresh today", action={"catalog_id": catalog_id, "product_retailer_id": "CAKE"}
    )
    messaging = server.container.messaging
    now = server.clock.now_ms()

    def unit(conn: Any) -> Any:
        return messaging.send_direct_in(
            conn, biz.user_id, int(person.user_id), uuid.uuid4().hex, "interactive", content, None, now
        )

    result, committed = await server.container.db.write("tests.product_message", unit)
    await messaging.publish_committed(committed)
    return str(result.message_id)


async def person_page(
    browser: Browser, server: LiveServer, person: User, viewport: dict[str, int], errors: list[str]
) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    watch_errors(page, errors)
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def order_posted(rx: Receiver, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for post in rx.posts:
            value = post.value
            if value.get("messages") and value["messages"][0]["type"] == "order":
                return dict(value)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no order reached the webhook: {[p.value for p in rx.posts]}")


async def test_a_person_fills_a_cart_from_the_catalog_and_sends_the_order(server: LiveServer, browser: Browser) -> None:
    errors: list[str] = []
    for size, viewport in VIEWPORTS.items():
        biz, catalog_id = await bakery(server, f"Corner Bakery {size}")
        person = await server.user(f"Ada {size}")
        async with receiver(verify_token=f"vt-{size}") as rx:
            await subscribe_app(server, biz, rx.url, f"vt-{size}", ["messages"])
            await business_shows_product(server, biz, person, catalog_id)
            page = await person_page(browser, server, person, viewport, errors)
            try:
                await page.locator(".chat-item", has_text=f"Corner Bakery {size}").click()
                await expect(page.locator("#chat-title")).to_have_text(f"Corner Bakery {size}")

                # The product message shows the product from the catalog: its sale price beside the old one.
                bubble = page.locator(".message.business-interactive .product-tile[data-retailer-id=CAKE]")
                await expect(bubble.locator(".product-title")).to_have_text("Carrot cake")
                await expect(bubble.locator(".product-original-price")).to_contain_text("12.99")
                await expect(bubble.locator(".product-sale-price")).to_contain_text("9.99")
                await expect(bubble.locator(".product-availability")).to_have_text("In stock")
                await assert_accessible(page, f"product message ({size})")
                await assert_fits_width(page, f"product message ({size})")

                # The business info panel shows the catalog; an out-of-stock product cannot be added.
                await page.get_by_role("button", name="Business info").click()
                info = page.get_by_role("dialog", name=f"Corner Bakery {size}")
                await expect(info.locator(".catalog-grid .product-tile")).to_have_count(3)
                pie = info.locator(".product-tile[data-retailer-id=PIE]")
                await expect(pie.locator(".product-availability")).to_have_text("Out of stock")
                await expect(pie.get_by_role("button", name="Add to cart")).to_have_count(0)
                await assert_accessible(page, f"catalog ({size})")
                await assert_fits_width(page, f"catalog ({size})")
                await page.screenshot(path=f"/tmp/parley-web-commerce-catalog-{size}.png")
                # A product's sheet, from the catalog: its description; added from there.
                await info.get_by_role("button", name="View Sourdough bread").click()
                sheet = page.get_by_role("dialog", name="Sourdough bread")
                await expect(sheet).to_contain_text("Baked this morning.")
                await sheet.get_by_role("button", name="Add to cart").click()
                await expect(page.get_by_role("button", name="Cart, 1 item")).to_be_visible()
                await sheet.get_by_role("button", name="Close").click()
                await info.get_by_role("button", name="Close").click()
                await expect(info).to_have_count(0)

                # Added from the chat's product message too.
                await bubble.get_by_role("button", name="Add to cart").click()
                cart_button = page.get_by_role("button", name="Cart, 2 items")
                await expect(cart_button).to_be_visible()

                # The cart: one more bread, a note, sent.
                await cart_button.click()
                cart = page.get_by_role("dialog", name="Your cart")
                await expect(cart.locator(".cart-item")).to_have_count(2)
                await cart.get_by_role("button", name="One more Sourdough bread").click()
                bread = cart.locator(".cart-item[data-retailer-id=BREAD]")
                await expect(bread.locator(".cart-quantity")).to_have_text("2")
                await expect(cart.locator(".cart-total-amount")).to_contain_text("18.99")  # 2 × 4.50 + 9.99
                await cart.get_by_label("Note to the business").fill("Ring the bell please")
                await assert_accessible(page, f"cart ({size})")
                await assert_fits_width(page, f"cart ({size})")
                await page.screenshot(path=f"/tmp/parley-web-commerce-cart-{size}.png")
                await cart.get_by_role("button", name="Send to business").click()
                await expect(cart).to_have_count(0)

                # The order shows in the chat; the cart is empty (also after a reload).
                order = page.locator(".message.own .order-card")
                await expect(order.locator(".order-count")).to_have_text("3 items")
                await expect(order.locator(".order-total-amount")).to_contain_text("18.99")
                await expect(page.locator(".message.own .order-note")).to_have_text("Ring the bell please")
                await expect(page.get_by_role("button", name="Cart", exact=True)).to_be_visible()
                await page.screenshot(path=f"/tmp/parley-web-commerce-order-{size}.png")
                await assert_accessible(page, f"order ({size})")
                await assert_fits_width(page, f"order ({size})")

                # The business's webhook gets Meta's `order` message.
                value = await order_posted(rx)
                assert value["metadata"]["phone_number_id"] == biz.phone_number_id
                assert value["messages"][0]["order"] == {
                    "catalog_id": catalog_id,
                    "text": "Ring the bell please",
                    "product_items": [
                        {"product_retailer_id": "BREAD", "quantity": 2, "item_price": 4.5, "currency": "USD"},
                        {"product_retailer_id": "CAKE", "quantity": 1, "item_price": 9.99, "currency": "USD"},
                    ],
                }
            finally:
                await page.context.close()
        if size == "desktop":
            await team_inbox_shows_the_order(server, browser, biz, person, errors)
    assert not errors, errors


async def team_inbox_shows_the_order(
    server: LiveServer, browser: Browser, biz: Biz, person: User, errors: list[str]
) -> None:
    """The business's agent sees the order as an order, with what a payment request needs as data."""
    await server.container.inbox.create_agent(
        int(biz.waba_id), email="olive@bakery.example", name="Olive", role="owner", password=PASSWORD
    )
    context = await browser.new_context(viewport=VIEWPORTS["desktop"])  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    try:
        await sign_in_agent(page, server.base_url, "olive@bakery.example", PASSWORD)
        await page.locator(".assignee-tab[data-assignee=all]").click()
        await page.locator(".conversation-row", has_text=person.name).click()
        card = page.locator(".order-card")
        await expect(card.locator(".order-line")).to_have_count(2)
        await expect(card.locator(".order-total-amount")).to_contain_text("18.99")
        await expect(card).to_have_attribute("data-order-total", "18990000")
        await expect(card).to_have_attribute("data-order-currency", "USD")
        await expect(card).to_have_attribute("data-order-items", re.compile(r'"retailer_id":"BREAD","quantity":2'))
        # One card, and no Request payment on it: payments in the chat run in BRL and INR, not USD.
        await expect(page.locator(".order-card")).to_have_count(1)
        await expect(card.get_by_role("button", name="Request payment")).to_have_count(0)
        await assert_accessible(page, "team inbox order")
    finally:
        await context.close()


async def test_the_page_says_when_items_went_away_and_offers_no_cart_when_the_business_has_none(
    server: LiveServer, browser: Browser
) -> None:
    errors: list[str] = []
    biz, catalog_id = await bakery(server, "Corner Bakery")
    person = await server.user("Ada")
    await business_shows_product(server, biz, person, catalog_id)
    chat_id = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"][0]["id"]
    for retailer_id in ("BREAD", "CAKE"):
        put = await server.http.put(
            f"/client/v1/chats/{chat_id}/cart/items/{retailer_id}",
            headers=person.headers,
            json={"catalog_id": catalog_id, "quantity": 1},
        )
        assert put.status_code == 200, put.text
    await change_product(server, catalog_id, "BREAD", availability="out of stock")
    page = await person_page(browser, server, person, VIEWPORTS["phone"], errors)
    try:
        # The bread sold out since it went in the cart: the page says the cart changed, and it holds the cake.
        await page.locator(".chat-item", has_text="Corner Bakery").click()
        await expect(page.locator("#chat-status")).to_have_text("One or more items in your cart have been updated")
        await page.get_by_role("button", name="Cart, 1 item").click()
        cart = page.get_by_role("dialog", name="Your cart")
        await expect(cart.locator(".cart-item")).to_have_count(1)
        await expect(cart.locator(".cart-item .product-title")).to_have_text("Carrot cake")
        await cart.get_by_role("button", name="Remove Carrot cake").click()
        await expect(cart.locator(".cart-empty")).to_have_text("Your cart is empty.")
        await expect(cart.get_by_role("button", name="Send to business")).to_be_disabled()
        await cart.get_by_role("button", name="Close").click()

        # The business turns its cart off: the product shows, with nothing to add it to.
        await set_commerce(server, biz, cart=False, visible=True)
        await page.reload()  # the chat opens again (its address names it)
        await expect(page.locator("#chat-title")).to_have_text("Corner Bakery")
        tile = page.locator(".message .product-tile[data-retailer-id=CAKE]")
        await expect(tile.locator(".product-title")).to_have_text("Carrot cake")
        await expect(tile.get_by_role("button", name="View")).to_be_visible()
        await expect(tile.get_by_role("button", name="Add to cart")).to_have_count(0)
        await expect(page.locator("#cart-button")).to_be_hidden()
        await assert_accessible(page, "cart disabled")
    finally:
        await page.context.close()
    assert not errors, errors
