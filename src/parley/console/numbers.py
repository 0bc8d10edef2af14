"""The console's numbers: quality rating, messaging-limit tier, throughput, status and the history of changes
(`GET /inbox/api/console/numbers`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parley.business import NumberStanding
from parley.console.access import ConsoleDep
from parley.http import ContainerDep

router = APIRouter(prefix="/inbox/api/console/numbers", tags=["business console"])


def standing_json(n: NumberStanding) -> dict[str, Any]:
    return {
        "id": str(n.id),
        "display_phone_number": n.display_phone_number,
        "verified_name": n.verified_name,
        "quality_rating": n.quality_rating,
        "status": n.status,
        "throughput": {"level": n.throughput_level, "messages_per_second": n.throughput_mps},
        "messaging_limit_tier": n.messaging_tier,
        "messaging_limit": n.tier_limit,  # unique people per rolling 24 h; null: unlimited
        "reached_last_24h": n.reached_24h,
        "history": [
            {
                "at": change.created_at,
                "kind": change.kind,
                "event": change.event,
                "from": change.old_value,
                "to": change.new_value,
                "reason": change.reason,
            }
            for change in n.history
        ],
    }


@router.get("", summary="The business's numbers with quality, tier, throughput and their history")
async def numbers(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": [standing_json(n) for n in await container.business.number_standings(ctx.waba_id)]}
