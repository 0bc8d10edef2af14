"""Parley Pay's records beside the ledger: payouts to merchants' banks and card-network disputes."""

from sqlalchemy import BigInteger, Column, Index, String, Table

from parley.kit.db import Id, metadata

payment_payouts = Table(
    "payment_payouts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period", String(10), nullable=False),  # the UTC day of the run that made it, YYYY-MM-DD
    Column("amount", BigInteger, nullable=False),  # micros, a whole number of the currency's minor unit
    Column("status", String(16), nullable=False),  # pending | paid | failed
    Column("bank", String(32), nullable=False),  # the bank seam that carried it ("sandbox")
    Column("bank_reference", String(128), nullable=True),
    Column("failure_reason", String(200), nullable=True),
    Column("transfer_id", Id, nullable=False),  # the ledger transfer payable -> provider clearing
    Column("reversal_id", Id, nullable=True),  # its reversal when the bank refused it
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
)
# One payout per merchant, currency and period, however many runs (or workers) reach it.
Index(
    "ux_payment_payouts_period",
    payment_payouts.c.waba_id,
    payment_payouts.c.currency,
    payment_payouts.c.period,
    unique=True,
)
Index("ix_payment_payouts_status", payment_payouts.c.status, payment_payouts.c.id)

payment_disputes = Table(
    "payment_disputes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waba_id", Id, nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),  # micros clawed back from the merchant's payable
    Column("status", String(8), nullable=False),  # open | won | lost
    Column("capture_transfer_id", Id, nullable=False, unique=True),  # one dispute per captured payment
    Column("reference_id", String(128), nullable=True),
    Column("provider_payment_id", String(128), nullable=True),
    Column("reason", String(200), nullable=True),
    Column("transfer_id", Id, nullable=False),  # the claw-back: payable -> provider clearing
    Column("reversal_id", Id, nullable=True),  # the claw-back's reversal when the merchant won
    Column("created_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
)
