"""Business accounts (WABAs), their numbers and access tokens: what the operator creates and the Graph API reads."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley import accounts, billing, webhooks
from parley.business import repository as repo
from parley.business.numbers import BusinessNumbers
from parley.business.policy import CSW_MS, tier_limit, tier_name
from parley.business.token_use import TokenUses
from parley.config import BusinessSettings
from parley.graph import GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.periodic import PeriodicTask
from parley.kit.phone import InvalidPhoneNumberError, normalize_phone
from parley.kit.token_cache import RevocationCounter, TokenCache
from parley.platform.bus import Bus
from parley.platform.db import Database

_TOKEN_CACHE_TTL_S = 60.0
_REVOCATIONS_TOPIC = "business:revocations"


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


class BusinessAccounts:
    """Businesses, numbers and tokens: created by the operator, read by the Graph API, the console and the inbox."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        numbers: BusinessNumbers,
        billing_service: billing.BillingService,
        settings: BusinessSettings,
        revocation_counter: RevocationCounter | None = None,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._numbers = numbers
        self._billing = billing_service
        self._settings = settings
        self._tiers = tuple(settings.messaging_limit_tiers)
        self._token_cache: TokenCache[GraphScope] = TokenCache(revocation_counter, _TOKEN_CACHE_TTL_S)
        # Last use of each token: noted in memory per call, written once a minute (see token_use.py for why).
        self._token_uses = TokenUses()
        self._token_use_flusher = PeriodicTask(
            "token last-used flush", settings.token_use_flush_s, self.flush_token_uses
        )

    async def start(self) -> None:
        self._bus.subscribe(_REVOCATIONS_TOPIC, self._on_revocation)
        self._token_use_flusher.start()

    async def close(self) -> None:
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
        number = repo.NumberRow(
            waba_id=waba_id,
            id=number_id,
            user_id=user_id,
            display_phone_number=phone,
            verified_name=name,
            quality_rating="GREEN",
            status="CONNECTED",
            throughput_mps=self._settings.default_throughput_mps,
            created_at=now,
        )

        def unit(conn: Connection) -> None:
            if accounts.get_user_by_phone(conn, phone) is not None:
                raise GraphError(100, f"{phone} already has a Parley account; a business needs a number of its own")
            accounts.insert_user(conn, user_id, phone, name, now, kind="business")
            repo.insert_waba(conn, waba_id, name, app_id, now)
            if self._billing.enabled:
                self._billing.open_business_in(conn, waba_id)  # wallet with the trial credit
            repo.insert_number(conn, number)
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
        await self._numbers.created(number)
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

    # --- the business as its team and console see it ----------------------------------------------

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
        number = await self._numbers.get(number_id)
        if number is None:
            raise NotFoundError("no such number")
        return number.user_id

    def timezone_in(self, conn: Connection, waba_id: int) -> str:
        waba = repo.get_waba(conn, waba_id)
        return "UTC" if waba is None else waba.timezone

    async def set_timezone(self, waba_id: int, timezone: object) -> None:
        if not isinstance(timezone, str) or not _valid_timezone(timezone):
            raise InvalidInputError(f"{timezone!r} is not an IANA time zone such as Europe/Paris")
        await self._db.write("business.set_timezone", lambda c: repo.set_waba_timezone(c, waba_id, timezone))

    async def number_in_scope(self, scope: GraphScope, raw_id: str | int) -> repo.NumberRow:
        return await self._numbers.in_scope(scope, raw_id)

    async def number_of_user(self, user_id: int) -> repo.NumberRow:
        return await self._numbers.of_user(user_id)

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

    # --- sending --------------------------------------------------------------------------------
