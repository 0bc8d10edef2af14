"""The team inbox: agents and sessions, the inbox state of business conversations, routing, labels, notes,
quick replies, business hours with away and greeting messages.

Conversations are the business domain's (one per number x person); the inbox keeps its state beside them
and hears every message in and out through a conversation observer, inside the unit that stores the message.
Agents' replies go out through the Cloud API send path (window, limits, billing, webhooks) like any API send.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from parley import business, messaging
from parley.graph import GraphError
from parley.inbox import hours as weekly
from parley.inbox import repository as repo
from parley.inbox import statements as hot
from parley.inbox.automations import Automations
from parley.inbox.cookies import SESSION_MAX_AGE_S
from parley.inbox.inputs import (
    COLOUR,
    automation_fields,
    check_password,
    fill_variables,
    id_or_404,
    label_fields,
    parse_cursor,
    placeholder_components,
    quick_reply_fields,
    recipient_phone,
    require_admin,
    template_request,
    text_field,
)
from parley.inbox.models import ROUTING_POLICIES, STATUSES
from parley.inbox.passwords import PasswordPool
from parley.inbox.routing import choose_agent, eligible
from parley.inbox.views import (
    agent_view,
    contact_view,
    conversation_view,
    label_view,
    note_view,
    quick_reply_view,
)
from parley.kit.clock import Clock
from parley.kit.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    UnauthenticatedError,
)
from parley.kit.ids import IdGenerator, parse_id
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.platform.db.driver import DriverCursor
from parley.platform.ratelimit import RateLimiter

if TYPE_CHECKING:
    from parley.config import InboxSettings
    from parley.inbox.ports import BusinessPort


ROLES = ("owner", "admin", "agent")
AVAILABILITY = ("online", "away", "offline")
SESSION_TTL_MS = SESSION_MAX_AGE_S * 1000  # the cookie and the session end together
GREETING_SILENCE_MS = 14 * 24 * 3600 * 1000
DEFAULT_LABELS = (
    ("New customer", "#2e7d32"),
    ("Prospect", "#1565c0"),
    ("After-sales", "#6a1b9a"),
    ("Payment pending", "#ef6c00"),
    ("Paid", "#00897b"),
    ("Order complete", "#546e7a"),
)
SESSIONS_ENDED = "sessions_ended"  # a stream event for the server's own streams, never forwarded to pages
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class PaymentRequiredError(AppError):
    status = 402
    code = "payment_required"


class OutsideWindowError(ConflictError):
    code = "outside_window"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def inbox_topic(waba_id: int) -> str:
    return f"inbox:{waba_id}"


@dataclass(frozen=True)
class AgentContext:
    """Who is calling: an agent of one business, through one session."""

    agent_id: int
    waba_id: int
    role: str
    name: str
    csrf_token: str
    session_hash: str

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")


@dataclass(frozen=True)
class SignedIn:
    token: str
    csrf_token: str
    agent_id: int


@dataclass(frozen=True)
class ConversationQuery:
    status: str | None = "open"
    assignee: str = "all"  # mine | unassigned | all
    label_id: int | None = None
    number_id: int | None = None
    search: str | None = None


class InboxService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        business_service: BusinessPort,
        rate_limiter: RateLimiter,
        settings: InboxSettings,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._business = business_service
        self._limiter = rate_limiter
        self._settings = settings
        self._passwords = PasswordPool(settings.password_hash_threads, settings.password_hash_queue)
        self.automations = Automations(db, clock, ids, business_service, self._publish, settings.automation_poll_s)
        business_service.add_conversation_observer(self)

    async def start(self) -> None:
        await self._passwords.warm()
        await self.automations.start()

    async def close(self) -> None:
        await self.automations.close()
        self._passwords.close()

    async def run_automations_now(self) -> int:
        """Send the away and greeting messages planned so far (tests and operators; a loop does it anyway)."""
        return await self.automations.run_now()

    async def _publish(self, waba_id: int, event: dict[str, Any]) -> None:
        await self._bus.publish(inbox_topic(waba_id), event)

    # --- agents, sign-in, sessions -------------------------------------------------------------

    async def create_agent(
        self, waba_id: int, *, email: str, name: str, role: str, password: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """A new agent: with a password (operator CLI, tests) or an invitation token to set one."""
        email = email.strip().lower()
        if not _EMAIL.match(email) or len(email) > 254:
            raise InvalidInputError(f"{email!r} is not an email address")
        name = name.strip()
        if not name or len(name) > 128:
            raise InvalidInputError("name is required (at most 128 characters)")
        if role not in ROLES:
            raise InvalidInputError(f"role must be one of {', '.join(ROLES)}")
        if password is not None:
            check_password(password)
        password_hash = None if password is None else await self._passwords.hash(password)
        invite = None if password is not None else secrets.token_urlsafe(24)
        now = self._clock.now_ms()
        row = repo.AgentRow(
            id=self._ids.next_id(),
            waba_id=waba_id,
            email=email,
            name=name,
            role=role,
            password_hash=password_hash,
            invite_hash=None if invite is None else hash_secret(invite),
            availability="offline",
            capacity=10,
            open_count=0,
            skills="[]",
            created_at=now,
            disabled_at=None,
        )
        await self._business.require_waba(waba_id)

        def unit(conn: Connection) -> None:
            if repo.agent_by_email(conn, email) is not None:
                raise ConflictError(f"{email} already has an agent account")
            repo.insert_agent(conn, row)
            self._ensure_defaults(conn, waba_id, now)

        await self._db.write("inbox.create_agent", unit)
        await self._publish(waba_id, {"type": "agents"})
        return agent_view(row), invite

    def _ensure_defaults(self, conn: Connection, waba_id: int, now: int) -> None:
        """A business's first agent brings the default labels a shop would use."""
        if repo.labels_of_waba(conn, waba_id):
            return
        for name, colour in DEFAULT_LABELS:
            repo.insert_label(conn, repo.LabelRow(self._ids.next_id(), waba_id, name, colour, now))

    async def sign_in(self, email: str, password: str, address: str = "local") -> SignedIn:
        """`address` is `http.client_address` of the caller: limits hold the guesser back, never the account alone."""
        email = email.strip().lower()
        await self._limit_sign_in(email, address)
        agent = await self._db.read(lambda c: repo.agent_by_email(c, email))
        usable = agent is not None and agent.disabled_at is None
        # The same argon2 work whether or not the email has an account: timing tells nothing.
        matched = await self._passwords.verify(agent.password_hash if agent is not None else None, password)
        if agent is None or not usable or not matched:
            raise UnauthenticatedError("Wrong email or password.")
        return await self._open_session(agent)

    async def _limit_sign_in(self, email: str, address: str) -> None:
        """Cheapest and widest first, so a refused attempt does not count against the narrower limits."""
        limits = self._settings
        for key, limit, window_s in (
            ("inbox-sign-in:all", limits.login_global, 60),
            (f"inbox-sign-in:address:{address}", limits.login_per_address, 600),
            (f"inbox-sign-in:guess:{address}:{email}", limits.login_per_address_and_email, 900),
            (f"inbox-sign-in:email:{email}", limits.login_per_email, 3600),
        ):
            retry = await self._limiter.hit(key, limit, window_s)
            if retry is not None:
                raise RateLimitedError(f"Too many sign-in attempts; try again in {retry} s.", retry_after_s=retry)

    async def _open_session(self, agent: repo.AgentRow) -> SignedIn:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = self._clock.now_ms()
        session = repo.SessionRow(hash_secret(token), agent.id, csrf, now, now + SESSION_TTL_MS, None)

        def unit(conn: Connection) -> None:
            repo.insert_session(conn, session)
            if agent.availability == "offline":  # signing in puts an agent online, as in Chatwoot
                repo.update_agent(conn, agent.id, availability="online")
                self._drain_queue_in(conn, agent.waba_id, now)

        await self._db.write("inbox.open_session", unit)
        await self._publish(agent.waba_id, {"type": "agents"})
        return SignedIn(token, csrf, agent.id)

    async def accept_invite(self, token: str, password: str) -> SignedIn:
        check_password(password)
        invite_hash = hash_secret(token)
        password_hash = await self._passwords.hash(password)

        def unit(conn: Connection) -> repo.AgentRow:
            agent = repo.agent_by_invite(conn, invite_hash)
            if agent is None or agent.disabled_at is not None:
                raise NotFoundError("this invitation was used or withdrawn")
            repo.update_agent(conn, agent.id, password_hash=password_hash, invite_hash=None)
            return agent

        agent = await self._db.write("inbox.accept_invite", unit)
        return await self._open_session(agent)

    async def invitation(self, token: str) -> dict[str, Any]:
        agent = await self._db.read(lambda c: repo.agent_by_invite(c, hash_secret(token)))
        if agent is None or agent.disabled_at is not None:
            raise NotFoundError("this invitation was used or withdrawn")
        return agent_view(agent)

    async def session(self, token: str | None, *, slide: bool = True) -> AgentContext:
        if not token:
            raise UnauthenticatedError("sign in first")
        token_hash = hash_secret(token)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[AgentContext, bool] | None:
            session = repo.get_session(conn, token_hash)
            if session is None or session.revoked_at is not None or session.expires_at <= now:
                return None
            agent = repo.get_agent(conn, session.agent_id)
            if agent is None or agent.disabled_at is not None:
                return None
            ctx = AgentContext(agent.id, agent.waba_id, agent.role, agent.name, session.csrf_token, token_hash)
            return ctx, session.expires_at - now < SESSION_TTL_MS // 2

        found = await self._db.read(unit)
        if found is None:
            raise UnauthenticatedError("your session ended; sign in again")
        ctx, half_spent = found
        # An agent who keeps working stays signed in: the session slides (the page re-sets the cookie).
        if half_spent and slide:
            await self._db.write("inbox.session", lambda c: repo.extend_session(c, token_hash, now + SESSION_TTL_MS))
        return ctx

    async def sign_out(self, ctx: AgentContext) -> None:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            repo.revoke_session(conn, ctx.session_hash, now)
            repo.update_agent(conn, ctx.agent_id, availability="offline")

        await self._db.write("inbox.sign_out", unit)
        await self._sessions_ended(ctx.waba_id, ctx.agent_id)
        await self._publish(ctx.waba_id, {"type": "agents"})

    async def _sessions_ended(self, waba_id: int, agent_id: int) -> None:
        """Tell every process's live streams of this agent to check their session again (and close if it ended)."""
        await self._publish(waba_id, {"type": SESSIONS_ENDED, "agent_id": str(agent_id)})

    async def reset_password(self, waba_id: int, email: str, password: str) -> dict[str, Any]:
        """Operator: set a new password and end the agent's sessions."""
        check_password(password)
        password_hash = await self._passwords.hash(password)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> repo.AgentRow:
            agent = repo.agent_by_email(conn, email.strip().lower())
            if agent is None or agent.waba_id != waba_id:
                raise NotFoundError(f"no agent {email} in business {waba_id}")
            repo.update_agent(conn, agent.id, password_hash=password_hash, invite_hash=None)
            repo.revoke_sessions_of(conn, agent.id, now)
            found = repo.get_agent(conn, agent.id)
            assert found is not None
            return found

        agent = await self._db.write("inbox.reset_password", unit)
        await self._sessions_ended(agent.waba_id, agent.id)
        return agent_view(agent)

    async def me(self, ctx: AgentContext) -> dict[str, Any]:
        info = await self._business.inbox_business(ctx.waba_id)

        def unit(conn: Connection) -> tuple[repo.AgentRow | None, dict[int, str]]:
            policies = {n["id"]: repo.routing_of(conn, n["id"])[0] for n in info.numbers}
            return repo.get_agent(conn, ctx.agent_id), policies

        agent, policies = await self._db.read(unit)
        assert agent is not None
        return {
            "agent": agent_view(agent),
            "business": {"waba_id": str(ctx.waba_id), "name": info.name, "timezone": info.timezone},
            "numbers": [
                {
                    "id": str(n["id"]),
                    "display_phone_number": n["display_phone_number"],
                    "verified_name": n["verified_name"],
                    "routing_policy": policies[n["id"]],
                }
                for n in info.numbers
            ],
            "csrf_token": ctx.csrf_token,
            "billing": info.billing,
        }

    async def list_agents(self, ctx: AgentContext) -> list[dict[str, Any]]:
        return [agent_view(a) for a in await self._db.read(lambda c: repo.agents_of(c, ctx.waba_id))]

    async def update_agent(
        self, ctx: AgentContext, raw_agent_id: str | int, body: object, *, self_service: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        agent_id = id_or_404(raw_agent_id, "agent")
        if not self_service and agent_id != ctx.agent_id:
            require_admin(ctx)
        changes: dict[str, object] = {}
        if "availability" in body:
            if body["availability"] not in AVAILABILITY:
                raise InvalidInputError(f"availability must be one of {', '.join(AVAILABILITY)}")
            changes["availability"] = body["availability"]
        if "name" in body:
            changes["name"] = text_field(body, "name", 128)
        admin_fields = {"role", "capacity", "skills"} & body.keys()
        if admin_fields:
            require_admin(ctx)
        if "role" in body:
            if body["role"] not in ROLES:
                raise InvalidInputError(f"role must be one of {', '.join(ROLES)}")
            if body["role"] == "owner" and ctx.role != "owner":
                raise ForbiddenError("only an owner can make another owner")
            changes["role"] = body["role"]
        if "capacity" in body:
            capacity = body["capacity"]
            if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 1000:
                raise InvalidInputError("capacity must be a whole number from 0 to 1000")
            changes["capacity"] = capacity
        skills_in = body.get("skills")
        if "skills" in body and not (isinstance(skills_in, list) and all(isinstance(s, str) for s in skills_in)):
            raise InvalidInputError("skills must be a list of label ids")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> repo.AgentRow:
            agent = repo.get_agent(conn, agent_id)
            if agent is None or agent.waba_id != ctx.waba_id:
                raise NotFoundError("no such agent")
            if agent.role == "owner" and ctx.role != "owner" and agent.id != ctx.agent_id:
                raise ForbiddenError("only an owner can change an owner")
            if isinstance(skills_in, list):
                skill_ids = [id_or_404(s, "label") for s in skills_in]
                for label_id in skill_ids:
                    if repo.get_label(conn, ctx.waba_id, label_id) is None:
                        raise NotFoundError("no such label")
                changes["skills"] = json.dumps(sorted(set(skill_ids)))
            if changes:
                repo.update_agent(conn, agent_id, **changes)
            if changes.get("availability") == "online" or "capacity" in changes or "skills" in changes:
                self._drain_queue_in(conn, ctx.waba_id, now)
            updated = repo.get_agent(conn, agent_id)
            assert updated is not None
            return updated

        updated = await self._db.write("inbox.update_agent", unit)
        await self._publish(ctx.waba_id, {"type": "agents"})
        return agent_view(updated)

    async def invite_agent(self, ctx: AgentContext, body: object) -> tuple[dict[str, Any], str]:
        require_admin(ctx)
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        role = body.get("role", "agent")
        if role == "owner" and ctx.role != "owner":
            raise ForbiddenError("only an owner can invite an owner")
        agent, invite = await self.create_agent(
            ctx.waba_id,
            email=text_field(body, "email", 254),
            name=text_field(body, "name", 128),
            role=str(role),
        )
        assert invite is not None
        return agent, invite

    async def disable_agent(self, ctx: AgentContext, raw_agent_id: str) -> None:
        require_admin(ctx)
        agent_id = id_or_404(raw_agent_id, "agent")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            agent = repo.get_agent(conn, agent_id)
            if agent is None or agent.waba_id != ctx.waba_id:
                raise NotFoundError("no such agent")
            if agent.role == "owner" and ctx.role != "owner":
                raise ForbiddenError("only an owner can remove an owner")
            if agent.id == ctx.agent_id:
                raise ConflictError("you cannot remove yourself")
            repo.update_agent(conn, agent_id, disabled_at=now, availability="offline")
            repo.revoke_sessions_of(conn, agent_id, now)

        await self._db.write("inbox.disable_agent", unit)
        await self._sessions_ended(ctx.waba_id, agent_id)
        await self._publish(ctx.waba_id, {"type": "agents"})

    # --- the conversation list and one conversation ---------------------------------------------

    async def list_conversations(
        self, ctx: AgentContext, query: ConversationQuery, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not 1 <= limit <= 100:
            raise InvalidInputError("limit must be between 1 and 100")
        if query.status is not None and query.status not in STATUSES:
            raise InvalidInputError("status must be open, pending, resolved or all")
        if query.assignee not in ("mine", "unassigned", "all"):
            raise InvalidInputError("assignee must be mine, unassigned or all")
        search = (query.search or "").strip()
        if len(search) > 100:
            raise InvalidInputError("search is limited to 100 characters")
        flt = repo.ThreadFilter(
            waba_id=ctx.waba_id,
            status=query.status,
            assignee_id=ctx.agent_id if query.assignee == "mine" else None,
            unassigned=query.assignee == "unassigned",
            label_id=query.label_id,
            number_id=query.number_id,
            search=search or None,
        )
        after = parse_cursor(cursor)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
            threads = repo.list_threads(conn, flt, after, limit + 1)
            more = len(threads) > limit
            threads = threads[:limit]
            views = self._conversation_views(conn, ctx.waba_id, threads, now)
            last = threads[-1] if more and threads else None
            return views, None if last is None else f"{last.last_message_at}_{last.conversation_id}"

        return await self._db.read(unit)

    def _conversation_views(
        self, conn: Connection, waba_id: int, threads: list[repo.ThreadRow], now: int
    ) -> list[dict[str, Any]]:
        labels = {label.id: label for label in repo.labels_of_waba(conn, waba_id)}
        agents = {a.id: a for a in repo.agents_of(conn, waba_id)}
        contacts = repo.contacts_of_people(conn, waba_id, [t.person_id for t in threads])
        label_ids = repo.thread_label_ids(conn, [t.conversation_id for t in threads])
        return [
            conversation_view(
                t,
                contact=contacts.get(t.person_id),
                labels=[labels[i] for i in label_ids[t.conversation_id] if i in labels],
                agents=agents,
                now=now,
            )
            for t in threads
        ]

    async def counts(self, ctx: AgentContext) -> dict[str, int]:
        def unit(conn: Connection) -> dict[str, int]:
            return {
                "mine": repo.count_threads(conn, repo.ThreadFilter(ctx.waba_id, "open", assignee_id=ctx.agent_id)),
                "unassigned": repo.count_threads(conn, repo.ThreadFilter(ctx.waba_id, "open", unassigned=True)),
                "unread_mine": repo.unread_of_agent(conn, ctx.agent_id),
            }

        return await self._db.read(unit)

    def _thread_in(self, conn: Connection, ctx: AgentContext, raw_id: str | int) -> repo.ThreadRow:
        thread = repo.get_thread(conn, id_or_404(raw_id, "conversation"))
        if thread is None or thread.waba_id != ctx.waba_id:
            raise NotFoundError("no such conversation")
        return thread

    async def conversation(self, ctx: AgentContext, raw_id: str) -> dict[str, Any]:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            thread = self._thread_in(conn, ctx, raw_id)
            return self._conversation_views(conn, ctx.waba_id, [thread], now)[0]

        return await self._db.read(unit)

    async def history(self, ctx: AgentContext, raw_id: str, before: str | None, limit: int) -> dict[str, Any]:
        thread = await self._db.read(lambda c: self._thread_in(c, ctx, raw_id))
        number_user = await self._business.number_user_id(thread.phone_number_id)
        page, older = await self._business.conversation_history(number_user, thread.chat_id, before, limit)
        page = list(reversed(page))  # oldest first on the page
        since = None if older is None or not page else int(page[0]["timestamp"])
        until = None if before is None or not page else int(page[-1]["timestamp"])

        def unit(conn: Connection) -> list[dict[str, Any]]:
            agents = {a.id: a for a in repo.agents_of(conn, ctx.waba_id)}
            return [note_view(n, agents) for n in repo.notes_between(conn, thread.conversation_id, since, until)]

        notes = await self._db.read(unit)
        for message in page:
            message["direction"] = "out" if message.get("sender_id") == str(number_user) else "in"
        return {"data": page, "notes": notes, "paging": {"before": older}}

    async def mark_read(self, ctx: AgentContext, raw_id: str) -> None:
        def unit(conn: Connection) -> None:
            thread = self._thread_in(conn, ctx, raw_id)
            repo.update_thread(conn, thread.conversation_id, unread=0)

        await self._db.write("inbox.mark_read", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})

    # --- acting on a conversation ---------------------------------------------------------------

    async def add_note(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        text = text_field(body, "body", 4096)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            thread = self._thread_in(conn, ctx, raw_id)
            note = repo.NoteRow(self._ids.next_id(), thread.conversation_id, ctx.agent_id, text, now)
            repo.insert_note(conn, note)
            agents = {a.id: a for a in repo.agents_of(conn, ctx.waba_id)}
            return note_view(note, agents)

        note = await self._db.write("inbox.add_note", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})
        return note

    async def assign(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        if not isinstance(body, dict) or "agent_id" not in body:
            raise InvalidInputError('give {"agent_id": ID} or {"agent_id": null}')
        raw_agent = body["agent_id"]
        agent_id = None if raw_agent is None else id_or_404(str(raw_agent), "agent")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> repo.ThreadRow:
            thread = self._thread_in(conn, ctx, raw_id)
            if agent_id is not None:
                agent = repo.get_agent(conn, agent_id)
                if agent is None or agent.waba_id != ctx.waba_id or agent.disabled_at is not None:
                    raise NotFoundError("no such agent")
            self._assign_in(conn, thread, agent_id, now, by=ctx.agent_id)
            if agent_id is None and thread.status == "open":
                self._route_in(conn, repo.get_thread(conn, thread.conversation_id) or thread, now)
            found = repo.get_thread(conn, thread.conversation_id)
            assert found is not None
            return found

        await self._db.write("inbox.assign", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})
        return await self.conversation(ctx, raw_id)

    async def set_status(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        status = body.get("status") if isinstance(body, dict) else None
        if status not in STATUSES:
            raise InvalidInputError("status must be open, pending or resolved")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            thread = self._thread_in(conn, ctx, raw_id)
            if thread.status == status:
                return
            if status == "resolved":
                self._resolve_in(conn, thread, now)
            elif thread.status == "resolved":
                self._reopen_in(conn, thread, now, status=str(status))
            else:
                repo.update_thread(conn, thread.conversation_id, status=status)

        await self._db.write("inbox.set_status", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})
        return await self.conversation(ctx, raw_id)

    async def add_label(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        label_id = id_or_404(str(body.get("label_id", "")) if isinstance(body, dict) else "", "label")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            thread = self._thread_in(conn, ctx, raw_id)
            if repo.get_label(conn, ctx.waba_id, label_id) is None:
                raise NotFoundError("no such label")
            repo.add_thread_label(conn, thread.conversation_id, label_id, now)

        await self._db.write("inbox.add_label", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})
        return await self.conversation(ctx, raw_id)

    async def remove_label(self, ctx: AgentContext, raw_id: str, raw_label_id: str) -> dict[str, Any]:
        label_id = id_or_404(raw_label_id, "label")

        def unit(conn: Connection) -> None:
            thread = self._thread_in(conn, ctx, raw_id)
            if repo.get_label(conn, ctx.waba_id, label_id) is None:
                raise NotFoundError("no such label")
            repo.remove_thread_label(conn, thread.conversation_id, label_id)

        await self._db.write("inbox.remove_label", unit)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(raw_id)})
        return await self.conversation(ctx, raw_id)

    # --- replying -------------------------------------------------------------------------------

    async def _cloud_body(self, ctx: AgentContext, raw_id: str, body: object) -> tuple[repo.ThreadRow, dict[str, Any]]:
        """The Cloud API request an agent's reply is: free text, a template, or a quick reply filled in."""
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")

        def unit(conn: Connection) -> tuple[repo.ThreadRow, repo.ContactRow | None, repo.QuickReplyRow | None]:
            thread = self._thread_in(conn, ctx, raw_id)
            contact = repo.contact_of_person(conn, ctx.waba_id, thread.person_id)
            quick = None
            if body.get("quick_reply_id") is not None:
                quick = repo.get_quick_reply(conn, ctx.waba_id, id_or_404(str(body["quick_reply_id"]), "quick reply"))
                if quick is None:
                    raise NotFoundError("no such quick reply")
            return thread, contact, quick

        thread, contact, quick = await self._db.read(unit)
        phone = "" if contact is None else contact.phone
        cloud: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone}
        if quick is not None:
            info = await self._business.inbox_business(ctx.waba_id)
            text = fill_variables(quick.body, contact, ctx.name, info.name)
            cloud.update(type="text", text={"body": text})
        elif "template" in body:
            cloud.update(type="template", template=template_request(body["template"]))
        else:
            text = text_field(body, "text", 4096)
            cloud.update(type="text", text={"body": text})
        return thread, cloud

    async def reply(self, ctx: AgentContext, raw_id: str, body: object, idempotency_key: str | None) -> dict[str, Any]:
        thread, cloud = await self._cloud_body(ctx, raw_id, body)
        wamid = await self._send_as_agent(ctx, thread.phone_number_id, cloud, idempotency_key)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(thread.conversation_id)})
        return {"id": wamid}

    async def send_interactive(
        self, ctx: AgentContext, raw_id: str, interactive: dict[str, Any], idempotency_key: str | None
    ) -> dict[str, Any]:
        """An interactive message another inbox part built (products, a payment request), sent to the
        conversation's person through the same path as a reply."""

        def unit(conn: Connection) -> tuple[repo.ThreadRow, repo.ContactRow | None]:
            thread = self._thread_in(conn, ctx, raw_id)
            return thread, repo.contact_of_person(conn, ctx.waba_id, thread.person_id)

        thread, contact = await self._db.read(unit)
        cloud: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "" if contact is None else contact.phone,
            "type": "interactive",
            "interactive": interactive,
        }
        wamid = await self._send_as_agent(ctx, thread.phone_number_id, cloud, idempotency_key)
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(thread.conversation_id)})
        return {"id": wamid}

    async def _send_as_agent(
        self, ctx: AgentContext, number_id: int, cloud: dict[str, Any], idempotency_key: str | None
    ) -> str:
        """The Cloud API send path (window, limits, billing, webhooks), as this agent; answers the wamid."""
        scope = await self._business.scope_of(ctx.waba_id)
        key = None if idempotency_key is None else f"inbox:{ctx.agent_id}:{idempotency_key}"
        try:
            answer = await self._business.send(
                scope, str(number_id), cloud, key, sent_by=business.SentBy("agent", ctx.agent_id)
            )
        except GraphError as exc:
            raise _as_inbox_error(exc) from exc
        return str(answer["messages"][0]["id"])

    async def preview(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        thread, cloud = await self._cloud_body(ctx, raw_id, body)
        scope = await self._business.scope_of(ctx.waba_id)
        try:
            answer = await self._business.preview(scope, str(thread.phone_number_id), cloud)
        except GraphError as exc:
            raise _as_inbox_error(exc) from exc
        return {k: answer[k] for k in ("window", "pricing", "cost") if k in answer}

    async def templates_for(self, ctx: AgentContext, raw_id: str) -> list[dict[str, Any]]:
        """Approved templates with their variables and what each would cost to this contact now."""
        thread = await self._db.read(lambda c: self._thread_in(c, ctx, raw_id))
        contact = await self._db.read(lambda c: repo.contact_of_person(c, ctx.waba_id, thread.person_id))
        scope = await self._business.scope_of(ctx.waba_id)
        out = []
        for template in await self._business.approved_templates(scope):
            price = None
            if contact is not None:
                cloud = {
                    "messaging_product": "whatsapp",
                    "to": contact.phone,
                    "type": "template",
                    "template": {
                        "name": template["name"],
                        "language": {"code": template["language"]},
                        "components": placeholder_components(template),
                    },
                }
                with contextlib.suppress(GraphError):
                    answer = await self._business.preview(scope, str(thread.phone_number_id), cloud, check_funds=False)
                    cost = answer.get("cost")
                    if cost is not None:
                        price = {"amount": cost["amount"], "currency": cost["currency"]}
            out.append({**template, "price": price})
        return out

    # --- starting a conversation ------------------------------------------------------------------

    async def start_templates(self, ctx: AgentContext) -> list[dict[str, Any]]:
        """The approved templates a conversation can start with (priced per recipient by `start_preview`)."""
        return await self._business.approved_templates(await self._business.scope_of(ctx.waba_id))

    async def _start_request(self, ctx: AgentContext, body: object) -> tuple[int, dict[str, Any]]:
        """The sending number and the Cloud API template send that starts a conversation with a contact (by id)
        or a typed phone number (normalised to E.164)."""
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        info = await self._business.inbox_business(ctx.waba_id)
        raw_number = body.get("number_id")
        if raw_number is None and len(info.numbers) == 1:
            raw_number = info.numbers[0]["id"]
        number_id = parse_id(str(raw_number)) if raw_number is not None else None
        number = next((n for n in info.numbers if n["id"] == number_id), None)
        if number is None:
            raise NotFoundError("no such number in this business: choose one of its numbers in number_id")
        if ("contact_id" in body) == ("to" in body):
            raise InvalidInputError("give either contact_id (an existing contact) or to (a phone number)")
        if "contact_id" in body:
            contact_id = id_or_404(str(body["contact_id"]), "contact")
            contact = await self._db.read(lambda c: repo.get_contact(c, ctx.waba_id, contact_id))
            if contact is None:
                raise NotFoundError("no such contact")
            to = contact.phone
        else:
            to = recipient_phone(body["to"], str(number["display_phone_number"]))
        template = body.get("template")
        if not isinstance(template, dict) or not template.get("name"):
            raise InvalidInputError("choose an approved template: a conversation starts with one")
        cloud = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template_request(template),
        }
        return int(number["id"]), cloud

    async def start_preview(self, ctx: AgentContext, body: object) -> dict[str, Any]:
        """What starting this conversation would cost (the API's own dry run: category x market x tier)."""
        number_id, cloud = await self._start_request(ctx, body)
        scope = await self._business.scope_of(ctx.waba_id)
        try:
            answer = await self._business.preview(scope, str(number_id), cloud, check_funds=False)
        except GraphError as exc:
            raise _as_inbox_error(exc) from exc
        return {"to": cloud["to"], **{k: answer[k] for k in ("window", "pricing", "cost") if k in answer}}

    async def start_conversation(self, ctx: AgentContext, body: object, idempotency_key: str | None) -> dict[str, Any]:
        """Send a template to a contact or a new number; the conversation it starts (or continues) comes back.
        One send unit: a refused send (a bad template, no balance) leaves no message, contact or thread."""
        number_id, cloud = await self._start_request(ctx, body)
        wamid = await self._send_as_agent(ctx, number_id, cloud, idempotency_key)
        message_id = business.parse_wamid(wamid)

        def unit(conn: Connection) -> repo.ThreadRow | None:
            message = None if message_id is None else messaging.get_message(conn, message_id)
            return None if message is None else repo.thread_of_chat(conn, message.chat_id)

        thread = await self._db.read(unit)
        if thread is None or thread.waba_id != ctx.waba_id:
            # Stored as failed, as the API does (the messaging limit, or a person who cannot receive it).
            raise ConflictError("The message could not be delivered to this number, so no conversation started.")
        await self._publish(ctx.waba_id, {"type": "conversation", "id": str(thread.conversation_id)})
        return {"conversation": await self.conversation(ctx, str(thread.conversation_id)), "message": {"id": wamid}}

    # --- labels, quick replies -------------------------------------------------------------------

    async def labels(self, ctx: AgentContext) -> list[dict[str, Any]]:
        return [label_view(label) for label in await self._db.read(lambda c: repo.labels_of_waba(c, ctx.waba_id))]

    async def create_label(self, ctx: AgentContext, body: object) -> dict[str, Any]:
        require_admin(ctx)
        name, colour = label_fields(body)
        now = self._clock.now_ms()
        row = repo.LabelRow(self._ids.next_id(), ctx.waba_id, name, colour, now)

        def unit(conn: Connection) -> None:
            if repo.label_by_name(conn, ctx.waba_id, name) is not None:
                raise ConflictError(f"a label named {name!r} exists")
            repo.insert_label(conn, row)

        await self._db.write("inbox.create_label", unit)
        return label_view(row)

    async def update_label(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        require_admin(ctx)
        label_id = id_or_404(raw_id, "label")
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        changes: dict[str, object] = {}
        if "name" in body:
            changes["name"] = text_field(body, "name", 48)
        if "colour" in body:
            colour = body["colour"]
            if not isinstance(colour, str) or not COLOUR.match(colour):
                raise InvalidInputError("colour must be #rrggbb")
            changes["colour"] = colour.lower()

        def unit(conn: Connection) -> repo.LabelRow:
            if repo.get_label(conn, ctx.waba_id, label_id) is None:
                raise NotFoundError("no such label")
            name = changes.get("name")
            if isinstance(name, str):
                other = repo.label_by_name(conn, ctx.waba_id, name)
                if other is not None and other.id != label_id:
                    raise ConflictError(f"a label named {name!r} exists")
            if changes:
                repo.update_label(conn, label_id, **changes)
            found = repo.get_label(conn, ctx.waba_id, label_id)
            assert found is not None
            return found

        return label_view(await self._db.write("inbox.update_label", unit))

    async def delete_label(self, ctx: AgentContext, raw_id: str) -> None:
        require_admin(ctx)
        label_id = id_or_404(raw_id, "label")

        def unit(conn: Connection) -> None:
            if repo.get_label(conn, ctx.waba_id, label_id) is None:
                raise NotFoundError("no such label")
            repo.delete_label(conn, label_id)

        await self._db.write("inbox.delete_label", unit)

    async def quick_replies(self, ctx: AgentContext) -> list[dict[str, Any]]:
        rows = await self._db.read(lambda c: repo.quick_replies_of(c, ctx.waba_id))
        return [quick_reply_view(r) for r in rows]

    async def create_quick_reply(self, ctx: AgentContext, body: object) -> dict[str, Any]:
        require_admin(ctx)
        shortcut, text = quick_reply_fields(body)
        now = self._clock.now_ms()
        row = repo.QuickReplyRow(self._ids.next_id(), ctx.waba_id, shortcut, text, now, now)

        def unit(conn: Connection) -> None:
            if repo.quick_reply_by_shortcut(conn, ctx.waba_id, shortcut) is not None:
                raise ConflictError(f"/{shortcut} exists")
            repo.insert_quick_reply(conn, row)

        await self._db.write("inbox.create_quick_reply", unit)
        return quick_reply_view(row)

    async def update_quick_reply(self, ctx: AgentContext, raw_id: str, body: object) -> dict[str, Any]:
        require_admin(ctx)
        reply_id = id_or_404(raw_id, "quick reply")
        shortcut, text = quick_reply_fields(body)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> repo.QuickReplyRow:
            if repo.get_quick_reply(conn, ctx.waba_id, reply_id) is None:
                raise NotFoundError("no such quick reply")
            other = repo.quick_reply_by_shortcut(conn, ctx.waba_id, shortcut)
            if other is not None and other.id != reply_id:
                raise ConflictError(f"/{shortcut} exists")
            repo.update_quick_reply(conn, reply_id, shortcut=shortcut, body=text, updated_at=now)
            found = repo.get_quick_reply(conn, ctx.waba_id, reply_id)
            assert found is not None
            return found

        return quick_reply_view(await self._db.write("inbox.update_quick_reply", unit))

    async def seed_quick_reply(self, waba_id: int, shortcut: str, body: str) -> None:
        """Operator path (the demo): a quick reply without an agent's session."""
        shortcut, text = quick_reply_fields({"shortcut": shortcut, "body": body})
        now = self._clock.now_ms()
        row = repo.QuickReplyRow(self._ids.next_id(), waba_id, shortcut, text, now, now)
        await self._db.write("inbox.seed_quick_reply", lambda c: repo.insert_quick_reply(c, row))

    async def delete_quick_reply(self, ctx: AgentContext, raw_id: str) -> None:
        require_admin(ctx)
        reply_id = id_or_404(raw_id, "quick reply")

        def unit(conn: Connection) -> None:
            if repo.get_quick_reply(conn, ctx.waba_id, reply_id) is None:
                raise NotFoundError("no such quick reply")
            repo.delete_quick_reply(conn, reply_id)

        await self._db.write("inbox.delete_quick_reply", unit)

    # --- hours, away and greeting; routing -------------------------------------------------------

    async def hours(self, ctx: AgentContext) -> dict[str, Any]:
        info = await self._business.inbox_business(ctx.waba_id)
        row = await self._db.read(lambda c: repo.get_settings(c, ctx.waba_id))
        return _settings_view(row, info.timezone, self._clock.now_ms())

    async def set_hours(self, ctx: AgentContext, body: object) -> dict[str, Any]:
        require_admin(ctx)
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        parsed = weekly.parse_hours(body.get("hours", {}))
        away = automation_fields(body.get("away", {}), "away")
        greeting = automation_fields(body.get("greeting", {}), "greeting")
        info = await self._business.inbox_business(ctx.waba_id)
        if "timezone" in body and body["timezone"] != info.timezone:
            await self._business.set_timezone(ctx.waba_id, body["timezone"])
            info = await self._business.inbox_business(ctx.waba_id)
        now = self._clock.now_ms()
        row = repo.SettingsRow(
            ctx.waba_id,
            json.dumps(weekly.render_hours(parsed)),
            away[0],
            away[1],
            greeting[0],
            greeting[1],
            now,
        )
        await self._db.write("inbox.set_hours", lambda c: repo.upsert_settings(c, row))
        return _settings_view(row, info.timezone, now)

    async def routing(self, ctx: AgentContext, raw_number_id: str) -> dict[str, Any]:
        number_id = await self._number_of(ctx, raw_number_id)
        policy = await self._db.read(lambda c: repo.routing_of(c, number_id)[0])
        return {"number_id": str(number_id), "policy": policy}

    async def set_routing(self, ctx: AgentContext, raw_number_id: str, body: object) -> dict[str, Any]:
        require_admin(ctx)
        number_id = await self._number_of(ctx, raw_number_id)
        policy = body.get("policy") if isinstance(body, dict) else None
        if policy not in ROUTING_POLICIES:
            raise InvalidInputError(f"policy must be one of {', '.join(ROUTING_POLICIES)}")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            repo.set_routing(conn, number_id, now, policy=str(policy))
            self._drain_queue_in(conn, ctx.waba_id, now)

        await self._db.write("inbox.set_routing", unit)
        return {"number_id": str(number_id), "policy": policy}

    async def _number_of(self, ctx: AgentContext, raw_number_id: str) -> int:
        number_id = id_or_404(raw_number_id, "number")
        info = await self._business.inbox_business(ctx.waba_id)
        if number_id not in {n["id"] for n in info.numbers}:
            raise NotFoundError("no such number")
        return number_id

    # --- contacts --------------------------------------------------------------------------------

    async def contacts(
        self, ctx: AgentContext, search: str | None, raw_label: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await self.contacts_of_waba(ctx.waba_id, search, raw_label, cursor, limit)

    async def contacts_of_waba(
        self, waba_id: int, search: str | None, raw_label: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not 1 <= limit <= 1000:
            raise InvalidInputError("limit must be between 1 and 1000")
        label_id = None if not raw_label else id_or_404(raw_label, "label")
        after = parse_cursor(cursor)

        def unit(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
            rows = repo.list_contacts(conn, waba_id, (search or "").strip() or None, label_id, after, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            views = self._contact_views(conn, waba_id, rows)
            last = rows[-1] if more and rows else None
            return views, None if last is None else f"{last.last_contact_at}_{last.id}"

        return await self._db.read(unit)

    def _contact_views(self, conn: Connection, waba_id: int, rows: list[repo.ContactRow]) -> list[dict[str, Any]]:
        labels = {label.id: label for label in repo.labels_of_waba(conn, waba_id)}
        label_ids = repo.contact_label_ids(conn, [r.id for r in rows])
        return [
            contact_view(
                r,
                [labels[i] for i in label_ids[r.id] if i in labels],
                repo.threads_of_person(conn, waba_id, r.person_id),
            )
            for r in rows
        ]

    async def contact(self, waba_id: int, raw_id: str) -> dict[str, Any]:
        contact_id = id_or_404(raw_id, "contact")

        def unit(conn: Connection) -> dict[str, Any]:
            row = repo.get_contact(conn, waba_id, contact_id)
            if row is None:
                raise NotFoundError("no such contact")
            return self._contact_views(conn, waba_id, [row])[0]

        return await self._db.read(unit)

    async def update_contact(self, waba_id: int, raw_id: str, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        unknown = set(body) - {"name", "notes", "labels"}
        if unknown:
            raise InvalidInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        changes: dict[str, object] = {}
        if "name" in body:
            changes["name"] = text_field(body, "name", 128, required=False)
        if "notes" in body:
            changes["notes"] = text_field(body, "notes", 4096, required=False)
        wanted = body.get("labels")
        if "labels" in body and not (isinstance(wanted, list) and all(isinstance(x, str) for x in wanted)):
            raise InvalidInputError("labels must be a list of label ids")
        contact_id = id_or_404(raw_id, "contact")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            row = repo.get_contact(conn, waba_id, contact_id)
            if row is None:
                raise NotFoundError("no such contact")
            if isinstance(wanted, list):
                ids = {id_or_404(x, "label") for x in wanted}
                for label_id in ids:
                    if repo.get_label(conn, waba_id, label_id) is None:
                        raise NotFoundError("no such label")
                current = set(repo.contact_label_ids(conn, [contact_id])[contact_id])
                for label_id in ids - current:
                    repo.add_contact_label(conn, contact_id, label_id, now)
                for label_id in current - ids:
                    repo.remove_contact_label(conn, contact_id, label_id)
            repo.update_contact(conn, contact_id, updated_at=now, **changes)
            updated = repo.get_contact(conn, waba_id, contact_id)
            assert updated is not None
            view = self._contact_views(conn, waba_id, [updated])[0]
            self._business.enqueue_contact_change(conn, waba_id, "updated", view)
            return view

        view = await self._db.write("inbox.update_contact", unit)
        self._business.wake_webhooks()
        return view

    async def label_contact(self, ctx: AgentContext, raw_id: str, raw_label_id: str, add: bool) -> dict[str, Any]:
        contact = await self.contact(ctx.waba_id, raw_id)
        labels = {label["id"] for label in contact["labels"]}
        label_id = str(id_or_404(raw_label_id, "label"))
        if await self._db.read(lambda c: repo.get_label(c, ctx.waba_id, int(label_id))) is None:
            raise NotFoundError("no such label")
        labels = labels | {label_id} if add else labels - {label_id}
        return await self.update_contact(ctx.waba_id, raw_id, {"labels": sorted(labels)})

    # --- the observer: every message in and out --------------------------------------------------

    def on_conversation_message(self, conn: Connection, message: business.ConversationMessage) -> None:
        if message.direction == "in":
            self._on_inbound(conn, message)
        else:
            self._on_outbound(conn, message)

    def _contact_in(
        self, conn: Connection, message: business.ConversationMessage, inbound: bool
    ) -> tuple[repo.ContactRow, bool]:
        """The contact, created or refreshed; and whether a greeting is due (new, or silent for 14 days)."""
        waba_id = message.number.waba_id
        now = message.at
        contact = repo.contact_of_person(conn, waba_id, message.person_id)
        if contact is None:
            contact = repo.ContactRow(
                id=self._ids.next_id(),
                waba_id=waba_id,
                person_id=message.person_id,
                phone=message.person_phone,
                profile_name=message.person_name,
                name="",
                notes="",
                first_contact_at=now,
                last_contact_at=now,
                last_inbound_at=now if inbound else None,
                updated_at=now,
            )
            repo.insert_contact(conn, contact)
            self._business.enqueue_contact_change(conn, waba_id, "created", contact_view(contact, [], []))
            return contact, inbound
        greet = inbound and (contact.last_inbound_at is None or now - contact.last_inbound_at >= GREETING_SILENCE_MS)
        changes: dict[str, object] = {"last_contact_at": now}
        if inbound:
            changes["last_inbound_at"] = now
            if message.person_name and message.person_name != contact.profile_name:
                changes["profile_name"] = message.person_name
        repo.update_contact(conn, contact.id, **changes)
        return contact, greet

    def _thread_for(
        self, conn: Connection, message: business.ConversationMessage, inbound: bool
    ) -> tuple[repo.ThreadRow, bool]:
        conversation = message.conversation
        thread = repo.get_thread(conn, conversation.id)
        if thread is not None:
            return thread, False
        # A business that writes first (a template) starts a resolved thread: nothing to answer yet.
        thread = repo.ThreadRow(
            conversation_id=conversation.id,
            waba_id=message.number.waba_id,
            phone_number_id=message.number.id,
            person_id=message.person_id,
            chat_id=conversation.chat_id,
            status="open" if inbound else "resolved",
            assignee_id=None,
            unread=0,
            last_message_at=message.at,
            last_message_text="",
            last_direction=message.direction,
            last_inbound_at=None,
            waiting_since=None,
            opened_at=message.at if inbound else None,
            first_response_at=None,
            resolved_at=None,
            away_sent_at=None,
            created_at=message.at,
        )
        repo.insert_thread(conn, thread)
        return thread, True

    def _on_inbound(self, conn: Connection, message: business.ConversationMessage) -> None:
        now = message.at
        waba_id = message.number.waba_id
        _contact, greet = self._contact_in(conn, message, inbound=True)
        thread, created = self._thread_for(conn, message, inbound=True)
        if created:
            self._event(conn, thread, "opened", now)
        elif thread.status == "resolved":
            self._reopen_in(conn, thread, now, status="open")
        elif thread.status == "pending":
            repo.update_thread(conn, thread.conversation_id, status="open")
        repo.update_thread(
            conn,
            thread.conversation_id,
            last_message_at=now,
            last_message_text=message.preview,
            last_direction="in",
            last_inbound_at=now,
        )
        repo.bump_unread(conn, thread.conversation_id)
        self._event(conn, thread, "message_in", now)
        current = repo.get_thread(conn, thread.conversation_id)
        assert current is not None
        if current.assignee_id is None:
            self._route_in(conn, current, now)
        self.automations.plan_in(conn, waba_id, current, message, greet)

    def _on_outbound(self, conn: Connection, message: business.ConversationMessage) -> None:
        # Every business send passes here inside its unit: a known contact and thread cost one statement each.
        now = message.at
        sent_by = message.sent_by or business.API
        cursor = DriverCursor(conn)  # statements.py: the common case on the driver's cursor
        if not hot.touch_contact(cursor, message.number.waba_id, message.person_id, now):
            self._contact_in(conn, message, inbound=False)
        noted = hot.note_outbound(cursor, message.conversation.id, now, message.preview)
        thread, created = (noted, False) if noted is not None else self._thread_for(conn, message, inbound=False)
        changes: dict[str, object] = {}
        if noted is None:
            changes.update(last_message_at=now, last_message_text=message.preview, last_direction="out")
        agent_id = sent_by.agent_id if sent_by.kind == "agent" else None
        if agent_id is not None:
            changes["unread"] = 0
            # An agent who starts a conversation keeps it: the person's answer comes back to them.
            if thread.assignee_id is None and (thread.status != "resolved" or created):
                self._assign_in(conn, thread, agent_id, now, by=agent_id)
        # A reply by the team (an agent or the business's own software, not an automatic message) answers.
        answering = thread.opened_at is not None and thread.first_response_at is None and thread.status != "resolved"
        if sent_by.kind != "automation" and answering:
            assert thread.opened_at is not None
            changes["first_response_at"] = now
            self._event(conn, thread, "first_response", now, agent_id=agent_id, duration_ms=now - thread.opened_at)
        if changes:
            repo.update_thread(conn, thread.conversation_id, **changes)
        event = repo.EventRow(
            id=self._ids.next_id(),
            waba_id=thread.waba_id,
            conversation_id=thread.conversation_id,
            kind="message_out",
            agent_id=agent_id,
            duration_ms=None,
            automated=int(sent_by.kind == "automation"),
            at=now,
        )
        hot.insert_event(cursor, event)

    def _event(
        self,
        conn: Connection,
        thread: repo.ThreadRow,
        kind: str,
        at: int,
        *,
        agent_id: int | None = None,
        duration_ms: int | None = None,
        automated: bool = False,
    ) -> None:
        repo.insert_event(
            conn,
            repo.EventRow(
                id=self._ids.next_id(),
                waba_id=thread.waba_id,
                conversation_id=thread.conversation_id,
                kind=kind,
                agent_id=agent_id,
                duration_ms=duration_ms,
                automated=int(automated),
                at=at,
            ),
        )

    # --- state changes, inside units ---------------------------------------------------------------

    def _assign_in(
        self, conn: Connection, thread: repo.ThreadRow, agent_id: int | None, now: int, *, by: int | None
    ) -> None:
        if thread.assignee_id == agent_id:
            return
        occupying = thread.status != "resolved"
        if occupying:
            repo.add_open(conn, thread.assignee_id, -1)
            repo.add_open(conn, agent_id, +1)
        waiting = None if agent_id is not None or thread.status != "open" else (thread.waiting_since or now)
        repo.update_thread(conn, thread.conversation_id, assignee_id=agent_id, waiting_since=waiting)
        if agent_id is not None:
            self._event(conn, thread, "assigned", now, agent_id=agent_id)

    def _route_in(self, conn: Connection, thread: repo.ThreadRow, now: int) -> None:
        """Assign an open, unassigned conversation by its number's policy, or queue it."""
        policy, cursor = repo.lock_routing(conn, thread.phone_number_id)
        agents = repo.agents_of(conn, thread.waba_id, active_only=True)
        labels = repo.thread_label_ids(conn, [thread.conversation_id])[thread.conversation_id]
        if policy == "by_label":  # a returning customer's own labels (VIP, after-sales, ...) count too
            contact = repo.contact_of_person(conn, thread.waba_id, thread.person_id)
            if contact is not None:
                labels += repo.contact_label_ids(conn, [contact.id])[contact.id]
        chosen = choose_agent(policy, agents, cursor, labels)
        if chosen is None:
            if thread.waiting_since is None:
                repo.update_thread(conn, thread.conversation_id, waiting_since=now)
            return
        self._assign_in(conn, thread, chosen.id, now, by=None)
        if policy == "round_robin":
            repo.set_routing(conn, thread.phone_number_id, now, cursor=chosen.id)

    def _drain_queue_in(self, conn: Connection, waba_id: int, now: int) -> None:
        """Agents became available: hand them waiting conversations, longest-waiting first."""
        free = sum(max(a.capacity - a.open_count, 0) for a in eligible(repo.agents_of(conn, waba_id, active_only=True)))
        if free == 0:
            return
        for thread in repo.queued(conn, waba_id, min(free, 200)):
            self._route_in(conn, thread, now)

    def _resolve_in(self, conn: Connection, thread: repo.ThreadRow, now: int) -> None:
        repo.update_thread(conn, thread.conversation_id, status="resolved", resolved_at=now, waiting_since=None)
        repo.add_open(conn, thread.assignee_id, -1)
        duration = None if thread.opened_at is None else now - thread.opened_at
        self._event(conn, thread, "resolved", now, agent_id=thread.assignee_id, duration_ms=duration)
        if thread.assignee_id is not None:
            self._drain_queue_in(conn, thread.waba_id, now)

    def _reopen_in(self, conn: Connection, thread: repo.ThreadRow, now: int, *, status: str) -> None:
        """A new period: a person wrote again, or an agent reopened it."""
        repo.update_thread(
            conn,
            thread.conversation_id,
            status=status,
            opened_at=now,
            first_response_at=None,
            resolved_at=None,
        )
        kind = "opened" if thread.opened_at is None else "reopened"
        self._event(conn, thread, kind, now, agent_id=thread.assignee_id)
        if thread.assignee_id is not None:
            agent = repo.get_agent(conn, thread.assignee_id)
            if agent is None or agent.disabled_at is not None:
                repo.update_thread(conn, thread.conversation_id, assignee_id=None)
            else:
                repo.add_open(conn, thread.assignee_id, +1)

    # --- the live stream ---------------------------------------------------------------------------

    async def stream_topics(self, ctx: AgentContext) -> tuple[str, list[str]]:
        """The inbox topic and the business numbers' own topics (people's messages and receipts)."""
        info = await self._business.inbox_business(ctx.waba_id)
        return inbox_topic(ctx.waba_id), [messaging.user_topic(n["user_id"]) for n in info.numbers]

    async def conversation_of_chat(self, ctx: AgentContext, chat_id: int) -> str | None:
        thread = await self._db.read(lambda c: repo.thread_of_chat(c, chat_id))
        return None if thread is None or thread.waba_id != ctx.waba_id else str(thread.conversation_id)


def _settings_view(row: repo.SettingsRow | None, timezone: str, now: int) -> dict[str, Any]:
    hours = {} if row is None else weekly.parse_hours(json.loads(row.hours))
    return {
        "timezone": timezone,
        "hours": weekly.render_hours(hours),
        "away": {"enabled": bool(row and row.away_enabled), "text": "" if row is None else row.away_text},
        "greeting": {"enabled": bool(row and row.greeting_enabled), "text": "" if row is None else row.greeting_text},
        "open_now": weekly.is_open(hours, timezone, now),
    }


def _as_inbox_error(exc: GraphError) -> AppError:
    if exc.code == 131047:
        return OutsideWindowError(
            "The 24-hour window with this person is closed: only an approved template can be sent."
        )
    if exc.code == 131042:
        return PaymentRequiredError(exc.details)
    if exc.code in (2046, 2047):  # an order_status the order's state refuses: Meta's reason, as a conflict
        return ConflictError(exc.details)
    if exc.code in (130429, 131056):
        from parley.kit.errors import RateLimitedError

        return RateLimitedError(exc.details, exc.retry_after_s or 1)
    return InvalidInputError(exc.details)
