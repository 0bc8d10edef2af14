"""Channels: create and run a channel (owner, up to 16 admins), post, follow, react, vote, find in the directory.

A post writes one `channel_posts` row and bumps `channels.last_seq`: nothing per follower. After its unit commits
one bus event on `channel:{id}` carries the rendered post; each process's `ChannelFanout` hands it to the local
streams of that channel's followers. Offline followers read the log after their read mark.

Privacy: followers are never named to anyone (no route lists them); a channel's JSON never names its owner or
admins; admins see each other's names (never phone numbers) in the admin list only.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, or_, select, update

from parley import media as media_domain
from parley.accounts import AccountService, get_users
from parley.business import BusinessNumbers
from parley.channels import repository as repo
from parley.channels.access import ChannelSubscriptions
from parley.channels.errors import (
    AdminInviteExpiredError,
    AlreadyReactedError,
    AlreadyVotedError,
    ChannelNotFoundError,
    InvalidChannelError,
    InvalidPostError,
    NotChannelAdminError,
    NotChannelOwnerError,
    PostNotFoundError,
    TooManyAdminsError,
)
from parley.channels.models import (
    channel_admins,
    channel_follows,
    channel_poll_votes,
    channel_posts,
    channel_reactions,
    channels,
)
from parley.channels.schemas import ChannelIn, ChannelUpdateIn, ForwardIn, PostIn, Sort
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, InvalidInputError
from parley.kit.ids import IdGenerator, parse_id
from parley.messaging import Committed, MessagingService, SendResult, TextContent
from parley.messaging.schemas import SendMessageIn, TextIn
from parley.platform.bus import Bus
from parley.platform.db import Database

CATEGORIES = ("news", "sports", "entertainment", "business", "lifestyle", "education", "tech", "creators")
DEFAULT_REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")
MAX_ADMINS = 16  # besides the owner, as on WhatsApp
INVITE_TTL_MS = 7 * 24 * 3600 * 1000
HISTORY_MS = 30 * 24 * 3600 * 1000  # a post lives 30 days
FOLLOWS_TOPIC = "channels:follows"  # every process hears who follows what, for its live index
ADMINS_KEY = "to_admins"  # an event on a channel's topic meant for these admins only (stripped before sending)
Json = dict[str, Any]


def channel_topic(channel_id: int) -> str:
    return f"channel:{channel_id}"


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: object) -> M:
    """A body as `model`, or a clear 400 (for routes that take a dict, e.g. Graph's form-or-JSON parameters)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(f"{where}: {first.get('msg')}" if where else str(first.get("msg"))) from None


def _clean_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidChannelError("a channel needs a name")
    if len(name) > 100:
        raise InvalidChannelError("a channel name is at most 100 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise InvalidChannelError("a channel name cannot hold control characters")
    return name  # markup is kept as text: every page and client escapes it


def _clean_description(raw: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in raw):
        raise InvalidChannelError("a description cannot hold control characters")
    return raw.strip()


def _clean_category(raw: str) -> str:
    category = raw.strip().lower()
    if category not in CATEGORIES:
        raise InvalidChannelError(f"category must be one of {', '.join(CATEGORIES)}")
    return category


def _clean_country(raw: str) -> str:
    country = raw.strip().upper()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise InvalidChannelError("country is a two-letter ISO code, e.g. BR")
    return country


def _clean_language(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    language = raw.strip()
    head = language.split("-")[0]
    if not (2 <= len(head) <= 3 and head.isascii() and head.isalpha() and len(language) <= 8):
        raise InvalidChannelError("language is a language tag, e.g. en or pt-BR")
    return language


def _clean_reactions(raw: list[str] | None) -> str | None:
    if raw is None:
        return " ".join(DEFAULT_REACTIONS)
    emoji = [e.strip() for e in raw if e.strip()]
    if not emoji:
        raise InvalidChannelError("allow at least one reaction emoji")
    for e in emoji:
        if len(e) > 16 or any(ch.isspace() or ch.isascii() for ch in e):
            raise InvalidChannelError(f"{e!r} is not an emoji")
    return " ".join(dict.fromkeys(emoji))


def _clean_url(raw: str) -> str:
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in url):
        raise InvalidPostError("a link is an http(s) URL")
    return url


def _allowed(row: Row[tuple[object, ...]]) -> list[str]:
    raw = row.allowed_reactions
    return str(raw).split() if raw else list(DEFAULT_REACTIONS)


@dataclass(frozen=True)
class Viewer:
    """Who reads: a person (their role in the channel decides what they see) or a business's WABA."""

    user_id: int
    is_admin: bool
    subscribed: bool


class ChannelService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        accounts: AccountService,
        messaging: MessagingService,
        numbers: BusinessNumbers,
        subscriptions: ChannelSubscriptions,
        public_url: str,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._accounts, self._messaging, self._numbers = accounts, messaging, numbers
        self._subscriptions = subscriptions
        self._public_url = public_url.rstrip("/")

    def use_subscriptions(self, subscriptions: ChannelSubscriptions) -> None:
        """Wire the subscriptions package's answers in (the container does it once; tests with a stand-in)."""
        self._subscriptions = subscriptions

    # --- channels --------------------------------------------------------------------------------------------

    async def create(self, owner_id: int, body: ChannelIn, *, waba_id: int | None = None) -> Json:
        name = _clean_name(body.name)
        values = {
            "name": name,
            "description": _clean_description(body.description),
            "category": _clean_category(body.category),
            "country": _clean_country(body.country),
            "language": _clean_language(body.language),
            "discoverable": body.discoverable,
            "allowed_reactions": _clean_reactions(body.allowed_reactions),
        }
        picture = None if body.picture_media_id is None else int(body.picture_media_id)
        now = self._clock.now_ms()
        channel_id = self._ids.next_id()

        def unit(conn: Connection) -> Json:
            if picture is not None:
                self._own_media_in(conn, owner_id, picture, now)
            conn.execute(
                insert(channels).values(
                    id=channel_id,
                    owner_id=owner_id,
                    waba_id=waba_id,
                    invite_code=secrets.token_urlsafe(9),
                    picture_media_id=picture,
                    created_at=now,
                    **values,
                )
            )
            conn.execute(
                insert(channel_admins).values(
                    channel_id=channel_id, user_id=owner_id, role="owner", invited_at=now, accepted_at=now
                )
            )
            return self._channel_json_in(conn, self._live_in(conn, channel_id), owner_id)

        created = await self._db.write("channels.create", unit)
        await self._follows_changed(owner_id, channel_id, True)  # the owner's open streams get its posts live
        return created

    async def update(self, user_id: int, raw_channel_id: str, body: ChannelUpdateIn) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        values: dict[str, Any] = {}
        if body.name is not None:
            values["name"] = _clean_name(body.name)
        if body.description is not None:
            values["description"] = _clean_description(body.description)
        if body.category is not None:
            values["category"] = _clean_category(body.category)
        if body.country is not None:
            values["country"] = _clean_country(body.country)
        if "language" in body.model_fields_set:
            values["language"] = _clean_language(body.language)
        if body.discoverable is not None:
            values["discoverable"] = body.discoverable
        if body.allowed_reactions is not None:
            values["allowed_reactions"] = _clean_reactions(body.allowed_reactions)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            self._require_admin_in(conn, channel_id, user_id)
            if "picture_media_id" in body.model_fields_set:
                picture = None if body.picture_media_id is None else int(body.picture_media_id)
                if picture is not None:
                    self._own_media_in(conn, user_id, picture, now)
                values["picture_media_id"] = picture
            if values:
                conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))
            return self._channel_json_in(conn, self._live_in(conn, channel_id), user_id)

        return await self._db.write("channels.update", unit)

    async def delete(self, user_id: int, raw_channel_id: str) -> None:
        channel_id = self._channel_id(raw_channel_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            self._require_owner_in(conn, channel_id, user_id)
            conn.execute(update(channels).where(channels.c.id == channel_id).values(deleted_at=now, discoverable=False))

        await self._db.write("channels.delete", unit)

    async def get(self, user_id: int, raw_channel_id: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        return await self._db.read(lambda conn: self._channel_json_in(conn, self._live_in(conn, channel_id), user_id))

    async def by_code(self, user_id: int, code: str) -> Json:
        def unit(conn: Connection) -> Json:
            row = repo.channel_by_code(conn, code[:24])
            if row is None:
                raise ChannelNotFoundError("no channel has this link")
            return self._channel_json_in(conn, row, user_id)

        return await self._db.read(unit)

    async def link_exists(self, code: str) -> bool:
        """Whether `/c/{code}` is a channel's link (the path is shared with click-to-chat links)."""
        return await self._db.read(lambda conn: repo.channel_by_code(conn, code[:24]) is not None)

    async def verify(self, raw_channel_id: str, verified: bool = True) -> Json:
        """The operator's verified mark (`parley channels verify`)."""
        channel_id = self._channel_id(raw_channel_id)

        def unit(conn: Connection) -> Json:
            row = self._live_in(conn, channel_id)
            conn.execute(update(channels).where(channels.c.id == channel_id).values(verified=verified))
            return {"id": str(channel_id), "name": row.name, "verified": verified}

        return await self._db.write("channels.verify", unit)

    def _channel_json_in(self, conn: Connection, row: Row[tuple[object, ...]], user_id: int | None) -> Json:
        channel_id = int(row.id)
        admin = None if user_id is None else repo.admin_row(conn, channel_id, user_id)
        role = str(admin.role) if admin is not None and admin.accepted_at is not None else None
        follow = None if user_id is None else repo.follow_row(conn, channel_id, user_id)
        last_seq = int(row.last_seq)
        paid = bool(self._subscriptions.paid_channels_in(conn, [channel_id]))
        found = self._card(row, paid)
        found.update(
            {
                "description": row.description,
                "language": row.language,
                "invite_code": row.invite_code,
                "link": f"{self._public_url}/c/{row.invite_code}",
                "allowed_reactions": _allowed(row),
                "last_seq": last_seq,
                "role": role,
                "following": follow is not None,
                "muted": bool(follow.muted) if follow is not None else False,
                "unread": max(0, last_seq - int(follow.read_seq)) if follow is not None else 0,
            }
        )
        if role is not None:
            found["subscriber_count"] = int(row.subscriber_count)
        if row.waba_id is not None and role is not None:
            found["waba_id"] = str(row.waba_id)
        return found

    def _card(self, row: Row[tuple[object, ...]], paid: bool) -> Json:
        """What anyone sees of a channel in a list: never its owner or admins."""
        picture = row.picture_media_id
        return {
            "id": str(row.id),
            "name": row.name,
            "category": row.category,
            "country": row.country,
            "verified": bool(row.verified),
            "paid": paid,
            "follower_count": int(row.follower_count),
            "picture_url": None if picture is None else f"/client/v1/channels/{row.id}/media/{picture}",
            "last_post_at": row.last_post_at,
            "created_at": row.created_at,
        }

    # --- directory ---------------------------------------------------------------------------------------------

    async def directory(
        self,
        query: str | None,
        category: str | None,
        country: str | None,
        sort: Sort,
        limit: int,
        offset: int,
    ) -> Json:
        c = channels.c
        conditions: list[ColumnElement[bool]] = [c.discoverable.is_(True), c.deleted_at.is_(None)]
        if query and query.strip():
            escaped = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(func.lower(c.name).like(f"%{escaped}%", escape="\\"))
        if category:
            conditions.append(c.category == _clean_category(category))
        if country:
            conditions.append(c.country == _clean_country(country))
        order = {
            "popular": [c.follower_count.desc(), c.id.desc()],
            "new": [c.created_at.desc(), c.id.desc()],
            "active": [func.coalesce(c.last_post_at, 0).desc(), c.id.desc()],
        }[sort]
        statement = select(channels).where(*conditions).order_by(*order).limit(limit + 1).offset(offset)

        def unit(conn: Connection) -> Json:
            rows = list(conn.execute(statement))
            more = len(rows) > limit
            rows = rows[:limit]
            paid = self._subscriptions.paid_channels_in(conn, [int(r.id) for r in rows])
            return {
                "channels": [self._card(r, int(r.id) in paid) for r in rows],
                "next_offset": offset + limit if more else None,
            }

        return await self._db.read(unit)

    async def followed(self, user_id: int) -> list[Json]:
        """The channels a person follows, with unread counts, most recently active first."""

        def unit(conn: Connection) -> list[Json]:
            f = channel_follows.c
            rows = list(
                conn.execute(
                    select(channels, f.muted, f.read_seq)
                    .join(channel_follows, f.channel_id == channels.c.id)
                    .where(f.user_id == user_id, channels.c.deleted_at.is_(None))
                    .order_by(func.coalesce(channels.c.last_post_at, channels.c.created_at).desc())
                )
            )
            paid = self._subscriptions.paid_channels_in(conn, [int(r.id) for r in rows])
            return [
                {
                    **self._card(r, int(r.id) in paid),
                    "muted": bool(r.muted),
                    "unread": max(0, int(r.last_seq) - int(r.read_seq)),
                }
                for r in rows
            ]

        return await self._db.read(unit)

    async def administered(self, user_id: int) -> list[Json]:
        """The channels a person owns or helps run."""

        def unit(conn: Connection) -> list[Json]:
            a = channel_admins.c
            rows = list(
                conn.execute(
                    select(channels, a.role)
                    .join(channel_admins, a.channel_id == channels.c.id)
                    .where(a.user_id == user_id, a.accepted_at.is_not(None), channels.c.deleted_at.is_(None))
                    .order_by(channels.c.created_at.desc())
                )
            )
            paid = self._subscriptions.paid_channels_in(conn, [int(r.id) for r in rows])
            return [{**self._card(r, int(r.id) in paid), "role": r.role} for r in rows]

        return await self._db.read(unit)

    # --- admins ------------------------------------------------------------------------------------------------

    async def admins(self, user_id: int, raw_channel_id: str) -> list[Json]:
        """The owner and admins, by name only (admins see each other's names; the owner also gets ids to remove)."""
        channel_id = self._channel_id(raw_channel_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> list[Json]:
            me = self._require_admin_in(conn, channel_id, user_id)
            rows = [r for r in repo.admin_rows(conn, channel_id) if r.accepted_at is not None or me.role == "owner"]
            names = get_users(conn, [int(r.user_id) for r in rows])
            listed = []
            for r in rows:
                person = names.get(int(r.user_id))
                entry: Json = {
                    "name": person.name if person is not None else "",
                    "role": r.role,
                    "you": int(r.user_id) == user_id,
                    "status": "active" if r.accepted_at is not None else _invite_status(int(r.invited_at), now),
                }
                if me.role == "owner":
                    entry["user_id"] = str(r.user_id)
                listed.append(entry)
            return listed

        return await self._db.read(unit)

    async def invite_admin(self, owner_id: int, raw_channel_id: str, phone: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        invitee = await self._accounts.find_for(owner_id, phone)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[Json, Committed]:
            self._require_owner_in(conn, channel_id, owner_id)
            existing = repo.admin_row(conn, channel_id, invitee.id)
            if existing is not None and (existing.accepted_at is not None or existing.role == "owner"):
                raise ConflictError("this person already runs the channel")
            a = channel_admins.c
            taken = conn.execute(
                select(func.count()).where(
                    a.channel_id == channel_id,
                    a.role == "admin",
                    a.user_id != invitee.id,
                    or_(a.accepted_at.is_not(None), a.invited_at > now - INVITE_TTL_MS),
                )
            ).scalar_one()
            if taken >= MAX_ADMINS:
                raise TooManyAdminsError(f"a channel has at most {MAX_ADMINS} admins besides its owner")
            invite = {
                "channel_id": channel_id,
                "user_id": invitee.id,
                "role": "admin",
                "invited_by": owner_id,
                "invited_at": now,
            }
            if existing is None:
                if not repo.insert_once(conn, channel_admins, invite):
                    raise ConflictError("this person was just invited")
            else:  # a new invitation replaces an old one (and its 7 days start again)
                conn.execute(
                    update(channel_admins)
                    .where(a.channel_id == channel_id, a.user_id == invitee.id)
                    .values(invited_by=owner_id, invited_at=now)
                )
            row = self._live_in(conn, channel_id)
            link = f"{self._public_url}/channels/c/{row.invite_code}"
            # As on WhatsApp the invitation arrives in the owner's 1:1 chat, so the invitee sees the owner's number
            # (followers never do). One message per invitation: a retry of the same unit sends nothing twice.
            _, committed = self._messaging.send_direct_in(
                conn,
                owner_id,
                invitee.id,
                f"chinv:{channel_id}:{invitee.id}:{now}",
                "text",
                TextContent(
                    body=f"I invite you to be an admin of my channel {row.name}. Open {link} to accept (within 7 days)."
                ),
                None,
                now,
                sender_inbox=True,
            )
            invited = {"name": invitee.name, "status": "invited", "expires_at": now + INVITE_TTL_MS}
            return invited, committed

        invited, committed = await self._db.write("channels.invite_admin", unit)
        await self._messaging.publish_committed(committed)
        return invited

    async def invitations(self, user_id: int) -> list[Json]:
        """Admin invitations waiting for `user_id` (unexpired)."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> list[Json]:
            a = channel_admins.c
            rows = conn.execute(
                select(channels, a.invited_at)
                .join(channel_admins, a.channel_id == channels.c.id)
                .where(
                    a.user_id == user_id,
                    a.accepted_at.is_(None),
                    a.invited_at > now - INVITE_TTL_MS,
                    channels.c.deleted_at.is_(None),
                )
            )
            return [{"channel": self._card(r, False), "expires_at": int(r.invited_at) + INVITE_TTL_MS} for r in rows]

        return await self._db.read(unit)

    async def accept_admin(self, user_id: int, raw_channel_id: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            row = self._live_in(conn, channel_id)
            invite = repo.admin_row(conn, channel_id, user_id)
            if invite is None:
                raise ChannelNotFoundError("you have no invitation to run this channel")
            if invite.accepted_at is None:
                if int(invite.invited_at) + INVITE_TTL_MS <= now:
                    raise AdminInviteExpiredError("this invitation expired (they last 7 days): ask for a new one")
                a = channel_admins.c
                conn.execute(
                    update(channel_admins)
                    .where(a.channel_id == channel_id, a.user_id == user_id)
                    .values(accepted_at=now)
                )
            return self._channel_json_in(conn, row, user_id)

        accepted = await self._db.write("channels.accept_admin", unit)
        await self._follows_changed(user_id, channel_id, True)
        return accepted

    async def remove_admin(self, owner_id: int, raw_channel_id: str, raw_user_id: str) -> None:
        channel_id = self._channel_id(raw_channel_id)
        admin_id = parse_id(raw_user_id)

        def unit(conn: Connection) -> bool:
            self._require_owner_in(conn, channel_id, owner_id)
            if admin_id == owner_id:
                raise InvalidChannelError("the owner cannot remove themself: transfer ownership or delete the channel")
            a = channel_admins.c
            gone = conn.execute(
                delete(channel_admins).where(a.channel_id == channel_id, a.user_id == admin_id, a.role == "admin")
            ).rowcount
            if not gone:
                raise ChannelNotFoundError("this person is not an admin of the channel")
            assert admin_id is not None
            return repo.follow_row(conn, channel_id, admin_id) is not None

        still_follows = await self._db.write("channels.remove_admin", unit)
        if admin_id is not None and not still_follows:  # a follower keeps hearing the channel as one
            await self._follows_changed(admin_id, channel_id, False)

    async def transfer_ownership(self, owner_id: int, raw_channel_id: str, raw_user_id: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        new_owner = parse_id(raw_user_id)

        def unit(conn: Connection) -> Json:
            self._require_owner_in(conn, channel_id, owner_id)
            target = None if new_owner is None else repo.admin_row(conn, channel_id, new_owner)
            if target is None or target.accepted_at is None:
                raise InvalidChannelError("ownership goes to one of the channel's admins")
            a = channel_admins.c
            conn.execute(
                update(channel_admins).where(a.channel_id == channel_id, a.user_id == owner_id).values(role="admin")
            )
            conn.execute(
                update(channel_admins).where(a.channel_id == channel_id, a.user_id == new_owner).values(role="owner")
            )
            conn.execute(update(channels).where(channels.c.id == channel_id).values(owner_id=new_owner))
            return self._channel_json_in(conn, self._live_in(conn, channel_id), owner_id)

        return await self._db.write("channels.transfer", unit)

    # --- follows -----------------------------------------------------------------------------------------------

    async def follow(self, user_id: int, raw_channel_id: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[Json, set[int]]:
            row = self._live_in(conn, channel_id)
            # A new follower starts with nothing unread: the history is there to scroll, not to count.
            follow = {"channel_id": channel_id, "user_id": user_id, "read_seq": row.last_seq, "followed_at": now}
            counted = repo.insert_once(conn, channel_follows, follow)
            if counted:
                conn.execute(
                    update(channels)
                    .where(channels.c.id == channel_id)
                    .values(follower_count=channels.c.follower_count + 1)
                )
            found = self._channel_json_in(conn, self._live_in(conn, channel_id), user_id)
            return found, repo.admin_ids(conn, channel_id) if counted else set()

        followed, admins = await self._db.write("channels.follow", unit)
        await self._follows_changed(user_id, channel_id, True)
        await self._follower_count_changed(channel_id, followed["follower_count"], admins)
        return followed

    async def unfollow(self, user_id: int, raw_channel_id: str) -> Json:
        channel_id = self._channel_id(raw_channel_id)

        def unit(conn: Connection) -> tuple[Json, set[int]]:
            self._live_in(conn, channel_id)
            f = channel_follows.c
            gone = conn.execute(
                delete(channel_follows).where(f.channel_id == channel_id, f.user_id == user_id)
            ).rowcount
            if gone:
                conn.execute(
                    update(channels)
                    .where(channels.c.id == channel_id)
                    .values(follower_count=channels.c.follower_count - 1)
                )
            found = self._channel_json_in(conn, self._live_in(conn, channel_id), user_id)
            return found, repo.admin_ids(conn, channel_id) if gone else set()

        unfollowed, admins = await self._db.write("channels.unfollow", unit)
        if unfollowed["role"] is None:  # admins keep hearing their channel
            await self._follows_changed(user_id, channel_id, False)
        await self._follower_count_changed(channel_id, unfollowed["follower_count"], admins)
        return unfollowed

    async def mute(self, user_id: int, raw_channel_id: str, muted: bool) -> Json:
        return await self._update_follow(user_id, raw_channel_id, "channels.mute", muted=muted)

    async def mark_read(self, user_id: int, raw_channel_id: str, seq: int) -> Json:
        channel_id = self._channel_id(raw_channel_id)

        def unit(conn: Connection) -> Json:
            row = self._live_in(conn, channel_id)
            target = min(seq, int(row.last_seq))  # read marks only move forward, and never past the last post
            f = channel_follows.c
            changed = conn.execute(
                update(channel_follows)
                .where(f.channel_id == channel_id, f.user_id == user_id, f.read_seq < target)
                .values(read_seq=target)
            ).rowcount
            if not changed and repo.follow_row(conn, channel_id, user_id) is None:
                raise ChannelNotFoundError("you do not follow this channel")
            return self._channel_json_in(conn, row, user_id)

        return await self._db.write("channels.read", unit)

    async def _update_follow(self, user_id: int, raw_channel_id: str, name: str, **values: Any) -> Json:
        channel_id = self._channel_id(raw_channel_id)

        def unit(conn: Connection) -> Json:
            row = self._live_in(conn, channel_id)
            f = channel_follows.c
            changed = conn.execute(
                update(channel_follows).where(f.channel_id == channel_id, f.user_id == user_id).values(**values)
            ).rowcount
            if not changed:
                raise ChannelNotFoundError("you do not follow this channel")
            return self._channel_json_in(conn, row, user_id)

        return await self._db.write(name, unit)

    async def _follows_changed(self, user_id: int, channel_id: int, following: bool) -> None:
        await self._bus.publish(FOLLOWS_TOPIC, {"user_id": user_id, "channel_id": channel_id, "following": following})

    async def _follower_count_changed(self, channel_id: int, count: int, admins: set[int]) -> None:
        """The new count, on the channel's topic but addressed to its owner and admins only (`ChannelFanout`
        hands it to their streams and to nobody else): at most 17 people, however many follow."""
        if admins:
            event = {"type": "channel_followers", "channel_id": str(channel_id), "follower_count": count}
            await self._bus.publish(channel_topic(channel_id), {**event, ADMINS_KEY: sorted(admins)})

    # --- posts -------------------------------------------------------------------------------------------------

    async def post(self, author_id: int, raw_channel_id: str, body: PostIn) -> Json:
        channel_id = self._channel_id(raw_channel_id)
        content = self._content_of(body)
        now = self._clock.now_ms()
        post_id = self._ids.next_id()

        def unit(conn: Connection) -> tuple[Json, bool]:
            self._require_admin_in(conn, channel_id, author_id)
            if body.client_id is not None:
                repo.lock_channel(conn, channel_id)
                first = repo.post_by_client_id(conn, channel_id, body.client_id)
                if first is not None:  # a retry: the first answer, nothing new
                    return self._posts_json_in(conn, [first], Viewer(author_id, True, True))[0], False
            if body.exclusive and not self._subscriptions.paid_channels_in(conn, [channel_id]):
                raise InvalidPostError("subscriber-only posts need a channel subscription offer first")
            if body.media_id is not None:
                self._own_media_in(conn, author_id, int(body.media_id), now)
            seq = conn.execute(
                update(channels)
                .where(channels.c.id == channel_id)
                .values(last_seq=channels.c.last_seq + 1, last_post_at=now)
                .returning(channels.c.last_seq)
            ).scalar_one()
            conn.execute(
                insert(channel_posts).values(
                    id=post_id,
                    channel_id=channel_id,
                    seq=seq,
                    author_id=author_id,
                    type=body.type,
                    content=orjson.dumps(content).decode(),
                    exclusive=body.exclusive,
                    client_id=body.client_id,
                    created_at=now,
                    expires_at=now + HISTORY_MS,
                )
            )
            rendered = _render(
                post_id, seq, body.type, content, body.exclusive, now, None, now + HISTORY_MS, channel_id
            )
            return rendered, True

        rendered, new = await self._db.write("channels.post", unit)
        if new:
            await self._bus.publish(
                channel_topic(channel_id), {"type": "channel_post", "channel_id": str(channel_id), "post": rendered}
            )
        return rendered

    def _content_of(self, body: PostIn) -> Json:
        text = (body.text or "").strip() or None
        if text is not None and any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
            raise InvalidPostError("a post cannot hold control characters")
        content: Json = {"text": text}
        if body.type in ("image", "video"):
            content["media_id"] = body.media_id
        if body.type == "poll":
            assert body.poll is not None
            options = [o.strip() for o in body.poll.options]
            if any(not o or len(o) > 100 for o in options) or len(set(options)) != len(options):
                raise InvalidPostError("poll options are 1 to 100 characters each, all different")
            content["poll"] = {"question": body.poll.question.strip(), "options": options}
        if body.type == "link":
            assert body.link is not None
            content["link"] = {"url": _clean_url(body.link.url), "preview": body.link.preview.strip()}
        return content

    async def posts(
        self, user_id: int, raw_channel_id: str, after_seq: int | None, before_seq: int | None, limit: int
    ) -> Json:
        """A page of the channel's log for a reader: after their mark (oldest first) or before a seq (newest first)."""
        channel_id = self._channel_id(raw_channel_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            row = self._live_in(conn, channel_id)
            viewer = self._viewer_in(conn, channel_id, user_id, now)
            return self._page_in(conn, row, viewer, after_seq, before_seq, limit, now)

        return await self._db.read(unit)

    def _page_in(
        self,
        conn: Connection,
        row: Row[tuple[object, ...]],
        viewer: Viewer,
        after_seq: int | None,
        before_seq: int | None,
        limit: int,
        now: int,
    ) -> Json:
        p = channel_posts.c
        conditions: list[ColumnElement[bool]] = [p.channel_id == row.id, p.deleted_at.is_(None), p.expires_at > now]
        if after_seq is not None:
            conditions.append(p.seq > after_seq)
            order = p.seq.asc()
        else:
            if before_seq is not None:
                conditions.append(p.seq < before_seq)
            order = p.seq.desc()
        rows = list(conn.execute(select(channel_posts).where(*conditions).order_by(order).limit(limit + 1)))
        more = len(rows) > limit
        rows = sorted(rows[:limit], key=lambda r: int(r.seq))
        return {
            "posts": self._posts_json_in(conn, rows, viewer),
            "last_seq": int(row.last_seq),
            "more": more,
        }

    def _viewer_in(self, conn: Connection, channel_id: int, user_id: int, now: int) -> Viewer:
        is_admin = repo.is_channel_admin_in(conn, channel_id, user_id)
        subscribed = is_admin or bool(self._subscriptions.subscribed_channels_in(conn, user_id, [channel_id], now))
        return Viewer(user_id, is_admin, subscribed)

    def _posts_json_in(self, conn: Connection, rows: Sequence[Row[tuple[object, ...]]], viewer: Viewer) -> list[Json]:
        ids = [int(r.id) for r in rows]
        counts = repo.reaction_counts(conn, ids)
        mine = repo.my_reactions(conn, viewer.user_id, ids)
        polls = [int(r.id) for r in rows if r.type == "poll"]
        votes = repo.poll_counts(conn, polls)
        my_votes = repo.my_votes(conn, viewer.user_id, polls)
        rendered = []
        for r in rows:
            post_id = int(r.id)
            locked = bool(r.exclusive) and not viewer.subscribed
            content = {} if locked else orjson.loads(str(r.content))
            item = _render(
                post_id,
                int(r.seq),
                str(r.type),
                content,
                bool(r.exclusive),
                int(r.created_at),
                r.edited_at,
                int(r.expires_at),
                int(r.channel_id),
                locked=locked,
                poll_counts=votes.get(post_id),
                my_vote=my_votes.get(post_id),
            )
            item["reactions"] = counts.get(post_id, {})
            item["my_reaction"] = mine.get(post_id)
            rendered.append(item)
        return rendered

    async def edit_post(self, user_id: int, raw_channel_id: str, raw_post_id: str, text: str) -> Json:
        channel_id, post_id = self._channel_id(raw_channel_id), self._post_id(raw_post_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            self._require_admin_in(conn, channel_id, user_id)
            row = self._post_in(conn, channel_id, post_id, now)
            content = orjson.loads(str(row.content))
            content["text"] = text.strip() or None
            if row.type == "text" and not content["text"]:
                raise InvalidPostError("a text post needs text")
            p = channel_posts.c
            conn.execute(
                update(channel_posts)
                .where(p.id == post_id)
                .values(content=orjson.dumps(content).decode(), edited_at=now)
            )
            return self._posts_json_in(
                conn, [self._post_in(conn, channel_id, post_id, now)], Viewer(user_id, True, True)
            )[0]

        edited = await self._db.write("channels.edit_post", unit)
        await self._bus.publish(
            channel_topic(channel_id),
            {"type": "channel_post_edited", "channel_id": str(channel_id), "post": _without_viewer(edited)},
        )
        return edited

    async def delete_post(self, user_id: int, raw_channel_id: str, raw_post_id: str) -> None:
        channel_id, post_id = self._channel_id(raw_channel_id), self._post_id(raw_post_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            self._require_admin_in(conn, channel_id, user_id)
            self._post_in(conn, channel_id, post_id, now)
            conn.execute(update(channel_posts).where(channel_posts.c.id == post_id).values(deleted_at=now))
            repo.delete_post_children(conn, [post_id])

        await self._db.write("channels.delete_post", unit)
        await self._bus.publish(
            channel_topic(channel_id),
            {"type": "channel_post_deleted", "channel_id": str(channel_id), "post_id": str(post_id)},
        )

    async def sweep_expired(self, limit: int = 1000) -> int:
        """Delete posts past their 30 days (and their reactions and votes); reads already hide them."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> int:
            p = channel_posts.c
            ids = [int(r[0]) for r in conn.execute(select(p.id).where(p.expires_at <= now).limit(limit))]
            repo.delete_post_children(conn, ids)
            if ids:
                conn.execute(delete(channel_posts).where(p.id.in_(ids)))
            return len(ids)

        return await self._db.write("channels.sweep_expired", unit)

    # --- reactions and polls -----------------------------------------------------------------------------------

    async def react(self, user_id: int, raw_channel_id: str, raw_post_id: str, emoji: str | None) -> Json:
        """One reaction per person per post: the same again is refused (409), another replaces it, None removes."""
        channel_id, post_id = self._channel_id(raw_channel_id), self._post_id(raw_post_id)
        emoji = None if emoji is None else emoji.strip()
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            channel = self._live_in(conn, channel_id)
            self._post_in(conn, channel_id, post_id, now)
            self._require_reader_in(conn, channel_id, user_id)
            if emoji is not None and emoji not in _allowed(channel):
                raise InvalidPostError(f"this channel allows the reactions {' '.join(_allowed(channel))}")
            r = channel_reactions.c
            mine = conn.execute(select(r.emoji).where(r.post_id == post_id, r.user_id == user_id)).scalar()
            if emoji is not None and mine == emoji:
                raise AlreadyReactedError("you already reacted with this emoji")
            if mine is not None:
                gone = conn.execute(
                    delete(channel_reactions).where(r.post_id == post_id, r.user_id == user_id, r.emoji == mine)
                ).rowcount
                if gone:  # not taken already by a simultaneous change of the same person
                    repo.add_reaction_count(conn, post_id, mine, -1)
            if emoji is not None:
                reaction = {"post_id": post_id, "user_id": user_id, "emoji": emoji, "created_at": now}
                if not repo.insert_once(conn, channel_reactions, reaction):
                    raise AlreadyReactedError("you already reacted to this post: remove that reaction first")
                repo.add_reaction_count(conn, post_id, emoji, 1)
            return {"reactions": repo.reaction_counts(conn, [post_id]).get(post_id, {}), "my_reaction": emoji}

        result = await self._db.write("channels.react", unit)
        await self._bus.publish(
            channel_topic(channel_id),
            {
                "type": "channel_reactions",
                "channel_id": str(channel_id),
                "post_id": str(post_id),
                "reactions": result["reactions"],
            },
        )
        return result

    async def vote(self, user_id: int, raw_channel_id: str, raw_post_id: str, option: int) -> Json:
        channel_id, post_id = self._channel_id(raw_channel_id), self._post_id(raw_post_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> Json:
            self._live_in(conn, channel_id)
            row = self._post_in(conn, channel_id, post_id, now)
            if row.type != "poll":
                raise InvalidPostError("this post is not a poll")
            self._require_reader_in(conn, channel_id, user_id)
            viewer = self._viewer_in(conn, channel_id, user_id, now)
            if bool(row.exclusive) and not viewer.subscribed:
                raise PostNotFoundError("no such post")
            options = orjson.loads(str(row.content))["poll"]["options"]
            if option >= len(options):
                raise InvalidPostError(f"this poll has {len(options)} options (0 to {len(options) - 1})")
            vote = {"post_id": post_id, "user_id": user_id, "option": option, "created_at": now}
            if not repo.insert_once(conn, channel_poll_votes, vote):
                raise AlreadyVotedError("you already voted in this poll")
            return self._posts_json_in(conn, [row], viewer)[0]

        return await self._db.write("channels.vote", unit)

    # --- forward -----------------------------------------------------------------------------------------------

    async def forward(self, user_id: int, raw_channel_id: str, raw_post_id: str, body: ForwardIn) -> SendResult:
        """Send the post into one of the person's chats as a normal message carrying the channel's link."""
        channel_id, post_id = self._channel_id(raw_channel_id), self._post_id(raw_post_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[str, str | None]:
            channel = self._live_in(conn, channel_id)
            row = self._post_in(conn, channel_id, post_id, now)
            viewer = self._viewer_in(conn, channel_id, user_id, now)
            if bool(row.exclusive) and not viewer.subscribed:
                raise PostNotFoundError("no such post")
            content = orjson.loads(str(row.content))
            parts = [content.get("text") or ""]
            if content.get("poll"):
                parts.append("📊 " + content["poll"]["question"])
            if content.get("link"):
                parts.append(content["link"]["url"])
            lines = [p for p in parts if p]
            lines.append(f"— {channel.name}: {self._public_url}/c/{channel.invite_code}")
            peer_phone = None
            if body.chat_id is not None:
                chat_id = int(body.chat_id)
                peer = self._messaging.direct_peer_in(conn, chat_id, user_id)
                if peer is not None:
                    found = get_users(conn, [peer]).get(peer)
                    peer_phone = found.phone if found is not None else None
            return "\n".join(lines)[:4096], peer_phone

        text, peer_phone = await self._db.read(unit)
        target: dict[str, Any]
        if body.to is not None:
            target = {"to": body.to}
        elif body.group_id is not None:
            target = {"group_id": body.group_id}
        elif peer_phone is not None:
            target = {"to": peer_phone}
        else:
            target = {"group_id": body.chat_id}  # not a 1:1 chat of theirs: a group (the send checks membership)
        request = SendMessageIn(type="text", text=TextIn(body=text), client_id=body.client_id, **target)
        return await self._messaging.send(user_id, request)

    # --- media -------------------------------------------------------------------------------------------------

    async def media_file(self, raw_channel_id: str, raw_media_id: str) -> media_domain.MediaRow:
        """A channel's picture or a live post's image or video (public to anyone who can see the channel)."""
        channel_id = self._channel_id(raw_channel_id)
        media_id = parse_id(raw_media_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> media_domain.MediaRow:
            channel = self._live_in(conn, channel_id)
            item = None if media_id is None else media_domain.get_media(conn, media_id)
            if item is None:
                raise PostNotFoundError("no such media")
            if channel.picture_media_id != media_id:
                p = channel_posts.c
                used = conn.execute(
                    select(p.id).where(
                        p.channel_id == channel_id,
                        p.deleted_at.is_(None),
                        p.exclusive.is_(False),
                        p.expires_at > now,
                        p.content.like(f'%"media_id":"{media_id}"%'),
                    )
                ).first()
                if used is None:
                    raise PostNotFoundError("no such media")
            return item

        return await self._db.read(unit)

    # --- Business API ------------------------------------------------------------------------------------------

    async def business_create(self, scope: GraphScope, raw_waba_id: str, params: dict[str, Any]) -> Json:
        waba_id = self._own_waba(scope, raw_waba_id)
        owner_id = await self._business_user(waba_id)
        created = await self.create(owner_id, parse_model(ChannelIn, params), waba_id=waba_id)
        return {"id": created["id"], "invite_link": created["link"]}

    async def business_list(self, scope: GraphScope, raw_waba_id: str) -> Json:
        waba_id = self._own_waba(scope, raw_waba_id)

        def unit(conn: Connection) -> Json:
            c = channels.c
            rows = list(
                conn.execute(
                    select(channels).where(c.waba_id == waba_id, c.deleted_at.is_(None)).order_by(c.created_at.desc())
                )
            )
            return {"data": [self._graph_object(r) for r in rows]}

        return await self._db.read(unit)

    async def graph_object(self, scope: GraphScope, object_id: int) -> Json | None:
        """The channel `object_id` when the scope's business runs it (the `/{object_id}` dispatcher asks)."""
        row = await self._db.read(lambda conn: repo.live_channel(conn, object_id))
        if row is None or row.waba_id != scope.waba_id:
            return None
        return self._graph_object(row)

    def _graph_object(self, row: Row[tuple[object, ...]]) -> Json:
        return {
            "id": str(row.id),
            "name": row.name,
            "description": row.description,
            "category": row.category,
            "country": row.country,
            "verified": bool(row.verified),
            "follower_count": int(row.follower_count),
            "subscriber_count": int(row.subscriber_count),
            "invite_link": f"{self._public_url}/c/{row.invite_code}",
            "last_seq": int(row.last_seq),
        }

    async def business_post(self, scope: GraphScope, raw_channel_id: str, params: dict[str, Any]) -> Json:
        owner_id = await self._business_channel_owner(scope, raw_channel_id)
        if params.get("exclusive") in ("true", "false"):  # a form field (`exclusive=true`): a subscriber-only post
            params = params | {"exclusive": params["exclusive"] == "true"}
        post = await self.post(owner_id, raw_channel_id, parse_model(PostIn, params))
        return {"id": post["id"], "seq": post["seq"]}

    async def business_posts(self, scope: GraphScope, raw_channel_id: str, limit: int) -> Json:
        owner_id = await self._business_channel_owner(scope, raw_channel_id)
        page = await self.posts(owner_id, raw_channel_id, None, None, limit)
        return {"data": [_without_viewer(p) for p in page["posts"]]}

    async def _business_channel_owner(self, scope: GraphScope, raw_channel_id: str) -> int:
        channel_id = parse_id(raw_channel_id)
        row = None if channel_id is None else await self._db.read(lambda conn: repo.live_channel(conn, channel_id))
        if row is None or row.waba_id != scope.waba_id:
            raise object_not_found(raw_channel_id)
        return int(row.owner_id)

    def _own_waba(self, scope: GraphScope, raw_waba_id: str) -> int:
        waba_id = parse_id(raw_waba_id)
        if waba_id is None or waba_id != scope.waba_id:
            raise GraphError(200, "this token does not grant access to that business account", http_status=403)
        return waba_id

    async def _business_user(self, waba_id: int) -> int:
        """A business's channel is owned by the account of its first phone number (the business's own user)."""
        number_ids = await self._numbers.ids_of_waba(waba_id)
        for number_id in sorted(number_ids):
            number = await self._numbers.get(number_id)
            if number is not None:
                return number.user_id
        raise GraphError(100, "register a phone number for this business account before creating a channel")

    # --- shared checks -----------------------------------------------------------------------------------------

    def _channel_id(self, raw: str) -> int:
        found = parse_id(raw)
        if found is None:
            raise ChannelNotFoundError("no such channel")
        return found

    def _post_id(self, raw: str) -> int:
        found = parse_id(raw)
        if found is None:
            raise PostNotFoundError("no such post")
        return found

    def _live_in(self, conn: Connection, channel_id: int) -> Row[tuple[object, ...]]:
        row = repo.live_channel(conn, channel_id)
        if row is None:
            raise ChannelNotFoundError("no such channel")
        return row

    def _post_in(self, conn: Connection, channel_id: int, post_id: int, now: int) -> Row[tuple[object, ...]]:
        row = repo.post_row(conn, channel_id, post_id)
        if row is None or int(row.expires_at) <= now:
            raise PostNotFoundError("no such post (posts are kept 30 days)")
        return row

    def _require_admin_in(self, conn: Connection, channel_id: int, user_id: int) -> Row[tuple[object, ...]]:
        self._live_in(conn, channel_id)
        admin = repo.admin_row(conn, channel_id, user_id)
        if admin is None or admin.accepted_at is None:
            raise NotChannelAdminError("only the channel's admins can do this: followers read, admins post")
        return admin

    def _require_owner_in(self, conn: Connection, channel_id: int, user_id: int) -> None:
        admin = self._require_admin_in(conn, channel_id, user_id)
        if admin.role != "owner":
            raise NotChannelOwnerError("only the channel's owner can do this")

    def _require_reader_in(self, conn: Connection, channel_id: int, user_id: int) -> None:
        if repo.follow_row(conn, channel_id, user_id) is None and not repo.is_channel_admin_in(
            conn, channel_id, user_id
        ):
            raise InvalidPostError("follow the channel to react or vote")

    def _own_media_in(self, conn: Connection, user_id: int, media_id: int, now: int) -> None:
        item = media_domain.get_media(conn, media_id)
        if item is None or item.owner_id != user_id:
            raise InvalidPostError("no such media: upload it first (POST /client/v1/media)")
        media_domain.mark_media_used(conn, media_id, now)


def _invite_status(invited_at: int, now: int) -> str:
    return "invited" if invited_at + INVITE_TTL_MS > now else "expired"


def _render(
    post_id: int,
    seq: int,
    type_: str,
    content: Json,
    exclusive: bool,
    created_at: int,
    edited_at: object,
    expires_at: int,
    channel_id: int,
    *,
    locked: bool = False,
    poll_counts: dict[int, int] | None = None,
    my_vote: int | None = None,
) -> Json:
    """A post as readers see it (never its author). `locked`: a subscriber-only post for someone who is not one."""
    item: Json = {
        "id": str(post_id),
        "channel_id": str(channel_id),
        "seq": seq,
        "type": type_,
        "exclusive": exclusive,
        "locked": locked,
        "created_at": created_at,
        "edited_at": edited_at,
        "expires_at": expires_at,
        "reactions": {},
        "my_reaction": None,
    }
    if locked:
        return item
    item["text"] = content.get("text")
    if content.get("media_id"):
        item["media_id"] = content["media_id"]
        item["media_url"] = f"/client/v1/channels/{channel_id}/media/{content['media_id']}"
    if content.get("poll"):
        counts = poll_counts or {}
        item["poll"] = {
            "question": content["poll"]["question"],
            "options": [{"text": o, "votes": counts.get(i, 0)} for i, o in enumerate(content["poll"]["options"])],
            "my_vote": my_vote,
        }
    if content.get("link"):
        item["link"] = content["link"]
    return item


def _without_viewer(post: Json) -> Json:
    """A post without what only its reader knows (their reaction, their vote): what goes to everyone."""
    shared = {k: v for k, v in post.items() if k != "my_reaction"}
    if "poll" in shared:
        shared["poll"] = {**shared["poll"], "my_vote": None}
    return shared


def locked_stub(post: Json) -> Json:
    """A subscriber-only post as a non-subscriber hears of it: that it exists, not what it says."""
    keys = ("id", "channel_id", "seq", "type", "exclusive", "created_at", "edited_at", "expires_at")
    return {**{k: post.get(k) for k in keys}, "locked": True, "reactions": {}, "my_reaction": None}
