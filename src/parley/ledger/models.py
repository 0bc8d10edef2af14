"""The double-entry journal: accounts with running totals, and transfers that are only ever inserted.

An account keeps four running totals (posted and pending, each side) so a funds check is one conditional
UPDATE; `parley ledger verify` proves the totals equal the sums of the journal.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, String, Table, Text

from parley.kit.db import Id, metadata

DEBIT, CREDIT = "debit", "credit"

# Kinds of transfer rows. A `pending` transfer is a hold; exactly one `post`, `void` or `expire` row resolves it.
POSTED, PENDING, POST, VOID, EXPIRE = "posted", "pending", "post", "void", "expire"
RESOLUTIONS = (POST, VOID, EXPIRE)

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key", String(160), nullable=False, unique=True),  # e.g. "waba:42:wallet", "platform:revenue:messaging"
    Column("currency", String(3), nullable=False),
    Column("normal_side", String(6), nullable=False),  # debit (assets, expenses) | credit (liabilities, revenue)
    Column("kind", String(32), nullable=False),
    Column("owner_id", Id, nullable=True, index=True),  # the WABA an account belongs to; NULL for the platform's
    # NULL: unbounded. Otherwise the account's balance may not go below -limit (0 = prepaid, >0 = credit line).
    Column("floor_limit", BigInteger, nullable=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", Id, primary_key=True),  # time-ordered: the journal's sequence
    Column("key", String(200), nullable=False, unique=True),  # the caller's id: a retry finds the first result
    Column("kind", String(8), nullable=False),
    Column("debit_account_id", Id, nullable=False),
    Column("credit_account_id", Id, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("code", String(48), nullable=False),  # what it is: topup, trial_credit, message_charge, reversal ...
    Column("pending_id", Id, nullable=True, unique=True),  # the hold a post/void/expire resolves (once)
    Column("reverses_id", Id, nullable=True, unique=True),  # the transfer a reversal corrects (once)
    Column("refs", Text, nullable=False),  # compact JSON of what caused it: {"waba_id":..,"message_id":..}
    Column("expires_at", BigInteger, nullable=True),  # holds only
    Column("created_at", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the row's facts: verify detects edited rows
    CheckConstraint("amount >= 0", name="amount_not_negative"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
)
Index("ix_ledger_transfers_debit", ledger_transfers.c.debit_account_id, ledger_transfers.c.id)
Index("ix_ledger_transfers_credit", ledger_transfers.c.credit_account_id, ledger_transfers.c.id)
Index("ix_ledger_transfers_expiring", ledger_transfers.c.kind, ledger_transfers.c.expires_at)
