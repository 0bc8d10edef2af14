"""Budget pacing, pure: whether an ad set may take part in an auction now.

`standard` pacing spends a daily budget evenly through the ad account's day: an ad set takes part only while its
spend so far is ≤ budget × the elapsed fraction of the day + an allowance of budget / 1000 (so the first minutes
of a day can serve at all). A lifetime budget is spread the same way over start..end. `no_pacing` takes part
whenever budget is left. Every event is checked before it is served and its charge never exceeds its bid, so
spend exceeds a budget by at most one event's price.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

ALLOWANCE_DIVISOR = 1000  # the allowance ahead of the even line: budget / 1000
DAY_MS = 86_400_000


@lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class DayPosition:
    day: str  # YYYY-MM-DD in the account's time zone
    start_ms: int
    end_ms: int

    def fraction(self, now_ms: int) -> float:
        """The elapsed fraction of the day (0..1); days of 23 or 25 hours are counted as they are."""
        return min(1.0, max(0.0, (now_ms - self.start_ms) / max(1, self.end_ms - self.start_ms)))


def day_of(now_ms: int, timezone: str) -> DayPosition:
    """The account's local day containing `now_ms`, with its start and end instants."""
    zone = _zone(timezone)
    local = datetime.datetime.fromtimestamp(now_ms / 1000, zone)
    start = datetime.datetime(local.year, local.month, local.day, tzinfo=zone)
    following = (start + datetime.timedelta(days=1)).date()
    end = datetime.datetime(following.year, following.month, following.day, tzinfo=zone)
    return DayPosition(local.date().isoformat(), int(start.timestamp() * 1000), int(end.timestamp() * 1000))


def allowed_so_far(budget: int, fraction: float) -> float:
    """What standard pacing lets an ad set have spent by this point of its period."""
    return budget * fraction + budget / ALLOWANCE_DIVISOR


def may_serve(pacing: str, budget: int, spent: int, fraction: float, price: int) -> bool:
    """Whether an ad set whose (daily or lifetime) spend is `spent` may serve one more event that costs at most
    `price`: budget left (spent < budget, so the overshoot is below one event's price) and, for standard pacing,
    not ahead of the even line."""
    if price <= 0 or spent >= budget:
        return False
    if pacing == "no_pacing":
        return True
    return spent <= allowed_so_far(budget, fraction)


def lifetime_fraction(now_ms: int, start_ms: int, end_ms: int | None) -> float:
    """The elapsed fraction of a lifetime budget's schedule (1 when it has no end: nothing to spread over)."""
    if end_ms is None or end_ms <= start_ms:
        return 1.0
    return min(1.0, max(0.0, (now_ms - start_ms) / (end_ms - start_ms)))


def pace_ratio(pacing: str, budget: int, spent: int, fraction: float) -> float:
    """Allowed-so-far ÷ spent: above 1 behind schedule, below 1 ahead (the automatic bid's scale)."""
    if pacing == "no_pacing":
        return 1.0
    return allowed_so_far(budget, fraction) / max(1.0, float(spent))


def under_frequency_cap(seen_today: int, cap: int) -> bool:
    """At most `cap` impressions of an ad set per viewer per day (a cap of 0 or less: no cap)."""
    return cap <= 0 or seen_today < cap
