"""The console's Payments page (Parley Pay, for a merchant): what the platform owes the business (its payable),
what the next payout can take and what is still held, its payouts and disputes, and a month's statement."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from parley import payments
from parley.console import payments as console_payments_api
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.errors import AppError
from parley.kit.money import format_amount, minor_units

if TYPE_CHECKING:
    from parley.web.console_pages import ConsolePages

_STATUS_LABELS = {"pending": "sent to the bank", "paid": "paid", "failed": "returned by the bank"}


def _money(micros: int, currency: str) -> str:
    """Exact: a payable may hold fractions of a cent (fees are computed to the micro)."""
    text = format_amount(micros)
    places = minor_units(currency)
    return format_amount(micros, places) if len(text.partition(".")[2]) <= places else text


def build_router(pages: ConsolePages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page_data(request: Request, container: Any, ctx: AgentContext) -> dict[str, Any]:
        today = datetime.datetime.fromtimestamp(container.clock.now_ms() / 1000, datetime.UTC).date()
        month = request.query_params.get("month") or today.strftime("%Y-%m")
        views: list[payments.PayableView] = await container.payouts.payables(ctx.waba_id)
        currencies = [v.currency for v in views]
        currency = request.query_params.get("currency") or (currencies[0] if currencies else "")
        statement, error = None, None
        if currency:
            try:
                statement = await payments.merchant_statement(
                    container.db, container.ledger.journal, ctx.waba_id, month, currency
                )
            except AppError as exc:
                error = exc.message
        settings = container.payouts.settings
        return {
            "payables": [
                {
                    "currency": v.currency,
                    "balance": _money(v.balance, v.currency),
                    "owed": _money(-v.balance, v.currency) if v.balance < 0 else None,
                    "available": _money(v.available, v.currency),
                    "held": _money(v.held, v.currency),
                }
                for v in views
            ],
            "delay_days": settings.delay_days,
            "minimum": settings.minimum,
            "payouts_enabled": container.payouts.bank is not None,
            "payouts": [
                {
                    "id": str(p.id),
                    "period": p.period,
                    "amount": _money(p.amount, p.currency),
                    "currency": p.currency,
                    "status": p.status,
                    "status_label": _STATUS_LABELS.get(p.status, p.status),
                    "detail": p.bank_reference or p.failure_reason or "",
                }
                for p in await container.payouts.payouts_of(ctx.waba_id, 20)
            ],
            "disputes": [
                {
                    "id": str(d.id),
                    "opened": datetime.datetime.fromtimestamp(d.created_at / 1000, datetime.UTC).date().isoformat(),
                    "reference": d.reference_id or "",
                    "amount": _money(d.amount, d.currency),
                    "currency": d.currency,
                    "status": d.status,
                    "reason": d.reason or "",
                }
                for d in await container.disputes.list(ctx.waba_id, 20)
            ],
            # Paid orders with a Refund action (console-refunds.js posts to /inbox/api/console/payments/...).
            "orders": [
                console_payments_api.order_view(o) for o in await container.merchant_payments.paid_orders(ctx.waba_id)
            ],
            "month": month,
            "currency": currency,
            "currencies": currencies,
            "statement": None
            if statement is None
            else [
                {"key": key, "label": label, "amount": _money(amount, statement.currency)}
                for key, label, amount in statement.lines()
            ],
            "statement_error": error,
        }

    @router.get("/inbox/console/payments", response_class=HTMLResponse)
    async def payments_page(request: Request, container: ContainerDep) -> Response:
        return await pages.page(request, container, "payments", "Payments", "console/payments.html", page_data)

    return router
