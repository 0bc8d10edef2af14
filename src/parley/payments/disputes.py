"""Disputes: a card network's chargeback of a captured payment, claimed back from the merchant.

The rules (Stripe's, and what Brazil's acquirers do):
- Opening a dispute moves the disputed amount from the merchant's payable to provider clearing at once (the
  network has already taken it from the platform's provider balance): `waba:{id}:payable:{CUR}` ->
  `platform:provider:{provider}:{CUR}`, code `dispute`. The payable may go below zero: the merchant then owes
  the platform, shown as a negative payable on its statement and console, and payouts wait until later captures
  have made it positive again.
- The platform keeps its fee: a chargeback returns nothing of `platform:revenue:payments:{CUR}`, so the
  merchant bears the whole disputed amount (at most the captured amount).
- One dispute per captured payment, `open` -> `won` or `lost`, each exactly once. Won reverses the claw-back
  (the merchant gets the amount back); lost changes no money (it was already taken).
- Only card captures (debited from a provider clearing account) can be disputed; wallet payments cannot.
- Observers (`DisputeObserver`) hear of a lost dispute on a merchant order in the decision's unit: affiliate
  commissions still held are clawed back as a refund of the disputed amount would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley import ledger
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, first_id_at
from parley.kit.ids import parse_id as parse_numeric_id
from parley.payments.books import open_merchant_payable_in
from parley.payments.merchant_repository import OrderRow
from parley.payments.merchant_repository import order as order_in
from parley.payments.models import payments
from parley.payments.payout_models import payment_disputes
from parley.platform.db import Database

OPEN, WON, LOST = "open", "won", "lost"
CAPTURE_CODE = "payment.capture"
DISPUTE_CODE = "dispute"
DISPUTE_WON_CODE = "dispute.won"
PROVIDER_PREFIX = "platform:provider:"
# Where a capture's references name the payment: the order's reference id, Parley's payment id, the provider's.
REFERENCE_REFS = ("reference_id", "payment_id", "provider_payment_id", "transaction_id")
_PAGE = 1000


class DisputeNotFoundError(NotFoundError):
    code = "dispute_not_found"


@dataclass(frozen=True)
class DisputeRow:
    id: int
    waba_id: int
    currency: str
    amount: int
    status: str
    capture_transfer_id: int
    reference_id: str | None
    provider_payment_id: str | None
    reason: str | None
    transfer_id: int
    reversal_id: int | None
    created_at: int
    resolved_at: int | None


def _row(found: object) -> DisputeRow:
    return DisputeRow(**found._mapping)  # type: ignore[attr-defined]


def disputes_of_in(conn: Connection, waba_id: int | None, limit: int = 50) -> list[DisputeRow]:
    d = payment_disputes.c
    query = select(payment_disputes).order_by(d.id.desc()).limit(limit)
    if waba_id is not None:
        query = query.where(d.waba_id == waba_id)
    return [_row(r) for r in conn.execute(query)]


def _dispute_in(conn: Connection, dispute_id: int) -> DisputeRow | None:
    found = conn.execute(select(payment_disputes).where(payment_disputes.c.id == dispute_id)).first()
    return None if found is None else _row(found)


def find_capture_in(conn: Connection, journal: ledger.Ledger, payment: str) -> ledger.TransferRow:
    """The card capture a reference id, a Parley payment id or a provider payment id names.

    Scans the provider clearing accounts' journals (from the payment's creation when the `payments` table knows
    it): an operator's command, not a hot path."""
    since = 0
    numeric = parse_numeric_id(payment)
    p = payments.c
    names = {payment}
    known = conn.execute(
        select(p.created_at, p.provider_payment_id).where(
            (p.provider_payment_id == payment) | (p.id == (numeric if numeric else -1))
        )
    ).first()
    if known is not None:
        since = max(first_id_at(int(known[0])) - 1, 0)
        names.add(str(known[1]))  # Parley's payment id: its capture names the provider's id
    matches: dict[int, ledger.TransferRow] = {}
    for account in journal.accounts_with_prefix(conn, PROVIDER_PREFIX):
        after = since
        while True:
            page = journal.transfers_of(conn, account, after_id=after, limit=_PAGE)
            for entry in page:
                if entry.code != CAPTURE_CODE or entry.debit_account_id != account.id or entry.reverses_id:
                    continue
                refs = entry.references
                if any(str(refs[name]) in names for name in REFERENCE_REFS if name in refs):
                    matches[entry.id] = entry
            if len(page) < _PAGE:
                break
            after = page[-1].id
    if not matches:
        raise NotFoundError(f"no card capture has the reference or payment id {payment!r}")
    if len(matches) > 1:
        raise ConflictError(f"{len(matches)} captures match {payment!r}; give the payment id instead")
    return next(iter(matches.values()))


class DisputeObserver(Protocol):
    def on_order_dispute_lost(self, conn: Connection, order: OrderRow, dispute: DisputeRow, now: int) -> None:
        """The card network kept `dispute.amount` of `order`'s payment (in the decision's unit)."""


class Disputes:
    """Opens and resolves chargebacks (the operator's, from the card network's notice)."""

    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, journal: ledger.Ledger) -> None:
        self._db, self._clock, self._ids, self._journal = db, clock, ids, journal
        self._observers: list[DisputeObserver] = []

    def add_observer(self, observer: DisputeObserver) -> None:
        """Told of every lost dispute on a merchant order, inside the decision's unit."""
        self._observers.append(observer)

    async def list(self, waba_id: int | None = None, limit: int = 50) -> list[DisputeRow]:
        return await self._db.read(lambda conn: disputes_of_in(conn, waba_id, limit))

    async def open(self, payment: str, amount: int, reason: str | None = None) -> DisputeRow:
        """Claw `amount` back from the merchant. Asked again for the same payment and amount, it answers the
        first dispute and moves nothing; another amount is refused."""
        if amount <= 0:
            raise InvalidInputError("a dispute is for a positive amount")
        if reason is not None and len(reason) > 200:
            raise InvalidInputError("the reason has at most 200 characters")

        def unit(conn: Connection) -> DisputeRow:
            capture = find_capture_in(conn, self._journal, payment)
            d = payment_disputes.c
            existing = conn.execute(select(payment_disputes).where(d.capture_transfer_id == capture.id)).first()
            if existing is not None:
                first = _row(existing)
                if first.amount != amount:
                    raise ConflictError(
                        f"payment {payment} already has dispute {first.id} for another amount; one per payment"
                    )
                return first
            refs = capture.references
            waba = refs.get("waba_id")
            if not isinstance(waba, int):
                raise InvalidInputError(f"the capture {capture.key} does not name its merchant (waba_id)")
            if amount > capture.amount:
                raise InvalidInputError(f"a dispute takes at most the captured amount ({capture.amount} micros)")
            provider_account = self._journal.account_by_id(conn, capture.debit_account_id)
            assert provider_account is not None
            payable = open_merchant_payable_in(self._journal, conn, waba, capture.currency)
            dispute_id = self._ids.next_id()
            reference = refs.get("reference_id")
            provider_payment = refs.get("provider_payment_id", refs.get("transaction_id"))
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            # The row first: a racing open of the same payment (another operator) waits on its unique index here
            # and then finds this dispute, instead of moving the money twice.
            inserted = conn.execute(
                dialect.insert(payment_disputes)
                .values(
                    id=dispute_id,
                    waba_id=waba,
                    currency=capture.currency,
                    amount=amount,
                    status=OPEN,
                    capture_transfer_id=capture.id,
                    reference_id=None if reference is None else str(reference)[:128],
                    provider_payment_id=None if provider_payment is None else str(provider_payment)[:128],
                    reason=reason,
                    transfer_id=0,
                    reversal_id=None,
                    created_at=self._clock.now_ms(),
                    resolved_at=None,
                )
                .on_conflict_do_nothing()
            )
            if inserted.rowcount != 1:
                raced = conn.execute(select(payment_disputes).where(d.capture_transfer_id == capture.id)).first()
                assert raced is not None
                if _row(raced).amount != amount:
                    raise ConflictError(f"payment {payment} already has a dispute for another amount")
                return _row(raced)
            moved = self._journal.transfer(
                conn,
                f"dispute:{dispute_id}",
                debit=payable,
                credit=provider_account,
                amount=amount,
                code=DISPUTE_CODE,
                refs={
                    "waba_id": waba,
                    "dispute_id": dispute_id,
                    "capture": capture.key,
                    **({"reference_id": reference} if reference is not None else {}),
                    **({"provider_payment_id": provider_payment} if provider_payment is not None else {}),
                },
                known_new=True,  # the dispute id was made in this very unit
            )
            conn.execute(update(payment_disputes).where(d.id == dispute_id).values(transfer_id=moved.id))
            made = _dispute_in(conn, dispute_id)
            assert made is not None
            return made

        return await self._db.write("payments.dispute_open", unit)

    async def resolve(self, dispute_id: int, outcome: Literal["won", "lost"]) -> DisputeRow:
        """The network's decision. Won gives the merchant the amount back (a reversal of the claw-back); lost
        moves nothing. The same decision again answers the dispute as it is; the other one is refused."""
        if outcome not in (WON, LOST):
            raise InvalidInputError("a dispute is won or lost")

        def unit(conn: Connection) -> DisputeRow:
            dispute = _dispute_in(conn, dispute_id)
            if dispute is None:
                raise DisputeNotFoundError(f"no dispute {dispute_id}")
            if dispute.status == outcome:
                return dispute
            if dispute.status != OPEN:
                raise ConflictError(f"dispute {dispute_id} was already {dispute.status}")
            d = payment_disputes.c
            # The decision first, conditionally: of two racing decisions one moves the row (and waits for the
            # other to commit on PostgreSQL), the other answers as the first left it.
            moved = conn.execute(
                update(payment_disputes)
                .where(d.id == dispute_id, d.status == OPEN)
                .values(status=outcome, resolved_at=self._clock.now_ms())
            )
            if moved.rowcount != 1:
                current = _dispute_in(conn, dispute_id)
                assert current is not None
                if current.status != outcome:
                    raise ConflictError(f"dispute {dispute_id} was already {current.status}")
                return current
            if outcome == WON:
                clawback = self._journal.transfer_by_id(conn, dispute.transfer_id)
                assert clawback is not None
                returned = self._journal.reverse(
                    conn,
                    f"dispute:{dispute_id}:won",
                    clawback,
                    code=DISPUTE_WON_CODE,
                    refs={"waba_id": dispute.waba_id, "dispute_id": dispute_id},
                )
                conn.execute(update(payment_disputes).where(d.id == dispute_id).values(reversal_id=returned.id))
            done = _dispute_in(conn, dispute_id)
            assert done is not None
            if outcome == LOST:
                self._tell_lost_in(conn, done)
            return done

        return await self._db.write("payments.dispute_resolve", unit)

    def _tell_lost_in(self, conn: Connection, dispute: DisputeRow) -> None:
        if not self._observers:
            return
        capture = self._journal.transfer_by_id(conn, dispute.capture_transfer_id)
        order_id = None if capture is None else capture.references.get("order_id")
        order = order_in(conn, order_id) if isinstance(order_id, int) else None
        if order is None:
            return  # a wallet top-up or another card payment: no merchant order to tell of
        now = self._clock.now_ms()
        for observer in self._observers:
            observer.on_order_dispute_lost(conn, order, dispute, now)
