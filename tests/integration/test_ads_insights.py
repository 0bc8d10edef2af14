"""Insights over real HTTP: Meta's shape per level and per day of the account's time zone, the CSV, and every
bad input refused with Graph error 100."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.ads_attrib_seed import Ad, AdsSeed
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business

DAY_MS = 86_400_000


def _ms(day: datetime) -> int:
    return int(day.timestamp() * 1000)


async def _setup(server: LiveServer, timezone: str = "UTC") -> tuple[Biz, list[Ad], datetime]:
    """Two ads of one campaign; day 1 (two days ago, local): ad 1 shown 5 times to 4 viewers ($4 of impressions
    and a $0.50 click), a chat started and a $9 purchase; day 2: ad 2 shown twice ($1)."""
    biz = await create_business(server)
    seed = AdsSeed(server)
    ads = await seed.full(biz.waba_id, biz.phone_number_id, ads_count=2, timezone=timezone)
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(server.clock.now_ms() / 1000, zone).date()
    day1 = datetime.combine(today - timedelta(days=2), datetime.min.time(), zone)
    at = _ms(day1) + 3_600_000
    for viewer in ("a", "a", "b", "c"):
        await seed.impression(ads[0], viewer, price=1_000_000, at=at)
    await seed.click(ads[0], "d", price=500_000, at=at)
    await seed.conversion(ads[0], "ConversationStarted", at=at, source="chat")
    await seed.conversion(ads[0], "Purchase", 9_000_000, "USD", at=at + 1000, source="payment")
    await seed.conversion(ads[0], "Purchase", 7_000_000, "JPY", at=at + 2000)  # no reporting rate: counted, no value
    for viewer in ("a", "e"):
        await seed.impression(ads[1], viewer, price=500_000, at=at + DAY_MS)
    # Just before day 1 and just after day 2: outside the range asked for.
    await seed.impression(ads[0], "z", price=9_000_000, at=_ms(day1) - 1)
    await seed.impression(ads[0], "z", price=9_000_000, at=_ms(day1) + 2 * DAY_MS)
    return biz, ads, day1


def _range(day1: datetime, days: int = 2) -> str:
    return json.dumps({"since": day1.date().isoformat(), "until": (day1.date() + timedelta(days=days - 1)).isoformat()})


FIELDS = (
    "ad_id,ad_name,impressions,reach,clicks,ctr,spend,cpm,cpc,actions,action_values,purchase_roas,cost_per_action_type"
)


async def test_ad_level_daily_insights_in_metas_shape(server: LiveServer) -> None:
    biz, ads, day1 = await _setup(server)
    answer = await server.http.get(
        f"{V}/act_{ads[0].account_id}/insights",
        headers=biz.headers,
        params={"level": "ad", "time_increment": "1", "time_range": _range(day1), "fields": FIELDS},
    )
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["data"]
    assert first == {
        "ad_id": str(ads[0].id),
        "ad_name": "Ad 1",
        "impressions": "5",
        "reach": "fewer than 100",  # 4 people: below the k-anonymity floor (tests/integration/test_signals.py)
        "clicks": "1",
        "ctr": "20",
        "spend": "4.50",
        "cpm": "900",
        "cpc": "4.5",
        "actions": [
            {"action_type": "onsite_conversion.messaging_conversation_started_7d", "value": "1"},
            {"action_type": "purchase", "value": "2"},
        ],
        "action_values": [{"action_type": "purchase", "value": "9.00"}],
        "purchase_roas": [{"action_type": "omni_purchase", "value": "2"}],
        "cost_per_action_type": [
            {"action_type": "onsite_conversion.messaging_conversation_started_7d", "value": "4.5"},
            {"action_type": "purchase", "value": "2.25"},
        ],
        "date_start": day1.date().isoformat(),
        "date_stop": day1.date().isoformat(),
    }
    assert (second["ad_id"], second["impressions"], second["reach"], second["spend"]) == (
        str(ads[1].id),
        "2",
        "fewer than 100",
        "1.00",
    )
    assert second["date_start"] == (day1.date() + timedelta(days=1)).isoformat()
    assert "actions" not in second


async def test_account_and_campaign_totals_over_the_range(server: LiveServer) -> None:
    biz, ads, day1 = await _setup(server)
    account = await server.http.get(
        f"{V}/act_{ads[0].account_id}/insights",
        headers=biz.headers,
        params={"time_range": _range(day1), "fields": "account_id,impressions,reach,clicks,spend,purchase_roas"},
    )
    assert account.status_code == 200, account.text
    [row] = account.json()["data"]
    assert row["account_id"] == str(ads[0].account_id)
    # Reach counts people (5 here), so it is shown only from 100 on; the advertiser's own events stay exact.
    assert (row["impressions"], row["reach"], row["clicks"], row["spend"]) == ("7", "fewer than 100", "1", "5.50")
    assert row["purchase_roas"] == [{"action_type": "omni_purchase", "value": "1.636364"}]
    campaign = await server.http.get(
        f"{V}/{ads[0].campaign_id}/insights", headers=biz.headers, params={"time_range": _range(day1, 1)}
    )
    assert campaign.status_code == 200, campaign.text
    [row] = campaign.json()["data"]
    assert (row["impressions"], row["spend"]) == ("5", "4.50")
    one_ad = await server.http.get(
        f"{V}/{ads[1].id}/insights", headers=biz.headers, params={"time_range": _range(day1)}
    )
    [row] = one_ad.json()["data"]
    assert row["impressions"] == "2"


async def test_a_purchase_in_another_currency_counts_at_the_operators_reporting_rate(server: LiveServer) -> None:
    """A Brazilian shop's R$50.00 sale against its USD ad account: 50 × 0.18 (the default BRL rate) = $9.00 more
    revenue, so $18.00 over $5.50 of spend."""
    biz, ads, day1 = await _setup(server)
    seed = AdsSeed(server)
    await seed.conversion(ads[0], "Purchase", 50_000_000, "BRL", at=_ms(day1) + 3_700_000, source="payment")
    answer = await server.http.get(
        f"{V}/act_{ads[0].account_id}/insights",
        headers=biz.headers,
        params={"time_range": _range(day1), "fields": "spend,action_values,purchase_roas"},
    )
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["data"]
    assert row["spend"] == "5.50"
    assert row["action_values"] == [{"action_type": "purchase", "value": "18.00"}]
    assert row["purchase_roas"] == [{"action_type": "omni_purchase", "value": "3.272727"}]


async def test_days_are_the_account_time_zone(server: LiveServer) -> None:
    biz, ads, day1 = await _setup(server, "America/Sao_Paulo")
    answer = await server.http.get(
        f"{V}/act_{ads[0].account_id}/insights",
        headers=biz.headers,
        params={"time_increment": "1", "time_range": _range(day1), "fields": "impressions"},
    )
    rows = answer.json()["data"]
    assert [(r["date_start"], r["impressions"]) for r in rows] == [
        (day1.date().isoformat(), "5"),
        ((day1.date() + timedelta(days=1)).isoformat(), "2"),
    ]
    assert datetime.fromtimestamp(_ms(day1) / 1000, UTC).hour == 3  # São Paulo midnight is 03:00 UTC


async def test_bad_insights_queries_are_graph_error_100(server: LiveServer) -> None:
    biz, ads, _ = await _setup(server)
    rival = await create_business(server, "Rival")
    [rival_ad] = await AdsSeed(server).full(rival.waba_id, rival.phone_number_id)
    act = f"{V}/act_{ads[0].account_id}/insights"
    bad: list[tuple[str, dict[str, Any]]] = [
        (act, {"time_range": '{"since":"2026-13-01","until":"2026-13-02"}'}),
        (act, {"time_range": '{"since":"2026-05-02","until":"2026-05-01"}'}),
        (act, {"time_range": '{"since":"2026-01-01","until":"2026-06-01"}'}),
        (act, {"time_range": "last week"}),
        (act, {"level": "universe"}),
        (act, {"fields": "impressions,mood"}),
        (act, {"time_increment": "7"}),
        (f"{V}/{ads[0].id}/insights", {"level": "campaign"}),
        (f"{V}/act_{rival_ad.account_id}/insights", {}),
        (f"{V}/{rival_ad.id}/insights", {}),
        (f"{V}/{rival_ad.campaign_id}/insights", {}),
        (f"{V}/act_nope/insights", {}),
    ]
    for path, params in bad:
        answer = await server.http.get(path, headers=biz.headers, params=params)
        assert answer.status_code == 400, (path, params, answer.text)
        assert answer.json()["error"]["code"] == 100, answer.text
