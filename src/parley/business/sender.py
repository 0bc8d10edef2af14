"""The Cloud API sender: `POST /{phone_number_id}/messages` (send, mark read, react) and its dry run.

A send is one write unit: the message in the person's chat, its pricing facts, the conversation's windows, the
reach counted against the messaging limit and the `sent` (or `failed`) status webhook in the outbox commit
together or not at all. Realtime pushes and webhook deliveries happen after the commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from parley import accounts, billing, ledger, media, messaging, templates
from parley.business import media as graph_media
from parley.business import outbound
from parley.business import repository as repo
from parley.business import statements as hot
from parley.business.events import echo_value, pricing_object, status_value
from parley.business.identity import bsuid, market_of, wa_id
from parley.business.models import DELIVERED, FAILED, READ, SENT
from parley.business.numbers import BusinessNumbers
from parley.business.observers import (
    API,
    PRODUCT_MESSAGE_TYPES,
    ConversationMessage,
    ConversationObservers,
    ProductMessageCheck,
    SentBy,
)
from parley.business.outbox import BusinessOutbox
from parley.business.policy import CSW_MS, price_send, tier_limit
from parley.business.wamid import parse_wamid, to_wamid
from parley.config import BusinessSettings
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import format_amount
from parley.kit.phone import InvalidPhoneNumberError
from parley.platform.db import Database
from parley.platform.db.driver import DriverCursor
from parley.platform.ratelimit import RateLimiter


class InteractiveSendHook(Protocol):
    """Another domain's rules for some interactive types (payments: order_details, order_status).

    `check` runs before the send's unit (pure: raises GraphError on a bad body); `store_in` runs inside it, after
    the message is stored, so what it writes (an order) commits with the message or not at all.
    """

    types: frozenset[str]

    def check(self, interactive_type: str, action: dict[str, Any], now: int) -> object: ...

    def store_in(
        self,
        conn: Connection,
        checked: object,
        number: repo.NumberRow,
        person: accounts.UserRow,
        message_id: int,
        wamid: str,
        now: int,
    ) -> None: ...


@dataclass(frozen=True)
class _Prepared:
    """What send and dry run both know before their unit: the number, the parsed request, the recipient."""

    number: repo.NumberRow
    request: outbound.OutboundRequest
    person: accounts.UserRow
    recipient_input: str


class CloudApiSender:
    """Sends a business's messages; its collaborators are given once, by the container."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        account_service: accounts.AccountService,
        messaging_service: messaging.MessagingService,
        billing_service: billing.BillingService,
        rate_limiter: RateLimiter,
        settings: BusinessSettings,
        secret: bytes,
        fetch_link: Callable[[int, str, str], Awaitable[outbound.ResolvedMedia]],
        numbers: BusinessNumbers,
        outbox: BusinessOutbox,
        observers: ConversationObservers,
        template_cache: templates.TemplateCache,
    ) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._accounts = account_service
        self._messaging = messaging_service
        self._billing = billing_service
        self._limiter = rate_limiter
        self._settings = settings
        self._secret = secret
        self._fetch_link = fetch_link
        self._numbers = numbers
        self._outbox = outbox
        self._observers = observers
        self._templates = template_cache
        self._tiers = tuple(settings.messaging_limit_tiers)
        self._product_check: ProductMessageCheck | None = None
        self._interactive_hooks: dict[str, InteractiveSendHook] = {}

    def check_products_with(self, check: ProductMessageCheck) -> None:
        """Product messages are checked against the catalog by `check` (the commerce domain), in the send's unit."""
        self._product_check = check

    def _checked_action_in(
        self, conn: Connection, waba_id: int, request: outbound.OutboundRequest
    ) -> dict[str, Any] | None:
        interactive = request.interactive
        if self._product_check is None or interactive is None or interactive.type not in PRODUCT_MESSAGE_TYPES:
            return None
        action = interactive.action.model_dump(exclude_none=True)
        return self._product_check.check_product_message_in(conn, waba_id, interactive.type, action)

    def add_interactive_hook(self, hook: InteractiveSendHook) -> None:
        for interactive_type in hook.types:
            self._interactive_hooks[interactive_type] = hook

    async def number_in_scope(self, scope: GraphScope, raw_id: str | int) -> repo.NumberRow:
        return await self._numbers.in_scope(scope, raw_id)

    # The inbound bridge and the sweeps write conversations and status webhooks the way a send does
    # (observers.ConversationWrites).
    def conversation_in(
        self, conn: Connection, number: repo.NumberRow, person: accounts.UserRow, now: int
    ) -> repo.ConversationRow:
        return _open_conversation_in(conn, self._ids, self._messaging, self._secret, number, person, now)

    def enqueue_status_in(
        self,
        conn: Connection,
        number: repo.NumberRow,
        row: repo.BusinessMessageRow,
        person_phone: str,
        person_bsuid: str,
        error: GraphError | None,
        now: int,
        *,
        pricing_on_read: bool = False,
        priced: dict[str, Any] | None = None,
    ) -> None:
        """Queue a status webhook; `priced`: the pricing object billing decided (else the send-time facts)."""
        status = FAILED if error else row.status
        category = row.category or "service"
        pricing_type = row.pricing_type or "free_customer_service"
        webhook_category = "referral_conversion" if pricing_type == "free_entry_point" else category
        pricing_out = None
        if status in (SENT, DELIVERED) or (status == READ and pricing_on_read):
            pricing_out = priced or pricing_object(webhook_category, pricing_type, bool(row.billable))
        conversation = None
        if pricing_type == "free_entry_point" and status in (SENT, DELIVERED):
            conversation = {
                "id": f"{row.phone_number_id:x}{row.person_id:x}",
                "origin": {"type": "referral_conversion"},
            }
        value = status_value(
            number,
            wamid=to_wamid(row.message_id),
            status=status,
            timestamp_ms=now,
            person_phone=person_phone,
            person_bsuid=person_bsuid,
            pricing=pricing_out,
            conversation=conversation,
            biz_opaque_callback_data=row.biz_opaque_callback_data,
            errors=None if error is None else [error.as_webhook_error()],
        )
        # The message's id orders its statuses: a refused `sent` holds back its `delivered`, nothing else.
        self._outbox.enqueue_in(conn, row.waba_id, "messages", value, number.id, order_key=row.message_id)

    async def _prepare(
        self,
        scope: GraphScope,
        raw_number_id: str,
        body: object,
        *,
        dry_run: bool,
        parsed: outbound.OutboundRequest | outbound.MarkReadRequest | None = None,
    ) -> tuple[repo.NumberRow, outbound.MarkReadRequest] | _Prepared:
        """The step send and dry run share: the number in scope, the request parsed, the recipient found."""
        number = await self._numbers.in_scope(scope, raw_number_id)
        request = outbound.parse_send_request(body) if parsed is None else parsed
        if dry_run and (isinstance(request, outbound.MarkReadRequest) or request.type == "reaction"):
            raise GraphError(100, "dry_run prices messages; read receipts and reactions are never charged")
        if isinstance(request, outbound.MarkReadRequest):
            return number, request
        person, recipient_input = await self._recipient(scope, number, request)
        return _Prepared(number, request, person, recipient_input)

    async def send(
        self,
        scope: GraphScope,
        raw_number_id: str,
        body: object,
        idempotency_key: str | None = None,
        *,
        sent_by: SentBy = API,
        parsed: outbound.OutboundRequest | outbound.MarkReadRequest | None = None,
    ) -> dict[str, Any]:
        """`POST /{phone_number_id}/messages`; the team inbox sends through here too (`sent_by` says who).

        `parsed`: the body already checked (the lean route decodes the common shapes itself); `body` then only
        binds an idempotency key to the request.
        """
        prepared = await self._prepare(scope, raw_number_id, body, dry_run=False, parsed=parsed)
        if not isinstance(prepared, _Prepared):
            await self._mark_read(*prepared)
            return {"success": True}
        number, request, person, recipient_input = (
            prepared.number,
            prepared.request,
            prepared.person,
            prepared.recipient_input,
        )
        await self._check_rates(number, person.id)
        if request.type == "reaction":
            return await self._react(number, person, recipient_input, request)
        context_id = None
        if request.context is not None:
            context_id = parse_wamid(request.context.message_id)
            if context_id is None:
                raise GraphError(131009, f"context.message_id {request.context.message_id!r} is not a message id")
        client_id = _client_id(idempotency_key)
        # The key is bound to this body: a retry repeats it, anything else under the same key is refused.
        request_hash = request_fingerprint(body) if idempotency_key else None
        media_ref, media_kind = request.media, request.media_kind
        link = None if media_ref is None or media_ref.link is None or media_kind is None else str(media_ref.link)
        template = request.template
        header_media = None if template is None else _template_header_media(template.components_as_dicts())
        header_link = None if header_media is None else header_media[1].get("link")
        if request_hash is not None and (link or header_link):
            # A retry answers before fetching anything: a second copy of the file would only fill the quota.
            first = await self._db.read(
                lambda c: self._messaging.first_send_in(c, number.user_id, client_id, request_hash)
            )
            if first is not None:
                return _send_answer(request, person, recipient_input, first.message_id)
        fetched = None
        if link is not None and media_kind is not None:
            # I/O before the unit: the unit only stores what was fetched.
            fetched = await self._fetch_link(number.user_id, media_kind, link)
        fetched_header = None
        if header_media is not None and header_link:
            fetched_header = await self._fetch_link(number.user_id, header_media[0], str(header_link))
        now = self._clock.now_ms()
        waba_id = scope.waba_id
        hook, checked = None, None
        if request.interactive is not None:
            hook = self._interactive_hooks.get(request.interactive.type)
            if hook is not None:
                action = request.interactive.action.model_dump(exclude_none=True)
                checked = hook.check(request.interactive.type, action, now)

        def unit(conn: Connection) -> tuple[int, messaging.Committed | None]:
            cursor = DriverCursor(conn)  # the unit's hot statements skip SQLAlchemy (statements.py)
            conversation = hot.get_conversation(cursor, number.id, person.id) or self._conversation(
                conn, number, person, now
            )
            shared: list[int] = []
            rendered = None
            if template is not None:
                rendered = templates.resolve_for_send(
                    conn,
                    waba_id,
                    template.name,
                    template.language.code,
                    template.components_as_dicts(),
                    self._templates,
                )
                if header_media is not None and rendered.header is not None and "media" in rendered.header:
                    # The header's file is stored on our side, like a media message's: the person downloads it
                    # from Parley, never from the business's URL.
                    header_facts = fetched_header or self._media_by_id(
                        conn, waba_id, header_media[0], header_media[1].get("id")
                    )
                    shared.append(header_facts.media_id)
                    rendered = dataclasses.replace(
                        rendered, header={**rendered.header, "media": _media_view(header_facts, header_media[1])}
                    )
            pricing = price_send(conversation, now, None if rendered is None else rendered.category)
            media_facts = fetched
            if media_ref is not None and media_ref.id is not None and media_kind is not None:
                media_facts = self._media_by_id(conn, waba_id, media_kind, media_ref.id)
            checked_action = self._checked_action_in(conn, waba_id, request)
            content = outbound.content_for(request, media_facts, rendered)
            if checked_action is not None:  # e.g. a product list without the products the catalog does not have
                content = content.model_copy(update={"action": checked_action})
            reached = None if pricing.in_service_window else repo.reached_at(conn, waba_id, person.id)
            over_limit = not pricing.in_service_window and self._over_limit(conn, waba_id, reached, now)
            result, committed = self._messaging.send_direct_in(
                conn,
                number.user_id,
                person.id,
                client_id,
                request.type,
                content,
                context_id,
                now,
                withhold=over_limit,
                request_hash=request_hash,
            )
            if result.retried:
                return result.message_id, None
            if hook is not None:
                hook.store_in(conn, checked, number, person, result.message_id, to_wamid(result.message_id), now)
            if media_facts is not None:
                shared.append(media_facts.media_id)
            for media_id in shared:
                # The person may download what the business sent them (media is reachable from its chats).
                media.share_media(conn, media_id, result.chat_id, now)
            error = None
            if over_limit:
                error = GraphError(
                    131048,
                    "Message failed to send because this business reached its messaging "
                    "limit of unique people outside the customer service window in 24 hours.",
                )
            elif person.id in result.withheld:
                error = GraphError(131026, "Message undeliverable: the recipient cannot receive this message.")
            estimate = None
            if error is None and self._billing.enabled:
                facts = send_facts(result.message_id, number, person, pricing, rendered is not None, now)
                try:
                    estimate = self._billing.reserve_in(conn, facts)
                except ledger.InsufficientFundsError as exc:
                    raise _payment_error(self._billing, conn, facts) from exc
            row = repo.BusinessMessageRow(
                message_id=result.message_id,
                phone_number_id=number.id,
                waba_id=waba_id,
                person_id=person.id,
                direction="out",
                type=request.type,
                status=FAILED if error else SENT,
                category=pricing.category,
                pricing_type=pricing.pricing_type,
                billable=pricing.billable and error is None,
                market=market_of(person.phone)[0],
                calling_code=market_of(person.phone)[1],
                origin=pricing.origin,
                in_service_window=pricing.in_service_window,
                template_id=None if rendered is None else rendered.template_id,
                biz_opaque_callback_data=request.biz_opaque_callback_data,
                error_code=None if error is None else error.code,
                created_at=now,
                status_at=now,
            )
            hot.insert_business_message(cursor, row)
            if error is None:
                hot.note_outbound(cursor, conversation.id, now, pricing.fep_expires_at or conversation.fep_expires_at)
                if not pricing.in_service_window:
                    repo.mark_reached(conn, waba_id, person.id, now, existed=reached is not None)
                if rendered is not None:
                    templates.record_sent(
                        conn, rendered.template_id, now, ids=self._ids, quality_score=rendered.quality_score
                    )
                self._observers.notify_in(
                    conn,
                    conversation_message(
                        number, conversation, person, result.message_id, request.type, content, now
                    ).with_sender(sent_by),
                )
                if sent_by.kind != "api":
                    # Sent by the team inbox, not by the business's software: echo it, as Meta echoes messages
                    # sent from the WhatsApp Business app, so that software sees the whole conversation.
                    echo = echo_value(number, person.phone, to_wamid(result.message_id), now, request.type, content)
                    self._outbox.enqueue_in(conn, waba_id, "smb_message_echoes", echo, number.id)
            self.enqueue_status_in(
                conn,
                number,
                row,
                person.phone,
                conversation.bsuid,
                error,
                now,
                priced=None if estimate is None else _pricing_of_quote(estimate.quote),
            )
            return result.message_id, committed

        message_id, committed = await self._db.write("business.send", unit)
        self._outbox.wake()
        if committed is not None:
            await self._messaging.publish_committed(committed)
        return _send_answer(request, person, recipient_input, message_id)

    async def preview(
        self, scope: GraphScope, raw_number_id: str, body: object, *, check_funds: bool = True
    ) -> dict[str, Any]:
        """What a send would cost and why (window state, category, tier), sending and storing nothing.

        The same checks as a send answer the same errors (131047 outside the window, 132001 unknown template,
        131042 when the wallet cannot cover it, unless `check_funds` is off: a price list still shows prices).
        """
        prepared = await self._prepare(scope, raw_number_id, body, dry_run=True)
        assert isinstance(prepared, _Prepared)  # a dry run of anything but a message was refused
        number, person, recipient_input = prepared.number, prepared.person, prepared.recipient_input
        template = prepared.request.template
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            self._checked_action_in(conn, scope.waba_id, prepared.request)  # refused as the send would be
            conversation = repo.get_conversation(conn, number.id, person.id)
            rendered = None
            if template is not None:
                rendered = templates.resolve_for_send(
                    conn, scope.waba_id, template.name, template.language.code, template.components_as_dicts()
                )
            window = _window_view(conversation, now)
            pricing = price_send(conversation, now, None if rendered is None else rendered.category)
            answer: dict[str, Any] = {"window": window}
            if not self._billing.enabled:
                answer["pricing"] = pricing_object(pricing.webhook_category, pricing.pricing_type, False)
                answer["cost"] = None
                return answer
            facts = send_facts(0, number, person, pricing, rendered is not None, now)
            estimate = self._billing.estimate_in(conn, facts, with_available=True)
            short = estimate.available is None or estimate.available < estimate.hold
            if check_funds and estimate.hold > 0 and short:
                raise _payment_error(self._billing, conn, facts)
            answer["pricing"] = _pricing_of_quote(estimate.quote)
            answer["cost"] = billing.cost_view(estimate)
            return answer

        answer = await self._db.read(unit)
        return {
            "messaging_product": "whatsapp",
            "dry_run": True,
            "contacts": [{"input": recipient_input, "wa_id": wa_id(person.phone)}],
            **answer,
        }

    def _media_by_id(self, conn: Connection, waba_id: int, kind: str, raw_id: object) -> outbound.ResolvedMedia:
        """Uploaded media a send names by id: any number of this business may have uploaded it."""
        media_id = parse_id(str(raw_id))
        if media_id is None:
            raise object_not_found(raw_id)
        owners = {n.user_id for n in repo.numbers_of_waba(conn, waba_id)}
        return graph_media.resolve_media_id(conn, owners, media_id, kind)

    async def _recipient(
        self, scope: GraphScope, number: repo.NumberRow, request: outbound.OutboundRequest
    ) -> tuple[accounts.UserRow, str]:
        if request.recipient is not None:
            value = request.recipient

            def unit(conn: Connection) -> accounts.UserRow | None:
                ids = [n.id for n in repo.numbers_of_waba(conn, scope.waba_id)]
                person_id = repo.person_by_bsuid(conn, ids, value)
                return None if person_id is None else accounts.get_users(conn, [person_id]).get(person_id)

            person = await self._db.read(unit)
            if person is None:
                raise GraphError(
                    131026, f"no person with business-scoped user id {value!r} has talked to this business"
                )
            return person, value
        assert request.to is not None
        try:
            person = await self._accounts.find_by_phone(request.to)
        except InvalidPhoneNumberError as exc:
            raise GraphError(100, f"'to' {request.to!r} is not a valid phone number") from exc
        except NotFoundError as exc:  # not on Parley
            raise GraphError(131026, f"{request.to} is not on Parley: message undeliverable") from exc
        if person.id == number.user_id:
            raise GraphError(131021, "the recipient is this business number itself")
        if person.kind != "person":
            raise GraphError(131026, "business numbers do not receive messages from other businesses")
        return person, request.to

    async def _check_rates(self, number: repo.NumberRow, person_id: int) -> None:
        retry = await self._limiter.hit(f"mps:{number.id}", number.throughput_mps, 1)
        if retry is not None:
            raise GraphError(
                130429, f"throughput of {number.throughput_mps} messages/s for this number reached", retry_after_s=retry
            )
        pair = self._settings.pair_burst
        retry = await self._limiter.hit(f"pair:{number.id}:{person_id}", pair, self._settings.pair_window_s)
        if retry is not None:
            raise GraphError(
                131056,
                f"more than {pair} messages to this person in {self._settings.pair_window_s} s; retry later",
                retry_after_s=retry,
            )

    def _over_limit(self, conn: Connection, waba_id: int, reached_at: int | None, now: int) -> bool:
        """Would reaching this person (last reached at `reached_at`) pass the business's messaging limit?"""
        since = now - CSW_MS
        if reached_at is not None and reached_at >= since:
            return False  # already counted in this rolling day
        waba = repo.get_waba(conn, waba_id)
        limit = None if waba is None else tier_limit(waba.messaging_tier, self._tiers)
        return limit is not None and repo.count_reached_since(conn, waba_id, since) >= limit

    def _conversation(
        self, conn: Connection, number: repo.NumberRow, person: accounts.UserRow, now: int
    ) -> repo.ConversationRow:
        return _open_conversation_in(conn, self._ids, self._messaging, self._secret, number, person, now)

    async def _mark_read(self, number: repo.NumberRow, request: outbound.MarkReadRequest) -> None:
        message_id = parse_wamid(request.message_id)
        if message_id is None:
            raise GraphError(100, f"message_id {request.message_id!r} is not a message id")
        try:
            await self._messaging.mark_read(number.user_id, str(message_id))
        except NotFoundError as exc:
            raise GraphError(100, f"no message {request.message_id} in this number's chats") from exc
        if request.typing_indicator is not None:
            chat_id = await self._db.read(lambda c: _chat_of_message(c, message_id))
            if chat_id is not None:
                await self._messaging.typing(number.user_id, str(chat_id))

    async def _react(
        self, number: repo.NumberRow, person: accounts.UserRow, recipient_input: str, request: outbound.OutboundRequest
    ) -> dict[str, Any]:
        assert request.reaction is not None
        target = parse_wamid(request.reaction.message_id)
        if target is None:
            raise GraphError(131009, f"reaction.message_id {request.reaction.message_id!r} is not a message id")
        try:
            await self._messaging.react(number.user_id, str(target), request.reaction.emoji or "")
        except (InvalidInputError, NotFoundError) as exc:
            raise GraphError(131009, f"cannot react to {request.reaction.message_id}: {exc}") from exc
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": recipient_input, "wa_id": wa_id(person.phone)}],
            "messages": [{"id": to_wamid(self._ids.next_id())}],
        }


class _PricedFacts(Protocol):
    """Send-time pricing facts: the policy's `Pricing` at send, the stored message row at delivery."""

    @property
    def category(self) -> str | None: ...
    @property
    def pricing_type(self) -> str | None: ...
    @property
    def in_service_window(self) -> bool | None: ...


def send_facts(
    message_id: int,
    number: repo.NumberRow,
    person: accounts.UserRow,
    pricing: _PricedFacts,
    is_template: bool,
    sent_at: int,
) -> billing.SendFacts:
    return billing.SendFacts(
        message_id=message_id,
        waba_id=number.waba_id,
        phone_number_id=number.id,
        person_id=person.id,
        phone=person.phone,
        country=market_of(person.phone)[0],
        category=(pricing.category or "service") if is_template else "service",
        is_template=is_template,
        in_service_window=bool(pricing.in_service_window),
        in_free_entry_point=pricing.pricing_type == "free_entry_point",
        sent_at=sent_at,
    )


def _pricing_of_quote(quote: billing.Quote) -> dict[str, Any]:
    return _pricing(quote.pricing_model, quote.category, quote.pricing_type, quote.billable)


def pricing_of_settlement(settled: billing.Settlement) -> dict[str, Any]:
    return _pricing(settled.pricing_model, settled.category, settled.pricing_type, settled.billable)


def _pricing(model: str, category: str, pricing_type: str, billable: bool) -> dict[str, Any]:
    webhook_category = "referral_conversion" if pricing_type == "free_entry_point" else category
    return pricing_object(webhook_category, pricing_type, billable, model)


def conversation_message(
    number: repo.NumberRow,
    conversation: repo.ConversationRow,
    person: accounts.UserRow,
    message_id: int,
    type_: str,
    content: Any,
    now: int,
    direction: Literal["in", "out"] = "out",
) -> ConversationMessage:
    return ConversationMessage(
        number=number,
        conversation=conversation,
        person_id=person.id,
        person_phone=person.phone,
        person_name=person.name,
        message_id=message_id,
        type=type_,
        preview=messaging.preview_of(content),
        at=now,
        direction=direction,
    )


def _send_answer(
    request: outbound.OutboundRequest, person: accounts.UserRow, recipient_input: str, message_id: int
) -> dict[str, Any]:
    """Meta's answer to an accepted send (and to its retries)."""
    contact: dict[str, Any] = {"input": recipient_input, "wa_id": wa_id(person.phone)}
    if request.recipient is not None:
        contact["user_id"] = request.recipient
    return {
        "messaging_product": "whatsapp",
        "contacts": [contact],
        "messages": [{"id": to_wamid(message_id), "message_status": "accepted"}],
    }


def _client_id(idempotency_key: str | None) -> str:
    """The message's client id (64 characters at most): the key itself when it fits, else its digest."""
    if not idempotency_key:
        return f"api:{uuid.uuid4().hex}"
    if len(idempotency_key) <= 59:
        return f"idem:{idempotency_key}"
    return f"idem#{hashlib.sha256(idempotency_key.encode()).hexdigest()[:58]}"


def _payment_error(billing_service: billing.BillingService, conn: Connection, facts: billing.SendFacts) -> GraphError:
    estimate = billing_service.estimate_in(conn, facts, with_available=True)
    return GraphError(
        131042,
        (
            "Message failed to send because there were one or more errors related to your payment method: "
            f"this message needs {format_amount(estimate.hold)} {estimate.currency} reserved and the business "
            f"can spend {format_amount(max(estimate.available or 0, 0))} {estimate.currency}: top up the "
            "prepaid balance or raise the credit line"
        ),
    )


def _window_view(conversation: repo.ConversationRow | None, now: int) -> dict[str, Any]:
    """The customer service and free-entry-point windows as a business sees them (unix seconds)."""
    closes = None
    if conversation is not None and conversation.last_inbound_at is not None:
        closes = conversation.last_inbound_at + CSW_MS
    fep = None if conversation is None else conversation.fep_expires_at
    return {
        "customer_service_window": "open" if closes is not None and now < closes else "closed",
        "closes_at": None if closes is None or now >= closes else closes // 1000,
        "free_entry_point_until": None if fep is None or now >= fep else fep // 1000,
    }


def _template_header_media(components: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """(kind, {"id"|"link", ...}) of a template send's image/video/document header parameter, if any."""
    for component in components:
        if str(component.get("type", "")).lower() != "header":
            continue
        for parameter in component.get("parameters") or []:
            kind = str(parameter.get("type", "")).lower()
            if kind in ("image", "video", "document") and isinstance(parameter.get(kind), dict):
                return kind, parameter[kind]
    return None


def _media_view(facts: outbound.ResolvedMedia, given: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": str(facts.media_id), "mime_type": facts.mime_type, "size": facts.size}
    filename = given.get("filename") or facts.filename
    if filename:
        view["filename"] = filename
    return view


def _chat_of_message(conn: Connection, message_id: int) -> int | None:
    row = messaging.get_message(conn, message_id)
    return None if row is None else row.chat_id


def _open_conversation_in(
    conn: Connection,
    ids: IdGenerator,
    messaging_service: messaging.MessagingService,
    secret: bytes,
    number: repo.NumberRow,
    person: accounts.UserRow,
    now: int,
) -> repo.ConversationRow:
    """The number's conversation with this person, opened (with its direct chat) on first contact."""
    conversation = repo.get_conversation(conn, number.id, person.id)
    if conversation is None:
        conversation = repo.ConversationRow(
            id=ids.next_id(),
            phone_number_id=number.id,
            person_id=person.id,
            chat_id=messaging_service.direct_chat_in(conn, number.user_id, person.id, now),
            bsuid=bsuid(secret, number.waba_id, person.id, person.phone),
            first_contact_at=now,
            last_inbound_at=None,
            last_outbound_at=None,
            referral_at=None,
            fep_expires_at=None,
        )
        repo.insert_conversation(conn, conversation)
    return conversation
