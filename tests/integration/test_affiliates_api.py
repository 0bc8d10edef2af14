"""The affiliate routes: the merchant's program through the Business API (checked field by field), links for
persons (client API) and businesses (Business API), self-referral refused, forged / unknown / revoked codes 404
with a friendly page, click claims that cannot be forged or stolen."""

from __future__ import annotations

from typing import Any

from parley.affiliates.books import affiliate_clearing_key
from parley.payments.books import merchant_payable_key
from tests.conftest import LiveServer
from tests.integration.affiliate_helpers import (
    CLAIM,
    DAY_H,
    balance,
    buy,
    click,
    commissions,
    ledger_ok,
    link_of,
    merchant,
    my_links,
)
from tests.integration.business_helpers import V, create_business
from tests.integration.commerce_helpers import change_product


async def test_the_program_is_created_read_changed_and_checked_field_by_field(server: LiveServer) -> None:
    biz = await create_business(server, "Loja")
    url = f"{V}/{biz.waba_id}/affiliate_program"
    missing = await server.http.get(url, headers=biz.headers)
    assert missing.status_code == 404 and "no affiliate program" in missing.json()["error"]["error_data"]["details"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({}, "rate_bp is required"),
        ({"rate_bp": 0}, "rate_bp must be 1 to 5000"),
        ({"rate_bp": 5001}, "rate_bp must be 1 to 5000"),
        ({"rate_bp": "5%"}, "rate_bp must be a whole number"),
        ({"rate_bp": True}, "rate_bp must be a whole number"),
        ({"rate_bp": 500, "window_days": 0}, "window_days must be 1 to 90"),
        ({"rate_bp": 500, "hold_days": 181}, "hold_days must be 0 to 180"),
        ({"rate_bp": 500, "active": "maybe"}, "active must be true or false"),
        ({"rate_bp": 500, "terms": "x" * 1001}, "terms must be text"),
        ({"rate_bp": 500, "owner": "me"}, "owner is not a field"),
    ]
    for body, message in bad:
        refused = await server.http.post(url, headers=biz.headers, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert message in refused.json()["error"]["error_data"]["details"], refused.text
    assert (await server.http.get(url, headers=biz.headers)).status_code == 404  # nothing half-applied
    created = await server.http.post(url, headers=biz.headers, data={"rate_bp": "500", "terms": "<b>5 %</b>"})
    assert created.status_code == 200, created.text
    program = created.json()
    assert (program["rate_bp"], program["rate_percent"], program["window_days"], program["hold_days"]) == (
        500, "5.00", 7, 14,
    )  # fmt: skip
    assert program["active"] is True and program["terms"] == "<b>5 %</b>"  # data, rendered with textContent
    changed = await server.http.post(url, headers=biz.headers, json={"window_days": 3})
    assert (changed.json()["rate_bp"], changed.json()["window_days"]) == (500, 3)
    shown = await server.http.get(url, headers=biz.headers)
    assert shown.json()["id"] == program["id"] and shown.json()["links"] == {"data": []}


async def test_another_business_token_reaches_neither_the_program_nor_the_commissions(server: LiveServer) -> None:
    biz = await merchant(server)
    other = await create_business(server, "Other")
    for method, path in (
        ("GET", "affiliate_program"),
        ("POST", "affiliate_program"),
        ("GET", "affiliate_commissions"),
        ("GET", "affiliate_links"),
    ):
        response = await server.http.request(
            method, f"{V}/{biz.waba_id}/{path}", headers=other.headers, json={"rate_bp": 100}
        )
        assert response.status_code == 400 and response.json()["error"]["error_subcode"] == 33, response.text
    assert (await server.http.get(f"{V}/{biz.waba_id}/affiliate_program", headers=biz.headers)).json()["rate_bp"] == 500


async def test_a_person_gets_one_link_per_product_and_the_shop_and_sees_open_programs(server: LiveServer) -> None:
    biz = await merchant(server, terms="Pays on Parley Pay orders")
    affiliate = await server.user("Aff")
    programs = await server.http.get("/client/v1/affiliates/programs", headers=affiliate.headers)
    [program] = programs.json()["data"]
    assert program["merchant"] == {"id": biz.waba_id, "name": "Loja"}
    assert (program["rate_percent"], program["window_days"], program["hold_days"]) == ("5.00", 7, 14)
    shop = await link_of(server, affiliate, biz)
    again = await link_of(server, affiliate, biz)
    product = await link_of(server, affiliate, biz, product="camiseta-azul")
    assert shop["id"] == again["id"] and product["id"] != shop["id"]
    assert len(shop["code"]) >= 10 and shop["url"].endswith(f"/r/{shop['code']}")
    assert shop["code"] != product["code"]
    unknown = await server.http.post(
        "/client/v1/affiliates/links", headers=affiliate.headers, json={"merchant_id": "123456"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "no_affiliate_program"
    bad = await server.http.post(
        "/client/v1/affiliates/links",
        headers=affiliate.headers,
        json={"merchant_id": biz.waba_id, "product_retailer_id": "x" * 101},
    )
    assert bad.status_code == 400, bad.text


async def test_open_programs_offer_the_catalogs_products_with_their_prices(server: LiveServer) -> None:
    biz = await merchant(server)
    bare = await merchant(server, "Sem Catalogo", products=False)
    affiliate = await server.user("Aff")
    programs = await server.http.get("/client/v1/affiliates/programs", headers=affiliate.headers)
    by_merchant = {p["merchant"]["id"]: p for p in programs.json()["data"]}
    offered = [
        (p["retailer_id"], p["title"], p["price"], p["price_text"]) for p in by_merchant[biz.waba_id]["products"]
    ]
    assert offered == [
        ("camiseta-azul", "Camiseta azul", 55_000_000, "55.00 BRL"),
        ("tenis-branco", "Tênis branco", 199_900_000, "199.90 BRL"),
    ]
    assert by_merchant[bare.waba_id]["products"] == []  # no catalog: whole-shop links only
    catalog_id = await catalog_of_biz(server, biz)
    await change_product(server, catalog_id, "tenis-branco", status="archived")
    programs = await server.http.get("/client/v1/affiliates/programs", headers=affiliate.headers)
    [shown] = [p for p in programs.json()["data"] if p["merchant"]["id"] == biz.waba_id]
    assert [p["retailer_id"] for p in shown["products"]] == ["camiseta-azul"]


async def catalog_of_biz(server: LiveServer, biz: Any) -> str:
    found = await server.container.catalogs.catalog_of_waba(int(biz.waba_id))
    assert found is not None
    return str(found.id)


async def test_a_link_for_a_product_the_catalog_does_not_have_is_refused_for_people_and_businesses(
    server: LiveServer,
) -> None:
    biz = await merchant(server)
    bare = await merchant(server, "Sem Catalogo", products=False)
    affiliate = await server.user("Aff")
    partner = await create_business(server, "Parceira")
    catalog_id = await catalog_of_biz(server, biz)
    await change_product(server, catalog_id, "tenis-branco", status="archived")
    for shop, product in ((biz, "camiseta-vermelha"), (biz, "tenis-branco"), (bare, "camiseta-azul")):
        refused = await server.http.post(
            "/client/v1/affiliates/links",
            headers=affiliate.headers,
            json={"merchant_id": shop.waba_id, "product_retailer_id": product},
        )
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "unknown_product" and f"no product with retailer id '{product}'" in error["message"]
        graph = await server.http.post(
            f"{V}/{partner.waba_id}/affiliate_links",
            headers=partner.headers,
            json={"merchant_id": shop.waba_id, "product_retailer_id": product},
        )
        assert graph.status_code == 400 and graph.json()["error"]["code"] == 100, graph.text
        assert f"no product with retailer id '{product}'" in graph.json()["error"]["error_data"]["details"]
    assert (await my_links(server, affiliate))["data"] == []
    made = await server.http.post(
        f"{V}/{partner.waba_id}/affiliate_links",
        headers=partner.headers,
        json={"merchant_id": biz.waba_id, "product_retailer_id": "camiseta-azul"},
    )
    assert made.status_code == 200 and made.json()["product_retailer_id"] == "camiseta-azul", made.text


async def test_the_merchant_and_its_own_numbers_cannot_join_its_program(server: LiveServer) -> None:
    biz = await merchant(server)
    own_number = await server.user("Loja's number", phone=biz.phone)  # a device of the business's own account
    refused = await server.http.post(
        "/client/v1/affiliates/links", headers=own_number.headers, json={"merchant_id": biz.waba_id}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "self_referral", refused.text
    itself = await server.http.post(
        f"{V}/{biz.waba_id}/affiliate_links", headers=biz.headers, json={"merchant_id": biz.waba_id}
    )
    assert itself.status_code == 403, itself.text


async def test_forged_unknown_and_revoked_codes_show_the_not_valid_page(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate = await server.user("Aff")
    link = await link_of(server, affiliate, biz)
    # One character off the real code (never the real code itself, whatever its last character is).
    forged = link["code"][:-1] + ("Z" if link["code"][-1] != "Z" else "Y")
    for code in ("nope", "AAAAAAAAAAAAAAAA", forged, "<img src=x onerror=alert(1)>", "%00" * 5):
        page = await server.http.get(f"/r/{code}")
        assert page.status_code == 404, (code, page.text[:200])
        assert "This link is not valid" in page.text and "<img src=x" not in page.text
    ok = await server.http.get(f"/r/{link['code']}")
    assert ok.status_code == 200 and "Loja" in ok.text and 'data-target="/app#chat=%2B' in ok.text
    assert "parley_viewer=" in ok.headers.get("set-cookie", "")
    qr = await server.http.get(f"/r/{link['code']}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml") and b"<svg" in qr.content
    assert (await server.http.get("/r/AAAAAAAAAAAAAAAA/qr.svg")).status_code == 404
    revoked = await server.http.delete(f"/client/v1/affiliates/links/{link['id']}", headers=affiliate.headers)
    assert revoked.status_code == 200
    assert (await server.http.get(f"/r/{link['code']}")).status_code == 404
    assert (await server.http.get(f"/r/{link['code']}/qr.svg")).status_code == 404
    someone = await server.user("Someone")
    foreign = await server.http.delete(f"/client/v1/affiliates/links/{link['id']}", headers=someone.headers)
    assert foreign.status_code == 404
    renewed = await link_of(server, affiliate, biz)  # the same link comes back under a new code
    assert renewed["id"] == link["id"] and renewed["code"] != link["code"] and renewed["revoked"] is False
    assert (await server.http.get(f"/r/{link['code']}")).status_code == 404
    assert (await server.http.get(f"/r/{renewed['code']}")).status_code == 200


async def test_a_click_claim_cannot_be_forged_stolen_or_claimed_late(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer, thief = await server.user("Aff"), await server.user("Buyer"), await server.user("Thief")
    link = await link_of(server, affiliate, biz)
    token = await click(server, link["code"], buyer)
    again = await server.http.post(f"/client/v1/affiliates/clicks/{token}/claim", headers=buyer.headers)
    assert again.status_code == 200 and again.json()["claimed"] is True  # the same person: answered again
    stolen = await server.http.post(f"/client/v1/affiliates/clicks/{token}/claim", headers=thief.headers)
    assert stolen.status_code == 409, stolen.text
    click_id, _, signature = token.partition(".")
    for forged in (f"{int(click_id) + 1}.{signature}", f"{click_id}.{'0' * 24}", "garbage", "1.2.3"):
        refused = await server.http.post(f"/client/v1/affiliates/clicks/{forged}/claim", headers=thief.headers)
        assert refused.status_code == 404, (forged, refused.text)
    late = await click(server, link["code"], None)
    server.clock.advance(hours=DAY_H + 1)
    too_late = await server.http.post(f"/client/v1/affiliates/clicks/{late}/claim", headers=thief.headers)
    assert too_late.status_code == 409


async def test_a_business_affiliate_links_through_the_api_and_is_paid_into_its_payable(server: LiveServer) -> None:
    biz = await merchant(server, hold_days=1)
    partner = await create_business(server, "Blog")
    created = await server.http.post(
        f"{V}/{partner.waba_id}/affiliate_links", headers=partner.headers, data={"merchant_id": biz.waba_id}
    )
    assert created.status_code == 200, created.text
    link = created.json()
    assert link["affiliate"] == {"type": "business", "id": partner.waba_id}
    buyer = await server.user("Buyer")
    landing = await server.http.get(f"/r/{link['code']}")
    token = CLAIM.search(landing.text)
    assert token is not None
    await server.http.post(f"/client/v1/affiliates/clicks/{token.group(1)}/claim", headers=buyer.headers)
    await buy(server, biz, buyer, "B2B-1")
    server.clock.advance(hours=DAY_H + 1)
    assert await server.container.affiliate_commissions.release_due() == 1
    assert await balance(server, merchant_payable_key(int(partner.waba_id), "BRL")) == 5_500_000
    assert await balance(server, affiliate_clearing_key("BRL")) == 0
    listed = await server.http.get(f"{V}/{partner.waba_id}/affiliate_links", headers=partner.headers)
    [mine] = listed.json()["data"]
    assert (mine["clicks"], mine["purchases"], mine["commissions"]["BRL"]["paid"]) == (1, 1, "5.50")
    [commission] = await commissions(server, biz)
    assert commission["status"] == "paid"
    overview = (await server.http.get(f"{V}/{biz.waba_id}/affiliate_program", headers=biz.headers)).json()
    assert overview["totals"]["BRL"] == {"pending": "0.00", "paid": "5.50", "clawed_back": "0.00", "purchases": 1}
    assert overview["links"]["data"][0]["purchases"] == 1
    revoke = await server.http.delete(f"{V}/{partner.waba_id}/affiliate_links/{link['id']}", headers=partner.headers)
    assert revoke.status_code == 200 and revoke.json() == {"success": True}
    assert (await server.http.get(f"/r/{link['code']}")).status_code == 404
    assert await ledger_ok(server)


async def test_commissions_are_paged_latest_first(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate = await server.user("Aff")
    link = await link_of(server, affiliate, biz)
    for i in range(3):
        buyer = await server.user(f"B{i}")
        await click(server, link["code"], buyer)
        await buy(server, biz, buyer, f"PAGE-{i}")
    first = await server.http.get(f"{V}/{biz.waba_id}/affiliate_commissions?limit=2", headers=biz.headers)
    body = first.json()
    assert len(body["data"]) == 2 and body["summary"]["BRL"]["purchases"] == 3
    rest = await server.http.get(body["paging"]["next"].replace(server.base_url, ""), headers=biz.headers)
    assert len(rest.json()["data"]) == 1 and "paging" not in rest.json()
    ids = [c["id"] for c in body["data"] + rest.json()["data"]]
    assert ids == sorted(ids, key=int, reverse=True)
    for bad in ("limit=0", "limit=101", "after=abc"):
        refused = await server.http.get(f"{V}/{biz.waba_id}/affiliate_commissions?{bad}", headers=biz.headers)
        assert refused.status_code == 400, (bad, refused.text)


async def test_a_reload_is_the_same_click_and_a_flood_of_clicks_is_refused(server: LiveServer) -> None:
    biz = await merchant(server)
    affiliate, buyer = await server.user("Aff"), await server.user("Buyer")
    link = await link_of(server, affiliate, biz)
    first = await click(server, link["code"], buyer)
    server.clock.advance(minutes=5)
    again = await click(server, link["code"], None, same_browser=True)  # the same browser, a reload
    assert again == first
    other = await click(server, link["code"], None)  # another browser
    assert other != first
    listed = (await server.http.get("/client/v1/affiliates/links", headers=affiliate.headers)).json()
    assert listed["totals"]["clicks"] == 2
    limit = server.settings.links.clicks_per_address
    answers = [(await server.http.get(f"/r/{link['code']}")).status_code for _ in range(limit)]
    assert answers[-1] == 429 and 200 in answers
    flooded = await server.http.get(f"/r/{link['code']}")
    assert flooded.status_code == 429 and "Too many clicks" in flooded.text and flooded.headers["retry-after"]
    assert (await server.http.get("/client/v1/affiliates/links", headers=affiliate.headers)).json()["totals"][
        "clicks"
    ] == 2  # the flood was from one browser: the same click, and then refused
