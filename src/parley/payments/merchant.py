"""Merchant payments: orders sent in order_details messages, paid in the chat, looked up, refunded, their status.

A paid order moves money in the unit that records the capture: payer source (provider clearing for a card) →
payments clearing (the amount); clearing → merchant payable (amount − fee); clearing → payments revenue (the fee).
A refund posts the mirror transfers, keyed by the refund's id, giving back the fee in proportion (`fees`).
Each change a business must hear about (captured, failed, refunded) is a `statuses[].type = "payment"` webhook
in the business outbox, written in the same unit. An order left `processing` by a process that died while its card
was being charged is settled by a sweep (`settle_stuck`) from what the provider says.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection

from parley.accounts import UserRow
from parley.business import BusinessNumbers, BusinessOutbox, GraphScope, NumberRow
from parley.config import PaymentSettings
from parley.graph import GraphError
from parley.kit.clock import Clock
from parley.kit.errors import AppError, ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import MICROS, format_amount
from parley.kit.periodic import PeriodicTask
from parley.ledger import CREDIT, DEBIT, AccountRow, Ledger
from parley.payments import merchant_repository as repo
from parley.payments import repository as payments_repo
from parley.payments.books import (
    merchant_payable_key,
    open_person_wallet_in,
    payments_clearing_key,
    payments_revenue_key,
    provider_clearing_key,
)
from parley.payments.fees import FeeSchedule, fee_refund
from parley.payments.merchant_repository import OrderRow, RefundRow
from parley.payments.orders import (
    TERMINAL,
    ParsedOrder,
    ParsedStatus,
    check_transition,
    parse_order_details,
    parse_order_status,
    to_meta,
)
from parley.payments.provider import DECLINED, REQUIRES_CONFIRMATION, SUCCEEDED, CardDetails
from parley.payments.repository import PaymentRow
from parley.payments.service import CardDeclinedError, PaymentService, check_idempotency_key
from parley.platform.db import Database

log = logging.getLogger(__name__)

PAYER = "person"
WALLET = "wallet"  # the `provider` of a payment taken from the person's Parley Pay wallet
# The order holds money while paid: a cancel is refused (Meta's 2047).
_PAID_STATES = frozenset({"processing", "captured", "offsite_pending", "offsite_captured"})


class OrderExpiredError(ConflictError):
    code = "order_expired"


class OrderAlreadyPaidError(ConflictError):
    code = "order_already_paid"


class OrderClosedError(ConflictError):
    code = "order_closed"


# --- views ---------------------------------------------------------------------------------------------------


def _seconds(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


def transaction_view(payment: PaymentRow, *, lookup: bool = False) -> dict[str, Any]:
    """Meta's `transaction` object for one attempt to pay (a card payment through the provider)."""
    status = "success" if payment.status == SUCCEEDED else "failed" if payment.status == DECLINED else "pending"
    view: dict[str, Any] = {
        "id": str(payment.id),
        "pg_transaction_id": payment.provider_payment_id,
        "type": payment.provider,
        "status": status,
        "created_timestamp": payment.created_at // 1000,
        "updated_timestamp": (payment.completed_at or payment.created_at) // 1000,
    }
    if lookup:
        view["amount"] = to_meta(payment.amount)
        view["order_amount"] = to_meta(payment.amount)
        view["currency"] = payment.currency
    view["method"] = {"type": "wallet" if payment.provider == WALLET else "card"}
    if status == "failed":
        view["error"] = {"code": "BAD_REQUEST_ERROR", "reason": payment.decline_code or "card_declined"}
    return view


def refund_view(refund: RefundRow) -> dict[str, Any]:
    at = refund.created_at // 1000
    return {
        "id": str(refund.id),
        "amount": to_meta(refund.amount),
        "speed_processed": refund.speed,
        "status": refund.status,
        "created_timestamp": at,
        "updated_timestamp": at,
    }


def _payment_object(order: OrderRow, transaction: dict[str, Any] | None, refunds: list[RefundRow]) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "reference_id": order.reference_id,
        "amount": to_meta(order.total),
        "currency": order.currency,
    }
    if transaction is not None:
        payment["transaction"] = transaction
    payment.update(orjson.loads(order.echo))  # the gateway's extras (receipt, notes …) come back as sent
    if refunds:
        payment["refunds"] = [refund_view(r) for r in refunds]
    return payment


def order_view(order: OrderRow, now: int) -> dict[str, Any]:
    """The order as the person who pays it sees it (the web client's order sheet)."""
    paid = {"captured": "paid", "offsite_captured": "paid", "processing": "processing", "failed": "failed"}
    expired = order.expires_at is not None and now >= order.expires_at
    payment_status = paid.get(order.payment_state, "unpaid")
    if order.refunded and order.refunded >= order.total:
        payment_status = "refunded"
    view: dict[str, Any] = {
        "id": str(order.id),
        "reference_id": order.reference_id,
        "status": order.status,
        "status_description": order.status_description,
        "payment_status": payment_status,
        "currency": order.currency,
        "total": to_meta(order.total),
        "items": orjson.loads(order.items),
        "expires_at": _seconds(order.expires_at),
        "expiration_description": order.expiration_description,
        "expired": expired,
        "payable": payment_status in ("unpaid", "failed") and not expired and order.status not in TERMINAL,
        "refunded": to_meta(order.refunded),
    }
    for part in ("subtotal", "tax", "shipping", "discount"):
        amount = getattr(order, part)
        if amount is not None:
            view[part] = to_meta(amount)
    return view


# --- the service ---------------------------------------------------------------------------------------------


class CaptureObserver(Protocol):
    def on_order_captured(self, conn: Connection, order: OrderRow, now: int) -> None: ...


class RefundObserver(Protocol):
    def on_order_refunded(self, conn: Connection, order: OrderRow, refund: RefundRow, now: int) -> None:
        """`order` with this refund counted in `refunded`."""


class MerchantPayments:
    """order_details and order_status on send (a `CloudApiSender` interactive hook), paying, lookup, refunds."""

    types = frozenset({"order_details", "order_status"})

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: Ledger,
        payment_service: PaymentService,
        outbox: BusinessOutbox,
        numbers: BusinessNumbers,
        fees: FeeSchedule,
        settings: PaymentSettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self._payments, self._outbox, self._numbers, self._fees = payment_service, outbox, numbers, fees
        self._settle_after_ms = int(settings.settle_after_s * 1000)
        self._sweep = PeriodicTask("order-settle", settings.sweep_interval_s, self.settle_stuck)
        self._capture_observers: list[CaptureObserver] = []
        self._refund_observers: list[RefundObserver] = []

    def add_capture_observer(self, observer: CaptureObserver) -> None:
        """Told of every captured order inside the capture's unit (ads attribution records a Purchase)."""
        self._capture_observers.append(observer)

    def add_refund_observer(self, observer: RefundObserver) -> None:
        """Told of every refund inside the refund's unit, before the merchant's payable is checked and debited
        (affiliate commissions clawed back count toward what the merchant gives back)."""
        self._refund_observers.append(observer)

    def start(self) -> None:
        """Start the sweep that settles orders a dead process left `processing`."""
        self._sweep.start()

    async def close(self) -> None:
        await self._sweep.close()

    # --- sending (inside the Cloud API send) --------------------------------------------------------------

    def check(self, interactive_type: str, action: dict[str, Any], now: int) -> ParsedOrder | ParsedStatus:
        name = "review_and_pay" if interactive_type == "order_details" else "review_order"
        if action.get("name") != name:
            raise GraphError(131009, f"Param interactive['action']['name'] must be '{name}'.")
        if interactive_type == "order_details":
            return parse_order_details(action.get("parameters"), now)
        return parse_order_status(action.get("parameters"))

    def store_in(
        self,
        conn: Connection,
        checked: object,
        number: NumberRow,
        person: UserRow,
        message_id: int,
        wamid: str,
        now: int,
    ) -> None:
        if isinstance(checked, ParsedOrder):
            order_id = self._store_order_in(conn, checked, number, person, message_id, wamid, now)
        else:
            assert isinstance(checked, ParsedStatus)
            order_id = self._change_status_in(conn, checked, number, person, now)
        repo.link_message(conn, message_id, order_id)

    def _store_order_in(
        self,
        conn: Connection,
        order: ParsedOrder,
        number: NumberRow,
        person: UserRow,
        message_id: int,
        wamid: str,
        now: int,
    ) -> int:
        order_id = self._ids.next_id()
        values: dict[str, Any] = {
            "id": order_id,
            "waba_id": number.waba_id,
            "phone_number_id": number.id,
            "reference_id": order.reference_id,
            "person_id": person.id,
            "message_id": message_id,
            "wamid": wamid,
            "business_phone": number.display_phone_number.lstrip("+"),
            "person_phone": person.phone.lstrip("+"),
            "market": order.market,
            "merchant_category": order.merchant_category,
            "currency": order.currency,
            "total": order.total,
            "subtotal": order.subtotal,
            "tax": order.tax,
            "shipping": order.shipping,
            "discount": order.discount,
            "items": orjson.dumps([item.view() for item in order.items]).decode(),
            "settings_kind": order.settings_kind,
            "payment_configuration": order.payment_configuration,
            "gateway": order.gateway,
            "echo": orjson.dumps(order.echo).decode(),
            "body_hash": order.body_hash,
            "status": "pending",
            "status_description": None,
            "expires_at": order.expires_at,
            "expiration_description": order.expiration_description,
            "payment_state": "none",
            "payment_id": None,
            "fee": 0,
            "refunded": 0,
            "fee_refunded": 0,
            "created_at": now,
            "updated_at": now,
            "captured_at": None,
        }
        if repo.insert_order(conn, values):
            return order_id
        existing = repo.order_by_reference(conn, number.waba_id, order.reference_id)
        assert existing is not None
        if (existing.body_hash, existing.person_id) != (order.body_hash, person.id):
            raise GraphError(
                131009,
                f"Param interactive['action']['parameters']['reference_id'] {order.reference_id!r} was already "
                "used for another order of this business: each order needs its own reference_id (add a suffix "
                "such as '-2'); the same order_details sent again is a resend.",
            )
        return existing.id  # the same order sent again: another message, the same order

    def _change_status_in(
        self, conn: Connection, change: ParsedStatus, number: NumberRow, person: UserRow, now: int
    ) -> int:
        order = repo.order_by_reference(conn, number.waba_id, change.reference_id)
        if order is None or order.person_id != person.id:
            raise GraphError(
                131009,
                f"Param interactive['action']['parameters']['reference_id']: no order {change.reference_id!r} "
                "was sent to this recipient in an order_details message.",
            )
        paid = order.payment_state in _PAID_STATES and order.refunded < order.total
        check_transition(order.status, change.status, paid)
        values: dict[str, Any] = {
            "status": change.status,
            "status_description": change.description,
            "updated_at": now,
        }
        if change.payment_status is not None and order.payment_state not in ("processing", "captured"):
            values["payment_state"] = {"failed": "failed"}.get(
                change.payment_status, f"offsite_{change.payment_status}"
            )
        if not repo.set_order(conn, order.id, {"status": order.status, "payment_state": order.payment_state}, **values):
            raise GraphError(131000, "the order changed meanwhile; send the order_status again")
        return order.id

    # --- the person ------------------------------------------------------------------------------------------

    async def order_of_message(self, person_id: int, raw_message_id: str) -> dict[str, Any]:
        message_id = parse_id(raw_message_id)
        order = None if message_id is None else await self._db.read(lambda c: repo.order_of_message(c, message_id))
        if order is None or order.person_id != person_id:
            raise NotFoundError("no order in this message")
        return order_view(order, self._clock.now_ms())

    async def order(self, person_id: int, raw_order_id: str) -> dict[str, Any]:
        return order_view(await self._own_order(person_id, raw_order_id), self._clock.now_ms())

    async def _own_order(self, person_id: int, raw_order_id: str) -> OrderRow:
        order_id = parse_id(raw_order_id)
        order = None if order_id is None else await self._db.read(lambda c: repo.order(c, order_id))
        if order is None or order.person_id != person_id:
            raise NotFoundError("no such order")
        return order

    async def pay_with_card(
        self, person_id: int, raw_order_id: str, card: CardDetails, idempotency_key: str
    ) -> dict[str, Any]:
        """Pay the order with a card. The same key answers the first result and charges nothing again; of two
        payments racing for one order exactly one captures (the other is refused with 409 before its card is
        charged); an expired, canceled or completed order cannot be paid."""
        order = await self._own_order(person_id, raw_order_id)
        payment = await self._payments.create(
            payer_kind=PAYER,
            payer_id=person_id,
            purpose=f"order:{order.id}",
            amount=order.total,
            currency=order.currency,
            idempotency_key=idempotency_key,
        )
        if payment.status == SUCCEEDED:
            return await self.order(person_id, raw_order_id)
        if payment.status == DECLINED:
            raise CardDeclinedError(payment.decline_reason or "Your card was declined.")
        await self._db.write("payments.order_claim", lambda conn: self._claim_in(conn, order.id, payment))
        try:
            await self._payments.confirm(
                payment.id,
                card,
                payer_kind=PAYER,
                payer_id=person_id,
                on_succeeded=lambda conn, paid: self._capture_in(conn, order.id, paid),
            )
        except CardDeclinedError:
            await self._db.write("payments.order_failed", lambda conn: self._failed_in(conn, order.id, payment.id))
            raise
        return await self.order(person_id, raw_order_id)

    async def pay_from_wallet(self, person_id: int, raw_order_id: str, idempotency_key: str) -> dict[str, Any]:
        """Pay the order from the person's Parley Pay wallet (`person_wallet_key`, credit-normal, never below
        zero) in one unit: the payment's record, the claim, the capture's transfers and the `captured` webhook
        commit together; a wallet that cannot cover the order is refused (402) and nothing is kept. The same key
        answers the first result."""
        order = await self._own_order(person_id, raw_order_id)
        check_idempotency_key(idempotency_key)
        now = self._clock.now_ms()
        purpose = f"order:{order.id}"

        def unit(conn: Connection) -> None:
            existing = payments_repo.by_key(conn, PAYER, person_id, idempotency_key)
            if existing is not None:
                if (existing.purpose, existing.provider) != (purpose, WALLET):
                    raise IdempotencyKeyReusedError("this Idempotency-Key was used for another payment")
                return
            payment_id = self._ids.next_id()
            payment = PaymentRow(
                id=payment_id,
                payer_kind=PAYER,
                payer_id=person_id,
                purpose=purpose,
                amount=order.total,
                currency=order.currency,
                status=SUCCEEDED,
                provider=WALLET,
                provider_payment_id=f"wallet_{payment_id}",
                idempotency_key=idempotency_key,
                card_brand=None,
                card_last4=None,
                decline_code=None,
                decline_reason=None,
                created_by=person_id,
                created_at=now,
                completed_at=now,
            )
            payments_repo.insert_once(conn, payment)
            self._claim_in(conn, order.id, payment, announce=False)
            claimed = repo.order(conn, order.id)
            assert claimed is not None
            wallet = self._wallet(conn, person_id, order.currency)
            self.capture_from_in(conn, claimed, payment.id, wallet, transaction_view(payment))

        await self._db.write("payments.order_wallet", unit)
        self._outbox.wake()
        return await self.order(person_id, raw_order_id)

    def _claim_in(self, conn: Connection, order_id: int, payment: PaymentRow, *, announce: bool = True) -> None:
        """Mark the order as being paid by `payment`: a second payment for it is refused before its card is
        charged."""
        order = repo.order(conn, order_id)
        assert order is not None
        now = self._clock.now_ms()
        if order.payment_id == payment.id and order.payment_state == "processing":
            return  # this payment's own retry
        if order.payment_state in ("captured", "offsite_captured"):
            raise OrderAlreadyPaidError("this order is already paid")
        if order.payment_state == "processing":
            raise OrderAlreadyPaidError("this order is being paid right now")
        if order.status in TERMINAL:
            raise OrderClosedError(f"this order is {order.status}: it cannot be paid")
        if order.expires_at is not None and now >= order.expires_at:
            raise OrderExpiredError("this order has expired: ask the business for a new one")
        claimed = repo.set_order(
            conn,
            order_id,
            {"payment_state": order.payment_state},
            payment_state="processing",
            payment_id=payment.id,
            updated_at=now,
        )
        if not claimed:
            raise OrderAlreadyPaidError("this order is being paid right now")
        repo.add_attempt(conn, order_id, payment.id, now)
        if announce:  # Meta's `pending`: the person is paying, no success yet (the card is charged after this unit)
            self._enqueue_in(conn, order, "pending", transaction_view(payment), [], now)

    def _capture_in(self, conn: Connection, order_id: int, payment: PaymentRow) -> None:
        """In the unit that records the card's success: the order is captured and the money moves."""
        order = repo.order(conn, order_id)
        assert order is not None
        source = self._account(
            conn, provider_clearing_key(payment.provider, order.currency), DEBIT, "provider_clearing"
        )
        self.capture_from_in(conn, order, payment.id, source, transaction_view(payment))

    def capture_from_in(
        self, conn: Connection, order: OrderRow, payment_id: int, source: AccountRow, transaction: dict[str, Any]
    ) -> None:
        """Capture `order`, paid by `payment_id` from `source` (provider clearing for a card; a person's wallet
        when wallets pay orders), in the caller's unit: the ledger's three transfers and the `captured` webhook."""
        now = self._clock.now_ms()
        fee = self._fees.merchant_fee(order.total, order.currency, order.market, order.merchant_category)
        moved = repo.set_order(
            conn,
            order.id,
            {"payment_state": "processing", "payment_id": payment_id},
            payment_state="captured",
            fee=fee,
            captured_at=now,
            updated_at=now,
        )
        if not moved:
            raise OrderAlreadyPaidError("this order was paid by another payment")
        clearing, payable, revenue = self._order_books_in(conn, order)
        # What payouts, disputes, statements and the reconciliation report read: the merchant and the provider's id.
        refs = {
            "order_id": order.id,
            "waba_id": order.waba_id,
            "reference_id": order.reference_id,
            "payment_id": payment_id,
            "provider_payment_id": transaction.get("pg_transaction_id"),
        }
        key = f"order:{order.id}"
        self._journal.transfer(
            conn, f"{key}:paid", debit=source, credit=clearing, amount=order.total, code="payment.capture", refs=refs
        )
        self._journal.transfer(
            conn,
            f"{key}:merchant",
            debit=clearing,
            credit=payable,
            amount=order.total - fee,
            code="payment.net",
            refs=refs,
        )
        if fee:
            self._journal.transfer(
                conn, f"{key}:fee", debit=clearing, credit=revenue, amount=fee, code="payment.fee", refs=refs
            )
        self._enqueue_in(conn, order, "captured", transaction, [], now)
        for observer in self._capture_observers:
            observer.on_order_captured(conn, order, now)

    async def settle_stuck(self, limit: int = 200) -> int:
        """The sweep: orders `processing` for longer than `settle_after_s` (the process paying them died between
        claiming the order and recording the card's answer) end as the provider says: captured once, in the unit
        and under the ledger keys a confirm uses (a late confirm racing this moves nothing again), or back to
        payable with a `failed` webhook (declined, canceled at the provider, or unknown to it). How many ended."""
        if not self._payments.available:
            return 0  # no provider to ask: nothing was charged through one here
        before = self._clock.now_ms() - self._settle_after_ms
        stuck = await self._db.read(lambda conn: repo.orders_processing_before(conn, before, limit))
        ended = 0
        for order in stuck:
            try:
                if await self._settle_one(order):
                    ended += 1
            except AppError as error:  # the provider did not answer this time: the others still settle
                log.warning("order %s not settled yet: %s", order.id, error.message)
        if ended:
            self._outbox.wake()
        return ended

    async def _settle_one(self, order: OrderRow) -> bool:
        payment_id = order.payment_id
        if payment_id is None:
            return False
        payment = await self._db.read(lambda conn: repo.payment(conn, payment_id))
        if payment is None or payment.provider == WALLET:
            return False  # a wallet payment claims and captures in one unit: it is never left half-done

        def capture_in(conn: Connection, paid: PaymentRow) -> None:
            self._capture_in(conn, order.id, paid)

        if payment.status == REQUIRES_CONFIRMATION:
            payment = await self._payments.settle(payment, capture_in)
        if payment.status == DECLINED:
            await self._db.write("payments.order_failed", lambda conn: self._failed_in(conn, order.id, payment_id))
        return payment.status in (SUCCEEDED, DECLINED)

    def _failed_in(self, conn: Connection, order_id: int, payment_id: int) -> None:
        order = repo.order(conn, order_id)
        payment = repo.payment(conn, payment_id)
        assert order is not None and payment is not None
        now = self._clock.now_ms()
        if repo.set_order(
            conn,
            order_id,
            {"payment_state": "processing", "payment_id": payment_id},
            payment_state="failed",
            updated_at=now,
        ):
            self._enqueue_in(conn, order, "failed", transaction_view(payment), [], now)

    # --- the business (Graph) -------------------------------------------------------------------------------

    async def lookup(self, scope: GraphScope, raw_number_id: str, configuration: str, reference_id: str) -> Any:
        """`GET /{PHONE_NUMBER_ID}/payments/{PAYMENT_CONFIGURATION}/{REFERENCE_ID}`."""
        number = await self._numbers.in_scope(scope, raw_number_id)

        def read(conn: Connection) -> dict[str, Any]:
            order = repo.order_by_reference(conn, number.waba_id, reference_id)
            if order is None or (order.payment_configuration and order.payment_configuration != configuration):
                raise _no_payment(reference_id)
            attempts = repo.attempts_of(conn, order.id)
            refunds = repo.refunds_of(conn, order.id)
            captured = order.payment_state == "captured"
            found: dict[str, Any] = {
                "reference_id": order.reference_id,
                "status": "captured" if captured else "pending",
                "amount": to_meta(order.total),
                "currency": order.currency,
            }
            if attempts:
                found["transactions"] = [transaction_view(p, lookup=True) for p in attempts]
            if refunds:
                found["refunds"] = [refund_view(r) for r in refunds]
            return {"payments": [found]}

        return await self._db.read(read)

    async def refund(
        self, scope: GraphScope, raw_number_id: str, body: object, idempotency_key: str | None
    ) -> dict[str, Any]:
        """`POST /{PHONE_NUMBER_ID}/payments_refund`: all or part of what is left of a captured payment."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        reference_id, speed, amount, currency = _refund_request(body)
        key = idempotency_key or f"auto:{self._ids.next_id()}"
        refund = await self._refund(number.waba_id, reference_id, speed, amount, currency, key)
        return {"id": str(refund.id), "status": refund.status, "speed_processed": refund.speed}

    async def paid_orders(self, waba_id: int, limit: int = 20) -> list[OrderRow]:
        """The business's orders paid through Parley Pay (captured), the latest first: what it may refund."""
        return await self._db.read(lambda conn: repo.captured_orders(conn, waba_id, limit))

    async def business_order(self, waba_id: int, raw_order_id: str) -> OrderRow:
        order_id = parse_id(raw_order_id)
        order = None if order_id is None else await self._db.read(lambda c: repo.order(c, order_id))
        if order is None or order.waba_id != waba_id:
            raise NotFoundError("no such order")
        return order

    async def refund_order(
        self, waba_id: int, raw_order_id: str, amount: int | None, retailer_id: str | None, idempotency_key: str
    ) -> RefundRow:
        """The console's refund of one line (`retailer_id`: its unit amount × quantity) or an `amount` in micros,
        through the same unit as Graph's `payments_refund`; refusals are AppErrors (the console's shape)."""
        check_idempotency_key(idempotency_key)
        order = await self.business_order(waba_id, raw_order_id)
        if (amount is None) == (retailer_id is None):
            raise InvalidInputError("refund either one line (retailer_id) or an amount")
        if retailer_id is not None:
            lines = [i for i in orjson.loads(order.items) if i.get("retailer_id") == retailer_id]
            if not lines:
                raise InvalidInputError(f"the order has no line {retailer_id[:100]!r}")
            line = lines[0]
            unit = line.get("sale_amount") or line["amount"]
            amount = unit["value"] * MICROS // unit["offset"] * line["quantity"]
        assert amount is not None
        earlier = await self._db.read(lambda c: repo.refunds_of(c, order.id))
        if all(r.idempotency_key != idempotency_key for r in earlier):  # a retry: the unit answers the first refund
            left = order.total - order.refunded
            if order.payment_state != "captured":
                raise ConflictError("this order has no captured payment to refund")
            if not 0 < amount <= left or amount % (MICROS // 100):
                raise InvalidInputError(
                    f"a refund is 0.01 to {format_amount(left, 2)} {order.currency} (what is left of the payment)"
                )
        try:
            return await self._refund(waba_id, order.reference_id, "normal", amount, order.currency, idempotency_key)
        except GraphError as exc:  # a race with another refund, or a payable already paid out
            raise (ConflictError if exc.code in (131000, 131009) else InvalidInputError)(exc.details) from exc

    async def _refund(
        self, waba_id: int, reference_id: str, speed: str, amount: int, currency: str, key: str
    ) -> RefundRow:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> RefundRow:
            order = repo.order_by_reference(conn, waba_id, reference_id)
            if order is None:
                raise _no_payment(reference_id)
            for earlier in repo.refunds_of(conn, order.id):
                if earlier.idempotency_key == key:
                    if (earlier.amount, earlier.speed) != (amount, speed):
                        raise IdempotencyKeyReusedError("this Idempotency-Key was used for another refund")
                    return earlier
            if order.payment_state != "captured":
                raise GraphError(131009, f"Param reference_id: order {reference_id!r} has no captured payment.")
            if currency != order.currency:
                raise GraphError(131009, f"Param amount['currency'] must be {order.currency}, the order's currency.")
            left = order.total - order.refunded
            if not 0 < amount <= left:
                raise GraphError(
                    131009,
                    f"Param amount['value'] must be 1 to {to_meta(left)['value']}: what is left of the payment.",
                )
            fee_back = fee_refund(order.fee, order.total, order.refunded, order.fee_refunded, amount, order.currency)
            refund = RefundRow(self._ids.next_id(), order.id, amount, fee_back, currency, speed, "completed", key, now)
            if not repo.set_order(
                conn,
                order.id,
                {"refunded": order.refunded, "fee_refunded": order.fee_refunded},
                refunded=order.refunded + amount,
                fee_refunded=order.fee_refunded + fee_back,
                updated_at=now,
            ):
                raise GraphError(131000, "the payment changed meanwhile; send the refund again")
            repo.insert_refund(conn, refund)
            if self._refund_observers:
                refunded = repo.order(conn, order.id)
                assert refunded is not None
                for observer in self._refund_observers:
                    observer.on_order_refunded(conn, refunded, refund, now)
            self._post_refund_in(conn, order, refund)
            payment = None if order.payment_id is None else repo.payment(conn, order.payment_id)
            transaction = None if payment is None else transaction_view(payment)
            self._enqueue_in(conn, order, "captured", transaction, repo.refunds_of(conn, order.id), now)
            return refund

        refund = await self._db.write("payments.refund", unit)
        self._outbox.wake()
        return refund

    def _post_refund_in(self, conn: Connection, order: OrderRow, refund: RefundRow) -> None:
        """The capture's transfers mirrored for the refunded part, keyed by the refund's id."""
        cur = order.currency
        payment = None if order.payment_id is None else repo.payment(conn, order.payment_id)
        if payment is not None and payment.provider == WALLET:  # back to the wallet it came from
            source = self._wallet(conn, order.person_id, cur)
        else:
            provider = "sandbox" if payment is None else payment.provider
            source = self._account(conn, provider_clearing_key(provider, cur), DEBIT, "provider_clearing")
        clearing, payable, revenue = self._order_books_in(conn, order)
        refs = {
            "order_id": order.id,
            "waba_id": order.waba_id,
            "reference_id": order.reference_id,
            "refund_id": refund.id,
        }
        key = f"refund:{refund.id}"
        # The payable has no floor (a card network's chargeback may take it below zero), so a refund the
        # merchant's balance no longer covers (it was paid out) is refused here, before anything moves.
        net_back = refund.amount - refund.fee_refund
        current = self._journal.account_by_id(conn, payable.id)
        if current is None or current.balance < net_back:
            raise GraphError(
                131009, "the merchant's Parley Pay balance cannot cover this refund (it was already paid out)"
            )
        self._journal.transfer(
            conn,
            f"{key}:merchant",
            debit=payable,
            credit=clearing,
            amount=net_back,
            code="payment.refund",
            refs=refs,
            known_new=True,
        )
        if refund.fee_refund:
            self._journal.transfer(
                conn,
                f"{key}:fee",
                debit=revenue,
                credit=clearing,
                amount=refund.fee_refund,
                code="payment.refund",
                refs=refs,
                known_new=True,
            )
        self._journal.transfer(
            conn,
            f"{key}:payer",
            debit=clearing,
            credit=source,
            amount=refund.amount,
            code="payment.refund",
            refs=refs,
            known_new=True,
        )

    # --- shared ---------------------------------------------------------------------------------------------

    def _order_books_in(self, conn: Connection, order: OrderRow) -> tuple[AccountRow, AccountRow, AccountRow]:
        """The accounts an order's money moves between: payments clearing, the merchant's payable, revenue."""
        cur = order.currency
        return (
            self._account(conn, payments_clearing_key(cur), DEBIT, "payments_clearing"),
            self._account(conn, merchant_payable_key(order.waba_id, cur), CREDIT, "merchant_payable", order.waba_id),
            self._account(conn, payments_revenue_key(cur), CREDIT, "revenue"),
        )

    def _account(self, conn: Connection, key: str, side: str, kind: str, owner_id: int | None = None) -> AccountRow:
        currency = key.rsplit(":", 1)[1]
        return self._journal.open_account(
            conn,
            key,
            currency=currency,
            normal_side=side,
            kind=kind,
            owner_id=owner_id,
        )

    def _wallet(self, conn: Connection, person_id: int, currency: str) -> AccountRow:
        return open_person_wallet_in(self._journal, conn, person_id, currency)

    def _enqueue_in(
        self,
        conn: Connection,
        order: OrderRow,
        status: str,
        transaction: dict[str, Any] | None,
        refunds: list[RefundRow],
        now: int,
    ) -> None:
        """A payment status webhook (Meta's `statuses[].type = "payment"`), in the caller's unit."""
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": order.business_phone, "phone_number_id": str(order.phone_number_id)},
            # As on every other status: clients (pywa) read the recipient from `contacts`.
            "contacts": [{"wa_id": order.person_phone}],
            "statuses": [
                {
                    "id": order.wamid,
                    "recipient_id": order.person_phone,
                    "type": "payment",
                    "status": status,
                    "payment": _payment_object(order, transaction, refunds),
                    "timestamp": str(now // 1000),
                }
            ],
        }
        self._outbox.enqueue_in(conn, order.waba_id, "messages", value, order.phone_number_id, order_key=order.id)


def _no_payment(reference_id: str) -> GraphError:
    return GraphError(
        100, f"No payment with reference_id {reference_id[:60]!r} for this business.", http_status=404, subcode=33
    )


def _refund_request(body: object) -> tuple[str, str, int, str]:
    """(reference_id, speed, amount in micros, currency) of a payments_refund body; GraphError when wrong."""
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    reference_id = body.get("reference_id")
    if reference_id is None:
        raise GraphError(131008, "The parameter reference_id is required.")
    if not isinstance(reference_id, str) or not 0 < len(reference_id) <= 60:
        raise GraphError(100, "Param reference_id must be a string of 1 to 60 characters.")
    speed = body.get("speed", "normal")
    if speed not in ("normal", "instant"):
        raise GraphError(131009, "Param speed must be 'normal' or 'instant'.")
    amount = body.get("amount")
    if amount is None:
        raise GraphError(131008, "The parameter amount is required.")
    if not isinstance(amount, dict):
        raise GraphError(100, "Param amount must be an object {currency, value, offset}.")
    currency = amount.get("currency")
    if not isinstance(currency, str):
        raise GraphError(131008, "The parameter amount['currency'] is required.")
    numbers: list[int] = []
    for part in ("value", "offset"):
        raw = amount.get(part)
        if raw is None:
            raise GraphError(131008, f"The parameter amount['{part}'] is required.")
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise GraphError(100, f"Param amount['{part}'] must be an integer (or a string of digits).")
        if isinstance(raw, str) and not (raw.isascii() and raw.isdigit() and len(raw) <= 15):
            raise GraphError(100, f"Param amount['{part}'] must be an integer (or a string of digits).")
        numbers.append(int(raw))
    value, offset = numbers
    if offset != 100:
        raise GraphError(131009, "Param amount['offset'] must be 100.")
    return reference_id, str(speed), value * MICROS // offset, currency
