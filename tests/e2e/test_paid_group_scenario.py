"""Scenario (2) of issue 15 in Chromium: a coach makes her group paid in group info (1280 px); a person with a funded
wallet opens the group's invite link on her phone (390 px), sees the price, subscribes with her payment PIN and is
in the group; at the renewal her wallet is empty, the payment fails and she is told in the chat; when the grace is
over she is out of the group and the chat says why. Ledger verify green; axe at both widths."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from parley.config import Settings, SubscriptionSettings
from tests.conftest import LiveServer
from tests.e2e.page_checks import DESKTOP, PHONE, assert_accessible, assert_fits_width
from tests.e2e.test_web_client_people import new_page, open_chat
from tests.integration.subscription_helpers import (
    API,
    DAY_S,
    balance,
    brazilian,
    funded,
    member_ids,
    verify_ledger,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The renewal sweep is run by the test right after it moves the clock."""
    return settings.model_copy(update={"subscriptions": SubscriptionSettings(sweep_interval_s=0)})


async def test_a_coach_sells_a_paid_group_and_a_member_is_removed_after_a_failed_renewal(
    server: LiveServer, browser: Browser
) -> None:
    coach, pia = await brazilian(server, "Coach Rita"), await brazilian(server, "Pia")
    group = await server.http.post(f"{API}/groups", headers=coach.headers, json={"name": "Run Club", "members": []})
    group_id = group.json()["id"]
    errors: list[str] = []

    # The coach sells the group from group info, on a desktop.
    coach_page = await new_page(browser, errors, DESKTOP, coach)
    await coach_page.goto(server.base_url + "/app")
    await open_chat(coach_page, "Run Club")
    await coach_page.click("#chat-info")
    plan_form = coach_page.locator("#group-plan form")
    await plan_form.get_by_label("Plan name").fill("Morning coaching")
    await plan_form.get_by_label("Price").fill("49.90")
    await plan_form.get_by_label("Currency").fill("BRL")
    await plan_form.get_by_role("button", name="Make the group paid").click()
    await expect(coach_page.locator("#group-plan")).to_contain_text("0 subscribers")
    await expect(coach_page.locator("#group-plan")).to_contain_text("Everywhere else: 49.90 BRL")
    await assert_accessible(coach_page, "group info with its plan (1280 px)")
    await coach_page.screenshot(path="/tmp/parley-paid-group-info.png")
    invite = await server.http.post(f"{API}/groups/{group_id}/invites", headers=coach.headers)
    link = invite.json()["url"]

    # Pia (exactly one month's price in her wallet, PIN set) opens the link on her phone.
    await funded(server, pia, "49.90")
    page = await new_page(browser, errors, PHONE, pia)
    await page.goto(server.base_url + "/app")
    await page.locator("#join-group summary").click()
    await page.get_by_label("The group's invite link").fill(link)
    await page.get_by_role("button", name="Join group").click()
    offer = page.locator("#join-group-offer")
    await expect(offer).to_contain_text("This group is paid: subscribe to join it.")
    await expect(offer.locator(".sub-price")).to_have_text("49.90 BRL/month")
    await assert_accessible(page, "paid group offer (390 px)")
    await assert_fits_width(page, "paid group offer (390 px)")
    await page.screenshot(path="/tmp/parley-paid-group-offer.png")
    await offer.get_by_role("button", name=re.compile(r"^Subscribe")).click()
    await offer.get_by_label("Your payment PIN").fill("1234")
    await offer.get_by_role("button", name="Pay 49.90 BRL/month").click()
    await expect(page.locator("#chat-title")).to_have_text("Run Club")
    assert pia.user_id in await member_ids(server, coach, group_id)
    assert await balance(server, pia) == "0.00"
    await expect(coach_page.locator("#group-plan")).to_contain_text("0 subscribers")  # not live: reopened below
    await coach_page.click("#group-info-close")
    await coach_page.click("#chat-info")
    await expect(coach_page.locator("#group-plan")).to_contain_text("1 subscriber")
    await expect(coach_page.locator("#group-plan")).to_contain_text("Earned 44.91 BRL")

    # The renewal: the wallet is empty, the payment fails, Pia is told in her chat with the coach.
    mine = (await server.http.get(f"{API}/subscriptions", headers=pia.headers)).json()["subscriptions"][0]
    server.clock.advance(seconds=(mine["current_period_end"] - server.clock.now_ms()) / 1000 + 60)
    await server.container.subscriptions.renew_due()
    if await page.locator("#back").is_visible():
        await page.click("#back")
    await open_chat(page, "Coach Rita")
    await expect(page.locator("#message-list")).to_contain_text("Your payment of 49.90 BRL for Morning coaching failed")
    await expect(page.locator("#message-list")).to_contain_text("Top up by")
    assert pia.user_id in await member_ids(server, coach, group_id)  # still in during the grace

    # Grace is over: Pia is out of the group and reads why.
    server.clock.advance(seconds=3 * DAY_S + 60)
    await server.container.subscriptions.renew_due()
    await expect(page.locator("#message-list")).to_contain_text(
        "Your subscription to Morning coaching ended: the renewal payment failed and the grace period is over"
    )
    assert pia.user_id not in await member_ids(server, coach, group_id)
    await expect(coach_page.locator("#message-list")).to_contain_text("Pia's subscription ended")
    await assert_accessible(page, "the chat telling Pia why (390 px)")
    await assert_fits_width(page, "the chat telling Pia why (390 px)")

    # Her subscriptions page says so too.
    await page.goto(server.base_url + "/subscriptions")
    await expect(page.locator("#subscription-list")).to_contain_text("Ended: the payment failed")
    await assert_accessible(page, "/subscriptions (390 px)")
    await assert_fits_width(page, "/subscriptions (390 px)")
    await coach_page.goto(server.base_url + "/subscriptions")
    await expect(coach_page.locator("#subscription-list")).to_contain_text("No subscriptions yet.")
    await assert_accessible(coach_page, "/subscriptions (1280 px)")
    await verify_ledger(server)
    assert errors == []
