"""A person's ledger accounts (keyed `person:{id}:...`) and their lines, for their export and their erasure's
balance check (`parley.rights`). Nothing here changes the journal: erasure keeps every entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, or_, select
from sqlalchemy.sql import ColumnElement

from parley.kit.rows import Rows, rows_of
from parley.ledger.models import CREDIT, ledger_accounts, ledger_transfers


@dataclass(frozen=True)
class PersonBalance:
    key: str
    currency: str
    posted: int  # micros, on the account's normal side
    pending: int  # micros held, either way


def _theirs(user_id: int) -> ColumnElement[bool]:
    return ledger_accounts.c.key.like(f"person:{user_id}:%")


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Their accounts and every transfer in or out of them."""
    ids = select(ledger_accounts.c.id).where(_theirs(user_id))
    return {
        "ledger_accounts": rows_of(conn, ledger_accounts, _theirs(user_id)),
        "ledger_lines": rows_of(
            conn,
            ledger_transfers,
            or_(ledger_transfers.c.debit_account_id.in_(ids), ledger_transfers.c.credit_account_id.in_(ids)),
            parse=["refs"],
        ),
    }


def person_balances_in(conn: Connection, user_id: int) -> list[PersonBalance]:
    """Each of their accounts' balance, as running totals say (`parley ledger verify` proves them)."""
    out: list[PersonBalance] = []
    for a in conn.execute(select(ledger_accounts).where(_theirs(user_id)).order_by(ledger_accounts.c.key)):
        posted = a.credits_posted - a.debits_posted
        out.append(
            PersonBalance(
                a.key,
                a.currency,
                posted if a.normal_side == CREDIT else -posted,
                a.credits_pending + a.debits_pending,
            )
        )
    return out
