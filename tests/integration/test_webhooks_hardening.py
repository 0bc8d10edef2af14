"""Webhooks under an adversarial tenant or receiver: a refused event holds nothing else back, callbacks reach
only permitted addresses (checked on the address dialled), a slow-drip receiver lets go by the deadline and
one business's slow receivers cannot take another's verification or delivery slots."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from parley.config import Settings
from parley.graph import GraphError
from parley.kit.clock import FrozenClock
from parley.platform.egress import AddressPolicy, ForbiddenAddressError, checked_client
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import V, ack_all, create_business, person_writes
from tests.integration.test_webhooks import (
    OTHER_WABA,
    PHONE_A,
    WABA,
    MakeContainer,
    add_app,
    event,
    make_container,
    numbers,
    put,
)
from tests.integration.test_webhooks_support import receiver

__all__ = ["make_container"]  # the fixture, shared with test_webhooks


class DripServer:
    """A receiver that answers `200` headers at once, then its body one byte every `interval_s`, for minutes:
    a per-read timeout never fires. Counts the connections it holds open."""

    def __init__(self, interval_s: float = 0.2, length: int = 1000) -> None:
        self.interval_s = interval_s
        self.length = length
        self.open = 0
        self.max_open = 0
        self.seen = 0
        self.changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> DripServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        with contextlib.suppress(AssertionError):  # let the clients' hang-ups be noticed first
            await self.until(lambda: self.open == 0, timeout=5)
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.seen += 1
        self.max_open = max(self.max_open, self.open)
        self.changed.set()
        try:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n".encode())
            for _ in range(self.length):
                await writer.drain()
                writer.write(b"1")
                await asyncio.sleep(self.interval_s)
                if reader.at_eof():
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.open -= 1
            self.changed.set()
            writer.close()

    async def until(self, predicate: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"drip server: open={self.open} seen={self.seen}"
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


# ------------------------------------------------------------------------------------------ finding 2


async def test_a_refused_event_does_not_hold_back_later_events_of_its_number(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock)
    async with receiver() as rx, receiver() as fixed:
        rx.refuse = lambda body: b"<script>" in body  # the receiver's firewall dislikes markup
        await add_app(c, WABA, rx.url)
        refused = await put(c, WABA, {"n": 0, "text": "<script>alert(1)</script>"})
        later = [await put(c, WABA, {"n": n}) for n in (1, 2, 3)]  # the same number
        await c.webhooks.deliver_due_now()
        assert sorted(numbers(rx)) == [0, 1, 2, 3]
        assert [(await event(c, e)).state for e in later] == ["delivered"] * 3
        waiting = await event(c, refused)
        assert waiting.state == "pending" and waiting.last_status == 403 and waiting.next_attempt_at > clock.now_ms()

        # The business points Parley at an endpoint that takes it: the backlog goes now, not at its retry time.
        await c.webhooks.subscribe_waba(WABA, override_callback_uri=fixed.url, verify_token=fixed.verify_token)
        await c.webhooks.deliver_due_now()  # the clock has not moved
        assert numbers(fixed) == [0]
        assert (await event(c, refused)).state == "delivered"


async def test_a_redelivery_sends_the_waiting_backlog_at_once(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock, backoff_base_s=600)  # the first retry is minutes away
    async with receiver() as rx:
        rx.refuse = lambda body: b"<b>" in body
        await add_app(c, WABA, rx.url)
        refused = [await put(c, WABA, {"n": n, "text": "<b>hi</b>"}) for n in range(3)]
        await c.webhooks.deliver_due_now()
        assert {(await event(c, e)).state for e in refused} == {"pending"}

        rx.refuse = None  # the receiver's operator fixed the firewall; the URL is the same
        assert await c.webhooks.redeliver(WABA, event_ids=refused[:2]) == 2  # as `parley webhooks redeliver --event`
        await c.webhooks.deliver_due_now()  # the clock has not moved
        assert [post.status for post in rx.posts[3:]] == [200, 200] and sorted(numbers(rx)[3:]) == [0, 1]
        assert await c.webhooks.redeliver(WABA, dead_only=True) == 1  # `--dead`: and every waiting one
        await c.webhooks.deliver_due_now()
        assert {(await event(c, e)).state for e in refused} == {"delivered"}


def test_cli_sends_the_waiting_backlog_now(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from parley.cli.webhooks import webhooks_app
    from parley.container import build_container

    async def refused_event() -> int:
        options = {"deliver": False, "backoff_base_s": 3600.0}
        c = build_container(settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update=options)}))
        await c.start()
        try:
            async with receiver() as rx:
                rx.default_status = 403
                await add_app(c, WABA, rx.url)
                event_id = await put(c, WABA, {"n": 1})
                await c.webhooks.deliver_due_now()
                return event_id
        finally:
            await c.close()

    event_id = asyncio.run(refused_event())
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    [entry] = json.loads(runner.invoke(webhooks_app, ["log", str(WABA), "--json"]).stdout)
    assert entry["state"] == "pending" and entry["next_attempt_at"] > time.time() * 1000  # minutes away, maybe an hour
    released = runner.invoke(webhooks_app, ["redeliver", str(WABA), "--waiting"])
    assert released.exit_code == 0 and "1 event re-queued" in released.stdout
    [entry] = json.loads(runner.invoke(webhooks_app, ["log", str(WABA), "--json"]).stdout)
    assert entry["event_id"] == str(event_id) and entry["next_attempt_at"] <= time.time() * 1000


async def test_a_message_people_send_cannot_block_the_businesss_other_webhooks(server: LiveServer) -> None:
    biz = await create_business(server)
    person = await server.user("Mallory")
    async with receiver() as rx:
        rx.refuse = lambda body: b"<svg" in body
        await server.container.webhooks.subscribe_waba(
            int(biz.waba_id), override_callback_uri=rx.url, verify_token=rx.verify_token
        )
        await person_writes(server, person, biz, "<svg onload=alert(1)>")
        await person_writes(server, person, biz, "Where is my order?")
        await _until(lambda: any(_text(post.value) == "Where is my order?" for post in rx.posts))
        assert any(_text(post.value) == "<svg onload=alert(1)>" for post in rx.posts)  # tried, refused, retried later


def _text(value: dict[str, Any]) -> str | None:
    messages = value.get("messages") or [{}]
    return messages[0].get("text", {}).get("body")


async def _until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_refused_status_holds_back_only_the_later_statuses_of_its_message(server: LiveServer) -> None:
    """Through the API: `sent` of one message is refused; `delivered` of it waits, other messages go on."""
    biz = await create_business(server)
    people = [await server.user(f"P{i}") for i in range(2)]
    async with receiver() as rx:
        await server.container.webhooks.subscribe_waba(
            int(biz.waba_id), override_callback_uri=rx.url, verify_token=rx.verify_token
        )
        # People write first: the 24 h window is open for free-form answers.
        for person in people:
            await person_writes(server, person, biz)
        wa_id = people[0].phone.lstrip("+").encode()
        rx.refuse = lambda body: b'"status":"sent"' in body and wa_id in body  # `sent` of messages to people[0]
        first = await _send_text(server, biz, people[0])
        second = await _send_text(server, biz, people[1])
        await ack_all(server, people[0])
        await ack_all(server, people[1])
        await _until(lambda: _statuses(rx, second) == ["sent", "delivered"])
        assert "delivered" not in _statuses(rx, first)  # behind its refused `sent`

        rx.refuse = None
        assert await server.container.webhooks.redeliver(int(biz.waba_id), dead_only=True) >= 1
        await _until(lambda: _statuses(rx, first)[-2:] == ["sent", "delivered"])
        got = _statuses(rx, first)
        assert got.index("delivered") > max(i for i, s in enumerate(got) if s == "sent")


async def _send_text(server: LiveServer, biz: Any, person: User) -> str:
    response = await server.http.post(
        f"{V}/{biz.phone_number_id}/messages",
        headers=biz.headers,
        json={"messaging_product": "whatsapp", "to": person.phone, "type": "text", "text": {"body": "Shipped"}},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


def _statuses(rx: Any, wamid: str) -> list[str]:
    return [
        status["status"]
        for post in list(rx.posts)
        for status in post.value.get("statuses", [])
        if status["id"] == wamid and post.status == 200
    ]


# ------------------------------------------------------------------------------------------ findings 4 and 11

PRIVATE_HOSTS = ["127.0.0.1", "localhost", "127.1", "2130706433", "0.0.0.0", "[::ffff:127.0.0.1]", "[::1]"]


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    """The production default: callbacks reach public addresses only."""
    return settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={"allowed_networks": []})})


async def test_callbacks_to_loopback_and_private_addresses_are_refused_with_one_answer(
    strict_settings: Settings,
) -> None:
    async with running_server(strict_settings) as server, receiver() as rx:
        biz = await create_business(server)
        answers = set()
        hosts = [f"{host}:{rx.port}" for host in PRIVATE_HOSTS] + ["10.1.2.3", "192.168.0.1", "169.254.169.254"]
        for host in hosts:
            response = await server.http.post(
                f"{V}/{biz.waba_id}/subscribed_apps",
                headers=biz.headers,
                json={"override_callback_uri": f"http://{host}/hook", "verify_token": rx.verify_token},
            )
            assert response.status_code == 400, (host, response.text)
            error = response.json()["error"]
            assert error["code"] == 2200
            answers.add(error["error_data"]["details"])
        assert rx.verifications == []  # nothing ever reached the loopback receiver
        assert len(answers) == 1, answers


async def test_events_to_a_loopback_callback_are_not_delivered_by_default(make_container: MakeContainer) -> None:
    # An operator-set callback (`parley business create --webhook-url`) is checked at connect time too.
    c = await make_container(allowed_networks=[])
    async with receiver() as rx:
        await add_app(c, WABA, rx.url.replace("127.0.0.1", "localhost"))
        event_id = await put(c, WABA, {"n": 1})
        await c.webhooks.deliver_due_now()
        assert rx.posts == []
        row = await event(c, event_id)
        assert row.state == "pending" and "not on the public internet" in (row.last_error or "")


class ScriptedResolver:
    """A DNS server the test controls: the answers, in turn, for every lookup (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


async def test_a_name_that_rebinds_to_loopback_is_dialled_at_the_address_that_was_checked() -> None:
    """DNS rebinding: the first answer is allowed (127.0.0.2 stands for a public address here), later answers
    say 127.0.0.1. The request goes to the checked address; the loopback service never hears of it."""
    hits: dict[str, int] = {"127.0.0.1": 0, "127.0.0.2": 0}

    async def serve(host: str) -> asyncio.Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            hits[host] += 1
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n" + host[-4:].encode())
            await writer.drain()
            writer.close()

        return await asyncio.start_server(handle, host, port)

    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    internal, public = await serve("127.0.0.1"), await serve("127.0.0.2")
    try:
        resolver = ScriptedResolver(["127.0.0.2"], ["127.0.0.1"])
        policy = AddressPolicy.of(["127.0.0.2/32"], resolver=resolver)
        async with checked_client(policy, timeout=httpx.Timeout(5)) as client:
            response = await client.get(f"http://hooks.rebind.test:{port}/")
            assert response.text == ".0.2" and response.request.headers["host"] == f"hooks.rebind.test:{port}"
        assert resolver.lookups == ["hooks.rebind.test"]  # one lookup: the one that was checked
        assert hits == {"127.0.0.1": 0, "127.0.0.2": 1}

        # Once the name answers loopback, the connection is refused before any byte is sent.
        async with checked_client(policy, timeout=httpx.Timeout(5)) as client:
            with pytest.raises(ForbiddenAddressError):
                await client.get(f"http://hooks.rebind.test:{port}/")
        assert hits["127.0.0.1"] == 0
    finally:
        for server in (internal, public):
            server.close()
            await server.wait_closed()


# ------------------------------------------------------------------------------------------ finding 5


async def test_one_accounts_slow_receivers_cannot_block_another_accounts_verification(
    make_container: MakeContainer,
) -> None:
    c = await make_container(deadline_s=3, max_verifications=3, max_verifications_per_account=2)
    async with DripServer() as slow, receiver(verify_token="vt") as fast:
        holding = [asyncio.create_task(c.webhooks.verify_callback(slow.url, "vt", waba_id=WABA)) for _ in range(2)]
        await slow.until(lambda: slow.open == 2)
        with pytest.raises(GraphError) as refused:  # the account's slots are taken: refused at once, not queued
            await c.webhooks.verify_callback(slow.url, "vt", waba_id=WABA)
        assert refused.value.code == 80007 and refused.value.http_status == 429

        await c.webhooks.verify_callback(fast.url, "vt", waba_id=OTHER_WABA)  # another business is not held up
        assert slow.open == 2  # while the slow ones are still dripping

        outcomes = await asyncio.gather(*holding, return_exceptions=True)
        assert all(isinstance(o, GraphError) and o.code == 2200 for o in outcomes), outcomes
        await slow.until(lambda: slow.open == 0)  # the deadline ended them, long before the drip would have
        assert slow.seen == 2


async def test_one_accounts_slow_receiver_does_not_hold_back_anothers_deliveries(
    make_container: MakeContainer,
) -> None:
    c = await make_container(deadline_s=2, max_concurrency=3, max_per_account=2)
    async with DripServer() as slow, receiver() as fast:
        await add_app(c, WABA, slow.url)
        await add_app(c, OTHER_WABA, fast.url, secret="other")
        held = [await put(c, WABA, {"n": n}, phone=PHONE_A + n) for n in range(4)]
        for n in range(3):
            await put(c, OTHER_WABA, {"n": n}, phone=None)
        delivering = asyncio.create_task(c.webhooks.deliver_due_now())
        await fast.wait_for(3)  # while the slow business's POSTs drip
        assert sorted(numbers(fast)) == [0, 1, 2]
        assert 1 <= slow.open <= 2
        await delivering
        assert slow.seen == 4  # each was tried, two at a time, and let go at the deadline
        rows = [await event(c, e) for e in held]
        assert {row.state for row in rows} == {"pending"}
        assert all("no complete answer" in (row.last_error or "") for row in rows if row.attempts)


async def test_an_event_that_waited_for_its_accounts_slot_past_its_lease_is_sent_once(
    make_container: MakeContainer,
) -> None:
    """Events wait for their account's slots while their leases run: one whose lease ran out and that another
    process took over is left to that process, not sent by both."""
    clock = FrozenClock(int(time.time() * 1000))
    first = await make_container(clock, node=1, max_per_account=1)
    second = await make_container(clock, node=2)
    async with receiver() as rx:
        rx.delay_s = 1.0
        await add_app(first, WABA, rx.url)
        await put(first, WABA, {"n": 1})
        await put(first, WABA, {"n": 2})
        delivering = asyncio.create_task(first.webhooks.deliver_due_now())
        await rx.wait_for(1)
        [in_flight] = numbers(rx)  # the other waits for the account's one slot
        waiting = 3 - in_flight
        clock.advance(seconds=first.settings.webhooks.lease_s + 1)  # both leases run out
        await second.webhooks.deliver_due_now()  # the other process takes both over
        await delivering
        assert numbers(rx).count(waiting) == 1  # not sent again by the first process once it got the slot
        assert sorted(set(numbers(rx))) == [1, 2]  # (the one in flight may arrive twice: at least once)


# ------------------------------------------------------------------------------------------ finding 14


async def test_a_callback_urls_own_query_reaches_the_receiver(server: LiveServer) -> None:
    biz = await create_business(server)
    async with receiver() as rx:
        response = await server.http.post(
            f"{V}/{biz.waba_id}/subscribed_apps",
            headers=biz.headers,
            json={"override_callback_uri": rx.url + "?tenant=acme", "verify_token": rx.verify_token},
        )
        assert response.status_code == 200, response.text
        assert rx.verifications[-1]["tenant"] == "acme" and rx.verifications[-1]["hub.mode"] == "subscribe"
