"""WebhookService: subscriptions and callback overrides (verified by Meta's handshake), the delivery loop,
the delivery log and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import random
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection

from parley.config import WebhookSettings
from parley.graph import GraphError, object_not_found
from parley.kit.clock import Clock
from parley.kit.ids import IdGenerator, parse_id
from parley.platform.bus import Bus, Subscription
from parley.platform.db import Database
from parley.platform.egress import AddressPolicy, Resolver, checked_client
from parley.webhooks import repository
from parley.webhooks.models import TEST_FIELD
from parley.webhooks.repository import DeliveryLogEntry, WebhookApp, WebhookEventRow, WebhookOverride
from parley.webhooks.transport import DeliveryClient
from parley.webhooks.worker import DeliveryEngine, DeliveryPolicy

log = logging.getLogger(__name__)

# Published (empty) by a process that committed webhook events but does not deliver; delivering processes wake.
WAKE_TOPIC = "webhooks.due"

# What GET /{app_id}/subscriptions lists for an app subscribed to every field (cloud-api.md §3.5).
KNOWN_FIELDS = (
    "messages",
    "message_template_status_update",
    "message_template_quality_update",
    "message_template_components_update",
    "template_category_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "account_update",
    "account_alerts",
    "account_review_update",
    "business_capability_update",
    "user_preferences",
    "security",
    "flows",
    "smb_message_echoes",
    "parley_contacts",  # a Parley extension: the team inbox's contacts, created and edited
)
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class AppSubscription:
    app_id: int
    callback_url: str
    fields: list[str] | None  # None: every field


def delivery_client(settings: WebhookSettings, policy: AddressPolicy) -> DeliveryClient:
    return DeliveryClient(
        policy,
        timeout_s=settings.timeout_s,
        max_connections=settings.max_concurrency,
        max_per_host=settings.max_per_target,
    )


def address_policy(settings: WebhookSettings, resolver: Resolver | None = None) -> AddressPolicy:
    """Public addresses, plus the networks the operator allowed (development and tests: loopback)."""
    return AddressPolicy.of([str(network) for network in settings.allowed_networks], resolver=resolver)


def policy_of(settings: WebhookSettings) -> DeliveryPolicy:
    return DeliveryPolicy(
        poll_interval_s=settings.poll_interval_ms / 1000,
        claim_batch=settings.claim_batch,
        backoff_base_s=settings.backoff_base_s,
        backoff_cap_s=settings.backoff_cap_s,
        max_age_s=settings.max_age_s,
        max_concurrency=settings.max_concurrency,
        max_per_target=settings.max_per_target,
        max_per_account=settings.max_per_account,
        deadline_s=settings.deadline_s,
        stream_queue=settings.stream_queue,
        lease_s=settings.lease_s,
        contention_delay_s=settings.contention_delay_ms / 1000,
    )


def parse_fields_param(raw: Any) -> list[str] | None:
    """`fields` as pywa sends it (`"messages,account_update"`), or a JSON list; None/empty: every field."""
    if raw is None or raw == "" or raw == []:
        return None
    items: list[Any]
    if isinstance(raw, list):
        items = raw
    elif isinstance(raw, str) and raw.strip().startswith("["):
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            raise GraphError(100, "fields must be a comma-separated list or a JSON list of field names") from error
        if not isinstance(parsed, list):
            raise GraphError(100, "fields must be a comma-separated list or a JSON list of field names")
        items = parsed
    elif isinstance(raw, str):
        items = raw.split(",")
    else:
        raise GraphError(100, "fields must be a comma-separated list or a JSON list of field names")
    fields: list[str] = []
    for item in items:
        name = str(item).strip() if isinstance(item, str) else ""
        if not _FIELD_NAME.match(name):
            raise GraphError(100, f"invalid webhook field {item!r}")
        if name not in fields:
            fields.append(name)
    return fields or None


def check_callback_url(url: str, what: str = "callback_url") -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 2048
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        valid = False
    if not valid:
        raise GraphError(100, f"{what} must be an absolute http(s) URL of at most 2048 characters")
    return url


def challenge_url(url: str, params: dict[str, str]) -> httpx.URL:
    """The callback URL with Meta's hub.* parameters added to its own query (a `?tenant=7` stays)."""
    return httpx.URL(url).copy_merge_params(params)


class VerificationSlots:
    """How many callback verifications run at once: in all, and per business account. Over either, a new one
    is refused at once rather than queued (a tenant's slow receivers then only block that tenant)."""

    def __init__(self, total: int, per_account: int) -> None:
        self._total = total
        self._per_account = per_account
        self._running: dict[int, int] = {}

    @contextlib.contextmanager
    def take(self, waba_id: int) -> Iterator[None]:
        if sum(self._running.values()) >= self._total or self._running.get(waba_id, 0) >= self._per_account:
            raise GraphError(
                80007,
                "Too many callback verifications are in progress for this account; try again shortly",
                http_status=429,
                retry_after_s=5,
            )
        self._running[waba_id] = self._running.get(waba_id, 0) + 1
        try:
            yield
        finally:
            self._running[waba_id] -= 1
            if not self._running[waba_id]:
                del self._running[waba_id]


class WebhookService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        settings: WebhookSettings,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
        bus: Bus | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._wake_subscription: Subscription | None = None
        self._publishing: asyncio.Task[None] | None = None
        self._publish_again = False
        self._clock = clock
        self._ids = ids
        self._settings = settings
        policy = address_policy(settings, resolver)
        self._client = delivery_client(settings, policy)
        self._engine = DeliveryEngine(db, clock, ids, policy_of(settings), self._client, rng)
        # Verifications have their own pool and slots: registrations never wait behind deliveries.
        self._verify_client = checked_client(
            policy,
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.max_verifications, max_keepalive_connections=0),
        )
        self._verifications = VerificationSlots(settings.max_verifications, settings.max_verifications_per_account)
        self._started = False

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Spawn the delivery loop (unless settings say this process does not deliver)."""
        if self._settings.deliver and not self._started:
            if self._bus is not None:
                # Another process (a `parley serve --no-worker`) committed events: look now, not at the next poll.
                self._wake_subscription = self._bus.subscribe(WAKE_TOPIC, lambda _event: self._engine.notify())
            self._engine.start()
        self._started = True

    async def close(self) -> None:
        if self._wake_subscription is not None:
            self._wake_subscription.cancel()
            self._wake_subscription = None
        if self._publishing is not None:
            with contextlib.suppress(Exception):
                await self._publishing
        await self._engine.close()
        await self._client.aclose()
        await self._verify_client.aclose()

    def notify(self) -> None:
        """New events were committed: look for them now rather than at the next poll (here when this process
        delivers, else in the processes that do, over the bus; the poll stays the fallback if a wake-up is lost)."""
        if self._settings.deliver:
            self._engine.notify()
        elif self._bus is not None:
            self._publish_wake()

    def _publish_wake(self) -> None:
        # At most one publish in flight: wake-ups that come meanwhile fold into one more after it, so a busy
        # server sends one message per Redis round trip, not one per unit.
        if self._publishing is not None and not self._publishing.done():
            self._publish_again = True
            return
        self._publishing = asyncio.get_running_loop().create_task(self._publish_wakes())

    async def _publish_wakes(self) -> None:
        assert self._bus is not None
        while True:
            self._publish_again = False
            try:
                await self._bus.publish(WAKE_TOPIC, {})
            except Exception:  # the worker's poll finds the events anyway
                log.warning("could not publish a webhook wake-up", exc_info=True)
            if not self._publish_again:
                return

    async def deliver_due_now(self) -> None:
        """One full delivery pass, awaited: what tests use to drive delivery deterministically."""
        await self._engine.deliver_due_now()

    # ------------------------------------------------------------------------------------------ verification

    async def verify_callback(self, url: str, verify_token: str, *, waba_id: int) -> None:
        """Meta's handshake: GET url?hub.mode=subscribe&hub.challenge=..&hub.verify_token=.. must echo the
        challenge with a 200, within `deadline_s` all told.

        Every failure gets the same answer: which one it was (refused address, closed port, HTTP 404, a wrong
        echo) would map the operator's network for whoever registers URLs. The log has the reason.
        """
        check_callback_url(url)
        challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
        params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
        with self._verifications.take(waba_id):
            try:
                async with asyncio.timeout(self._settings.deadline_s):
                    async with self._verify_client.stream("GET", challenge_url(url, params)) as response:
                        status = response.status_code
                        answer = await read_answer(response, 1024)
            except Exception as error:  # refused address, unreachable, timed out, a URL httpx refuses
                log.info("callback verification of WABA %s failed: %s", waba_id, type(error).__name__)
                raise _verification_failed() from error
        if status != 200 or answer != challenge.encode():
            log.info(
                "callback verification of WABA %s failed: HTTP %s, echo matched: %s",
                waba_id,
                status,
                answer == challenge.encode(),
            )
            raise _verification_failed()

    # ------------------------------------------------------------------------------------------ apps

    async def register_app(
        self, *, waba_id: int, app_id: int, app_secret: str, callback_url: str | None = None, verify_token: str = ""
    ) -> None:
        now = self._clock.now_ms()
        await self._db.write(
            "webhooks.register_app",
            partial(
                repository.register_app,
                waba_id=waba_id,
                app_id=app_id,
                app_secret=app_secret,
                callback_url=callback_url,
                verify_token=verify_token,
                now=now,
            ),
        )

    async def get_app(self, app_id: int) -> WebhookApp | None:
        return await self._db.read(partial(repository.get_app, app_id=app_id))

    async def get_app_of_waba(self, waba_id: int) -> WebhookApp | None:
        return await self._db.read(partial(repository.get_app_of_waba, waba_id=waba_id))

    async def app_access_token(self, client_id: str, client_secret: str) -> str:
        """`GET /oauth/access_token?grant_type=client_credentials`: Meta's app token is `APP_ID|SECRET`."""
        app_id = _parse_int(client_id)
        app = None if app_id is None else await self.get_app(app_id)
        if app is None:
            raise GraphError(
                101, "Error validating application. Invalid application ID.", title="Invalid application ID"
            )
        if not hmac.compare_digest(app.app_secret.encode(), client_secret.encode()):
            raise GraphError(1, "Error validating client secret.", title="Error validating client secret")
        return f"{app.app_id}|{app.app_secret}"

    async def authenticate_app_token(self, token: str) -> WebhookApp | None:
        """The app an `APP_ID|SECRET` token names, or None when it is not a valid app token."""
        raw_id, bar, secret = token.partition("|")
        app_id = _parse_int(raw_id)
        if not bar or app_id is None:
            return None
        app = await self.get_app(app_id)
        if app is None or not hmac.compare_digest(app.app_secret.encode(), secret.encode()):
            return None
        return app

    async def subscribe_app(
        self, app_id: int, *, callback_url: str, verify_token: str, fields: list[str] | None
    ) -> None:
        """`POST /{app_id}/subscriptions`: verify the callback, then send the app's WABA's events there."""
        callback_url = check_callback_url(callback_url)
        app = await self.get_app(app_id)
        if app is None:
            raise object_not_found(app_id, "post")
        await self.verify_callback(callback_url, verify_token, waba_id=app.waba_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            repository.set_app_subscription(
                conn, app_id, callback_url=callback_url, verify_token=verify_token, fields=fields, now=now
            )
            repository.release_backlog(conn, app.waba_id, now=now)  # the new URL gets the backlog at once

        await self._db.write("webhooks.subscribe_app", unit)
        self.notify()

    async def unsubscribe_app(self, app_id: int) -> None:
        now = self._clock.now_ms()
        await self._db.write(
            "webhooks.unsubscribe_app",
            partial(
                repository.set_app_subscription, app_id=app_id, callback_url=None, verify_token="", fields=None, now=now
            ),
        )

    async def app_subscriptions(self, app_id: int) -> list[AppSubscription]:
        app = await self.get_app(app_id)
        if app is None or not app.callback_url:
            return []
        return [AppSubscription(app.app_id, app.callback_url, app.fields)]

    # ------------------------------------------------------------------------------------------ overrides

    async def subscribe_waba(self, waba_id: int, *, override_callback_uri: str | None, verify_token: str) -> None:
        """`POST /{waba_id}/subscribed_apps`: subscribe the WABA to its app; with a URI, override the callback
        for this WABA (verified first); without one, drop any WABA override."""
        url = check_callback_url(override_callback_uri, "override_callback_uri") if override_callback_uri else None
        if url is not None:
            await self.verify_callback(url, verify_token, waba_id=waba_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> bool:
            if not repository.set_waba_subscribed(conn, waba_id, True, now):
                return False
            repository.release_backlog(conn, waba_id, now=now)
            if url is None:
                repository.delete_override(conn, waba_id)
            else:
                repository.set_override(
                    conn,
                    scope="waba",
                    object_id=waba_id,
                    waba_id=waba_id,
                    callback_url=url,
                    verify_token=verify_token,
                    now=now,
                )
            return True

        if not await self._db.write("webhooks.subscribe_waba", unit):
            raise object_not_found(waba_id, "post")
        self.notify()

    async def unsubscribe_waba(self, waba_id: int) -> None:
        """`DELETE /{waba_id}/subscribed_apps`: from now on the WABA's events are dropped."""
        now = self._clock.now_ms()

        def unit(conn: Connection) -> bool:
            repository.delete_override(conn, waba_id)
            return repository.set_waba_subscribed(conn, waba_id, False, now)

        if not await self._db.write("webhooks.unsubscribe_waba", unit):
            raise object_not_found(waba_id, "delete")

    async def subscribed_apps(self, waba_id: int) -> tuple[WebhookApp | None, WebhookOverride | None]:
        def unit(conn: Connection) -> tuple[WebhookApp | None, WebhookOverride | None]:
            app = repository.get_app_of_waba(conn, waba_id)
            if app is None or not app.subscribed:
                return None, None
            return app, repository.get_override(conn, waba_id)

        return await self._db.read(unit)

    async def set_phone_override(
        self, waba_id: int, phone_number_id: int, callback_url: str | None, verify_token: str
    ) -> None:
        """`POST /{phone_number_id}` with `webhook_configuration`: an empty URL removes the override."""
        url = check_callback_url(callback_url, "override_callback_uri") if callback_url else None
        if url is not None:
            await self.verify_callback(url, verify_token, waba_id=waba_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            if url is None:
                repository.delete_override(conn, phone_number_id)
            else:
                repository.set_override(
                    conn,
                    scope="phone",
                    object_id=phone_number_id,
                    waba_id=waba_id,
                    callback_url=url,
                    verify_token=verify_token,
                    now=now,
                )
            repository.release_backlog(conn, waba_id, now=now)  # the number's events go to the new target now

        await self._db.write("webhooks.set_phone_override", unit)
        self.notify()

    async def phone_override(self, phone_number_id: int) -> WebhookOverride | None:
        return await self._db.read(partial(repository.get_override, object_id=phone_number_id))

    # ------------------------------------------------------------------------------------------ operators

    async def list_events(self, waba_id: int, limit: int = 100) -> list[WebhookEventRow]:
        return await self._db.read(partial(repository.list_events, waba_id=waba_id, limit=limit))

    async def get_event(self, event_id: int) -> WebhookEventRow | None:
        return await self._db.read(partial(repository.get_event, event_id=event_id))

    async def delivery_log(self, waba_id: int, limit: int = 100) -> list[DeliveryLogEntry]:
        return await self._db.read(partial(repository.delivery_log, waba_id=waba_id, limit=limit))

    async def delivery_page(
        self, waba_id: int, *, states: Sequence[str] | None = None, before: int | None = None, limit: int = 50
    ) -> tuple[list[DeliveryLogEntry], int | None]:
        """One page of the delivery log, newest first, and the cursor (`before`) of the next one."""
        return await self._db.read(
            partial(repository.delivery_page, waba_id=waba_id, states=states, before=before, limit=limit)
        )

    async def set_callback(self, waba_id: int, *, callback_url: str, verify_token: str) -> None:
        """The business's callback URL and verify token, as `POST /{app_id}/subscriptions` sets them: verified
        by the same handshake, dialled under the same egress policy; the subscribed fields stay as they are."""
        app = await self.get_app_of_waba(waba_id)
        if app is None:
            raise object_not_found(waba_id, "post")
        await self.subscribe_app(app.app_id, callback_url=callback_url, verify_token=verify_token, fields=app.fields)

    async def send_test_event(self, waba_id: int) -> int:
        """Put a signed test event (field `parley_test`) in the outbox; it goes out like any other, so the
        delivery log shows how it went. Returns its id."""
        app, override = await self.subscribed_apps(waba_id)
        if app is None and await self.get_app_of_waba(waba_id) is not None:
            raise GraphError(
                100,
                "This business is unsubscribed from its app (DELETE /{waba_id}/subscribed_apps), so its events are "
                "dropped: subscribe it again (POST /{waba_id}/subscribed_apps) first.",
            )
        if app is None or not (app.callback_url or override is not None):
            raise GraphError(100, "Set a callback URL first: there is nowhere to send the test event.")
        event_id = self._ids.next_id()
        value = {
            "test": True,
            "message": "A test event sent from the Parley console.",
            "timestamp": str(self._clock.now_ms() // 1000),
        }
        await self._db.write(
            "webhooks.send_test_event",
            partial(repository.enqueue, waba_id=waba_id, field=TEST_FIELD, value=value, event_id=event_id),
        )
        self.notify()
        return event_id

    async def attempts(self, event_id: int) -> list[Any]:
        return await self._db.read(partial(repository.attempts_of, event_id=event_id))

    async def release_backlog(
        self, waba_id: int, *, event_ids: Sequence[int] | None = None, since_ms: int | None = None
    ) -> int:
        """Send a business's events that wait for a retry now (its receiver was fixed); returns how many."""
        now = self._clock.now_ms()
        ids = list(event_ids) if event_ids is not None else None
        count = await self._db.write(
            "webhooks.release_backlog",
            partial(repository.release_backlog, waba_id=waba_id, now=now, event_ids=ids, since=since_ms),
        )
        if count:
            self.notify()
        return count

    async def redeliver(
        self,
        waba_id: int,
        *,
        event_ids: Sequence[int] | None = None,
        dead_only: bool = False,
        since_ms: int | None = None,
    ) -> int:
        """Send finished events again (dead, delivered or dropped; `dead_only` for dead ones), with a fresh
        retry window, and send the matching events that wait for a retry now (the receiver was fixed: the
        backlog need not wait for its back-off); returns how many are due now."""
        now = self._clock.now_ms()
        count = await self._db.write(
            "webhooks.redeliver",
            partial(
                repository.redeliver,
                waba_id=waba_id,
                now=now,
                event_ids=list(event_ids) if event_ids is not None else None,
                dead_only=dead_only,
                since=since_ms,
            ),
        )
        if count:
            self.notify()
        return count


async def read_answer(response: httpx.Response, limit: int) -> bytes:
    """Read an answer up to `limit` bytes (a huge or endless one is cut off)."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > limit:
            break
    return data[:limit]


def _verification_failed() -> GraphError:
    return GraphError(
        2200,
        "Callback verification failed: the URL did not answer the challenge. It must be reachable from the "
        "internet and answer the GET with HTTP 200 and the hub.challenge value when hub.verify_token matches.",
        http_status=400,
        title="Callback verification failed",
    )


def _parse_int(raw: str) -> int | None:
    return parse_id(raw.strip())
