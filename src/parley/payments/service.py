"""Payments: asked of the provider, recorded once per idempotency key, completed exactly once.

What a succeeded payment pays for (a business's wallet today) is the caller's: `confirm` runs the caller's
`on_succeeded` in the same write unit that records the success, so the payment and what it bought commit
together or not at all, and only the unit that moved the payment out of `requires_confirmation` runs it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from parley.kit.clock import Clock
from parley.kit.errors import AppError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator
from parley.payments import repository as repo
from parley.payments.provider import (
    DECLINED,
    REQUIRES_CONFIRMATION,
    SUCCEEDED,
    CardDetails,
    PaymentProvider,
    PaymentsUnavailableError,
    ProviderPayment,
)
from parley.payments.repository import PaymentRow
from parley.platform.db import Database

MAX_KEY_LENGTH = 100


class CardDeclinedError(AppError):
    """The provider declined the card; the message is the provider's reason, shown to the person."""

    status = 402
    code = "card_declined"


class ProviderError(AppError):
    status = 502
    code = "payment_provider_error"


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} printable characters")


class PaymentService:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, provider: PaymentProvider | None) -> None:
        self._db, self._clock, self._ids, self._provider = db, clock, ids, provider

    @property
    def available(self) -> bool:
        return self._provider is not None

    @property
    def provider_name(self) -> str | None:
        return None if self._provider is None else self._provider.name

    def _needs_provider(self) -> PaymentProvider:
        if self._provider is None:
            raise PaymentsUnavailableError(
                "card payments are not set up on this installation (PARLEY_PAYMENTS__PROVIDER); "
                "ask the operator to top up your wallet"
            )
        return self._provider

    async def create(
        self,
        *,
        payer_kind: str,
        payer_id: int,
        purpose: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        created_by: int | None = None,
    ) -> PaymentRow:
        """A payment waiting for its card; the same key answers the same payment (a double click, a retry)."""
        provider = self._needs_provider()
        check_idempotency_key(idempotency_key)
        if amount <= 0:
            raise InvalidInputError("a payment must be a positive amount")

        def same_request(found: PaymentRow) -> PaymentRow:
            if (found.amount, found.currency, found.purpose) != (amount, currency, purpose):
                raise IdempotencyKeyReusedError("this Idempotency-Key was used for another payment")
            return found

        existing = await self._db.read(lambda conn: repo.by_key(conn, payer_kind, payer_id, idempotency_key))
        if existing is not None:
            return same_request(existing)
        # Outside any transaction: nothing waits on another system while holding the database.
        remote = await provider.create_payment(amount, currency, f"{payer_kind}:{payer_id}:{idempotency_key}")
        row = PaymentRow(
            id=self._ids.next_id(),
            payer_kind=payer_kind,
            payer_id=payer_id,
            purpose=purpose,
            amount=amount,
            currency=currency,
            status=REQUIRES_CONFIRMATION,
            provider=provider.name,
            provider_payment_id=remote.id,
            idempotency_key=idempotency_key,
            card_brand=None,
            card_last4=None,
            decline_code=None,
            decline_reason=None,
            created_by=created_by,
            created_at=self._clock.now_ms(),
            completed_at=None,
        )

        def unit(conn: Connection) -> PaymentRow:
            repo.insert_once(conn, row)
            stored = repo.by_key(conn, payer_kind, payer_id, idempotency_key)
            assert stored is not None
            return stored

        return same_request(await self._db.write("payments.create", unit))

    async def get(self, payment_id: int, *, payer_kind: str, payer_id: int) -> PaymentRow:
        found = await self._db.read(lambda conn: repo.get(conn, payment_id))
        if found is None or (found.payer_kind, found.payer_id) != (payer_kind, payer_id):
            raise NotFoundError("no such payment")
        return found

    async def recent(self, *, payer_kind: str, payer_id: int, limit: int = 20) -> list[PaymentRow]:
        return await self._db.read(lambda conn: repo.recent(conn, payer_kind, payer_id, limit))

    async def confirm(
        self,
        payment_id: int,
        card: CardDetails,
        *,
        payer_kind: str,
        payer_id: int,
        on_succeeded: Callable[[Connection, PaymentRow], object],
    ) -> PaymentRow:
        """Charge the card. A payment already completed answers as it completed (and pays for nothing again);
        a declined one raises CardDeclinedError with the provider's reason, after recording the decline."""
        payment = await self.get(payment_id, payer_kind=payer_kind, payer_id=payer_id)
        if payment.status == REQUIRES_CONFIRMATION:
            provider = self._needs_provider()
            if provider.name != payment.provider:
                raise ProviderError(f"this payment was started with the {payment.provider} provider")
            remote = await provider.confirm_payment(payment.provider_payment_id, card)
            if remote.status not in (SUCCEEDED, DECLINED):
                raise ProviderError("the payment provider did not complete the payment; please try again")
            payment = await self._record(payment_id, remote, on_succeeded)
        if payment.status == DECLINED:
            raise CardDeclinedError(payment.decline_reason or "Your card was declined.")
        return payment

    async def settle(self, payment: PaymentRow, on_succeeded: Callable[[Connection, PaymentRow], object]) -> PaymentRow:
        """End a payment whose confirm was never recorded (its process died between the provider and the database)
        from what the provider says: succeeded is recorded, `on_succeeded` included, in the unit `confirm` would
        have used (so a late confirm racing this pays for nothing again); one the provider never charged is
        canceled there first (a late confirm cannot charge it) and recorded as declined, as is one the provider
        does not know. Still in flight at the provider: left as it is, for a later sweep."""
        provider = self._needs_provider()
        if payment.status != REQUIRES_CONFIRMATION or provider.name != payment.provider:
            return payment
        try:
            remote = await provider.get_payment(payment.provider_payment_id)
            if remote.status not in (SUCCEEDED, DECLINED):
                remote = await provider.cancel_payment(payment.provider_payment_id)
        except NotFoundError:
            remote = ProviderPayment(
                payment.provider_payment_id,
                payment.amount,
                payment.currency,
                DECLINED,
                decline_code="payment_not_found",
                decline_reason="The payment provider has no record of this payment: nothing was charged.",
            )
        if remote.status not in (SUCCEEDED, DECLINED):
            return payment
        return await self._record(payment.id, remote, on_succeeded)

    async def _record(
        self, payment_id: int, remote: ProviderPayment, on_succeeded: Callable[[Connection, PaymentRow], object]
    ) -> PaymentRow:
        """What the provider answered, in one unit; only the unit that moves the payment out of
        `requires_confirmation` runs `on_succeeded`."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> PaymentRow:
            moved = repo.complete(
                conn,
                payment_id,
                status=remote.status,
                card_brand=remote.card_brand,
                card_last4=remote.card_last4,
                decline_code=remote.decline_code,
                decline_reason=None if remote.decline_reason is None else remote.decline_reason[:200],
                completed_at=now,
            )
            done = repo.get(conn, payment_id)
            assert done is not None
            if moved and done.status == SUCCEEDED:
                on_succeeded(conn, done)
            return done

        return await self._db.write("payments.confirm", unit)

    def close(self) -> None:
        """Let the provider go (the sandbox's file)."""
        close = getattr(self._provider, "close", None)
        if close is not None:
            close()
