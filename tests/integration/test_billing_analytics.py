"""`pricing_analytics` and `conversation_analytics` on `GET /{waba_id}`: Meta's parameters and shapes, buckets in
the business's time zone, filters and dimensions, scoping to the token, and bad parameters refused with code 100.

Expected figures come from the shipped rate card's 2026 rows as written in the CSV (Germany marketing 0.1365,
India marketing 0.0118), and from a small per-conversation card this test loads.
"""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import LiveServer, User
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

INDIA_MARKETING = Decimal("0.0118")
GERMANY_UTILITY = Decimal("0.0550")
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")  # UTC+05:30: local midnights and half hours are not UTC's
CBP_CARD = (
    "market,country_codes,currency,pricing_model,marketing,utility,authentication,"
    "authentication_international,effective,note\n"
    "India,91,USD,CBP,0.0100,0.0020,0.0020,,2020-01-01,test\n"
    "Germany,49,USD,CBP,0.1000,0.0400,0.0400,,2020-01-01,test\n"
    "Other,none,USD,CBP,0.0500,0.0100,0.0100,,2020-01-01,test\n"
)


async def analytics(server: LiveServer, biz: Biz, fields: str, token_of: Biz | None = None) -> Any:
    return await server.http.get(f"{V}/{biz.waba_id}", headers=(token_of or biz).headers, params={"fields": fields})


def points(response: Any, field: str = "pricing_analytics") -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", field}
    [data] = body[field]["data"]
    return list(data["data_points"])


def _utc_midnight_after(ms: int) -> datetime.datetime:
    now = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return datetime.datetime(now.year, now.month, now.day, tzinfo=datetime.UTC) + datetime.timedelta(days=1)


def advance_to(server: LiveServer, moment: datetime.datetime) -> None:
    server.clock.advance(seconds=(moment.timestamp() * 1000 - server.clock.now_ms()) / 1000)


class Traffic:
    """One business in Kolkata time, billed per message: a marketing template to India at 20:00 UTC (01:30 the
    next day in Kolkata), a free reply inside the window, and a utility template to Germany ten hours later,
    the same Kolkata day but the next UTC day."""

    def __init__(self, server: LiveServer, biz: Biz, priya: User, jonas: User, first: datetime.datetime) -> None:
        self.server, self.biz, self.priya, self.jonas, self.first = server, biz, priya, jonas, first
        self.second = first + datetime.timedelta(hours=10)
        self.start = int((first - datetime.timedelta(days=2)).timestamp())
        self.end = int((self.second + datetime.timedelta(days=2)).timestamp())

    def query(self, field: str = "pricing_analytics", granularity: str = "DAILY", extra: str = "") -> str:
        return f"{field}.start({self.start}).end({self.end}).granularity({granularity}){extra}"


@pytest.fixture
async def traffic(server: LiveServer) -> Traffic:
    biz = await create_business(server, "Analytics Co")
    await server.container.billing.set_billing_profile(int(biz.waba_id), timezone="Asia/Kolkata")
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )
    await approved_template(server, biz)  # UTILITY
    priya = await server.user("Priya", "+919812345602")
    jonas = await server.user("Jonas", "+4915123450302")
    first = _utc_midnight_after(server.clock.now_ms()) + datetime.timedelta(hours=20)
    advance_to(server, first)
    assert (await send(server, biz, template_body(priya, "autumn_sale"))).status_code == 200
    await person_writes(server, priya, biz, "Thanks!")
    assert (await text_to(server, biz, priya, "You're welcome")).status_code == 200
    await ack_all(server, priya)
    advance_to(server, first + datetime.timedelta(hours=10))
    assert (await send(server, biz, template_body(jonas))).status_code == 200
    await ack_all(server, jonas)
    return Traffic(server, biz, priya, jonas, first)


async def test_daily_buckets_follow_the_business_time_zone(traffic: Traffic) -> None:
    daily = points(await analytics(traffic.server, traffic.biz, traffic.query()))
    # Both deliveries fall on one Kolkata day although they are on two UTC days.
    [day] = daily
    local_day = traffic.first.astimezone(KOLKATA).date()
    midnight = datetime.datetime(local_day.year, local_day.month, local_day.day, tzinfo=KOLKATA)
    assert (day["start"], day["end"]) == (int(midnight.timestamp()), int(midnight.timestamp()) + 86_400)
    assert set(day) == {"start", "end", "volume", "cost"}  # no dimension asked, none given
    assert day["volume"] == 3
    assert Decimal(str(day["cost"])) == INDIA_MARKETING + GERMANY_UTILITY

    half_hours = points(await analytics(traffic.server, traffic.biz, traffic.query(granularity="HALF_HOUR")))
    assert [p["end"] - p["start"] for p in half_hours] == [1800, 1800]
    # Kolkata's half hours start at :00 and :30 local time, which are :30 and :00 UTC.
    assert all((p["start"] + 19_800) % 1800 == 0 for p in half_hours)
    assert [p["volume"] for p in half_hours] == [2, 1]

    monthly = points(await analytics(traffic.server, traffic.biz, traffic.query(granularity="MONTHLY")))
    first_of_month = datetime.datetime(local_day.year, local_day.month, 1, tzinfo=KOLKATA)
    assert monthly[0]["start"] == int(first_of_month.timestamp())
    assert sum(p["volume"] for p in monthly) == 3


async def test_dimensions_filters_and_metric_types(traffic: Traffic) -> None:
    server, biz = traffic.server, traffic.biz
    every = '.dimensions(["COUNTRY","PHONE","PRICING_CATEGORY","PRICING_TYPE","TIER"])'
    found = points(await analytics(server, biz, traffic.query(extra=every)))
    number = biz.phone.removeprefix("+")
    by_category = {p["pricing_category"]: p for p in found}
    assert by_category["MARKETING"] == {
        "start": by_category["MARKETING"]["start"],
        "end": by_category["MARKETING"]["end"],
        "country": "IN",
        "phone_number": number,
        "pricing_category": "MARKETING",
        "pricing_type": "REGULAR",
        "tier": "0:MAX",
        "volume": 1,
        "cost": float(INDIA_MARKETING),
    }
    assert by_category["UTILITY"]["tier"] == "0:100000" and by_category["UTILITY"]["country"] == "DE"
    free = by_category["SERVICE"]
    assert (free["pricing_type"], free["cost"], free["volume"]) == ("FREE_CUSTOMER_SERVICE", 0, 1)
    assert "tier" not in free  # only charged messages have a tier

    only_cost = points(await analytics(server, biz, traffic.query(extra='.metric_types(["COST"])')))
    assert all("volume" not in p and "cost" in p for p in only_cost)

    regular = points(await analytics(server, biz, traffic.query(extra=".pricing_types([REGULAR])")))
    assert sum(p["volume"] for p in regular) == 2
    marketing = points(await analytics(server, biz, traffic.query(extra='.pricing_categories(["MARKETING"])')))
    assert [Decimal(str(p["cost"])) for p in marketing] == [INDIA_MARKETING]
    germany = points(await analytics(server, biz, traffic.query(extra='.country_codes(["de"]).dimensions([COUNTRY])')))
    assert [(p["country"], p["volume"]) for p in germany] == [("DE", 1)]
    mine = points(await analytics(server, biz, traffic.query(extra=f'.phone_numbers(["{number}"])')))
    assert sum(p["volume"] for p in mine) == 3
    elsewhere = points(await analytics(server, biz, traffic.query(extra='.phone_numbers(["14155550000"])')))
    assert elsewhere == []

    # Per-message businesses have no conversations to report; other fields still answer next to analytics.
    both = await analytics(server, biz, f"name,{traffic.query('conversation_analytics')}")
    assert both.json()["name"] == "Analytics Co"
    assert both.json()["conversation_analytics"] == {"data": [{"data_points": []}]}


async def test_conversation_analytics_of_a_business_billed_per_conversation(server: LiveServer) -> None:
    biz = await create_business(server, "Per Conversation")
    await server.container.billing.load_card(
        CBP_CARD, price_list="cbp-test", source="test.csv", effective=datetime.date(2020, 1, 1)
    )
    await server.container.billing.set_billing_profile(int(biz.waba_id), price_list="cbp-test")
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )
    priya, jonas = await server.user("Priya", "+919812345603"), await server.user("Jonas", "+4915123450303")
    start = server.clock.now_ms() // 1000
    for _ in range(2):  # the second falls inside the first's 24 h conversation
        assert (await send(server, biz, template_body(priya, "autumn_sale"))).status_code == 200
        server.clock.advance(seconds=10)
    await ack_all(server, priya)
    await person_writes(server, jonas, biz, "Hello?")
    assert (await text_to(server, biz, jonas, "Hello!")).status_code == 200  # a free service conversation
    assert (await send(server, biz, template_body(jonas, "autumn_sale"))).status_code == 200
    await ack_all(server, jonas)
    end = server.clock.now_ms() // 1000 + 60
    query = (
        f"conversation_analytics.start({start}).end({end}).granularity(DAILY)"
        '.dimensions(["CONVERSATION_TYPE","CONVERSATION_CATEGORY","CONVERSATION_DIRECTION","COUNTRY"])'
    )
    found = points(await analytics(server, biz, query), "conversation_analytics")
    summary = sorted(
        (
            p["country"],
            p["conversation_type"],
            p["conversation_category"],
            p["conversation_direction"],
            p["conversation"],
        )
        for p in found
    )
    assert summary == [
        ("DE", "FREE_TIER", "SERVICE", "USER_INITIATED", 1),
        ("DE", "REGULAR", "MARKETING", "BUSINESS_INITIATED", 1),
        ("IN", "REGULAR", "MARKETING", "BUSINESS_INITIATED", 1),
    ]
    assert sum(Decimal(str(p["cost"])) for p in found) == Decimal("0.1100")  # India 0.01 + Germany 0.10
    balance = await server.container.billing.balance(int(biz.waba_id))
    assert Decimal(10) - Decimal(balance.balance) / 1_000_000 == Decimal("0.1100")  # the ledger agrees

    regular_cost = points(
        await analytics(
            server,
            biz,
            f"conversation_analytics.start({start}).end({end}).granularity(MONTHLY)"
            ".conversation_types([REGULAR]).metric_types([COST])",
        ),
        "conversation_analytics",
    )
    assert [set(p) for p in regular_cost] == [{"start", "end", "cost"}]
    pricing = points(await analytics(server, biz, f"pricing_analytics.start({start}).end({end}).granularity(DAILY)"))
    assert pricing == []  # nothing was priced per message


@pytest.mark.parametrize(
    "params",
    [
        ".end({end}).granularity(DAILY)",  # no start
        ".start({start}).granularity(DAILY)",  # no end
        ".start({start}).end({end})",  # no granularity
        ".start({start}).end({end}).granularity(WEEKLY)",
        ".start({start}).end({end}).granularity(DAY)",  # the messaging field's word, not this one's
        ".start({end}).end({start}).granularity(DAILY)",  # end before start
        ".start(abc).end({end}).granularity(DAILY)",
        ".start(-5).end({end}).granularity(DAILY)",
        ".start({long_ago}).end({end}).granularity(DAILY)",  # beyond the one-year lookback
        ".start({start}).end({end}).granularity(DAILY).dimensions([FOO])",
        ".start({start}).end({end}).granularity(DAILY).dimensions([COUNTRY)",
        ".start({start}).end({end}).granularity(DAILY).pricing_types([BOGUS])",
        ".start({start}).end({end}).granularity(DAILY).metric_types([CONVERSATION])",
        ".start({start}).end({end}).granularity(DAILY).country_codes([USA])",
        ".start({start}).end({end}).granularity(DAILY).phone_numbers([abc])",
        ".start({start}).end({end}).granularity(DAILY).template_ids([1])",  # not a parameter of this field
    ],
)
async def test_bad_pricing_analytics_parameters_are_refused_with_code_100(server: LiveServer, params: str) -> None:
    biz = await create_business(server)
    now = server.clock.now_ms() // 1000
    filled = params.format(start=now - 86_400, end=now, long_ago=now - 400 * 86_400)
    response = await analytics(server, biz, "pricing_analytics" + filled)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 100 and error["error_data"]["details"]


async def test_bad_conversation_analytics_parameters_are_refused(server: LiveServer) -> None:
    biz = await create_business(server)
    now = server.clock.now_ms() // 1000
    for params in (
        f".start({now - 60}).end({now}).granularity(DAILY).conversation_types([PAID])",
        f".start({now - 60}).end({now}).granularity(DAILY).dimensions([TIER])",  # a pricing dimension
        f".start({now - 60}).end({now}).granularity(DAILY).pricing_types([REGULAR])",
    ):
        response = await analytics(server, biz, "conversation_analytics" + params)
        assert response.status_code == 400 and response.json()["error"]["code"] == 100, params


async def test_analytics_of_another_business_are_not_found(server: LiveServer) -> None:
    mine, theirs = await create_business(server, "Mine"), await create_business(server, "Theirs")
    now = server.clock.now_ms() // 1000
    response = await analytics(
        server, theirs, f"pricing_analytics.start({now - 60}).end({now}).granularity(DAILY)", token_of=mine
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100 and response.json()["error"]["error_subcode"] == 33
    # Bad parameters on an object the token cannot read still say "not found", never what the object holds.
    hidden = await analytics(server, theirs, "pricing_analytics.granularity(WEEKLY)", token_of=mine)
    assert hidden.json()["error"]["error_subcode"] == 33
