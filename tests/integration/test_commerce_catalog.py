"""The catalog over the Graph API: a business account's catalog, product items (Meta's products endpoint and its
batch feed), product sets, commerce settings per number, Meta's validation and "object does not exist" for other
businesses' ids, keyset paging; and what people read of a catalog through the client API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection

from parley.config import Settings
from parley.kit.clock import OffsetClock
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.test_graph_media import graph_error, jpeg, pdf, uploaded


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    settings.public_url = live.base_url  # image URLs must point at this very server (read when it starts)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def new_catalog(server: LiveServer, biz: Biz, name: str = "Bakery") -> str:
    response = await server.http.post(f"{V}/{biz.waba_id}/product_catalogs", headers=biz.headers, json={"name": name})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def add_product(server: LiveServer, biz: Biz, catalog_id: str, **fields: Any) -> httpx.Response:
    body = {"retailer_id": "bread-1", "name": "Sourdough", "price": 450, "currency": "GBP", **fields}
    return await server.http.post(f"{V}/{catalog_id}/products", headers=biz.headers, json=body)


async def product_id(server: LiveServer, biz: Biz, catalog_id: str, **fields: Any) -> str:
    response = await add_product(server, biz, catalog_id, **fields)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def get(server: LiveServer, biz: Biz, path: str, **params: Any) -> dict[str, Any]:
    response = await server.http.get(f"{V}/{path}", headers=biz.headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def batch(server: LiveServer, biz: Biz, catalog_id: str, requests: list[dict[str, Any]]) -> httpx.Response:
    return await server.http.post(
        f"{V}/{catalog_id}/items_batch",
        headers=biz.headers,
        json={"item_type": "PRODUCT_ITEM", "requests": requests},
    )


async def test_a_business_connects_one_catalog_and_reads_it_back(server: LiveServer) -> None:
    biz = await create_business(server)
    assert await get(server, biz, f"{biz.waba_id}/product_catalogs") == {"data": []}
    catalog_id = await new_catalog(server, biz, "Bakery")
    assert await new_catalog(server, biz, "Bakery") == catalog_id  # a retry answers the same catalog
    assert await get(server, biz, f"{biz.waba_id}/product_catalogs") == {"data": [{"id": catalog_id, "name": "Bakery"}]}
    other = await server.http.post(
        f"{V}/{biz.waba_id}/product_catalogs", headers=biz.headers, json={"name": "Second shop"}
    )
    assert catalog_id in graph_error(other, 100)
    assert (await get(server, biz, catalog_id))["name"] == "Bakery"

    globex = await create_business(server, "Globex")
    foreign = await server.http.get(f"{V}/{biz.waba_id}/product_catalogs", headers=globex.headers)
    graph_error(foreign, 100, 400, 33)
    graph_error(await server.http.get(f"{V}/{catalog_id}", headers=globex.headers), 100, 400, 33)


async def test_a_product_is_created_read_changed_and_deleted(server: LiveServer) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    pid = await product_id(
        server,
        biz,
        catalog_id,
        description="Slow-fermented, baked at dawn.",
        sale_price=399,
        sale_price_start_date="2025-01-01T00:00+00:00",
        sale_price_end_date="2099-01-01T00:00+00:00",
        availability="in stock",
        condition="new",
        image_url="https://cdn.bakery.example/sourdough.jpg",
        url="https://bakery.example/sourdough",
        brand="Acme Bakery",
        retailer_product_group_id="breads",
        inventory=12,
    )
    item = await get(server, biz, pid)
    assert item["retailer_id"] == "bread-1" and item["name"] == "Sourdough"
    assert item["price"] == "4.50 GBP" and item["sale_price"] == "3.99 GBP" and item["currency"] == "GBP"
    assert item["inventory"] == 12 and item["retailer_product_group_id"] == "breads"
    assert item["image_url"] == "https://cdn.bakery.example/sourdough.jpg"
    assert item["sale_price_start_date"].startswith("2025-01-01T00:00:00") and item["version"] == 1
    assert await get(server, biz, pid, fields="name,price") == {"id": pid, "name": "Sourdough", "price": "4.50 GBP"}

    changed = await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"price": 500, "inventory": 3})
    assert changed.status_code == 200 and changed.json() == {"success": True}, changed.text
    item = await get(server, biz, pid)
    assert item["price"] == "5.00 GBP" and item["inventory"] == 3 and item["version"] == 2
    assert item["sale_price"] == "3.99 GBP" and item["name"] == "Sourdough"  # fields left out keep their values

    # Meta's feed form of a price works on the products endpoint too
    feed = await add_product(server, biz, catalog_id, retailer_id="cake-1", name="Cake", price="14.99 GBP")
    assert feed.status_code == 200, feed.text
    del feed
    deleted = await server.http.delete(f"{V}/{pid}", headers=biz.headers)
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    graph_error(await server.http.get(f"{V}/{pid}", headers=biz.headers), 100, 400, 33)
    listed = await get(server, biz, f"{catalog_id}/products", fields="retailer_id,price")
    assert [p["retailer_id"] for p in listed["data"]] == ["cake-1"] and listed["data"][0]["price"] == "14.99 GBP"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "x" * 201}, "at most 200"),
        ({"description": "x" * 10_000}, "at most 9999"),
        ({"retailer_id": "x" * 101}, "at most 100"),
        ({"availability": "maybe"}, "availability"),
        ({"condition": "mint"}, "condition"),
        ({"sale_price": 450}, "below price"),
        ({"currency": "XYZ"}, "ISO 4217"),
        ({"price": -1}, "negative"),
        ({"price": 4.5}, "minor units"),
        ({"price": "4.505 GBP"}, "decimal places"),
        ({"price": "4.50 EUR"}, "EUR"),
        ({"inventory": -3}, "negative"),
        ({"image_url": "ftp://x.example/a.png"}, "http"),
        ({"sale_price_start_date": "2025-02-01", "sale_price_end_date": "2025-01-01", "sale_price": 100}, "after"),
        ({"colour_of_the_sky": "blue"}, "colour_of_the_sky"),
        ({"name": ""}, "empty"),
        ({"price": None}, "price"),
    ],
)
async def test_bad_product_fields_are_refused_with_error_100_and_nothing_is_stored(
    server: LiveServer, fields: dict[str, Any], words: str
) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    body = {"retailer_id": "bread-1", "name": "Sourdough", "price": 450, "currency": "GBP", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = await server.http.post(f"{V}/{catalog_id}/products", headers=biz.headers, json=body)
    assert words in graph_error(response, 100)
    assert (await get(server, biz, f"{catalog_id}/products"))["data"] == []


async def test_a_retailer_id_is_used_once_per_catalog_and_updates_are_checked_too(server: LiveServer) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    pid = await product_id(server, biz, catalog_id, sale_price=300)
    assert "already exists" in graph_error(await add_product(server, biz, catalog_id), 100)
    refused = await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"price": 250})
    assert "below price" in graph_error(refused, 100)
    refused = await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"retailer_id": "other"})
    assert "cannot be changed" in graph_error(refused, 100)
    item = await get(server, biz, pid)
    assert item["price"] == "4.50 GBP" and item["version"] == 1


async def test_another_business_cannot_reach_a_catalog_or_its_products(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    catalog_id = await new_catalog(server, acme)
    pid = await product_id(server, acme, catalog_id)
    h = globex.headers
    graph_error(await server.http.get(f"{V}/{catalog_id}/products", headers=h), 100, 400, 33)
    graph_error(await add_product(server, globex, catalog_id), 100, 400, 33)
    graph_error(await server.http.get(f"{V}/{pid}", headers=h), 100, 400, 33)
    graph_error(await server.http.post(f"{V}/{pid}", headers=h, json={"price": 1}), 100, 400, 33)
    graph_error(await server.http.delete(f"{V}/{pid}", headers=h), 100, 400, 33)
    graph_error(
        await batch(server, globex, catalog_id, [{"method": "DELETE", "data": {"id": "bread-1"}}]), 100, 400, 33
    )
    graph_error(await server.http.get(f"{V}/{catalog_id}/product_sets", headers=h), 100, 400, 33)
    graph_error(
        await server.http.get(f"{V}/{acme.phone_number_id}/whatsapp_commerce_settings", headers=h), 100, 400, 33
    )
    item = await get(server, acme, pid)
    assert item["price"] == "4.50 GBP"  # untouched


async def test_products_page_with_metas_cursors(server: LiveServer) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    for n in range(7):
        await product_id(server, biz, catalog_id, retailer_id=f"sku-{n}", name=f"Item {n}")
    seen: list[str] = []
    page = await get(server, biz, f"{catalog_id}/products", limit=3, fields="retailer_id")
    while True:
        seen += [p["retailer_id"] for p in page["data"]]
        assert set(page["paging"]["cursors"]) == {"before", "after"}
        if "next" not in page["paging"]:
            break
        response = await server.http.get(page["paging"]["next"], headers=biz.headers)
        assert response.status_code == 200, response.text
        page = response.json()
    assert seen == [f"sku-{n}" for n in range(7)]
    after = (await get(server, biz, f"{catalog_id}/products", limit=3))["paging"]["cursors"]["after"]
    rest = (await get(server, biz, f"{catalog_id}/products", after=after))["data"]
    assert [p["retailer_id"] for p in rest] == ["sku-3", "sku-4", "sku-5", "sku-6"]
    graph_error(await server.http.get(f"{V}/{catalog_id}/products", headers=biz.headers, params={"limit": 0}), 100)
    graph_error(await server.http.get(f"{V}/{catalog_id}/products", headers=biz.headers, params={"after": "x"}), 100)


async def test_items_batch_applies_the_good_items_and_reports_the_bad(server: LiveServer) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    response = await batch(
        server,
        biz,
        catalog_id,
        [
            {"method": "CREATE", "data": {"id": "tea", "title": "Tea", "price": "3.50 GBP", "availability": "in stock"}},  # noqa: E501
            {"method": "CREATE", "data": {"id": "cake", "title": "Cake", "price": "12 GBP", "color": "brown",
                                          "sale_price": "10 GBP",
                                          "sale_price_effective_date": "2025-01-01T00:00+00:00/2099-01-01T00:00+00:00",
                                          "quantity_to_sell_on_facebook": 4, "image_link": "https://x.example/c.jpg",
                                          "item_group_id": "sweets", "link": "https://bakery.example/cake"}},
            {"method": "CREATE", "data": {"id": "pie", "title": "Pie", "price": "abc GBP"}},
            {"method": "CREATE", "data": {"id": "bun", "title": "Bun", "price": "1 GBP"}},
            {"method": "UPDATE", "data": {"id": "bun", "title": "Bun!", "price": "2 GBP"}},
        ],
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    [handle] = body["handles"]
    status = {s["retailer_id"]: s for s in body["validation_status"]}
    assert set(status) == {"cake", "pie", "bun"}
    assert status["cake"]["errors"] == [] and "color" in status["cake"]["warnings"][0]["message"]
    assert "abc" in status["pie"]["errors"][0]["message"]
    assert "2 times" in status["bun"]["errors"][0]["message"]
    listed = await get(server, biz, f"{catalog_id}/products", fields="retailer_id,price,sale_price,inventory")
    by_id = {p["retailer_id"]: p for p in listed["data"]}
    assert set(by_id) == {"tea", "cake"}
    assert by_id["cake"]["sale_price"] == "10.00 GBP" and by_id["cake"]["inventory"] == 4

    checked = await get(server, biz, f"{catalog_id}/check_batch_request_status", handle=handle)
    [outcome] = checked["data"]
    assert outcome["status"] == "finished" and outcome["errors_total_count"] == 3
    assert outcome["warnings_total_count"] == 1
    assert sorted(outcome["ids_of_invalid_requests"]) == ["bun", "pie"]

    # updates and deletes, form-encoded as Meta's curl examples send them
    response = await server.http.post(
        f"{V}/{catalog_id}/items_batch",
        headers=biz.headers,
        data={
            "item_type": "PRODUCT_ITEM",
            "requests": json.dumps(
                [
                    {"method": "UPDATE", "data": {"id": "tea", "availability": "out of stock"}},
                    {"method": "DELETE", "data": {"id": "cake"}},
                    {"method": "DELETE", "data": {"id": "ghost"}},
                ]
            ),
        },
    )
    assert response.status_code == 200, response.text
    assert [s["retailer_id"] for s in response.json()["validation_status"]] == ["ghost"]
    listed = await get(server, biz, f"{catalog_id}/products", fields="retailer_id,availability,version")
    assert listed["data"] == [{"id": listed["data"][0]["id"], "retailer_id": "tea", "availability": "out of stock",
                               "version": 2}]  # fmt: skip

    bad = await server.http.post(
        f"{V}/{catalog_id}/items_batch", headers=biz.headers, json={"item_type": "HOTEL", "requests": []}
    )
    assert "PRODUCT_ITEM" in graph_error(bad, 100)
    missing = await server.http.get(
        f"{V}/{catalog_id}/check_batch_request_status", headers=biz.headers, params={"handle": "123"}
    )
    graph_error(missing, 100)


async def test_product_sets_filter_the_catalog(server: LiveServer) -> None:
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    for sku, brand in (("a", "Acme"), ("b", "Acme"), ("c", "Other"), ("d", "Acme")):
        await product_id(server, biz, catalog_id, retailer_id=sku, name=sku.upper(), brand=brand)
    created = await server.http.post(
        f"{V}/{catalog_id}/product_sets",
        headers=biz.headers,
        json={"name": "Picks", "filter": {"retailer_id": {"is_any": ["a", "c", "zz"]}}},
    )
    assert created.status_code == 200, created.text
    set_id = created.json()["id"]
    both = await server.http.post(
        f"{V}/{catalog_id}/product_sets",
        headers=biz.headers,
        json={"name": "Acme but not b", "filter": json.dumps({"and": [{"brand": {"eq": "Acme"}},
                                                                      {"retailer_id": {"neq": "b"}}]})},
    )  # fmt: skip
    assert both.status_code == 200, both.text

    sets = await get(server, biz, f"{catalog_id}/product_sets")
    assert [s["name"] for s in sets["data"]] == ["Picks", "Acme but not b"]
    picked = await get(server, biz, f"{set_id}/products", fields="retailer_id")
    assert [p["retailer_id"] for p in picked["data"]] == ["a", "c"]
    picked = await get(server, biz, f"{both.json()['id']}/products", fields="retailer_id", limit=1)
    assert [p["retailer_id"] for p in picked["data"]] == ["a"] and "next" in picked["paging"]
    assert (await get(server, biz, set_id))["name"] == "Picks"

    for bad in ({"name": "x", "filter": {"price": {"gt": "1"}}}, {"name": "x", "filter": {"brand": {"like": "A"}}},
                {"name": "x", "filter": "not json"}, {"name": "", "filter": {"brand": {"eq": "A"}}}):  # fmt: skip
        graph_error(await server.http.post(f"{V}/{catalog_id}/product_sets", headers=biz.headers, json=bad), 100)
    globex = await create_business(server, "Globex")
    graph_error(await server.http.get(f"{V}/{set_id}/products", headers=globex.headers), 100, 400, 33)


async def test_commerce_settings_as_meta_takes_them(server: LiveServer) -> None:
    biz = await create_business(server)
    url = f"{V}/{biz.phone_number_id}/whatsapp_commerce_settings"
    defaults = await get(server, biz, f"{biz.phone_number_id}/whatsapp_commerce_settings")
    assert defaults == {"data": [{"id": biz.phone_number_id, "is_cart_enabled": True, "is_catalog_visible": False}]}
    catalog_id = await new_catalog(server, biz)
    changed = await server.http.post(
        url, headers=biz.headers, params={"is_cart_enabled": "false", "is_catalog_visible": "true"}
    )
    assert changed.status_code == 200 and changed.json() == {"success": True}, changed.text
    after = await get(server, biz, f"{biz.phone_number_id}/whatsapp_commerce_settings")
    assert after == {"data": [{"id": catalog_id, "is_cart_enabled": False, "is_catalog_visible": True}]}
    partly = await server.http.post(url, headers=biz.headers, params={"is_cart_enabled": "TRUE"})
    assert partly.status_code == 200
    after = await get(server, biz, f"{biz.phone_number_id}/whatsapp_commerce_settings", fields="is_cart_enabled")
    assert after == {"data": [{"id": catalog_id, "is_cart_enabled": True}]}
    pywa_asks = await get(server, biz, f"{biz.phone_number_id}/whatsapp_commerce_settings", fields="catalog_id")
    assert pywa_asks == {"data": [{"id": catalog_id}]}  # pywa's name for the id
    assert "true or false" in graph_error(
        await server.http.post(url, headers=biz.headers, params={"is_cart_enabled": "yes"}), 100
    )
    graph_error(await server.http.post(url, headers=biz.headers), 100)


class RecordingObserver:
    """What a cart would be told: the catalog and retailer ids that changed, inside the write unit."""

    def __init__(self) -> None:
        self.changes: list[tuple[int, list[str]]] = []

    def products_changed(self, conn: Connection, catalog_id: int, retailer_ids: Sequence[str]) -> None:
        assert conn.in_transaction()
        self.changes.append((catalog_id, list(retailer_ids)))


async def test_product_observers_hear_changes_archives_and_deletes(server: LiveServer) -> None:
    observer = RecordingObserver()
    server.container.catalogs.add_observer(observer)
    biz = await create_business(server)
    catalog_id = await new_catalog(server, biz)
    pid = await product_id(server, biz, catalog_id)
    assert observer.changes == []  # a new product is in no cart yet
    await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"availability": "out of stock"})
    await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"availability": "out of stock"})  # no change
    await server.http.post(f"{V}/{pid}", headers=biz.headers, json={"visibility": "staging"})
    await batch(server, biz, catalog_id, [{"method": "DELETE", "data": {"id": "bread-1"}}])
    assert observer.changes == [(int(catalog_id), ["bread-1"])] * 3


async def test_people_read_products_by_retailer_id_and_browse_a_visible_catalog(server: LiveServer) -> None:
    biz = await create_business(server)
    person = await server.user("Ann")
    catalog_id = await new_catalog(server, biz)
    image = await uploaded(server, biz, jpeg(), "image/jpeg")
    await product_id(server, biz, catalog_id, image_media_id=image, sale_price=399, inventory=0)
    await product_id(server, biz, catalog_id, retailer_id="jam", name="Jam", price="3 GBP", visibility="staging")

    response = await server.http.get(
        f"/client/v1/catalogs/{catalog_id}/products", headers=person.headers, params={"retailer_ids": "bread-1,jam,x"}
    )
    assert response.status_code == 200, response.text
    bread, jam = response.json()["products"]
    assert bread["title"] == "Sourdough" and bread["price"] == 4_500_000 and bread["currency"] == "GBP"
    assert bread["unit_price"] == bread["sale_price"] == 3_990_000 and bread["on_sale"] is True  # micros, as the shop
    assert bread["orderable"] is False and bread["stock"] == 0  # sold out
    assert jam["orderable"] is False and jam["status"] == "archived"
    picture = await server.http.get(bread["image_url"])
    assert picture.status_code == 200 and picture.content == jpeg()

    browse = await server.http.get(f"/client/v1/businesses/{biz.user_id}/catalog", headers=person.headers)
    assert browse.status_code == 404  # hidden: Meta's default
    hidden = await server.http.get(f"/client/v1/catalogs/{catalog_id}/products", headers=person.headers)
    assert hidden.status_code == 404
    await server.http.post(
        f"{V}/{biz.phone_number_id}/whatsapp_commerce_settings",
        headers=biz.headers,
        params={"is_catalog_visible": "true"},
    )
    for who in (str(biz.user_id), biz.phone_number_id):
        browse = await server.http.get(f"/client/v1/businesses/{who}/catalog", headers=person.headers)
        assert browse.status_code == 200, browse.text
        assert browse.json()["catalog_id"] == catalog_id and browse.json()["is_cart_enabled"] is True
        assert [p["retailer_id"] for p in browse.json()["products"]] == ["bread-1"]  # archived ones are not shown
    assert (await server.http.get(f"/client/v1/businesses/{biz.user_id}/catalog")).status_code == 401


async def test_a_product_image_must_be_an_image_this_business_uploaded(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    catalog_id = await new_catalog(server, acme)
    theirs = await uploaded(server, globex, jpeg(), "image/jpeg")
    document = await uploaded(server, acme, pdf(), "application/pdf")
    graph_error(await add_product(server, acme, catalog_id, image_media_id=theirs), 100, 400, 33)
    assert "JPEG or PNG" in graph_error(await add_product(server, acme, catalog_id, image_media_id=document), 100)
    mine = await uploaded(server, acme, jpeg(), "image/jpeg")
    media_url = (await get(server, acme, mine))["url"]
    pid = await product_id(server, acme, catalog_id, image_url=media_url)  # Parley's own media URL: the upload
    assert (await get(server, acme, pid))["image_url"].endswith(f"/client/v1/products/{pid}/image?v={mine}")


async def test_writes_take_form_bodies_and_query_strings_as_graph_does(server: LiveServer) -> None:
    biz = await create_business(server)
    created = await server.http.post(
        f"{V}/{biz.waba_id}/product_catalogs", headers=biz.headers, params={"name": "Bakery"}
    )
    assert created.status_code == 200, created.text
    catalog_id = created.json()["id"]
    form = await server.http.post(
        f"{V}/{catalog_id}/products",
        headers=biz.headers,
        data={"retailer_id": "roll", "name": "Roll", "price": "120", "currency": "EUR", "inventory": "30"},
    )
    assert form.status_code == 200, form.text
    multipart = await server.http.post(
        f"{V}/{catalog_id}/products",
        headers=biz.headers,
        files={"retailer_id": (None, "bun"), "name": (None, "Bun"), "price": (None, "0.90 EUR")},
    )
    assert multipart.status_code == 200, multipart.text
    listed = await get(server, biz, f"{catalog_id}/products", fields="retailer_id,price,inventory")
    assert [(p["retailer_id"], p["price"], p.get("inventory")) for p in listed["data"]] == [
        ("roll", "1.20 EUR", 30),
        ("bun", "0.90 EUR", None),
    ]
    not_json = await server.http.post(
        f"{V}/{catalog_id}/products", headers={**biz.headers, "Content-Type": "application/json"}, content=b"{"
    )
    graph_error(not_json, 100)
