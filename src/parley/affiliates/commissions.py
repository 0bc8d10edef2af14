"""Commissions: attribution on capture, claw-back on refund or lost chargeback, release after the refund window.

Attribution (in the capture's unit): the buyer's latest click on a link of this merchant's active program within
the program's window, whose link is live and (for a product link) whose product is a line of the order. No
commission when the buyer is the affiliate (or one of the affiliate business's numbers), or when it would close a
loop: the affiliate person earned nothing on a purchase by the buyer within the window (A earned on B's purchase,
then A's purchase through B's link earns B nothing). The commission leaves the merchant's payable for affiliate
clearing; a refund before release brings `amount × refunded / total` back to the payable; the sweep pays the rest
to the affiliate at `release_at`. A refund after release leaves the commission paid: the merchant bears it. A
card-network dispute the merchant loses before release counts as a refund of the disputed amount (a won one, or one
still open, changes nothing).
"""

from __future__ import annotations

import logging

import orjson
from sqlalchemy import Connection

from parley.affiliates import repository as repo
from parley.affiliates.books import affiliate_clearing_key, commission_key
from parley.affiliates.commission import clawback_due, commission_of
from parley.affiliates.repository import CLAWED, OPEN_STATES, PAID, PARTLY, ClickRow, CommissionRow, LinkRow
from parley.affiliates.service import BUSINESS, DAY_MS, PERSON
from parley.business import BusinessNumbers
from parley.config import AffiliateSettings
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError
from parley.kit.ids import IdGenerator
from parley.kit.periodic import PeriodicTask
from parley.ledger import CREDIT, AccountRow, Ledger
from parley.payments import DisputeRow, OrderRow, RefundRow
from parley.payments.books import (
    open_merchant_payable_in,
    open_person_wallet_in,
)
from parley.platform.db import Database

log = logging.getLogger(__name__)
_RELEASE_BATCH = 50  # ~30 ms per unit on SQLite: the one writer is not held up for long


def retailer_ids(order: OrderRow) -> set[str]:
    """The products an order's lines name (lines without a retailer id name none)."""
    return {str(item["retailer_id"]) for item in orjson.loads(order.items) if item.get("retailer_id")}


class AffiliateCommissions:
    """A merchant-payments capture, refund and lost-dispute observer, and the sweep that pays commissions out."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        journal: Ledger,
        numbers: BusinessNumbers,
        settings: AffiliateSettings,
    ) -> None:
        self._db, self._clock, self._ids, self._journal, self._numbers = db, clock, ids, journal, numbers
        self._sweep = PeriodicTask("affiliate-release", settings.sweep_interval_s, self.release_due)

    def start(self) -> None:
        self._sweep.start()

    async def close(self) -> None:
        await self._sweep.close()

    # --- capture --------------------------------------------------------------------------------------------

    def on_order_captured(self, conn: Connection, order: OrderRow, now: int) -> None:
        program = repo.program_of_waba(conn, order.waba_id)
        if program is None or not program.active:
            return  # most merchants run no program: one indexed read
        found = self._winning_click_in(conn, order, program.id, now - program.window_days * DAY_MS, now)
        if found is None:
            return
        click, link = found
        if self._is_own_purchase_in(conn, link, order.person_id):
            return
        if link.affiliate_kind == PERSON and repo.earned_on_purchase_by(
            conn, order.person_id, link.affiliate_id, now - program.window_days * DAY_MS
        ):
            return  # a loop: the buyer earned on this affiliate's purchase within the window
        amount = commission_of(order.total, program.rate_bp, order.currency)
        if amount == 0:
            return
        commission = CommissionRow(
            id=self._ids.next_id(),
            link_id=link.id,
            click_id=click.id,
            order_id=order.id,
            waba_id=order.waba_id,
            buyer_id=order.person_id,
            order_total=order.total,
            amount=amount,
            clawed_back=0,
            currency=order.currency,
            status=repo.PENDING,
            release_at=now + program.hold_days * DAY_MS,
            created_at=now,
            settled_at=None,
        )
        if not repo.insert_commission(conn, commission):
            return  # the order already has its commission
        self._journal.transfer(
            conn,
            commission_key(commission.id, "held"),
            debit=self._payable(conn, order.waba_id, order.currency),
            credit=self._clearing(conn, order.currency),
            amount=amount,
            code="affiliate.commission",
            refs=self._refs(commission),
            known_new=True,
        )

    @staticmethod
    def _winning_click_in(
        conn: Connection, order: OrderRow, program_id: int, since: int, now: int
    ) -> tuple[ClickRow, LinkRow] | None:
        """Last click wins: the latest click of the buyer whose link can earn on this order."""
        products: set[str] | None = None
        for click, link in repo.recent_clicks(conn, order.person_id, order.waba_id, since, now):
            if link.program_id != program_id or link.revoked_at is not None:
                continue
            if link.product_retailer_id is not None:
                products = retailer_ids(order) if products is None else products
                if link.product_retailer_id not in products:
                    continue
            return click, link
        return None

    def _is_own_purchase_in(self, conn: Connection, link: LinkRow, buyer_id: int) -> bool:
        if link.affiliate_kind == PERSON:
            return link.affiliate_id == buyer_id
        number = self._numbers.number_of_user_in(conn, buyer_id)
        return number is not None and number.waba_id == link.affiliate_id

    # --- refund ---------------------------------------------------------------------------------------------

    def on_order_refunded(self, conn: Connection, order: OrderRow, refund: RefundRow, now: int) -> None:
        self._claw_back_share_in(conn, order, order.refunded, f"clawback:{refund.id}", {"refund_id": refund.id}, now)

    def on_order_dispute_lost(self, conn: Connection, order: OrderRow, dispute: DisputeRow, now: int) -> None:
        """A chargeback the merchant lost takes back the commission as a refund of the disputed amount would."""
        taken = min(order.total, order.refunded + dispute.amount)
        self._claw_back_share_in(conn, order, taken, f"dispute:{dispute.id}", {"dispute_id": dispute.id}, now)

    def _claw_back_share_in(
        self, conn: Connection, order: OrderRow, taken: int, step: str, refs: dict[str, object], now: int
    ) -> None:
        """Claw back `amount × taken / total` of the order's commission still held (`taken`: what the buyer got
        back in all, this step included); `step` names the transfer."""
        for _ in range(3):  # the release sweep may pay the commission meanwhile (PostgreSQL): read it again
            commission = repo.commission_of_order(conn, order.id)
            if commission is None or commission.status not in OPEN_STATES:
                return  # no commission, or already paid out (the merchant bears it) or wholly clawed back
            if self._claw_back_in(conn, commission, order.total, taken, step, refs, now):
                return
        raise ConflictError("the order's affiliate commission kept changing; send the request again")

    def _claw_back_in(
        self,
        conn: Connection,
        commission: CommissionRow,
        total: int,
        taken: int,
        step: str,
        refs: dict[str, object],
        now: int,
    ) -> bool:
        """Claw back the share taken; False when another unit changed the commission first."""
        due = clawback_due(commission.amount, commission.clawed_back, taken, total, commission.currency)
        if due == 0:
            return True
        clawed = commission.clawed_back + due
        whole = clawed == commission.amount
        if not repo.set_commission(
            conn,
            commission.id,
            commission.status,
            clawed_back=clawed,
            status=CLAWED if whole else PARTLY,
            settled_at=now if whole else None,
        ):
            return False
        self._journal.transfer(
            conn,
            commission_key(commission.id, step),
            debit=self._clearing(conn, commission.currency),
            credit=self._payable(conn, commission.waba_id, commission.currency),
            amount=due,
            code="affiliate.clawback",
            refs={**self._refs(commission), **refs},
            known_new=True,
        )
        return True

    # --- release --------------------------------------------------------------------------------------------

    async def release_due(self) -> int:
        """One pass of the sweep: commissions whose refund window has closed are paid to their affiliates (a
        person's Parley Pay wallet, a business's payable). How many were paid."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> int:
            paid = 0
            payees: dict[int, AccountRow] = {}  # per link, within this unit: one affiliate is often paid many
            for commission in repo.due_commissions(conn, now, _RELEASE_BATCH):
                if self._release_in(conn, commission, now, payees):
                    paid += 1
            return paid

        total = 0
        while True:
            paid = await self._db.write("affiliates.release", unit)
            total += paid
            if paid < _RELEASE_BATCH:
                return total

    def _release_in(self, conn: Connection, commission: CommissionRow, now: int, payees: dict[int, AccountRow]) -> bool:
        if not repo.set_commission(conn, commission.id, commission.status, status=PAID, settled_at=now):
            return False
        payee = payees.get(commission.link_id)
        if payee is None or payee.currency != commission.currency:
            payee = payees[commission.link_id] = self._payee_in(conn, commission)
        self._journal.transfer(
            conn,
            commission_key(commission.id, "paid"),
            debit=self._clearing(conn, commission.currency),
            credit=payee,
            amount=commission.amount - commission.clawed_back,
            code="affiliate.payout",
            refs=self._refs(commission),
            known_new=True,
        )
        return True

    def _payee_in(self, conn: Connection, commission: CommissionRow) -> AccountRow:
        """Where a commission is paid: a business affiliate's payable, a person's Parley Pay wallet."""
        link = repo.link(conn, commission.link_id)
        assert link is not None
        if link.affiliate_kind == BUSINESS:
            return self._payable(conn, link.affiliate_id, commission.currency)
        return open_person_wallet_in(self._journal, conn, link.affiliate_id, commission.currency)

    # --- books ----------------------------------------------------------------------------------------------

    @staticmethod
    def _refs(commission: CommissionRow) -> dict[str, object]:
        return {"commission_id": commission.id, "order_id": commission.order_id, "waba_id": commission.waba_id}

    def _payable(self, conn: Connection, waba_id: int, currency: str) -> AccountRow:
        return open_merchant_payable_in(self._journal, conn, waba_id, currency)

    def _clearing(self, conn: Connection, currency: str) -> AccountRow:
        return self._journal.open_account(
            conn, affiliate_clearing_key(currency), currency=currency, normal_side=CREDIT, kind="affiliate_clearing"
        )
