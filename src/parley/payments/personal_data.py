"""A person's Parley Pay records, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, or_, update

from parley.kit.rows import Rows, rows_of
from parley.payments.merchant_models import merchant_orders
from parley.payments.models import payments
from parley.payments.wallet_models import pay_profiles, person_payments, wallet_funding


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Payments to and from people, wallet top-ups and withdrawals, orders paid to merchants, and whether a PIN
    is set (never its hash)."""
    return {
        "pay_profile": rows_of(conn, pay_profiles, pay_profiles.c.user_id == user_id, omit=["pin_hash"]),
        "person_payments": rows_of(
            conn, person_payments, or_(person_payments.c.payer_id == user_id, person_payments.c.payee_id == user_id)
        ),
        "wallet_funding": rows_of(conn, wallet_funding, wallet_funding.c.user_id == user_id),
        "merchant_orders": rows_of(conn, merchant_orders, merchant_orders.c.person_id == user_id),
        "card_payments": rows_of(conn, payments, payments.c.created_by == user_id),
    }


def erase_person_in(conn: Connection, user_id: int, pseudonym: str) -> None:
    """The PIN goes; payment records stay (money history must remain provable), with the number copied onto
    merchants' orders replaced by the pseudonym."""
    conn.execute(delete(pay_profiles).where(pay_profiles.c.user_id == user_id))
    conn.execute(update(merchant_orders).where(merchant_orders.c.person_id == user_id).values(person_phone=pseudonym))
