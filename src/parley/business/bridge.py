"""The inbound bridge: people's messages, receipts and reactions to business numbers become Cloud API webhooks.

It observes messaging inside the unit that stores a person's message, so a message to a business number, its
conversation's windows and its `messages` webhook commit together. Most messages are between two people: those
cost a set lookup (BusinessNumbers) and nothing else.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from sqlalchemy import Connection

from parley import accounts, billing, media, messaging, templates
from parley.business import inbound, quality
from parley.business import repository as repo
from parley.business import statements as hot
from parley.business.events import inbound_value
from parley.business.identity import bsuid, market_of, wa_id
from parley.business.models import ACCEPTED, DELIVERED, FAILED, READ, SENT
from parley.business.numbers import BusinessNumbers
from parley.business.observers import ConversationObservers, ConversationWrites
from parley.business.outbox import BusinessOutbox
from parley.business.sender import conversation_message, pricing_of_settlement, send_facts
from parley.business.wamid import to_wamid
from parley.config import BusinessSettings
from parley.kit.ids import IdGenerator
from parley.platform.db.driver import DriverCursor

_RECEIPT_TO_STATUS = {messaging.DELIVERED: DELIVERED, messaging.READ: READ}


class InboundBridge:
    """A messaging observer: what people do in a chat with a business number, told to the business."""

    def __init__(
        self,
        ids: IdGenerator,
        numbers: BusinessNumbers,
        writes: ConversationWrites,
        outbox: BusinessOutbox,
        observers: ConversationObservers,
        billing_service: billing.BillingService,
        secret: bytes,
    ) -> None:
        self._ids = ids
        self._numbers = numbers
        self._writes = writes
        self._outbox = outbox
        self._observers = observers
        self._billing = billing_service
        self._secret = secret

    def on_message(
        self,
        conn: Connection,
        row: messaging.MessageRow,
        content: Any,
        statuses: dict[int, int],
        referral_clid: str | None,
    ) -> dict[int, int]:
        if len(statuses) != 1:
            return {}  # groups never include business numbers
        (recipient_id,) = statuses
        if self._numbers.is_business_user_in(conn, row.sender_id):
            return {}  # a business's own send: the sender tells its webhooks
        number = self._numbers.number_of_user_in(conn, recipient_id)
        if number is None:
            return {}  # between two people
        if statuses[recipient_id] == messaging.WITHHELD:
            return {}  # the person had blocked the business: nothing reaches it
        person = accounts.get_users(conn, [row.sender_id])[row.sender_id]
        now = row.created_at
        conversation = self._writes.conversation_in(conn, number, person, now)
        referral = None
        link_code: str | None = None
        changes: dict[str, object] = {"last_inbound_at": now}
        if referral_clid:
            taken = repo.take_click(conn, referral_clid, person.id, now)
            if taken is not None:
                ref, link = taken
                link_code = link.code
                # Only ads and posts are Meta's referrals (and open a free entry point); a QR code or short
                # link just counts the click, now used by this conversation.
                if link.source_type in ("ad", "post"):
                    referral = {
                        "source_url": link.source_url,
                        "source_id": link.source_id,
                        "source_type": link.source_type,
                        "headline": link.headline,
                        "body": link.body,
                        "ctwa_clid": referral_clid,
                    }
                    if ref:
                        referral["ref"] = ref
                    referral.update(referral_media(link))
                    changes["referral_at"] = now
        repo.update_conversation(conn, conversation.id, **changes)
        repo.insert_business_message(
            conn,
            repo.BusinessMessageRow(
                message_id=row.id,
                phone_number_id=number.id,
                waba_id=number.waba_id,
                person_id=person.id,
                direction="in",
                type=row.type,
                status=DELIVERED,
                category=None,
                pricing_type=None,
                billable=None,
                market=market_of(person.phone)[0],
                calling_code=market_of(person.phone)[1],
                origin="referral_conversion" if referral else "user_initiated",
                in_service_window=True,
                template_id=None,
                biz_opaque_callback_data=None,
                error_code=None,
                created_at=now,
                status_at=now,
            ),
        )
        message = conversation_message(number, conversation, person, row.id, row.type, content, now, direction="in")
        self._observers.notify_in(
            conn,
            dataclasses.replace(
                message,
                link_code=None if referral is None else link_code,
                ctwa_clid=None if referral is None else referral_clid,
                order_value=order_value_of(row.type, content),
            ),
        )
        context = None
        if row.context_id is not None:
            quoted = repo.get_business_message(conn, row.context_id)
            context = {"from": wa_id(number.display_phone_number), "id": to_wamid(row.context_id)}
            if quoted is None:
                context = None
        # Media items carry the file's SHA-256 (base64, as Meta's do): pywa requires it on every media item.
        stored = None if row.type not in inbound.MEDIA_KINDS else media.get_media(conn, getattr(content, "media_id", 0))
        item = inbound.webhook_message(
            to_wamid(row.id),
            wa_id(person.phone),
            now // 1000,
            row.type,
            content,
            context,
            referral,
            sha256=None if stored is None else base64.b64encode(bytes.fromhex(stored.sha256)).decode(),
        )
        value = inbound_value(
            number, person_phone=person.phone, person_name=person.name, person_bsuid=conversation.bsuid, message=item
        )
        self._outbox.enqueue_in(conn, number.waba_id, "messages", value, number.id)
        return {recipient_id: messaging.DELIVERED}  # handed to the business's platform

    def on_receipts(self, conn: Connection, reader_id: int, message_ids: list[int], status: int, now: int) -> None:
        new_status = _RECEIPT_TO_STATUS.get(status)
        if new_status is None:
            return
        # Every ack and read of every person comes here: the lookups run on the driver's cursor (statements.py)
        # and the numbers come from memory.
        cursor = DriverCursor(conn)
        rows = [
            r for r in hot.outbound_to(cursor, reader_id, message_ids) if r.status < new_status and r.status != FAILED
        ]
        if not rows:
            return
        person = accounts.get_users(conn, [reader_id])[reader_id]
        for row in rows:
            number = self._numbers.get_in(conn, row.phone_number_id)
            assert number is not None
            hot.set_status(cursor, row.message_id, new_status, now)
            # Pricing rides on `sent` and on the first later status (Meta puts it on delivered or, if that
            # was skipped, on read).
            first_after_sent = row.status in (ACCEPTED, SENT)
            updated = repo.BusinessMessageRow(**{**row.__dict__, "status": new_status})
            person_bsuid = bsuid(self._secret, number.waba_id, person.id, person.phone)
            priced = None
            if first_after_sent and self._billing.enabled:
                # Delivered (or read, when delivery was skipped): the moment a message is charged.
                facts = send_facts(row.message_id, number, person, row, row.template_id is not None, row.created_at)
                priced = pricing_of_settlement(self._billing.settle_in(conn, facts, now))
            self._writes.enqueue_status_in(
                conn,
                number,
                updated,
                person.phone,
                person_bsuid,
                None,
                now,
                pricing_on_read=first_after_sent,
                priced=priced,
            )

    def on_reaction(self, conn: Connection, user_id: int, row: messaging.MessageRow, emoji: str, now: int) -> None:
        if self._numbers.is_business_user_in(conn, user_id):
            return
        number = self._numbers.number_of_user_in(conn, row.sender_id)
        if number is None:
            return  # a reaction to a person's message
        person = accounts.get_users(conn, [user_id])[user_id]
        reaction_id = self._ids.next_id()
        item = inbound.webhook_reaction(
            to_wamid(reaction_id), wa_id(person.phone), now // 1000, to_wamid(row.id), emoji
        )
        value = inbound_value(
            number,
            person_phone=person.phone,
            person_name=person.name,
            person_bsuid=bsuid(self._secret, number.waba_id, person.id, person.phone),
            message=item,
        )
        self._outbox.enqueue_in(conn, number.waba_id, "messages", value, number.id)

    # --- links and QR codes for the inbox ---------------------------------------------------------
    # The functions behind these take the container (public URL, database) as the Graph routes' do.


class QualityObserver:
    """A privacy observer: a person blocking or reporting a business number is a negative quality signal."""

    def __init__(
        self,
        ids: IdGenerator,
        numbers: BusinessNumbers,
        outbox: BusinessOutbox,
        settings: BusinessSettings,
    ) -> None:
        self._ids = ids
        self._numbers = numbers
        self._outbox = outbox
        self._settings = settings

    def on_block(self, conn: Connection, blocker_id: int, blocked_id: int, now: int) -> None:
        self._on_negative_signal(conn, blocker_id, blocked_id, "block", now)

    def on_report(self, conn: Connection, reporter_id: int, reported_id: int, now: int) -> None:
        self._on_negative_signal(conn, reporter_id, reported_id, "report", now)

    def _on_negative_signal(self, conn: Connection, person_id: int, target_id: int, kind: str, now: int) -> None:
        number = self._numbers.number_of_user_in(conn, target_id)
        if number is None:
            return
        window_ms = self._settings.quality_window_days * quality.DAY_MS
        template_id = repo.last_template_to(conn, number.id, person_id, now - window_ms)
        quality.record_signal(conn, self._ids.next_id(), number, person_id, kind, template_id, now)
        if template_id is not None:
            templates.record_negative_feedback(conn, template_id, now, ids=self._ids)
        quality.evaluate_number(
            conn, number.id, window_ms, now, self._outbox.enqueue_in, self._ids.next_id, self._numbers.changed_in
        )


def referral_media(link: repo.ReferralLinkRow) -> dict[str, Any]:
    """The link's creative and greeting as Meta's `referral` carries them (only the fields that are set)."""
    extra: dict[str, Any] = {}
    if link.media_type == "image" and link.image_url:
        extra.update(media_type="image", image_url=link.image_url)
    elif link.media_type == "video" and link.video_url:
        extra.update(media_type="video", video_url=link.video_url)
        if link.thumbnail_url:
            extra["thumbnail_url"] = link.thumbnail_url
    if link.welcome_message:
        extra["welcome_message"] = {"text": link.welcome_message}
    return extra


def order_value_of(kind: str, content: Any) -> tuple[int, str] | None:
    """An inbound cart order's total and currency, for observers that count orders (ads attribution)."""
    if kind != "order":
        return None
    total, currency = getattr(content, "total", None), getattr(content, "currency", None)
    if not isinstance(total, int) or not isinstance(currency, str):
        return None
    return total, currency
