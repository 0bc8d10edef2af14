"""A merchant's monthly Parley Pay statement: how its payable moved, exact to the micro.

One statement per business, currency and calendar month (UTC), read from the journal of
`waba:{id}:payable:{CUR}`: the entries whose ids fall in the month (ids are time-ordered, as the revenue report
reads them), so every entry lands in exactly one month. Gross captures and refunds are the payable's net legs
plus the fee legs the payments revenue account holds for the same business (`refs.waba_id`); a chargeback returns
no fee (see disputes.py). closing = opening + captures − fees − refunds + fees returned − disputes + disputes won
− payouts + payouts returned + other, and equals the account's balance at the month's end. A negative closing
payable is what the merchant owes the platform.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley import ledger
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import first_id_at
from parley.kit.money import format_amount
from parley.payments.books import merchant_payable_key, payments_revenue_key
from parley.platform.db import Database

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_PAGE = 1000


@dataclass(frozen=True)
class MerchantStatement:
    waba_id: int
    currency: str
    month: str
    opening: int
    captures: int  # gross, what buyers paid
    fees: int  # the platform's fee on those captures
    refunds: int  # gross, what buyers got back
    fees_returned: int  # the part of the fee refunds gave back to the merchant
    disputes: int  # chargebacks clawed back
    disputes_won: int  # chargebacks the merchant won back
    payouts: int  # sent to the merchant's bank
    payouts_returned: int  # payouts the bank refused, back in the payable
    other: int  # any other movement of the payable (signed), so the statement always adds up
    closing: int
    entries: int

    def lines(self) -> list[tuple[str, str, int]]:
        """(id, label, signed micros) in the statement's order, from the opening to the closing payable."""
        return [
            ("opening", "Opening payable", self.opening),
            ("captures", "Captures (gross)", self.captures),
            ("fees", "Fees", -self.fees),
            ("refunds", "Refunds (gross)", -self.refunds),
            ("fees_returned", "Fees returned on refunds", self.fees_returned),
            ("disputes", "Disputes (chargebacks)", -self.disputes),
            ("disputes_won", "Disputes won", self.disputes_won),
            ("payouts", "Payouts to your bank", -self.payouts),
            ("payouts_returned", "Payouts returned by the bank", self.payouts_returned),
            ("other", "Other adjustments", self.other),
            ("closing", "Closing payable", self.closing),
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "waba_id": str(self.waba_id),
            "currency": self.currency,
            "month": self.month,
            "timezone": "UTC",
            "lines": {key: format_amount(amount) for key, _label, amount in self.lines()},
            "owed_by_merchant": format_amount(-self.closing) if self.closing < 0 else "0.00",
            "entries": self.entries,
        }


def parse_month(raw: str) -> str:
    if not _MONTH.fullmatch(raw):
        raise InvalidInputError(f"month {raw!r} is not a month written YYYY-MM, e.g. 2026-12")
    return raw


def month_bounds(month: str) -> tuple[int, int]:
    """[start, end) of a UTC month, unix milliseconds."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime.datetime(year, number, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=datetime.UTC)
    return int(start.timestamp()) * 1000, int(end.timestamp()) * 1000


async def merchant_statement(
    db: Database, journal: ledger.Ledger, waba_id: int, month: str, currency: str
) -> MerchantStatement:
    """The month's statement of one merchant payable; NotFoundError when the business has none in `currency`."""
    parse_month(month)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInputError(f"currency {currency!r} is not an ISO 4217 code such as BRL")
    return await db.read(lambda conn: merchant_statement_in(conn, journal, waba_id, month, currency))


async def payable_currencies(db: Database, journal: ledger.Ledger, waba_id: int) -> list[str]:
    """The currencies the business has a payable in."""
    prefix = merchant_payable_key(waba_id, "")

    def unit(conn: Connection) -> list[str]:
        return sorted(a.currency for a in journal.accounts_with_prefix(conn, prefix))

    return await db.read(unit)


def _pages(
    conn: Connection, journal: ledger.Ledger, account: ledger.AccountRow, after: int, until: int | None = None
) -> list[ledger.TransferRow]:
    out: list[ledger.TransferRow] = []
    while True:
        page = journal.transfers_of(conn, account, after_id=after, until_id=until, limit=_PAGE)
        out.extend(t for t in page if t.kind in (ledger.POSTED, ledger.POST))
        if len(page) < _PAGE:
            return out
        after = page[-1].id


def merchant_statement_in(
    conn: Connection, journal: ledger.Ledger, waba_id: int, month: str, currency: str
) -> MerchantStatement:
    payable = journal.account(conn, merchant_payable_key(waba_id, currency))
    if payable is None:
        raise NotFoundError(f"business {waba_id} has no Parley Pay payable in {currency}")
    start_ms, end_ms = month_bounds(month)
    low, high = first_id_at(start_ms), first_id_at(end_ms)
    since_start = 0
    sums = dict.fromkeys(("net", "net_refunds", "disputes", "disputes_won", "payouts", "payouts_returned", "other"), 0)
    entries = 0
    for entry in _pages(conn, journal, payable, max(low - 1, 0)):
        credit = entry.credit_account_id == payable.id
        effect = entry.amount if credit else -entry.amount
        since_start += effect
        if entry.id >= high:
            continue
        entries += 1
        bucket = _BUCKETS.get((entry.code, credit))
        if bucket is None:
            sums["other"] += effect
        else:
            sums[bucket] += entry.amount
    fees = fees_returned = 0
    revenue = journal.account(conn, payments_revenue_key(currency))
    if revenue is not None:
        for entry in _pages(conn, journal, revenue, max(low - 1, 0), high - 1):
            if entry.references.get("waba_id") != waba_id:
                continue
            credit = entry.credit_account_id == revenue.id
            if entry.code == "payment.fee" and credit:
                fees += entry.amount
            elif entry.code == "payment.refund" and not credit:
                fees_returned += entry.amount
    opening = payable.balance - since_start
    closing = (
        opening
        + sums["net"]
        - sums["net_refunds"]
        - sums["disputes"]
        + sums["disputes_won"]
        - sums["payouts"]
        + sums["payouts_returned"]
        + sums["other"]
    )
    return MerchantStatement(
        waba_id=waba_id,
        currency=currency,
        month=month,
        opening=opening,
        captures=sums["net"] + fees,
        fees=fees,
        refunds=sums["net_refunds"] + fees_returned,
        fees_returned=fees_returned,
        disputes=sums["disputes"],
        disputes_won=sums["disputes_won"],
        payouts=sums["payouts"],
        payouts_returned=sums["payouts_returned"],
        other=sums["other"],
        closing=closing,
        entries=entries,
    )


# (transfer code, credits the payable?) -> statement bucket; anything else is "other".
_BUCKETS = {
    ("payment.net", True): "net",
    ("payment.refund", False): "net_refunds",
    ("dispute", False): "disputes",
    ("dispute.won", True): "disputes_won",
    ("payout", False): "payouts",
    ("payout.failed", True): "payouts_returned",
}
