"""The team inbox sells: CSV catalog import with per-line errors, catalog browsing, product and product-list sends,
and payment requests (order_details) that reach the person through the inbox's send path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, create_business, events, person_writes
from tests.integration.inbox_helpers import Agent, agent

pytestmark = pytest.mark.asyncio

FEED = (
    "\ufeffid,title,description,availability,condition,price,link,image_link,brand,sale_price,"
    "sale_price_effective_date,item_group_id,quantity_to_sell_on_facebook,status\n"
    "mug-1,Blue mug,A blue mug,in stock,new,14.99 BRL,https://shop.example/mug,https://shop.example/mug.png,Acme,"
    "12.00 BRL,2020-01-01T00:00Z/2099-01-01T00:00Z,mugs,12,active\n"
    "tee-1,Red tee,,in stock,new,39.90 BRL,,,Acme,,,,,\n"
    'bad-price,Broken price,,in stock,new,"fourteen BRL",,,,,,,,\n'
    "cup-2,Green cup,,out of stock,used,9.5 BRL,,,,,,,3,\n"
    ",No id,,in stock,new,1.00 BRL,,,,,,,,\n"
    "sale-up,Odd sale,,in stock,new,10.00 BRL,,,,11.00 BRL,,,,\n"
)


async def _upload(who: Agent, data: bytes | str, *, apply: bool) -> httpx.Response:
    raw = data.encode() if isinstance(data, str) else data
    return await who.http.post(
        "/inbox/api/catalog/import",
        params={"apply": "true" if apply else "false"},
        content=raw,
        headers={"X-CSRF-Token": who.csrf, "Content-Type": "text/csv"},
    )


async def _shop(server: LiveServer) -> tuple[Biz, Agent, Agent]:
    biz = await create_business(server, "Loja Azul")
    owner = await agent(server, biz, "Olga", role="owner")
    clerk = await agent(server, biz, "Caio")
    response = await _upload(owner, FEED, apply=True)
    assert response.status_code == 200, response.text
    return biz, owner, clerk


async def _person_thread(server: LiveServer, biz: Biz, who: Agent, name: str = "Ada") -> tuple[User, str]:
    person = await server.user(name)
    await person_writes(server, person, biz, "Do you have mugs?")
    [row] = [r for r in await who.conversations() if r["contact"]["name"] == name]
    return person, str(row["id"])


async def _received(server: LiveServer, person: User) -> list[dict[str, Any]]:
    """The person's messages in their chat with the business, oldest first."""
    chats = (await server.http.get("/client/v1/chats", headers=person.headers)).json()["chats"]
    [chat] = chats
    page = await server.http.get(f"/client/v1/chats/{chat['id']}/messages", headers=person.headers)
    assert page.status_code == 200, page.text
    return sorted(page.json()["messages"], key=lambda m: int(m["id"]))


async def test_a_csv_feed_is_previewed_with_line_errors_then_its_good_lines_are_applied(server: LiveServer) -> None:
    biz = await create_business(server, "Loja Azul")
    owner = await agent(server, biz, "Olga", role="owner")
    clerk = await agent(server, biz, "Caio")

    preview = await _upload(owner, FEED, apply=False)
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["applied"] is False and report["catalog"] is None
    assert report["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "refused": 3}
    assert [(e["line"], e["id"]) for e in report["errors"]] == [(4, "bad-price"), (6, ""), (7, "sale-up")]
    assert "not a price" in report["errors"][0]["message"]
    assert "id cannot be empty" in report["errors"][1]["message"]
    assert "below price" in report["errors"][2]["message"]
    # A preview writes nothing.
    assert (await owner.get("/catalog/products")).json() == {"catalog": None, "data": [], "paging": {"next": None}}

    # Agents without management rights cannot import.
    refused = await _upload(clerk, FEED, apply=True)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    applied = (await _upload(owner, FEED, apply=True)).json()
    assert applied["applied"] is True and applied["catalog"]["name"] == "Loja Azul catalog"
    assert applied["counts"]["created"] == 3
    listed = (await clerk.get("/catalog/products")).json()
    assert listed["catalog"] == applied["catalog"]
    mug = next(p for p in listed["data"] if p["retailer_id"] == "mug-1")
    assert (mug["title"], mug["price"], mug["unit_price"], mug["on_sale"]) == (
        "Blue mug",
        "14.99 BRL",
        "12.00 BRL",
        True,
    )
    assert (mug["image"], mug["stock"], mug["orderable"]) == ("https://shop.example/mug.png", 12, True)
    cup = next(p for p in listed["data"] if p["retailer_id"] == "cup-2")
    assert (cup["price"], cup["availability"], cup["orderable"]) == ("9.50 BRL", "out of stock", False)

    # The same file again changes nothing; a changed line updates its product.
    again = (await _upload(owner, FEED, apply=True)).json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "refused": 3}
    changed = (await _upload(owner, FEED.replace("Red tee", "Crimson tee"), apply=True)).json()
    assert changed["counts"]["updated"] == 1
    [tee] = (await owner.get("/catalog/products", q="crimson")).json()["data"]
    assert tee["retailer_id"] == "tee-1"


async def test_unusable_files_are_refused_whole_with_a_reason_never_a_500(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olga", role="owner")
    cases = [
        (b"", "choose a CSV file"),
        (b"title,price\nMug,1.00 BRL\n", "missing: id"),
        (b"id,title,price\nx,\xff\xfe,1.00 BRL\n", "not UTF-8"),
        (b"id,title,price,price\nx,y,1 BRL,2 BRL\n", "named twice"),
    ]
    for data, reason in cases:
        response = await _upload(owner, data, apply=True)
        assert response.status_code == 400, response.text
        assert reason in response.json()["error"]["message"]
    too_big = await _upload(owner, b"id,title,price\n" + b"x" * (5 * 1024 * 1024 + 10), apply=False)
    assert too_big.status_code == 413
    dupes = (await _upload(owner, "id,title,price\na,One,1.00 USD\na,Two,2.00 USD\nb,Three,3 USD\n", apply=True)).json()
    assert [(e["line"], e["id"]) for e in dupes["errors"]] == [(2, "a"), (3, "a")]
    assert [line["id"] for line in dupes["lines"]] == ["b"]


async def test_browsing_the_catalog_searches_and_pages(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olga", role="owner")
    rows = "".join(f"sku-{i:02d},Item {i:02d}{' special' if i % 5 == 0 else ''},{i}.00 USD\n" for i in range(1, 26))
    rows += "gone,Archived thing,1.00 USD,archived\n"
    assert (await _upload(owner, "id,title,price,status\n" + rows, apply=True)).status_code == 200

    seen: list[str] = []
    cursor = None
    while True:
        page = (await owner.get("/catalog/products", limit=10, **({"cursor": cursor} if cursor else {}))).json()
        seen += [p["retailer_id"] for p in page["data"]]
        cursor = page["paging"]["next"]
        if cursor is None:
            break
    assert seen == [f"sku-{i:02d}" for i in range(1, 26)]  # archived products are not offered
    found = (await owner.get("/catalog/products", q="SPECIAL")).json()["data"]
    assert [p["retailer_id"] for p in found] == ["sku-05", "sku-10", "sku-15", "sku-20", "sku-25"]
    assert (await owner.get("/catalog/products", q="100%")).json()["data"] == []
    assert (await owner.get("/catalog/products", cursor="nope")).status_code == 400


async def test_an_agent_sends_a_product_and_a_product_list_and_the_person_receives_them(server: LiveServer) -> None:
    biz, _, clerk = await _shop(server)
    ada, conversation = await _person_thread(server, biz, clerk)
    catalog_id = (await clerk.get("/catalog/products")).json()["catalog"]["id"]

    one = await clerk.post(f"/conversations/{conversation}/products", {"retailer_ids": ["mug-1"], "body": "This one?"})
    assert one.status_code == 201, one.text
    assert one.json()["type"] == "product"
    many = await clerk.post(
        f"/conversations/{conversation}/products",
        {"retailer_ids": ["mug-1", "tee-1"], "header": "Summer picks", "body": "Two favourites"},
    )
    assert many.status_code == 201, many.text
    whole = await clerk.post(
        f"/conversations/{conversation}/products", {"type": "catalog_message", "thumbnail_retailer_id": "tee-1"}
    )
    assert whole.status_code == 201, whole.text

    received = [m for m in await _received(server, ada) if m["type"] == "interactive"]
    shown = [m["business"]["interactive"] for m in received]
    assert [s["type"] for s in shown] == ["product", "product_list", "catalog_message"]
    assert shown[0]["action"] == {"catalog_id": catalog_id, "product_retailer_id": "mug-1"}
    assert shown[1]["header"]["text"] == "Summer picks"
    assert [i["product_retailer_id"] for i in shown[1]["action"]["sections"][0]["product_items"]] == ["mug-1", "tee-1"]
    assert shown[2]["action"]["parameters"] == {"thumbnail_product_retailer_id": "tee-1"}
    # The business's software hears of them like any send (status webhooks).
    sent_ids = {s["id"] for v in await events(server, biz) for s in v.get("statuses", [])}
    assert {one.json()["id"], many.json()["id"], whole.json()["id"]} <= sent_ids
    history = (await clerk.get(f"/conversations/{conversation}/messages")).json()["data"]
    assert [m["direction"] for m in history if m["type"] == "interactive"] == ["out", "out", "out"]


async def test_product_sends_keep_meta_s_limits_and_refuse_unknown_products(server: LiveServer) -> None:
    biz, owner, clerk = await _shop(server)
    archived = "id,title,price,status\nold-1,Old mug,5.00 BRL,archived\n"
    assert (await _upload(owner, archived, apply=True)).json()["counts"]["created"] == 1
    ada, conversation = await _person_thread(server, biz, clerk)
    path = f"/conversations/{conversation}/products"
    refusals = [
        ({"retailer_ids": ["mug-1", "nope"]}, "not in the catalog: nope"),
        ({"retailer_ids": ["old-1"]}, "not in the catalog: old-1"),  # archived
        ({"retailer_ids": [f"x{i}" for i in range(31)]}, "at most 30"),
        ({"sections": [{"title": f"S{i}", "retailer_ids": ["mug-1"]} for i in range(11)]}, "at most 10 sections"),
        ({"sections": [{"retailer_ids": ["mug-1"]}, {"retailer_ids": ["tee-1"]}]}, "needs a title"),
        ({"type": "product", "retailer_ids": ["mug-1", "tee-1"]}, "exactly one"),
        ({"retailer_ids": ["mug-1"], "footer": "f" * 61}, "60 characters"),
    ]
    for body, reason in refusals:
        response = await clerk.post(path, body)
        assert response.status_code == 400, response.text
        assert reason in response.json()["error"]["message"]
    assert [m for m in await _received(server, ada) if m["type"] == "interactive"] == []
    # Without a catalog there is nothing to send.
    other = await create_business(server, "Empty")
    empty = await agent(server, other, "Eve")
    _, thread = await _person_thread(server, other, empty, "Bea")
    lonely = await empty.post(f"/conversations/{thread}/products", {"type": "catalog_message"})
    assert lonely.status_code == 409


async def test_outside_the_window_a_product_message_is_refused(server: LiveServer) -> None:
    biz, _, clerk = await _shop(server)
    _, conversation = await _person_thread(server, biz, clerk)
    server.clock.advance(hours=25)
    late = await clerk.post(f"/conversations/{conversation}/products", {"retailer_ids": ["mug-1"]})
    assert late.status_code == 409 and late.json()["error"]["code"] == "outside_window"


async def test_an_agent_requests_payment_for_order_lines_and_for_a_free_amount(server: LiveServer) -> None:
    biz, _, clerk = await _shop(server)
    ada, conversation = await _person_thread(server, biz, clerk)
    path = f"/conversations/{conversation}/payment-request"
    link = {"type": "payment_link", "uri": "https://psp.example/pay/1"}
    order = {
        "items": [{"retailer_id": "mug-1", "quantity": 2, "amount": "12.00"}, {"retailer_id": "tee-1", "quantity": 1}],
        "shipping": "5.00",
        "discount": "1.50",
        "tax": "0",
        "payment": {
            "type": "pix_dynamic_code",
            "code": "00020101021226",
            "merchant_name": "Loja Azul",
            "key": "39580525000189",
            "key_type": "cnpj",
        },
        "expires_in_minutes": 60,
    }
    response = await clerk.post(path, order, **{"Idempotency-Key": "order-7"})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["total"] == "67.40 BRL"  # 2 x 12.00 + 39.90 + 5.00 - 1.50
    assert len(answer["reference_id"]) <= 35
    retry = await clerk.post(path, order, **{"Idempotency-Key": "order-7"})
    assert retry.json() == answer  # the same message, not a second request

    free = await clerk.post(
        path,
        {
            "amount": "120.00",
            "description": "Custom cake",
            "payment": link,
        },
    )
    assert free.status_code == 201, free.text

    received = [m["business"]["interactive"] for m in await _received(server, ada) if m["type"] == "interactive"]
    assert [r["type"] for r in received] == ["order_details", "order_details"]
    params = received[0]["action"]["parameters"]
    assert received[0]["action"]["name"] == "review_and_pay"
    assert params["reference_id"] == answer["reference_id"] and params["payment_type"] == "br"
    assert params["currency"] == "BRL" and params["total_amount"] == {"value": 6740, "offset": 100}
    assert params["payment_settings"][0]["pix_dynamic_code"]["key_type"] == "CNPJ"
    items = params["order"]["items"]
    assert [(i["retailer_id"], i["name"], i["amount"]["value"], i["quantity"]) for i in items] == [
        ("mug-1", "Blue mug", 1200, 2),
        ("tee-1", "Red tee", 3990, 1),
    ]
    assert params["order"]["subtotal"]["value"] == 6390 and params["order"]["discount"]["value"] == 150
    expires = int(params["order"]["expiration"]["timestamp"])
    # An hour from the end of the current 5-minute slot (so a retry rebuilds the same message).
    assert 3600 <= expires - server.clock.now_ms() // 1000 <= 3600 + 300 and expires % 300 == 0
    simple = received[1]["action"]["parameters"]
    assert "order" not in simple and simple["total_amount"] == {"value": 12000, "offset": 100}
    assert simple["payment_settings"] == [
        {"type": "payment_link", "payment_link": {"uri": "https://psp.example/pay/1"}}
    ]
    assert "Custom cake" in received[1]["body"]  # the person sees the request's text

    # In India an order is always itemised: a free amount becomes one line, and it can expire.
    rupees = await clerk.post(
        path,
        {"amount": "499", "currency": "INR", "description": "Tailoring", "payment": link, "expires_in_minutes": 1440},
    )
    assert rupees.status_code == 201, rupees.text
    india = (await _received(server, ada))[-1]["business"]["interactive"]["action"]["parameters"]
    assert "payment_type" not in india and india["total_amount"] == {"value": 49900, "offset": 100}
    assert india["order"]["items"] == [{"name": "Tailoring", "amount": {"value": 49900, "offset": 100}, "quantity": 1}]
    assert india["order"]["expiration"]["description"] == "Pay within 1 day"
    brl_expiring = await clerk.post(path, {"amount": "5", "payment": link, "expires_in_minutes": 60})
    assert brl_expiring.status_code == 400 and "cannot expire" in brl_expiring.json()["error"]["message"]


async def test_bad_payment_requests_are_refused_and_send_nothing(server: LiveServer) -> None:
    biz, _, clerk = await _shop(server)
    ada, conversation = await _person_thread(server, biz, clerk)
    path = f"/conversations/{conversation}/payment-request"
    link = {"type": "payment_link", "uri": "https://psp.example/pay/1"}
    refusals = [
        ({"amount": "10.00", "currency": "USD", "payment": link}, "INR (India) or BRL"),
        ({"amount": "10.005", "currency": "BRL", "payment": link}, "more than 2 decimals"),
        ({"amount": "10.00", "currency": "BRL", "discount": "20", "payment": link}, "above zero"),
        ({"amount": "10.00", "currency": "BRL", "payment": {"type": "payment_link", "uri": "http://x"}}, "https"),
        ({"amount": "10.00", "currency": "INR", "payment": {"type": "pix_dynamic_code"}}, "BRL"),
        ({"items": [{"retailer_id": "mug-1", "quantity": 0}], "payment": link}, "quantity"),
        ({"currency": "BRL", "payment": link}, "amount is required"),
        ({"amount": "1", "currency": "BRL", "payment": link, "expires_in_minutes": 1}, "expires_in_minutes"),
    ]
    for body, reason in refusals:
        response = await clerk.post(path, body)
        assert response.status_code == 400, (body, response.text)
        assert reason in response.json()["error"]["message"]
    assert [m for m in await _received(server, ada) if m["type"] == "interactive"] == []
