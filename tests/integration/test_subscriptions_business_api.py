"""A business sells subscriptions to the channel it runs through the Business API (WABA token): the plan with its
prices per market, changes and deactivation, the subscribers count and earnings (never who), and subscriber-only
posts; errors in Meta's shape."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.channel_helpers import API as CHANNELS
from tests.integration.subscription_helpers import (
    API,
    PLAN,
    brazilian,
    direct_texts,
    funded,
    subscribe,
    verify_ledger,
)


async def _business_channel(server: LiveServer, biz: Biz) -> str:
    created = await server.http.post(
        f"{V}/{biz.waba_id}/channels",
        headers=biz.headers,
        json={"name": "Acme Deals", "category": "business", "country": "BR"},
    )
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


async def _plan(server: LiveServer, biz: Biz, channel_id: str) -> Any:
    return await server.http.get(f"{V}/{channel_id}/subscription_plan", headers=biz.headers)


async def test_a_business_sells_its_channel_and_reads_subscribers_and_earnings(server: LiveServer) -> None:
    biz = await create_business(server, "Acme News")
    cid = await _business_channel(server, biz)
    none_yet = await _plan(server, biz, cid)
    assert none_yet.status_code == 404 and none_yet.json()["error"]["code"] == 100
    # Form fields, as Meta's SDKs send them: the prices as a JSON string.
    made = await server.http.post(
        f"{V}/{cid}/subscription_plan",
        headers=biz.headers,
        data={"name": "Acme Insiders", "description": "Deals first", "prices": json.dumps(PLAN["prices"])},
    )
    assert made.status_code == 200, made.text
    plan = made.json()
    assert (plan["name"], plan["billing"], plan["active"], plan["subscribers"]) == ("Acme Insiders", "monthly", True, 0)
    assert {p["market"]: p["amount"] for p in plan["prices"]} == {"BR": "49.90", "IN": "100.00", "*": "10.00"}
    rae = await brazilian(server, "Rae")
    await funded(server, rae, "60.00")
    assert (await subscribe(server, rae, plan["id"])).status_code == 200
    read = (await _plan(server, biz, cid)).json()
    assert read["subscribers"] == 1
    assert read["earnings"] == [{"currency": "BRL", "gross": "49.90", "platform_cut": "4.99", "net": "44.91"}]
    assert rae.phone not in json.dumps(read) and rae.user_id not in json.dumps(read)  # never who subscribed
    payable = await server.container.ledger.account(f"waba:{biz.waba_id}:payable:BRL")
    assert payable.balance == 44_910_000
    fetched = (await server.http.get(f"{V}/{cid}", headers=biz.headers)).json()
    assert fetched["subscriber_count"] == 1
    # Subscriber-only posts: whole for the subscriber, locked for a follower who did not subscribe.
    posted = await server.http.post(
        f"{V}/{cid}/posts", headers=biz.headers, data={"type": "text", "text": "Coupon: ACME50", "exclusive": "true"}
    )
    assert posted.status_code == 200, posted.text
    other = await server.user()
    for person in (rae, other):
        await server.http.put(f"{CHANNELS}/{cid}/follow", headers=person.headers)
    seen = {
        p.user_id: (await server.http.get(f"{CHANNELS}/{cid}/posts", headers=p.headers)).json()["posts"][0]
        for p in (rae, other)
    }
    assert seen[rae.user_id]["text"] == "Coupon: ACME50"
    assert "ACME50" not in json.dumps(seen[other.user_id])
    await verify_ledger(server)


async def test_a_business_reprices_and_deactivates_its_plan(server: LiveServer) -> None:
    biz = await create_business(server, "Acme News")
    cid = await _business_channel(server, biz)
    plan = (await server.http.post(f"{V}/{cid}/subscription_plan", headers=biz.headers, json=PLAN)).json()
    rae = await brazilian(server, "Rae")
    await funded(server, rae, "60.00")
    assert (await subscribe(server, rae, plan["id"])).status_code == 200
    repriced = await server.http.post(
        f"{V}/{cid}/subscription_plan",
        headers=biz.headers,
        json={"prices": [{"market": "*", "amount": "59.90", "currency": "BRL"}]},
    )
    assert repriced.status_code == 200, repriced.text
    assert [(p["market"], p["amount"]) for p in repriced.json()["prices"]] == [("*", "59.90")]
    assert repriced.json()["name"] == "Coaching circle"  # what was not sent stays
    owner = User(str(biz.user_id), biz.phone, "", "")  # the business's own account runs its channel
    assert any("59.90 BRL/month" in t for t in await direct_texts(server, rae, owner))
    closed = await server.http.post(f"{V}/{cid}/subscription_plan", headers=biz.headers, data={"active": "false"})
    assert closed.status_code == 200 and closed.json()["active"] is False
    offer = (await server.http.get(f"{API}/channels/{cid}/plan", headers=rae.headers)).json()
    assert offer["plan"]["active"] is False and offer["subscription"]["status"] == "active"  # paid period kept
    late = await brazilian(server, "Late")
    await funded(server, late, "60.00")
    refused = await subscribe(server, late, plan["id"])
    assert refused.status_code == 409, refused.text


async def test_the_business_api_refuses_other_channels_and_bad_plans_in_metas_shape(server: LiveServer) -> None:
    biz, other = await create_business(server, "Acme"), await create_business(server, "Other")
    cid = await _business_channel(server, biz)
    person = await server.user()
    persons = (
        await server.http.post(
            "/client/v1/channels", headers=person.headers, json={"name": "Mine", "category": "news", "country": "BR"}
        )
    ).json()["id"]
    for channel_id in (cid, persons, "12345", "not-an-id"):
        for response in (
            await server.http.get(f"{V}/{channel_id}/subscription_plan", headers=other.headers),
            await server.http.post(f"{V}/{channel_id}/subscription_plan", headers=other.headers, json=PLAN),
        ):
            error = response.json()["error"]
            assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 33), response.text
    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": "No prices"}, "the channel has no plan yet: send its name and prices to create it"),
        ({"name": "X", "prices": "[{not json"}, 'prices: a JSON list of {"market", "amount", "currency"}'),
        ({"name": "X", "prices": [{"market": "Brazil", "amount": "1.00", "currency": "BRL"}]}, "market 'Brazil'"),
        ({"name": "X", "prices": [{"market": "*", "amount": "0", "currency": "BRL"}]}, "a price is more than 0"),
        ({"name": "X", "prices": PLAN["prices"], "billing": "one_off"}, "a channel subscription is monthly"),
    ]
    for body, message in bad:
        refused = await server.http.post(f"{V}/{cid}/subscription_plan", headers=biz.headers, json=body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 100, refused.text
        assert message in refused.json()["error"]["error_data"]["details"]
    assert (await _plan(server, biz, cid)).status_code == 404  # nothing half-made
    twice = [await server.http.post(f"{V}/{cid}/subscription_plan", headers=biz.headers, json=PLAN) for _ in "ab"]
    assert [r.status_code for r in twice] == [200, 200]  # the second changes the plan: still one plan
    assert twice[0].json()["id"] == twice[1].json()["id"]
    locked = await server.http.post(f"{V}/{cid}/posts", headers=biz.headers, json={"text": "x", "exclusive": "yes"})
    assert locked.status_code == 400 and locked.json()["error"]["code"] == 100
