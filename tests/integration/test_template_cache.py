"""Approved templates are cached for the send path: a pause, a resume or a deletion made in this process or in
another one (heard over the bus) is seen by the very next send."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from parley.config import Settings
from parley.container import Container, build_container
from parley.graph import GraphScope
from parley.kit.clock import FrozenClock
from parley.templates import repository as template_repo
from parley.templates.cache import TEMPLATE_CHANGES_TOPIC
from tests.backends import REDIS_URL, require_service
from tests.conftest import LiveServer
from tests.integration.business_helpers import V, approved_template, create_business, send, template_body

MakeContainer = Callable[..., Awaitable[Container]]


async def test_a_paused_resumed_or_deleted_template_is_seen_by_the_next_send(server: LiveServer) -> None:
    biz = await create_business(server)
    template = await approved_template(server, biz)
    alice = await server.user("Alice")
    assert (await send(server, biz, template_body(alice))).status_code == 200  # the template is now cached

    scope = await server.container.business.scope_of(int(biz.waba_id))
    await server.container.templates.pause(scope, int(template["id"]))
    paused = await send(server, biz, template_body(alice))
    assert paused.status_code == 400 and paused.json()["error"]["code"] == 132015, paused.text

    await server.container.templates.unpause(scope, int(template["id"]))
    assert (await send(server, biz, template_body(alice))).status_code == 200

    deleted = await server.http.delete(
        f"{V}/{biz.waba_id}/message_templates", params={"name": "order_update"}, headers=biz.headers
    )
    assert deleted.status_code == 200, deleted.text
    gone = await send(server, biz, template_body(alice))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == 132001, gone.text


@pytest.fixture
async def make_container(settings: Settings) -> AsyncIterator[MakeContainer]:
    made: list[Container] = []

    async def make(clock: FrozenClock, *, node: int | None = None) -> Container:
        with pytest.MonkeyPatch.context() as patch:
            if node is not None:
                patch.setattr(os, "getpid", lambda: node)
            container = build_container(settings, clock)
        await container.start()
        made.append(container)
        return container

    yield make
    for container in reversed(made):
        await container.close()


async def _find(c: Container, waba_id: int) -> template_repo.TemplateRow | None:
    return await c.db.read(lambda conn: c.template_cache.find_in(conn, waba_id, "order_update", "en_US"))


@pytest.mark.services  # Redis: runs in the PostgreSQL + Redis pass of scripts/test.sh
async def test_a_template_deleted_by_another_process_is_forgotten_over_the_bus(make_container: MakeContainer) -> None:
    require_service(REDIS_URL is not None, "Redis (PARLEY_TEST_REDIS_URL)")
    clock = FrozenClock(int(time.time() * 1000))
    server = await make_container(clock)
    # Both containers share this test's process: take the server's cache off the in-process notice, so only the
    # bus can tell it, as for a server in a process of its own.
    template_repo.CHANGE_LISTENERS.discard(server.template_cache)
    heard: list[dict[str, Any]] = []
    server.bus.subscribe(TEMPLATE_CHANGES_TOPIC, heard.append)
    settled = getattr(server.bus, "subscriptions_settled", None)
    if settled is not None:
        await settled()
    other = await make_container(clock, node=2)
    created = await other.business.create_business("Template Co", "+14155550351")
    scope = GraphScope(created.waba_id, 0, created.app_id)
    body = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Order {{1}} shipped", "example": {"body_text": [["A-1"]]}}],
    }
    await other.templates.create(scope, body)
    clock.advance(seconds=5)
    await other.templates.review_due_now()
    clock.advance(seconds=2)  # past the settling time of the review's change
    cached = await _find(server, created.waba_id)
    assert cached is not None and cached.status == "APPROVED"

    heard.clear()
    await other.templates.delete(scope, "order_update")
    for _ in range(500):
        if heard:
            break
        await asyncio.sleep(0.01)

    assert await _find(server, created.waba_id) is None
