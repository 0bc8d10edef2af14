"""The console's Billing page (balance, card top-up, spend per day, statements and invoices, cost preview) and
the statement of a month as the printable page and CSV the statements endpoint gives, behind the session."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parley import billing
from parley.billing.statements import FINAL, parse_period, render_csv, render_html
from parley.console import billing as console_billing
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.errors import AppError
from parley.kit.money import format_amount, minor_units, parse_amount
from parley.web.charts import Chart, Series, bar_chart

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages

# The statement is a standalone printable page with its own inline CSS and no script at all.
_STATEMENT_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_PRESETS = (7, 30, 90)


def category_label(category: str) -> str:
    return category.replace("_", " ").capitalize()


def spend_chart(report: billing.SpendReport, categories: list[str]) -> Chart:
    """Stacked by category, one bar per day. Heights in the currency's minor unit (cents), so a day of a few
    cents still draws a visible bar; every label is the exact amount."""
    step = 10 ** (6 - minor_units(report.currency))
    per_day = {(row.day, row.category): 0 for row in report.rows}
    for row in report.rows:
        per_day[(row.day, row.category)] += row.amount
    series = [
        Series(
            category_label(category),
            "bar-" + category.replace("_", "-"),
            [per_day.get((day, category), 0) / step for day in report.days],
        )
        for category in categories
    ]
    slots = [day.strftime("%d %b") for day in report.days]
    return bar_chart(slots, series, lambda value: format_amount(round(value * step)))


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
        error = None
        try:
            report = await container.billing.daily_spend(
                ctx.waba_id,
                console_billing.parse_day(request.query_params.get("from"), "from"),
                console_billing.parse_day(request.query_params.get("to"), "to"),
            )
        except AppError as exc:
            error = exc.message
            report = await container.billing.daily_spend(ctx.waba_id)
        spend = console_billing.spend_view(report)
        categories = spend["categories"]
        balance = await container.billing.balance(ctx.waba_id)
        today = await container.billing.today(ctx.waba_id)
        places = minor_units(balance.currency)
        settings = container.billing.settings
        recent = await container.payments.recent(payer_kind=console_billing.PAYER, payer_id=ctx.waba_id, limit=5)
        return {
            "balance": console_billing.balance_view(balance),
            "spend": spend,
            "spend_error": error,
            "spend_days": [d for d in spend["days"] if d["messages"]],
            "spend_chart": spend_chart(report, categories),
            "categories": categories,
            "label": category_label,
            "presets": [(n, (today - datetime.timedelta(days=n - 1)).isoformat(), today.isoformat()) for n in _PRESETS],
            "statements": [
                console_billing.statement_view(s)
                for s in await console_billing.business_statements(container, ctx.waba_id)
            ],
            "markets": await container.billing.markets(ctx.waba_id),
            "preview_categories": billing.PREVIEW_CATEGORIES,
            "payments_available": container.payments.available,
            "sandbox": container.payments.provider_name == "sandbox",
            "topup_min": format_amount(parse_amount(settings.topup_min), places),
            "topup_max": format_amount(parse_amount(settings.topup_max), places),
            "recent_payments": [console_billing.payment_view(p) for p in recent],
        }

    @router.get("/inbox/console/billing", response_class=HTMLResponse)
    async def billing_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "billing", "Billing", "console/billing.html", page_data)

    @router.get("/inbox/console/billing/statements/{period}", response_class=HTMLResponse)
    async def statement_page(period: str, request: Request, container: ContainerDep) -> Response:
        """The month's statement as the printable page (default) or `?format=csv`, as the statements endpoint
        renders them, with the invoice number once the month is finalised."""
        ctx = await pages.signed_in(request, container)
        if ctx is None:
            return RedirectResponse("/inbox/login", status_code=303)
        if not ctx.is_admin:
            return await pages.page(request, container, "billing", "Billing", "console/forbidden.html", _nothing)
        wants_csv = request.query_params.get("format") == "csv"
        try:
            statement = await console_billing.business_statement(container, ctx.waba_id, parse_period(period))
        except AppError as exc:
            return _plain(exc.message, exc.status)
        if statement is None:
            return _plain(f"There is no statement for {period}.", 404)
        cache = "private, max-age=86400" if statement.status == FINAL else "private, no-store"
        headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        if wants_csv:
            filename = f"statement-{ctx.waba_id}-{statement.period}.csv"
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
            return Response(render_csv(statement.document), media_type="text/csv; charset=utf-8", headers=headers)
        headers["Content-Security-Policy"] = _STATEMENT_CSP
        return HTMLResponse(render_html(statement.document, statement.invoice_number), headers=headers)

    return router


async def _nothing(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
    return {}


def _plain(message: str, status: int) -> Response:
    return Response(message, status_code=status, media_type="text/plain; charset=utf-8")
