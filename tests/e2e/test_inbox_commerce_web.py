"""End to end in Debian's Chromium: an admin imports the catalog from a CSV file (a refused line shown with its
number), an agent browses and searches it in the conversation, sends a product and a product list the person
receives, and requests payment from the person's order; at phone and desktop widths, with the accessibility check.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.conftest import LiveServer, User
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width, sign_in_agent, watch_errors
from tests.integration.inbox_helpers import sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
expect.set_options(timeout=15_000)

FEED = (
    "\ufeffid,title,description,availability,condition,price,brand,sale_price,quantity_to_sell_on_facebook\n"
    "mug-1,Blue mug,A blue mug,in stock,new,14.99 BRL,Acme,12.00 BRL,12\n"
    "tee-1,Red tee,Cotton,in stock,new,39.90 BRL,Acme,,\n"
    "cup-9,Green cup,,in stock,new,nine BRL,,,\n"
)


async def person_writes(server: LiveServer, person: User, to_phone: str, text: str) -> None:
    response = await server.http.post(
        "/client/v1/messages",
        headers=person.headers,
        json={"to": to_phone, "type": "text", "text": {"body": text}, "client_id": uuid.uuid4().hex},
    )
    assert response.status_code == 200, response.text


async def received(server: LiveServer, person: User) -> list[dict[str, Any]]:
    """The interactive messages the person got from the business, oldest first."""
    [chat] = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"]
    page = await server.http.get(f"/client/v1/chats/{chat['id']}/messages", headers=person.headers)
    messages = sorted(page.json()["messages"], key=lambda m: int(m["id"]))
    return [m["business"]["interactive"] for m in messages if m["type"] == "interactive"]


async def admin_imports(server: LiveServer, email: str, feed: str) -> None:
    """An admin's CSV import through the inbox API (signed in through the form, like the page does)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        assert (await sign_in(http, email, PASSWORD)).status_code == 303
        csrf = (await http.get("/inbox/api/me")).json()["csrf_token"]
        response = await http.post(
            "/inbox/api/catalog/import?apply=true", content=feed.encode(), headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 200, response.text


async def agent_page(
    browser: Browser, server: LiveServer, email: str, viewport: dict[str, int], errors: list[str]
) -> Page:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, email, PASSWORD)
    return page


async def with_order(route: Route) -> None:
    """The conversation's history as the server gives it, plus the person's cart order (Meta's inbound `order`
    payload). Orders arrive through the "cart" work landing beside this one; until then the page is handed one."""
    response = await route.fetch()
    body = await response.json()
    if body["data"]:
        last = body["data"][-1]
        order = {
            "catalog_id": "1",
            "text": "These please",
            "product_items": [
                {"product_retailer_id": "mug-1", "quantity": 2, "item_price": 12.0, "currency": "BRL"},
                {"product_retailer_id": "tee-1", "quantity": 1, "item_price": 39.9, "currency": "BRL"},
            ],
        }
        body["data"].append(
            {
                **{k: last[k] for k in ("chat_id", "sender_id") if k in last},
                "id": str(int(last["id"]) + 1),
                "timestamp": int(last["timestamp"]) + 1000,
                "type": "order",
                "direction": "in",
                "status": "delivered",
                "text": None,
                "media": None,
                "business": {"order": order},
            }
        )
    await route.fulfill(response=response, body=json.dumps(body))


async def test_an_agent_sells_from_the_inbox(server: LiveServer, browser: Browser, tmp_path: Path) -> None:
    shop_phone = server.next_phone()
    shop = await server.container.business.create_business("Loja Azul", shop_phone)
    waba_id = int(shop.waba_id)
    inbox = server.container.inbox
    await inbox.create_agent(waba_id, email="olga@loja.example", name="Olga", role="admin", password=PASSWORD)
    ada = await server.user("Ada")
    await person_writes(server, ada, shop_phone, "Hi! Do you have mugs?")
    errors: list[str] = []
    olga = await agent_page(browser, server, "olga@loja.example", DESKTOP, errors)
    try:
        # 1. The admin imports the catalog: the preview names the refused line, Apply writes the good ones.
        await olga.click("#nav-settings")
        await olga.click(".settings-tab[data-section=catalog]")
        await expect(olga.locator("#settings-catalog")).to_contain_text("No catalog yet")
        feed = tmp_path / "catalog.csv"
        feed.write_text(FEED, encoding="utf-8")
        await olga.set_input_files("#catalog-file", str(feed))
        await expect(olga.locator(".import-status")).to_have_text("Preview: 2 new, 0 changed, 0 unchanged, 1 refused.")
        await expect(olga.locator(".import-error")).to_have_text([re.compile(r"^Line 4 \(cup-9\): price 'nine BRL'")])
        await assert_accessible(olga, "catalog import preview")
        await olga.click("text=Apply import")
        await expect(olga.locator(".import-status")).to_have_text("Imported: 2 new, 0 changed, 0 unchanged, 1 refused.")
        await expect(olga.locator("#settings-catalog")).to_contain_text("Catalog: Loja Azul catalog")
        await olga.click("#nav-inbox")

        # 2. In Ada's conversation she opens the catalog, searches, and sends one product.
        await olga.locator(".conversation-row", has_text="Ada").click()
        await expect(olga.locator("#conv-title")).to_have_text("Ada")
        await olga.click("#open-catalog")
        dialog = olga.locator("#catalog-dialog")
        await expect(dialog.locator(".catalog-product")).to_have_count(2)
        await expect(dialog.locator(".catalog-product[data-retailer-id=mug-1]")).to_contain_text("12.00 BRL")
        await olga.fill("#catalog-search", "mug")
        await expect(dialog.locator(".catalog-product")).to_have_count(1)
        await assert_accessible(olga, "catalog panel")
        await dialog.get_by_label("Blue mug").check()
        await expect(dialog.locator(".catalog-chosen")).to_have_text("1 product chosen: sent as a product message.")
        await dialog.get_by_role("button", name="Send product").click()
        await expect(dialog).to_be_hidden()
        await expect(olga.locator("#message-list .biz-card.card-product")).to_have_count(1)

        # 3. ... then both products as a list.
        await olga.click("#open-catalog")
        await expect(dialog.locator(".catalog-product")).to_have_count(2)
        for name in ("Blue mug", "Red tee"):
            await dialog.get_by_label(name).check()
        await olga.fill("#catalog-header", "Our favourites")
        await dialog.get_by_role("button", name="Send list of 2").click()
        await expect(dialog).to_be_hidden()
        await expect(olga.locator("#message-list .biz-card.card-product_list")).to_have_count(1)
        got = await received(server, ada)
        assert [g["type"] for g in got] == ["product", "product_list"]
        assert got[0]["action"]["product_retailer_id"] == "mug-1"
        assert got[1]["header"]["text"] == "Our favourites"

        # 4. Ada's order shows with its total; Request payment sends its lines with shipping, paid by Pix.
        await olga.route(re.compile(r"/inbox/api/conversations/\d+/messages(\?.*)?$"), with_order)
        await olga.reload()
        order = olga.locator(".message[data-order=true]")
        await expect(order.locator(".order-total")).to_have_text("Order total 63.90 BRL")
        await order.get_by_role("button", name="Request payment").click()
        pay = olga.locator("#payment-dialog")
        await expect(pay.locator(".payment-item")).to_have_count(2)
        await olga.fill("#payment-shipping", "5.00")
        await expect(pay.locator(".payment-total")).to_have_text("Total 68.90 BRL")
        await olga.select_option("#payment-method", "pix_dynamic_code")
        await olga.fill("#pix-code", "00020101021226")
        await olga.fill("#pix-merchant", "Loja Azul")
        await olga.fill("#pix-key", "39580525000189")
        await olga.select_option("#pix-key-type", "CNPJ")
        await olga.select_option("#payment-expiry", "60")
        await assert_accessible(olga, "payment request")
        await pay.get_by_role("button", name="Send payment request").click()
        await expect(pay).to_be_hidden()
        await expect(olga.locator("#message-list .biz-card.card-order_details")).to_have_count(1)
        request = (await received(server, ada))[-1]
        params = request["action"]["parameters"]
        assert request["type"] == "order_details" and params["total_amount"] == {"value": 6890, "offset": 100}
        assert [i["retailer_id"] for i in params["order"]["items"]] == ["mug-1", "tee-1"]
        assert params["payment_settings"][0]["type"] == "pix_dynamic_code"
        await olga.unroute(re.compile(r"/inbox/api/conversations/\d+/messages(\?.*)?$"))

        # 5. A free amount from the composer, refused first for a bad link, then sent.
        await olga.click("#open-payment")
        await olga.fill("#payment-amount", "120")
        await olga.fill("#payment-description", "Custom cake")
        await olga.fill("#payment-link", "http://not-secure.example")
        await pay.get_by_role("button", name="Send payment request").click()
        await expect(pay.locator(".error-message")).to_contain_text("https://")
        await olga.fill("#payment-link", "https://psp.example/pay/1")
        await pay.get_by_role("button", name="Send payment request").click()
        await expect(pay).to_be_hidden()
        assert (await received(server, ada))[-1]["action"]["parameters"]["total_amount"]["value"] == 12000
        await olga.screenshot(path="/tmp/parley-inbox-commerce.png")
        assert errors == []
    finally:
        await olga.context.close()


async def test_the_catalog_panel_and_payment_form_fit_a_phone(server: LiveServer, browser: Browser) -> None:
    shop_phone = server.next_phone()
    shop = await server.container.business.create_business("Loja Azul", shop_phone)
    waba_id = int(shop.waba_id)
    await server.container.inbox.create_agent(
        waba_id, email="caio@loja.example", name="Caio", role="agent", password=PASSWORD
    )
    await server.container.inbox.create_agent(
        waba_id, email="olga@loja.example", name="Olga", role="admin", password=PASSWORD
    )
    await admin_imports(server, "olga@loja.example", FEED)
    ada = await server.user("Ada")
    await person_writes(server, ada, shop_phone, "Oi!")
    errors: list[str] = []
    caio = await agent_page(browser, server, "caio@loja.example", PHONE, errors)
    try:
        await expect(caio.locator("#nav-settings")).to_be_hidden()  # importing is for owners and admins
        await caio.locator(".conversation-row", has_text="Ada").click()
        await caio.click("#open-catalog")
        await expect(caio.locator("#catalog-dialog .catalog-product")).to_have_count(2)
        await assert_fits_width(caio, "catalog panel at 390 px")
        await caio.screenshot(path="/tmp/parley-inbox-catalog-phone.png")
        await assert_accessible(caio, "catalog panel at 390 px")
        await caio.locator("#catalog-dialog").get_by_role("button", name="Close").click()
        await caio.click("#open-payment")
        await expect(caio.locator("#payment-dialog .payment-total")).to_have_text("Enter the amount, like 25.00.")
        await assert_fits_width(caio, "payment form at 390 px")
        await caio.screenshot(path="/tmp/parley-inbox-payment-phone.png")
        await assert_accessible(caio, "payment form at 390 px")
        box = await caio.locator("#payment-dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert errors == []
    finally:
        await caio.context.close()
