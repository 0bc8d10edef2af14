"""Shared steps of the affiliate tests: a merchant with a program and a catalog, a person's link, a click bound to
a buyer, an order paid by card, a refund, the ledger's balances."""

from __future__ import annotations

import re
from typing import Any

from parley.business import parse_wamid
from parley.kit.errors import NotFoundError
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, V, create_business, person_writes, send
from tests.integration.commerce_helpers import add_product, catalog_of
from tests.integration.test_merchant_payments import GOOD_CARD, brazil_order

CLAIM = re.compile(r'data-claim="([^"]+)"')
DAY_H = 24
# The merchant's catalog: what the affiliate's picker offers (brazil_order's lines are two camiseta-azul).
PRODUCTS = (("camiseta-azul", "Camiseta azul", 55_000_000), ("tenis-branco", "Tênis branco", 199_900_000))


async def merchant(server: LiveServer, name: str = "Loja", *, products: bool = True, **program: Any) -> Biz:
    """A business with a program (5 %, 7-day window, 14-day hold unless told) and, unless told, a catalog of
    PRODUCTS in BRL."""
    biz = await create_business(server, name)
    body = {"rate_bp": 500, "window_days": 7, "hold_days": 14, **program}
    response = await server.http.post(f"{V}/{biz.waba_id}/affiliate_program", headers=biz.headers, json=body)
    assert response.status_code == 200, response.text
    if products:
        catalog_id = await catalog_of(server, biz)
        for retailer_id, title, price in PRODUCTS:
            await add_product(server, catalog_id, retailer_id, title, price, currency="BRL")
    return biz


async def link_of(server: LiveServer, affiliate: User, biz: Biz, product: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"merchant_id": biz.waba_id}
    if product is not None:
        body["product_retailer_id"] = product
    response = await server.http.post("/client/v1/affiliates/links", headers=affiliate.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def click(server: LiveServer, code: str, buyer: User | None, *, same_browser: bool = False) -> str:
    """Open `/r/{code}` (from a browser of its own unless `same_browser`: the test client's cookie is its viewer
    id) and, signed in, claim the click as the landing page does; the claim token."""
    if not same_browser:
        server.http.cookies.clear()
    landing = await server.http.get(f"/r/{code}")
    assert landing.status_code == 200, landing.text
    found = CLAIM.search(landing.text)
    assert found is not None
    token = found.group(1)
    if buyer is not None:
        claimed = await server.http.post(f"/client/v1/affiliates/clicks/{token}/claim", headers=buyer.headers)
        assert claimed.status_code == 200, claimed.text
    return token


async def buy(server: LiveServer, biz: Biz, buyer: User, reference_id: str, **order: Any) -> str:
    """The business sends an order_details (110.00 BRL: two camiseta-azul unless told) and the buyer pays it by
    card; the order id."""
    await person_writes(server, buyer, biz, "Oi!")  # the customer service window
    expires = server.clock.now_ms() // 1000 + 3600
    sent = await send(server, biz, brazil_order(buyer, reference_id, expires, **order))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    shown = await server.http.get(f"/client/v1/messages/{parse_wamid(wamid)}/order", headers=buyer.headers)
    order_id = str(shown.json()["id"])
    paid = await server.http.post(
        f"/client/v1/orders/{order_id}/pay",
        headers={**buyer.headers, "Idempotency-Key": f"pay-{reference_id}"},
        json={"method": "card", "card": GOOD_CARD},
    )
    assert paid.status_code == 200, paid.text
    return order_id


async def refund(server: LiveServer, biz: Biz, reference_id: str, cents: int) -> Any:
    return await server.http.post(
        f"{V}/{biz.phone_number_id}/payments_refund",
        headers={**biz.headers, "Idempotency-Key": f"refund-{reference_id}-{cents}-{server.clock.now_ms()}"},
        json={
            "reference_id": reference_id,
            "speed": "normal",
            "payment_config_id": "default",
            "amount": {"currency": "BRL", "value": str(cents), "offset": "100"},
        },
    )


async def balance(server: LiveServer, key: str) -> int:
    try:
        return (await server.container.ledger.account(key)).balance
    except NotFoundError:
        return 0


async def commissions(server: LiveServer, biz: Biz) -> list[dict[str, Any]]:
    response = await server.http.get(f"{V}/{biz.waba_id}/affiliate_commissions", headers=biz.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def my_links(server: LiveServer, person: User) -> dict[str, Any]:
    response = await server.http.get("/client/v1/affiliates/links", headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ledger_ok(server: LiveServer) -> bool:
    return (await server.container.ledger.verify()).ok
