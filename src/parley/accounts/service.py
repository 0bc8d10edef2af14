"""Accounts: sign-in by phone number and one-time code, profiles, devices and their bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import Connection

from parley.accounts import repository as repo
from parley.accounts.errors import (
    CodeExpiredError,
    DeviceNotFoundError,
    InvalidTokenError,
    TooManyAttemptsError,
    UserNotFoundError,
    WrongCodeError,
)
from parley.accounts.personal_data import ErasedAccount  # rights
from parley.accounts.sender import CodeSender
from parley.config import DiscoverySettings, OtpSettings
from parley.kit.clock import Clock
from parley.kit.errors import RateLimitedError
from parley.kit.ids import IdGenerator
from parley.kit.phone import normalize_phone
from parley.kit.token_cache import RevocationCounter, TokenCache
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.platform.ratelimit import RateLimiter

_TOKEN_CACHE_TTL_S = 60.0
_REVOCATIONS_TOPIC = "accounts:revocations"
_RENAMES_TOPIC = "accounts:renames"
_ERASED_TOPIC = "accounts:erased"  # rights: a number whose account was erased no longer leads to it
# Names cached for sends (the sender's name rides on every message event). A rename evicts at once in every process
# the bus reaches; one it does not reach (the CLI beside a SQLite server) is seen within this time.
_NAME_TTL_MS = 60_000
_NAMES_MAX = 200_000


def device_topic(device_id: int) -> str:
    """Where a device's open connections hear that it was revoked."""
    return f"d:{device_id}"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through one of their devices."""

    user_id: int
    device_id: int


@dataclass(frozen=True)
class Session:
    token: str
    user_id: int
    device_id: int


@dataclass(frozen=True)
class CodeRequest:
    phone: str
    expires_in: int
    resend_after: int


class _VerifyOutcome(Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"


def _in_time(seconds: int) -> str:
    """A wait as people read it: "in 12 s", "in 53 min"."""
    return f"in {seconds} s" if seconds < 90 else f"in {(seconds + 59) // 60} min"


def _raise_unless_ok(outcome: _VerifyOutcome) -> None:
    if outcome is _VerifyOutcome.EXPIRED:
        raise CodeExpiredError("no valid code for this number: request a new one")
    if outcome is _VerifyOutcome.LOCKED:
        raise TooManyAttemptsError("too many wrong codes: request a new one")
    if outcome is _VerifyOutcome.WRONG:
        raise WrongCodeError("the code is not right")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        rate_limiter: RateLimiter,
        code_sender: CodeSender,
        otp: OtpSettings,
        discovery: DiscoverySettings,
        code_secret: bytes,
        revocation_counter: RevocationCounter | None = None,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._rate_limiter, self._code_sender, self._otp = rate_limiter, code_sender, otp
        self._discovery = discovery
        self._code_secret = code_secret
        self._token_cache: TokenCache[Principal] = TokenCache(revocation_counter, _TOKEN_CACHE_TTL_S, 200_000)
        self._phone_cache: dict[str, repo.UserRow] = {}
        self._names: dict[int, tuple[str, int]] = {}  # user id -> (name, expires at, ms)
        self._names_generation = 0  # moves on every rename, so a name read before it is not cached after it
        self._revoked_observers: list[Callable[[Connection, int, int, int], None]] = []

    async def start(self) -> None:
        # Every process forgets a revoked token at once, wherever the revocation happened.
        self._bus.subscribe(_REVOCATIONS_TOPIC, lambda event: self._evict(str(event["token_hash"])))
        self._bus.subscribe(_RENAMES_TOPIC, lambda event: self._forget_name(int(event["user_id"])))
        self._bus.subscribe(_ERASED_TOPIC, lambda event: self._forget_erased(str(event["phone"])))  # rights

    # --- sign-in -------------------------------------------------------------------------------

    async def request_code(self, raw_phone: str, client_address: str) -> CodeRequest:
        phone = normalize_phone(raw_phone)
        interval = self._otp.resend_interval_s
        retry_after = await self._rate_limiter.hit(f"otp:{phone}:burst", 1, interval)
        if retry_after is not None:
            raise RateLimitedError(f"a code was sent recently; ask again {_in_time(retry_after)}", retry_after)
        # Per number, per client address and for the whole server: codes are paid texts (SMS pumping).
        otp = self._otp
        for key, limit, window, why in (
            (f"otp:{phone}:hour", otp.max_per_hour, 3600, "too many codes for this number"),
            (f"otp:addr:{client_address}", otp.max_per_address_per_hour, 3600, "too many codes from your network"),
            ("otp:all", otp.max_per_minute, 60, "too many codes are being requested right now"),
        ):
            retry_after = await self._rate_limiter.hit(key, limit, window)
            if retry_after is not None:
                raise RateLimitedError(f"{why}; ask again {_in_time(retry_after)}", retry_after)
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._clock.now_ms()
        expires_at = now + self._otp.ttl_s * 1000
        code_hash = self._hash_code(phone, code)
        await self._db.write("accounts.request_code", lambda c: repo.put_otp(c, phone, code_hash, expires_at, now))
        await self._code_sender.send(phone, code, now)
        return CodeRequest(phone, self._otp.ttl_s, interval)

    async def verify(self, raw_phone: str, code: str, device_name: str, name: str | None = None) -> Session:
        phone = normalize_phone(raw_phone)
        now = self._clock.now_ms()
        token = secrets.token_urlsafe(32)
        code_hash = self._hash_code(phone, code)

        def unit(conn: Connection) -> tuple[_VerifyOutcome, Session | None]:
            outcome = self._use_code_in(conn, phone, code_hash, now)
            if outcome is not _VerifyOutcome.OK:
                return outcome, None
            return _VerifyOutcome.OK, self._open_session(conn, phone, name or "", device_name, token, now)

        outcome, session = await self._db.write("accounts.verify", unit)
        _raise_unless_ok(outcome)
        assert session is not None
        if name:
            await self._renamed(session.user_id)
        return session

    async def create_user_with_token(self, raw_phone: str, name: str, device_name: str = "CLI") -> Session:
        """For operators and scripts: an account and a device token without a one-time code."""
        phone = normalize_phone(raw_phone)
        now = self._clock.now_ms()
        token = secrets.token_urlsafe(32)
        session = await self._db.write(
            "accounts.create_user_with_token", lambda c: self._open_session(c, phone, name, device_name, token, now)
        )
        if name:
            await self._renamed(session.user_id)
        return session

    def _open_session(self, conn: Connection, phone: str, name: str, device_name: str, token: str, now: int) -> Session:
        user = repo.get_user_by_phone(conn, phone)
        if user is None:
            user = repo.insert_user(conn, self._ids.next_id(), phone, name, now)
        elif name and name != user.name:
            repo.set_user_name(conn, user.id, name)
        device_id = self._ids.next_id()
        repo.insert_device(conn, device_id, user.id, device_name, hash_token(token), now)
        return Session(token, user.id, device_id)

    def _use_code_in(self, conn: Connection, phone: str, code_hash: str, now: int) -> _VerifyOutcome:
        """Check a one-time code and consume it when right; a wrong guess is counted (the unit still commits)."""
        otp = repo.get_otp(conn, phone)
        if otp is None or otp.expires_at <= now:
            return _VerifyOutcome.EXPIRED
        if otp.attempts >= self._otp.max_attempts:
            return _VerifyOutcome.LOCKED
        if not hmac.compare_digest(otp.code_hash, code_hash):
            # Counted even though the caller gets an error: the unit commits, then we raise.
            repo.count_otp_attempt(conn, phone)
            return _VerifyOutcome.LOCKED if otp.attempts + 1 >= self._otp.max_attempts else _VerifyOutcome.WRONG
        repo.delete_otp(conn, phone)
        return _VerifyOutcome.OK

    def _hash_code(self, phone: str, code: str) -> str:
        return hmac.new(self._code_secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    # --- tokens and devices ---------------------------------------------------------------------

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise InvalidTokenError("missing bearer token")
        token_hash = hash_token(token)
        cached = self._token_cache.get(token_hash)
        if cached is not None:
            return cached
        generation = self._token_cache.generation
        device = await self._db.read(lambda c: repo.get_device_by_token_hash(c, token_hash))
        if device is None or device.revoked_at is not None:
            raise InvalidTokenError("the token is unknown or was revoked")
        principal = Principal(device.user_id, device.id)
        self._token_cache.put(token_hash, principal, generation)
        now = self._clock.now_ms()
        if now - device.last_seen_at > 60_000:
            await self._db.write("accounts.touch_device", lambda c: repo.touch_device(c, device.id, now), urgent=True)
        return principal

    async def list_devices(self, user_id: int) -> list[repo.DeviceRow]:
        return await self._db.read(lambda c: repo.list_active_devices(c, user_id))

    def on_device_revoked(self, observer: Callable[[Connection, int, int, int], None]) -> None:
        """`observer(conn, user_id, device_id, now)` runs inside the unit that signs a device out (its keys go)."""
        self._revoked_observers.append(observer)

    async def revoke_device(self, user_id: int, device_id: int) -> None:
        now = self._clock.now_ms()

        def unit(conn: Connection) -> str | None:
            device = repo.get_device(conn, device_id)
            if device is None or device.user_id != user_id or device.revoked_at is not None:
                return None
            token_hash = repo.revoke_device(conn, device_id, now)
            for observer in self._revoked_observers:
                observer(conn, user_id, device_id, now)
            return token_hash

        token_hash = await self._db.write("accounts.revoke_device", unit)
        if token_hash is None:
            raise DeviceNotFoundError("no such device")
        self._evict(token_hash)
        await self._bus.publish_many(
            [(_REVOCATIONS_TOPIC, {"token_hash": token_hash}), (device_topic(device_id), {"type": "revoked"})]
        )

    def _evict(self, token_hash: str) -> None:
        self._token_cache.evict(token_hash)

    # --- profiles ------------------------------------------------------------------------------

    async def get_user(self, user_id: int) -> repo.UserRow:
        user = await self._db.read(lambda c: repo.get_user(c, user_id))
        if user is None:
            raise UserNotFoundError("no such user")
        return user

    async def rename(self, user_id: int, name: str) -> repo.UserRow:
        await self._db.write("accounts.rename", lambda c: repo.set_user_name(c, user_id, name))
        await self._renamed(user_id)
        return await self.get_user(user_id)

    # --- names for sends (cached) ---------------------------------------------------------------

    def cached_name(self, user_id: int) -> tuple[str | None, int]:
        """(the user's name if cached and fresh, else None; the generation to hand `remember_name`)."""
        entry = self._names.get(user_id)
        if entry is None or entry[1] <= self._clock.now_ms():
            return None, self._names_generation
        return entry[0], self._names_generation

    def remember_name(self, user_id: int, name: str, generation: int) -> None:
        """Cache a name read from the database, unless a rename landed since (`generation` from `cached_name`)."""
        if generation != self._names_generation:
            return
        if len(self._names) >= _NAMES_MAX:
            self._names.clear()
        self._names[user_id] = (name, self._clock.now_ms() + _NAME_TTL_MS)

    async def _renamed(self, user_id: int) -> None:
        self._forget_name(user_id)
        await self._bus.publish_many([(_RENAMES_TOPIC, {"user_id": str(user_id)})])

    def _forget_name(self, user_id: int) -> None:
        self._names_generation += 1
        self._names.pop(user_id, None)

    async def discover(self, user_id: int, client_address: str, raw_phone: str) -> repo.UserRow:
        """Look someone up by number, limited per account and per address so numbers cannot be enumerated."""
        for key, limit, who in (
            (f"discover:user:{user_id}", self._discovery.per_account_per_hour, "this account"),
            (f"discover:addr:{client_address}", self._discovery.per_address_per_hour, "your network"),
        ):
            retry_after = await self._rate_limiter.hit(key, limit, 3600)
            if retry_after is not None:
                raise RateLimitedError(
                    f"too many number lookups from {who}; ask again {_in_time(retry_after)}", retry_after
                )
        return await self.find_by_phone(raw_phone)

    async def find_for(self, user_id: int, raw_phone: str) -> repo.UserRow:
        """The account behind a number a person named (a send, a group): an unknown number costs a lookup.

        Only misses count, so everyday sends stay free of the limit, while a send or a group cannot be used
        to probe numbers faster than lookups can.
        """
        try:
            return await self.find_by_phone(raw_phone)
        except UserNotFoundError:
            limit = self._discovery.per_account_per_hour
            retry_after = await self._rate_limiter.hit(f"discover:user:{user_id}", limit, 3600)
            if retry_after is not None:
                raise RateLimitedError(
                    f"too many number lookups from this account; ask again {_in_time(retry_after)}", retry_after
                ) from None
            raise

    async def find_by_phone(self, raw_phone: str) -> repo.UserRow:
        """The account behind a phone number (cached: numbers never change owner)."""
        phone = normalize_phone(raw_phone)
        user = self._phone_cache.get(phone)
        if user is None:
            user = await self._db.read(lambda c: repo.get_user_by_phone(c, phone))
            if user is None:
                raise UserNotFoundError(f"{phone} is not on Parley")
            if len(self._phone_cache) > 200_000:
                self._phone_cache.clear()
            self._phone_cache[phone] = user
        return user

    # --- erasure (rights) ------------------------------------------------------------------------  # rights

    async def confirm_code(self, raw_phone: str, code: str) -> None:  # rights
        """`code` is the one-time code just sent to `raw_phone` (a confirmation, not a sign-in): consumed when right,
        else the matching error. Its own unit, so a wrong guess stays counted whatever the caller does next."""
        phone = normalize_phone(raw_phone)
        code_hash = self._hash_code(phone, code)
        now = self._clock.now_ms()
        outcome = await self._db.write("accounts.confirm_code", lambda c: self._use_code_in(c, phone, code_hash, now))
        _raise_unless_ok(outcome)

    async def forget_erased(self, erased: ErasedAccount) -> None:  # rights
        """After the erasure committed: every process drops the tokens, the name and the number it cached, and the
        person's open streams close."""
        for token_hash in erased.token_hashes:
            self._evict(token_hash)
        self._forget_name(erased.user_id)
        self._forget_erased(erased.phone)
        items: list[tuple[str, dict[str, object]]] = [
            (_REVOCATIONS_TOPIC, {"token_hash": h}) for h in erased.token_hashes
        ]
        items += [(device_topic(d), {"type": "revoked"}) for d in erased.device_ids]
        items += [(_RENAMES_TOPIC, {"user_id": str(erased.user_id)}), (_ERASED_TOPIC, {"phone": erased.phone})]
        await self._bus.publish_many(items)

    def _forget_erased(self, phone: str) -> None:  # rights
        self._phone_cache.pop(phone, None)
