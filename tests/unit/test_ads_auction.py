"""The slot auction's promises, over arbitrary bids: nobody pays above their bid, the winner pays at least the
reserve it cleared, and its price is the least bid that would still have won."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parley.ads import auction
from parley.ads.auction import Bid, run_auction, second_price

bids = st.builds(
    Bid,
    ad_id=st.integers(1, 10_000),
    bid=st.integers(0, 50_000_000),
    rate=st.one_of(st.just(1.0), st.floats(0.0001, 1.0)),
    quality=st.floats(0.0, 1.0),
)


@settings(max_examples=500)
@given(st.lists(bids, min_size=1, max_size=8, unique_by=lambda b: b.ad_id), st.integers(0, 5_000))
def test_the_winner_never_pays_above_its_bid_nor_below_the_reserve(entries: list[Bid], reserve: int) -> None:
    outcome = run_auction(entries, {b.ad_id: reserve for b in entries})
    eligible = [b for b in entries if b.bid >= reserve and b.bid > 0]
    if not eligible:
        assert outcome is None
        return
    assert outcome is not None
    winner, price = outcome
    assert isinstance(price, int)
    assert reserve <= price <= winner.bid
    assert winner.value == max(b.value for b in eligible)


@settings(max_examples=500)
@given(bids, bids)
def test_the_price_is_the_least_bid_that_still_wins(first: Bid, second: Bid) -> None:
    if first.ad_id == second.ad_id or first.bid == 0 or second.bid == 0:
        return
    outcome = run_auction([first, second], {})
    assert outcome is not None
    winner, price = outcome
    runner = second if winner is first else first
    # With its bid lowered to the price, the winner still matches the runner-up's value (floor rounding can
    # only lower the price, by less than one micro per billed event).
    lowered = Bid(winner.ad_id, price, winner.rate, winner.quality)
    if price < winner.bid:
        assert price == 0 or lowered.value <= runner.value + 1e-6
        assert Bid(winner.ad_id, price + 1, winner.rate, winner.quality).value >= runner.value - 1e-6


def test_a_lone_bidder_pays_the_reserve() -> None:
    only = Bid(1, 8_000, 1.0, 0.0)
    assert second_price(only, None, 500) == 500


def test_quality_lowers_what_the_winner_pays() -> None:
    runner = Bid(2, 4_000, 1.0, 0.0)
    plain = second_price(Bid(1, 6_000, 1.0, 0.0), runner.value, 0)
    good = second_price(Bid(1, 6_000, 1.0, 1.0), runner.value, 0)
    assert plain == 4_000 and good == 4_000 - int(auction.QUALITY_WEIGHT_MICROS)


def test_a_click_bid_competes_by_its_expected_value_per_impression() -> None:
    # 0.50 per click at a 2 % click rate is worth 10,000 micros per impression: it beats a 9.00 CPM.
    click = Bid(1, 500_000, 0.02, 0.0)
    cpm = Bid(2, 9_000, 1.0, 0.0)
    outcome = run_auction([click, cpm], {})
    assert outcome is not None and outcome[0] is click
    assert outcome[1] == 450_000  # 9,000 / 0.02: the click price that would have tied


def test_click_rates_learn_from_observed_clicks() -> None:
    assert auction.estimated_ctr(0, 0) == 0.01
    assert auction.estimated_ctr(50, 1_000) > 0.04
    assert auction.estimated_ctr(0, 10_000) < 0.001


@given(st.integers(1, 10_000_000), st.integers(0, 500), st.integers(0, 10**10))
def test_cost_cap_keeps_the_average_cost_within_the_cap(cap: int, events: int, spent: int) -> None:
    spent = min(spent, cap * events)  # an average within the cap so far
    bid = auction.effective_bid(
        auction.COST_CAP, auction.CLICKS, cap, events=events, spent=spent, budget_per_day=0, pace_ratio=1.0
    )
    # Whatever the next event costs up to the bid, the average stays within the cap.
    assert (spent + bid) <= cap * (events + 1)


def test_bid_cap_bids_the_cap_per_event() -> None:
    assert (
        auction.effective_bid(
            auction.BID_CAP, auction.IMPRESSIONS, 5_000_000, events=0, spent=0, budget_per_day=0, pace_ratio=1.0
        )
        == 5_000
    )  # a 5.00 CPM is 5,000 micros per impression


def test_automatic_bids_up_when_behind_and_down_when_ahead() -> None:
    def auto(ratio: float) -> int:
        return auction.effective_bid(
            auction.AUTOMATIC, auction.IMPRESSIONS, None, events=0, spent=0, budget_per_day=10_000_000, pace_ratio=ratio
        )

    assert auto(1.0) == 10_000 and auto(5.0) == 20_000 and auto(0.1) == 5_000
