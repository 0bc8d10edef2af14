"""Queries of the business domain: sync functions of a Connection, run inside the caller's unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from parley.business.models import (
    access_tokens,
    business_messages,
    business_profiles,
    conversations,
    number_history,
    phone_numbers,
    reach,
    referral_clicks,
    referral_links,
    wabas,
)


@dataclass(frozen=True)
class WabaRow:
    id: int
    name: str
    app_id: int
    currency: str
    timezone: str
    messaging_tier: int
    tier_changed_at: int
    created_at: int


@dataclass(frozen=True)
class NumberRow:
    id: int
    waba_id: int
    user_id: int
    display_phone_number: str
    verified_name: str
    quality_rating: str
    status: str
    throughput_mps: int
    created_at: int


@dataclass(frozen=True)
class TokenRow:
    id: int
    waba_id: int
    name: str
    created_at: int
    revoked_at: int | None
    last_used_at: int | None = None  # only read by `list_tokens` (the Cloud API's lookup does not need it)


@dataclass(frozen=True)
class ConversationRow:
    id: int
    phone_number_id: int
    person_id: int
    chat_id: int
    bsuid: str
    first_contact_at: int
    last_inbound_at: int | None
    last_outbound_at: int | None
    referral_at: int | None
    fep_expires_at: int | None


@dataclass(frozen=True)
class BusinessMessageRow:
    message_id: int
    phone_number_id: int
    waba_id: int
    person_id: int
    direction: str
    type: str
    status: int
    category: str | None
    pricing_type: str | None
    billable: bool | None
    market: str | None
    calling_code: str | None
    origin: str | None
    in_service_window: bool | None
    template_id: int | None
    biz_opaque_callback_data: str | None
    error_code: int | None
    created_at: int
    status_at: int


# --- accounts, numbers, tokens -------------------------------------------------------------------


def insert_waba(conn: Connection, waba_id: int, name: str, app_id: int, now: int) -> None:
    conn.execute(insert(wabas).values(id=waba_id, name=name, app_id=app_id, tier_changed_at=now, created_at=now))


def get_waba(conn: Connection, waba_id: int) -> WabaRow | None:
    row = conn.execute(select(wabas).where(wabas.c.id == waba_id)).first()
    return None if row is None else WabaRow(**row._mapping)


def set_waba_timezone(conn: Connection, waba_id: int, timezone: str) -> None:
    conn.execute(update(wabas).where(wabas.c.id == waba_id).values(timezone=timezone))


def set_waba_tier(conn: Connection, waba_id: int, tier: int, now: int) -> None:
    conn.execute(update(wabas).where(wabas.c.id == waba_id).values(messaging_tier=tier, tier_changed_at=now))


def all_wabas(conn: Connection) -> list[WabaRow]:
    return [WabaRow(**r._mapping) for r in conn.execute(select(wabas).order_by(wabas.c.id))]


def insert_number(conn: Connection, number: NumberRow) -> None:
    conn.execute(insert(phone_numbers).values(**number.__dict__))


_NUMBER = select(phone_numbers).where(phone_numbers.c.id == bindparam("id"))


def get_number(conn: Connection, number_id: int) -> NumberRow | None:
    row = conn.execute(_NUMBER, {"id": number_id}).first()
    return None if row is None else NumberRow(**row._mapping)


def numbers_of_users(conn: Connection, user_ids: Iterable[int]) -> dict[int, NumberRow]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = conn.execute(select(phone_numbers).where(phone_numbers.c.user_id.in_(ids)))
    return {r.user_id: NumberRow(**r._mapping) for r in rows}


def business_user_ids(conn: Connection) -> set[int]:
    """The Parley accounts that are business numbers (one per number; numbers are never removed)."""
    return {r.user_id for r in conn.execute(select(phone_numbers.c.user_id))}


def numbers_of_waba(conn: Connection, waba_id: int) -> list[NumberRow]:
    rows = conn.execute(select(phone_numbers).where(phone_numbers.c.waba_id == waba_id).order_by(phone_numbers.c.id))
    return [NumberRow(**r._mapping) for r in rows]


def set_number_quality(conn: Connection, number_id: int, rating: str, status: str) -> None:
    conn.execute(
        update(phone_numbers).where(phone_numbers.c.id == number_id).values(quality_rating=rating, status=status)
    )


def set_number_throughput(conn: Connection, number_id: int, mps: int) -> None:
    conn.execute(update(phone_numbers).where(phone_numbers.c.id == number_id).values(throughput_mps=mps))


@dataclass(frozen=True)
class NumberChangeRow:
    """One change of a number's quality rating, messaging-limit tier or throughput, and why."""

    id: int
    phone_number_id: int
    waba_id: int
    kind: str  # quality | tier | throughput
    event: str
    old_value: str
    new_value: str
    reason: str
    created_at: int


def insert_number_change(conn: Connection, row: NumberChangeRow) -> None:
    conn.execute(insert(number_history).values(**row.__dict__))


def number_changes_of_waba(conn: Connection, waba_id: int, limit_per_number: int) -> dict[int, list[NumberChangeRow]]:
    """Each number's latest changes, newest first."""
    out: dict[int, list[NumberChangeRow]] = {}
    for number in numbers_of_waba(conn, waba_id):
        rows = conn.execute(
            select(number_history)
            .where(number_history.c.phone_number_id == number.id)
            .order_by(number_history.c.created_at.desc(), number_history.c.id.desc())
            .limit(limit_per_number)
        )
        out[number.id] = [NumberChangeRow(**r._mapping) for r in rows]
    return out


def insert_profile(conn: Connection, number_id: int, about: str, now: int) -> None:
    conn.execute(insert(business_profiles).values(phone_number_id=number_id, about=about, updated_at=now))


def insert_token(conn: Connection, token_id: int, waba_id: int, name: str, token_hash: str, now: int) -> None:
    conn.execute(
        insert(access_tokens).values(id=token_id, waba_id=waba_id, name=name, token_hash=token_hash, created_at=now)
    )


def get_token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(
        select(
            access_tokens.c.id,
            access_tokens.c.waba_id,
            access_tokens.c.name,
            access_tokens.c.created_at,
            access_tokens.c.revoked_at,
        ).where(access_tokens.c.token_hash == token_hash)
    ).first()
    return None if row is None else TokenRow(**row._mapping)


def get_token(conn: Connection, token_id: int) -> TokenRow | None:
    t = access_tokens
    query = select(t.c.id, t.c.waba_id, t.c.name, t.c.created_at, t.c.revoked_at, t.c.last_used_at)
    row = conn.execute(query.where(t.c.id == token_id)).first()
    return None if row is None else TokenRow(**row._mapping)


def list_tokens(conn: Connection, waba_id: int) -> list[TokenRow]:
    rows = conn.execute(
        select(
            access_tokens.c.id,
            access_tokens.c.waba_id,
            access_tokens.c.name,
            access_tokens.c.created_at,
            access_tokens.c.revoked_at,
            access_tokens.c.last_used_at,
        )
        .where(access_tokens.c.waba_id == waba_id)
        .order_by(access_tokens.c.id)
    )
    return [TokenRow(**r._mapping) for r in rows]


def revoke_token(conn: Connection, token_id: int, now: int) -> str | None:
    """Revoke a live token; its hash (to evict caches), or None if there was no live token with that id."""
    row = conn.execute(
        select(access_tokens.c.token_hash).where(access_tokens.c.id == token_id, access_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    conn.execute(update(access_tokens).where(access_tokens.c.id == token_id).values(revoked_at=now))
    return str(row.token_hash)


def note_tokens_used(conn: Connection, last_used: dict[int, int]) -> None:
    """Move each token's `last_used_at` forward (never back: another process may have written a later use)."""
    if not last_used:
        return
    t = access_tokens
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"), or_(t.c.last_used_at.is_(None), t.c.last_used_at < bindparam("b_at")))
        .values(last_used_at=bindparam("b_at")),
        [{"b_id": token_id, "b_at": at} for token_id, at in last_used.items()],
    )


def token_id_by_hash(conn: Connection, token_hash: str) -> int | None:
    row = conn.execute(select(access_tokens.c.id).where(access_tokens.c.token_hash == token_hash)).first()
    return None if row is None else int(row.id)


# --- conversations (windows) ---------------------------------------------------------------------

_CONVERSATION = select(conversations).where(
    conversations.c.phone_number_id == bindparam("n"), conversations.c.person_id == bindparam("p")
)


def get_conversation(conn: Connection, number_id: int, person_id: int) -> ConversationRow | None:
    row = conn.execute(_CONVERSATION, {"n": number_id, "p": person_id}).first()
    return None if row is None else ConversationRow(**row._mapping)


_INSERT_CONVERSATION = insert(conversations)


def insert_conversation(conn: Connection, row: ConversationRow) -> None:
    conn.execute(_INSERT_CONVERSATION, row.__dict__)


def update_conversation(conn: Connection, conversation_id: int, **values: object) -> None:
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))


def person_by_bsuid(conn: Connection, number_ids: list[int], value: str) -> int | None:
    if not number_ids:
        return None
    row = conn.execute(
        select(conversations.c.person_id)
        .where(conversations.c.phone_number_id.in_(number_ids), conversations.c.bsuid == value)
        .limit(1)
    ).first()
    return None if row is None else int(row.person_id)


# --- business messages ---------------------------------------------------------------------------


_INSERT_BUSINESS_MESSAGE = insert(business_messages)


def insert_business_message(conn: Connection, row: BusinessMessageRow) -> None:
    conn.execute(_INSERT_BUSINESS_MESSAGE, row.__dict__)


def get_business_message(conn: Connection, message_id: int) -> BusinessMessageRow | None:
    row = conn.execute(select(business_messages).where(business_messages.c.message_id == message_id)).first()
    return None if row is None else BusinessMessageRow(**row._mapping)


def outbound_to(conn: Connection, person_id: int, message_ids: list[int]) -> list[BusinessMessageRow]:
    if not message_ids:
        return []
    rows = conn.execute(
        select(business_messages).where(
            business_messages.c.message_id.in_(message_ids),
            business_messages.c.direction == "out",
            business_messages.c.person_id == person_id,
        )
    )
    return [BusinessMessageRow(**r._mapping) for r in rows]


def set_business_message_status(conn: Connection, message_id: int, status: int, now: int) -> None:
    conn.execute(
        update(business_messages)
        .where(business_messages.c.message_id == message_id)
        .values(status=status, status_at=now)
    )


def last_template_to(conn: Connection, number_id: int, person_id: int, since: int) -> int | None:
    row = conn.execute(
        select(business_messages.c.template_id)
        .where(
            business_messages.c.phone_number_id == number_id,
            business_messages.c.person_id == person_id,
            business_messages.c.direction == "out",
            business_messages.c.template_id.is_not(None),
            business_messages.c.created_at >= since,
        )
        .order_by(business_messages.c.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row.template_id)


# --- reach (messaging limits) --------------------------------------------------------------------


def reached_at(conn: Connection, waba_id: int, person_id: int) -> int | None:
    row = conn.execute(
        select(reach.c.reached_at).where(reach.c.waba_id == waba_id, reach.c.person_id == person_id)
    ).first()
    return None if row is None else int(row.reached_at)


def count_reached_since(conn: Connection, waba_id: int, since: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(reach).where(reach.c.waba_id == waba_id, reach.c.reached_at >= since)
        ).scalar_one()
    )


def mark_reached(conn: Connection, waba_id: int, person_id: int, now: int, existed: bool) -> None:
    if existed:
        conn.execute(
            update(reach).where(and_(reach.c.waba_id == waba_id, reach.c.person_id == person_id)).values(reached_at=now)
        )
    else:
        conn.execute(insert(reach).values(waba_id=waba_id, person_id=person_id, reached_at=now))


# --- click-to-chat links -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralLinkRow:
    code: str
    phone_number_id: int
    source_type: str
    source_id: str
    source_url: str
    headline: str
    body: str
    prefilled_text: str
    created_at: int
    media_type: str = ""
    image_url: str = ""
    video_url: str = ""
    thumbnail_url: str = ""
    welcome_message: str = ""


def insert_referral_link(conn: Connection, row: ReferralLinkRow) -> None:
    conn.execute(insert(referral_links).values(**row.__dict__))


def get_referral_link(conn: Connection, code: str) -> ReferralLinkRow | None:
    row = conn.execute(select(referral_links).where(referral_links.c.code == code)).first()
    return None if row is None else ReferralLinkRow(**row._mapping)


def insert_click(conn: Connection, clid: str, code: str, ref: str, now: int, visitor: str | None = None) -> None:
    conn.execute(insert(referral_clicks).values(ctwa_clid=clid, code=code, ref=ref, created_at=now, visitor=visitor))


def recent_click_of(conn: Connection, code: str, visitor: str, since: int) -> str | None:
    """The click id of this visitor's latest click on the link since `since`, if any."""
    query = (
        select(referral_clicks.c.ctwa_clid)
        .where(
            referral_clicks.c.code == code,
            referral_clicks.c.visitor == visitor,
            referral_clicks.c.created_at >= since,
        )
        .order_by(referral_clicks.c.created_at.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def take_click(conn: Connection, clid: str, person_id: int, now: int) -> tuple[str, ReferralLinkRow] | None:
    """The click and its link, if the click exists and is unused; marks it used by this person."""
    row = conn.execute(
        select(referral_clicks.c.code, referral_clicks.c.ref).where(
            referral_clicks.c.ctwa_clid == clid, referral_clicks.c.used_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    conn.execute(
        update(referral_clicks).where(referral_clicks.c.ctwa_clid == clid).values(used_by=person_id, used_at=now)
    )
    link = get_referral_link(conn, str(row.code))
    return None if link is None else (str(row.ref), link)


# --- QR codes and short links (referral_links rows with source_type "qr") -----------------------------


@dataclass(frozen=True)
class LinkStats:
    link: ReferralLinkRow
    clicks: int
    conversations: int  # clicks whose click id a person's first message used


def links_of_number(
    conn: Connection, number_id: int, source_type: str, limit: int, after: tuple[int, str] | None = None
) -> list[ReferralLinkRow]:
    """Newest first; `after` is the (created_at, code) of the last row of the previous page."""
    query = select(referral_links).where(
        referral_links.c.phone_number_id == number_id, referral_links.c.source_type == source_type
    )
    if after is not None:
        created_at, code = after
        query = query.where(
            (referral_links.c.created_at < created_at)
            | and_(referral_links.c.created_at == created_at, referral_links.c.code < code)
        )
    query = query.order_by(referral_links.c.created_at.desc(), referral_links.c.code.desc()).limit(limit)
    return [ReferralLinkRow(**r._mapping) for r in conn.execute(query)]


def link_stats_of_numbers(conn: Connection, number_ids: list[int], source_type: str) -> list[LinkStats]:
    """Every link of these numbers with its counts, newest first: one grouped query, not one per link."""
    if not number_ids:
        return []
    clicks = (
        select(
            referral_clicks.c.code,
            func.count().label("clicks"),
            func.count(referral_clicks.c.used_at).label("conversations"),
        )
        .group_by(referral_clicks.c.code)
        .subquery()
    )
    query = (
        select(referral_links, clicks.c.clicks, clicks.c.conversations)
        .select_from(referral_links.outerjoin(clicks, clicks.c.code == referral_links.c.code))
        .where(referral_links.c.phone_number_id.in_(number_ids), referral_links.c.source_type == source_type)
        .order_by(referral_links.c.created_at.desc(), referral_links.c.code.desc())
    )
    out = []
    for r in conn.execute(query):
        values = {c.name: r._mapping[c] for c in referral_links.c}
        out.append(LinkStats(ReferralLinkRow(**values), int(r.clicks or 0), int(r.conversations or 0)))
    return out


def set_link_prefilled_text(conn: Connection, code: str, text: str) -> None:
    conn.execute(update(referral_links).where(referral_links.c.code == code).values(prefilled_text=text))


def delete_referral_link(conn: Connection, code: str) -> None:
    """The link and its clicks: a deleted short link no longer opens a chat, and its counts go with it."""
    conn.execute(referral_clicks.delete().where(referral_clicks.c.code == code))
    conn.execute(referral_links.delete().where(referral_links.c.code == code))


def update_referral_link(conn: Connection, code: str, values: dict[str, str]) -> None:
    """An ad's link follows its creative (texts, media, greeting); the code and the clicks stay."""
    conn.execute(update(referral_links).where(referral_links.c.code == code).values(**values))


def click_exists(conn: Connection, clid: str) -> bool:
    query = select(referral_clicks.c.ctwa_clid).where(referral_clicks.c.ctwa_clid == clid)
    return conn.execute(query).first() is not None
