"""One catalog: the inbox's CSV feed and items_batch refuse alike and write alike; people see one product shape."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection

from parley.commerce import repository as catalog_repo
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import Agent, agent

pytestmark = pytest.mark.asyncio

V = "/v23.0"
FEED = (
    "id,title,price,sale_price,sale_price_effective_date,availability,quantity_to_sell_on_facebook\n"
    "bread,Sourdough,4.50 GBP,3.99 GBP,2020-01-01T00:00Z/2099-01-01T00:00Z,in stock,5\n"
    "jam,Jam,3 GBP,,,in stock,\n"
)


async def _import(who: Agent, data: str, *, apply: bool) -> dict[str, Any]:
    response = await who.http.post(
        "/inbox/api/catalog/import",
        params={"apply": "true" if apply else "false"},
        content=data.encode(),
        headers={"X-CSRF-Token": who.csrf, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_feed_line_and_a_batch_item_are_refused_with_the_same_reason(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    owner = await agent(server, biz, "Olga", role="owner")
    catalog_id = (await _import(owner, FEED, apply=True))["catalog"]["id"]
    bad = {"id": "odd", "title": "Odd", "price": "4.505 GBP"}

    report = await _import(owner, "id,title,price\n" + ",".join(bad.values()) + "\n", apply=False)
    batch = await server.http.post(
        f"{V}/{catalog_id}/items_batch",
        headers=biz.headers,
        json={"item_type": "PRODUCT_ITEM", "requests": [{"method": "CREATE", "data": bad}]},
    )
    assert batch.status_code == 200, batch.text
    [status] = batch.json()["validation_status"]
    [error] = report["errors"]
    assert error["line"] == 2 and error["id"] == "odd" and report["counts"]["refused"] == 1
    assert "Param " + error["message"] == status["errors"][0]["message"]
    assert "more decimals than GBP has" in error["message"]


async def test_importing_a_feed_tells_the_product_observers_inside_the_write(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    owner = await agent(server, biz, "Olga", role="owner")
    catalog_id = (await _import(owner, FEED, apply=True))["catalog"]["id"]
    told: list[tuple[int, list[str], int]] = []

    class Recorder:
        def products_changed(self, conn: Connection, catalog: int, retailer_ids: Sequence[str]) -> None:
            stored = catalog_repo.products_by_retailer_ids(conn, catalog, retailer_ids)  # already changed here
            told.append((catalog, list(retailer_ids), stored["bread"].version if "bread" in stored else 0))

    server.container.catalogs.add_observer(Recorder())
    preview = await _import(owner, FEED.replace(",in stock,5", ",out of stock,5"), apply=False)
    assert preview["counts"] == {"created": 0, "updated": 1, "unchanged": 1, "refused": 0} and told == []

    applied = await _import(owner, FEED.replace(",in stock,5", ",out of stock,5"), apply=True)
    assert [(line["id"], line["outcome"]) for line in applied["lines"]] == [("bread", "updated"), ("jam", "unchanged")]
    assert told == [(int(catalog_id), ["bread"], 2)]
    item = await server.http.get(f"{V}/{catalog_id}/products", headers=biz.headers, params={"fields": "availability"})
    assert [p["availability"] for p in item.json()["data"]] == ["out of stock", "in stock"]


async def test_people_see_the_same_product_on_the_catalog_the_business_page_the_shop_and_the_cart(
    server: LiveServer,
) -> None:
    biz = await create_business(server, "Bakery")
    owner = await agent(server, biz, "Olga", role="owner")
    catalog_id = (await _import(owner, FEED, apply=True))["catalog"]["id"]
    settings = {"is_catalog_visible": "true", "is_cart_enabled": "true"}
    await server.http.post(
        f"{V}/{biz.phone_number_id}/whatsapp_commerce_settings", headers=biz.headers, params=settings
    )
    person = await server.user("Ada")
    sent = await server.http.post(
        "/client/v1/messages",
        headers=person.headers,
        json={"to": biz.phone, "type": "text", "text": {"body": "Hi"}, "client_id": uuid.uuid4().hex},
    )
    chat_id = sent.json()["chat_id"]

    async def read(path: str, **params: str) -> dict[str, Any]:
        response: httpx.Response = await server.http.get(f"/client/v1{path}", headers=person.headers, params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    by_id = (await read(f"/catalogs/{catalog_id}/products", retailer_ids="bread"))["products"]
    browsed = (await read(f"/catalogs/{catalog_id}/products"))["products"]
    business = (await read(f"/businesses/{biz.user_id}/catalog"))["products"]
    shop = (await read(f"/chats/{chat_id}/shop"))["products"]
    bread = by_id[0]
    assert [p for p in browsed if p["retailer_id"] == "bread"] == [bread]
    assert [p for p in business if p["retailer_id"] == "bread"] == [bread]
    assert [p for p in shop if p["retailer_id"] == "bread"] == [bread]
    assert (bread["price"], bread["sale_price"], bread["unit_price"], bread["on_sale"]) == (
        4_500_000,
        3_990_000,
        3_990_000,
        True,
    )
    assert (bread["currency"], bread["orderable"], bread["stock"], bread["catalog_id"]) == ("GBP", True, 5, catalog_id)

    put = await server.http.put(
        f"/client/v1/chats/{chat_id}/cart/items/bread",
        headers=person.headers,
        json={"catalog_id": catalog_id, "quantity": 2},
    )
    assert put.status_code == 200, put.text
    [line] = put.json()["items"]
    assert {k: v for k, v in line.items() if k not in ("quantity", "line_total")} == bread
    assert (line["quantity"], line["line_total"]) == (2, 7_980_000)
