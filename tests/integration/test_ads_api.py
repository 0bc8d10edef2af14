"""Advertisers' Marketing-API-like surface over real HTTP: an ad account per business account, campaigns, ad sets and
ads with Meta's validation (error 100 naming the field, nothing written), other businesses' ids answered as
"does not exist", retries with an Idempotency-Key, creative review and effective_status, the ad's click-to-chat
link written with it, the public creative media, and `ads.changed` events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from parley.ads import models as ads_models
from parley.config import Settings
from parley.kit.clock import OffsetClock
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.test_graph_media import graph_error, jpeg, pdf, uploaded


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    settings.public_url = live.base_url  # creative media URLs must point at this very server
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def post(server: LiveServer, biz: Biz, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await server.http.post(f"{V}/{path}", headers={**biz.headers, **headers}, json=body)


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


async def get(server: LiveServer, biz: Biz, path: str, **params: Any) -> dict[str, Any]:
    return await ok(await server.http.get(f"{V}/{path}", headers=biz.headers, params=params))


async def account(server: LiveServer, biz: Biz) -> str:
    return str((await ok(await post(server, biz, f"{biz.waba_id}/adaccounts", {})))["id"])


def ad_set_body(biz: Biz, campaign_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Brazil, Portuguese",
        "campaign_id": campaign_id,
        "daily_budget": 2000,
        "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "CONVERSATIONS",
        "destination_type": "WHATSAPP",
        "promoted_object": {"whatsapp_phone_number": biz.phone_number_id},
        "targeting": {"geo_locations": {"countries": ["BR"]}, "languages": ["pt"], "interests": [{"id": "fashion"}]},
        "status": "ACTIVE",
        **fields,
    }


def ad_body(ad_set_id: str, **creative: Any) -> dict[str, Any]:
    return {
        "name": "Summer sale",
        "adset_id": ad_set_id,
        "status": "ACTIVE",
        "creative": {
            "headline": "Summer dresses are here",
            "body": "Ask us about sizes and colours in a chat.",
            "call_to_action": {"type": "WHATSAPP_MESSAGE"},
            **creative,
        },
    }


async def campaign_set(server: LiveServer, biz: Biz, act: str, **set_fields: Any) -> tuple[str, str]:
    body = {"name": "Summer", "objective": "OUTCOME_ENGAGEMENT", "status": "ACTIVE", "special_ad_categories": []}
    campaign_id = str((await ok(await post(server, biz, f"{act}/campaigns", body)))["id"])
    ad_set = await ok(await post(server, biz, f"{act}/adsets", ad_set_body(biz, campaign_id, **set_fields)))
    return campaign_id, str(ad_set["id"])


async def count(server: LiveServer, table: Any) -> int:
    return int(
        await server.container.db.read(lambda c: c.execute(select(func.count()).select_from(table)).scalar_one())
    )


async def test_an_advertiser_builds_a_campaign_and_reads_it_back(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    assert act.startswith("act_") and await account(server, biz) == act  # one account per business account
    info = await get(server, biz, act)
    assert info["id"] == act and info["currency"] == "USD" and info["account_status"] == 1
    assert info["amount_spent"] == "0" and int(info["funds_available"]) >= 0
    assert set(await get(server, biz, act, fields="currency")) == {"id", "currency"}

    events: list[dict[str, Any]] = []
    server.container.bus.subscribe("ads.changed", events.append)
    image = await uploaded(server, biz, jpeg(), "image/jpeg")
    campaign_id, ad_set_id = await campaign_set(server, biz, act)
    ad_id = str((await ok(await post(server, biz, f"{act}/ads", ad_body(ad_set_id, image_id=image))))["id"])
    await asyncio.sleep(0.05)
    assert events and all(e == {"account_id": int(act[4:])} for e in events) and len(events) >= 3

    ad = await get(server, biz, ad_id)
    assert ad["review_status"] == "APPROVED" and ad["effective_status"] == "ACTIVE"
    assert ad["adset_id"] == ad_set_id and ad["campaign_id"] == campaign_id
    assert ad["creative"]["prefilled_text"] == "Hello! Can I get more info on this?"
    assert 0.7 < ad["quality_score"] <= 1
    ad_set = await get(server, biz, ad_set_id)
    assert (
        ad_set["daily_budget"] == "2000" and ad_set["promoted_object"]["whatsapp_phone_number"] == biz.phone_number_id
    )
    assert ad_set["targeting"] == {
        "geo_locations": {"countries": ["BR"]},
        "languages": ["pt"],
        "interests": [{"id": "fashion", "name": "fashion"}],
    }
    stored = await server.container.db.read(
        lambda c: c.execute(select(ads_models.ad_sets.c.daily_budget, ads_models.ad_sets.c.targeting)).one()
    )
    assert stored.daily_budget == 20_000_000  # 2000 cents in micros
    assert stored.targeting == '{"countries":["BR"],"languages":["pt"],"interests":["fashion"]}'

    # The ad's click-to-chat link, written with it: the creative, its public image, the referral's texts.
    link = await server.container.db.read(lambda c: c.execute(select(ads_models.ads.c.link_code)).scalar_one())
    assert ad["link"]["code"] == link and ad["link"]["url"].endswith(f"/c/{link}")
    media = await server.http.get(ad["creative"]["image_url"])
    assert media.status_code == 200 and media.headers["content-type"] == "image/jpeg"
    assert "public" in media.headers["cache-control"] and media.content == jpeg()
    opened = await server.http.get(f"/c/{link}", follow_redirects=False)
    assert opened.status_code == 302 and "clid=" in opened.headers["location"]

    # What the ad server spent shows as amount_spent (minor units, from the per-day counters).
    await server.container.db.write(
        "tests.spend",
        lambda c: c.execute(
            ads_models.ad_set_spend.insert().values(ad_set_id=int(ad_set_id), day="2026-01-01", spent=1_239_999)
        ),
    )
    assert (await get(server, biz, act, fields="amount_spent"))["amount_spent"] == "123"

    for edge, wanted in (("campaigns", campaign_id), ("adsets", ad_set_id), ("ads", ad_id)):
        page = await get(server, biz, f"{act}/{edge}")
        assert [row["id"] for row in page["data"]] == [wanted]


async def test_effective_status_follows_the_campaign_the_set_and_the_ad(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    campaign_id, ad_set_id = await campaign_set(server, biz, act)
    ad_id = str((await ok(await post(server, biz, f"{act}/ads", ad_body(ad_set_id))))["id"])

    async def status() -> str:
        return str((await get(server, biz, ad_id, fields="effective_status"))["effective_status"])

    assert await status() == "ACTIVE"
    assert await ok(await post(server, biz, campaign_id, {"status": "PAUSED"})) == {"success": True}
    assert await status() == "CAMPAIGN_PAUSED"
    await ok(await post(server, biz, campaign_id, {"status": "ACTIVE"}))
    await ok(await post(server, biz, ad_set_id, {"status": "PAUSED"}))
    assert await status() == "ADSET_PAUSED"
    assert (await get(server, biz, ad_set_id))["effective_status"] == "PAUSED"
    await ok(await post(server, biz, ad_set_id, {"status": "ACTIVE"}))
    await ok(await post(server, biz, ad_id, {"status": "PAUSED"}))
    assert await status() == "PAUSED"
    await ok(await post(server, biz, ad_id, {"status": "ACTIVE", "creative": {"body": "BUY NOW BEFORE IT IS GONE"}}))
    ad = await get(server, biz, ad_id)
    assert ad["effective_status"] == "DISAPPROVED" and ad["review_status"] == "DISAPPROVED"
    assert "ALL_CAPS" in ad["review_feedback"]["global"] and ad["quality_score"] == 0
    assert ad["creative"]["headline"] == "Summer dresses are here"  # the rest of the creative stays
    await ok(await post(server, biz, ad_id, {"creative": {"body": "A calm body again."}}))
    assert await status() == "ACTIVE"
    link = await server.container.db.read(lambda c: c.execute(select(ads_models.ads.c.link_code)).scalar_one())
    bodies = await server.container.db.read(
        lambda c: c.exec_driver_sql("SELECT body FROM referral_links").scalars().all()
    )
    assert link and bodies == ["A calm body again."]  # the link follows the edited creative

    assert await ok(await server.http.delete(f"{V}/{ad_id}", headers=biz.headers)) == {"success": True}
    assert (await get(server, biz, f"{act}/ads"))["data"] == []
    graph_error(await post(server, biz, ad_id, {"name": "again"}), 100)


@pytest.mark.parametrize(
    ("creative", "rule"),
    [
        ({"headline": "Best prices!! today"}, "REPEATED_PUNCTUATION"),
        ({"body": "See www.example.com for more"}, "LINK_IN_TEXT"),
        ({"body": "Call +55 11 98765 4321 now"}, "PHONE_IN_TEXT"),
        ({"body": "Cheap cigarettes by the box"}, "PROHIBITED_CONTENT"),
        ({"body": "Guaranteed returns on every deposit"}, "PROHIBITED_CONTENT"),
        ({"headline": "HUGE SUMMER SALE TODAY"}, "ALL_CAPS"),
    ],
)
async def test_review_disapproves_with_the_rule_it_broke(
    server: LiveServer, creative: dict[str, str], rule: str
) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    _, ad_set_id = await campaign_set(server, biz, act)
    ad_id = str((await ok(await post(server, biz, f"{act}/ads", ad_body(ad_set_id, **creative))))["id"])
    ad = await get(server, biz, ad_id)
    assert ad["review_status"] == "DISAPPROVED" and ad["effective_status"] == "DISAPPROVED"
    assert list(ad["review_feedback"]["global"]) == [rule]


async def test_a_flagged_number_is_no_destination(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    _, ad_set_id = await campaign_set(server, biz, act)
    await server.container.db.write(
        "tests.flag",
        lambda c: c.exec_driver_sql(
            f"UPDATE phone_numbers SET quality_rating = 'RED' WHERE id = {int(biz.phone_number_id)}"
        ),
    )
    server.container.business_numbers.changed_in(int(biz.phone_number_id))
    await asyncio.sleep(0.05)
    ad_id = str((await ok(await post(server, biz, f"{act}/ads", ad_body(ad_set_id))))["id"])
    assert "DESTINATION_NUMBER" in (await get(server, biz, ad_id))["review_feedback"]["global"]
    # A disapproved ad's media is not public.
    image = await uploaded(server, biz, jpeg(), "image/jpeg")
    other = str((await ok(await post(server, biz, f"{act}/ads", ad_body(ad_set_id, image_id=image))))["id"])
    assert (await server.http.get(f"/ads/v1/creatives/{other}/media")).status_code == 404


BAD_SETS: list[tuple[dict[str, Any], str]] = [
    ({"daily_budget": 0}, "daily_budget"),
    ({"daily_budget": -5}, "daily_budget"),
    ({"daily_budget": 10}, "daily_budget"),  # below 1,000 impressions at the 0.50 reserve
    ({"daily_budget": None, "lifetime_budget": 5000}, "end_time"),
    ({"daily_budget": None}, "daily_budget"),
    ({"daily_budget": 2000, "lifetime_budget": 5000}, "daily_budget"),
    ({"start_time": "2030-01-02T00:00:00+0000", "end_time": "2030-01-01T00:00:00+0000"}, "end_time"),
    ({"start_time": "yesterday"}, "start_time"),
    ({"bid_strategy": "LOWEST_COST_WITH_BID_CAP"}, "bid_amount"),
    ({"bid_strategy": "COST_CAP", "bid_amount": 0}, "bid_amount"),
    ({"bid_strategy": "COST_CAP", "bid_amount": 10}, "bid_amount"),  # below the reserve CPM
    ({"bid_strategy": "COST_CAP", "bid_amount": 3000, "daily_budget": 2000}, "daily_budget"),  # below one bid
    ({"bid_strategy": "HIGHEST"}, "bid_strategy"),
    ({"billing_event": "VIEWS"}, "billing_event"),
    ({"optimization_goal": "REACH"}, "optimization_goal"),  # not for OUTCOME_ENGAGEMENT
    ({"pacing_type": ["fast"]}, "pacing_type"),
    ({"destination_type": "WEBSITE"}, "destination_type"),
    ({"promoted_object": {"whatsapp_phone_number": "123"}}, "promoted_object"),
    ({"targeting": {"geo_locations": {"countries": ["XX"]}}}, "targeting.geo_locations.countries"),
    ({"targeting": {"languages": ["klingon"]}}, "targeting.languages"),
    ({"targeting": {"interests": [{"id": "astrology"}]}}, "targeting.interests"),
    (
        {"targeting": {"geo_locations": {"countries": ["DE", "FR"]}, "interests": [{"id": "fashion"}]}},
        "targeting.interests",
    ),
    ({"frequency_cap": 0}, "frequency_cap"),
    ({"campaign_id": "123456"}, "campaign_id"),
    ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("fields", "named"), BAD_SETS)
async def test_bad_ad_sets_are_refused_naming_the_field(server: LiveServer, fields: dict[str, Any], named: str) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    campaign_id, _ = await campaign_set(server, biz, act)
    body = {k: v for k, v in {**ad_set_body(biz, campaign_id), **fields}.items() if v is not None}
    before = await count(server, ads_models.ad_sets)
    details = graph_error(await post(server, biz, f"{act}/adsets", body), 100)
    assert f"Param {named}" in details, details
    assert await count(server, ads_models.ad_sets) == before


async def test_interests_are_allowed_when_one_market_is_outside_the_eu(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    targeting = {"geo_locations": {"countries": ["DE", "BR"]}, "interests": [{"name": "Fashion and clothing"}]}
    _, ad_set_id = await campaign_set(server, biz, act, targeting=targeting)
    assert (await get(server, biz, ad_set_id))["targeting"]["interests"] == [{"id": "fashion", "name": "fashion"}]
    # An edit is checked as a create is: narrowing to the EU with interests is refused, nothing changes.
    details = graph_error(
        await post(
            server,
            biz,
            ad_set_id,
            {"targeting": {"geo_locations": {"countries": ["DE"]}, "interests": [{"id": "fashion"}]}},
        ),
        100,
    )
    assert "targeting.interests" in details
    graph_error(await post(server, biz, ad_set_id, {"daily_budget": -1}), 100)
    graph_error(await post(server, biz, ad_set_id, {"campaign_id": "1"}), 100)
    assert await ok(
        await post(server, biz, ad_set_id, {"daily_budget": 5000, "bid_strategy": "COST_CAP", "bid_amount": 900})
    )
    edited = await get(server, biz, ad_set_id)
    assert (
        edited["daily_budget"] == "5000"
        and edited["bid_amount"] == "900"
        and edited["targeting"]["geo_locations"] == {"countries": ["DE", "BR"]}
    )
    assert await ok(await post(server, biz, ad_set_id, {"lifetime_budget": 90000, "end_time": "2099-01-01T00:00:00Z"}))
    switched = await get(server, biz, ad_set_id)
    assert switched["lifetime_budget"] == "90000" and "daily_budget" not in switched


async def test_bad_campaigns_and_ads_are_refused_and_write_nothing(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    for body, named in (
        ({"name": "x", "objective": "OUTCOME_FAME"}, "objective"),
        ({"objective": "OUTCOME_SALES"}, "name"),
        ({"name": "x", "objective": "OUTCOME_SALES", "status": "SLEEPING"}, "status"),
        ({"name": "x", "objective": "OUTCOME_SALES", "special_ad_categories": ["HOUSING"]}, "special_ad_categories"),
    ):
        assert f"Param {named}" in graph_error(await post(server, biz, f"{act}/campaigns", body), 100)
    assert await count(server, ads_models.ad_campaigns) == 0
    _, ad_set_id = await campaign_set(server, biz, act)
    document = await uploaded(server, biz, pdf(), "application/pdf", "menu.pdf")
    for creative, named in (
        ({"headline": "x" * 41}, "creative.headline"),
        ({"body": "x" * 501}, "creative.body"),
        ({"headline": ""}, "creative.headline"),
        ({"call_to_action": {"type": "SHOP_NOW"}}, "creative.call_to_action"),
        ({"image_id": document}, "creative.image_id"),
        ({"image_id": "999999"}, "creative.image_id"),
    ):
        assert f"Param {named}" in graph_error(
            await post(server, biz, f"{act}/ads", ad_body(ad_set_id, **creative)), 100
        )
    assert "Param adset_id" in graph_error(await post(server, biz, f"{act}/ads", ad_body("42")), 100)
    assert await count(server, ads_models.ads) == 0
    rows = await server.container.db.read(
        lambda c: c.exec_driver_sql("SELECT count(*) FROM referral_links").scalar_one()
    )
    assert rows == 0  # no half-written ad: no link either


async def test_other_businesses_objects_do_not_exist(server: LiveServer) -> None:
    acme, globex = await create_business(server, "Acme"), await create_business(server, "Globex")
    act = await account(server, acme)
    campaign_id, ad_set_id = await campaign_set(server, acme, act)
    image = await uploaded(server, acme, jpeg(), "image/jpeg")
    ad_id = str((await ok(await post(server, acme, f"{act}/ads", ad_body(ad_set_id, image_id=image))))["id"])
    graph_error(await post(server, globex, f"{acme.waba_id}/adaccounts", {}), 100, 400, 33)
    graph_error(await server.http.get(f"{V}/{act}", headers=globex.headers), 100, 400, 33)
    graph_error(await server.http.get(f"{V}/{act}/campaigns", headers=globex.headers), 100, 400, 33)
    body = {"name": "x", "objective": "OUTCOME_SALES"}
    graph_error(await post(server, globex, f"{act}/campaigns", body), 100, 400, 33)
    for oid in (campaign_id, ad_set_id, ad_id):
        graph_error(await server.http.get(f"{V}/{oid}", headers=globex.headers), 100, 400, 33)
        graph_error(await post(server, globex, oid, {"status": "PAUSED"}), 100, 400, 33)
        graph_error(await server.http.delete(f"{V}/{oid}", headers=globex.headers), 100, 400, 33)
    # Globex's own account cannot use Acme's campaign, ad set or media: named as unknown, never as foreign.
    globex_act = await account(server, globex)
    details = graph_error(await post(server, globex, f"{globex_act}/adsets", ad_set_body(globex, campaign_id)), 100)
    assert "campaign_id" in details and "Acme" not in details
    graph_error(await post(server, globex, f"{globex_act}/ads", ad_body(ad_set_id)), 100)
    _, globex_set = await campaign_set(server, globex, globex_act)
    graph_error(await post(server, globex, f"{globex_act}/ads", ad_body(globex_set, image_id=image)), 100, 400, 33)
    assert (await get(server, acme, ad_id))["status"] == "ACTIVE"


async def test_a_retried_create_with_an_idempotency_key_creates_once(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    body = {"name": "Once", "objective": "OUTCOME_SALES", "status": "PAUSED"}
    first = await ok(await post(server, biz, f"{act}/campaigns", body, **{"Idempotency-Key": "k-1"}))
    again = await ok(await post(server, biz, f"{act}/campaigns", body, **{"Idempotency-Key": "k-1"}))
    assert first == again and await count(server, ads_models.ad_campaigns) == 1
    graph_error(
        await post(server, biz, f"{act}/campaigns", {**body, "name": "Other"}, **{"Idempotency-Key": "k-1"}), 100
    )
    campaign_id = str(first["id"])
    set_body = ad_set_body(biz, campaign_id, optimization_goal="CONVERSATIONS")
    s1 = await ok(await post(server, biz, f"{act}/adsets", set_body, **{"Idempotency-Key": "s-1"}))
    s2 = await ok(await post(server, biz, f"{act}/adsets", set_body, **{"Idempotency-Key": "s-1"}))
    assert s1 == s2
    a1 = await ok(await post(server, biz, f"{act}/ads", ad_body(str(s1["id"])), **{"Idempotency-Key": "a-1"}))
    a2 = await ok(await post(server, biz, f"{act}/ads", ad_body(str(s1["id"])), **{"Idempotency-Key": "a-1"}))
    assert a1 == a2 and await count(server, ads_models.ads) == 1
    # Without a key, a second create is a second object (as on Meta).
    await ok(await post(server, biz, f"{act}/campaigns", body))
    assert await count(server, ads_models.ad_campaigns) == 2


async def test_lists_page_with_cursors(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    made = [
        str(
            (await ok(await post(server, biz, f"{act}/campaigns", {"name": f"C{i}", "objective": "OUTCOME_SALES"})))[
                "id"
            ]
        )
        for i in range(5)
    ]
    first = await get(server, biz, f"{act}/campaigns", limit=2, fields="name,status")
    assert [c["id"] for c in first["data"]] == made[:2] and set(first["data"][0]) == {"id", "name", "status"}
    after = first["paging"]["cursors"]["after"]
    assert "next" in first["paging"]
    second = await get(server, biz, f"{act}/campaigns", limit=2, after=after)
    assert [c["id"] for c in second["data"]] == made[2:4]
    graph_error(await server.http.get(f"{V}/{act}/campaigns", headers=biz.headers, params={"limit": 0}), 100)
    graph_error(await server.http.get(f"{V}/{act}/campaigns", headers=biz.headers, params={"fields": "secret"}), 100)
    graph_error(await server.http.get(f"{V}/{act}/pixels", headers=biz.headers), 100, 404, 33)  # no such edge


async def test_form_encoded_posts_as_meta_sdks_send_them(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    response = await server.http.post(
        f"{V}/{act}/campaigns",
        headers=biz.headers,
        data={"name": "Form", "objective": "OUTCOME_TRAFFIC", "status": "PAUSED", "special_ad_categories": "[]"},
    )
    campaign_id = str((await ok(response))["id"])
    form_set = {
        "name": "Form set",
        "campaign_id": campaign_id,
        "daily_budget": "1500",
        "optimization_goal": "LINK_CLICKS",
        "billing_event": "CLICKS",
        "bid_strategy": "LOWEST_COST_WITH_BID_CAP",
        "bid_amount": "25",
        "start_time": "1893456000",
        "end_time": "1893542400",
        "promoted_object": json.dumps({"whatsapp_phone_number": biz.phone}),
        "targeting": '{"geo_locations": {"countries": ["us"]}}',
    }
    ad_set_id = str((await ok(await server.http.post(f"{V}/{act}/adsets", headers=biz.headers, data=form_set)))["id"])
    ad_set = await get(server, biz, ad_set_id)
    assert ad_set["bid_amount"] == "25" and ad_set["billing_event"] == "CLICKS"
    assert ad_set["start_time"] == "2030-01-01T00:00:00+0000" and ad_set["status"] == "PAUSED"
    assert ad_set["targeting"] == {"geo_locations": {"countries": ["US"]}}
