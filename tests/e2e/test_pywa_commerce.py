"""pywa, unchanged, selling through a real `parley serve`: commerce settings (`get_commerce_settings`,
`update_commerce_settings`), and catalog, single- and multi-product messages (`send_catalog`, `send_product`,
`send_products`) naming products of the catalog the business created over the Graph API; a person on the
client API receives them, and a product the catalog does not have is pywa's `InvalidParameter` (131009)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pywa import errors
from pywa.types import ProductsSection

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import API_VERSION, Business, Person, create_business, pywa_class, start_parley

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def parley(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_parley(tmp_path_factory.mktemp("pywa-commerce") / "var")
    try:
        yield server
    finally:
        server.stop()


def _graph(parley: ServerProcess, business: Business) -> httpx.Client:
    return httpx.Client(base_url=f"{parley.base_url}/v{API_VERSION}", headers=business.headers, timeout=15)


def _catalog(parley: ServerProcess, business: Business) -> str:
    with _graph(parley, business) as graph:
        created = graph.post(f"/{business.waba_id}/product_catalogs", json={"name": "Acme Tea Shop"})
        assert created.status_code == 200, created.text
        catalog_id = str(created.json()["id"])
        batch = graph.post(
            f"/{catalog_id}/items_batch",
            json={
                "item_type": "PRODUCT_ITEM",
                "requests": [
                    {"method": "CREATE", "data": {"id": sku, "title": title, "price": price}}
                    for sku, title, price in (
                        ("green-tea", "Green tea", "4.50 USD"),
                        ("black-tea", "Black tea", "3.90 USD"),
                        ("teapot", "Teapot", "25 USD"),
                    )
                ],
            },
        )
        assert batch.status_code == 200 and batch.json()["validation_status"] == [], batch.text
    return catalog_id


def _interactive(message: dict[str, Any]) -> dict[str, Any]:
    return dict((message.get("business") or {}).get("interactive") or {})


def test_pywa_reads_and_sets_commerce_settings_and_sends_products(parley: ServerProcess) -> None:
    business = create_business(parley, "Acme Tea", "+14155550400")
    ann = Person(parley, "+14155550401", "Ann")
    ann.write(business.phone, "Do you sell tea?")
    wa = pywa_class(parley.base_url)(
        phone_id=business.phone_number_id, token=business.access_token, api_version=API_VERSION
    )

    settings = wa.get_commerce_settings()
    assert (settings.is_cart_enabled, settings.is_catalog_visible) == (True, False)  # Meta's defaults
    catalog_id = _catalog(parley, business)
    assert wa.get_commerce_settings().catalog_id == catalog_id  # pywa reads the connected catalog's id
    assert wa.update_commerce_settings(is_catalog_visible=True, is_cart_enabled=False)
    settings = wa.get_commerce_settings()
    assert (settings.catalog_id, settings.is_cart_enabled, settings.is_catalog_visible) == (catalog_id, False, True)
    wa.update_commerce_settings(is_cart_enabled=True)
    assert wa.get_commerce_settings().is_cart_enabled is True

    wa.send_catalog(to=ann.wa_id, body="Our whole range", footer="Free delivery", thumbnail_product_sku="teapot")
    wa.send_product(to=ann.wa_id, catalog_id=catalog_id, sku="green-tea", body="Today's pick")
    wa.send_products(
        to=ann.wa_id,
        catalog_id=catalog_id,
        title="Teas",
        body="Pick your tea",
        product_sections=[
            ProductsSection(title="Loose leaf", skus=["green-tea", "black-tea", "no-such-tea"]),
            ProductsSection(title="Gear", skus=["teapot"]),
        ],
    )
    listing = ann.wait_for_message(business.phone, lambda m: _interactive(m).get("type") == "product_list")
    sections = _interactive(listing)["action"]["sections"]
    assert [[i["product_retailer_id"] for i in s["product_items"]] for s in sections] == [
        ["green-tea", "black-tea"],  # the catalog has no `no-such-tea`: left out, the rest sent
        ["teapot"],
    ]
    kinds = [_interactive(m).get("type") for m in ann.messages_with(business.phone) if m["sender_id"] != ann.user_id]
    assert kinds == ["catalog_message", "product", "product_list"]
    single = next(m for m in ann.messages_with(business.phone) if _interactive(m).get("type") == "product")
    assert _interactive(single)["action"] == {"catalog_id": catalog_id, "product_retailer_id": "green-tea"}

    # what the person's app shows for the product message: the catalog's own data
    shown = ann.http.get(f"/catalogs/{catalog_id}/products", params={"retailer_ids": "green-tea"})
    assert shown.status_code == 200, shown.text
    [tea] = shown.json()["products"]
    assert (tea["title"], tea["price"], tea["currency"], tea["orderable"]) == ("Green tea", 4_500_000, "USD", True)
    browse = ann.http.get(f"/businesses/{business.phone_number_id}/catalog")
    assert [p["retailer_id"] for p in browse.json()["products"]] == ["green-tea", "black-tea", "teapot"]

    with pytest.raises(errors.InvalidParameter) as unknown:
        wa.send_product(to=ann.wa_id, catalog_id=catalog_id, sku="coffee", body="Not ours")
    assert unknown.value.code == 131009 and "coffee" in str(unknown.value.details)
    with pytest.raises(errors.InvalidParameter):
        wa.send_catalog(to=ann.wa_id, body="Look", thumbnail_product_sku="coffee")
    ann.close()
