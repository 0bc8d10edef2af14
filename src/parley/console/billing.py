"""The console's billing data: balance, card top-ups through the payment provider, spend per day, statements
with their invoice numbers, and the cost preview of a send. Owners and admins only; writes carry the CSRF
header; money is exact decimal strings of micros, never floats."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr
from sqlalchemy import Connection

from parley import billing, payments
from parley.billing.statements import Statement, StatementBook, has_activity, summary
from parley.console.access import ConsoleDep
from parley.graph import GraphScope
from parley.http import ContainerDep
from parley.inbox import AgentContext
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import parse_id
from parley.kit.money import format_amount

router = APIRouter(prefix="/inbox/api/console/billing", tags=["business console"])

PAYER = "waba"
TOPUP = "wallet_topup"
# Series of the spend chart in this order; a category the card adds later is appended after them.
CATEGORY_ORDER = ("marketing", "utility", "authentication", "authentication_international", "service")


class PaymentCreate(BaseModel):
    """A top-up of the wallet: the amount as a decimal string in the wallet's currency, e.g. "25.00"."""

    model_config = ConfigDict(extra="forbid")
    amount: StrictStr


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    number: StrictStr
    exp_month: StrictInt
    exp_year: StrictInt
    cvc: StrictStr


class PaymentConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    card: CardIn


# --- views shared with the page (parley.web.console_billing) -------------------------------------------------


def balance_view(balance: billing.Balance) -> dict[str, Any]:
    return {
        "currency": balance.currency,
        "balance": format_amount(balance.balance),
        "credit_line": format_amount(balance.credit_line),
        "held": format_amount(balance.held),
        "available": format_amount(balance.available),
    }


def payment_view(payment: payments.PaymentRow) -> dict[str, Any]:
    card = None if payment.card_last4 is None else {"brand": payment.card_brand, "last4": payment.card_last4}
    return {
        "id": str(payment.id),
        "status": payment.status,
        "amount": format_amount(payment.amount),
        "currency": payment.currency,
        "card": card,
        "decline_reason": payment.decline_reason,
        "created_at": payment.created_at,
    }


def categories_of(report: billing.SpendReport) -> list[str]:
    present = {row.category for row in report.rows}
    return [c for c in CATEGORY_ORDER if c in present] + sorted(present - set(CATEGORY_ORDER))


def spend_view(report: billing.SpendReport) -> dict[str, Any]:
    """Per day: the total and each category's amount (exact), and the rows by market behind them."""
    categories = categories_of(report)
    by_day: dict[datetime.date, dict[str, int]] = {day: dict.fromkeys(categories, 0) for day in report.days}
    messages: dict[datetime.date, int] = dict.fromkeys(report.days, 0)
    for row in report.rows:
        by_day[row.day][row.category] += row.amount
        messages[row.day] += row.messages
    return {
        "currency": report.currency,
        "timezone": report.timezone,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "categories": categories,
        "total": format_amount(report.total),
        "days": [
            {
                "day": day.isoformat(),
                "messages": messages[day],
                "total": format_amount(sum(amounts.values())),
                "by_category": {c: format_amount(v) for c, v in amounts.items()},
            }
            for day, amounts in by_day.items()
        ],
        "rows": [
            {
                "day": row.day.isoformat(),
                "category": row.category,
                "market": row.market,
                "messages": row.messages,
                "amount": format_amount(row.amount),
            }
            for row in report.rows
        ],
    }


def statement_links(period: str) -> dict[str, str]:
    base = f"/inbox/console/billing/statements/{period}"
    return {"html": base, "csv": f"{base}?format=csv"}


def statement_view(statement: Statement) -> dict[str, Any]:
    return {**summary(statement), "links": statement_links(statement.period)}


async def business_statements(container: ContainerDep, waba_id: int) -> list[Statement]:
    """The business's months with activity, newest first (finalising and numbering what is due)."""
    waba = await container.business.waba_object(GraphScope(waba_id, 0, 0), waba_id)
    name = "" if waba is None else str(waba["name"])
    found = await StatementBook(container.db, container.billing.journal, container.clock).statements(waba_id, name)
    return [s for s in reversed(found) if has_activity(s.document)]


async def business_statement(container: ContainerDep, waba_id: int, period: str) -> Statement | None:
    waba = await container.business.waba_object(GraphScope(waba_id, 0, 0), waba_id)
    name = "" if waba is None else str(waba["name"])
    return await StatementBook(container.db, container.billing.journal, container.clock).statement(
        waba_id, period, name
    )


def parse_day(raw: str | None, name: str) -> datetime.date | None:
    if raw is None or raw == "":
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(f"{name} is a day written YYYY-MM-DD, not {raw[:16]!r}") from None


def preview_view(estimate: billing.Estimate, category: str) -> dict[str, Any]:
    quote = estimate.quote
    return {"category": category, "billed_as": quote.category, **billing.cost_view(estimate)}


# --- routes ----------------------------------------------------------------------------------------------------


@router.get("/balance", summary="The wallet: balance, credit line, held for sends in flight, available")
async def get_balance(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return balance_view(await container.billing.balance(ctx.waba_id))


@router.post("/payments", summary="Start a card top-up of the wallet (confirm it with the card next)")
async def create_payment(
    body: PaymentCreate,
    ctx: ConsoleDep,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> dict[str, Any]:
    balance = await container.billing.balance(ctx.waba_id)
    amount = container.billing.topup_amount(body.amount, balance.currency)
    payment = await container.payments.create(
        payer_kind=PAYER,
        payer_id=ctx.waba_id,
        purpose=TOPUP,
        amount=amount,
        currency=balance.currency,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        created_by=ctx.agent_id,
    )
    return payment_view(payment)


@router.get("/payments", summary="Recent card top-ups, newest first")
async def list_payments(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    found = await container.payments.recent(payer_kind=PAYER, payer_id=ctx.waba_id)
    return {"data": [payment_view(p) for p in found]}


@router.get("/payments/{payment_id}", summary="One card top-up")
async def get_payment(payment_id: str, ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return payment_view(await container.payments.get(_payment_id(payment_id), payer_kind=PAYER, payer_id=ctx.waba_id))


@router.post(
    "/payments/{payment_id}/confirm",
    summary="Pay with a card; the wallet is credited once, when the provider says the payment succeeded",
    responses={402: {"description": "The card was declined (the reason is the message); nothing was credited"}},
)
async def confirm_payment(
    payment_id: str, body: PaymentConfirm, ctx: ConsoleDep, container: ContainerDep
) -> dict[str, Any]:
    card = payments.checked_card(body.card.number, body.card.exp_month, body.card.exp_year, body.card.cvc)
    paid = await container.payments.confirm(
        _payment_id(payment_id),
        card,
        payer_kind=PAYER,
        payer_id=ctx.waba_id,
        on_succeeded=lambda conn, payment: _credit_wallet(container, ctx, conn, payment),
    )
    return {"payment": payment_view(paid), "balance": balance_view(await container.billing.balance(ctx.waba_id))}


def _credit_wallet(container: ContainerDep, ctx: AgentContext, conn: Connection, payment: payments.PaymentRow) -> None:
    """In the unit that records the success: the payment's id is the top-up's reference, so it credits once."""
    card = f"{payment.card_brand} ending {payment.card_last4}"
    container.billing.topup_in(
        conn,
        ctx.waba_id,
        payment.amount,
        f"payment:{payment.id}",
        refs={
            "reference": f"card payment {payment.id}, {card}",
            "payment_id": str(payment.id),
            "provider": payment.provider,
            "card_brand": payment.card_brand,
            "card_last4": payment.card_last4,
            "agent_id": ctx.agent_id,
        },
    )


def _payment_id(raw: str) -> int:
    found = parse_id(raw)
    if found is None:
        raise NotFoundError("no such payment")
    return found


@router.get("/spend", summary="Charges per day and pricing category (default: the last 30 days)")
async def get_spend(
    ctx: ConsoleDep,
    container: ContainerDep,
    since: Annotated[str | None, Query(alias="from", max_length=16)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=16)] = None,
) -> dict[str, Any]:
    report = await container.billing.daily_spend(ctx.waba_id, parse_day(since, "from"), parse_day(until, "to"))
    return spend_view(report)


@router.get("/statements", summary="Months with activity: statement links (HTML, CSV) and invoice numbers")
async def list_statements(ctx: ConsoleDep, container: ContainerDep) -> dict[str, Any]:
    return {"data": [statement_view(s) for s in await business_statements(container, ctx.waba_id)]}


@router.get("/cost-preview", summary="What one delivered template of a category would cost, to a number or market")
async def cost_preview(
    ctx: ConsoleDep,
    container: ContainerDep,
    category: Annotated[str, Query(max_length=32)],
    to: Annotated[str | None, Query(max_length=32)] = None,
    market: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    estimate = await container.billing.preview_cost(ctx.waba_id, category, phone=to or None, market=market or None)
    return preview_view(estimate, category)
