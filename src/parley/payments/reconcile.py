"""The reconciliation report: the provider's payments (Parley's `payments` records of them) against the ledger.

Each succeeded provider payment must have exactly one ledger transfer on the provider's clearing account
(`platform:provider:{provider}:{CUR}`, either side: a card capture or a top-up comes in, a withdrawal goes out)
whose references name it (`provider_payment_id`), for the same amount and currency. Every difference is listed:
- `missing_in_ledger`: captured at the provider, no ledger transfer;
- `missing_at_provider`: a ledger transfer naming no provider payment, or one the provider never completed;
- `amount_mismatch`: both exist, for different amounts or currencies;
- `duplicate`: more than one ledger transfer for one provider payment, or one order's reference id captured by
  more than one provider payment.
People's wallet top-ups and withdrawals (`wallet_funding`) are provider payments too: a top-up's transfer names the
provider's payment id; a withdrawal's is posted before the payout exists, so it names its `funding_id` and the
funding row supplies the payout's id. A failed withdrawal whose transfer was reversed (back in the wallet) agrees;
one left in flight (the provider has not answered) is listed until it ends.
Left out on purpose: reversals (refunds and failed withdrawals correct a matched transfer), refunds, payouts and
disputes (their own records say what they moved), orders paid from a person's wallet (no provider saw them), and
businesses' card top-ups of their messaging wallet (billing posts those from `platform:cash`). Days are UTC, both
ends included; each side is looked up a day beyond the range so an entry made just across midnight from its partner
still matches.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, select

from parley import ledger
from parley.kit.ids import first_id_at
from parley.kit.money import format_amount
from parley.payments.merchant import WALLET
from parley.payments.models import payments
from parley.payments.provider import SUCCEEDED
from parley.payments.wallet_models import wallet_funding
from parley.payments.wallets import WITHDRAWAL, withdrawal_returned_key
from parley.platform.db import Database

DAY_MS = 86_400_000
MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_AT_PROVIDER = "missing_at_provider"
AMOUNT_MISMATCH = "amount_mismatch"
DUPLICATE = "duplicate"
PROVIDER_PREFIX = "platform:provider:"
CAPTURE_CODE = "payment.capture"
# Movements on provider clearing that are not a provider payment of their own.
UNMATCHED_CODES = frozenset({"payment.refund", "payout", "payout.failed", "dispute", "dispute.won"})
_PAGE = 1000


@dataclass(frozen=True)
class Mismatch:
    kind: str
    detail: str
    provider: str | None = None
    provider_payment_id: str | None = None
    reference_id: str | None = None
    currency: str | None = None
    provider_amount: int | None = None
    ledger_amount: int | None = None
    transfers: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detail": self.detail,
            "provider": self.provider,
            "provider_payment_id": self.provider_payment_id,
            "reference_id": self.reference_id,
            "currency": self.currency,
            "provider_amount": None if self.provider_amount is None else format_amount(self.provider_amount),
            "ledger_amount": None if self.ledger_amount is None else format_amount(self.ledger_amount),
            "transfers": list(self.transfers),
        }


@dataclass
class ReconcileReport:
    start: datetime.date
    end: datetime.date
    provider_payments: int = 0
    ledger_transfers: int = 0
    matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": "UTC",
            "ok": self.ok,
            "provider_payments": self.provider_payments,
            "ledger_transfers": self.ledger_transfers,
            "matched": self.matched,
            "mismatches": [m.as_json() for m in self.mismatches],
        }


@dataclass(frozen=True)
class _Event:
    provider: str
    provider_payment_id: str
    amount: int
    currency: str
    status: str
    at_ms: int


@dataclass(frozen=True)
class _Funding:
    """A wallet top-up or withdrawal as `wallet_funding` records what the provider answered."""

    id: int
    direction: str
    provider: str
    provider_payment_id: str | None
    amount: int
    currency: str
    status: str
    at_ms: int


@dataclass(frozen=True)
class _Entry:
    provider: str
    transfer: ledger.TransferRow
    funded_as: str | None = None  # the provider's id, from the wallet_funding row the transfer names
    returned: bool = False  # a withdrawal put back in the wallet by its reversal

    @property
    def funding_id(self) -> int | None:
        found = self.transfer.references.get("funding_id")
        return None if found is None or not str(found).isdigit() else int(found)

    @property
    def payment_id(self) -> str | None:
        refs = self.transfer.references
        found = refs.get("provider_payment_id", refs.get("transaction_id"))
        return self.funded_as if found is None else str(found)

    @property
    def reference_id(self) -> str | None:
        found = self.transfer.references.get("reference_id")
        return None if found is None else str(found)


def day_bounds(start: datetime.date, end: datetime.date) -> tuple[int, int]:
    """[first ms of `start`, first ms after `end`) in UTC."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    first = int(datetime.datetime(start.year, start.month, start.day, tzinfo=datetime.UTC).timestamp()) * 1000
    return first, first + ((end - start).days + 1) * DAY_MS


async def reconcile(db: Database, journal: ledger.Ledger, start: datetime.date, end: datetime.date) -> ReconcileReport:
    start_ms, end_ms = day_bounds(start, end)
    return await db.read(lambda conn: reconcile_in(conn, journal, start, end, start_ms, end_ms))


def reconcile_in(
    conn: Connection, journal: ledger.Ledger, start: datetime.date, end: datetime.date, start_ms: int, end_ms: int
) -> ReconcileReport:
    report = ReconcileReport(start, end)
    low, high = first_id_at(start_ms - DAY_MS), first_id_at(end_ms + DAY_MS)
    events = _provider_events(conn, low, high)
    entries = _ledger_entries(conn, journal, low, high)
    funding = _wallet_funding(conn, low, high, {e.funding_id for e in entries if e.funding_id is not None})
    for fund in funding.values():
        if fund.provider_payment_id is not None:
            events[(fund.provider, fund.provider_payment_id)] = _Event(
                fund.provider, fund.provider_payment_id, fund.amount, fund.currency, fund.status, fund.at_ms
            )
    entries = [_with_funding(conn, journal, entry, funding) for entry in entries]

    def in_range(ms: int) -> bool:
        return start_ms <= ms < end_ms

    by_payment: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    returned: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    for entry in entries:
        payment_id = entry.payment_id
        if payment_id is None:
            if in_range(entry.transfer.created_at):
                report.ledger_transfers += 1
                row = None if entry.funding_id is None else funding.get(entry.funding_id)
                report.mismatches.append(
                    Mismatch(
                        MISSING_AT_PROVIDER,
                        f"{entry.transfer.code} names no provider payment"
                        if row is None
                        else f"{row.direction} {row.id} is {row.status}: the provider has not answered yet",
                        provider=entry.provider,
                        reference_id=entry.reference_id,
                        currency=entry.transfer.currency,
                        ledger_amount=entry.transfer.amount,
                        transfers=(entry.transfer.key,),
                    )
                )
            continue
        (returned if entry.returned else by_payment)[(entry.provider, payment_id)].append(entry)

    for key in sorted(set(by_payment) | {k for k, e in events.items() if e.status == SUCCEEDED}):
        provider, payment_id = key
        found, event = by_payment.get(key, []), events.get(key)
        touched = any(in_range(e.transfer.created_at) for e in found) or (
            event is not None and event.status == SUCCEEDED and in_range(event.at_ms)
        )
        if not touched:
            continue
        report.ledger_transfers += len(found)
        if event is not None and event.status == SUCCEEDED:
            report.provider_payments += 1
        reference = next((e.reference_id for e in found if e.reference_id is not None), None)
        keys = tuple(e.transfer.key for e in found)
        if event is None or event.status != SUCCEEDED:
            said = "has no record of it" if event is None else f"says it is {event.status}"
            for entry in found:
                report.mismatches.append(
                    Mismatch(
                        MISSING_AT_PROVIDER,
                        f"the ledger moved it but the provider {said}",
                        currency=entry.transfer.currency,
                        ledger_amount=entry.transfer.amount,
                        transfers=(entry.transfer.key,),
                        provider=provider,
                        provider_payment_id=payment_id,
                        reference_id=reference,
                    )
                )
            continue
        if not found:
            report.mismatches.append(
                Mismatch(
                    MISSING_IN_LEDGER,
                    "the provider paid it out but the ledger returned it to the wallet"
                    if key in returned
                    else "the provider captured it but the ledger has no transfer for it",
                    currency=event.currency,
                    provider_amount=event.amount,
                    provider=provider,
                    provider_payment_id=payment_id,
                    reference_id=reference,
                )
            )
            continue
        if len(found) > 1:
            report.mismatches.append(
                Mismatch(
                    DUPLICATE,
                    f"{len(found)} ledger transfers for one provider payment",
                    currency=event.currency,
                    provider_amount=event.amount,
                    ledger_amount=sum(e.transfer.amount for e in found),
                    transfers=keys,
                    provider=provider,
                    provider_payment_id=payment_id,
                    reference_id=reference,
                )
            )
            continue
        moved = found[0].transfer
        if (moved.amount, moved.currency) != (event.amount, event.currency):
            report.mismatches.append(
                Mismatch(
                    AMOUNT_MISMATCH,
                    f"the provider took {format_amount(event.amount)} {event.currency}, the ledger moved "
                    f"{format_amount(moved.amount)} {moved.currency}",
                    currency=event.currency,
                    provider_amount=event.amount,
                    ledger_amount=moved.amount,
                    transfers=keys,
                    provider=provider,
                    provider_payment_id=payment_id,
                    reference_id=reference,
                )
            )
            continue
        report.matched += 1

    # One order paid twice: two provider payments captured against the same merchant's reference id.
    orders: dict[tuple[object, str], list[_Entry]] = defaultdict(list)
    for entry in entries:
        if entry.transfer.code == CAPTURE_CODE and entry.reference_id is not None:
            orders[(entry.transfer.references.get("waba_id"), entry.reference_id)].append(entry)
    for (_waba, reference), captured in sorted(orders.items(), key=lambda item: str(item[0])):
        payment_ids = {e.payment_id for e in captured}
        if len(payment_ids) > 1 and any(in_range(e.transfer.created_at) for e in captured):
            report.mismatches.append(
                Mismatch(
                    DUPLICATE,
                    f"order {reference} was captured {len(captured)} times",
                    reference_id=reference,
                    currency=captured[0].transfer.currency,
                    ledger_amount=sum(e.transfer.amount for e in captured),
                    transfers=tuple(e.transfer.key for e in captured),
                )
            )
    return report


def _provider_events(conn: Connection, low: int, high: int) -> dict[tuple[str, str], _Event]:
    p = payments.c
    rows = conn.execute(
        select(p.provider, p.provider_payment_id, p.amount, p.currency, p.status, p.created_at, p.completed_at).where(
            p.id >= low,
            p.id < high,
            # Businesses' messaging-wallet top-ups are billing's: posted from platform cash, not provider clearing.
            ~and_(p.payer_kind == "waba", p.purpose == "wallet_topup"),
            # Orders paid from a person's wallet never reach the provider: the wallet's own top-ups do.
            p.provider != WALLET,
        )
    )
    return {
        (row.provider, row.provider_payment_id): _Event(
            row.provider,
            row.provider_payment_id,
            int(row.amount),
            row.currency,
            row.status,
            int(row.completed_at if row.completed_at is not None else row.created_at),
        )
        for row in rows
    }


def _wallet_funding(conn: Connection, low: int, high: int, named: set[int]) -> dict[int, _Funding]:
    """People's top-ups and withdrawals started in the id range, and any older one a ledger transfer names (a
    top-up confirmed with a code days after it started)."""
    f = wallet_funding.c
    columns = (f.id, f.direction, f.provider, f.provider_payment_id, f.amount, f.currency, f.status)
    found: dict[int, _Funding] = {}

    def keep(rows: Any) -> None:
        for row in rows:
            at = row.completed_at if row.completed_at is not None else row.created_at
            found[int(row.id)] = _Funding(
                int(row.id),
                row.direction,
                row.provider,
                row.provider_payment_id,
                int(row.amount),
                row.currency,
                row.status,
                int(at),
            )

    keep(conn.execute(select(*columns, f.created_at, f.completed_at).where(f.id >= low, f.id < high)))
    older = sorted(i for i in named if not low <= i < high)
    for at in range(0, len(older), _PAGE):
        keep(conn.execute(select(*columns, f.created_at, f.completed_at).where(f.id.in_(older[at : at + _PAGE]))))
    return found


def _with_funding(conn: Connection, journal: ledger.Ledger, entry: _Entry, funding: dict[int, _Funding]) -> _Entry:
    """Name the provider payment of a wallet transfer through its funding row; mark a withdrawal put back."""
    row = None if entry.funding_id is None else funding.get(entry.funding_id)
    if row is None:
        return entry
    returned = False
    if row.direction == WITHDRAWAL:
        reversal = journal.transfer_by_key(conn, withdrawal_returned_key(row.id))
        returned = reversal is not None and reversal.reverses_id == entry.transfer.id
    return replace(entry, funded_as=row.provider_payment_id, returned=returned)


def _ledger_entries(conn: Connection, journal: ledger.Ledger, low: int, high: int) -> list[_Entry]:
    entries = []
    for account in journal.accounts_with_prefix(conn, PROVIDER_PREFIX):
        provider = account.key.removeprefix(PROVIDER_PREFIX).rpartition(":")[0]
        after = max(low - 1, 0)
        while True:
            page = journal.transfers_of(conn, account, after_id=after, until_id=high - 1, limit=_PAGE)
            for transfer in page:
                if (
                    transfer.kind in (ledger.POSTED, ledger.POST)
                    and transfer.reverses_id is None
                    and transfer.code not in UNMATCHED_CODES
                ):
                    entries.append(_Entry(provider, transfer))
            if len(page) < _PAGE:
                break
            after = page[-1].id
    return entries
