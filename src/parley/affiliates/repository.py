"""Affiliate queries: driver-agnostic SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.affiliates.models import affiliate_clicks, affiliate_commissions, affiliate_links, affiliate_programs

PENDING, PARTLY, PAID, CLAWED = "pending", "partially_clawed_back", "paid", "clawed_back"
OPEN_STATES = (PENDING, PARTLY)  # the money is still in affiliate clearing


@dataclass(frozen=True)
class ProgramRow:
    id: int
    waba_id: int
    rate_bp: int
    window_days: int
    hold_days: int
    active: bool
    terms: str
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class LinkRow:
    id: int
    program_id: int
    code: str
    affiliate_kind: str  # person | business
    affiliate_id: int
    product_retailer_id: str | None
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True)
class ClickRow:
    id: int
    link_id: int
    waba_id: int
    person_id: int | None
    viewer: str | None
    clicked_at: int


@dataclass(frozen=True)
class CommissionRow:
    id: int
    link_id: int
    click_id: int
    order_id: int
    waba_id: int
    buyer_id: int
    order_total: int
    amount: int
    clawed_back: int
    currency: str
    status: str
    release_at: int
    created_at: int
    settled_at: int | None


@dataclass
class LinkStats:
    """One link's counts, and per currency its commissions: pending and paid (net of claw-backs), clawed back."""

    clicks: int = 0
    purchases: int = 0
    money: dict[str, dict[str, int]] | None = None

    def add(self, currency: str, status: str, amount: int, clawed_back: int, count: int) -> None:
        self.purchases += count
        money = self.money if self.money is not None else {}
        self.money = money
        sums = money.setdefault(currency, {"pending": 0, "paid": 0, "clawed_back": 0})
        sums["clawed_back"] += clawed_back
        if status in OPEN_STATES:
            sums["pending"] += amount - clawed_back
        elif status == PAID:
            sums["paid"] += amount - clawed_back


def _program(row: Row[Any] | None) -> ProgramRow | None:
    return None if row is None else ProgramRow(**row._mapping)


def _link(row: Row[Any] | None) -> LinkRow | None:
    return None if row is None else LinkRow(**row._mapping)


def _commission(row: Row[Any] | None) -> CommissionRow | None:
    return None if row is None else CommissionRow(**row._mapping)


# --- programs -----------------------------------------------------------------------------------------------


def program_of_waba(conn: Connection, waba_id: int) -> ProgramRow | None:
    return _program(conn.execute(select(affiliate_programs).where(affiliate_programs.c.waba_id == waba_id)).first())


def program(conn: Connection, program_id: int) -> ProgramRow | None:
    return _program(conn.execute(select(affiliate_programs).where(affiliate_programs.c.id == program_id)).first())


def insert_program(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(affiliate_programs).values(**values))


def update_program(conn: Connection, program_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(affiliate_programs).where(affiliate_programs.c.id == program_id).values(**values))


def active_programs(conn: Connection, limit: int) -> list[ProgramRow]:
    rows = conn.execute(
        select(affiliate_programs)
        .where(affiliate_programs.c.active.is_(True))
        .order_by(affiliate_programs.c.created_at, affiliate_programs.c.id)
        .limit(limit)
    )
    return [ProgramRow(**r._mapping) for r in rows]


# --- links --------------------------------------------------------------------------------------------------


def link_by_code(conn: Connection, code: str) -> LinkRow | None:
    """The affiliate link with this referral code, revoked or not."""
    return _link(conn.execute(select(affiliate_links).where(affiliate_links.c.code == code)).first())


def link(conn: Connection, link_id: int) -> LinkRow | None:
    return _link(conn.execute(select(affiliate_links).where(affiliate_links.c.id == link_id)).first())


def link_of_owner(
    conn: Connection, kind: str, affiliate_id: int, program_id: int, product: str | None
) -> LinkRow | None:
    c = affiliate_links.c
    product_is = c.product_retailer_id.is_(None) if product is None else c.product_retailer_id == product
    query = select(affiliate_links).where(
        c.affiliate_kind == kind, c.affiliate_id == affiliate_id, c.program_id == program_id, product_is
    )
    return _link(conn.execute(query).first())


def insert_link(conn: Connection, row: LinkRow) -> None:
    conn.execute(insert(affiliate_links).values(**row.__dict__))


def set_link(conn: Connection, link_id: int, **values: Any) -> None:
    conn.execute(update(affiliate_links).where(affiliate_links.c.id == link_id).values(**values))


def links_of_affiliate(conn: Connection, kind: str, affiliate_id: int) -> list[tuple[LinkRow, int]]:
    """The affiliate's links (newest first), each with its program's merchant (waba id)."""
    c = affiliate_links.c
    rows = conn.execute(
        select(affiliate_links, affiliate_programs.c.waba_id.label("merchant_waba_id"))
        .join(affiliate_programs, affiliate_programs.c.id == c.program_id)
        .where(c.affiliate_kind == kind, c.affiliate_id == affiliate_id)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(200)
    )
    out = []
    for r in rows:
        values = dict(r._mapping)
        merchant = int(values.pop("merchant_waba_id"))
        out.append((LinkRow(**values), merchant))
    return out


def links_of_program(conn: Connection, program_id: int, limit: int = 500) -> list[LinkRow]:
    c = affiliate_links.c
    rows = conn.execute(
        select(affiliate_links)
        .where(c.program_id == program_id)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [LinkRow(**r._mapping) for r in rows]


def stats_of_links(conn: Connection, link_ids: Iterable[int]) -> dict[int, LinkStats]:
    """Clicks, purchases and commission sums per link: two grouped queries, whatever the number of links."""
    ids = list(link_ids)
    stats = {link_id: LinkStats() for link_id in ids}
    if not ids:
        return stats
    clicks = conn.execute(
        select(affiliate_clicks.c.link_id, func.count())
        .where(affiliate_clicks.c.link_id.in_(ids))
        .group_by(affiliate_clicks.c.link_id)
    )
    for link_id, count in clicks:
        stats[int(link_id)].clicks = int(count)
    k = affiliate_commissions.c
    money = conn.execute(
        select(k.link_id, k.currency, k.status, func.sum(k.amount), func.sum(k.clawed_back), func.count())
        .where(k.link_id.in_(ids))
        .group_by(k.link_id, k.currency, k.status)
    )
    for link_id, currency, status, amount, clawed_back, count in money:
        stats[int(link_id)].add(str(currency), str(status), int(amount or 0), int(clawed_back or 0), int(count))
    return stats


# --- clicks -------------------------------------------------------------------------------------------------


def insert_click(conn: Connection, row: ClickRow) -> None:
    conn.execute(insert(affiliate_clicks).values(**row.__dict__))


def recent_click_of_viewer(conn: Connection, link_id: int, viewer: str, since: int) -> int | None:
    """The id of this browser's latest click on the link since `since` (a reload or a second tap: one click)."""
    c = affiliate_clicks.c
    query = (
        select(c.id)
        .where(c.link_id == link_id, c.clicked_at >= since, c.viewer == viewer)
        .order_by(c.clicked_at.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def touch_click(conn: Connection, click_id: int, now: int) -> None:
    conn.execute(update(affiliate_clicks).where(affiliate_clicks.c.id == click_id).values(clicked_at=now))


def click(conn: Connection, click_id: int) -> ClickRow | None:
    row = conn.execute(select(affiliate_clicks).where(affiliate_clicks.c.id == click_id)).first()
    return None if row is None else ClickRow(**row._mapping)


def bind_click(conn: Connection, click_id: int, person_id: int) -> bool:
    """Name the person behind a click not yet bound to anyone (False: it was bound already)."""
    c = affiliate_clicks.c
    done = conn.execute(
        update(affiliate_clicks).where(c.id == click_id, c.person_id.is_(None)).values(person_id=person_id)
    )
    return done.rowcount == 1


def recent_clicks(
    conn: Connection, person_id: int, waba_id: int, since: int, until: int
) -> list[tuple[ClickRow, LinkRow]]:
    """The person's clicks on this merchant's links in [since, until], the latest first, with their links."""
    c = affiliate_clicks.c
    query = (
        select(affiliate_clicks, affiliate_links)
        .join(affiliate_links, affiliate_links.c.id == c.link_id)
        .where(c.person_id == person_id, c.waba_id == waba_id, c.clicked_at >= since, c.clicked_at <= until)
        .order_by(c.clicked_at.desc(), c.id.desc())
        .limit(50)
    )
    click_columns = [col.name for col in affiliate_clicks.columns]
    out = []
    for r in conn.execute(query):
        values = tuple(r)
        click_values = dict(zip(click_columns, values[: len(click_columns)], strict=True))
        link_values = dict(
            zip([col.name for col in affiliate_links.columns], values[len(click_columns) :], strict=True)
        )
        out.append((ClickRow(**click_values), LinkRow(**link_values)))
    return out


# --- commissions --------------------------------------------------------------------------------------------


def insert_commission(conn: Connection, row: CommissionRow) -> bool:
    """False when the order already has its commission (a replayed capture)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(affiliate_commissions).values(**row.__dict__).on_conflict_do_nothing()
    return conn.execute(statement).rowcount == 1


def commission_of_order(conn: Connection, order_id: int) -> CommissionRow | None:
    k = affiliate_commissions.c
    return _commission(conn.execute(select(affiliate_commissions).where(k.order_id == order_id)).first())


def set_commission(conn: Connection, commission_id: int, expected_status: str, **values: Any) -> bool:
    """Change a commission still in `expected_status` (False: another unit changed it first)."""
    k = affiliate_commissions.c
    done = conn.execute(
        update(affiliate_commissions).where(k.id == commission_id, k.status == expected_status).values(**values)
    )
    return done.rowcount == 1


def due_commissions(conn: Connection, now: int, limit: int) -> list[CommissionRow]:
    """Commissions whose refund window has closed and whose money is still in clearing, the oldest first."""
    k = affiliate_commissions.c
    rows = conn.execute(
        select(affiliate_commissions)
        .where(k.status.in_(OPEN_STATES), k.release_at <= now)
        .order_by(k.release_at, k.id)
        .limit(limit)
    )
    return [CommissionRow(**r._mapping) for r in rows]


def earned_on_purchase_by(conn: Connection, affiliate_person: int, buyer_id: int, since: int) -> bool:
    """Whether `affiliate_person` earned (a commission not wholly clawed back) on a purchase by `buyer_id` since
    `since`: the first half of a loop."""
    k, link_c = affiliate_commissions.c, affiliate_links.c
    query = (
        select(k.id)
        .join(affiliate_links, link_c.id == k.link_id)
        .where(
            link_c.affiliate_kind == "person",
            link_c.affiliate_id == affiliate_person,
            k.buyer_id == buyer_id,
            k.created_at >= since,
            k.status != CLAWED,
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def commissions_of_merchant(conn: Connection, waba_id: int, before_id: int | None, limit: int) -> list[CommissionRow]:
    k = affiliate_commissions.c
    query = select(affiliate_commissions).where(k.waba_id == waba_id)
    if before_id is not None:
        query = query.where(k.id < before_id)
    rows = conn.execute(query.order_by(k.id.desc()).limit(limit))
    return [CommissionRow(**r._mapping) for r in rows]


def merchant_totals(conn: Connection, waba_id: int) -> dict[str, dict[str, int]]:
    """Per currency: pending, paid and clawed-back commission sums of the merchant's program."""
    k = affiliate_commissions.c
    net = k.amount - k.clawed_back
    rows = conn.execute(
        select(
            k.currency,
            func.sum(case((k.status.in_(OPEN_STATES), net), else_=0)),
            func.sum(case((k.status == PAID, net), else_=0)),
            func.sum(k.clawed_back),
            func.count(),
        )
        .where(and_(k.waba_id == waba_id))
        .group_by(k.currency)
    )
    return {
        str(cur): {"pending": int(p or 0), "paid": int(d or 0), "clawed_back": int(c or 0), "purchases": int(n)}
        for cur, p, d, c, n in rows
    }
