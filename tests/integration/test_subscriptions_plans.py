"""Plans: who may sell what, validation of prices, the cut per market, price changes told to subscribers and
charged from the next renewal, ending a plan with pro-rata refunds, channels' subscriber-only access through the
seam, and the subscriptions lever in the revenue report."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from parley.billing.report import revenue_report
from parley.channels.models import channels
from parley.config import Settings, SubscriptionSettings
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.subscription_helpers import (
    API,
    PLAN,
    balance,
    brazilian,
    direct_texts,
    funded,
    indian,
    member_ids,
    paid_group,
    prorated_brl,
    renew_just_after,
    subscribe,
    subscribed,
    subscription,
    verify_ledger,
)
from tests.integration.subscription_helpers import DAY_S as _DAY_S

DAY_MS = _DAY_S * 1000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """India's cut is 5 %, everywhere else the default 10 %; the sweep is run by the tests."""
    return settings.model_copy(
        update={"subscriptions": SubscriptionSettings(sweep_interval_s=0, cut_bp_by_market={"IN": 500})}
    )


def _price(**overrides: Any) -> dict[str, Any]:
    return {"name": "Circle", "prices": [{"market": "*", "amount": "10.00", "currency": "USD", **overrides}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_price(amount="0"), "more than 0"),
        (_price(amount="-5"), "negative"),
        (_price(amount="10.001"), "minor units"),
        (_price(amount="99999999"), "at most 10000 USD"),
        (_price(amount="ten"), "not a decimal"),
        (_price(currency="XXX"), "wallets hold"),
        (_price(market="Brazil"), "ISO country"),
        (_price(market="b1"), "ISO country"),
        (_price(market="XQ"), "ISO country"),
        ({"name": "Circle", "prices": []}, "at least one price"),
        ({"name": " ", "prices": _price()["prices"]}, "name"),
        ({"name": "<script>x</script>" * 10, "prices": _price()["prices"]}, "1 to 100"),
        ({"name": "C", "billing": "weekly", "prices": _price()["prices"]}, "billing"),
    ],
)
async def test_bad_plans_are_refused_clearly(server: LiveServer, body: dict[str, Any], message: str) -> None:
    coach = await brazilian(server, "Coach")
    group = (await server.http.post(f"{API}/groups", headers=coach.headers, json={"name": "G", "members": []})).json()
    made = await server.http.post(f"{API}/groups/{group['id']}/plan", headers=coach.headers, json=body)
    assert made.status_code == 400, made.text
    assert message in made.json()["error"]["message"]
    missing = await server.http.get(f"{API}/groups/{group['id']}/plan", headers=coach.headers)
    assert missing.status_code == 404


async def test_only_admins_sell_a_group_and_only_once(server: LiveServer) -> None:
    coach, mo = await brazilian(server, "Coach"), await brazilian(server, "Mo")
    group = (
        await server.http.post(f"{API}/groups", headers=coach.headers, json={"name": "G", "members": [mo.phone]})
    ).json()
    by_member = await server.http.post(f"{API}/groups/{group['id']}/plan", headers=mo.headers, json=PLAN)
    assert by_member.status_code == 403
    outsider = await brazilian(server, "Out")
    assert (
        await server.http.post(f"{API}/groups/{group['id']}/plan", headers=outsider.headers, json=PLAN)
    ).status_code == 404
    assert (
        await server.http.post(f"{API}/groups/{group['id']}/plan", headers=coach.headers, json=PLAN)
    ).status_code == 200
    second = await server.http.post(f"{API}/groups/{group['id']}/plan", headers=coach.headers, json=PLAN)
    assert second.status_code == 409
    assert mo.user_id in await member_ids(server, coach, group["id"])  # members from before the plan stay
    seen = await server.http.get(f"{API}/groups/{group['id']}/plan", headers=mo.headers)
    assert seen.status_code == 200 and seen.json()["manages"] is False and "subscribers" not in seen.json()
    # Someone outside the group sees its plan only through an invite link, as they would see the group.
    hidden = await server.http.get(f"{API}/groups/{group['id']}/plan", headers=outsider.headers)
    assert hidden.status_code == 404 and hidden.json()["error"]["message"] == "no such group"
    one_off_channel = await server.http.post(
        f"{API}/channels/123/plan", headers=coach.headers, json={**PLAN, "billing": "one_off"}
    )
    assert one_off_channel.status_code == 400
    assert (await server.http.post(f"{API}/channels/123/plan", headers=coach.headers, json=PLAN)).status_code == 404


async def test_the_cut_follows_the_subscribers_market(server: LiveServer) -> None:
    coach, raj = await brazilian(server, "Coach"), await indian(server, "Raj")
    await funded(server, raj, "150.00", "INR")
    _, plan_id, _ = await paid_group(server, coach)
    sub = await subscribe(server, raj, plan_id)
    assert sub.json()["price"] == {"amount": "100.00", "currency": "INR"}
    assert await balance(server, raj, "INR") == "50.00"
    assert await balance(server, coach, "INR") == "95.00"  # 5 % in India
    today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
    report = await revenue_report(server.container.db, server.container.billing.journal, today, today)
    [lever] = [x for x in report.levers if x.lever == "subscriptions"]
    assert (lever.currency, lever.revenue) == ("INR", 5_000_000)
    offer = (await server.http.get(f"{API}/plans/{plan_id}/subscribers", headers=coach.headers)).json()
    assert [s["status"] for s in offer["subscriptions"]] == ["active"]
    await verify_ledger(server)


async def test_a_new_price_is_told_and_charged_from_the_next_renewal(server: LiveServer) -> None:
    coach, nia = await brazilian(server, "Coach"), await brazilian(server, "Nia")
    await funded(server, nia, "200.00")
    _, plan_id, _ = await paid_group(server, coach)
    sub = (await subscribe(server, nia, plan_id)).json()
    prices = [
        {"market": "BR", "amount": "59.90", "currency": "BRL"},
        {"market": "*", "amount": "12", "currency": "USD"},
    ]
    changed = await server.http.patch(f"{API}/plans/{plan_id}", headers=coach.headers, json={"prices": prices})
    assert changed.status_code == 200, changed.text
    assert await balance(server, nia) == "150.10"  # nothing charged now
    assert "changes to 59.90 BRL/month from your next renewal" in (await direct_texts(server, nia, coach))[-1]
    await renew_just_after(server, sub["current_period_end"])
    assert await balance(server, nia) == "90.20"
    renewed = await subscription(server, nia, sub["id"])
    assert [c["amount"] for c in renewed["charges"]] == ["49.90", "59.90"]
    await verify_ledger(server)


async def test_a_deactivated_plan_takes_nobody_new_and_stops_renewing(server: LiveServer) -> None:
    coach, oz, pat = await brazilian(server, "Coach"), await brazilian(server, "Oz"), await brazilian(server, "Pat")
    for person in (oz, pat):
        await funded(server, person, "100.00")
    group_id, plan_id, code = await paid_group(server, coach)
    sub = (await subscribe(server, oz, plan_id)).json()
    off = await server.http.patch(f"{API}/plans/{plan_id}", headers=coach.headers, json={"active": False})
    assert off.json()["active"] is False
    refused = await subscribe(server, pat, plan_id)
    assert refused.status_code == 409 and "no new subscribers" in refused.json()["error"]["message"]
    join = await server.http.post(f"{API}/invites/{code}/join", headers=pat.headers)
    assert join.status_code == 402
    await renew_just_after(server, sub["current_period_end"])
    assert (await subscription(server, oz, sub["id"]))["status"] == "canceled"
    assert await balance(server, oz) == "50.10"
    assert oz.user_id not in await member_ids(server, coach, group_id)
    await verify_ledger(server)


async def test_ending_a_plan_now_refunds_everyone_pro_rata(server: LiveServer) -> None:
    s = await subscribed(server, "Quin", "49.90")
    coach, quin, group_id, plan_id, sub = s.coach, s.person, s.group_id, s.plan_id, s.sub
    days = (sub["current_period_end"] - sub["current_period_start"]) // DAY_MS
    ended = await server.http.post(f"{API}/plans/{plan_id}/end", headers=coach.headers)
    assert ended.json() == {"ended": 1}
    # Ended within its first day: that started day counts as used, the other whole days go back, cut included.
    back, cut_back = prorated_brl(49_900_000, 4_990_000, days - 1, days)
    assert await balance(server, quin) == f"{back / 1e6:.2f}"
    assert await balance(server, coach) == f"{(44_910_000 - back + cut_back) / 1e6:.2f}"
    assert quin.user_id not in await member_ids(server, coach, group_id)
    await verify_ledger(server)


async def _channel(server: LiveServer, owner_id: str, waba_id: int | None = None) -> int:
    channel_id = server.container.ids.next_id()

    def unit(conn: Connection) -> None:
        conn.execute(
            insert(channels).values(
                id=channel_id,
                name="Daily drills",
                category="sports",
                country="BR",
                owner_id=int(owner_id),
                waba_id=waba_id,
                invite_code=f"c{channel_id}",
                created_at=server.clock.now_ms(),
            )
        )

    await server.container.db.write("test.channel", unit)
    return channel_id


async def test_channel_subscribers_read_subscriber_only_posts_until_it_ends(server: LiveServer) -> None:
    owner, rae = await brazilian(server, "Owner"), await brazilian(server, "Rae")
    await funded(server, rae, "60.00")
    channel_id = await _channel(server, owner.user_id)
    made = await server.http.post(f"{API}/channels/{channel_id}/plan", headers=owner.headers, json=PLAN)
    assert made.status_code == 200, made.text
    access = server.container.subscriptions.channel_access
    db = server.container.db

    async def readable() -> set[int]:
        now = server.clock.now_ms()
        return await db.read(lambda conn: access.subscribed_channels_in(conn, int(rae.user_id), [channel_id], now))

    async def subscribers() -> int:
        return int(await db.read(lambda conn: conn.execute(select(channels.c.subscriber_count)).scalar_one()))

    assert await db.read(lambda conn: access.paid_channels_in(conn, [channel_id, 1])) == {channel_id}
    assert await readable() == set()
    sub = (await subscribe(server, rae, made.json()["id"])).json()
    assert await readable() == {channel_id} and await subscribers() == 1
    mine = (await server.http.get(f"{API}/channels/{channel_id}/plan", headers=owner.headers)).json()
    assert (mine["subscribers"], mine["earnings"]) == (
        1,
        [{"currency": "BRL", "gross": "49.90", "platform_cut": "4.99", "net": "44.91"}],
    )
    assert "phone" not in str(mine)
    await server.http.post(f"{API}/subscriptions/{sub['id']}/cancel", headers=rae.headers)
    assert await readable() == {channel_id}  # cancelled: still paid until the period's end
    await renew_just_after(server, sub["current_period_end"])
    assert await readable() == set() and await subscribers() == 0
    await verify_ledger(server)


async def test_a_business_channels_subscriptions_pay_the_business_not_its_owner(server: LiveServer) -> None:
    """A channel run by a business account: its subscribers' money lands in the business's payable (paid out as a
    merchant's proceeds are), not in the wallet of the person who set the plan up."""
    biz = await create_business(server, "Acme News")
    owner, rae = await brazilian(server, "Owner"), await brazilian(server, "Rae")
    await funded(server, rae, "60.00")
    channel_id = await _channel(server, owner.user_id, waba_id=int(biz.waba_id))
    made = await server.http.post(f"{API}/channels/{channel_id}/plan", headers=owner.headers, json=PLAN)
    assert made.status_code == 200, made.text
    assert (await subscribe(server, rae, made.json()["id"])).status_code == 200
    payable = await server.container.ledger.account(f"waba:{biz.waba_id}:payable:BRL")
    assert payable.balance == 44_910_000  # R$ 49.90 less the 10 % cut
    assert await balance(server, owner) == "0.00"
    await verify_ledger(server)
