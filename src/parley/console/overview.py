"""The console's overview: balance, this month's spend by category and market, conversations and messages,
each number's quality at a glance. `GET /inbox/api/console/overview`; the page renders the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from parley.billing import Balance
from parley.business import NumberStanding
from parley.console.access import ConsoleDep
from parley.console.figures import Analytics, analytics_for, month_to_date
from parley.http import ContainerDep
from parley.kit.money import format_amount

router = APIRouter(prefix="/inbox/api/console/overview", tags=["business console"])


@dataclass(frozen=True)
class Overview:
    balance: Balance | None  # None when billing is off: viewing must not open a wallet
    month: Analytics  # this month so far, in the business's time zone
    numbers: list[NumberStanding]
    billing_enabled: bool


async def overview_of(container: Any, waba_id: int) -> Overview:
    timezone = (await container.billing.billing_profile(waba_id)).timezone
    month = await analytics_for(container, waba_id, month_to_date(timezone, container.clock.now_ms()))
    return Overview(
        await container.billing.balance(waba_id) if container.billing.enabled else None,
        month,
        await container.business.number_standings(waba_id, history_limit=0),
        container.billing.enabled,
    )


@router.get("", summary="Balance, this month's spend and conversations, and the numbers' quality")
async def overview(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    found = await overview_of(container, ctx.waba_id)
    month, balance = found.month, found.balance
    return {
        "currency": month.currency,
        "timezone": month.period.timezone,
        "month": month.period.first.strftime("%Y-%m"),
        "billing_enabled": found.billing_enabled,
        "balance": None
        if balance is None
        else {
            "balance": format_amount(balance.balance),
            "held": format_amount(balance.held),
            "credit_line": format_amount(balance.credit_line),
            "available": format_amount(balance.available),
        },
        "spend": {
            "total": format_amount(month.cost.total),
            "by_category": {c: format_amount(month.cost.column_total(c)) for c in month.cost.categories},
            "by_market": {
                key: format_amount(month.market_cost.row_total(i)) for i, key in enumerate(month.market_cost.keys)
            },
        },
        "messages": {"total": month.volume.total, "by_pricing_type": month.pricing_types},
        "conversations": month.conversation_kinds,
        "numbers": [
            {
                "id": str(n.id),
                "display_phone_number": n.display_phone_number,
                "verified_name": n.verified_name,
                "quality_rating": n.quality_rating,
                "status": n.status,
                "messaging_limit_tier": n.messaging_tier,
            }
            for n in found.numbers
        ],
    }
