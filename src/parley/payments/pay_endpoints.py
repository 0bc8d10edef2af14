"""Client API of Parley Pay for people: wallets, top-ups and withdrawals, the payment PIN, and payments in a chat.

Amounts are decimal strings in the currency ("12.50"), never floats; money-moving requests take an
`Idempotency-Key` header, and a retry answers the first result without moving anything again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from parley.http import ERROR_RESPONSES, ContainerDep, PrincipalDep
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.money import format_amount, minor_units
from parley.payments.provider import (
    CardDetails,
    PaymentMethod,
    PayoutDestination,
    checked_card,
    checked_pix_key,
    checked_vpa,
)
from parley.payments.transfers import Party, PaymentView
from parley.payments.wallet_repository import FundingRow
from parley.payments.wallets import Movement, WalletStatement

router = APIRouter(prefix="/client/v1", tags=["parley pay"], responses=ERROR_RESPONSES)
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
PAYMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    402: {"description": "Not enough money in the wallet, or the provider declined; nothing moved"},
    422: {"description": "Over a market cap (the message names it), or not a 1:1 chat between people"},
}


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    number: StrictStr
    exp_month: StrictInt
    exp_year: StrictInt
    cvc: StrictStr


class TopUpIn(BaseModel):
    """Money in: `method` card (with `card`), upi (with `vpa`, e.g. success@parley) or pix (with `pix_key`)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    amount: StrictStr
    currency: StrictStr = Field(min_length=3, max_length=3)
    method: Literal["card", "upi", "pix"]
    card: CardIn | None = None
    vpa: StrictStr | None = Field(default=None, max_length=100)
    pix_key: StrictStr | None = Field(default=None, max_length=140)


class WithdrawalIn(BaseModel):
    """Money out to the person's own UPI ID or Pix key."""

    model_config = ConfigDict(extra="forbid")
    amount: StrictStr
    currency: StrictStr = Field(min_length=3, max_length=3)
    method: Literal["upi", "pix"]
    vpa: StrictStr | None = Field(default=None, max_length=100)
    pix_key: StrictStr | None = Field(default=None, max_length=140)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    code: StrictStr = Field(max_length=12)


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    pin: StrictStr = Field(max_length=12)
    current_pin: StrictStr | None = Field(default=None, max_length=12)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: StrictStr = Field(max_length=40)
    currency: StrictStr = Field(min_length=3, max_length=3)
    note: StrictStr | None = Field(default=None, max_length=400)
    client_id: StrictStr | None = Field(default=None, max_length=64)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    pin: StrictStr = Field(max_length=12)


# --- views -------------------------------------------------------------------------------------------------------


def _amount(micros: int, currency: str) -> str:
    return format_amount(micros, minor_units(currency))


def funding_view(row: FundingRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": row.direction,
        "method": row.method,
        "handle": row.handle,
        "amount": _amount(row.amount, row.currency),
        "currency": row.currency,
        "status": row.status,
        "failure_reason": row.failure_reason,
        "created_at": row.created_at,
        "completed_at": row.completed_at,
    }


def movement_view(row: Movement) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "amount": _amount(row.amount, row.currency),
        "currency": row.currency,
        "counterparty": row.counterparty,
        "reference": row.reference,
        "timestamp": row.created_at,
    }


def statement_view(statement: WalletStatement) -> dict[str, Any]:
    cur = statement.currency
    return {
        "period": statement.period,
        "currency": cur,
        "opening_balance": _amount(statement.opening, cur),
        "closing_balance": _amount(statement.closing, cur),
        "money_in": _amount(sum(m.amount for m in statement.movements if m.amount > 0), cur),
        "money_out": _amount(-sum(m.amount for m in statement.movements if m.amount < 0), cur),
        "movements": [movement_view(m) for m in statement.movements],
    }


def _party(party: Party) -> dict[str, Any]:
    return {"user_id": str(party.user_id), "name": party.name, "phone": party.phone}


def payment_view(view: PaymentView) -> dict[str, Any]:
    p = view.payment
    receipt = None
    if p.status == "completed":
        receipt = {
            "number": f"PP-{p.id}",
            "amount": _amount(p.amount, p.currency),
            "currency": p.currency,
            "fee": _amount(0, p.currency),  # payments between people are free
            "from": _party(view.payer),
            "to": _party(view.payee),
            "note": p.note,
            "completed_at": p.completed_at,
        }
    return {
        "id": str(p.id),
        "chat_id": str(p.chat_id),
        "amount": _amount(p.amount, p.currency),
        "currency": p.currency,
        "note": p.note,
        "status": p.status,
        "payer": _party(view.payer),
        "payee": _party(view.payee),
        "message_id": None if p.message_id is None else str(p.message_id),
        "created_at": p.created_at,
        "receipt": receipt,
    }


def _method(body: TopUpIn | WithdrawalIn) -> PaymentMethod:
    if body.method == "upi":
        if body.vpa is None:
            raise InvalidInputError("a UPI payment needs `vpa`, the UPI ID (e.g. success@parley)")
        return checked_vpa(body.vpa)
    if body.method == "pix":
        if body.pix_key is None:
            raise InvalidInputError("a Pix payment needs `pix_key`")
        return checked_pix_key(body.pix_key)
    card = getattr(body, "card", None)
    if card is None:
        raise InvalidInputError("a card payment needs `card`: number, exp_month, exp_year, cvc")
    return checked_card(card.number, card.exp_month, card.exp_year, card.cvc)


# --- wallet ------------------------------------------------------------------------------------------------------


@router.get("/wallet", summary="Parley Pay: the wallet's balance in each currency")
async def wallet(me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    balances = await c.wallets.balances(me.user_id)
    market, currency = await c.wallets.home(me.user_id)
    return {
        "market": market,
        "currency": currency,
        "wallets": [{"currency": b.currency, "balance": _amount(b.balance, b.currency)} for b in balances],
        "pin_set": await c.person_payments.has_pin(me.user_id),
        "recent": [funding_view(r) for r in await c.wallets.recent(me.user_id, 10)],
    }


@router.get("/wallet/history", summary="The wallet's movements in a currency, newest first (keyset pages)")
async def history(
    me: PrincipalDep,
    c: ContainerDep,
    currency: Annotated[str, Query(min_length=3, max_length=3)],
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    page, more = await c.wallets.history(me.user_id, currency, cursor, limit)
    return {"data": [movement_view(m) for m in page], "next": more}


@router.get("/wallet/statements/{period}", summary="A month's statement: opening, movements, closing (exact)")
async def statement(
    period: str, me: PrincipalDep, c: ContainerDep, currency: Annotated[str, Query(min_length=3, max_length=3)]
) -> dict[str, Any]:
    return statement_view(await c.wallets.statement(me.user_id, currency, period))


@router.put(
    "/wallet/pin", status_code=204, summary="Set the payment PIN (4 or 6 digits); changing it takes the old one"
)
async def set_pin(body: PinIn, me: PrincipalDep, c: ContainerDep) -> Response:
    await c.person_payments.set_pin(me.user_id, body.pin, body.current_pin)
    return Response(status_code=204)


@router.post("/wallet/topups", summary="Top up the wallet by card, UPI or Pix", responses=PAYMENT_ERRORS)
async def top_up(body: TopUpIn, me: PrincipalDep, c: ContainerDep, key: KeyHeader = None) -> dict[str, Any]:
    amount = c.wallets.topup_amount(body.amount, body.currency)
    return funding_view(await c.wallets.top_up(me.user_id, amount, body.currency, _method(body), key))


@router.post("/wallet/topups/{topup_id}/confirm", summary="The top-up's second step (UPI PIN, OTP)")
async def confirm_top_up(topup_id: str, body: CodeIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return funding_view(await c.wallets.submit_code(me.user_id, topup_id, body.code))


@router.get("/wallet/topups/{topup_id}", summary="A top-up; one still processing is looked up at the provider")
async def get_top_up(topup_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await _funding(c, me.user_id, topup_id, "topup")


@router.post("/wallet/withdrawals", summary="Withdraw to a UPI ID or Pix key", responses=PAYMENT_ERRORS)
async def withdraw(body: WithdrawalIn, me: PrincipalDep, c: ContainerDep, key: KeyHeader = None) -> dict[str, Any]:
    amount = c.wallets.topup_amount(body.amount, body.currency)
    destination = _payout(_method(body))
    return funding_view(await c.wallets.withdraw(me.user_id, amount, body.currency, destination, key))


@router.get("/wallet/withdrawals/{withdrawal_id}", summary="A withdrawal; one still processing is looked up")
async def get_withdrawal(withdrawal_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return await _funding(c, me.user_id, withdrawal_id, "withdrawal")


async def _funding(c: ContainerDep, user_id: int, raw_id: str, direction: str) -> dict[str, Any]:
    row = await c.wallets.funding(user_id, raw_id)
    if row.direction != direction:
        raise NotFoundError(f"no such {direction}")
    return funding_view(row)


def _payout(method: PaymentMethod) -> PayoutDestination:
    if isinstance(method, CardDetails):
        raise InvalidInputError("withdrawals go to a UPI ID or a Pix key")
    return method


# --- payments in a chat ------------------------------------------------------------------------------------------


@router.post(
    "/chats/{chat_id}/payments", summary="Start a payment to the other person of a 1:1 chat", responses=PAYMENT_ERRORS
)
async def create_payment(
    chat_id: str, body: PaymentIn, me: PrincipalDep, c: ContainerDep, key: KeyHeader = None
) -> dict[str, Any]:
    view = await c.person_payments.create(
        me.user_id, chat_id, body.amount, body.currency, body.note, body.client_id, key
    )
    return payment_view(view)


@router.post(
    "/payments/{payment_id}/confirm",
    summary="Confirm with the payment PIN: the money moves, the bubble appears",
    responses=PAYMENT_ERRORS,
)
async def confirm_payment(payment_id: str, body: ConfirmIn, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return payment_view(await c.person_payments.confirm(me.user_id, payment_id, body.pin))


@router.get("/payments/{payment_id}", summary="A payment (and its receipt) for its payer or payee")
async def get_payment(payment_id: str, me: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return payment_view(await c.person_payments.get(me.user_id, payment_id))
