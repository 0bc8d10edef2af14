"""Product messages a business sends (`product`, `product_list`, `catalog_message`, the product `carousel`) are
checked against its catalog: Meta's 131009 for a catalog that is not its own or a product that does not exist,
nothing sent; a product list keeps the products that exist."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, V, create_business, person_writes, send
from tests.integration.test_graph_media import graph_error


async def catalog_with(server: LiveServer, biz: Biz, *skus: str, archived: tuple[str, ...] = ()) -> str:
    created = await server.http.post(f"{V}/{biz.waba_id}/product_catalogs", headers=biz.headers, json={"name": "Shop"})
    assert created.status_code == 200, created.text
    catalog_id = str(created.json()["id"])
    for sku in (*skus, *archived):
        added = await server.http.post(
            f"{V}/{catalog_id}/products",
            headers=biz.headers,
            json={
                "retailer_id": sku,
                "name": sku.title(),
                "price": "2.50 USD",
                "visibility": "staging" if sku in archived else "published",
            },
        )
        assert added.status_code == 200, added.text
    return catalog_id


async def chatting(server: LiveServer) -> tuple[Biz, User]:
    biz = await create_business(server)
    person = await server.user("Ann")
    await person_writes(server, person, biz)  # the service window is open: interactive messages may be sent
    return biz, person


def interactive(person: User, body: dict[str, Any]) -> dict[str, Any]:
    return {"to": person.phone, "type": "interactive", "interactive": body}


def product(catalog_id: str, sku: str) -> dict[str, Any]:
    return {
        "type": "product",
        "body": {"text": "Look"},
        "action": {"catalog_id": catalog_id, "product_retailer_id": sku},
    }


def product_list(catalog_id: str, *sections: list[str]) -> dict[str, Any]:
    return {
        "type": "product_list",
        "header": {"type": "text", "text": "Our picks"},
        "body": {"text": "Pick one"},
        "action": {
            "catalog_id": catalog_id,
            "sections": [
                {"title": f"Part {n}", "product_items": [{"product_retailer_id": s} for s in skus]}
                for n, skus in enumerate(sections)
            ],
        },
    }


def carousel(*cards: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "carousel",
        "body": {"text": "Swipe"},
        "action": {
            "cards": [
                {"card_index": i, "type": "product", "action": {"catalog_id": c, "product_retailer_id": s}}
                for i, (c, s) in enumerate(cards)
            ]
        },
    }


async def received(server: LiveServer, person: User) -> list[dict[str, Any]]:
    """The business messages the person has been sent, oldest first (the person's own greeting left out)."""
    principal = await server.container.accounts.authenticate(person.token)
    events = await server.container.messaging.pending_inbox(principal.user_id, 0, 1000)
    return [e["message"] for e in events if e["message"]["sender_id"] != str(principal.user_id)]


def sent_ok(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


async def test_a_product_message_names_a_product_of_the_businesss_catalog(server: LiveServer) -> None:
    biz, person = await chatting(server)
    catalog_id = await catalog_with(server, biz, "tea", archived=("old",))
    sent_ok(await send(server, biz, interactive(person, product(catalog_id, "tea"))))

    details = graph_error(await send(server, biz, interactive(person, product(catalog_id, "coffee"))), 131009)
    assert "coffee" in details
    graph_error(await send(server, biz, interactive(person, product(catalog_id, "old"))), 131009)  # archived

    globex = await create_business(server, "Globex")
    theirs = await catalog_with(server, globex, "tea")
    assert theirs in graph_error(await send(server, biz, interactive(person, product(theirs, "tea"))), 131009)
    graph_error(await send(server, biz, interactive(person, product("12345", "tea"))), 131009)
    assert [m["business"]["interactive"]["type"] for m in await received(server, person)] == ["product"]

    preview = await server.http.post(
        f"{V}/{biz.phone_number_id}/messages",
        headers=biz.headers,
        params={"dry_run": "true"},
        json={"messaging_product": "whatsapp", **interactive(person, product(catalog_id, "coffee"))},
    )
    graph_error(preview, 131009)  # a dry run refuses what the send would


async def test_a_product_list_keeps_the_products_that_exist(server: LiveServer) -> None:
    biz, person = await chatting(server)
    catalog_id = await catalog_with(server, biz, "tea", "cake", archived=("old",))
    sent_ok(
        await send(server, biz, interactive(person, product_list(catalog_id, ["tea", "nope"], ["old", "zz"], ["cake"])))
    )
    [message] = await received(server, person)
    sections = message["business"]["interactive"]["action"]["sections"]
    assert [[i["product_retailer_id"] for i in s["product_items"]] for s in sections] == [["tea"], ["cake"]]
    assert [s["title"] for s in sections] == ["Part 0", "Part 2"]

    details = graph_error(
        await send(server, biz, interactive(person, product_list(catalog_id, ["nope", "old"]))), 131009
    )
    assert "none of the products" in details
    assert len(await received(server, person)) == 1


async def test_a_catalog_message_needs_a_catalog_with_products(server: LiveServer) -> None:
    biz, person = await chatting(server)
    message = {"type": "catalog_message", "body": {"text": "Our shop"}, "action": {"name": "catalog_message"}}
    graph_error(await send(server, biz, interactive(person, message)), 131009)  # no catalog
    empty = await server.http.post(f"{V}/{biz.waba_id}/product_catalogs", headers=biz.headers, json={"name": "Shop"})
    catalog_id = empty.json()["id"]
    graph_error(await send(server, biz, interactive(person, message)), 131009)  # no product yet
    await server.http.post(
        f"{V}/{catalog_id}/products",
        headers=biz.headers,
        json={"retailer_id": "tea", "name": "Tea", "price": 250, "currency": "USD"},
    )
    sent_ok(await send(server, biz, interactive(person, message)))
    with_thumbnail = {
        **message,
        "action": {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": "tea"}},
    }
    sent_ok(await send(server, biz, interactive(person, with_thumbnail)))
    unknown = {**message, "action": {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": "zz"}}}
    assert "zz" in graph_error(await send(server, biz, interactive(person, unknown)), 131009)
    assert len(await received(server, person)) == 2


async def test_a_product_carousel_shows_two_to_ten_products_of_the_catalog(server: LiveServer) -> None:
    biz, person = await chatting(server)
    catalog_id = await catalog_with(server, biz, "tea", "cake", "pie")
    sent_ok(await send(server, biz, interactive(person, carousel((catalog_id, "tea"), (catalog_id, "cake")))))
    [message] = await received(server, person)
    assert (
        message["business"]["interactive"]["type"] == "carousel"
        and len(message["business"]["interactive"]["action"]["cards"]) == 2
    )

    assert "zz" in graph_error(
        await send(server, biz, interactive(person, carousel((catalog_id, "tea"), (catalog_id, "zz")))), 131009
    )
    graph_error(await send(server, biz, interactive(person, carousel((catalog_id, "tea")))), 131009)  # one card
    globex = await create_business(server, "Globex")
    theirs = await catalog_with(server, globex, "tea")
    mixed = carousel((catalog_id, "tea"), (theirs, "tea"))
    assert "same catalog" in graph_error(await send(server, biz, interactive(person, mixed)), 131009)
    with_header = {**carousel((catalog_id, "tea"), (catalog_id, "pie")), "header": {"type": "text", "text": "Hi"}}
    graph_error(await send(server, biz, interactive(person, with_header)), 131009)
    repeated = carousel((catalog_id, "tea"), (catalog_id, "pie"))
    repeated["action"]["cards"][1]["card_index"] = 0
    assert "unique" in graph_error(await send(server, biz, interactive(person, repeated)), 131009)
    assert len(await received(server, person)) == 1
