"""The slot auction, pure: total value = bid per event × estimated action rate + quality term; the winner pays the
generalized second price, at least the reserve and never above its own bid.

Units: every money figure is integer micros of the ad account's currency *per billed event* (one impression for
IMPRESSIONS billing, whose `bid_amount` is a CPM, so per-impression bid = CPM / 1000; one click for CLICKS
billing). Values are micros per impression (floats while comparing; prices are floored to whole micros, so
rounding never lifts a price above the least winning bid, let alone the bid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

IMPRESSIONS = "IMPRESSIONS"
CLICKS = "CLICKS"

AUTOMATIC = "LOWEST_COST_WITHOUT_CAP"
COST_CAP = "COST_CAP"
BID_CAP = "LOWEST_COST_WITH_BID_CAP"

# The quality term: ads.quality (0..1, set by review) × this many micros per impression. 200 micros is a 0.20
# CPM: enough to break ties between similar bids, never enough to beat a clearly higher bid.
QUALITY_WEIGHT_MICROS = 200.0

# The click-through prior (Beta(α, β)): a new ad is assumed to get 1 click per 100 impressions, worth 100
# impressions of evidence; observed clicks and impressions move it from there.
PRIOR_ALPHA = 1.0
PRIOR_BETA = 99.0


def estimated_ctr(clicks: int, impressions: int, alpha: float = PRIOR_ALPHA, beta: float = PRIOR_BETA) -> float:
    """The posterior mean of P(click | impression) under a Beta(α, β) prior."""
    clicks = max(0, min(clicks, impressions))
    return (alpha + clicks) / (alpha + beta + impressions)


def action_rate(billing_event: str, ctr: float) -> float:
    """P(billed event | impression): 1 for impressions, the estimated click-through rate for clicks."""
    return 1.0 if billing_event == IMPRESSIONS else ctr


def per_event(billing_event: str, bid_amount: int) -> int:
    """`bid_amount` as stored (a CPM for impressions, a per-click price for clicks) in micros per billed event."""
    return bid_amount // 1000 if billing_event == IMPRESSIONS else bid_amount


def reserve_per_event(billing_event: str, reserve_cpm_micros: int, rate: float) -> int:
    """The reserve price of one billed event: the reserve CPM / 1000 for an impression; for a click, the same
    value per impression divided by the click rate (rounded up: the reserve is a floor)."""
    per_impression = reserve_cpm_micros / 1000
    if billing_event == IMPRESSIONS:
        return math.ceil(per_impression)
    return math.ceil(per_impression / max(rate, 1e-9))


def quality_term(quality: float) -> float:
    return max(0.0, quality) * QUALITY_WEIGHT_MICROS


@dataclass(frozen=True)
class Bid:
    """One eligible ad in one auction."""

    ad_id: int
    bid: int  # micros per billed event (already per-event, see per_event)
    rate: float  # P(billed event | impression)
    quality: float

    @property
    def value(self) -> float:
        return self.bid * self.rate + quality_term(self.quality)


def second_price(winner: Bid, runner_up_value: float | None, reserve: int) -> int:
    """What the winner pays per billed event: the least bid that would still have beaten the runner-up,
    (runner-up value − winner's quality term) / winner's action rate, floored to whole micros; at least the
    reserve; never above the winner's own bid."""
    least = 0
    if runner_up_value is not None and winner.rate > 0:
        least = math.floor(max(0.0, runner_up_value - quality_term(winner.quality)) / winner.rate)
    return min(winner.bid, max(reserve, least))


def run_auction(bids: list[Bid], reserves: dict[int, int]) -> tuple[Bid, int] | None:
    """The winner among `bids` and its price, or None when no bid reaches its reserve. `reserves`: per ad id."""
    eligible = [b for b in bids if b.bid >= reserves.get(b.ad_id, 0) and b.bid > 0]
    if not eligible:
        return None
    eligible.sort(key=lambda b: (-b.value, b.ad_id))
    winner = eligible[0]
    runner = eligible[1].value if len(eligible) > 1 else None
    return winner, second_price(winner, runner, reserves.get(winner.ad_id, 0))


def effective_bid(
    strategy: str,
    billing_event: str,
    bid_amount: int | None,
    *,
    events: int,
    spent: int,
    budget_per_day: int,
    pace_ratio: float,
) -> int:
    """The bid per billed event an ad set enters an auction with.

    - LOWEST_COST_WITH_BID_CAP: `bid_amount` (per event), never more.
    - COST_CAP: the running average cost per event must stay ≤ `bid_amount` (the cap). With `events` billed so
      far for `spent`, the next event may cost at most cap × (events + 1) − spent and keep the average within the
      cap; as the charge never exceeds the bid, bidding exactly that (at most 2 × cap) keeps the promise.
    - LOWEST_COST_WITHOUT_CAP (automatic): the daily budget spread over an expected 1,000 impressions (a CPM equal
      to the daily budget) or 100 clicks, scaled by the pace: `pace_ratio` = what pacing allows so far ÷ what was
      spent (clamped to 0.5..2), so an ad set behind its schedule bids up and one ahead bids down.
    """
    if strategy == BID_CAP:
        return per_event(billing_event, bid_amount or 0)
    if strategy == COST_CAP:
        cap = per_event(billing_event, bid_amount or 0)
        return max(0, min(2 * cap, cap * (events + 1) - spent))
    base = budget_per_day / (1000 if billing_event == IMPRESSIONS else 100)
    return max(0, math.floor(base * min(2.0, max(0.5, pace_ratio))))
