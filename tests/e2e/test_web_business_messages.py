"""End to end: a person sees a business's templates and interactive messages in the web client, and taps them.

The business's messages are stored through the messaging layer (as the Cloud API send path stores them)
into a live server in this test's event loop; the person uses the web page in Debian's Chromium.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from parley.accounts.models import users
from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    InteractiveContent,
    LocationContent,
    TemplateContent,
)
from tests.conftest import LiveServer, User

pytestmark = pytest.mark.e2e

API = "/client/v1"
expect.set_options(timeout=15_000)

SHIPPED = TemplateContent(
    name="order_shipped",
    language="en_US",
    category="UTILITY",
    header={"format": "TEXT", "text": "Order 7 shipped"},
    body="Hi Ada, your parcel is on its way.",
    footer="Parley Shop · reply STOP to opt out",
    buttons=[
        {"type": "QUICK_REPLY", "text": "Stop updates", "payload": "STOP"},
        {"type": "URL", "text": "Track parcel", "url": "https://example.com/track/7"},
    ],
)
DELIVERY = InteractiveContent(
    type="button",
    header={"type": "text", "text": "Delivery"},
    body="When should we deliver?",
    footer="Free delivery",
    action={
        "buttons": [
            {"type": "reply", "reply": {"id": "today", "title": "Today"}},
            {"type": "reply", "reply": {"id": "tomorrow", "title": "Tomorrow"}},
        ]
    },
)
SLOTS = InteractiveContent(
    type="list",
    body="Pick a time slot",
    action={
        "button": "See slots",
        "sections": [
            {"title": "Morning", "rows": [{"id": "m9", "title": "9:00", "description": "Early bird"}]},
            {"title": "Evening", "rows": [{"id": "e6", "title": "18:00"}]},
        ],
    },
)
SITE = InteractiveContent(
    type="cta_url",
    body="Our opening hours are online.",
    action={"name": "cta_url", "parameters": {"display_text": "Open website", "url": "https://example.com/hours"}},
)
SNEAKER = InteractiveContent(
    type="product", body="Back in stock", action={"catalog_id": "146265584024623", "product_retailer_id": "SNEAKER-42"}
)
SHOP = LocationContent(latitude=52.5163, longitude=13.3777, name="Parley Shop Mitte", address="Pariser Platz 1")
CARD = ContactsContent(
    contacts=[{"name": {"formatted_name": "Grace Support"}, "phones": [{"phone": "+49 30 1234567", "type": "WORK"}]}]
)


async def business_says(server: LiveServer, business: User, person: User, type_: str, content: AnyContent) -> str:
    messaging = server.container.messaging
    now = server.clock.now_ms()

    def unit(conn: Any) -> Any:
        return messaging.send_direct_in(
            conn, int(business.user_id), int(person.user_id), uuid.uuid4().hex, type_, content, None, now
        )

    result, committed = await server.container.db.write("tests.business_says", unit)
    await messaging.publish_committed(committed)
    return str(result.message_id)


async def signed_in_page(browser: Browser, server: LiveServer, person: User, errors: list[str]) -> Page:
    """The person's browser with their device token, as after signing in."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    await context.add_init_script(f"localStorage.setItem('parley.token', {person.token!r});")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(server.base_url + "/app")
    await expect(page.locator("#me-phone")).to_have_text(person.phone)
    return page


async def stored_reply(server: LiveServer, person: User, message_id: str) -> dict[str, Any]:
    answer = await server.http.get(f"{API}/chats", headers=person.headers)
    chat_id = answer.json()["chats"][0]["id"]
    page = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=person.headers)
    stored = next(m for m in page.json()["messages"] if m["id"] == message_id)
    assert stored["type"] == "reply"
    reply: dict[str, Any] = stored["business"]["reply"]
    return reply


async def test_a_person_sees_and_taps_business_messages(server: LiveServer, browser: Browser) -> None:
    shop, ada = await server.user("Parley Shop"), await server.user("Ada")
    await server.container.db.write(
        "tests.test_a_person_sees_and_taps_business_messages",
        lambda conn: conn.execute(update(users).where(users.c.id == int(shop.user_id)).values(kind="business")),
    )
    shipped = await business_says(server, shop, ada, "template", SHIPPED)
    asked = await business_says(server, shop, ada, "interactive", DELIVERY)
    errors: list[str] = []
    page = await signed_in_page(browser, server, ada, errors)
    try:
        chat = page.locator(".chat-item", has_text="Parley Shop")
        await expect(chat).to_contain_text("When should we deliver?")
        chats = (await server.http.get(f"{API}/chats", headers=ada.headers)).json()["chats"]
        is_business = chats[0]["peer"].get("kind") == "business"
        if is_business:
            await expect(chat.locator(".business-badge")).to_have_text("Business")
        await chat.click()
        await expect(page.locator("#chat-title")).to_have_text("Parley Shop")
        await expect(page.locator("#chat-business-badge")).to_be_visible(visible=is_business)
        if is_business:  # e2ee: a business's chat is not end-to-end encrypted, and the header says who reads it
            await expect(page.locator("#chat-e2ee-note")).to_have_text("This business uses a service to manage chats.")

        # The template as the person sees it: header, body, footer, its buttons.
        template = page.locator(f'.message[data-message-id="{shipped}"]')
        await expect(template.locator(".biz-header")).to_have_text("Order 7 shipped")
        await expect(template.locator(".biz-body")).to_have_text("Hi Ada, your parcel is on its way.")
        await expect(template.locator(".biz-footer")).to_have_text("Parley Shop · reply STOP to opt out")
        track = template.locator("a.biz-button", has_text="Track parcel")
        await expect(track).to_have_attribute("href", "https://example.com/track/7")
        await expect(track).to_have_attribute("rel", "noopener noreferrer")
        await page.locator("#messages").screenshot(path="/tmp/parley-web-business-template.png")

        # Tapping a reply button sends a reply that quotes the question, with the button's id and title.
        question = page.locator(f'.message[data-message-id="{asked}"]')
        await expect(question.locator(".biz-header")).to_have_text("Delivery")
        await expect(question.locator(".reply-button")).to_have_text(["Today", "Tomorrow"])
        await question.locator(".reply-button", has_text="Tomorrow").click()
        sent = page.locator(".message.own.business-reply", has_text="Tomorrow")
        await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        reply = await stored_reply(server, ada, str(await sent.get_attribute("data-message-id")))
        assert reply == {"reply_type": "button_reply", "id": "tomorrow", "title": "Tomorrow", "description": None}
        await expect(chat).to_contain_text("Tomorrow")

        # The template's quick reply answers with its payload.
        await template.locator(".reply-button", has_text="Stop updates").click()
        stop = page.locator(".message.own.business-reply", has_text="Stop updates")
        await expect(stop).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        reply = await stored_reply(server, ada, str(await stop.get_attribute("data-message-id")))
        assert reply == {"reply_type": "button", "id": "STOP", "title": "Stop updates", "description": None}

        # Messages arriving while the chat is open render live: a list opens its rows, a row is a reply.
        slots = await business_says(server, shop, ada, "interactive", SLOTS)
        listing = page.locator(f'.message[data-message-id="{slots}"]')
        await expect(listing.locator(".biz-body")).to_have_text("Pick a time slot")
        await expect(listing.locator(".list-row")).to_have_count(2)
        await expect(listing.locator(".list-rows")).to_be_hidden()
        await listing.locator(".list-open", has_text="See slots").click()
        await expect(listing.locator(".list-section-title")).to_have_text(["Morning", "Evening"])
        await listing.locator(".list-row", has_text="9:00").click()
        # The row's description is unique; its title "9:00" also matches message timestamps.
        picked = page.locator(".message.own.business-reply", has_text="Early bird")
        await expect(picked).to_contain_text("9:00")
        await expect(picked).to_have_attribute("data-message-id", re.compile(r"^\d+$"))
        reply = await stored_reply(server, ada, str(await picked.get_attribute("data-message-id")))
        assert reply == {"reply_type": "list_reply", "id": "m9", "title": "9:00", "description": "Early bird"}

        # A link button, a product card, a location and a contact card.
        for type_, content in (
            ("interactive", SITE),
            ("interactive", SNEAKER),
            ("location", SHOP),
            ("contacts", CARD),
        ):
            await business_says(server, shop, ada, type_, content)
        site = page.locator(".message.business-interactive", has_text="Our opening hours")
        await expect(site.locator("a.biz-button")).to_have_attribute("href", "https://example.com/hours")
        await expect(site.locator("a.biz-button")).to_have_text("Open website")
        await expect(page.locator(".biz-card.card-product")).to_contain_text("SNEAKER-42")
        location = page.locator(".message.business-location")
        await expect(location).to_contain_text("Parley Shop Mitte")
        await expect(location).to_contain_text("Pariser Platz 1")
        await expect(location.locator("a")).to_have_attribute("href", re.compile(r"^https://www\.openstreetmap\.org/"))
        await expect(page.locator(".message.business-contacts")).to_contain_text("Grace Support")
        await expect(page.locator(".message.business-contacts")).to_contain_text("+49 30 1234567")
        await expect(chat).to_contain_text("Grace Support")
    finally:
        await page.screenshot(path="/tmp/parley-web-business.png", full_page=True)
        await page.context.close()
    assert errors == []
