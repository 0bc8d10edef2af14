"""Paid groups: joining takes a subscription paid from the wallet (charged once per key, the platform's cut on the
ledger), renewals on the anniversary, a failed renewal's grace with a notice in the chat, removal when grace is
over, cancellation to the period's end, and pro-rata refunds that give the cut back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Connection

from parley import ledger
from parley.config import Settings, SubscriptionSettings
from parley.payments.books import person_wallet_key
from parley.subscriptions.books import subscriptions_revenue_key
from parley.subscriptions.periods import DAY_MS
from tests.conftest import LiveServer
from tests.integration.subscription_helpers import (
    API,
    PLAN,
    balance,
    brazilian,
    direct_texts,
    funded,
    member_ids,
    paid_group,
    prorated_brl,
    renew_at,
    renew_just_after,
    subscribe,
    subscribed,
    subscription,
    texts,
    verify_ledger,
)
from tests.integration.test_groups import invitations, set_group_add


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The sweep stays off: each test runs it after moving the clock."""
    return settings.model_copy(update={"subscriptions": SubscriptionSettings(sweep_interval_s=0)})


async def revenue(server: LiveServer, currency: str = "BRL") -> int:
    account = await server.container.db.read(
        lambda conn: server.container.billing.journal.account(conn, subscriptions_revenue_key(currency))
    )
    return 0 if account is None else account.balance


async def test_joining_a_paid_group_takes_a_subscription_charged_once(server: LiveServer) -> None:
    coach, dora = await brazilian(server, "Coach"), await brazilian(server, "Dora")
    await funded(server, dora, "100.00")
    group_id, plan_id, code = await paid_group(server, coach)

    refused = await server.http.post(f"{API}/invites/{code}/join", headers=dora.headers)
    assert refused.status_code == 402
    assert refused.json()["error"] == {
        "code": "subscription_required",
        "message": "This group is paid: subscribe for 49.90 BRL/month to join",
    }
    assert dora.user_id not in await member_ids(server, coach, group_id)
    shown = (await server.http.get(f"{API}/invites/{code}/plan", headers=dora.headers)).json()
    assert shown["group_id"] == group_id
    assert (shown["offer"]["price_label"], shown["offer"]["subscription"], shown["offer"]["manages"]) == (
        "49.90 BRL/month",
        None,
        False,
    )

    first = await subscribe(server, dora, plan_id, key="sub-1")
    assert first.status_code == 200, first.text
    again = await subscribe(server, dora, plan_id, key="sub-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    sub = first.json()
    assert (sub["status"], sub["price"], sub["cancel_at_period_end"]) == (
        "active",
        {"amount": "49.90", "currency": "BRL"},
        False,
    )
    assert [(c["kind"], c["status"], c["amount"]) for c in again.json()["charges"]] == [
        ("charge", "succeeded", "49.90")
    ]
    assert dora.user_id in await member_ids(server, coach, group_id)
    # Charged once: 49.90 out of Dora's wallet; 10 % (4.99) kept by the platform, 44.91 to the coach's wallet.
    assert await balance(server, dora) == "50.10"
    assert await balance(server, coach) == "44.91"
    assert await revenue(server) == 4_990_000
    twice = await subscribe(server, dora, plan_id)
    assert twice.status_code == 409 and "already" in twice.json()["error"]["message"]
    # The same key for another plan is refused, not answered with this subscription.
    _, other_plan, _ = await paid_group(server, coach)
    reused = await subscribe(server, dora, other_plan, key="sub-1")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    await verify_ledger(server)


async def test_a_wallet_too_low_is_refused_with_nothing_kept(server: LiveServer) -> None:
    coach, eli = await brazilian(server, "Coach"), await brazilian(server, "Eli")
    await funded(server, eli, "20.00")
    group_id, plan_id, _ = await paid_group(server, coach)
    refused = await subscribe(server, eli, plan_id)
    assert refused.status_code == 402
    assert refused.json()["error"]["message"] == (
        "your BRL wallet has 20.00 BRL, not enough for 49.90 BRL: top up your wallet"
    )
    assert await balance(server, eli) == "20.00"
    assert (await server.http.get(f"{API}/subscriptions", headers=eli.headers)).json()["subscriptions"] == []
    assert eli.user_id not in await member_ids(server, coach, group_id)
    wrong_pin = await server.http.post(
        f"{API}/plans/{plan_id}/subscribe", headers={**eli.headers, "Idempotency-Key": "k"}, json={"pin": "9999"}
    )
    assert wrong_pin.status_code == 403 and wrong_pin.json()["error"]["code"] == "wrong_pin"
    no_key = await server.http.post(f"{API}/plans/{plan_id}/subscribe", headers=eli.headers, json={"pin": "1234"})
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["error"]["message"]
    await verify_ledger(server)


async def test_admins_cannot_add_someone_who_has_not_paid(server: LiveServer) -> None:
    coach, fay = await brazilian(server, "Coach"), await brazilian(server, "Fay")
    group_id, _, _ = await paid_group(server, coach)
    added = await server.http.post(
        f"{API}/groups/{group_id}/members", headers=coach.headers, json={"phones": [fay.phone]}
    )
    assert added.status_code == 402, added.text
    assert "subscribe for 49.90 BRL/month" in added.json()["error"]["message"]
    assert await member_ids(server, coach, group_id) == {coach.user_id}


async def test_renewal_on_the_anniversary_then_failure_grace_and_removal(server: LiveServer) -> None:
    s = await subscribed(server, "Gil", "99.80")  # two periods exactly
    coach, gil, group_id, sub = s.coach, s.person, s.group_id, s.sub
    first_end = sub["current_period_end"]
    assert await renew_at(server, 1) == 0  # nothing due before the anniversary

    await renew_just_after(server, first_end)
    renewed = await subscription(server, gil, sub["id"])
    assert (renewed["status"], renewed["current_period_start"]) == ("active", first_end)
    assert renewed["current_period_end"] > first_end + 27 * DAY_MS
    assert await balance(server, gil) == "0.00"

    second_end = renewed["current_period_end"]
    await renew_just_after(server, second_end)
    failed = await subscription(server, gil, sub["id"])
    assert (failed["status"], failed["grace_until"]) == ("past_due", second_end + 3 * DAY_MS)
    assert [c["status"] for c in failed["charges"]] == ["succeeded", "succeeded", "failed"]
    assert gil.user_id in await member_ids(server, coach, group_id)  # still in during the grace
    [notice] = [t for t in await direct_texts(server, gil, coach) if "failed" in t]
    assert notice.startswith("Your payment of 49.90 BRL for Coaching circle failed") and "Top up by" in notice

    await renew_at(server, 1)  # the daily retry fails too
    assert (await subscription(server, gil, sub["id"]))["status"] == "past_due"
    await renew_at(server, 2.01)  # grace over
    ended = await subscription(server, gil, sub["id"])
    assert ended["status"] == "expired" and ended["ended_at"] is not None
    assert gil.user_id not in await member_ids(server, coach, group_id)
    assert (await texts(server, coach, group_id))[-1] == "Gil's subscription ended"
    told = await direct_texts(server, gil, coach)
    assert "the renewal payment failed and the grace period is over" in told[-1]
    assert await balance(server, gil) == "0.00"
    await verify_ledger(server)


async def test_paying_within_grace_keeps_the_anniversary(server: LiveServer) -> None:
    s = await subscribed(server, "Hal", "49.90")
    coach, hal, sub = s.coach, s.person, s.sub
    end = sub["current_period_end"]
    await renew_just_after(server, end)
    assert (await subscription(server, hal, sub["id"]))["status"] == "past_due"
    await funded(server, hal, "60.00")
    await renew_at(server, 1)
    paid = await subscription(server, hal, sub["id"])
    assert (paid["status"], paid["current_period_start"], paid["grace_until"]) == ("active", end, None)
    assert await balance(server, hal) == "10.10"
    assert "went through" in (await direct_texts(server, hal, coach))[-1]
    await verify_ledger(server)


async def test_cancel_keeps_access_to_the_period_end_then_ends_without_a_charge(server: LiveServer) -> None:
    s = await subscribed(server, "Ida", "200.00")
    coach, ida, group_id, sub = s.coach, s.person, s.group_id, s.sub
    cancelled = await server.http.post(f"{API}/subscriptions/{sub['id']}/cancel", headers=ida.headers)
    assert cancelled.json()["cancel_at_period_end"] is True
    resumed = await server.http.post(f"{API}/subscriptions/{sub['id']}/resume", headers=ida.headers)
    assert resumed.json()["cancel_at_period_end"] is False
    await server.http.post(f"{API}/subscriptions/{sub['id']}/cancel", headers=ida.headers)
    await renew_at(server, 20)
    assert ida.user_id in await member_ids(server, coach, group_id)  # paid until the period's end
    await renew_just_after(server, sub["current_period_end"])
    ended = await subscription(server, ida, sub["id"])
    assert ended["status"] == "canceled" and len(ended["charges"]) == 1
    assert ida.user_id not in await member_ids(server, coach, group_id)
    assert await balance(server, ida) == "150.10"  # no second charge, no refund
    other = await brazilian(server, "Other")
    gone = await server.http.post(f"{API}/subscriptions/{sub['id']}/resume", headers=other.headers)
    assert gone.status_code == 404
    await verify_ledger(server)


async def test_the_creator_removing_a_subscriber_refunds_the_unused_days_with_the_cut(server: LiveServer) -> None:
    s = await subscribed(server, "Jo", "100.00")
    coach, jo, group_id, sub = s.coach, s.person, s.group_id, s.sub
    days = (sub["current_period_end"] - sub["current_period_start"]) // DAY_MS
    server.clock.advance(seconds=10 * 86_400 + 60)  # 10 days and a minute used: days - 11 whole days left
    stranger = await server.http.post(f"{API}/subscriptions/{sub['id']}/refund", headers=jo.headers, json={})
    assert stranger.status_code == 404
    refunded = await server.http.post(f"{API}/subscriptions/{sub['id']}/refund", headers=coach.headers, json={})
    assert refunded.status_code == 200, refunded.text
    back, cut_back = prorated_brl(49_900_000, 4_990_000, days - 11, days)
    assert refunded.json()["status"] == "refunded"
    assert refunded.json()["charges"][-1]["amount"] == f"{back / 1e6:.2f}"
    assert await balance(server, jo) == f"{(50_100_000 + back) / 1e6:.2f}"
    assert await balance(server, coach) == f"{(44_910_000 - (back - cut_back)) / 1e6:.2f}"
    assert await revenue(server) == 4_990_000 - cut_back
    assert jo.user_id not in await member_ids(server, coach, group_id)
    assert "went back to your wallet" in (await direct_texts(server, jo, coach))[-1]
    await verify_ledger(server)


async def test_a_refund_the_creator_can_no_longer_cover_is_refused(server: LiveServer) -> None:
    s = await subscribed(server, "Kim", "100.00")
    coach, kim, group_id, sub = s.coach, s.person, s.group_id, s.sub
    journal = server.container.billing.journal

    def spend(conn: Connection) -> None:  # the coach spent their earnings meanwhile
        wallet = journal.account(conn, person_wallet_key(int(coach.user_id), "BRL"))
        elsewhere = journal.open_account(conn, "test:shop:BRL", currency="BRL", normal_side=ledger.CREDIT, kind="test")
        assert wallet is not None
        journal.transfer(conn, "test:spend", debit=wallet, credit=elsewhere, amount=40_000_000, code="test.spend")

    await server.container.db.write("test.spend", spend)
    refused = await server.http.post(
        f"{API}/subscriptions/{sub['id']}/refund", headers=coach.headers, json={"prorated": False}
    )
    assert refused.status_code == 409 and "no longer covers" in refused.json()["error"]["message"]
    assert await balance(server, kim) == "50.10"
    assert kim.user_id in await member_ids(server, coach, group_id)
    assert (await subscription(server, kim, sub["id"]))["status"] == "active"
    await verify_ledger(server)


async def test_one_off_access_stays_for_good(server: LiveServer) -> None:
    plan = {"name": "Lifetime", "billing": "one_off", "prices": [{"market": "*", "amount": "250", "currency": "BRL"}]}
    s = await subscribed(server, "Lu", "300.00", plan)
    lu, group_id, code, sub = s.person, s.group_id, s.code, s.sub
    assert (sub["current_period_end"], sub["status"]) == (None, "active")
    cancel = await server.http.post(f"{API}/subscriptions/{sub['id']}/cancel", headers=lu.headers)
    assert cancel.status_code == 409
    await renew_at(server, 400)
    left = await server.http.post(f"{API}/groups/{group_id}/leave", headers=lu.headers)
    assert left.status_code in (200, 204), left.text
    back = await server.http.post(f"{API}/invites/{code}/join", headers=lu.headers)
    assert back.status_code == 200, back.text  # paid once: back in by the invite link
    assert await balance(server, lu) == "50.00"
    await verify_ledger(server)


async def test_an_add_invitation_from_before_the_plan_needs_a_subscription_to_accept(server: LiveServer) -> None:
    coach, val = await brazilian(server, "Coach"), await brazilian(server, "Val")
    await set_group_add(server, val, "nobody")
    group = await server.http.post(f"{API}/groups", headers=coach.headers, json={"name": "Early", "members": []})
    group_id = group.json()["id"]
    invited = await server.http.post(
        f"{API}/groups/{group_id}/members", headers=coach.headers, json={"phones": [val.phone]}
    )
    assert invited.json()["error"]["code"] == "group_add_not_allowed"  # an invitation went to their chat instead
    [invite] = await invitations(server, val)
    invite_id = invite["business"]["group_invite"]["invite_id"]
    made = await server.http.post(f"{API}/groups/{group_id}/plan", headers=coach.headers, json=PLAN)
    assert made.status_code == 200, made.text

    refused = await server.http.post(f"{API}/group-invites/{invite_id}/accept", headers=val.headers)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "subscription_required"
    assert val.user_id not in await member_ids(server, coach, group_id)
    await funded(server, val, "49.90")
    assert (await subscribe(server, val, made.json()["id"])).status_code == 200
    accepted = await server.http.post(f"{API}/group-invites/{invite_id}/accept", headers=val.headers)
    assert accepted.status_code == 200, accepted.text  # already in by subscribing: the same group back
    assert val.user_id in await member_ids(server, coach, group_id)


async def test_racing_retries_of_one_subscribe_charge_once(server: LiveServer) -> None:
    coach, wes = await brazilian(server, "Coach"), await brazilian(server, "Wes")
    await funded(server, wes, "100.00")
    _, plan_id, _ = await paid_group(server, coach)
    answers = await asyncio.gather(*(subscribe(server, wes, plan_id, key="double-click") for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["id"] for a in answers}) == 1
    assert await balance(server, wes) == "50.10"
    await verify_ledger(server)


async def test_two_sweeps_racing_over_the_same_renewals_charge_each_once(server: LiveServer) -> None:
    """Two processes' sweeps (here two passes at once on one container; on PostgreSQL truly concurrent) find the same
    subscriptions due: each renewal is charged once, the other pass finds it already handled."""
    people = [await subscribed(server, f"Racer {n}", "99.80") for n in range(4)]
    first_end = max(p.sub["current_period_end"] for p in people)
    server.clock.advance(seconds=(first_end - server.clock.now_ms()) / 1000 + 1)
    renew = server.container.subscriptions.renew_due
    await asyncio.gather(renew(), renew())
    for person in people:
        renewed = await subscription(server, person.person, person.sub["id"])
        assert [c["status"] for c in renewed["charges"]] == ["succeeded", "succeeded"]
        assert renewed["current_period_start"] == person.sub["current_period_end"]
        assert await balance(server, person.person) == "0.00"
    await verify_ledger(server)
