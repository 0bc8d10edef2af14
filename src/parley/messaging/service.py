"""Messaging: 1:1 chats and groups, messages with receipts, and the per-user durable inbox.

Every change is one write unit (one transaction). Realtime events go out on the bus only after the unit
committed; a device that misses one finds it in its inbox on reconnect, so the bus may lose nothing that
matters.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from parley import accounts, media, privacy
from parley.config import LimitSettings
from parley.kit.clock import Clock
from parley.kit.errors import AppError, IdempotencyKeyReusedError, InvalidInputError
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, parse_id, timestamp_ms_of
from parley.kit.pagination import decode_cursor, encode_cursor
from parley.messaging import personal_data  # rights
from parley.messaging import repository as repo
from parley.messaging.content import (
    EncryptedContent,
    GroupInviteContent,
    LocationContent,
    MediaContent,
    MessageContent,
    ReplyContent,
    TextContent,
    dump_content,
    forwarded_copy,
    load_content,
    preview_of,
    reply_choices,
)
from parley.messaging.errors import (
    ChatNotFoundError,
    DeleteWindowClosedError,
    EditWindowClosedError,
    EncryptionRequiredError,
    GroupAddNotAllowedError,
    GroupFullError,
    InvalidMessageError,
    InviteNotFoundError,
    LastAdminError,
    MediaNotFoundError,
    MessageNotFoundError,
    NotAnAdminError,
    NotYourMessageError,
)
from parley.messaging.gates import JoinGate, OpenGroups
from parley.messaging.models import DELIVERED, READ, SENT, WITHHELD
from parley.messaging.observers import MessageObserver
from parley.messaging.render import STATUS_NAMES, Event, render_message
from parley.messaging.schemas import MEDIA_TYPES, EncryptedIn, ForwardIn, ReplyIn, SendMessageIn
from parley.messaging.statements import Driver
from parley.platform.bus import Bus
from parley.platform.db import Database

_ENCRYPTION_REQUIRED = "chats between people are end-to-end encrypted on this server: send type 'encrypted'"


def user_topic(user_id: int) -> str:
    return f"u:{user_id}"


@dataclass(frozen=True)
class SendResult:
    message_id: int
    chat_id: int
    timestamp: int
    withheld: list[int] = field(default_factory=list)  # recipients it was not delivered to (blocked)
    retried: bool = False  # the same client_id was sent before: this is that first message


@dataclass
class _Fanout:
    """What a committed unit wants published: inbox events per user, plus plain events."""

    message: repo.MessageRow | None = None
    event: str = "new"
    seqs: dict[int, int] = field(default_factory=dict)
    # Each reader's status of the message (absent: "sent"), and its reactions, as of the commit.
    statuses: dict[int, int] = field(default_factory=dict)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    others: list[tuple[int, Event]] = field(default_factory=list)
    quoted: repo.MessageRow | None = None  # the message a reply quotes
    # A sender's name read from the database by the unit, to cache after the commit: (user id, name, generation).
    name_read: tuple[int, str, int] | None = None


@dataclass(frozen=True)
class Committed:
    """Realtime events of a unit that committed; publish them with `publish_committed`."""

    fanout: _Fanout


def _chat_updated(chat_id: int, user_ids: list[int]) -> list[tuple[int, Event]]:
    return [(u, {"type": "chat", "chat_id": str(chat_id), "event": "updated"}) for u in user_ids]


def _tapped_reply(conn: Connection, sender_id: int, message_id: int, reply: ReplyIn) -> ReplyContent:
    """A person's tap on a button of someone else's message; the label stored is the message's own."""
    tapped = repo.get_message(conn, message_id)
    if tapped is None or tapped.sender_id == sender_id or tapped.content is None or tapped.deleted_at is not None:
        raise InvalidMessageError("a reply answers a button of a message you received")
    for choice in reply_choices(load_content(tapped.content)):
        if choice.reply_type == reply.reply_type and choice.id == reply.id:
            return choice
    raise InvalidMessageError(f"that message has no {reply.reply_type} with id {reply.id!r}")


def _require_same_request(stored: str | None, fingerprint: str, key_name: str) -> None:
    """A retry must repeat the first request: the same key with another one would silently send nothing."""
    if stored is not None and stored != fingerprint:
        raise IdempotencyKeyReusedError(
            f"this {key_name} was already used for a different message: a retry must repeat the same request, "
            f"and a new message needs a new {key_name}"
        )


def _photo_id(conn: Connection, user_id: int) -> str | None:
    photo = media.profile_photos_of(conn, [user_id]).get(user_id)
    return None if photo is None else str(photo)


def _parse_id(raw: str, error: type[Exception], what: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise error(f"no such {what}")
    return value


class MessagingService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        account_service: accounts.AccountService,
        limits: LimitSettings,
        public_url: str,
        *,
        people_encrypted_only: bool = False,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._people_encrypted_only = people_encrypted_only
        self._accounts = account_service
        self._limits = limits
        self._public_url = public_url.rstrip("/")
        # Direct chat per pair of people: created once, never changed or deleted, so safe to remember.
        self._direct_chats: dict[str, int] = {}
        self._observers: list[MessageObserver] = []
        self._join_gate: JoinGate = OpenGroups()

    # --- sending -------------------------------------------------------------------------------

    async def send(self, sender_id: int, request: SendMessageIn) -> SendResult:
        recipient_id: int | None = None
        if request.to is not None:
            recipient = await self._accounts.find_for(sender_id, request.to)
            recipient_id = recipient.id
            if recipient_id == sender_id:
                raise InvalidMessageError("you cannot send a message to yourself")
            if request.encrypted is not None and recipient.kind != "person":
                raise InvalidMessageError("chats with a business are not end-to-end encrypted: send plain content")
        if (
            self._people_encrypted_only
            and request.encrypted is None
            and (recipient_id is None or recipient.kind == "person")
        ):
            raise EncryptionRequiredError(_ENCRYPTION_REQUIRED)
        group_id = None if request.group_id is None else _parse_id(request.group_id, ChatNotFoundError, "chat")
        context_id = (
            None if request.context is None else _parse_id(request.context.message_id, MessageNotFoundError, "message")
        )
        media_in = getattr(request, request.type) if request.type in MEDIA_TYPES else None
        if request.text is not None and len(request.text.body) > self._limits.text_max_chars:
            raise InvalidMessageError(f"text is limited to {self._limits.text_max_chars} characters")
        now = self._clock.now_ms()
        pair = None if recipient_id is None else repo.direct_key(sender_id, recipient_id)
        known_direct_chat = None if pair is None else self._direct_chats.get(pair)
        # The request as understood (the recipient resolved, however its number was written), minus its key.
        fingerprint = request_fingerprint(
            {**request.model_dump(mode="json", exclude={"client_id", "to"}), "to": recipient_id}
        )

        def unit(conn: Connection) -> tuple[SendResult, _Fanout]:
            def retry() -> SendResult | None:
                return self.first_send_in(conn, sender_id, request.client_id, fingerprint, key_name="client_id")

            if media_in is not None and (first := retry()) is not None:
                # Sharing the media with the chat is a write: a retry must find its first message before it.
                return first, _Fanout()
            # Otherwise the insert itself tells a retry (its client id is taken), one statement fewer per send; a
            # check that refuses it first asks whether it is a retry, which gets the first answer whatever changed.
            members: list[int] | None = None
            try:
                if recipient_id is not None:
                    chat_id = known_direct_chat or self._direct_chat(conn, sender_id, recipient_id, now)
                else:
                    assert group_id is not None
                    chat_id = group_id
                    db = Driver(conn)
                    members = [u for (u,) in db.rows(db.sql.member_ids, (chat_id,))]
                    if sender_id not in members:
                        raise ChatNotFoundError("no such chat")
                if context_id is not None:
                    quoted = repo.get_message(conn, context_id)
                    if quoted is None or quoted.chat_id != chat_id:
                        raise MessageNotFoundError("the quoted message is not in this chat")
                content: MessageContent
                if request.reply is not None and context_id is not None:
                    content = _tapped_reply(conn, sender_id, context_id, request.reply)
                elif request.location is not None:
                    content = LocationContent(**request.location.model_dump())
                elif request.encrypted is not None:
                    content = EncryptedContent(**request.encrypted.model_dump())
                elif media_in is None:
                    assert request.text is not None
                    content = TextContent(body=request.text.body)
                else:
                    content = self._media_content(
                        conn, sender_id, chat_id, request.type, media_in.id, media_in.caption, now
                    )
            except AppError:
                if media_in is None and (first := retry()) is not None:
                    return first, _Fanout()
                raise
            recipients = [recipient_id] if recipient_id is not None else [u for u in members or () if u != sender_id]
            stored = self._store(
                conn,
                chat_id,
                sender_id,
                request.client_id,
                request.type,
                content,
                context_id,
                recipients,
                now,
                referral_clid=request.referral_clid,
                request_hash=fingerprint,
            )
            if stored is None:  # a retry
                first = retry()
                assert first is not None
                return first, _Fanout()
            return stored

        result, fanout = await self._db.write("messaging.send", unit)
        if pair is not None:
            # Only after the commit: a chat created by a unit that rolled back must not be remembered.
            if len(self._direct_chats) > 500_000:
                self._direct_chats.clear()
            self._direct_chats[pair] = result.chat_id
        await self._publish(fanout)
        return result

    def _store(
        self,
        conn: Connection,
        chat_id: int,
        sender_id: int,
        client_id: str,
        type_: str,
        content: MessageContent,
        context_id: int | None,
        recipients: list[int] | None,
        now: int,
        *,
        referral_clid: str | None = None,
        withhold: bool = False,
        sender_inbox: bool = True,
        observe: bool = True,
        request_hash: str | None = None,
    ) -> tuple[SendResult, _Fanout] | None:
        """Store a message (None, storing nothing, when this sender used `client_id` before: the caller finds that
        first message), with its receipts and inbox rows, on the driver's cursor."""
        db = Driver(conn)
        sql = db.sql
        message_id = self._ids.next_id()
        # The id's own time, not the request's: concurrent sends get ids and timestamps in one order.
        created_at = timestamp_ms_of(message_id)
        stored_content = dump_content(content)
        inserted = db.first(
            sql.insert_message,
            (message_id, chat_id, sender_id, client_id, type_, stored_content, context_id, created_at, request_hash),
        )
        if inserted is None:
            return None
        sender_name, generation = self._accounts.cached_name(sender_id)
        name_read = None
        if sender_name is None:
            sender_name = str(db.first(sql.user_name, (sender_id,))[0])
            name_read = (sender_id, sender_name, generation)
        row = repo.MessageRow(
            id=message_id,
            chat_id=chat_id,
            sender_id=sender_id,
            sender_name=sender_name,
            client_id=client_id,
            type=type_,
            content=stored_content,
            context_id=context_id,
            created_at=created_at,
            edited_at=None,
            deleted_at=None,
        )
        if recipients is None:  # a group: everyone else in it
            recipients = [u for (u,) in db.rows(sql.member_ids, (chat_id,)) if u != sender_id]
        if withhold:
            blockers = set(recipients)
        elif len(recipients) == 1:
            blockers = set(recipients) if db.first(sql.blocked_by, (recipients[0], sender_id)) else set()
        else:
            blockers = privacy.blockers_among(conn, sender_id, recipients)
        statuses = {u: WITHHELD if u in blockers else SENT for u in recipients}
        for observer in self._observers if observe else ():
            statuses.update(observer.on_message(conn, row, content, statuses, referral_clid))
        if statuses:
            db.run_many(sql.insert_receipt, [(message_id, u, status) for u, status in statuses.items()])
        # The sender's own inbox gets it too, so their other devices show what they sent.
        readers = [u for u in recipients if statuses[u] != WITHHELD]
        seqs: dict[int, int] = {}
        for user_id in sorted({sender_id, *readers} if sender_inbox else set(readers)):  # one lock order: no deadlock
            seqs[user_id] = int(db.first(sql.next_inbox_seq, (user_id,))[0])
        if seqs:
            db.run_many(sql.insert_inbox, [(u, seq, message_id, "new", now) for u, seq in seqs.items()])
        result = SendResult(
            message_id, chat_id, created_at, withheld=[u for u in recipients if statuses[u] == WITHHELD]
        )
        quoted = None if context_id is None else repo.get_message(conn, context_id)
        return result, _Fanout(message=row, seqs=seqs, quoted=quoted, name_read=name_read)

    def send_direct_in(
        self,
        conn: Connection,
        sender_id: int,
        recipient_id: int,
        client_id: str,
        type_: str,
        content: MessageContent,
        context_id: int | None,
        now: int,
        *,
        withhold: bool = False,
        request_hash: str | None = None,
        sender_inbox: bool = False,
    ) -> tuple[SendResult, Committed]:
        """Another domain's write unit sends a direct message (a business number to a person).

        `sender_inbox`: the sender's own devices get it too (a person's payment; a business has no devices).

        The caller publishes the returned `Committed` with `publish_committed` after its unit commits.
        `withhold`: stored for the record but never delivered (a send the business was not allowed to make).
        `request_hash`: the send request's fingerprint; a retry of `client_id` with another request is refused
        (`IdempotencyKeyReusedError`).
        """
        first = self.first_send_in(conn, sender_id, client_id, request_hash)
        if first is not None:  # a retry: the first answer, nothing new
            return first, Committed(_Fanout())
        chat_id = self._direct_chats.get(repo.direct_key(sender_id, recipient_id)) or self._direct_chat(
            conn, sender_id, recipient_id, now
        )
        if context_id is not None:
            quoted = repo.get_message(conn, context_id)
            if quoted is None or quoted.chat_id != chat_id:
                raise MessageNotFoundError("the quoted message is not in this chat")
        stored = self._store(
            conn,
            chat_id,
            sender_id,
            client_id,
            type_,
            content,
            context_id,
            [recipient_id],
            now,
            withhold=withhold,
            sender_inbox=sender_inbox,
            observe=False,  # the calling domain records its own send
            request_hash=request_hash,
        )
        if stored is None:  # lost a race with the same client id (PostgreSQL): that first send is the answer
            first = self.first_send_in(conn, sender_id, client_id, request_hash)
            assert first is not None
            return first, Committed(_Fanout())
        result, fanout = stored
        return result, Committed(fanout)

    def send_own_in(
        self,
        conn: Connection,
        sender_id: int,
        chat_id: int,
        recipient_id: int,
        client_id: str,
        type_: str,
        content: MessageContent,
        now: int,
        *,
        request_hash: str,
    ) -> tuple[SendResult, Committed]:
        """Another domain's write unit sends a person's own message in their direct chat (a cart as an `order`).

        Observed like `send` (a business number's bridge tells its webhooks) and retried by `client_id` like it.
        The caller publishes the returned `Committed` with `publish_committed` after its unit commits.
        """
        first = self.first_send_in(conn, sender_id, client_id, request_hash, key_name="client_id")
        if first is not None:
            return first, Committed(_Fanout())
        stored = self._store(
            conn, chat_id, sender_id, client_id, type_, content, None, [recipient_id], now, request_hash=request_hash
        )
        if stored is None:  # lost a race with the same client id (PostgreSQL): that first send is the answer
            first = self.first_send_in(conn, sender_id, client_id, request_hash, key_name="client_id")
            assert first is not None
            return first, Committed(_Fanout())
        result, fanout = stored
        return result, Committed(fanout)

    def first_send_in(
        self,
        conn: Connection,
        sender_id: int,
        client_id: str,
        request_hash: str | None,
        *,
        key_name: str = "Idempotency-Key",
    ) -> SendResult | None:
        """The message an earlier send with this client id made (this one is a retry), if any; with
        `request_hash`, the retry must be of the same request (else `IdempotencyKeyReusedError`)."""
        db = Driver(conn)
        existing = db.first(db.sql.find_sent, (sender_id, client_id))
        if existing is None:
            return None
        message_id, chat_id, created_at, stored_hash = existing
        if request_hash is not None:
            _require_same_request(stored_hash, request_hash, key_name)
        return SendResult(message_id, chat_id, created_at, retried=True)

    def direct_chat_in(self, conn: Connection, user_a: int, user_b: int, now: int) -> int:
        """The direct chat of two accounts, created if they never talked (inside the caller's unit)."""
        return self._direct_chats.get(repo.direct_key(user_a, user_b)) or self._direct_chat(conn, user_a, user_b, now)

    def _between_people_in(self, conn: Connection, chat_id: int, user_id: int) -> bool:
        """Whether `chat_id` is a chat between people (a group, or a 1:1 chat with a person, not a business)."""
        chat = repo.get_chat(conn, chat_id)
        if chat is None or chat.kind != "direct":
            return True
        peer = self.direct_peer_in(conn, chat_id, user_id)
        found = None if peer is None else accounts.get_users(conn, {peer}).get(peer)
        return found is not None and found.kind == "person"

    def direct_peer_in(self, conn: Connection, chat_id: int, user_id: int) -> int | None:
        """The other person of the 1:1 chat `chat_id` that `user_id` is in; None for a group or another's chat."""
        chat = repo.get_chat(conn, chat_id)
        if chat is None or chat.kind != "direct":
            return None
        members = repo.member_ids(conn, chat_id)
        if user_id not in members or len(members) != 2:
            return None
        return next(u for u in members if u != user_id)

    async def publish_committed(self, committed: Committed) -> None:
        await self._publish(committed.fanout)

    def add_observer(self, observer: MessageObserver) -> None:
        self._observers.append(observer)

    def set_join_gate(self, gate: JoinGate) -> None:
        """Who may enter a group (paid groups): consulted by joins, adds and accepted invitations."""
        self._join_gate = gate

    def _direct_chat(self, conn: Connection, sender_id: int, recipient_id: int, now: int) -> int:
        key = repo.direct_key(sender_id, recipient_id)
        chat_id = repo.find_direct_chat(conn, key)
        if chat_id is None:
            chat_id = self._ids.next_id()
            repo.insert_chat(conn, chat_id, "direct", None, key, sender_id, now)
            repo.add_members(conn, chat_id, {sender_id: "member", recipient_id: "member"}, now)
        return chat_id

    def _media_content(
        self, conn: Connection, sender_id: int, chat_id: int, kind: str, raw_id: str, caption: str | None, now: int
    ) -> MediaContent:
        item = media.get_media(conn, _parse_id(raw_id, MediaNotFoundError, "media"))
        # Your own uploads, or media already shared in this chat (forwarding inside the chat).
        if item is None or (item.owner_id != sender_id and chat_id not in media.chats_sharing(conn, item.id)):
            raise MediaNotFoundError("no such media")
        if item.kind != kind:
            raise InvalidMessageError(f"media {raw_id} is a {item.kind}, not a {kind}")
        media.share_media(conn, item.id, chat_id, now)
        return MediaContent(
            media_id=item.id, mime_type=item.mime_type, size=item.size, filename=item.filename, caption=caption
        )

    async def forward(self, user_id: int, raw_message_id: str, request: ForwardIn) -> SendResult:
        """A copy of a message you can see, sent by you into another chat of yours and marked forwarded.

        Media travel with it (the copy shares the same stored file), so a picture someone sent you can be
        forwarded although you never uploaded it. A retry with the same `client_id` returns the first copy.
        """
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")
        chat_id = _parse_id(request.chat_id, ChatNotFoundError, "chat")
        now = self._clock.now_ms()
        fingerprint = request_fingerprint({"forward": message_id, "chat_id": chat_id})

        def unit(conn: Connection) -> tuple[SendResult, _Fanout]:
            first = self.first_send_in(conn, user_id, request.client_id, fingerprint, key_name="client_id")
            if first is not None:
                return first, _Fanout()
            source = repo.get_message(conn, message_id)
            if (
                source is None
                or repo.member_role(conn, source.chat_id, user_id) is None
                or repo.own_statuses(conn, user_id, [message_id]).get(message_id) == WITHHELD
            ):
                raise MessageNotFoundError("no such message")
            if repo.member_role(conn, chat_id, user_id) is None:
                raise ChatNotFoundError("no such chat")
            if self._people_encrypted_only and self._between_people_in(conn, chat_id, user_id):
                raise EncryptionRequiredError(_ENCRYPTION_REQUIRED + " (forward by sending it again, encrypted)")
            content = None
            if source.deleted_at is None and source.content is not None:
                content = forwarded_copy(load_content(source.content))
            if content is None:
                raise InvalidMessageError("only text, media and locations can be forwarded, and not once deleted")
            if isinstance(content, MediaContent):
                media.share_media(conn, content.media_id, chat_id, now)
            stored = self._store(
                conn,
                chat_id,
                user_id,
                request.client_id,
                source.type,
                content,
                None,
                None,
                now,
                request_hash=fingerprint,
            )
            if stored is None:  # lost a race with the same client id (PostgreSQL): that first send is the answer
                first = self.first_send_in(conn, user_id, request.client_id, fingerprint, key_name="client_id")
                assert first is not None
                return first, _Fanout()
            return stored

        result, fanout = await self._db.write("messaging.forward", unit)
        await self._publish(fanout)
        return result

    # --- changing messages ---------------------------------------------------------------------

    async def edit(self, user_id: int, raw_message_id: str, body: str | EncryptedIn | None) -> Event:
        """New text for a text message, or new ciphertext for an encrypted one (the sender's device made it)."""
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")
        if isinstance(body, str) and len(body) > self._limits.text_max_chars:
            raise InvalidMessageError(f"text is limited to {self._limits.text_max_chars} characters")
        if body is None:
            raise InvalidMessageError("give the new text or ciphertext")
        encrypted = not isinstance(body, str)
        now = self._clock.now_ms()

        def change(conn: Connection, row: repo.MessageRow) -> dict[str, object]:
            if row.sender_id != user_id:
                raise NotYourMessageError("only the sender can edit a message")
            if row.type != ("encrypted" if encrypted else "text") or row.deleted_at is not None:
                raise InvalidMessageError(
                    "only text messages that still exist can be edited"
                    if not encrypted
                    else "only encrypted messages that still exist take new ciphertext"
                )
            if now - row.created_at > self._limits.edit_window_s * 1000:
                raise EditWindowClosedError("messages can be edited for 15 minutes after sending")
            if not encrypted and self._people_encrypted_only and self._between_people_in(conn, row.chat_id, user_id):
                raise EncryptionRequiredError(_ENCRYPTION_REQUIRED)
            if isinstance(body, str):
                return {"content": dump_content(TextContent(body=body)), "edited_at": now}
            return {"content": dump_content(EncryptedContent(**body.model_dump())), "edited_at": now}

        return await self._change_message(user_id, message_id, "edited", change)

    async def delete(self, user_id: int, raw_message_id: str) -> None:
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")
        now = self._clock.now_ms()

        def change(conn: Connection, row: repo.MessageRow) -> dict[str, object]:
            if row.sender_id != user_id:
                raise NotYourMessageError("only the sender can delete a message for everyone")
            window_s = self._limits.delete_window_s
            if row.deleted_at is None and now - row.created_at > window_s * 1000:
                hours = window_s // 3600
                raise DeleteWindowClosedError(
                    f"messages can be deleted for everyone for {hours} hours after sending"
                    if hours
                    else "this message is too old to be deleted for everyone"
                )
            return {"deleted_at": row.deleted_at or now, "content": None}

        await self._change_message(user_id, message_id, "deleted", change)

    async def react(self, user_id: int, raw_message_id: str, emoji: str) -> Event:
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")
        now = self._clock.now_ms()

        def change(conn: Connection, row: repo.MessageRow) -> dict[str, object]:
            if row.deleted_at is not None:
                raise InvalidMessageError("you cannot react to a deleted message")
            repo.set_reaction(conn, row.id, user_id, emoji, now)
            for observer in self._observers:
                observer.on_reaction(conn, user_id, row, emoji, now)
            return {}

        return await self._change_message(user_id, message_id, "reaction", change)

    async def _change_message(
        self,
        user_id: int,
        message_id: int,
        event: str,
        change: Callable[[Connection, repo.MessageRow], dict[str, object]],
    ) -> Event:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[Event, _Fanout]:
            row = repo.get_message(conn, message_id)
            if row is None or repo.member_role(conn, row.chat_id, user_id) is None:
                raise MessageNotFoundError("no such message")
            values = change(conn, row)
            if values:
                repo.update_message(conn, message_id, **values)
            row = repo.get_message(conn, message_id)
            assert row is not None
            others = [u for u in repo.member_ids(conn, row.chat_id) if u != user_id]
            blockers = privacy.blockers_among(conn, user_id, others)
            seqs = accounts.next_inbox_seqs(conn, [user_id, *(u for u in others if u not in blockers)])
            repo.append_inbox(conn, seqs, message_id, event, now)
            statuses = {reader: status for reader, status, _, _ in repo.receipts_of(conn, message_id)}
            statuses[row.sender_id] = repo.aggregate_statuses(conn, [message_id]).get(message_id, SENT)
            reacts = repo.reactions_of(conn, [message_id]).get(message_id, [])
            quoted = None if row.context_id is None else repo.get_message(conn, row.context_id)
            view = render_message(row, statuses.get(user_id, SENT), reacts, quoted)
            fanout = _Fanout(message=row, event=event, seqs=seqs, statuses=statuses, reactions=reacts, quoted=quoted)
            return view, fanout

        view, fanout = await self._db.write("messaging.change_message", unit)
        await self._publish(fanout)
        return view

    # --- receipts ------------------------------------------------------------------------------

    async def acknowledge(self, user_id: int, device_id: int, seq: int) -> None:
        """A device has everything in its inbox up to `seq`: those messages are delivered."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> _Fanout:
            db = Driver(conn)
            sql = db.sql
            marks = db.first(sql.ack_marks, (user_id, device_id))
            if marks is None:
                return _Fanout()
            head, previous = marks
            new = min(seq, head)  # never past the inbox head, never back
            if new <= previous:
                return _Fanout()
            db.rows(sql.set_ack, (new, device_id))
            changed = [m for (m,) in db.rows(sql.mark_delivered_in_range, (now, user_id, user_id, previous, new))]
            for observer in self._observers:
                observer.on_receipts(conn, user_id, changed, DELIVERED, now)
            return _Fanout(others=self._receipt_events(db, user_id, changed, DELIVERED, now))

        await self._publish(await self._db.write("messaging.acknowledge", unit, urgent=True))

    async def mark_read(self, user_id: int, raw_message_id: str) -> None:
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> _Fanout:
            db = Driver(conn)
            sql = db.sql
            found = db.first(sql.chat_of_member_message, (user_id, message_id))
            if found is None:
                raise MessageNotFoundError("no such message")
            read = db.rows(sql.mark_read_through, (now, now, user_id, found[0], message_id))
            changed = [m for (m,) in read]
            for observer in self._observers:
                observer.on_receipts(conn, user_id, changed, READ, now)
            return _Fanout(others=self._receipt_events(db, user_id, changed, READ, now))

        await self._publish(await self._db.write("messaging.mark_read", unit, urgent=True))

    def _receipt_events(
        self, db: Driver, reader_id: int, message_ids: list[int], status: int, now: int
    ) -> list[tuple[int, Event]]:
        if not message_ids:
            return []
        facts = db.rows(db.sql.receipt_facts, (db.sql.id_list(message_ids),))
        return [
            (
                sender_id,
                {
                    "type": "receipt",
                    "message_id": str(message_id),
                    "chat_id": str(chat_id),
                    "user_id": str(reader_id),
                    "status": STATUS_NAMES[status],
                    "message_status": STATUS_NAMES.get(SENT if overall is None else overall, "sent"),
                    "timestamp": now,
                },
            )
            for message_id, chat_id, sender_id, overall in facts
        ]

    async def receipts(self, user_id: int, raw_message_id: str) -> list[tuple[int, int, int | None, int | None]]:
        message_id = _parse_id(raw_message_id, MessageNotFoundError, "message")

        def unit(conn: Connection) -> list[tuple[int, int, int | None, int | None]]:
            row = repo.get_message(conn, message_id)
            if row is None or repo.member_role(conn, row.chat_id, user_id) is None:
                raise MessageNotFoundError("no such message")
            if row.sender_id != user_id:
                raise NotYourMessageError("only the sender sees a message's receipts")
            return repo.receipts_of(conn, message_id)

        return await self._db.read(unit)

    async def typing(self, user_id: int, raw_chat_id: str) -> None:
        chat_id = _parse_id(raw_chat_id, ChatNotFoundError, "chat")

        def unit(conn: Connection) -> list[int]:
            member_ids = repo.member_ids(conn, chat_id)
            if user_id not in member_ids:
                raise ChatNotFoundError("no such chat")
            others = [u for u in member_ids if u != user_id]
            # Someone who blocked the typist does not see them typing either.
            blockers = privacy.blockers_among(conn, user_id, others)
            return [u for u in others if u not in blockers]

        others = await self._db.read(unit)
        event = {"type": "typing", "chat_id": str(chat_id), "user_id": str(user_id)}
        await self._bus.publish_many([(user_topic(u), event) for u in others])

    # --- reading -------------------------------------------------------------------------------

    async def history(
        self, user_id: int, raw_chat_id: str, before: str | None, limit: int
    ) -> tuple[list[Event], str | None]:
        chat_id = _parse_id(raw_chat_id, ChatNotFoundError, "chat")
        before_id = decode_cursor(before)
        if not 1 <= limit <= 100:
            raise InvalidInputError("limit must be between 1 and 100")

        def unit(conn: Connection) -> tuple[list[Event], str | None]:
            if repo.member_role(conn, chat_id, user_id) is None:
                raise ChatNotFoundError("no such chat")
            rows = repo.page(conn, chat_id, user_id, before_id, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            cursor = encode_cursor(rows[-1].id) if more and rows else None
            return self._view(conn, user_id, rows), cursor

        return await self._db.read(unit)

    def _view(self, conn: Connection, user_id: int, rows: list[repo.MessageRow]) -> list[Event]:
        ids = [r.id for r in rows]
        mine = [r.id for r in rows if r.sender_id == user_id]
        overall = repo.aggregate_statuses(conn, mine)
        own = repo.own_statuses(conn, user_id, [r.id for r in rows if r.sender_id != user_id])
        reacts = repo.reactions_of(conn, ids)
        quoted = repo.get_messages(conn, {r.context_id for r in rows if r.context_id is not None})
        return [
            render_message(
                r,
                overall.get(r.id, SENT) if r.sender_id == user_id else own.get(r.id, SENT),
                reacts.get(r.id),
                None if r.context_id is None else quoted.get(r.context_id),
            )
            for r in rows
        ]

    async def search(self, user_id: int, query: str, before: str | None, limit: int) -> tuple[list[Event], str | None]:
        """The signed-in person's own messages (in their chats) whose text or caption contains `query`.

        The server can search because it stores the content readable; once chats are end-to-end encrypted
        this moves into the client, over the messages it has decrypted. One page scans at most `limit`
        candidate rows, so `next` may come with fewer than `limit` matches: ask again with it.
        """
        needle = " ".join(query.split()).casefold()
        if not 2 <= len(needle) <= 100:
            raise InvalidInputError("search for 2 to 100 characters")
        if not needle.isprintable():
            raise InvalidInputError("search for words, without control characters")
        if not 1 <= limit <= 50:
            raise InvalidInputError("limit must be between 1 and 50")
        before_id = decode_cursor(before)
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        def unit(conn: Connection) -> tuple[list[Event], str | None]:
            rows = repo.search_page(conn, user_id, f"%{escaped}%", before_id, limit)
            # The SQL matched the stored JSON (keys too): keep the messages whose words contain it.
            hits = [
                r
                for r in rows
                if r.content is not None and needle in preview_of(load_content(r.content), 100_000).casefold()
            ]
            cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
            return self._view(conn, user_id, hits), cursor

        return await self._db.read(unit)

    async def chats(self, user_id: int) -> list[Event]:
        def unit(conn: Connection) -> list[Event]:
            out: list[Event] = []
            for chat in repo.chats_of(conn, user_id):
                last = repo.last_visible_message(conn, chat.id, user_id)
                if last is None and chat.kind == "direct":
                    continue  # a direct chat starts with a message: all of these were withheld (blocked)
                peer = None
                title = chat.name or ""
                if chat.kind == "direct":
                    other = next((m for m in repo.members(conn, chat.id) if m.user_id != user_id), None)
                    if other is not None:
                        peer = {
                            "user_id": str(other.user_id),
                            "phone": other.phone,
                            "name": other.name,
                            "kind": other.kind,
                            "photo_id": _photo_id(conn, other.user_id),
                        }
                        title = other.name or other.phone
                out.append(
                    {
                        "id": str(chat.id),
                        "type": chat.kind,
                        "title": title,
                        "peer": peer,
                        "unread_count": repo.unread_count(conn, chat.id, user_id),
                        "last_message": None if last is None else self._view(conn, user_id, [last])[0],
                        "updated_at": chat.created_at if last is None else last.created_at,
                    }
                )
            out.sort(key=lambda c: int(c["updated_at"]), reverse=True)
            return out

        return await self._db.read(unit)

    async def pending_inbox(self, user_id: int, after_seq: int, limit: int = 200) -> list[Event]:
        """Inbox events after `after_seq`, oldest first, as the stream sends them."""

        def unit(conn: Connection) -> list[Event]:
            entries = repo.inbox_after(conn, user_id, after_seq, limit)
            rows = repo.get_messages(conn, {m for _, m, _ in entries})
            views = {v["id"]: v for v in self._view(conn, user_id, list(rows.values()))}
            return [
                {"type": "message", "id": seq, "event": event, "message": views[str(message_id)]}
                for seq, message_id, event in entries
            ]

        return await self._db.read(unit)

    async def device_ack_mark(self, device_id: int) -> int:
        device = await self._db.read(lambda c: accounts.get_device(c, device_id))
        return 0 if device is None else device.acked_seq

    async def media_for_member(self, user_id: int, raw_media_id: str) -> media.MediaRow:
        media_id = _parse_id(raw_media_id, MediaNotFoundError, "media")

        def unit(conn: Connection) -> media.MediaRow:
            item = media.get_media(conn, media_id)
            if item is None:
                raise MediaNotFoundError("no such media")
            # An end-to-end encrypted blob: the server cannot see which message carries it, so anyone who shares
            # a chat with its uploader may fetch the ciphertext (the key travels only inside the message).
            if item.kind == media.ENCRYPTED_MEDIA and item.owner_id != user_id:
                if not repo.shared_chat_peers(conn, user_id, [item.owner_id]):
                    raise MediaNotFoundError("no such media")
                return item
            if (
                item.owner_id != user_id
                and not any(
                    repo.member_role(conn, chat_id, user_id) is not None
                    for chat_id in media.chats_sharing(conn, media_id)
                )
                and not media.is_profile_photo(conn, media_id)  # profile photos are for anyone to see
            ):
                raise MediaNotFoundError("no such media")
            return item

        item = await self._db.read(unit)
        if item.kind == media.ENCRYPTED_MEDIA and item.owner_id != user_id and item.used_at is None:
            # First fetched by someone else: it was delivered, so it stops counting as its uploader's unsent media
            # (and is not swept with uploads never sent). Later fetches write nothing.
            now = self._clock.now_ms()
            await self._db.write("messaging.encrypted_media_fetched", lambda c: media.mark_media_used(c, item.id, now))
        return item

    # --- presence ------------------------------------------------------------------------------

    async def stream_opened(self, user_id: int) -> None:
        """A device of the person opened its stream: they are online."""
        now = self._clock.now_ms()
        await self._db.write("messaging.stream_opened", lambda c: repo.stream_opened(c, user_id, now), urgent=True)

    async def stream_closed(self, user_id: int) -> None:
        """A stream closed: the person was last seen now (online still, if another device streams)."""
        now = self._clock.now_ms()
        await self._db.write("messaging.stream_closed", lambda c: repo.stream_closed(c, user_id, now), urgent=True)

    async def forget_open_streams(self) -> None:
        """Count no stream as open (on the start of the only process that holds them): nobody is online yet."""
        now = self._clock.now_ms()
        await self._db.write("messaging.forget_open_streams", lambda c: repo.forget_open_streams(c, now))

    async def presence(self, viewer_id: int, raw_user_id: str) -> tuple[bool, int | None]:
        """Whether someone the viewer has a 1:1 chat with is online, or when they were last seen, as their
        `last_seen` privacy setting allows: everyone, contacts (people they have written to) or nobody. As on
        WhatsApp, whoever hides their own sees nobody's, and someone who blocked the viewer shows nothing.
        Hidden looks like never seen: (False, None)."""
        target = _parse_id(raw_user_id, ChatNotFoundError, "user")

        def unit(conn: Connection) -> tuple[bool, int | None]:
            if target == viewer_id:
                return repo.presence_of(conn, target)
            if repo.find_direct_chat(conn, repo.direct_key(viewer_id, target)) is None:
                raise ChatNotFoundError("you have no chat with this user")
            policies = privacy.last_seen_policies(conn, [viewer_id, target])
            shown = policies[viewer_id] != "nobody" and (
                policies[target] == "everyone"
                or (policies[target] == "contacts" and target in repo.wrote_to(conn, [target], viewer_id))
            )
            if not shown or privacy.blockers_among(conn, viewer_id, [target]):
                return False, None
            return repo.presence_of(conn, target)

        return await self._db.read(unit)

    def messages_reportable(self, conn: Connection, reporter_id: int, sender_id: int, message_ids: list[int]) -> bool:
        rows = repo.get_messages(conn, message_ids)
        return len(rows) == len(set(message_ids)) and all(
            r.sender_id == sender_id and repo.member_role(conn, r.chat_id, reporter_id) is not None
            for r in rows.values()
        )

    # --- groups --------------------------------------------------------------------------------

    async def create_group(self, creator_id: int, name: str, phones: list[str]) -> Event:
        member_ids = {(await self._accounts.find_for(creator_id, p)).id for p in phones} - {creator_id}
        if len(member_ids) + 1 > self._limits.group_max_members:
            raise GroupFullError(f"groups have at most {self._limits.group_max_members} members")
        now = self._clock.now_ms()
        chat_id = self._ids.next_id()

        def unit(conn: Connection) -> tuple[Event, list[_Fanout]]:
            repo.insert_chat(conn, chat_id, "group", name, None, creator_id, now)
            admitted, invited, fanouts = self._admit_in(conn, creator_id, chat_id, name, member_ids, now)
            repo.add_members(conn, chat_id, {creator_id: "admin"} | dict.fromkeys(admitted, "member"), now)
            return self._group(conn, chat_id) | {"invited": invited}, fanouts

        group, fanouts = await self._db.write("messaging.create_group", unit)
        for fanout in fanouts:
            await self._publish(fanout)
        await self._notify_chat_changed(chat_id, [int(m["user_id"]) for m in group["members"]])
        return group

    async def group(self, user_id: int, raw_group_id: str) -> Event:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")

        def unit(conn: Connection) -> Event:
            self._require_member(conn, chat_id, user_id)
            return self._group(conn, chat_id)

        return await self._db.read(unit)

    async def add_members(self, admin_id: int, raw_group_id: str, phones: list[str]) -> Event:
        """Add people; those whose privacy settings refuse this admin get an invitation instead (`invited`).

        When nobody could be added and someone was invited, the answer is GroupAddNotAllowedError (after the
        invitations were committed: they are what happened instead).
        """
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")
        new_ids = {(await self._accounts.find_for(admin_id, p)).id for p in phones}
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[Event, list[_Fanout], bool]:
            self._require_admin(conn, chat_id, admin_id)
            repo.lock_chat(conn, chat_id)
            current = set(repo.member_ids(conn, chat_id))
            chat = repo.get_chat(conn, chat_id)
            name = "" if chat is None else chat.name or ""
            self._join_gate.check_join_in(conn, chat_id, new_ids - current, now)
            admitted, invited, fanouts = self._admit_in(conn, admin_id, chat_id, name, new_ids - current, now)
            if len(current) + len(admitted) > self._limits.group_max_members:
                raise GroupFullError(f"groups have at most {self._limits.group_max_members} members")
            repo.add_members(conn, chat_id, dict.fromkeys(admitted, "member"), now)
            return self._group(conn, chat_id) | {"invited": invited}, fanouts, bool(invited) and not admitted

        group, fanouts, refused = await self._db.write("messaging.add_members", unit)
        for fanout in fanouts:
            await self._publish(fanout)
        if refused:
            raise GroupAddNotAllowedError(" ".join(i["error"]["message"] for i in group["invited"]))
        return await self._changed_group(chat_id, group)

    def _admit_in(
        self, conn: Connection, adder_id: int, chat_id: int, group_name: str, candidates: set[int], now: int
    ) -> tuple[set[int], list[Event], list[_Fanout]]:
        """Who `adder_id` may add to the group now; everyone else gets an invitation in the 1:1 chat instead.

        A person's `group_add` privacy setting decides (everyone | contacts: people they have written to in a
        1:1 chat | nobody), and someone who blocked the adder is never added. The adder is told the same for a
        block as for a setting, and the invitation to a blocker is withheld like any of the adder's messages.
        """
        blockers = privacy.blockers_among(conn, adder_id, candidates)
        policies = privacy.group_add_policies(conn, candidates - blockers)
        contacts = repo.wrote_to(conn, [u for u, p in policies.items() if p == "contacts"], adder_id)
        admitted = {u for u, p in policies.items() if p == "everyone" or (p == "contacts" and u in contacts)}
        refused = sorted(candidates - admitted)
        if not refused:
            return admitted, [], []
        pending = repo.pending_invites(conn, chat_id, refused, now)
        people = accounts.get_users(conn, refused)
        invited: list[Event] = []
        fanouts: list[_Fanout] = []
        for user_id in refused:
            invite_id = pending.get(user_id)
            if invite_id is None:  # one invitation per person and group at a time: a retry sends no second one
                invite_id = self._ids.next_id()
                expires_at = now + self._limits.group_invite_ttl_s * 1000
                invite = repo.GroupAddInviteRow(invite_id, chat_id, adder_id, user_id, expires_at, None)
                repo.insert_group_add_invite(conn, invite, now)
                content = GroupInviteContent(
                    invite_id=str(invite_id), group_id=str(chat_id), group_name=group_name, expires_at=expires_at
                )
                direct = self.direct_chat_in(conn, adder_id, user_id, now)
                client_id = f"group-invite:{invite_id}"
                stored = self._store(
                    conn, direct, adder_id, client_id, "group_invite", content, None, [user_id], now, observe=False
                )
                assert stored is not None  # the client id names a new invitation
                fanouts.append(stored[1])
            phone = people[user_id].phone if user_id in people else ""
            message = (
                f"{phone}'s privacy settings do not let you add them to groups: "
                "an invitation was sent to your chat with them instead."
            )
            invited.append(
                {
                    "user_id": str(user_id),
                    "phone": phone,
                    "invite_id": str(invite_id),
                    "error": {"code": GroupAddNotAllowedError.code, "message": message},
                }
            )
        return admitted, invited, fanouts

    async def accept_group_invite(self, user_id: int, raw_invite_id: str) -> Event:
        """Join the group of a personal invitation (sent in the 1:1 chat when an admin could not add you)."""
        invite_id = _parse_id(raw_invite_id, InviteNotFoundError, "invitation")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[int, Event]:
            invite = repo.get_group_add_invite(conn, invite_id)
            if invite is None or invite.invitee_id != user_id:
                raise InviteNotFoundError("no such invitation")
            chat_id = invite.chat_id
            repo.lock_chat(conn, chat_id)
            if repo.member_role(conn, chat_id, user_id) is not None:  # accepted already: the same answer
                return chat_id, self._group(conn, chat_id)
            if invite.accepted_at is not None or invite.expires_at <= now:
                raise InviteNotFoundError("this invitation has expired or was used: ask for a new one")
            if repo.member_role(conn, chat_id, invite.inviter_id) != "admin":
                raise InviteNotFoundError("this invitation lapsed: whoever sent it is no longer a group admin")
            if repo.count_members(conn, chat_id) >= self._limits.group_max_members:
                raise GroupFullError(f"groups have at most {self._limits.group_max_members} members")
            self._join_gate.check_join_in(conn, chat_id, [user_id], now)
            repo.add_members(conn, chat_id, {user_id: "member"}, now)
            repo.accept_group_add_invite(conn, invite_id, now)
            return chat_id, self._group(conn, chat_id)

        chat_id, group = await self._db.write("messaging.accept_group_invite", unit)
        return await self._changed_group(chat_id, group)

    async def remove_member(self, admin_id: int, raw_group_id: str, raw_user_id: str) -> Event:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")
        target = _parse_id(raw_user_id, ChatNotFoundError, "member")

        def unit(conn: Connection) -> Event:
            self._require_admin(conn, chat_id, admin_id)
            if not repo.remove_member(conn, chat_id, target):
                raise ChatNotFoundError("no such member in this group")
            remaining = repo.members(conn, chat_id)
            # An admin removing themselves is leaving: as there, the group never ends up without an admin.
            if remaining and not any(m.role == "admin" for m in remaining):
                repo.set_role(conn, chat_id, remaining[0].user_id, "admin")
            return self._group(conn, chat_id)

        group = await self._db.write("messaging.remove_member", unit)
        await self._notify_chat_changed(chat_id, [target])
        return await self._changed_group(chat_id, group)

    async def set_admin(self, admin_id: int, raw_group_id: str, raw_user_id: str, is_admin: bool) -> Event:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")
        target = _parse_id(raw_user_id, ChatNotFoundError, "member")

        def unit(conn: Connection) -> Event:
            self._require_admin(conn, chat_id, admin_id)
            admins = [m.user_id for m in repo.members(conn, chat_id) if m.role == "admin"]
            if not is_admin and admins == [target]:
                raise LastAdminError("a group needs an admin: make someone else an admin first")
            if not repo.set_role(conn, chat_id, target, "admin" if is_admin else "member"):
                raise ChatNotFoundError("no such member in this group")
            return self._group(conn, chat_id)

        return await self._changed_group(chat_id, await self._db.write("messaging.set_admin", unit))

    async def leave(self, user_id: int, raw_group_id: str) -> None:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")

        def unit(conn: Connection) -> list[int]:
            role = self._require_member(conn, chat_id, user_id)
            repo.remove_member(conn, chat_id, user_id)
            remaining = repo.members(conn, chat_id)
            # A group is never left without an admin: the longest-standing member takes over.
            if role == "admin" and remaining and not any(m.role == "admin" for m in remaining):
                repo.set_role(conn, chat_id, remaining[0].user_id, "admin")
            return [m.user_id for m in remaining]

        remaining = await self._db.write("messaging.leave", unit)
        await self._notify_chat_changed(chat_id, [*remaining, user_id])

    async def create_invite(self, admin_id: int, raw_group_id: str) -> tuple[str, str]:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")
        code = secrets.token_urlsafe(16)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            self._require_admin(conn, chat_id, admin_id)
            repo.insert_invite(conn, code, chat_id, admin_id, now)

        await self._db.write("messaging.create_invite", unit)
        return code, f"{self._public_url}/join/{code}"  # a page: /join/{code} opens the web client's join screen

    async def revoke_invite(self, admin_id: int, raw_group_id: str, code: str) -> None:
        chat_id = _parse_id(raw_group_id, ChatNotFoundError, "chat")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> bool:
            self._require_admin(conn, chat_id, admin_id)
            return repo.revoke_invite(conn, chat_id, code, now)

        if not await self._db.write("messaging.revoke_invite", unit):
            raise InviteNotFoundError("no such invite link")

    async def join(self, user_id: int, code: str) -> Event:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[int, Event]:
            chat_id = repo.active_invite_chat(conn, code)
            if chat_id is None:
                raise InviteNotFoundError("this invite link is not valid (any more)")
            repo.lock_chat(conn, chat_id)
            if repo.member_role(conn, chat_id, user_id) is None:
                if repo.count_members(conn, chat_id) >= self._limits.group_max_members:
                    raise GroupFullError(f"groups have at most {self._limits.group_max_members} members")
                self._join_gate.check_join_in(conn, chat_id, [user_id], now)
                repo.add_members(conn, chat_id, {user_id: "member"}, now)
            return chat_id, self._group(conn, chat_id)

        chat_id, group = await self._db.write("messaging.join", unit)
        return await self._changed_group(chat_id, group)

    def group_of_invite_in(self, conn: Connection, code: str) -> int | None:
        """The group an active invite link leads into (None: no such link), without joining it."""
        return repo.active_invite_chat(conn, code)

    def group_role_in(self, conn: Connection, chat_id: int, user_id: int) -> str | None:
        """`admin` or `member` of group `chat_id`, None when not in it (or it is not a group)."""
        chat = repo.get_chat(conn, chat_id)
        return None if chat is None or chat.kind != "group" else repo.member_role(conn, chat_id, user_id)

    def add_member_by_system_in(self, conn: Connection, chat_id: int, user_id: int, now: int) -> Committed:
        """Another domain's unit puts a person in a group they are entitled to (a paid group they just paid for),
        past the join gate; nothing when they are in it already. Publish the result after the commit."""
        repo.lock_chat(conn, chat_id)
        if repo.member_role(conn, chat_id, user_id) is not None:
            return Committed(_Fanout())
        if repo.count_members(conn, chat_id) >= self._limits.group_max_members:
            raise GroupFullError(f"groups have at most {self._limits.group_max_members} members")
        repo.add_members(conn, chat_id, {user_id: "member"}, now)
        return Committed(_Fanout(others=_chat_updated(chat_id, repo.member_ids(conn, chat_id))))

    def remove_member_by_system_in(
        self, conn: Connection, chat_id: int, user_id: int, notice: str, notice_sender_id: int, client_id: str, now: int
    ) -> Committed:
        """Another domain's unit takes a person out of a group (a paid group's subscription ended) and tells the
        group why in a text from `notice_sender_id` (the group's owner; skipped when they are not in it). Nothing
        when the person is no longer a member. Publish the result after the commit."""
        repo.lock_chat(conn, chat_id)
        if not repo.remove_member(conn, chat_id, user_id):
            return Committed(_Fanout())
        remaining = repo.members(conn, chat_id)
        if remaining and not any(m.role == "admin" for m in remaining):
            repo.set_role(conn, chat_id, remaining[0].user_id, "admin")
        others = _chat_updated(chat_id, [user_id, *(m.user_id for m in remaining)])
        if all(m.user_id != notice_sender_id for m in remaining):
            return Committed(_Fanout(others=others))
        stored = self._store(
            conn, chat_id, notice_sender_id, client_id, "text", TextContent(body=notice), None, None, now, observe=False
        )
        fanout = _Fanout() if stored is None else stored[1]
        fanout.others.extend(others)
        return Committed(fanout)

    def _require_member(self, conn: Connection, chat_id: int, user_id: int) -> str:
        role = repo.member_role(conn, chat_id, user_id)
        chat = repo.get_chat(conn, chat_id) if role is not None else None
        if role is None or chat is None or chat.kind != "group":
            raise ChatNotFoundError("no such group")
        return role

    def _require_admin(self, conn: Connection, chat_id: int, user_id: int) -> None:
        if self._require_member(conn, chat_id, user_id) != "admin":
            raise NotAnAdminError("only group admins can do this")

    def _group(self, conn: Connection, chat_id: int) -> Event:
        chat = repo.get_chat(conn, chat_id)
        assert chat is not None
        members = repo.members(conn, chat_id)
        photos = media.profile_photos_of(conn, [m.user_id for m in members])
        return {
            "id": str(chat.id),
            "name": chat.name or "",
            "members": [
                {
                    "user_id": str(m.user_id),
                    "phone": m.phone,
                    "name": m.name,
                    "role": m.role,
                    "photo_id": None if m.user_id not in photos else str(photos[m.user_id]),
                }
                for m in members
            ],
            "created_at": chat.created_at,
        }

    async def _changed_group(self, chat_id: int, group: Event) -> Event:
        await self._notify_chat_changed(chat_id, [int(m["user_id"]) for m in group["members"]])
        return group

    async def _notify_chat_changed(self, chat_id: int, user_ids: list[int]) -> None:
        event = {"type": "chat", "chat_id": str(chat_id), "event": "updated"}
        await self._bus.publish_many([(user_topic(u), event) for u in user_ids])

    # --- publishing ----------------------------------------------------------------------------

    async def _publish(self, fanout: _Fanout) -> None:
        if fanout.name_read is not None:
            self._accounts.remember_name(*fanout.name_read)
        items: list[tuple[str, Event]] = [(user_topic(u), e) for u, e in fanout.others]
        if fanout.message is not None:
            views: dict[int, Event] = {}  # one rendering per distinct status
            for user_id, seq in fanout.seqs.items():
                status = fanout.statuses.get(user_id, SENT)
                if status not in views:
                    views[status] = render_message(fanout.message, status, fanout.reactions, fanout.quoted)
                event = {"type": "message", "id": seq, "event": fanout.event, "message": views[status]}
                items.append((user_topic(user_id), event))
        if items:
            await self._bus.publish_many(items)

    # --- erasure (rights) ------------------------------------------------------------------------  # rights

    def erase_person_in(self, conn: Connection, user_id: int, now: int) -> list[Committed]:  # rights
        """Inside the erasure's unit: the person's 1:1 messages become "deleted" for everyone (peers hear it live, as
        for any delete), they leave every group, and their reactions, presence and inbox go. Publish the result
        after the commit."""
        out: list[Committed] = []
        for message_id in personal_data.delete_direct_messages_in(conn, user_id, now):
            row = repo.get_message(conn, message_id)
            assert row is not None
            others = [u for u in repo.member_ids(conn, row.chat_id) if u != user_id]
            blockers = privacy.blockers_among(conn, user_id, others)
            seqs = accounts.next_inbox_seqs(conn, [u for u in others if u not in blockers])
            repo.append_inbox(conn, seqs, message_id, "deleted", now)
            statuses = {reader: status for reader, status, _, _ in repo.receipts_of(conn, message_id)}
            out.append(Committed(_Fanout(message=row, event="deleted", seqs=seqs, statuses=statuses)))
        for chat_id, remaining in personal_data.leave_groups_in(conn, user_id).items():
            out.append(Committed(_Fanout(others=_chat_updated(chat_id, remaining))))
        personal_data.forget_person_in(conn, user_id)
        return out
