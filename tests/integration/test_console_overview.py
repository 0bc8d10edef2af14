"""The console's overview, numbers and analytics for owners and admins: the figures equal what the Graph API's
`pricing_analytics` / `conversation_analytics` answer for the same period (after real charged sends and replies),
quality and tier changes land in the number's history with their reason, agents get 403, bad periods 400.

Expected prices are the shipped card's rows as written in its CSV (India marketing 0.0118, Germany utility
0.0550), as in test_billing_analytics.py.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest

from parley.billing import wallet_key
from parley.config import BillingSettings, BusinessSettings, Settings
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import (
    Biz,
    V,
    ack_all,
    approved_template,
    create_business,
    person_writes,
    send,
    template_body,
    text_to,
)
from tests.integration.inbox_helpers import agent
from tests.integration.test_billing_analytics import CBP_CARD, GERMANY_UTILITY, INDIA_MARKETING

SALE = "Autumn sale on {{1}} until {{2}}, come and see."


def figure(html: str, element_id: str) -> str:
    """The text of the element with this id on a server-rendered page."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found is not None, f"no #{element_id} on the page"
    return found.group(1).strip()


def table_total(html: str, table_id: str) -> str:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    found = re.search(r"data-total>([^<]*)<", table)
    assert found is not None
    return found.group(1).strip()


async def graph(server: LiveServer, biz: Biz, fields: str) -> dict[str, Any]:
    response = await server.http.get(f"{V}/{biz.waba_id}", headers=biz.headers, params={"fields": fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def cost_of(points: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(p.get("cost", 0))) for p in points), Decimal(0))


async def traffic(server: LiveServer, biz: Biz) -> None:
    """Charged templates to India (marketing) and Germany (utility), a reply, and a free answer in the window."""
    await approved_template(server, biz, name="autumn_sale", category="MARKETING", body=SALE)
    await approved_template(server, biz)  # UTILITY
    priya = await server.user("Priya", "+919812345612")
    jonas = await server.user("Jonas", "+4915123450312")
    assert (await send(server, biz, template_body(priya, "autumn_sale"))).status_code == 200
    assert (await send(server, biz, template_body(jonas))).status_code == 200
    await person_writes(server, priya, biz, "Thanks, what sizes do you have?")
    assert (await text_to(server, biz, priya, "S to XL")).status_code == 200
    await ack_all(server, priya)
    await ack_all(server, jonas)


async def test_the_console_shows_what_the_graph_analytics_answer(server: LiveServer) -> None:
    biz = await create_business(server, "Figures Co")
    await traffic(server, biz)
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        spent = INDIA_MARKETING + GERMANY_UTILITY
        # Overview: this month's spend by category and market, and the balance, as the ledger and Graph have them.
        overview = (await owner.get("/console/overview")).json()
        assert overview["currency"] == "USD" and overview["timezone"] == "UTC"
        assert Decimal(overview["spend"]["total"]) == spent
        assert {k: Decimal(v) for k, v in overview["spend"]["by_category"].items()} == {
            "MARKETING": INDIA_MARKETING,
            "UTILITY": GERMANY_UTILITY,
            "SERVICE": Decimal(0),
        }
        assert {k: Decimal(v) for k, v in overview["spend"]["by_market"].items()} == {
            "IN": INDIA_MARKETING,
            "DE": GERMANY_UTILITY,
        }
        assert overview["messages"] == {
            "total": 3,
            "by_pricing_type": {"REGULAR": 2, "FREE_CUSTOMER_SERVICE": 1, "FREE_ENTRY_POINT": 0},
        }
        balance = await server.container.billing.balance(int(biz.waba_id))
        assert Decimal(overview["balance"]["balance"]) == Decimal(balance.balance) / 1_000_000 == 10 - spent
        assert [n["quality_rating"] for n in overview["numbers"]] == ["GREEN"]

        page = (await owner.http.get("/inbox/console")).text
        assert figure(page, "spend-total") == "USD 0.0668"
        assert figure(page, "spend-marketing") == "USD 0.0118"
        assert figure(page, "spend-utility") == "USD 0.055"
        assert (figure(page, "market-de"), figure(page, "market-in")) == ("USD 0.055", "USD 0.0118")
        assert figure(page, "balance") == f"USD {10 - spent}"
        assert table_total(page, "spend-market-table") == "0.0668"
        assert 'href="/inbox/console/billing"' in page and "Green · high quality" in page

        # Analytics: the JSON carries Graph's own answer for the same fields; the page's figures add up to it.
        found = (await owner.get("/console/analytics", days="7")).json()
        answer = await graph(server, biz, found["graph_fields"])
        assert found["pricing_analytics"] == answer["pricing_analytics"]
        assert found["conversation_analytics"] == answer["conversation_analytics"]
        points = answer["pricing_analytics"]["data"][0]["data_points"]
        assert cost_of(points) == spent == Decimal(found["totals"]["cost"])
        assert sum(p["volume"] for p in points) == found["totals"]["volume"] == 3
        period = found["period"]
        plain = await graph(
            server, biz, f"pricing_analytics.start({period['start']}).end({period['end']}).granularity(DAILY)"
        )
        [today] = plain["pricing_analytics"]["data"][0]["data_points"]
        [day] = [row for row in found["cost"] if Decimal(row["total"])]
        assert Decimal(day["total"]) == Decimal(str(today["cost"]))

        page = (await owner.http.get("/inbox/console/analytics", params={"days": "7"})).text
        assert figure(page, "total-cost") == "USD 0.0668"
        assert table_total(page, "cost-table") == "0.0668"
        assert table_total(page, "volume-table") == "3"
        assert table_total(page, "market-table") == "0.0668"
        monthly = await owner.http.get("/inbox/console/analytics", params={"days": "90", "granularity": "monthly"})
        assert monthly.status_code == 200 and table_total(monthly.text, "cost-table") == "0.0668"

        csv = await owner.http.get("/inbox/api/console/analytics.csv", params={"days": "30"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith("analytics,from,to,category,type,direction,country,count,cost")
        assert sum(Decimal(line.split(",")[8]) for line in lines[1:]) == spent
    finally:
        await owner.http.aclose()


async def test_conversations_of_a_business_billed_per_conversation(server: LiveServer) -> None:
    biz = await create_business(server, "Per Conversation Co")
    await server.container.billing.load_card(
        CBP_CARD, price_list="cbp-console", source="test.csv", effective=datetime.date(2020, 1, 1)
    )
    await server.container.billing.set_billing_profile(int(biz.waba_id), price_list="cbp-console")
    await approved_template(server, biz, name="autumn_sale", category="MARKETING", body=SALE)
    priya, jonas = await server.user("Priya", "+919812345613"), await server.user("Jonas", "+4915123450313")
    assert (await send(server, biz, template_body(priya, "autumn_sale"))).status_code == 200
    await ack_all(server, priya)
    await person_writes(server, jonas, biz, "Hello?")
    assert (await text_to(server, biz, jonas, "Hello!")).status_code == 200  # a free service conversation
    await ack_all(server, jonas)
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        overview = (await owner.get("/console/overview")).json()
        assert overview["conversations"] == {
            "opened": 2,
            "business_initiated": 1,
            "user_initiated": 1,
            "free_entry": 0,
            "free_tier": 1,
        }
        page = (await owner.http.get("/inbox/console")).text
        assert figure(page, "conversations-opened") == "2"
        assert figure(page, "conversations-business") == "1"
        assert figure(page, "conversations-user") == "1"
        found = (await owner.get("/console/analytics", days="30")).json()
        answer = await graph(server, biz, found["graph_fields"])
        assert found["conversation_analytics"] == answer["conversation_analytics"]
        talks = answer["conversation_analytics"]["data"][0]["data_points"]
        assert sum(p["conversation"] for p in talks) == found["totals"]["conversations"] == 2
        page = (await owner.http.get("/inbox/console/analytics", params={"days": "30"})).text
        assert table_total(page, "conversation-table") == "2"
    finally:
        await owner.http.aclose()


async def test_agents_are_refused_and_bad_periods_are_a_clear_400(server: LiveServer) -> None:
    biz = await create_business(server, "Strict Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    helper = await agent(server, biz, "Andy Agent", role="agent")
    try:
        for path in ("/console/overview", "/console/numbers", "/console/analytics", "/console/analytics.csv"):
            refused = await helper.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "forbidden"
        for page in ("/inbox/console/numbers", "/inbox/console/analytics"):
            assert (await helper.http.get(page)).status_code == 403
        today = datetime.datetime.fromtimestamp(server.clock.now_ms() / 1000, datetime.UTC).date()
        bad: list[tuple[dict[str, str], str]] = [
            ({"days": "12"}, "7, 30 or 90"),
            ({"days": "custom"}, "start and an end"),
            ({"from": "2026-13-01", "to": "2026-12-01"}, "must be a date"),
            ({"from": today.isoformat()}, "'to' date"),
            ({"from": today.isoformat(), "to": (today - datetime.timedelta(days=3)).isoformat()}, "before it starts"),
            ({"from": today.isoformat(), "to": (today + datetime.timedelta(days=1)).isoformat()}, "after today"),
            ({"from": (today - datetime.timedelta(days=400)).isoformat(), "to": today.isoformat()}, "one year"),
            ({"days": "7", "granularity": "HOURLY"}, "DAILY or MONTHLY"),
        ]
        for params, words in bad:
            response = await owner.get("/console/analytics", **params)
            assert response.status_code == 400, (params, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_request" and words in error["message"], (params, error)
            page = await owner.http.get("/inbox/console/analytics", params=params)
            assert page.status_code == 400 and words in page.text.replace("&#39;", "'"), params
            assert 'id="analytics-error"' in page.text and 'id="period-days"' in page.text
        custom = await owner.get(
            "/console/analytics", **{"from": (today - datetime.timedelta(days=2)).isoformat(), "to": today.isoformat()}
        )
        assert custom.status_code == 200 and len(custom.json()["cost"]) == 3
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


@pytest.fixture
def small_tiers(settings: Settings) -> Settings:
    """Messaging limits of 2 then 4 people, so reaching one person outside the window earns the next tier."""
    return settings.model_copy(update={"business": BusinessSettings(messaging_limit_tiers=[2, 4], sweep_interval_s=0)})


async def test_quality_and_tier_changes_are_in_the_numbers_history(small_tiers: Settings) -> None:
    async with running_server(small_tiers) as server:
        biz = await create_business(server, "History Co")
        await approved_template(server, biz)
        owner = await agent(server, biz, "Olive Owner", role="owner")
        try:
            before = (await owner.get("/console/numbers")).json()["data"]
            assert [(n["quality_rating"], n["messaging_limit_tier"], n["history"]) for n in before] == [
                ("GREEN", "TIER_250", [])
            ]
            # One person reached outside the service window is half the limit of 2: the sweep raises the tier.
            stranger = await server.user("Stranger")
            assert (await send(server, biz, template_body(stranger))).status_code == 200
            await server.container.business_sweeps.sweep_now()
            # Three of six people block the number: its rating drops to YELLOW.
            people = [await server.user(f"P{i}") for i in range(6)]
            for person in people:
                await person_writes(server, person, biz)
                assert (await text_to(server, biz, person)).status_code == 200
            for person in people[:3]:
                blocked = await server.http.post("/client/v1/blocks", headers=person.headers, json={"phone": biz.phone})
                assert blocked.is_success, blocked.text

            [number] = (await owner.get("/console/numbers")).json()["data"]
            assert (number["quality_rating"], number["messaging_limit_tier"], number["messaging_limit"]) == (
                "YELLOW",
                "TIER_2K",
                4,
            )
            quality, tier = number["history"]  # newest first
            assert (quality["kind"], quality["event"], quality["from"], quality["to"]) == (
                "quality",
                "DOWNGRADE",
                "GREEN",
                "YELLOW",
            )
            assert quality["reason"] == "3 blocks or reports among 7 people messaged in the last 7 days"
            assert (tier["kind"], tier["from"], tier["to"]) == ("tier", "TIER_250", "TIER_2K")
            assert "reached 1 person outside the service window" in tier["reason"]
            # The webhook fired at the same point (one per change).
            graph_number = (await server.http.get(f"{V}/{biz.phone_number_id}", headers=biz.headers)).json()
            assert graph_number["quality_rating"] == number["quality_rating"]

            page = (await owner.http.get("/inbox/console/numbers")).text
            assert "Yellow · medium quality" in page
            assert page.count('class="history-row"') == 2
            assert "GREEN → YELLOW" in page and "TIER_250 → TIER_2K" in page
            assert "3 blocks or reports among 7 people" in page
        finally:
            await owner.http.aclose()


async def test_with_billing_off_the_overview_opens_no_wallet(settings: Settings) -> None:
    async with running_server(settings.model_copy(update={"billing": BillingSettings(enabled=False)})) as server:
        biz = await create_business(server, "Free Co")
        owner = await agent(server, biz, "Olive Owner", role="owner")
        try:
            overview = (await owner.get("/console/overview")).json()
            assert overview["balance"] is None and overview["billing_enabled"] is False
            page = (await owner.http.get("/inbox/console")).text
            assert "Billing is switched off" in page and 'id="balance"' not in page
            wallet = await server.container.db.read(
                lambda conn: server.container.billing.journal.account(conn, wallet_key(int(biz.waba_id)))
            )
            assert wallet is None  # looking did not open one (nor post a trial credit)
        finally:
            await owner.http.aclose()
