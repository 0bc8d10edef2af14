"""The console's overview page (`/inbox/console`): what `parley.console.overview` computes, drawn for a person."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from parley.console.figures import PRICING_TYPE_NAMES
from parley.console.overview import overview_of
from parley.inbox import AgentContext
from parley.web.console_figures import breakdown_chart, page_helpers

# The other sections, with what each is for (the overview links to all of them).
SECTION_HINTS = [
    ("/inbox/console/numbers", "Numbers", "Quality rating, messaging limit, throughput and their history"),
    ("/inbox/console/templates", "Templates", "Message templates, their review and quality"),
    ("/inbox/console/billing", "Billing", "Top-ups, spend per day, statements and invoices"),
    ("/inbox/console/developers", "Developers", "Access tokens, webhooks and their delivery log"),
    ("/inbox/console/analytics", "Analytics", "Pricing and conversation analytics over any period"),
]


async def overview_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    found = await overview_of(container, ctx.waba_id)
    month = found.month
    markets = month.market_cost
    ranked = sorted(range(len(markets.keys)), key=lambda i: (-markets.row_total(i), markets.labels[i]))
    return {
        # (country code, name, spend micros, messages) of the month's markets, biggest spend first
        "market_cards": [
            (markets.keys[i], markets.labels[i], markets.row_total(i), month.market_volume.row_total(i)) for i in ranked
        ],
        "overview": found,
        "month": month,
        "month_name": month.period.first.strftime("%B %Y"),
        "market_chart": breakdown_chart(month.market_cost, month.currency),
        "pricing_type_names": PRICING_TYPE_NAMES,
        "section_hints": SECTION_HINTS,
        **page_helpers(month.currency, month.period.timezone),
    }
