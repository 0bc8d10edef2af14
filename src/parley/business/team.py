"""What the team inbox asks of a business, gathered from the business services (the inbox's `BusinessPort`)."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Connection

from parley import media, messaging, templates
from parley.business.accounts import BusinessAccounts, InboxBusiness
from parley.business.observers import API, ConversationObserver, ConversationObservers, SentBy
from parley.business.outbox import BusinessOutbox
from parley.business.profile import BusinessProfiles
from parley.business.qr import InboxLink, QrCodes
from parley.business.sender import CloudApiSender
from parley.graph import GraphScope
from parley.kit.errors import NotFoundError
from parley.platform.db import Database


class BusinessForInbox:
    """One object the inbox holds instead of the business services it needs (built once in the container)."""

    def __init__(
        self,
        db: Database,
        accounts: BusinessAccounts,
        sender: CloudApiSender,
        messaging_service: messaging.MessagingService,
        outbox: BusinessOutbox,
        observers: ConversationObservers,
        qr_codes: QrCodes,
        profiles: BusinessProfiles,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._sender = sender
        self._messaging = messaging_service
        self._outbox = outbox
        self._observers = observers
        self._qr = qr_codes
        self._profiles = profiles

    def add_conversation_observer(self, observer: ConversationObserver) -> None:
        self._observers.add(observer)

    # --- the business and its numbers -----------------------------------------------------------

    async def require_waba(self, waba_id: int) -> None:
        await self._accounts.require_waba(waba_id)

    async def inbox_business(self, waba_id: int) -> InboxBusiness:
        return await self._accounts.inbox_business(waba_id)

    async def scope_of(self, waba_id: int) -> GraphScope:
        return await self._accounts.scope_of(waba_id)

    async def number_user_id(self, number_id: int) -> int:
        return await self._accounts.number_user_id(number_id)

    def timezone_in(self, conn: Connection, waba_id: int) -> str:
        return self._accounts.timezone_in(conn, waba_id)

    async def set_timezone(self, waba_id: int, timezone: object) -> None:
        await self._accounts.set_timezone(waba_id, timezone)

    # --- conversations --------------------------------------------------------------------------

    async def send(
        self,
        scope: GraphScope,
        raw_number_id: str,
        body: object,
        idempotency_key: str | None = None,
        *,
        sent_by: SentBy = API,
    ) -> dict[str, Any]:
        return await self._sender.send(scope, raw_number_id, body, idempotency_key, sent_by=sent_by)

    async def preview(
        self, scope: GraphScope, raw_number_id: str, body: object, *, check_funds: bool = True
    ) -> dict[str, Any]:
        return await self._sender.preview(scope, raw_number_id, body, check_funds=check_funds)

    async def conversation_history(
        self, number_user_id: int, chat_id: int, before: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The chat as the business number sees it, newest first (the web client's message objects)."""
        return await self._messaging.history(number_user_id, str(chat_id), before, limit)

    async def approved_templates(self, scope: GraphScope) -> list[dict[str, Any]]:
        return await self._db.read(lambda c: templates.approved_for_inbox(c, scope.waba_id))

    async def media_of_business(self, waba_id: int, raw_media_id: str) -> media.MediaRow:
        """A file in one of the business's chats (what its team may open), whichever number's chat it is in."""
        info = await self._accounts.inbox_business(waba_id)
        for number in info.numbers:
            with contextlib.suppress(NotFoundError):
                return await self._messaging.media_for_member(int(number["user_id"]), raw_media_id)
        raise NotFoundError("no such media in this business's chats")

    def enqueue_contact_change(self, conn: Connection, waba_id: int, change: str, contact: dict[str, Any]) -> None:
        self._outbox.enqueue_contact_change_in(conn, waba_id, change, contact)

    def wake_webhooks(self) -> None:
        self._outbox.wake()

    # --- links with QR codes, profiles ------------------------------------------------------------

    async def inbox_links(self, waba_id: int) -> list[InboxLink]:
        return await self._qr.inbox_links(waba_id)

    async def create_inbox_link(self, waba_id: int, body: object) -> InboxLink:
        return await self._qr.inbox_create(waba_id, body)

    async def delete_inbox_link(self, waba_id: int, code: str) -> None:
        await self._qr.inbox_delete(waba_id, code)

    async def inbox_link_image(self, waba_id: int, code: str, kind: str) -> bytes:
        """The link's QR code as "svg" or "png"."""
        return await self._qr.inbox_image(waba_id, code, kind)

    async def inbox_profile(self, waba_id: int, raw_number_id: object) -> dict[str, Any]:
        return await self._profiles.inbox_profile(waba_id, raw_number_id)

    async def update_inbox_profile(self, waba_id: int, raw_number_id: object, body: object) -> dict[str, Any]:
        return await self._profiles.update_inbox_profile(waba_id, raw_number_id, body)
