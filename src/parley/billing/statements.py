"""Monthly statements of a business's wallet: what it was charged for, line by line, and how its balance moved.

A statement covers one calendar month in the business's time zone and, exactly, the wallet's journal entries in
(previous statement's last transfer id, this statement's last transfer id]: every entry lands in one statement
only, and an entry written after a month was finalised lands in the next one. A month is finalised (stored once,
as the JSON document first produced, never rewritten) when it has ended plus a short grace for units still
committing; until then it is a live draft. Message charges are reconciled with the ledger while building: their
lines sum exactly to the wallet's `message_charge` postings in the range, or no statement is produced.
Amounts are exact micros, written as decimal strings in currency units; only the total is rounded, once,
half-up, to the currency's minor unit. Taxes are left out.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jinja2
from sqlalchemy import Connection, and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from parley import ledger
from parley.billing import repository as repo
from parley.billing.books import local_day, wallet_key
from parley.billing.models import FREE, billing_charges, billing_invoices, billing_profiles, billing_statements
from parley.kit.clock import Clock
from parley.kit.errors import AppError, InvalidInputError
from parley.kit.ids import timestamp_ms_of
from parley.kit.money import format_amount, minor_units, parse_amount, round_to_minor
from parley.platform.db import Database

DRAFT, FINAL = "draft", "final"
# A month is finalised this long after it ended, so units that started before midnight have committed.
GRACE_MS = 5 * 60_000
_PAGE = 1000
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_PRICING_TYPE_ORDER = {"regular": 0, "free_customer_service": 1, "free_entry_point": 2}
_PRICING_TYPE_NAMES = {
    "regular": "charged",
    "free_customer_service": "free (service window)",
    "free_entry_point": "free (entry point)",
}
_MOVEMENT_NAMES = {"topup": "Top-up", "trial_credit": "Trial credit", "reversal": "Reversal"}


class StatementReconciliationError(AppError):
    """The journal and the charge rows disagree: no statement is produced from data that does not add up."""

    status = 500
    code = "statement_reconciliation_failed"


@dataclass(frozen=True)
class Statement:
    """One month's statement: its document, and for a finalised one the exact JSON text stored."""

    period: str
    status: str
    document: dict[str, Any]
    text: str  # the JSON document; for a finalised statement, byte for byte what was stored
    invoice_number: str | None = None  # a finalised month with activity: "INV-2026-000012"


@dataclass(frozen=True)
class _Carry:
    """What a statement hands to the next: where the journal stopped and the balances at close."""

    last_transfer_id: int
    closing: int
    held: int


_START = _Carry(0, 0, 0)


@cache
def zone_of(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def parse_period(raw: str) -> str:
    """A statement period `YYYY-MM`; InvalidInputError otherwise."""
    if not _MONTH.fullmatch(raw):
        raise InvalidInputError(f"period {raw!r} is not a month written YYYY-MM, e.g. 2026-12")
    return raw


def month_bounds(month: str, timezone: str) -> tuple[int, int]:
    """[start, end) of a month in a time zone, unix milliseconds."""
    year, number = int(month[:4]), int(month[5:7])
    zone = zone_of(timezone)
    start = datetime.datetime(year, number, 1, tzinfo=zone)
    end = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return int(start.timestamp()) * 1000, int(end.timestamp()) * 1000


def month_of(ms: int, timezone: str) -> str:
    return local_day(ms, timezone).strftime("%Y-%m")


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def canonical_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


class StatementBook:
    """Builds, finalises and reads the statements of businesses; one instance per request is cheap."""

    def __init__(self, db: Database, journal: ledger.Ledger, clock: Clock, *, grace_ms: int = GRACE_MS) -> None:
        self._db, self._journal, self._clock, self._grace_ms = db, journal, clock, grace_ms

    async def statements(self, waba_id: int, business_name: str, upto: str | None = None) -> list[Statement]:
        """Every statement from the business's first month up to `upto` (default: the current month), oldest
        first; months that are over are finalised on the way."""
        now = self._clock.now_ms()
        found = await self._db.read(lambda conn: self._walk(conn, waba_id, business_name, upto, now, persist=False))
        if found is None:  # a month is due for finalisation: write it (and re-read what was stored)
            found = await self._db.write(
                "billing.statements", lambda conn: self._walk(conn, waba_id, business_name, upto, now, persist=True)
            )
        assert found is not None
        return found

    async def statement(self, waba_id: int, period: str, business_name: str) -> Statement | None:
        """One month's statement; None when the business had no account then (before it existed, or later
        than the current month)."""
        wanted = parse_period(period)
        found = await self.statements(waba_id, business_name, upto=wanted)
        return found[-1] if found and found[-1].period == wanted else None

    # --- building ---------------------------------------------------------------------------------------

    def _walk(
        self, conn: Connection, waba_id: int, business_name: str, upto: str | None, now: int, *, persist: bool
    ) -> list[Statement] | None:
        if persist:
            _lock_business(conn, waba_id)  # one unit at a time finalises and numbers a business's months
        profile = repo.get_profile(conn, waba_id)
        if profile is None:
            return []
        current = month_of(now, profile.timezone)
        last = current if upto is None or upto > current else upto
        stored = _stored(conn, waba_id, last)
        out = [_from_stored(row) for row in stored]
        carry = _START
        month = month_of(profile.created_at, profile.timezone)
        if stored:
            carry = _carry_of(out[-1].document, stored[-1].last_transfer_id)
            month = next_month(stored[-1].period)
        wallet = self._journal.account(conn, wallet_key(waba_id))
        while month <= last:
            _start, end = month_bounds(month, profile.timezone)
            final = now >= end + self._grace_ms
            if final and not persist:
                return None
            document, carry = self._build(conn, profile, wallet, month, carry, business_name, now, final)
            if final:
                out.append(_store(conn, waba_id, month, carry, document, now))
            else:
                out.append(Statement(month, DRAFT, document, canonical_json(document)))
            month = next_month(month)
        numbers = _invoice_numbers(conn, waba_id)
        due = [s for s in out if s.status == FINAL and has_activity(s.document) and s.period not in numbers]
        if due:
            if not persist:
                return None
            numbers.update(_issue_invoices(conn, waba_id, [s.period for s in due], now))
        return [
            replace(s, invoice_number=invoice_label(s.period, numbers[s.period])) if s.period in numbers else s
            for s in out
        ]

    def _build(
        self,
        conn: Connection,
        profile: repo.ProfileRow,
        wallet: ledger.AccountRow | None,
        month: str,
        carry: _Carry,
        business_name: str,
        now: int,
        final: bool,
    ) -> tuple[dict[str, Any], _Carry]:
        start, end = month_bounds(month, profile.timezone)
        entries = [] if wallet is None else self._entries(conn, wallet, carry.last_transfer_id, end)
        wallet_id = -1 if wallet is None else wallet.id
        postings = [t for t in entries if t.kind in (ledger.POSTED, ledger.POST) and t.code == "message_charge"]
        charges = _charges_of(conn, postings)
        held = carry.held
        balance = carry.closing
        credits = debits = 0
        movements: list[dict[str, Any]] = []
        for entry in entries:
            outflow = entry.debit_account_id == wallet_id
            if entry.kind == ledger.PENDING:
                held += entry.amount if outflow else 0
                continue
            if entry.kind in (ledger.VOID, ledger.EXPIRE):
                held -= entry.amount if outflow else 0
                continue
            if entry.kind == ledger.POST:
                held -= _hold_of(entry, charges)
            signed = -entry.amount if outflow else entry.amount
            balance += signed
            if entry.code == "message_charge":
                continue
            if signed >= 0:
                credits += signed
            else:
                debits -= signed
            movements.append(_movement(entry, signed, profile.timezone))
        charged_rows = [charges[t.id] for t in postings]
        charged = sum(row.amount for row in charged_rows)
        ledger_charged = sum(t.amount if t.debit_account_id == wallet_id else -t.amount for t in postings)
        if charged != ledger_charged:
            raise StatementReconciliationError(
                f"statement {month} of business {profile.waba_id}: charge rows sum to {charged} micros, "
                f"the ledger's message_charge postings to {ledger_charged}"
            )
        free_rows = _free_charges(conn, profile.waba_id, start, end)
        lines = _lines([*charged_rows, *free_rows])
        if sum(parse_amount(line["amount"]) for line in lines) != charged:
            raise StatementReconciliationError(f"statement {month}: line items do not add up to the charges")
        if balance != carry.closing + credits - debits - charged:
            raise StatementReconciliationError(f"statement {month}: the balance movements do not add up")
        last_id = entries[-1].id if entries else carry.last_transfer_id
        currency = profile.currency
        places = minor_units(currency)
        total = round_to_minor(charged, currency)
        document: dict[str, Any] = {
            "object": "statement",
            "business": {"id": str(profile.waba_id), "name": business_name},
            "period": month,
            "status": FINAL if final else DRAFT,
            "currency": currency,
            "timezone": profile.timezone,
            "period_start": _iso(start, profile.timezone),
            "period_end": _iso(end, profile.timezone),
            ("finalized_at" if final else "generated_at"): _iso(now, profile.timezone),
            "journal": {
                "after_transfer_id": str(carry.last_transfer_id),
                "last_transfer_id": str(last_id),
                "entries": len(entries),
            },
            "opening_balance": format_amount(carry.closing),
            "line_items": lines,
            "wallet_movements": movements,
            "totals": {
                "charged_messages": sum(1 for row in charged_rows if row.billable),
                "free_messages": sum(1 for row in [*charged_rows, *free_rows] if not row.billable),
                "message_charges": format_amount(charged),
                "credits": format_amount(credits),
                "debits": format_amount(debits),
                "net_change": format_amount(balance - carry.closing),
                "total": format_amount(total, places),
                "rounding": format_amount(total - charged),
            },
            "closing_balance": format_amount(balance),
            "held_at_close": format_amount(held),
            "reconciliation": {
                "ledger_message_charges": format_amount(ledger_charged),
                "line_items": format_amount(charged),
                "balanced": True,
            },
            "notes": [
                "Taxes are not included.",
                "Amounts are exact; the total is rounded once, half-up, to the currency's minor unit.",
                "Messages are charged when delivered, at the rate of the delivery day in the business's time zone.",
            ],
        }
        return document, _Carry(last_id, balance, held)

    def _entries(
        self, conn: Connection, wallet: ledger.AccountRow, after_id: int, end_ms: int
    ) -> list[ledger.TransferRow]:
        """The wallet's journal after `after_id`, up to the entries made before `end_ms` (ids are time-ordered)."""
        out: list[ledger.TransferRow] = []
        while True:
            page = self._journal.transfers_of(conn, wallet, after_id=after_id, limit=_PAGE)
            for entry in page:
                if timestamp_ms_of(entry.id) >= end_ms:
                    return out
                out.append(entry)
            if len(page) < _PAGE:
                return out
            after_id = page[-1].id


def has_activity(document: dict[str, Any]) -> bool:
    """Anything happened in the month: a journal entry or a (free) message."""
    return bool(document["journal"]["entries"] or document["line_items"])


def invoice_label(period: str, number: int) -> str:
    return f"INV-{period[:4]}-{number:06d}"


def _lock_business(conn: Connection, waba_id: int) -> None:
    """PostgreSQL: serialise the units finalising one business (SQLite has a single writer already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(billing_profiles.c.waba_id).where(billing_profiles.c.waba_id == waba_id).with_for_update())


def _invoice_numbers(conn: Connection, waba_id: int) -> dict[str, int]:
    i = billing_invoices.c
    return {row.period: int(row.number) for row in conn.execute(select(i.period, i.number).where(i.waba_id == waba_id))}


def _issue_invoices(conn: Connection, waba_id: int, periods: list[str], now: int) -> dict[str, int]:
    """The next numbers of the business's sequence, to these months in order (the caller holds the lock, and
    the unique indexes refuse a second number for a month or a number used twice)."""
    i = billing_invoices.c
    last = int(conn.execute(select(func.coalesce(func.max(i.number), 0)).where(i.waba_id == waba_id)).scalar_one())
    issued = {period: last + n for n, period in enumerate(sorted(periods), start=1)}
    conn.execute(
        insert(billing_invoices),
        [{"waba_id": waba_id, "period": p, "number": n, "issued_at": now} for p, n in issued.items()],
    )
    return issued


def _stored(conn: Connection, waba_id: int, upto: str) -> list[Any]:
    s = billing_statements.c
    return list(
        conn.execute(select(billing_statements).where(s.waba_id == waba_id, s.period <= upto).order_by(s.period))
    )


def _from_stored(row: Any) -> Statement:
    return Statement(row.period, FINAL, json.loads(row.document), row.document)


def _carry_of(document: dict[str, Any], last_transfer_id: int) -> _Carry:
    return _Carry(
        last_transfer_id,
        parse_amount(document["closing_balance"], allow_negative=True),
        parse_amount(document["held_at_close"], allow_negative=True),
    )


def _store(conn: Connection, waba_id: int, month: str, carry: _Carry, document: dict[str, Any], now: int) -> Statement:
    """Store a finalised month once; when another process stored it first, theirs is the statement."""
    text = canonical_json(document)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(billing_statements)
        .values(
            waba_id=waba_id,
            period=month,
            last_transfer_id=carry.last_transfer_id,
            opening=parse_amount(document["opening_balance"], allow_negative=True),
            closing=carry.closing,
            document=text,
            finalized_at=now,
        )
        .on_conflict_do_nothing()
    )
    s = billing_statements.c
    row = conn.execute(select(billing_statements).where(s.waba_id == waba_id, s.period == month)).one()
    return _from_stored(row)


def _charges_of(conn: Connection, postings: Sequence[ledger.TransferRow]) -> dict[int, repo.ChargeRow]:
    """The charge row behind each message posting, by posting id; the two must agree to the micro."""
    by_message: dict[int, ledger.TransferRow] = {}
    for posting in postings:
        message_id = posting.references.get("message_id")
        if not isinstance(message_id, int):
            raise StatementReconciliationError(f"message charge {posting.key} names no message")
        by_message[message_id] = posting
    found: dict[int, repo.ChargeRow] = {}
    ids = list(by_message)
    for i in range(0, len(ids), 500):
        rows = conn.execute(select(billing_charges).where(billing_charges.c.message_id.in_(ids[i : i + 500])))
        for row in rows:
            charge = repo.ChargeRow(**row._mapping)
            posting = by_message[charge.message_id]
            if charge.transfer_id != posting.id or charge.amount != posting.amount:
                raise StatementReconciliationError(
                    f"message {charge.message_id}: charged {charge.amount} micros by transfer {charge.transfer_id}, "
                    f"but the journal posted {posting.amount} by {posting.id}"
                )
            found[posting.id] = charge
    missing = [p.key for p in postings if p.id not in found]
    if missing:
        raise StatementReconciliationError(f"postings without a charge row: {', '.join(missing[:5])}")
    return found


def _hold_of(entry: ledger.TransferRow, charges: dict[int, repo.ChargeRow]) -> int:
    charge = charges.get(entry.id)
    if charge is None or charge.hold_id != entry.pending_id:
        raise StatementReconciliationError(f"posting {entry.key} resolves a hold the statement cannot account for")
    return charge.held


def _free_charges(conn: Connection, waba_id: int, start: int, end: int) -> list[repo.ChargeRow]:
    """Messages delivered free (nothing reserved, so nothing in the journal) in the month."""
    c = billing_charges.c
    rows = conn.execute(
        select(billing_charges).where(
            and_(c.waba_id == waba_id, c.settled_at >= start, c.settled_at < end),
            c.state == FREE,
            c.transfer_id.is_(None),
        )
    )
    return [repo.ChargeRow(**row._mapping) for row in rows]


def display_tier(charge: repo.ChargeRow) -> str | None:
    """The volume band of a regular per-message charge ("0:MAX" for untiered marketing); None otherwise."""
    if charge.pricing_model == "CBP" or charge.pricing_type != "regular":
        return None
    return charge.tier or "0:MAX"


def _tier_order(tier: str | None) -> int:
    if tier is None:
        return -1
    lower = tier.split(":", 1)[0]
    return int(lower) if lower.isdigit() else 0


def _lines(rows: Iterable[repo.ChargeRow]) -> list[dict[str, Any]]:
    """Charges grouped by model × market × category × pricing type × band (and unit rate, which a rate change
    inside a month can split), each with its volume, unit rate and amount."""
    groups: dict[tuple[Any, ...], list[repo.ChargeRow]] = {}
    for row in rows:
        model = row.pricing_model or "PMP"
        pricing_type = row.pricing_type or "free_customer_service"
        unit = "conversation" if model == "CBP" and row.amount > 0 else "message"
        key = (model, row.market, row.category or row.send_category, pricing_type, display_tier(row), unit)
        groups.setdefault((*key, row.amount, row.list_rate), []).append(row)
    ordered = sorted(
        groups,
        key=lambda k: (k[0], k[1], k[2], _PRICING_TYPE_ORDER.get(k[3], 9), _tier_order(k[4]), k[5], -k[6]),
    )
    lines = []
    for group in ordered:
        model, market, category, pricing_type, tier, unit, rate, list_rate = group
        members = groups[group]
        lines.append(
            {
                "pricing_model": model,
                "market": market,
                "category": category,
                "pricing_type": pricing_type,
                "tier": tier,
                "unit": unit,
                "volume": len(members),
                "unit_rate": format_amount(rate),
                "list_rate": format_amount(list_rate),
                "amount": format_amount(rate * len(members)),
            }
        )
    return lines


def _movement(entry: ledger.TransferRow, signed: int, timezone: str) -> dict[str, Any]:
    refs = entry.references
    reference = refs.get("reference")
    if reference is None and entry.code == "topup":
        # Top-up keys are "topup:{waba}:{payment reference}".
        reference = entry.key.split(":", 2)[-1]
    return {
        "date": _iso(entry.created_at, timezone)[:10],
        "kind": entry.code,
        "description": _MOVEMENT_NAMES.get(entry.code, entry.code.replace("_", " ").capitalize()),
        "reference": None if reference is None else str(reference),
        "transfer_id": str(entry.id),
        "amount": format_amount(signed),
    }


def _iso(ms: int, timezone: str) -> str:
    return datetime.datetime.fromtimestamp(ms // 1000, zone_of(timezone)).isoformat()


def summary(statement: Statement) -> dict[str, Any]:
    """A statement's line in the list of periods."""
    doc = statement.document
    return {
        "period": statement.period,
        "status": statement.status,
        "currency": doc["currency"],
        "opening_balance": doc["opening_balance"],
        "message_charges": doc["totals"]["message_charges"],
        "total": doc["totals"]["total"],
        "closing_balance": doc["closing_balance"],
        "held_at_close": doc["held_at_close"],
        "invoice_number": statement.invoice_number,
        "has_activity": has_activity(doc),
    }


# --- renderings ---------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "section",
    "date",
    "description",
    "pricing_model",
    "market",
    "category",
    "pricing_type",
    "tier",
    "unit",
    "volume",
    "unit_rate",
    "amount",
)


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula is kept as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(document: dict[str, Any]) -> str:
    """One row per line item and wallet movement, between the statement's header and its totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    blank = dict.fromkeys(CSV_COLUMNS, "")

    def row(**values: Any) -> None:
        writer.writerow([{**blank, **values}[name] for name in CSV_COLUMNS])

    business = document["business"]
    row(
        section="statement",
        date=document["period"],
        description=_cell(f"{business['name']} ({business['id']}), {document['currency']}, {document['status']}"),
    )
    row(section="opening_balance", date=document["period_start"][:10], amount=document["opening_balance"])
    for line in document["line_items"]:
        row(
            section="message_charge",
            description=_line_description(line),
            pricing_model=line["pricing_model"],
            market=_cell(line["market"]),
            category=line["category"],
            pricing_type=line["pricing_type"],
            tier=line["tier"] or "",
            unit=line["unit"],
            volume=line["volume"],
            unit_rate=line["unit_rate"],
            amount=line["amount"],
        )
    for movement in document["wallet_movements"]:
        description = movement["description"]
        if movement["reference"]:
            description += f" ({movement['reference']})"
        row(section="wallet_movement", date=movement["date"], description=_cell(description), amount=movement["amount"])
    totals = document["totals"]
    row(section="total", description="Message charges (exact)", amount=totals["message_charges"])
    row(section="total", description="Credits", amount=totals["credits"])
    row(section="total", description="Other debits", amount=totals["debits"])
    rounded = f"Total charged, rounded to the {document['currency']} minor unit"
    row(section="total", description=rounded, amount=totals["total"])
    row(section="closing_balance", date=_last_day(document), amount=document["closing_balance"])
    row(section="held_at_close", date=_last_day(document), amount=document["held_at_close"])
    return out.getvalue()


def _line_description(line: dict[str, Any]) -> str:
    kind = _PRICING_TYPE_NAMES.get(line["pricing_type"], line["pricing_type"])
    what = "conversations" if line["unit"] == "conversation" else "messages"
    band = f", band {line['tier']}" if line["tier"] else ""
    return f"{line['category'].replace('_', ' ').capitalize()} {what} to {line['market']}, {kind}{band}"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("parley.billing", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(document: dict[str, Any], invoice_number: str | None = None) -> str:
    """A printable page (print CSS, no external assets); every value is escaped."""
    template = _environment().get_template("statement.html")
    return template.render(s=document, last_day=_last_day(document), invoice_number=invoice_number)


def _last_day(document: dict[str, Any]) -> str:
    """The month's last day (period_end is the first moment after it)."""
    return (datetime.date.fromisoformat(document["period_end"][:10]) - datetime.timedelta(days=1)).isoformat()
