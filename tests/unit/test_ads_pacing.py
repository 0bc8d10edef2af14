"""Pacing: a daily budget spread evenly through the account's day, never overspent by more than one event."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from parley.ads import auction, pacing
from parley.ads.auction import Bid, run_auction

DAY_MS = 86_400_000
START = 1_790_035_200_000  # 2026-09-22T00:00:00Z


def test_the_day_is_the_account_time_zone_s() -> None:
    sao_paulo = pacing.day_of(START, "America/Sao_Paulo")  # 21:00 of the day before there
    assert sao_paulo.day == "2026-09-21"
    assert round(sao_paulo.fraction(START), 3) == 0.875
    assert pacing.day_of(START, "UTC").fraction(START) == 0.0
    assert pacing.day_of(START, "Not/AZone").day == "2026-09-22"  # an unknown zone falls back to UTC


@settings(max_examples=300)
@given(
    st.integers(1_000, 10**9),
    st.lists(st.tuples(st.integers(1, 5_000_000), st.integers(0, 5_000_000)), min_size=1, max_size=400),
    st.sampled_from(["standard", "no_pacing"]),
)
def test_spend_never_exceeds_the_budget_by_more_than_one_event(
    budget: int, events: list[tuple[int, int]], mode: str
) -> None:
    """Each event: a bid, and a competitor; the charge is the auction's price. Checked before every event."""
    spent = 0
    biggest = 0
    for i, (bid, other) in enumerate(events):
        fraction = min(1.0, i / max(1, len(events) - 1))
        if not pacing.may_serve(mode, budget, spent, fraction, bid):
            continue
        outcome = run_auction([Bid(1, bid, 1.0, 0.0), Bid(2, other, 1.0, 0.0)], {})
        assert outcome is not None
        if outcome[0].ad_id != 1:
            continue
        price = outcome[1]
        assert price <= bid
        spent += price
        biggest = max(biggest, price)
    assert spent <= budget + biggest


def test_standard_pacing_spreads_a_day_within_ten_percent_per_hour() -> None:
    """A simulated day of uniform traffic (a request every 2 s, from the injected clock): each hour's spend is
    within ±10 % of budget / 24."""
    budget = 24_000_000  # 24.00 a day: 1.00 an hour
    rng = random.Random(14)
    spent = 0
    hourly = [0] * 24
    now = START
    while now < START + DAY_MS:
        position = pacing.day_of(now, "UTC")
        bid = 5_000  # 5.00 CPM
        if pacing.may_serve("standard", budget, spent, position.fraction(now), bid):
            competitor = rng.randint(1_000, 6_000)
            outcome = run_auction([Bid(1, bid, 1.0, 0.0), Bid(2, competitor, 1.0, 0.0)], {1: 500, 2: 500})
            if outcome is not None and outcome[0].ad_id == 1:
                spent += outcome[1]
                hourly[(now - START) // 3_600_000] += outcome[1]
        now += 2_000
    assert spent <= budget + bid
    for hour, amount in enumerate(hourly):
        assert abs(amount - budget / 24) <= budget / 24 * 0.10, (hour, amount)


def test_no_pacing_spends_as_fast_as_traffic_allows() -> None:
    assert pacing.may_serve("no_pacing", 1_000_000, 999_999, 0.0, 10)
    assert not pacing.may_serve("standard", 1_000_000, 10_000, 0.0, 10)
    assert not pacing.may_serve("no_pacing", 1_000_000, 1_000_000, 1.0, 10)


def test_a_lifetime_budget_spreads_over_its_schedule() -> None:
    assert pacing.lifetime_fraction(START + DAY_MS, START, START + 4 * DAY_MS) == 0.25
    assert pacing.lifetime_fraction(START, START, None) == 1.0
    assert pacing.may_serve("standard", 4_000_000, 900_000, 0.25, 100)
    assert not pacing.may_serve("standard", 4_000_000, 1_100_000, 0.25, 100)


def test_frequency_cap() -> None:
    assert pacing.under_frequency_cap(2, 3) and not pacing.under_frequency_cap(3, 3)
    assert pacing.under_frequency_cap(1_000, 0)


def test_reserve_for_clicks_matches_the_impression_reserve() -> None:
    assert auction.reserve_per_event(auction.IMPRESSIONS, 500_000, 1.0) == 500
    assert auction.reserve_per_event(auction.CLICKS, 500_000, 0.01) == 50_000
