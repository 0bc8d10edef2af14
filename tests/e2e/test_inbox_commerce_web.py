"""End to end in Debian's Chromium: an admin imports the catalog from a CSV file (a refused line shown with its
number), an agent browses and searches it in the conversation, sends a product and a product list the person
receives, and requests payment from the order the person sent from her cart; at phone and desktop widths, with
the accessibility check.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

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


async def chat_with_shop(server: LiveServer, person: User) -> str:
    """The person's one chat: the one with the shop."""
    [chat] = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"]
    return str(chat["id"])


async def received_messages(server: LiveServer, person: User) -> list[dict[str, Any]]:
    """The interactive messages the person got from the business, oldest first, as her client sees them."""
    chat_id = await chat_with_shop(server, person)
    page = await server.http.get(f"/client/v1/chats/{chat_id}/messages", headers=person.headers)
    messages = sorted(page.json()["messages"], key=lambda m: int(m["id"]))
    return [m for m in messages if m["type"] == "interactive"]


async def received(server: LiveServer, person: User) -> list[dict[str, Any]]:
    """The interactive payloads the person got from the business, oldest first."""
    return [m["business"]["interactive"] for m in await received_messages(server, person)]


async def person_orders(server: LiveServer, person: User, items: dict[str, int], note: str) -> dict[str, Any]:
    """The person fills her cart in the chat with the shop (retailer id -> quantity) and sends it, as the web
    client's cart does; the order as the send answers it."""
    chat_id = await chat_with_shop(server, person)
    shop = await server.http.get(f"/client/v1/chats/{chat_id}/shop", headers=person.headers)
    assert shop.status_code == 200, shop.text
    for retailer_id, quantity in items.items():
        response = await server.http.put(
            f"/client/v1/chats/{chat_id}/cart/items/{retailer_id}",
            headers=person.headers,
            json={"catalog_id": shop.json()["catalog_id"], "quantity": quantity},
        )
        assert response.status_code == 200, response.text
    sent = await server.http.post(
        f"/client/v1/chats/{chat_id}/cart/send",
        headers=person.headers,
        json={"text": note, "client_id": uuid.uuid4().hex},
    )
    assert sent.status_code == 200, sent.text
    return dict(sent.json()["order"])


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
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    watch_errors(page, errors)
    await sign_in_agent(page, server.base_url, email, PASSWORD)
    return page


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

        # 4. Ada fills her cart (2 mugs on sale at 12.00, a tee at 39.90) and sends it: the order arrives in the
        # conversation as one order card with its total; Request payment sends its lines with shipping, by Pix.
        sent = await person_orders(server, ada, {"mug-1": 2, "tee-1": 1}, "These please")
        assert (sent["currency"], sent["total"]) == ("BRL", 63_900_000)
        card = olga.locator("#message-list .order-card")
        await expect(card).to_have_count(1)
        await expect(card.locator(".order-line")).to_have_count(2)
        await expect(card.locator(".order-total")).to_have_count(1)
        await expect(card.locator(".order-total-amount")).to_contain_text("63.90")
        await expect(card).to_have_attribute("data-order-total", "63900000")
        await expect(olga.locator("#message-list .order-note")).to_have_text("These please")
        await expect(olga.locator("#message-list")).not_to_contain_text("NaN")
        await assert_accessible(olga, "order card")
        await olga.screenshot(path="/tmp/parley-inbox-order-card.png")
        await card.get_by_role("button", name="Request payment").click()
        pay = olga.locator("#payment-dialog")
        await expect(pay.locator(".payment-item")).to_have_count(2)
        await expect(pay.locator(".payment-item-name")).to_have_text(["Blue mug", "Red tee"])
        await expect(olga.locator("#payment-qty-0")).to_have_value("2")
        await expect(olga.locator("#payment-qty-1")).to_have_value("1")
        await expect(olga.locator("#payment-price-0")).to_have_value("12.00")
        await expect(olga.locator("#payment-price-1")).to_have_value("39.90")
        await expect(olga.locator("#payment-currency")).to_have_value("BRL")
        await expect(pay.locator(".payment-total")).to_have_text("Total 63.90 BRL")
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
        message = (await received_messages(server, ada))[-1]
        request = message["business"]["interactive"]
        params = request["action"]["parameters"]
        assert request["type"] == "order_details" and params["total_amount"] == {"value": 6890, "offset": 100}
        assert [i["retailer_id"] for i in params["order"]["items"]] == ["mug-1", "tee-1"]
        assert params["payment_settings"][0]["type"] == "pix_dynamic_code"
        # The merchant payments code took it as an order Ada can pay: she reads it from her chat.
        lookup = await server.http.get(f"/client/v1/messages/{message['id']}/order", headers=ada.headers)
        assert lookup.status_code == 200, lookup.text
        owed = lookup.json()
        assert (owed["reference_id"], owed["currency"]) == (params["reference_id"], "BRL")
        assert owed["total"] == {"value": 6890, "offset": 100}
        assert owed["shipping"] == {"value": 500, "offset": 100}
        assert [(i["retailer_id"], i["quantity"]) for i in owed["items"]] == [("mug-1", 2), ("tee-1", 1)]
        assert owed["payment_status"] == "unpaid" and owed["payable"] is True

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
        await caio.locator("#payment-dialog").get_by_role("button", name="Cancel").click()
        # Ada's order, sent from her cart, arrives as one card whose Request payment fits the phone too.
        await person_orders(server, ada, {"tee-1": 3}, "")
        card = caio.locator("#message-list .order-card")
        await expect(card.locator(".order-total-amount")).to_contain_text("119.70")
        await card.get_by_role("button", name="Request payment").click()
        await expect(caio.locator("#payment-price-0")).to_have_value("39.90")
        await expect(caio.locator("#payment-dialog .payment-total")).to_have_text("Total 119.70 BRL")
        await assert_fits_width(caio, "payment form for an order at 390 px")
        await caio.locator("#payment-dialog").get_by_role("button", name="Cancel").click()
        await assert_fits_width(caio, "order card at 390 px")
        await caio.screenshot(path="/tmp/parley-inbox-order-phone.png")
        await assert_accessible(caio, "order card at 390 px")
        assert errors == []
    finally:
        await caio.context.close()
