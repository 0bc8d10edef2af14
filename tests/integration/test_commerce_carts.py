"""A person's cart in their chat with a business, sent as an `order` message that reaches the business's webhook."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, create_business, inbound
from tests.integration.commerce_helpers import MICROS, add_product, catalog_of, change_product, set_commerce

API = "/client/v1"
HOUR_MS = 3_600_000


async def chat_with(server: LiveServer, person: User, biz: Biz) -> str:
    response = await server.http.post(
        f"{API}/messages",
        headers=person.headers,
        json={"to": biz.phone, "type": "text", "text": {"body": "Hi shop"}, "client_id": uuid.uuid4().hex},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["chat_id"])


async def shop_setup(server: LiveServer) -> tuple[Biz, str, User, str]:
    biz = await create_business(server, "Bakery")
    catalog_id = await catalog_of(server, biz)
    await add_product(server, catalog_id, "BREAD", "Sourdough bread", 4_500_000)
    await add_product(server, catalog_id, "CAKE", "Carrot cake", 12_990_000)
    await add_product(server, catalog_id, "PIE", "Apple pie", 8_000_000, stock=3)
    person = await server.user("Ada")
    return biz, catalog_id, person, await chat_with(server, person, biz)


async def put_item(
    server: LiveServer, person: User, chat_id: str, retailer_id: str, catalog_id: str, quantity: int
) -> httpx.Response:
    return await server.http.put(
        f"{API}/chats/{chat_id}/cart/items/{retailer_id}",
        headers=person.headers,
        json={"catalog_id": catalog_id, "quantity": quantity},
    )


async def cart_of(server: LiveServer, person: User, chat_id: str) -> dict[str, Any]:
    response = await server.http.get(f"{API}/chats/{chat_id}/cart", headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def send_cart(server: LiveServer, person: User, chat_id: str, client_id: str, text: str = "") -> httpx.Response:
    return await server.http.post(
        f"{API}/chats/{chat_id}/cart/send", headers=person.headers, json={"text": text, "client_id": client_id}
    )


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def quantities(cart: dict[str, Any]) -> dict[str, int]:
    return {item["retailer_id"]: item["quantity"] for item in cart["items"]}


async def test_the_cart_holds_orderable_products_of_the_business_one_to_99_units(server: LiveServer) -> None:
    _biz, catalog_id, person, chat_id = await shop_setup(server)
    assert (await cart_of(server, person, chat_id))["items"] == []

    assert (await put_item(server, person, chat_id, "BREAD", catalog_id, 2)).status_code == 200
    added = await put_item(server, person, chat_id, "CAKE", catalog_id, 99)
    assert added.status_code == 200, added.text
    assert quantities(added.json()) == {"BREAD": 2, "CAKE": 99}
    assert added.json()["total"] == 2 * 4_500_000 + 99 * 12_990_000

    # 100 units, an unknown product, a product of another catalog: refused, the cart unchanged.
    assert (await put_item(server, person, chat_id, "CAKE", catalog_id, 100)).status_code == 400
    assert error_code(await put_item(server, person, chat_id, "NOPE", catalog_id, 1), 400) == "product_unavailable"
    other = await create_business(server, "Other shop")
    other_catalog = await catalog_of(server, other)
    await add_product(server, other_catalog, "BREAD", "Their bread", 1_000_000)
    assert error_code(await put_item(server, person, chat_id, "BREAD", other_catalog, 1), 400) == "product_unavailable"
    # Stock is counted: 3 pies at most.
    assert error_code(await put_item(server, person, chat_id, "PIE", catalog_id, 4), 400) == "product_unavailable"

    # Out of stock, archived, or sold out (stock 0): not orderable.
    await add_product(server, catalog_id, "GONE", "Rye bread", 3_000_000, availability="out of stock")
    await add_product(server, catalog_id, "OLD", "Old cake", 3_000_000, status="archived")
    await add_product(server, catalog_id, "SOLD", "Baguette", 2_000_000, stock=0)
    for retailer_id in ("GONE", "OLD", "SOLD"):
        assert (
            error_code(await put_item(server, person, chat_id, retailer_id, catalog_id, 1), 400)
            == "product_unavailable"
        )

    # The cart is the server's: read again (another device, a reload), it is the same.
    assert quantities(await cart_of(server, person, chat_id)) == {"BREAD": 2, "CAKE": 99}
    # 0 takes an item out; DELETE empties the cart.
    assert quantities((await put_item(server, person, chat_id, "CAKE", catalog_id, 0)).json()) == {"BREAD": 2}
    cleared = await server.http.delete(f"{API}/chats/{chat_id}/cart", headers=person.headers)
    assert cleared.status_code == 204
    assert (await cart_of(server, person, chat_id))["items"] == []


async def test_only_your_chat_with_a_business_has_a_cart(server: LiveServer) -> None:
    _biz, catalog_id, person, chat_id = await shop_setup(server)
    stranger = await server.user("Eve")
    # Someone else's chat, a chat between two people, nonsense ids: not found.
    assert error_code(await put_item(server, stranger, chat_id, "BREAD", catalog_id, 1), 404) == "not_found"
    assert (
        error_code(await server.http.get(f"{API}/chats/{chat_id}/cart", headers=stranger.headers), 404) == "not_found"
    )
    friend = await server.user("Bob")
    between_people = (await server.send_text(person, "hi", to=friend))["chat_id"]
    assert error_code(await server.http.get(f"{API}/chats/{between_people}/cart", headers=person.headers), 404)
    assert error_code(await server.http.get(f"{API}/chats/abc/cart", headers=person.headers), 404) == "not_found"
    assert error_code(await send_cart(server, stranger, chat_id, "x1"), 404) == "not_found"
    # A business without a catalog has no cart to fill.
    bare = await create_business(server, "No catalog")
    bare_chat = await chat_with(server, person, bare)
    assert error_code(await server.http.get(f"{API}/chats/{bare_chat}/cart", headers=person.headers), 404)


async def test_items_that_become_unavailable_are_dropped_with_a_notice(server: LiveServer) -> None:
    biz, catalog_id, person, chat_id = await shop_setup(server)
    await put_item(server, person, chat_id, "BREAD", catalog_id, 1)
    await put_item(server, person, chat_id, "CAKE", catalog_id, 2)
    await put_item(server, person, chat_id, "PIE", catalog_id, 1)
    await change_product(server, catalog_id, "CAKE", availability="out of stock")
    await change_product(server, catalog_id, "PIE", stock=0)

    cart = await cart_of(server, person, chat_id)
    assert quantities(cart) == {"BREAD": 1}
    assert cart["notice"] == "One or more items in your cart have been updated"
    assert cart["total"] == 4_500_000
    # Said once: the next read has nothing new to say.
    assert (await cart_of(server, person, chat_id))["notice"] is None

    # Nothing orderable left: sending is refused and nothing reaches the business.
    await change_product(server, catalog_id, "BREAD", status="archived")
    assert error_code(await send_cart(server, person, chat_id, "c-empty"), 409) == "cart_empty"
    assert not [v for v in await inbound(server, biz) if v["messages"][0]["type"] == "order"]


async def test_a_business_without_carts_refuses_them(server: LiveServer) -> None:
    biz, catalog_id, person, chat_id = await shop_setup(server)
    await put_item(server, person, chat_id, "BREAD", catalog_id, 1)
    await set_commerce(server, biz, cart=False)
    assert (
        error_code(await server.http.get(f"{API}/chats/{chat_id}/cart", headers=person.headers), 409) == "cart_disabled"
    )
    assert error_code(await put_item(server, person, chat_id, "CAKE", catalog_id, 1), 409) == "cart_disabled"
    assert error_code(await send_cart(server, person, chat_id, "c1"), 409) == "cart_disabled"
    shop = (await server.http.get(f"{API}/chats/{chat_id}/shop", headers=person.headers)).json()
    assert shop["is_cart_enabled"] is False and shop["catalog_id"] == catalog_id


async def test_sending_the_cart_sends_an_order_to_the_business_once(server: LiveServer) -> None:
    biz, catalog_id, person, chat_id = await shop_setup(server)
    await put_item(server, person, chat_id, "BREAD", catalog_id, 2)
    await put_item(server, person, chat_id, "CAKE", catalog_id, 1)

    sent = await send_cart(server, person, chat_id, "order-1", text="Pick up at 5")
    assert sent.status_code == 200, sent.text
    answer = sent.json()
    assert answer["chat_id"] == chat_id
    assert answer["order"]["total"] == 2 * 4_500_000 + 12_990_000
    assert (await cart_of(server, person, chat_id))["items"] == []

    # The business gets Meta's inbound `order` message: unit prices in major units, no total.
    orders = [v for v in await inbound(server, biz) if v["messages"][0]["type"] == "order"]
    assert len(orders) == 1
    value = orders[0]
    item = value["messages"][0]
    assert value["metadata"]["phone_number_id"] == biz.phone_number_id
    assert value["contacts"][0]["wa_id"] == person.phone.lstrip("+")
    assert item["from"] == person.phone.lstrip("+") and item["id"].startswith("wamid.")
    assert item["order"] == {
        "catalog_id": catalog_id,
        "text": "Pick up at 5",
        "product_items": [
            {"product_retailer_id": "BREAD", "quantity": 2, "item_price": 4.5, "currency": "USD"},
            {"product_retailer_id": "CAKE", "quantity": 1, "item_price": 12.99, "currency": "USD"},
        ],
    }

    # A retry of the same client_id answers the first order and sends nothing again, even with a new cart.
    await put_item(server, person, chat_id, "BREAD", catalog_id, 5)
    again = await send_cart(server, person, chat_id, "order-1", text="Pick up at 5")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == answer["id"] and again.json()["order"] == answer["order"]
    assert len([v for v in await inbound(server, biz) if v["messages"][0]["type"] == "order"]) == 1
    assert quantities(await cart_of(server, person, chat_id)) == {"BREAD": 5}
    # The same client_id with another note is another request: refused.
    assert (await send_cart(server, person, chat_id, "order-1", text="other")).status_code == 409

    # The person's chat shows the order; Parley keeps it by message for the inbox and payment requests.
    history = (await server.http.get(f"{API}/chats/{chat_id}/messages", headers=person.headers)).json()["messages"]
    shown = next(m for m in history if m["id"] == answer["id"])
    assert shown["type"] == "order"
    assert shown["business"]["order"]["total"] == answer["order"]["total"]
    assert [i["quantity"] for i in shown["business"]["order"]["product_items"]] == [2, 1]
    recorded = await server.container.cart_orders.order_of_message(int(answer["id"]))
    assert recorded is not None
    assert recorded.total == 21_990_000 and recorded.currency == "USD" and recorded.text == "Pick up at 5"
    assert [(line.retailer_id, line.quantity, line.unit_price) for line in recorded.lines] == [
        ("BREAD", 2, 4_500_000),
        ("CAKE", 1, 12_990_000),
    ]


async def test_totals_use_the_sale_price_only_inside_its_dates(server: LiveServer) -> None:
    biz, catalog_id, person, chat_id = await shop_setup(server)
    now = server.clock.now_ms()
    await add_product(
        server,
        catalog_id,
        "TART",
        "Lemon tart",
        10 * MICROS,
        sale_price=7_990_000,
        sale_starts_at=now + HOUR_MS,
        sale_ends_at=now + 2 * HOUR_MS,
    )
    cart = (await put_item(server, person, chat_id, "TART", catalog_id, 3)).json()
    assert cart["total"] == 30 * MICROS and cart["items"][0]["on_sale"] is False

    server.clock.advance(minutes=61)  # inside the sale
    cart = await cart_of(server, person, chat_id)
    assert cart["total"] == 23_970_000 and cart["items"][0]["unit_price"] == 7_990_000
    sent = (await send_cart(server, person, chat_id, "sale-1")).json()
    assert sent["order"]["total"] == 23_970_000
    orders = [v for v in await inbound(server, biz) if v["messages"][0]["type"] == "order"]
    assert orders[-1]["messages"][0]["order"]["product_items"][0]["item_price"] == 7.99

    server.clock.advance(minutes=60)  # the sale has ended
    await put_item(server, person, chat_id, "TART", catalog_id, 3)
    sent = (await send_cart(server, person, chat_id, "sale-2")).json()
    assert sent["order"]["total"] == 30 * MICROS


async def test_pywa_reads_the_order_parley_sends(server: LiveServer) -> None:
    pywa = pytest.importorskip("pywa")
    from pywa.types import Message

    biz, catalog_id, person, chat_id = await shop_setup(server)
    await put_item(server, person, chat_id, "BREAD", catalog_id, 3)
    await put_item(server, person, chat_id, "CAKE", catalog_id, 2)
    assert (await send_cart(server, person, chat_id, "pywa-1", text="Thanks")).status_code == 200
    value = next(v for v in await inbound(server, biz) if v["messages"][0]["type"] == "order")
    update = {
        "object": "whatsapp_business_account",
        "entry": [{"id": biz.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    wa = pywa.WhatsApp(phone_id=biz.phone_number_id, token=biz.token, server=None, verify_token=None)
    message = Message.from_update(client=wa, update=update)
    assert message.order is not None
    assert message.order.catalog_id == catalog_id and message.order.text == "Thanks"
    assert message.order.total_price == pytest.approx(3 * 4.5 + 2 * 12.99)
    assert [p.sku for p in message.order.products] == ["BREAD", "CAKE"]
