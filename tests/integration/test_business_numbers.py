"""Which accounts are business numbers, as the inbound bridge knows it: a person's message reaches a business number
created after the server started, whichever process created it."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from parley import accounts, webhooks
from parley.business.numbers import NUMBER_CHANGES_TOPIC, NUMBERS_TOPIC
from parley.config import Settings
from parley.container import Container, build_container
from parley.kit.clock import Clock, FrozenClock
from parley.messaging.schemas import SendMessageIn, TextIn
from tests.backends import REDIS_URL, require_service

MakeContainer = Callable[..., Awaitable[Container]]
DAY_MS = 24 * 3_600_000


@pytest.fixture
async def make_container(settings: Settings) -> AsyncIterator[MakeContainer]:
    """Started containers over the test's database; `node` makes one another "process" (its own ids)."""
    made: list[Container] = []

    async def make(clock: Clock | None = None, *, node: int | None = None, bus: bool = True) -> Container:
        # Without `bus`, the container reaches no other one: the CLI beside a SQLite server.
        custom = settings if bus else settings.model_copy(update={"redis_url": None})
        with pytest.MonkeyPatch.context() as patch:
            if node is not None:
                patch.setattr(os, "getpid", lambda: node)
            container = build_container(custom, clock or FrozenClock(int(time.time() * 1000)))
        await container.start()
        made.append(container)
        return container

    yield make
    for container in reversed(made):
        await container.close()


async def _person(c: Container, phone: str) -> int:
    return (await c.accounts.create_user_with_token(phone, f"Person {phone[-4:]}")).user_id


async def _write(c: Container, sender_id: int, to: str, body: str) -> None:
    request = SendMessageIn(to=to, type="text", text=TextIn(body=body), client_id=uuid.uuid4().hex)
    await c.messaging.send(sender_id, request)


async def _inbound_texts(c: Container, waba_id: int) -> list[str]:
    rows = await c.db.read(lambda conn: webhooks.list_events(conn, waba_id, limit=1000))
    values: list[dict[str, Any]] = [row.value for row in rows if isinstance(row.value, dict)]
    return [m["text"]["body"] for v in values for m in v.get("messages", []) if m.get("type") == "text"]


async def test_a_number_created_after_start_receives_what_people_write(make_container: MakeContainer) -> None:
    c = await make_container()
    alice = await _person(c, "+14155550301")
    bob = await _person(c, "+14155550302")
    await _write(c, alice, "+14155550302", "between two people")

    created = await c.business.create_business("Late Co", "+14155550399")
    await _write(c, alice, "+14155550399", "Are you open?")
    await _write(c, bob, "+14155550301", "still between two people")

    assert await _inbound_texts(c, created.waba_id) == ["Are you open?"]


async def test_a_number_created_by_a_process_the_bus_does_not_reach_is_found(make_container: MakeContainer) -> None:
    # The CLI beside a SQLite server: the server hears nothing, the number's account is younger than its start.
    server = await make_container()
    alice = await _person(server, "+14155550311")
    cli = await make_container(node=2, bus=False)

    created = await cli.business.create_business("Cli Co", "+14155550398")
    await _write(server, alice, "+14155550398", "Hello from a person")

    assert await _inbound_texts(server, created.waba_id) == ["Hello from a person"]


@pytest.mark.services  # Redis: runs in the PostgreSQL + Redis pass of scripts/test.sh
async def test_a_number_created_by_another_process_is_known_from_the_bus(make_container: MakeContainer) -> None:
    require_service(REDIS_URL is not None, "Redis (PARLEY_TEST_REDIS_URL)")
    now = int(time.time() * 1000)
    # This server's clock runs a day ahead: every account the other process makes looks settled to it, so only the
    # bus can tell it that the new account is a business number.
    server = await make_container(FrozenClock(now + DAY_MS))
    heard: list[dict[str, Any]] = []
    server.bus.subscribe(NUMBERS_TOPIC, heard.append)
    settled = getattr(server.bus, "subscriptions_settled", None)
    if settled is not None:
        await settled()
    alice = await _person(server, "+14155550321")
    other = await make_container(FrozenClock(now), node=2)

    created = await other.business.create_business("Bus Co", "+14155550397")
    for _ in range(500):
        if any(event.get("user_id") == created.user_id for event in heard):
            break
        await asyncio.sleep(0.01)
    await _write(server, alice, "+14155550397", "Heard of you on the bus")

    assert await _inbound_texts(server, created.waba_id) == ["Heard of you on the bus"]


async def _blocked_by_three_people(c: Container, business_user_id: int, phones: list[str]) -> None:
    """Three blocks among no one messaged: the number's rating drops to YELLOW (quality.rating_for)."""
    target = (await c.db.read(lambda conn: accounts.get_users(conn, [business_user_id])))[business_user_id]
    for phone in phones:
        await c.privacy.block(await _person(c, phone), target)


async def test_a_quality_change_in_this_process_is_seen_by_the_next_lookup(make_container: MakeContainer) -> None:
    c = await make_container()
    created = await c.business.create_business("Cached Co", "+14155550331")
    before = await c.business_numbers.get(created.phone_number_id)  # now cached
    assert before is not None and before.quality_rating == "GREEN"

    await _blocked_by_three_people(c, created.user_id, ["+14155550332", "+14155550333", "+14155550334"])

    after = await c.business_numbers.get(created.phone_number_id)
    assert after is not None and (after.quality_rating, after.status) == ("YELLOW", "CONNECTED")


@pytest.mark.services  # Redis: runs in the PostgreSQL + Redis pass of scripts/test.sh
async def test_a_quality_change_in_another_process_is_heard_over_the_bus(make_container: MakeContainer) -> None:
    require_service(REDIS_URL is not None, "Redis (PARLEY_TEST_REDIS_URL)")
    server = await make_container()
    heard: list[dict[str, Any]] = []
    server.bus.subscribe(NUMBER_CHANGES_TOPIC, heard.append)
    settled = getattr(server.bus, "subscriptions_settled", None)
    if settled is not None:
        await settled()
    other = await make_container(node=2)
    created = await other.business.create_business("Bus Cached Co", "+14155550341")
    before = await server.business_numbers.get(created.phone_number_id)  # cached by the server
    assert before is not None and before.quality_rating == "GREEN"

    await _blocked_by_three_people(other, created.user_id, ["+14155550342", "+14155550343", "+14155550344"])
    for _ in range(500):
        if any(event.get("number_id") == created.phone_number_id for event in heard):
            break
        await asyncio.sleep(0.01)

    after = await server.business_numbers.get(created.phone_number_id)
    assert after is not None and after.quality_rating == "YELLOW"
