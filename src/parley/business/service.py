"""Business accounts, numbers and tokens, and the people's side of a business's conversations (sends: sender.py)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from parley import accounts, billing, media, messaging, privacy, templates, webhooks
from parley.business import inbound, outbound, qr, quality, sender
from parley.business import profile as profiles
from parley.business import repository as repo
from parley.business.events import inbound_value
from parley.business.identity import bsuid, market_of, wa_id
from parley.business.models import ACCEPTED, DELIVERED, FAILED, READ, SENT
from parley.business.observers import ConversationMessage, ConversationObserver
from parley.business.policy import CSW_MS, tier_limit, tier_name
from parley.business.scope import GraphScope
from parley.business.token_use import TokenUses
from parley.business.wamid import to_wamid
from parley.config import BusinessSettings
from parley.graph import GraphError, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.periodic import PeriodicTask
from parley.kit.phone import InvalidPhoneNumberError, normalize_phone
from parley.kit.token_cache import RevocationCounter, TokenCache
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.platform.ratelimit import RateLimiter

if TYPE_CHECKING:
    from parley.container import Container

log = logging.getLogger("parley.business")
_TOKEN_CACHE_TTL_S = 60.0
_NUMBER_CACHE_TTL_S = 30.0
_REVOCATIONS_TOPIC = "business:revocations"
_RECEIPT_TO_STATUS = {messaging.DELIVERED: DELIVERED, messaging.READ: READ}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class InboxBusiness:
    name: str
    timezone: str
    app_id: int
    numbers: list[dict[str, Any]]  # id, user_id, display_phone_number, verified_name
    billing: bool


@dataclass(frozen=True)
class NumberStanding:
    """A number as the console shows it: quality, the business's messaging-limit tier, throughput, history."""

    id: int
    display_phone_number: str
    verified_name: str
    quality_rating: str  # GREEN | YELLOW | RED
    status: str  # CONNECTED | FLAGGED
    throughput_mps: int
    throughput_level: str  # STANDARD | HIGH (Graph's `throughput.level`)
    messaging_tier: str  # Meta's name, e.g. TIER_2K
    tier_limit: int | None  # unique people per rolling 24 h (None: unlimited)
    reached_24h: int  # unique people reached outside the service window in the last 24 h (the business's)
    tier_changed_at: int
    created_at: int
    history: list[repo.NumberChangeRow]  # newest first


def _valid_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class CreatedBusiness:
    waba_id: int
    phone_number_id: int
    access_token: str
    app_id: int
    app_secret: str
    user_id: int


# Meta's v23 spec: a WABA's number list speaks of links (WhatsAppBusinessAccountPhoneNumber.status); a flagged
# number is still linked and sending.
_LISTED_STATUS = {"CONNECTED": "LINKED", "FLAGGED": "LINKED"}


class BusinessService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        account_service: accounts.AccountService,
        messaging_service: messaging.MessagingService,
        privacy_service: privacy.PrivacyService,
        billing_service: billing.BillingService,
        rate_limiter: RateLimiter,
        settings: BusinessSettings,
        secret: bytes,
        fetch_link: Callable[[int, str, str], Awaitable[outbound.ResolvedMedia]],
        revocation_counter: RevocationCounter | None = None,
    ) -> None:
        self._fetch_link = fetch_link
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._accounts = account_service
        self._messaging = messaging_service
        self._billing = billing_service
        self._limiter = rate_limiter
        self._settings = settings
        self._secret = secret
        self._token_cache: TokenCache[GraphScope] = TokenCache(revocation_counter, _TOKEN_CACHE_TTL_S)
        # Last use of each token: noted in memory per call, written once a minute (see token_use.py for why).
        self._token_uses = TokenUses()
        self._token_use_flusher = PeriodicTask(
            "token last-used flush", settings.token_use_flush_s, self.flush_token_uses
        )
        self._numbers: dict[int, tuple[repo.NumberRow, float]] = {}
        self._sweeper = PeriodicTask("quality and limits sweep", settings.sweep_interval_s, self.sweep_now)
        self._notify_outbox: Callable[[], None] = lambda: None
        self._tiers = tuple(settings.messaging_limit_tiers)
        self._conversation_observers: list[ConversationObserver] = []
        messaging_service.add_observer(_PeopleObserver(self))
        privacy_service.add_observer(_QualityObserver(self))

    def add_conversation_observer(self, observer: ConversationObserver) -> None:
        self._conversation_observers.append(observer)

    def after_outbox_write(self, notify: Callable[[], None]) -> None:
        """Called after a unit that wrote webhook events committed (wakes the delivery loop)."""
        self._notify_outbox = notify

    async def start(self) -> None:
        self._bus.subscribe(_REVOCATIONS_TOPIC, self._on_revocation)
        self._sweeper.start()
        self._token_use_flusher.start()

    async def close(self) -> None:
        await self._sweeper.close()
        await self._token_use_flusher.close()
        with contextlib.suppress(Exception):  # shutting down: a lost minute of "last used" is no harm
            await self.flush_token_uses()

    async def flush_token_uses(self) -> None:
        """Write when tokens were last used, noted since the last flush (one statement for all of them)."""
        taken = self._token_uses.take()
        if not taken:
            return
        try:
            await self._db.write("business.flush_token_uses", lambda conn: repo.note_tokens_used(conn, taken))
        except Exception:
            self._token_uses.give_back(taken)
            raise

    async def sweep_now(self) -> None:
        """Ratings that recover as signals age, tier raises, throughput upgrades: one pass over businesses."""
        window_ms = self._settings.quality_window_days * quality.DAY_MS
        for waba in await self._db.read(repo.all_wabas):
            now = self._clock.now_ms()

            def unit(conn: Connection, waba_id: int = waba.id, now: int = now) -> None:
                for number in repo.numbers_of_waba(conn, waba_id):
                    if number.quality_rating != "GREEN":
                        quality.evaluate_number(conn, number.id, window_ms, now, self._enqueue, self._ids.next_id)
                quality.evaluate_tier(conn, waba_id, now, self._enqueue, self._ids.next_id, self._tiers)
                quality.evaluate_throughput(conn, waba_id, now, self._enqueue, self._ids.next_id)

            await self._db.write("business.sweep_now", unit)
        if self._billing.enabled:
            await self._db.write("business.sweep_now", self._expire_undelivered)

    def _expire_undelivered(self, conn: Connection) -> None:
        """Messages still undelivered when their reservation runs out fail, uncharged (WhatsApp drops them)."""
        now = self._clock.now_ms()
        for message_id in self._billing.expire_due_in(conn):
            row = repo.get_business_message(conn, message_id)
            if row is None or row.status not in (ACCEPTED, SENT):
                continue
            number = repo.get_number(conn, row.phone_number_id)
            person = accounts.get_users(conn, [row.person_id]).get(row.person_id)
            if number is None or person is None:
                continue
            repo.set_business_message_status(conn, message_id, FAILED, now)
            error = GraphError(
                131026,
                f"Message undeliverable: not delivered within {self._billing.settings.hold_ttl_days} days.",
            )
            person_bsuid = bsuid(self._secret, number.waba_id, person.id, person.phone)
            self._enqueue_status(conn, number, row, person.phone, person_bsuid, error, now)

    def observe_in(self, conn: Connection, message: ConversationMessage) -> None:
        """Tell the conversation observers (the team inbox) of a message in or out, inside its unit."""
        for observer in self._conversation_observers:
            observer.on_conversation_message(conn, message)

    def _enqueue(
        self,
        conn: Connection,
        waba_id: int,
        field: str,
        value: dict[str, Any],
        phone_number_id: int | None,
        *,
        order_key: int | None = None,
    ) -> None:
        webhooks.enqueue(
            conn,
            waba_id=waba_id,
            field=field,
            value=value,
            phone_number_id=phone_number_id,
            event_id=self._ids.next_id(),
            order_key=order_key,
        )

    def on_negative_signal(self, conn: Connection, person_id: int, target_id: int, kind: str, now: int) -> None:
        number = repo.numbers_of_users(conn, [target_id]).get(target_id)
        if number is None:
            return
        window_ms = self._settings.quality_window_days * quality.DAY_MS
        template_id = repo.last_template_to(conn, number.id, person_id, now - window_ms)
        quality.record_signal(conn, self._ids.next_id(), number, person_id, kind, template_id, now)
        if template_id is not None:
            templates.record_negative_feedback(conn, template_id, now, ids=self._ids)
        quality.evaluate_number(conn, number.id, window_ms, now, self._enqueue, self._ids.next_id)

    def _on_revocation(self, event: dict[str, Any]) -> None:
        self._token_cache.evict(str(event.get("token_hash")))

    # --- operator: businesses and tokens --------------------------------------------------------

    async def create_business(
        self,
        name: str,
        raw_phone: str,
        *,
        webhook_url: str | None = None,
        verify_token: str = "",
        app_secret: str | None = None,
        about: str = "",
    ) -> CreatedBusiness:
        try:
            phone = normalize_phone(raw_phone)
        except InvalidPhoneNumberError as exc:
            raise GraphError(100, f"{raw_phone!r} is not a valid phone number: {exc}") from exc
        now = self._clock.now_ms()
        waba_id, number_id, app_id, user_id = (self._ids.next_id() for _ in range(4))
        token = "PRL" + secrets.token_urlsafe(40)
        secret = app_secret or secrets.token_hex(16)

        def unit(conn: Connection) -> None:
            if accounts.get_user_by_phone(conn, phone) is not None:
                raise GraphError(100, f"{phone} already has a Parley account; a business needs a number of its own")
            accounts.insert_user(conn, user_id, phone, name, now, kind="business")
            repo.insert_waba(conn, waba_id, name, app_id, now)
            if self._billing.enabled:
                self._billing.open_business_in(conn, waba_id)  # wallet with the trial credit
            repo.insert_number(
                conn,
                repo.NumberRow(
                    waba_id=waba_id,
                    id=number_id,
                    user_id=user_id,
                    display_phone_number=phone,
                    verified_name=name,
                    quality_rating="GREEN",
                    status="CONNECTED",
                    throughput_mps=self._settings.default_throughput_mps,
                    created_at=now,
                ),
            )
            repo.insert_profile(conn, number_id, about, now)
            repo.insert_token(conn, self._ids.next_id(), waba_id, "system user", hash_token(token), now)
            webhooks.register_app(
                conn,
                waba_id=waba_id,
                app_id=app_id,
                app_secret=secret,
                callback_url=webhook_url,
                verify_token=verify_token,
                now=now,
            )

        await self._db.write("business.create_business", unit)
        return CreatedBusiness(waba_id, number_id, token, app_id, secret, user_id)

    async def require_waba(self, waba_id: int) -> None:
        """NotFoundError unless the business account exists (operator commands name WABAs by id)."""
        if await self._db.read(lambda c: repo.get_waba(c, waba_id)) is None:
            raise NotFoundError(f"no business account {waba_id}")

    async def create_token(self, waba_id: int, name: str = "system user") -> tuple[int, str]:
        now = self._clock.now_ms()
        token = "PRL" + secrets.token_urlsafe(40)
        token_id = self._ids.next_id()

        def unit(conn: Connection) -> None:
            if repo.get_waba(conn, waba_id) is None:
                raise GraphError(100, f"no business account {waba_id}")
            repo.insert_token(conn, token_id, waba_id, name, hash_token(token), now)

        await self._db.write("business.create_token", unit)
        return token_id, token

    async def revoke_token(self, token_or_id: str, *, waba_id: int | None = None) -> int:
        """Revoke by token id or by the token itself; the id revoked. With `waba_id`, only a token of that
        business (the console revokes its own business's tokens, never another's)."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> tuple[int, str] | None:
            token_id = parse_id(token_or_id)
            if token_id is None or token_or_id.startswith("PRL"):
                token_id = repo.token_id_by_hash(conn, hash_token(token_or_id))
            if token_id is None:
                return None
            if (
                waba_id is not None
                and (found := repo.get_token(conn, token_id)) is not None
                and found.waba_id != waba_id
            ):
                return None
            token_hash = repo.revoke_token(conn, token_id, now)
            if token_hash is not None:
                accounts.note_token_revoked(conn)  # processes the bus does not reach see the counter move
            return None if token_hash is None else (token_id, token_hash)

        revoked = await self._db.write("business.revoke_token", unit)
        if revoked is None:
            raise GraphError(100, "no live token with that id")
        self._token_cache.evict(revoked[1])
        await self._bus.publish(_REVOCATIONS_TOPIC, {"token_hash": revoked[1]})
        return revoked[0]

    async def list_tokens(self, waba_id: int) -> list[repo.TokenRow]:
        """A business's tokens, oldest first; `last_used_at` includes this process's uses not written yet."""
        rows = await self._db.read(lambda c: repo.list_tokens(c, waba_id))
        return [self._with_unwritten_use(row) for row in rows]

    def _with_unwritten_use(self, row: repo.TokenRow) -> repo.TokenRow:
        noted = self._token_uses.unwritten(row.id)
        if noted is None or (row.last_used_at is not None and row.last_used_at >= noted):
            return row
        return dataclasses.replace(row, last_used_at=noted)

    async def authenticate(self, token: str | None) -> GraphScope:
        if not token:
            raise GraphError(190, "An active access token must be used to query information.", http_status=401)
        token_hash = hash_token(token)
        cached = self._token_cache.get(token_hash)
        if cached is not None:
            self._token_uses.note(cached.token_id, self._clock.now_ms())
            return cached
        generation = self._token_cache.generation

        def unit(conn: Connection) -> GraphScope | None:
            row = repo.get_token_by_hash(conn, token_hash)
            waba = None if row is None or row.revoked_at is not None else repo.get_waba(conn, row.waba_id)
            return None if row is None or waba is None else GraphScope(row.waba_id, row.id, waba.app_id)

        scope = await self._db.read(unit)
        if scope is None:
            raise GraphError(190, "Error validating access token: the token is invalid or was revoked.", subcode=463)
        self._token_cache.put(token_hash, scope, generation)
        self._token_uses.note(scope.token_id, self._clock.now_ms())
        return scope

    # --- what the team inbox needs of a business -------------------------------------------------

    async def inbox_business(self, waba_id: int) -> InboxBusiness:
        def unit(conn: Connection) -> InboxBusiness:
            waba = repo.get_waba(conn, waba_id)
            if waba is None:
                raise NotFoundError(f"no business account {waba_id}")
            numbers = [
                {
                    "id": n.id,
                    "user_id": n.user_id,
                    "display_phone_number": n.display_phone_number,
                    "verified_name": n.verified_name,
                }
                for n in repo.numbers_of_waba(conn, waba_id)
            ]
            return InboxBusiness(waba.name, waba.timezone, waba.app_id, numbers, self._billing.enabled)

        return await self._db.read(unit)

    async def scope_of(self, waba_id: int) -> GraphScope:
        """The business's own authority, for sends its team makes from the inbox (no API token involved)."""
        info = await self.inbox_business(waba_id)
        return GraphScope(waba_id, 0, info.app_id)

    async def number_user_id(self, number_id: int) -> int:
        number = await self._number(number_id)
        if number is None:
            raise NotFoundError("no such number")
        return number.user_id

    async def conversation_history(
        self, number_user_id: int, chat_id: int, before: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The chat as the business number sees it, newest first (the web client's message objects)."""
        return await self._messaging.history(number_user_id, str(chat_id), before, limit)

    async def approved_templates(self, scope: GraphScope) -> list[dict[str, Any]]:
        return await self._db.read(lambda c: templates.approved_for_inbox(c, scope.waba_id))

    def timezone_in(self, conn: Connection, waba_id: int) -> str:
        waba = repo.get_waba(conn, waba_id)
        return "UTC" if waba is None else waba.timezone

    async def set_timezone(self, waba_id: int, timezone: object) -> None:
        if not isinstance(timezone, str) or not _valid_timezone(timezone):
            raise InvalidInputError(f"{timezone!r} is not an IANA time zone such as Europe/Paris")
        await self._db.write("business.set_timezone", lambda c: repo.set_waba_timezone(c, waba_id, timezone))

    def enqueue_contact_change(self, conn: Connection, waba_id: int, change: str, contact: dict[str, Any]) -> None:
        """A `parley_contacts` webhook (a Parley extension): a CRM hears contacts created and edited."""
        value = {"messaging_product": "whatsapp", "event": change, "contact": contact}
        # A contact's changes go out in order (`created` before `updated`), like a message's statuses.
        self._enqueue(conn, waba_id, "parley_contacts", value, None, order_key=parse_id(str(contact.get("id"))))

    def wake_webhooks(self) -> None:
        self._notify_outbox()

    async def media_of_business(self, waba_id: int, raw_media_id: str) -> media.MediaRow:
        """A file in one of the business's chats (what its team may open), whichever number's chat it is in."""
        info = await self.inbox_business(waba_id)
        for number in info.numbers:
            with contextlib.suppress(NotFoundError):
                return await self._messaging.media_for_member(int(number["user_id"]), raw_media_id)
        raise NotFoundError("no such media in this business's chats")

    # --- Graph objects --------------------------------------------------------------------------

    async def number_in_scope(self, scope: GraphScope, raw_id: str | int) -> repo.NumberRow:
        number_id = raw_id if isinstance(raw_id, int) else parse_id(raw_id)
        number = None if number_id is None else await self._number(number_id)
        if number is None or number.waba_id != scope.waba_id:
            raise object_not_found(raw_id)
        return number

    async def number_of_user(self, user_id: int) -> repo.NumberRow:
        number = await self._db.read(lambda c: repo.numbers_of_users(c, [user_id]).get(user_id))
        if number is None:
            raise GraphError(100, f"user {user_id} is not a business number")
        return number

    async def _number(self, number_id: int) -> repo.NumberRow | None:
        """Numbers never move between businesses; their throughput is remembered for 30 s at most."""
        cached = self._numbers.get(number_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        number = await self._db.read(lambda c: repo.get_number(c, number_id))
        if number is not None:
            if len(self._numbers) > 100_000:
                self._numbers.clear()
            self._numbers[number_id] = (number, time.monotonic() + _NUMBER_CACHE_TTL_S)
        return number

    async def number_standings(self, waba_id: int, history_limit: int = 50) -> list[NumberStanding]:
        """The business's numbers with their ratings, tier, throughput and latest changes (the console)."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> list[NumberStanding]:
            waba = repo.get_waba(conn, waba_id)
            if waba is None:
                raise NotFoundError(f"no business account {waba_id}")
            reached = repo.count_reached_since(conn, waba_id, now - CSW_MS)
            history = repo.number_changes_of_waba(conn, waba_id, history_limit)
            return [
                NumberStanding(
                    id=n.id,
                    display_phone_number=n.display_phone_number,
                    verified_name=n.verified_name,
                    quality_rating=n.quality_rating,
                    status=n.status,
                    throughput_mps=n.throughput_mps,
                    throughput_level="HIGH" if n.throughput_mps > 80 else "STANDARD",
                    messaging_tier=tier_name(waba.messaging_tier),
                    tier_limit=tier_limit(waba.messaging_tier, self._tiers),
                    reached_24h=reached,
                    tier_changed_at=waba.tier_changed_at,
                    created_at=n.created_at,
                    history=history.get(n.id, []),
                )
                for n in repo.numbers_of_waba(conn, waba_id)
            ]

        return await self._db.read(unit)

    async def phone_number_object(self, scope: GraphScope, number_id: int) -> dict[str, Any] | None:
        def unit(conn: Connection) -> tuple[repo.NumberRow, repo.WabaRow] | None:
            number = repo.get_number(conn, number_id)
            waba = None if number is None else repo.get_waba(conn, number.waba_id)
            return None if number is None or waba is None else (number, waba)

        found = await self._db.read(unit)
        if found is None:
            return None
        number, waba = found
        if number.waba_id != scope.waba_id:
            raise object_not_found(number_id)
        return self._render_number(number, waba)

    def _render_number(self, number: repo.NumberRow, waba: repo.WabaRow, *, listed: bool = False) -> dict[str, Any]:
        """A number as Meta's v23 spec shapes it: by id its status is the account-number one (CONNECTED,
        FLAGGED, ...); in `GET /{waba-id}/phone_numbers` it is the link status (LINKED, ...), the flag being
        in `quality_rating` there."""
        limit_name = tier_name(waba.messaging_tier)
        return {
            "id": str(number.id),
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
            "code_verification_status": "VERIFIED",
            "quality_rating": number.quality_rating,
            "status": _LISTED_STATUS.get(number.status, number.status) if listed else number.status,
            "platform_type": "CLOUD_API",
            "name_status": "APPROVED",
            "throughput": {"level": "HIGH" if number.throughput_mps > 80 else "STANDARD"},
            "messaging_limit_tier": limit_name,
            "whatsapp_business_manager_messaging_limit": limit_name,
            "is_official_business_account": False,
        }

    async def waba_object(self, scope: GraphScope, waba_id: int) -> dict[str, Any] | None:
        waba = await self._db.read(lambda c: repo.get_waba(c, waba_id))
        if waba is None:
            return None
        if waba.id != scope.waba_id:
            raise object_not_found(waba_id)
        return {
            "id": str(waba.id),
            "name": waba.name,
            "currency": waba.currency,
            "timezone_id": waba.timezone,
            "message_template_namespace": f"parley_{waba.id}",
            "account_review_status": "APPROVED",
            "business_verification_status": "VERIFIED",  # the operator vouched for it by creating it
            "whatsapp_business_manager_messaging_limit": tier_name(waba.messaging_tier),
        }

    async def list_phone_numbers(self, scope: GraphScope, raw_waba_id: str) -> dict[str, Any]:
        if parse_id(raw_waba_id) != scope.waba_id:
            raise object_not_found(raw_waba_id)

        def unit(conn: Connection) -> dict[str, Any]:
            waba = repo.get_waba(conn, scope.waba_id)
            assert waba is not None
            numbers = repo.numbers_of_waba(conn, scope.waba_id)
            return {"data": [self._render_number(n, waba, listed=True) for n in numbers]}

        return await self._db.read(unit)

    # --- what the inbound side shares with the Cloud API sender ---------------------------------

    def _conversation(
        self, conn: Connection, number: repo.NumberRow, person: accounts.UserRow, now: int
    ) -> repo.ConversationRow:
        return sender.conversation_in(conn, self._ids, self._messaging, self._secret, number, person, now)

    def _enqueue_status(
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
        sender.enqueue_status_in(
            conn,
            self._ids,
            number,
            row,
            person_phone,
            person_bsuid,
            error,
            now,
            pricing_on_read=pricing_on_read,
            priced=priced,
        )

    # --- people's side (observer callbacks, inside messaging's units) ----------------------------

    def on_person_message(
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
        numbers = repo.numbers_of_users(conn, [recipient_id, row.sender_id])
        number = numbers.get(recipient_id)
        if number is None or row.sender_id in numbers:
            return {}
        if statuses[recipient_id] == messaging.WITHHELD:
            return {}  # the person had blocked the business: nothing reaches it
        person = accounts.get_users(conn, [row.sender_id])[row.sender_id]
        now = row.created_at
        conversation = self._conversation(conn, number, person, now)
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
        message = sender.conversation_message(
            number, conversation, person, row.id, row.type, content, now, direction="in"
        )
        self.observe_in(conn, dataclasses.replace(message, link_code=None if referral is None else link_code))
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
        self._enqueue(conn, number.waba_id, "messages", value, number.id)
        return {recipient_id: messaging.DELIVERED}  # handed to the business's platform

    def on_person_receipts(
        self, conn: Connection, reader_id: int, message_ids: list[int], status: int, now: int
    ) -> None:
        new_status = _RECEIPT_TO_STATUS.get(status)
        if new_status is None:
            return
        rows = [
            r for r in repo.outbound_to(conn, reader_id, message_ids) if r.status < new_status and r.status != FAILED
        ]
        if not rows:
            return
        person = accounts.get_users(conn, [reader_id])[reader_id]
        for row in rows:
            number = repo.get_number(conn, row.phone_number_id)
            assert number is not None
            repo.set_business_message_status(conn, row.message_id, new_status, now)
            # Pricing rides on `sent` and on the first later status (Meta puts it on delivered or, if that
            # was skipped, on read).
            first_after_sent = row.status in (ACCEPTED, SENT)
            updated = repo.BusinessMessageRow(**{**row.__dict__, "status": new_status})
            person_bsuid = bsuid(self._secret, number.waba_id, person.id, person.phone)
            priced = None
            if first_after_sent and self._billing.enabled:
                # Delivered (or read, when delivery was skipped): the moment a message is charged.
                facts = sender.send_facts(
                    row.message_id, number, person, row, row.template_id is not None, row.created_at
                )
                priced = sender.pricing_of_settlement(self._billing.settle_in(conn, facts, now))
            self._enqueue_status(
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

    def on_person_reaction(
        self, conn: Connection, user_id: int, row: messaging.MessageRow, emoji: str, now: int
    ) -> None:
        numbers = repo.numbers_of_users(conn, [row.sender_id, user_id])
        number = numbers.get(row.sender_id)
        if number is None or user_id in numbers:
            return
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
        self._enqueue(conn, number.waba_id, "messages", value, number.id)

    # --- links and QR codes for the inbox ---------------------------------------------------------
    # The functions behind these take the container (public URL, database) as the Graph routes' do.

    async def inbox_links(self, container: Container, waba_id: int) -> list[qr.InboxLink]:
        return await qr.inbox_links(container, waba_id)

    async def create_inbox_link(self, container: Container, waba_id: int, body: object) -> qr.InboxLink:
        return await qr.inbox_create(container, waba_id, body)

    async def delete_inbox_link(self, container: Container, waba_id: int, code: str) -> None:
        await qr.inbox_delete(container, waba_id, code)

    async def inbox_link_image(self, container: Container, waba_id: int, code: str, kind: str) -> bytes:
        """The link's QR code as "svg" or "png"."""
        return await qr.inbox_image(container, waba_id, code, kind)

    async def inbox_profile(self, container: Container, waba_id: int, raw_number_id: object) -> dict[str, Any]:
        """Every profile field of one of the business's numbers (unset ones empty), and the number's id."""
        number_id = await qr.inbox_number(container, waba_id, raw_number_id)
        scope = await self.scope_of(waba_id)
        [item] = (await profiles.get_business_profile(container, scope, str(number_id), None))["data"]
        item.pop("messaging_product", None)
        empty = {name: "" for name in profiles.TEXT_LIMITS}
        return {"number_id": str(number_id), **empty, "websites": [], "profile_picture_url": None, **item}

    async def update_inbox_profile(
        self, container: Container, waba_id: int, raw_number_id: object, body: object
    ) -> dict[str, Any]:
        """A partial update with the Cloud API's rules; a bad value is a 400 in the inbox's terms."""
        number_id = await qr.inbox_number(container, waba_id, raw_number_id)
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        unknown = sorted(set(body) - {*profiles.TEXT_LIMITS, "websites", "vertical"})
        if unknown:
            raise InvalidInputError(f"{unknown[0]} is not a profile field you can change here")
        scope = await self.scope_of(waba_id)
        try:
            await profiles.update_business_profile(
                container, scope, str(number_id), {**body, "messaging_product": "whatsapp"}
            )
        except GraphError as exc:
            raise InvalidInputError(exc.details) from exc
        return await self.inbox_profile(container, waba_id, str(number_id))


class _PeopleObserver:
    def __init__(self, service: BusinessService) -> None:
        self._service = service

    def on_message(
        self,
        conn: Connection,
        row: messaging.MessageRow,
        content: Any,
        statuses: dict[int, int],
        referral_clid: str | None,
    ) -> dict[int, int]:
        return self._service.on_person_message(conn, row, content, statuses, referral_clid)

    def on_receipts(self, conn: Connection, reader_id: int, message_ids: list[int], status: int, now: int) -> None:
        self._service.on_person_receipts(conn, reader_id, message_ids, status, now)

    def on_reaction(self, conn: Connection, user_id: int, row: messaging.MessageRow, emoji: str, now: int) -> None:
        self._service.on_person_reaction(conn, user_id, row, emoji, now)


class _QualityObserver:
    def __init__(self, service: BusinessService) -> None:
        self._service = service

    def on_block(self, conn: Connection, blocker_id: int, blocked_id: int, now: int) -> None:
        self._service.on_negative_signal(conn, blocker_id, blocked_id, "block", now)

    def on_report(self, conn: Connection, reporter_id: int, reported_id: int, now: int) -> None:
        self._service.on_negative_signal(conn, reporter_id, reported_id, "report", now)
