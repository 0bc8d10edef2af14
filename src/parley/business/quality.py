"""Quality rating and messaging-limit tiers of business numbers, as Meta runs them (cloud-api.md §6).

Rules (stated here, tested in tests/integration/test_business_quality.py):
- A person blocking or reporting a business number is a negative signal. Over the rolling quality window
  (7 days), with S signals among P people the business messaged in that window:
  RED when S >= 5 and S/P >= 5 %; YELLOW when S >= 3 and S/P >= 2 %; GREEN otherwise. RED flags the
  number (status FLAGGED); it is CONNECTED again once its rating is back to YELLOW or GREEN. Signals age
  out of the window, so ratings recover on their own.
- The signal also counts against the last template the person received from that number in the window
  (templates pause on poor quality: parley.templates).
- Messaging limits: unique people reached outside the customer service window per rolling 24 h, per business
  account: 250 -> 2,000 -> 10,000 -> 100,000 -> unlimited. A business is raised one tier when no number of
  it is RED and it reached at least half its current limit within the last 7 days (checked by the periodic
  sweep, so "within 6 hours" as Meta promises).
- Throughput: 80 messages/s per number; a number of an unlimited business that reached 100,000 unique people
  in 24 h with quality at least YELLOW is raised to 1,000 messages/s.
Every change is reported by webhook: `phone_number_quality_update` (FLAGGED / UNFLAGGED / UPGRADE /
THROUGHPUT_UPGRADE with the current tier) and `business_capability_update` for tier changes, and recorded in
the number's history with its reason (one row per number and change), in the same unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, distinct, func, insert, select

from parley.business import repository as repo
from parley.business.identity import wa_id
from parley.business.models import business_messages, quality_signals
from parley.business.policy import CSW_MS, DEFAULT_TIERS, UNLIMITED_TIER, tier_limit, tier_name

DAY_MS = 24 * 3_600_000
HIGH_THROUGHPUT_MPS = 1000
HIGH_THROUGHPUT_REACH = 100_000

Enqueue = Callable[[Connection, int, str, dict[str, Any], int | None], None]
NewId = Callable[[], int]
# Told which number's row a unit changed, so cached copies of it are forgotten (BusinessNumbers.changed_in).
NumberChanged = Callable[[int], None]


def _note(
    conn: Connection,
    new_id: NewId,
    number: repo.NumberRow,
    kind: str,
    event: str,
    change: tuple[str, str],
    reason: str,
    now: int,
) -> None:
    old, new = change
    repo.insert_number_change(
        conn, repo.NumberChangeRow(new_id(), number.id, number.waba_id, kind, event, old, new, reason, now)
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def rating_for(signals: int, people: int) -> str:
    ratio = signals / max(people, 1)
    if signals >= 5 and ratio >= 0.05:
        return "RED"
    if signals >= 3 and ratio >= 0.02:
        return "YELLOW"
    return "GREEN"


def record_signal(
    conn: Connection,
    signal_id: int,
    number: repo.NumberRow,
    person_id: int,
    kind: str,
    template_id: int | None,
    now: int,
) -> None:
    conn.execute(
        insert(quality_signals).values(
            id=signal_id,
            phone_number_id=number.id,
            person_id=person_id,
            kind=kind,
            template_id=template_id,
            created_at=now,
        )
    )


def evaluate_number(
    conn: Connection,
    number_id: int,
    window_ms: int,
    now: int,
    enqueue: Enqueue,
    new_id: NewId,
    changed: NumberChanged,
) -> str | None:
    """Recompute one number's rating; the new rating when it changed (and its webhook is enqueued)."""
    number = repo.get_number(conn, number_id)
    if number is None:
        return None
    since = now - window_ms
    signals = int(
        conn.execute(
            select(func.count())
            .select_from(quality_signals)
            .where(quality_signals.c.phone_number_id == number_id, quality_signals.c.created_at >= since)
        ).scalar_one()
    )
    people = int(
        conn.execute(
            select(func.count(distinct(business_messages.c.person_id))).where(
                business_messages.c.phone_number_id == number_id,
                business_messages.c.direction == "out",
                business_messages.c.created_at >= since,
            )
        ).scalar_one()
    )
    rating = rating_for(signals, people)
    if rating == number.quality_rating:
        return None
    status = "FLAGGED" if rating == "RED" else "CONNECTED"
    repo.set_number_quality(conn, number_id, rating, status)
    changed(number_id)
    waba = repo.get_waba(conn, number.waba_id)
    tier = tier_name(0 if waba is None else waba.messaging_tier)
    event = "FLAGGED" if rating == "RED" else ("UNFLAGGED" if number.status == "FLAGGED" else "ONBOARDING")
    if rating != "RED" and number.status != "FLAGGED":
        event = "DOWNGRADE" if rating == "YELLOW" else "UPGRADE"
    value = {
        "display_phone_number": wa_id(number.display_phone_number),
        "event": event,
        "current_limit": tier,
        "max_daily_conversations_per_business": tier,
        "quality_rating": rating,
    }
    enqueue(conn, number.waba_id, "phone_number_quality_update", value, number.id)
    reason = (
        f"{_plural(signals, 'block or report', 'blocks or reports')} among "
        f"{_plural(people, 'person', 'people')} messaged in the last {_plural(window_ms // DAY_MS, 'day', 'days')}"
    )
    _note(conn, new_id, number, "quality", event, (number.quality_rating, rating), reason, now)
    return rating


def evaluate_tier(
    conn: Connection, waba_id: int, now: int, enqueue: Enqueue, new_id: NewId, tiers: tuple[int, ...] = DEFAULT_TIERS
) -> int | None:
    """Raise a business one messaging-limit tier when it qualifies; the new tier, or None."""
    waba = repo.get_waba(conn, waba_id)
    if waba is None or waba.messaging_tier >= UNLIMITED_TIER:
        return None
    numbers = repo.numbers_of_waba(conn, waba_id)
    if any(n.quality_rating == "RED" for n in numbers):
        return None
    limit = tier_limit(waba.messaging_tier, tiers)
    assert limit is not None
    reached = repo.count_reached_since(conn, waba_id, now - 7 * DAY_MS)
    if reached * 2 < limit:
        return None
    tier = waba.messaging_tier + 1
    repo.set_waba_tier(conn, waba_id, tier, now)
    name = tier_name(tier)
    reason = (
        f"reached {_plural(reached, 'person', 'people')} outside the service window in 7 days, at least half the limit "
        f"of {limit:,}, with no number rated RED"
    )
    enqueue(conn, waba_id, "business_capability_update", {"max_daily_conversations_per_business": name}, None)
    for number in numbers:
        value = {
            "display_phone_number": wa_id(number.display_phone_number),
            "event": "UPGRADE",
            "current_limit": name,
            "max_daily_conversations_per_business": name,
        }
        enqueue(conn, waba_id, "phone_number_quality_update", value, number.id)
        _note(conn, new_id, number, "tier", "UPGRADE", (tier_name(waba.messaging_tier), name), reason, now)
    return tier


def evaluate_throughput(
    conn: Connection, waba_id: int, now: int, enqueue: Enqueue, new_id: NewId, changed: NumberChanged
) -> list[int]:
    """Numbers raised to 1,000 messages/s (Meta's automatic throughput upgrade)."""
    waba = repo.get_waba(conn, waba_id)
    if waba is None or waba.messaging_tier < UNLIMITED_TIER:
        return []
    reached = repo.count_reached_since(conn, waba_id, now - CSW_MS)
    if reached < HIGH_THROUGHPUT_REACH:
        return []
    raised = []
    for number in repo.numbers_of_waba(conn, waba_id):
        if number.throughput_mps >= HIGH_THROUGHPUT_MPS or number.quality_rating == "RED":
            continue
        repo.set_number_throughput(conn, number.id, HIGH_THROUGHPUT_MPS)
        changed(number.id)
        value = {
            "display_phone_number": wa_id(number.display_phone_number),
            "event": "THROUGHPUT_UPGRADE",
            "max_daily_conversations_per_business": tier_name(waba.messaging_tier),
        }
        enqueue(conn, waba_id, "phone_number_quality_update", value, number.id)
        reason = (
            f"reached {_plural(reached, 'person', 'people')} in 24 h at the unlimited tier, "
            f"quality {number.quality_rating}"
        )
        change = (f"{number.throughput_mps} msg/s", f"{HIGH_THROUGHPUT_MPS} msg/s")
        _note(conn, new_id, number, "throughput", "THROUGHPUT_UPGRADE", change, reason, now)
        raised.append(number.id)
    return raised
