"""The demo business `parley demo` seeds: a coffee shop with a template, a click-to-chat link and a customer."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from parley.container import Container
from parley.graph import GraphError, GraphScope
from parley.messaging.schemas import SendMessageIn, TextIn

DEMO_BUSINESS_PHONE = "+14155550190"
DEMO_INBOX_OWNER = "owner@parley-coffee.example"
DEMO_INBOX_AGENT = "sam@parley-coffee.example"
DEMO_INBOX_PASSWORD = "parley-demo"
DEMO_TOKEN_NAME = "demo"
DEMO_LINK_TEXT = "Hi! I'd like a latte"


@dataclass
class DemoBusiness:
    waba_id: str
    phone_number_id: str
    phone: str
    access_token: str
    app_secret: str
    link: str
    affiliate_link: str = ""  # affiliates: set by seed_demo_affiliates


async def seed_demo_business(c: Container, customer_id: int) -> DemoBusiness:
    """Create the demo business once. A later run replaces the demo's access token (one stays active, not one
    more per restart) and shows the same click-to-chat link."""
    try:
        existing = await c.accounts.find_by_phone(DEMO_BUSINESS_PHONE)
    except Exception:
        existing = None
    if existing is not None:
        number = await c.business.number_of_user(existing.id)
        for old in await c.business.list_tokens(number.waba_id):
            if old.name == DEMO_TOKEN_NAME and old.revoked_at is None:
                await c.business.revoke_token(str(old.id))
        _, token = await c.business.create_token(number.waba_id, DEMO_TOKEN_NAME)
        links = await c.qr_codes.inbox_links(number.waba_id)
        url = links[0].url if links else ""
        return DemoBusiness(str(number.waba_id), str(number.id), DEMO_BUSINESS_PHONE, token, "(unchanged)", url)
    created = await c.business.create_business(
        "Parley Coffee", DEMO_BUSINESS_PHONE, about="Fresh coffee, delivered.", app_secret=None
    )
    scope = GraphScope(created.waba_id, 0, created.app_id)
    # The demo's token carries the demo's name, so a later run replaces this one and no other.
    await c.business.revoke_token(created.access_token)
    _, token = await c.business.create_token(created.waba_id, DEMO_TOKEN_NAME)
    await c.templates.create(
        scope,
        {
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order update"},
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is ready for pick-up at the counter.",
                    "example": {"body_text": [["Alice", "#42"]]},
                },
                {"type": "FOOTER", "text": "Parley Coffee"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "On my way"}]},
            ],
        },
    )
    await asyncio.sleep(c.settings.templates.review_delay_s + 0.1)  # the review is asynchronous
    await c.templates.review_due_now()
    # A message link, as the inbox's links settings make them: listed there with its QR code and clicks.
    message_link = await c.qr_codes.inbox_create(
        created.waba_id, {"number_id": str(created.phone_number_id), "prefilled_message": DEMO_LINK_TEXT}
    )
    # The team inbox: an owner and an agent (both sign in at /inbox/login), a quick reply.
    await c.inbox.create_agent(
        created.waba_id, email=DEMO_INBOX_OWNER, name="Olivia (owner)", role="owner", password=DEMO_INBOX_PASSWORD
    )
    await c.inbox.create_agent(
        created.waba_id, email=DEMO_INBOX_AGENT, name="Sam", role="agent", password=DEMO_INBOX_PASSWORD
    )
    await c.inbox.seed_quick_reply(created.waba_id, "hours", "Hi {{name}}! We are open 8:00 to 14:00, every day.")
    await _seed_catalog(c, scope, created.waba_id, created.phone_number_id)
    await c.messaging.send(
        customer_id,
        SendMessageIn(
            to=DEMO_BUSINESS_PHONE,
            type="text",
            text=TextIn(body="Hello! Are you open on Sunday?"),
            client_id="demo-biz",
        ),
    )
    reply = {"messaging_product": "whatsapp", "to": "+14155550101", "type": "text", "text": {"body": "Yes, 8 to 14!"}}
    with contextlib.suppress(GraphError):  # e.g. a limit: the demo works without this reply
        await c.sender.send(scope, str(created.phone_number_id), reply)
    return DemoBusiness(
        str(created.waba_id),
        str(created.phone_number_id),
        DEMO_BUSINESS_PHONE,
        token,
        created.app_secret,
        message_link.url,
    )


DEMO_PRODUCTS = (
    ("espresso-beans", "Espresso beans, 250 g", "Dark roast, chocolate notes.", "12.50 USD", 40),
    ("filter-beans", "Filter beans, 250 g", "Light roast from Huila, Colombia.", "11.00 USD", 25),
    ("travel-mug", "Travel mug", "Keeps coffee hot for 4 hours.", "18.00 USD", 0),
)


async def _seed_catalog(c: Container, scope: GraphScope, waba_id: int, number_id: int) -> None:
    """A small catalog, visible on the business's profile, so the shop, the cart and the inbox's catalog panel
    have something to show (the mug is sold out: it shows without "Add to cart")."""
    catalog = await c.catalogs.create_catalog(scope, str(waba_id), {"name": "Parley Coffee shop"})
    requests = [
        {
            "method": "CREATE",
            "data": {
                "id": retailer_id,
                "title": title,
                "description": description,
                "price": price,
                "availability": "in stock" if stock else "out of stock",
                "condition": "new",
                "quantity_to_sell_on_facebook": stock,
            },
        }
        for retailer_id, title, description, price, stock in DEMO_PRODUCTS
    ]
    await c.catalogs.apply_batch(int(catalog["id"]), waba_id, requests)
    await c.catalogs.update_commerce_settings(scope, str(number_id), {"is_catalog_visible": "true"})
