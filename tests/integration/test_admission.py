"""Admission control: a busy process refuses new sends at once (503 / Meta's 130429 with Retry-After), while
reads, acks and everything that drains work are still served."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection

from parley.app import _StreamFastPathApp
from parley.config import AdmissionSettings, Settings
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import Biz, create_business, person_writes, text_to


def _client_send(server: LiveServer, sender: User, to: User, client_id: str) -> Any:
    return server.http.post(
        "/client/v1/messages",
        headers=sender.headers,
        json={"to": to.phone, "type": "text", "text": {"body": "hi"}, "client_id": client_id},
    )


def _assert_client_overloaded(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.json() == {"error": {"code": "overloaded", "message": "the server is busy: retry shortly"}}
    assert response.headers["Retry-After"] == "1"


def _assert_graph_overloaded(response: httpx.Response) -> None:
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == 130429 and error["message"] == "(#130429) Rate limit hit"
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert response.headers["Retry-After"] == "1"


async def test_at_its_request_cap_a_process_refuses_sends_and_still_serves_the_rest(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    biz = await create_business(server)
    await person_writes(server, alice, biz)  # opens the business's window to answer Alice
    first = (await _client_send(server, alice, bob, "before")).json()["id"]
    app = server.app
    assert isinstance(app, _StreamFastPathApp)
    app.admission.in_flight = app.admission.cap  # as if `cap` requests were being served right now
    try:
        _assert_client_overloaded(await _client_send(server, alice, bob, "during"))
        _assert_graph_overloaded(await text_to(server, biz, alice))
        # Refused before anything was read or written: the retry with the same client_id is the first send.
        assert (await server.http.post(f"/client/v1/messages/{first}/read", headers=bob.headers)).status_code == 204
        assert (await server.http.get("/client/v1/chats", headers=bob.headers)).status_code == 200
        assert (await server.http.get("/healthz")).status_code == 200
    finally:
        app.admission.in_flight = 0
    assert (await _client_send(server, alice, bob, "during")).status_code == 200
    assert (await text_to(server, biz, alice)).status_code == 200


class _WriterGate:
    """A write unit that holds the SQLite writer until opened, so the units after it have to wait."""

    def __init__(self) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()

    def unit(self, _conn: Connection) -> None:
        self.entered.set()
        assert self.opened.wait(timeout=60)


@pytest.fixture
async def busy_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admission": AdmissionSettings(max_waiting_writes=2)})


async def test_with_the_writer_queue_full_sends_are_refused_and_acks_and_reads_wait_their_turn(
    busy_settings: Settings,
) -> None:
    async with running_server(busy_settings) as server:
        if server.container.db.dialect != "sqlite":
            pytest.skip("the SQLite writer's lanes; PostgreSQL's bound is in tests/contract/test_database.py")
        alice, bob = await server.user("Alice"), await server.user("Bob")
        biz: Biz = await create_business(server)
        await person_writes(server, alice, biz)
        first = (await _client_send(server, alice, bob, "before")).json()["id"]
        me = await server.container.accounts.authenticate(bob.token)
        pending = await server.container.messaging.pending_inbox(me.user_id, 0, 100)

        gate = _WriterGate()
        held = asyncio.ensure_future(server.container.db.write("tests.hold_writer", gate.unit))
        await asyncio.to_thread(gate.entered.wait, 30)
        try:
            person_sends = [asyncio.ensure_future(_client_send(server, alice, bob, f"flood-{i}")) for i in range(4)]
            graph_sends = [asyncio.ensure_future(text_to(server, biz, alice, f"flood-{i}")) for i in range(4)]
            # Never refused, however full: they run once the writer is free again.
            read = asyncio.ensure_future(server.http.post(f"/client/v1/messages/{first}/read", headers=bob.headers))
            ack = asyncio.ensure_future(
                server.container.messaging.acknowledge(me.user_id, me.device_id, int(pending[-1]["id"]))
            )
            # Two sends wait for the writer; the other six are answered at once, while it is still held.
            waiting, refused = {*person_sends, *graph_sends}, 0
            while refused < 6:
                done, waiting = await asyncio.wait(waiting, timeout=15, return_when=asyncio.FIRST_COMPLETED)
                assert done, "refusals come at once"
                refused += sum(task.result().status_code == 503 for task in done)
            assert len(waiting) == 2
            assert not read.done() and not ack.done()
            assert not gate.opened.is_set()
        finally:
            gate.opened.set()
        await held
        await asyncio.gather(*person_sends, *graph_sends)
        for task in person_sends:
            if (response := task.result()).status_code != 200:
                _assert_client_overloaded(response)
        for task in graph_sends:
            if (response := task.result()).status_code != 200:
                _assert_graph_overloaded(response)
        answers = [t.result().status_code for t in [*person_sends, *graph_sends]]
        assert sorted(answers) == [200, 200, 503, 503, 503, 503, 503, 503]
        assert (await read).status_code == 204
        await ack
