"""Queries of the team inbox. Every lookup by id also names the business, so nothing crosses businesses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from parley.inbox.models import (
    inbox_agents,
    inbox_automations,
    inbox_contact_labels,
    inbox_contacts,
    inbox_events,
    inbox_labels,
    inbox_notes,
    inbox_quick_replies,
    inbox_routing,
    inbox_sessions,
    inbox_settings,
    inbox_thread_labels,
    inbox_threads,
)

R = TypeVar("R")


@dataclass(frozen=True)
class AgentRow:
    id: int
    waba_id: int
    email: str
    name: str
    role: str
    password_hash: str | None
    invite_hash: str | None
    availability: str
    capacity: int
    open_count: int
    skills: str
    created_at: int
    disabled_at: int | None

    @property
    def skill_ids(self) -> list[int]:
        return [int(s) for s in json.loads(self.skills)]


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    agent_id: int
    csrf_token: str
    created_at: int
    expires_at: int
    revoked_at: int | None


@dataclass(frozen=True)
class ThreadRow:
    conversation_id: int
    waba_id: int
    phone_number_id: int
    person_id: int
    chat_id: int
    status: str
    assignee_id: int | None
    unread: int
    last_message_at: int
    last_message_text: str
    last_direction: str
    last_inbound_at: int | None
    waiting_since: int | None
    opened_at: int | None
    first_response_at: int | None
    resolved_at: int | None
    away_sent_at: int | None
    created_at: int


@dataclass(frozen=True)
class LabelRow:
    id: int
    waba_id: int
    name: str
    colour: str
    created_at: int


@dataclass(frozen=True)
class ContactRow:
    id: int
    waba_id: int
    person_id: int
    phone: str
    profile_name: str
    name: str
    notes: str
    first_contact_at: int
    last_contact_at: int
    last_inbound_at: int | None
    updated_at: int


@dataclass(frozen=True)
class NoteRow:
    id: int
    conversation_id: int
    agent_id: int
    body: str
    created_at: int


@dataclass(frozen=True)
class QuickReplyRow:
    id: int
    waba_id: int
    shortcut: str
    body: str
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class SettingsRow:
    waba_id: int
    hours: str
    away_enabled: bool
    away_text: str
    greeting_enabled: bool
    greeting_text: str
    updated_at: int


@dataclass(frozen=True)
class AutomationRow:
    id: int
    conversation_id: int
    kind: str
    trigger_message_id: int
    created_at: int
    done_at: int | None
    outcome: str | None


@dataclass(frozen=True)
class EventRow:
    id: int
    waba_id: int
    conversation_id: int
    kind: str
    agent_id: int | None
    duration_ms: int | None
    automated: int
    at: int


def _one(conn: Connection, query: Any, row_type: type[R]) -> R | None:
    row = conn.execute(query).first()
    return None if row is None else row_type(**row._mapping)


# --- agents and sessions ------------------------------------------------------------------------


def insert_agent(conn: Connection, row: AgentRow) -> None:
    conn.execute(insert(inbox_agents).values(**row.__dict__))


def get_agent(conn: Connection, agent_id: int) -> AgentRow | None:
    return _one(conn, select(inbox_agents).where(inbox_agents.c.id == agent_id), AgentRow)


def agent_by_email(conn: Connection, email: str) -> AgentRow | None:
    return _one(conn, select(inbox_agents).where(inbox_agents.c.email == email), AgentRow)


def agent_by_invite(conn: Connection, invite_hash: str) -> AgentRow | None:
    query = select(inbox_agents).where(inbox_agents.c.invite_hash == invite_hash)
    return _one(conn, query, AgentRow)


def agents_of(conn: Connection, waba_id: int, *, active_only: bool = False) -> list[AgentRow]:
    query = select(inbox_agents).where(inbox_agents.c.waba_id == waba_id)
    if active_only:
        query = query.where(inbox_agents.c.disabled_at.is_(None))
    return [AgentRow(**r._mapping) for r in conn.execute(query.order_by(inbox_agents.c.id))]


def update_agent(conn: Connection, agent_id: int, **values: object) -> None:
    conn.execute(update(inbox_agents).where(inbox_agents.c.id == agent_id).values(**values))


def add_open(conn: Connection, agent_id: int | None, delta: int) -> None:
    if agent_id is not None:
        conn.execute(
            update(inbox_agents)
            .where(inbox_agents.c.id == agent_id)
            .values(open_count=func.max(inbox_agents.c.open_count + delta, 0))
            if conn.dialect.name == "sqlite"
            else update(inbox_agents)
            .where(inbox_agents.c.id == agent_id)
            .values(open_count=func.greatest(inbox_agents.c.open_count + delta, 0))
        )


def insert_session(conn: Connection, row: SessionRow) -> None:
    conn.execute(insert(inbox_sessions).values(**row.__dict__))


def get_session(conn: Connection, token_hash: str) -> SessionRow | None:
    query = select(inbox_sessions).where(inbox_sessions.c.token_hash == token_hash)
    return _one(conn, query, SessionRow)


def extend_session(conn: Connection, token_hash: str, expires_at: int) -> None:
    conn.execute(
        update(inbox_sessions)
        .where(inbox_sessions.c.token_hash == token_hash, inbox_sessions.c.revoked_at.is_(None))
        .values(expires_at=expires_at)
    )


def revoke_session(conn: Connection, token_hash: str, now: int) -> None:
    conn.execute(update(inbox_sessions).where(inbox_sessions.c.token_hash == token_hash).values(revoked_at=now))


def revoke_sessions_of(conn: Connection, agent_id: int, now: int) -> None:
    conn.execute(
        update(inbox_sessions)
        .where(inbox_sessions.c.agent_id == agent_id, inbox_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- threads ----------------------------------------------------------------------------------


def thread_of_chat(conn: Connection, chat_id: int) -> ThreadRow | None:
    return _one(conn, select(inbox_threads).where(inbox_threads.c.chat_id == chat_id), ThreadRow)


def get_thread(conn: Connection, conversation_id: int) -> ThreadRow | None:
    query = select(inbox_threads).where(inbox_threads.c.conversation_id == conversation_id)
    return _one(conn, query, ThreadRow)


def insert_thread(conn: Connection, row: ThreadRow) -> None:
    conn.execute(insert(inbox_threads).values(**row.__dict__))


def update_thread(conn: Connection, conversation_id: int, **values: object) -> None:
    conn.execute(update(inbox_threads).where(inbox_threads.c.conversation_id == conversation_id).values(**values))


def bump_unread(conn: Connection, conversation_id: int) -> None:
    conn.execute(
        update(inbox_threads)
        .where(inbox_threads.c.conversation_id == conversation_id)
        .values(unread=inbox_threads.c.unread + 1)
    )


@dataclass(frozen=True)
class ThreadFilter:
    waba_id: int
    status: str | None = "open"  # None: every status
    assignee_id: int | None = None  # with assignee="mine"
    unassigned: bool = False
    label_id: int | None = None
    number_id: int | None = None
    search: str | None = None


def list_threads(conn: Connection, f: ThreadFilter, after: tuple[int, int] | None, limit: int) -> list[ThreadRow]:
    """Newest activity first, keyset-paged on (last_message_at, conversation_id): one index range per page."""
    t = inbox_threads
    query = select(t)
    if f.assignee_id is not None:
        query = query.where(t.c.assignee_id == f.assignee_id)
    query = query.where(t.c.waba_id == f.waba_id)
    if f.status is not None:
        query = query.where(t.c.status == f.status)
    if f.unassigned:
        query = query.where(t.c.assignee_id.is_(None))
    if f.number_id is not None:
        query = query.where(t.c.phone_number_id == f.number_id)
    if f.label_id is not None:
        query = query.where(
            exists().where(
                inbox_thread_labels.c.conversation_id == t.c.conversation_id,
                inbox_thread_labels.c.label_id == f.label_id,
            )
        )
    if f.search:
        query = query.where(_search_clause(conn, f.waba_id, f.search))
    if after is not None:
        at, conversation_id = after
        query = query.where(
            or_(t.c.last_message_at < at, and_(t.c.last_message_at == at, t.c.conversation_id < conversation_id))
        )
    query = query.order_by(t.c.last_message_at.desc(), t.c.conversation_id.desc()).limit(limit)
    return [ThreadRow(**r._mapping) for r in conn.execute(query)]


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_clause(conn: Connection, waba_id: int, text: str) -> Any:
    """Contact name or phone, or any message of the conversation (a scan of this business's messages)."""
    from parley.messaging import message_text_matches  # the messages table belongs to messaging

    pattern = _like(text.lower())
    contact_match = exists().where(
        inbox_contacts.c.waba_id == waba_id,
        inbox_contacts.c.person_id == inbox_threads.c.person_id,
        or_(
            func.lower(inbox_contacts.c.name).like(pattern, escape="\\"),
            func.lower(inbox_contacts.c.profile_name).like(pattern, escape="\\"),
            inbox_contacts.c.phone.like(_like(text.replace(" ", "")), escape="\\"),
        ),
    )
    return or_(contact_match, message_text_matches(inbox_threads.c.chat_id, pattern))


def count_threads(conn: Connection, f: ThreadFilter) -> int:
    t = inbox_threads
    query = select(func.count()).select_from(t).where(t.c.waba_id == f.waba_id)
    if f.status is not None:
        query = query.where(t.c.status == f.status)
    if f.assignee_id is not None:
        query = query.where(t.c.assignee_id == f.assignee_id)
    if f.unassigned:
        query = query.where(t.c.assignee_id.is_(None))
    return int(conn.execute(query).scalar_one())


def unread_of_agent(conn: Connection, agent_id: int) -> int:
    t = inbox_threads
    query = select(func.coalesce(func.sum(t.c.unread), 0)).where(t.c.assignee_id == agent_id, t.c.status == "open")
    return int(conn.execute(query).scalar_one())


def queued(conn: Connection, waba_id: int, limit: int) -> list[ThreadRow]:
    """Open, unassigned conversations, longest-waiting first."""
    t = inbox_threads
    query = (
        select(t)
        .where(t.c.waba_id == waba_id, t.c.waiting_since.is_not(None))
        .order_by(t.c.waiting_since, t.c.conversation_id)
        .limit(limit)
    )
    return [ThreadRow(**r._mapping) for r in conn.execute(query)]


# --- labels -----------------------------------------------------------------------------------


def insert_label(conn: Connection, row: LabelRow) -> None:
    conn.execute(insert(inbox_labels).values(**row.__dict__))


def labels_of_waba(conn: Connection, waba_id: int) -> list[LabelRow]:
    query = select(inbox_labels).where(inbox_labels.c.waba_id == waba_id).order_by(inbox_labels.c.id)
    return [LabelRow(**r._mapping) for r in conn.execute(query)]


def get_label(conn: Connection, waba_id: int, label_id: int) -> LabelRow | None:
    query = select(inbox_labels).where(inbox_labels.c.id == label_id, inbox_labels.c.waba_id == waba_id)
    return _one(conn, query, LabelRow)


def label_by_name(conn: Connection, waba_id: int, name: str) -> LabelRow | None:
    query = select(inbox_labels).where(inbox_labels.c.waba_id == waba_id, inbox_labels.c.name == name)
    return _one(conn, query, LabelRow)


def update_label(conn: Connection, label_id: int, **values: object) -> None:
    conn.execute(update(inbox_labels).where(inbox_labels.c.id == label_id).values(**values))


def delete_label(conn: Connection, label_id: int) -> None:
    conn.execute(delete(inbox_thread_labels).where(inbox_thread_labels.c.label_id == label_id))
    conn.execute(delete(inbox_contact_labels).where(inbox_contact_labels.c.label_id == label_id))
    conn.execute(delete(inbox_labels).where(inbox_labels.c.id == label_id))


# Labels sit on conversations (inbox_thread_labels.conversation_id) and on contacts (inbox_contact_labels.contact_id):
# the same three operations on either link table.
_LABEL_LINKS = {
    "conversation": (inbox_thread_labels, inbox_thread_labels.c.conversation_id),
    "contact": (inbox_contact_labels, inbox_contact_labels.c.contact_id),
}


def _label_ids(conn: Connection, on: str, owner_ids: list[int]) -> dict[int, list[int]]:
    table, owner = _LABEL_LINKS[on]
    out: dict[int, list[int]] = {o: [] for o in owner_ids}
    if owner_ids:
        query = select(owner, table.c.label_id).where(owner.in_(owner_ids)).order_by(table.c.created_at)
        for owner_id, label_id in conn.execute(query):
            out[owner_id].append(label_id)
    return out


def _add_label(conn: Connection, on: str, owner_id: int, label_id: int, now: int) -> bool:
    table, owner = _LABEL_LINKS[on]
    present = conn.execute(select(table.c.label_id).where(owner == owner_id, table.c.label_id == label_id)).first()
    if present is not None:
        return False
    conn.execute(insert(table).values({owner.name: owner_id, "label_id": label_id, "created_at": now}))
    return True


def _remove_label(conn: Connection, on: str, owner_id: int, label_id: int) -> None:
    table, owner = _LABEL_LINKS[on]
    conn.execute(delete(table).where(owner == owner_id, table.c.label_id == label_id))


def thread_label_ids(conn: Connection, conversation_ids: list[int]) -> dict[int, list[int]]:
    return _label_ids(conn, "conversation", conversation_ids)


def add_thread_label(conn: Connection, conversation_id: int, label_id: int, now: int) -> bool:
    return _add_label(conn, "conversation", conversation_id, label_id, now)


def remove_thread_label(conn: Connection, conversation_id: int, label_id: int) -> None:
    _remove_label(conn, "conversation", conversation_id, label_id)


def contact_label_ids(conn: Connection, contact_ids: list[int]) -> dict[int, list[int]]:
    return _label_ids(conn, "contact", contact_ids)


def add_contact_label(conn: Connection, contact_id: int, label_id: int, now: int) -> bool:
    return _add_label(conn, "contact", contact_id, label_id, now)


def remove_contact_label(conn: Connection, contact_id: int, label_id: int) -> None:
    _remove_label(conn, "contact", contact_id, label_id)


# --- contacts ---------------------------------------------------------------------------------


def get_contact(conn: Connection, waba_id: int, contact_id: int) -> ContactRow | None:
    query = select(inbox_contacts).where(inbox_contacts.c.id == contact_id, inbox_contacts.c.waba_id == waba_id)
    return _one(conn, query, ContactRow)


def contact_of_person(conn: Connection, waba_id: int, person_id: int) -> ContactRow | None:
    query = select(inbox_contacts).where(inbox_contacts.c.waba_id == waba_id, inbox_contacts.c.person_id == person_id)
    return _one(conn, query, ContactRow)


def contacts_of_people(conn: Connection, waba_id: int, person_ids: list[int]) -> dict[int, ContactRow]:
    if not person_ids:
        return {}
    query = select(inbox_contacts).where(
        inbox_contacts.c.waba_id == waba_id, inbox_contacts.c.person_id.in_(person_ids)
    )
    return {r.person_id: ContactRow(**r._mapping) for r in conn.execute(query)}


def insert_contact(conn: Connection, row: ContactRow) -> None:
    conn.execute(insert(inbox_contacts).values(**row.__dict__))


def update_contact(conn: Connection, contact_id: int, **values: object) -> None:
    conn.execute(update(inbox_contacts).where(inbox_contacts.c.id == contact_id).values(**values))


def list_contacts(
    conn: Connection, waba_id: int, search: str | None, label_id: int | None, after: tuple[int, int] | None, limit: int
) -> list[ContactRow]:
    c = inbox_contacts
    query = select(c).where(c.c.waba_id == waba_id)
    if search:
        pattern = _like(search.lower())
        query = query.where(
            or_(
                func.lower(c.c.name).like(pattern, escape="\\"),
                func.lower(c.c.profile_name).like(pattern, escape="\\"),
                c.c.phone.like(_like(search.replace(" ", "")), escape="\\"),
            )
        )
    if label_id is not None:
        query = query.where(
            exists().where(inbox_contact_labels.c.contact_id == c.c.id, inbox_contact_labels.c.label_id == label_id)
        )
    if after is not None:
        at, contact_id = after
        query = query.where(or_(c.c.last_contact_at < at, and_(c.c.last_contact_at == at, c.c.id < contact_id)))
    query = query.order_by(c.c.last_contact_at.desc(), c.c.id.desc()).limit(limit)
    return [ContactRow(**r._mapping) for r in conn.execute(query)]


def threads_of_person(conn: Connection, waba_id: int, person_id: int) -> list[ThreadRow]:
    t = inbox_threads
    query = select(t).where(t.c.waba_id == waba_id, t.c.person_id == person_id).order_by(t.c.conversation_id)
    return [ThreadRow(**r._mapping) for r in conn.execute(query)]


# --- notes, quick replies, settings, routing ----------------------------------------------------


def insert_note(conn: Connection, row: NoteRow) -> None:
    conn.execute(insert(inbox_notes).values(**row.__dict__))


def notes_between(conn: Connection, conversation_id: int, since: int | None, until: int | None) -> list[NoteRow]:
    query = select(inbox_notes).where(inbox_notes.c.conversation_id == conversation_id)
    if since is not None:
        query = query.where(inbox_notes.c.created_at >= since)
    if until is not None:
        query = query.where(inbox_notes.c.created_at <= until)
    query = query.order_by(inbox_notes.c.created_at, inbox_notes.c.id)
    return [NoteRow(**r._mapping) for r in conn.execute(query)]


def quick_replies_of(conn: Connection, waba_id: int) -> list[QuickReplyRow]:
    query = (
        select(inbox_quick_replies)
        .where(inbox_quick_replies.c.waba_id == waba_id)
        .order_by(inbox_quick_replies.c.shortcut)
    )
    return [QuickReplyRow(**r._mapping) for r in conn.execute(query)]


def get_quick_reply(conn: Connection, waba_id: int, reply_id: int) -> QuickReplyRow | None:
    query = select(inbox_quick_replies).where(
        inbox_quick_replies.c.id == reply_id, inbox_quick_replies.c.waba_id == waba_id
    )
    return _one(conn, query, QuickReplyRow)


def quick_reply_by_shortcut(conn: Connection, waba_id: int, shortcut: str) -> QuickReplyRow | None:
    query = select(inbox_quick_replies).where(
        inbox_quick_replies.c.waba_id == waba_id, inbox_quick_replies.c.shortcut == shortcut
    )
    return _one(conn, query, QuickReplyRow)


def insert_quick_reply(conn: Connection, row: QuickReplyRow) -> None:
    conn.execute(insert(inbox_quick_replies).values(**row.__dict__))


def update_quick_reply(conn: Connection, reply_id: int, **values: object) -> None:
    conn.execute(update(inbox_quick_replies).where(inbox_quick_replies.c.id == reply_id).values(**values))


def delete_quick_reply(conn: Connection, reply_id: int) -> None:
    conn.execute(delete(inbox_quick_replies).where(inbox_quick_replies.c.id == reply_id))


def get_settings(conn: Connection, waba_id: int) -> SettingsRow | None:
    query = select(inbox_settings).where(inbox_settings.c.waba_id == waba_id)
    return _one(conn, query, SettingsRow)


def upsert_settings(conn: Connection, row: SettingsRow) -> None:
    if get_settings(conn, row.waba_id) is None:
        conn.execute(insert(inbox_settings).values(**row.__dict__))
    else:
        values = {k: v for k, v in row.__dict__.items() if k != "waba_id"}
        conn.execute(update(inbox_settings).where(inbox_settings.c.waba_id == row.waba_id).values(**values))


def routing_of(conn: Connection, number_id: int) -> tuple[str, int | None]:
    """The number's routing policy and round-robin cursor (defaults until an admin sets one)."""
    row = conn.execute(_routing_query(number_id)).first()
    return ("round_robin", None) if row is None else (str(row.policy), row.cursor_agent_id)


def lock_routing(conn: Connection, number_id: int) -> tuple[str, int | None]:
    """`routing_of`, holding the number's routing row until the unit ends, so that concurrent decisions take turns
    on the round-robin cursor (PostgreSQL; SQLite has one writer). The row is created first: only a row locks."""
    if conn.dialect.name != "postgresql":
        return routing_of(conn, number_id)
    conn.execute(
        pg_insert(inbox_routing)
        .values(phone_number_id=number_id, updated_at=0)
        .on_conflict_do_nothing(index_elements=[inbox_routing.c.phone_number_id])
    )
    row = conn.execute(_routing_query(number_id).with_for_update()).one()
    return str(row.policy), row.cursor_agent_id


def _routing_query(number_id: int) -> Any:
    return select(inbox_routing.c.policy, inbox_routing.c.cursor_agent_id).where(
        inbox_routing.c.phone_number_id == number_id
    )


def set_routing(
    conn: Connection, number_id: int, now: int, *, policy: str | None = None, cursor: int | None = None
) -> None:
    existing = conn.execute(
        select(inbox_routing.c.phone_number_id).where(inbox_routing.c.phone_number_id == number_id)
    ).first()
    values: dict[str, object] = {"updated_at": now}
    if policy is not None:
        values["policy"] = policy
    if cursor is not None:
        values["cursor_agent_id"] = cursor
    if existing is None:
        conn.execute(insert(inbox_routing).values(phone_number_id=number_id, **values))
    else:
        conn.execute(update(inbox_routing).where(inbox_routing.c.phone_number_id == number_id).values(**values))


# --- automations and events -------------------------------------------------------------------


def insert_automation(conn: Connection, row: AutomationRow) -> None:
    conn.execute(insert(inbox_automations).values(**row.__dict__))


def due_automations(conn: Connection, limit: int) -> list[AutomationRow]:
    query = (
        select(inbox_automations)
        .where(inbox_automations.c.done_at.is_(None))
        .order_by(inbox_automations.c.id)
        .limit(limit)
    )
    return [AutomationRow(**r._mapping) for r in conn.execute(query)]


def finish_automation(conn: Connection, automation_id: int, now: int, outcome: str) -> bool:
    """Mark it done unless someone else did: True when this call did."""
    result = conn.execute(
        update(inbox_automations)
        .where(inbox_automations.c.id == automation_id, inbox_automations.c.done_at.is_(None))
        .values(done_at=now, outcome=outcome[:160])
    )
    return result.rowcount == 1


def insert_event(conn: Connection, row: EventRow) -> None:
    conn.execute(insert(inbox_events).values(**row.__dict__))


def events_between(conn: Connection, waba_id: int, since: int, until: int) -> list[EventRow]:
    query = (
        select(inbox_events)
        .where(inbox_events.c.waba_id == waba_id, inbox_events.c.at >= since, inbox_events.c.at < until)
        .order_by(inbox_events.c.at, inbox_events.c.id)
    )
    return [EventRow(**r._mapping) for r in conn.execute(query)]


# --- reports ------------------------------------------------------------------------------------


def report_label_conversations(conn: Connection, waba_id: int) -> dict[int, set[int]]:
    """Every label of the business, with the conversations that carry it now."""
    out: dict[int, set[int]] = {label.id: set() for label in labels_of_waba(conn, waba_id)}
    query = (
        select(inbox_thread_labels.c.label_id, inbox_thread_labels.c.conversation_id)
        .join(inbox_labels, inbox_labels.c.id == inbox_thread_labels.c.label_id)
        .where(inbox_labels.c.waba_id == waba_id)
    )
    for row in conn.execute(query):
        out.setdefault(row.label_id, set()).add(row.conversation_id)
    return out


def report_backlog_events_since(conn: Connection, waba_id: int, since: int) -> list[EventRow]:
    """The events that move the backlog (periods opened, assigned, resolved) from `since` to now."""
    query = (
        select(inbox_events)
        .where(
            inbox_events.c.waba_id == waba_id,
            inbox_events.c.at >= since,
            inbox_events.c.kind.in_(("opened", "reopened", "assigned", "resolved")),
        )
        .order_by(inbox_events.c.at, inbox_events.c.id)
    )
    return [EventRow(**r._mapping) for r in conn.execute(query)]


def report_open_threads(conn: Connection, waba_id: int) -> list[tuple[int, int | None]]:
    """(conversation, assignee) of every conversation open or pending now."""
    t = inbox_threads
    query = select(t.c.conversation_id, t.c.assignee_id).where(
        t.c.waba_id == waba_id, t.c.status.in_(("open", "pending"))
    )
    return [(row.conversation_id, row.assignee_id) for row in conn.execute(query)]
