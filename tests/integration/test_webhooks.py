"""Webhook delivery against real loopback receivers: signatures, one update per POST, order under retries,
back-off up to 7 days, isolation between businesses, restarts, drops, overrides and redelivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import Connection

from parley import webhooks
from parley.config import Settings
from parley.container import Container, build_container
from parley.graph import GraphError
from parley.kit.clock import Clock, FrozenClock, SystemClock
from parley.webhooks.worker import DeliveryPolicy, backoff_bound_s
from tests.integration.test_webhooks_support import Receiver, receiver

SECRET = "app-secret-\u00e9"  # non-ASCII on purpose: the HMAC key is its UTF-8 bytes, as pywa computes it
WABA, OTHER_WABA = 1_000_001, 2_000_002
MESSAGE, OTHER_MESSAGE = 9_000_001, 9_000_002  # order keys: the message a status is about
PHONE_A, PHONE_B = 1_100_001, 1_100_002

MakeContainer = Callable[..., Awaitable[Container]]


@pytest.fixture
async def make_container(settings: Settings) -> AsyncIterator[MakeContainer]:
    """Containers over the test's database, on a frozen clock; closed at the end."""
    made: list[Container] = []

    async def make(clock: Clock | None = None, *, node: int | None = None, **webhook_settings: Any) -> Container:
        options = {"deliver": False, **webhook_settings}
        custom = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update=options)})
        with pytest.MonkeyPatch.context() as patch:
            if node is not None:  # another "process": ids from another node, as another pid would give
                patch.setattr(os, "getpid", lambda: node)
            container = build_container(custom, clock or FrozenClock(int(time.time() * 1000)))
        await container.start()
        made.append(container)
        return container

    yield make
    for container in reversed(made):
        await container.close()


async def add_app(c: Container, waba_id: int, url: str | None, *, secret: str = SECRET) -> None:
    await c.webhooks.register_app(waba_id=waba_id, app_id=waba_id + 7, app_secret=secret, callback_url=url)


async def put(
    c: Container,
    waba_id: int,
    value: dict[str, Any],
    *,
    field: str = "messages",
    phone: int | None = PHONE_A,
    order: int | None = None,
) -> int:
    """Enqueue one event; events with the same `order` (a message's statuses) go out in order."""
    event_id = c.ids.next_id()

    def unit(conn: Connection) -> None:
        webhooks.enqueue(
            conn,
            waba_id=waba_id,
            field=field,
            value=value,
            phone_number_id=phone,
            event_id=event_id,
            **({} if order is None else {"order_key": order}),
        )

    await c.db.write("tests.put", unit)
    return event_id


async def event(c: Container, event_id: int) -> webhooks.WebhookEventRow:
    row = await c.webhooks.get_event(event_id)
    assert row is not None
    return row


def advance_to(clock: FrozenClock, when_ms: int) -> None:
    clock.advance(seconds=(when_ms - clock.now_ms() + 0.5) / 1000)  # +0.5: float seconds back to exact ms


def numbers(rx: Receiver) -> list[int]:
    return [int(post.value["n"]) for post in rx.posts]


async def test_each_post_is_one_signed_update_in_metas_envelope(make_container: MakeContainer) -> None:
    from pywa.utils import webhook_updates_validator

    c = await make_container()
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        status_value = {"messaging_product": "whatsapp", "statuses": [{"id": "wamid.X", "status": "sent"}], "n": 1}
        await put(c, WABA, {"messaging_product": "whatsapp", "messages": [{"text": {"body": "h\u00e9"}}], "n": 0})
        await put(c, WABA, status_value)
        template_event = await put(
            c, WABA, {"event": "APPROVED", "n": 2}, field="message_template_status_update", phone=None
        )
        await c.webhooks.deliver_due_now()

        assert sorted(numbers(rx)) == [0, 1, 2]
        for post in rx.posts:
            expected = "sha256=" + hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
            assert post.headers["x-hub-signature-256"] == expected
            assert webhook_updates_validator(SECRET, post.body, post.headers["x-hub-signature-256"])
            assert post.headers["content-type"] == "application/json"
            body = post.json
            assert body["object"] == "whatsapp_business_account"
            assert len(body["entry"]) == 1 and len(body["entry"][0]["changes"]) == 1
            assert body["entry"][0]["id"] == str(WABA)
        by_n = {post.value["n"]: post.json for post in rx.posts}
        assert by_n[0]["entry"][0]["changes"][0] == {
            "value": {"messaging_product": "whatsapp", "messages": [{"text": {"body": "h\u00e9"}}], "n": 0},
            "field": "messages",
        }
        assert "time" not in by_n[0]["entry"][0]
        assert by_n[1]["entry"][0]["changes"][0]["value"] == status_value
        template_entry = by_n[2]["entry"][0]
        assert template_entry["changes"][0]["field"] == "message_template_status_update"
        assert template_entry["time"] == (await event(c, template_event)).created_at // 1000

        # A tampered body no longer matches: the signature covers the exact bytes.
        post = rx.posts[0]
        assert not webhook_updates_validator(SECRET, post.body + b" ", post.headers["x-hub-signature-256"])
        log = await c.webhooks.delivery_log(WABA)
        assert {e.state for e in log} == {"delivered"} and all(e.last_status == 200 for e in log)


async def test_enqueueing_the_same_event_id_twice_sends_it_once(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        event_id = c.ids.next_id()
        for _ in range(2):
            await c.db.write(
                "tests.test_enqueueing_the_same_event_id_twice_sends_it_once",
                lambda conn: webhooks.enqueue(
                    conn, waba_id=WABA, field="messages", value={"n": 5}, phone_number_id=PHONE_A, event_id=event_id
                ),
            )
        await c.webhooks.deliver_due_now()
        await c.webhooks.deliver_due_now()
        assert numbers(rx) == [5]
        assert [row.id for row in await c.db.read(lambda conn: webhooks.list_events(conn, WABA))] == [event_id]


async def test_verification_handshake(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver(verify_token="right") as rx:
        await c.webhooks.verify_callback(rx.url, "right", waba_id=WABA)
        check = rx.verifications[-1]
        assert check["hub.mode"] == "subscribe" and check["hub.verify_token"] == "right"
        assert check["hub.challenge"]

        with pytest.raises(GraphError) as wrong_token:
            await c.webhooks.verify_callback(rx.url, "wrong", waba_id=WABA)
        assert wrong_token.value.code == 2200 and wrong_token.value.http_status == 400

        rx.challenge_override = "not-the-challenge"
        with pytest.raises(GraphError) as wrong_echo:
            await c.webhooks.verify_callback(rx.url, "right", waba_id=WABA)
        assert wrong_echo.value.code == 2200

    with pytest.raises(GraphError) as unreachable:
        await c.webhooks.verify_callback(rx.url, "right", waba_id=WABA)  # the receiver is gone
    assert unreachable.value.code == 2200
    with pytest.raises(GraphError) as not_http:
        await c.webhooks.verify_callback("ftp://example.com/hook", "right", waba_id=WABA)
    assert not_http.value.code == 100
    # One answer for every failure: the text says nothing about the operator's network.
    assert wrong_token.value.details == wrong_echo.value.details == unreachable.value.details


async def test_verification_keeps_the_callback_urls_own_query(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver(verify_token="vt") as rx:
        await c.webhooks.verify_callback(rx.url + "?tenant=7&hub.topic=x", "vt", waba_id=WABA)
        check = rx.verifications[-1]
        assert check["tenant"] == "7" and check["hub.topic"] == "x"
        assert check["hub.mode"] == "subscribe" and check["hub.verify_token"] == "vt" and check["hub.challenge"]


async def test_a_failing_status_holds_back_only_its_messages_later_statuses(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock)
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        rx.statuses.append(500)
        first = await put(c, WABA, {"n": 1}, order=MESSAGE)
        await put(c, WABA, {"n": 2}, order=MESSAGE)
        await put(c, WABA, {"n": 3}, order=MESSAGE)
        await c.webhooks.deliver_due_now()
        assert numbers(rx) == [1]  # the first status failed: the message's later ones wait behind it

        await put(c, WABA, {"n": 4}, order=MESSAGE)  # arrives during the back-off: waits too
        await put(c, WABA, {"n": 40}, order=OTHER_MESSAGE)  # another message of the same number is not held back
        await put(c, WABA, {"n": 41})  # nor an inbound message of the same number
        await c.webhooks.deliver_due_now()
        assert numbers(rx)[0] == 1 and sorted(numbers(rx)[1:]) == [40, 41]
        del rx.posts[1:]

        rx.statuses.append(503)
        for _ in range(2):
            head = await event(c, first)
            assert head.state == "pending"
            advance_to(clock, head.next_attempt_at)
            await c.webhooks.deliver_due_now()
        assert numbers(rx) == [1, 1, 1, 2, 3, 4]
        assert (await event(c, first)).attempts == 3
        log = await c.webhooks.delivery_log(WABA)
        assert {e.state for e in log} == {"delivered"}
        attempts = await c.webhooks.attempts(first)
        assert [a.status_code for a in attempts] == [500, 503, 200]


async def test_backoff_grows_with_jitter_and_gives_up_after_seven_days(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    # A 4 h cap instead of 1 h: the same rules in a quarter of the attempts.
    c = await make_container(clock, backoff_cap_s=4 * 3600)
    policy = DeliveryPolicy(backoff_cap_s=4 * 3600)
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        rx.default_status = 500
        event_id = await put(c, WABA, {"n": 1})
        created = (await event(c, event_id)).created_at
        delays: list[float] = []
        while True:
            await c.webhooks.deliver_due_now()
            row = await event(c, event_id)
            if row.state != "pending":
                break
            delay_s = (row.next_attempt_at - clock.now_ms()) / 1000
            assert 0 <= delay_s <= backoff_bound_s(policy, row.attempts) + 0.001
            delays.append(delay_s)
            advance_to(clock, row.next_attempt_at)
            assert len(delays) < 5000

        assert row.state == "dead"
        assert row.attempts == len(rx.posts) == len(delays) + 1
        elapsed_days = (clock.now_ms() - created) / 86_400_000
        assert 6.8 < elapsed_days <= 7.0  # the last attempt came within the last back-off of the 7 days
        # Full jitter under a growing bound: early waits are seconds, late ones tens of minutes on average.
        assert max(delays[:2]) <= 10
        late = delays[12:]
        assert sum(late) / len(late) > 1800
        assert [a.status_code for a in await c.webhooks.attempts(event_id)] == [500] * row.attempts

        clock.advance(hours=48)
        await c.webhooks.deliver_due_now()
        assert len(rx.posts) == row.attempts  # dead means no more attempts


async def test_a_slow_endpoint_does_not_delay_another_business(make_container: MakeContainer) -> None:
    c = await make_container(deliver=True)
    async with receiver() as slow, receiver() as fast:
        slow.delay_s = 3.0
        await add_app(c, WABA, slow.url)
        await add_app(c, OTHER_WABA, fast.url, secret="other")
        await put(c, WABA, {"n": 0})
        await put(c, WABA, {"n": 1})
        for n in range(5):
            await put(c, OTHER_WABA, {"n": n}, phone=None)
        c.webhooks.notify()
        await fast.wait_for(5)
        assert sorted(numbers(fast)) == [0, 1, 2, 3, 4]  # each on its own: in any order
        # While the slow business's POSTs were still being answered, the other business had all five.
        assert slow.answered == []
        await slow.wait_for(2, timeout=15)
        assert sorted(numbers(slow)) == [0, 1]


async def test_events_survive_a_restart(make_container: MakeContainer) -> None:
    first = await make_container()
    async with receiver() as rx:
        await add_app(first, WABA, rx.url)
        waiting = await put(first, WABA, {"n": 1})
        await first.close()

        second = await make_container(node=2)
        await second.webhooks.deliver_due_now()
        assert numbers(rx) == [1]
        assert (await event(second, waiting)).state == "delivered"


async def test_events_held_by_a_stopping_process_go_to_the_next_one(make_container: MakeContainer) -> None:
    first = await make_container()
    async with receiver() as rx:
        rx.delay_s = 5
        await add_app(first, WABA, rx.url)
        held = await put(first, WABA, {"n": 1}, order=MESSAGE)
        await put(first, WABA, {"n": 2}, order=MESSAGE)
        delivering = asyncio.create_task(first.webhooks.deliver_due_now())
        await rx.wait_for(1)
        await first.close()  # mid-POST: the events are handed back rather than left leased for minutes
        await asyncio.gather(delivering, return_exceptions=True)

        rx.delay_s = 0
        second = await make_container(node=2)
        await second.webhooks.deliver_due_now()
        assert numbers(rx) == [1, 1, 2]  # at least once, still in order
        assert (await event(second, held)).state == "delivered"


async def test_events_nobody_subscribed_to_are_dropped_with_a_reason(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver() as rx:
        no_app = await put(c, 3_000_003, {"n": 0})
        await add_app(c, OTHER_WABA, None)
        no_url = await put(c, OTHER_WABA, {"n": 1})
        await add_app(c, WABA, rx.url)
        await c.webhooks.unsubscribe_waba(WABA)
        unsubscribed = await put(c, WABA, {"n": 2})
        await c.webhooks.deliver_due_now()
        assert rx.posts == []
        for event_id, reason in [
            (no_app, "no app is subscribed"),
            (no_url, "no callback URL"),
            (unsubscribed, "no app is subscribed"),
        ]:
            row = await event(c, event_id)
            assert row.state == "dropped" and reason in (row.last_error or "")

        await c.webhooks.subscribe_waba(WABA, override_callback_uri=None, verify_token="")
        await put(c, WABA, {"n": 3})
        await c.webhooks.deliver_due_now()
        assert numbers(rx) == [3]


async def test_only_subscribed_fields_are_sent(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        await c.webhooks.subscribe_app(WABA + 7, callback_url=rx.url, verify_token=rx.verify_token, fields=["messages"])
        await put(c, WABA, {"n": 1})
        skipped = await put(c, WABA, {"n": 2}, field="account_update", phone=None)
        await c.webhooks.deliver_due_now()
        assert numbers(rx) == [1]
        assert "account_update" in ((await event(c, skipped)).last_error or "")


async def test_phone_override_beats_waba_override_beats_app_url(make_container: MakeContainer) -> None:
    c = await make_container()
    async with receiver() as app_rx, receiver() as waba_rx, receiver() as phone_rx:
        await add_app(c, WABA, app_rx.url)
        await c.webhooks.subscribe_waba(WABA, override_callback_uri=waba_rx.url, verify_token=waba_rx.verify_token)
        await c.webhooks.set_phone_override(WABA, PHONE_A, phone_rx.url, phone_rx.verify_token)
        assert len(waba_rx.verifications) == 1 and len(phone_rx.verifications) == 1
        await put(c, WABA, {"n": 1}, phone=PHONE_A)
        await put(c, WABA, {"n": 2}, phone=PHONE_B)
        await put(c, WABA, {"n": 3}, field="account_update", phone=None)
        await c.webhooks.deliver_due_now()
        # 2 (phone B) and 3 (no number) are different streams: delivered in parallel, in either order.
        assert (numbers(app_rx), sorted(numbers(waba_rx)), numbers(phone_rx)) == ([], [2, 3], [1])

        await c.webhooks.set_phone_override(WABA, PHONE_A, "", "")  # pywa's delete_phone_callback_url
        await c.webhooks.subscribe_waba(WABA, override_callback_uri=None, verify_token="")  # drops the override
        await put(c, WABA, {"n": 4}, phone=PHONE_A)
        await c.webhooks.deliver_due_now()
        assert numbers(app_rx) == [4]

        with pytest.raises(GraphError) as refused:
            await c.webhooks.set_phone_override(WABA, PHONE_A, phone_rx.url, "wrong-token")
        assert refused.value.code == 2200
        assert await c.webhooks.phone_override(PHONE_A) is None


async def test_redeliver_sends_a_dead_event_again(make_container: MakeContainer) -> None:
    clock = FrozenClock(int(time.time() * 1000))
    c = await make_container(clock, max_age_s=60)
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        rx.default_status = 500
        dead = await put(c, WABA, {"n": 1})
        while (await event(c, dead)).state == "pending":
            await c.webhooks.deliver_due_now()
            clock.advance(seconds=10)
        assert (await event(c, dead)).state == "dead"
        rx.default_status = 200
        delivered = await put(c, WABA, {"n": 2}, phone=PHONE_B)
        await c.webhooks.deliver_due_now()
        assert (await event(c, delivered)).state == "delivered"
        sent_before = len(rx.posts)

        assert await c.webhooks.redeliver(WABA, dead_only=True) == 1
        await c.webhooks.deliver_due_now()
        assert numbers(rx)[sent_before:] == [1]
        assert (await event(c, dead)).state == "delivered"

        assert await c.webhooks.redeliver(WABA, event_ids=[delivered]) == 1
        assert await c.webhooks.redeliver(OTHER_WABA, event_ids=[dead]) == 0  # not that business's event
        await c.webhooks.deliver_due_now()
        assert numbers(rx)[sent_before:] == [1, 2]
        log = {e.event_id: e for e in await c.webhooks.delivery_log(WABA)}
        assert log[dead].state == "delivered" and log[dead].attempts == (await event(c, dead)).attempts


async def test_many_events_many_streams_all_arrive_once_in_order(make_container: MakeContainer) -> None:
    c = await make_container(claim_batch=32)
    async with receiver() as rx:
        await add_app(c, WABA, rx.url)
        phones = [PHONE_A + i for i in range(8)]
        sent: dict[int, list[int]] = {p: [] for p in phones}

        def unit(conn: Connection) -> None:
            for n in range(240):
                phone = phones[n % len(phones)]
                sent[phone].append(n)
                webhooks.enqueue(
                    conn,
                    waba_id=WABA,
                    field="messages",
                    value={"n": n, "p": phone},
                    phone_number_id=phone,
                    event_id=c.ids.next_id(),
                    order_key=phone,  # one chain of 30 statuses per key
                )

        await c.db.write("tests.test_many_events_many_streams_all_arrive_once_in_order", unit)
        await c.webhooks.deliver_due_now()
        got: dict[int, list[int]] = {p: [] for p in phones}
        for post in rx.posts:
            got[post.value["p"]].append(post.value["n"])
        assert got == sent
        assert len(rx.posts) == 240


async def test_two_processes_share_the_outbox_and_keep_every_stream_in_order(
    make_container: MakeContainer,
) -> None:
    # Two containers over one database, both delivering: what two `parley serve` processes do.
    first = await make_container(SystemClock(), node=1, deliver=True, poll_interval_ms=5, claim_batch=16)
    second = await make_container(SystemClock(), node=2, deliver=True, poll_interval_ms=5, claim_batch=16)
    async with receiver() as rx:
        await add_app(first, WABA, rx.url)
        phones = [PHONE_A + i for i in range(6)]
        sent: dict[int, list[int]] = {p: [] for p in phones}
        n = 0
        for burst in range(8):
            producer = (first, second)[burst % 2]
            for _ in range(30):
                phone = phones[n % len(phones)]
                sent[phone].append(n)
                await put(producer, WABA, {"n": n, "p": phone}, phone=phone, order=phone)
                n += 1
            producer.webhooks.notify()
            await asyncio.sleep(0.02)
        await rx.wait_for(n, timeout=60)
        await asyncio.sleep(0.3)  # anything sent twice would show up now
        got: dict[int, list[int]] = {p: [] for p in phones}
        for post in rx.posts:
            got[post.value["p"]].append(post.value["n"])
        assert got == sent  # each stream in order, nothing twice
        assert {e.state for e in await first.webhooks.delivery_log(WABA, limit=1000)} == {"delivered"}


def test_cli_log_and_redeliver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from parley.cli.webhooks import webhooks_app

    async def prepare() -> int:
        webhook_settings = settings.webhooks.model_copy(update={"deliver": False, "max_age_s": 1})
        custom = settings.model_copy(update={"webhooks": webhook_settings})
        c = build_container(custom)
        await c.start()
        try:
            async with receiver() as rx:
                rx.default_status = 500
                await add_app(c, WABA, rx.url)
                event_id = await put(c, WABA, {"n": 1})
                await asyncio.sleep(1.1)  # past the retry window: the first failure is final
                await c.webhooks.deliver_due_now()
                return event_id
        finally:
            await c.close()

    event_id = asyncio.run(prepare())
    for name, value in {
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "PARLEY_DATABASE_URL": settings.resolved_database_url,
        "PARLEY_SECRET_KEY": settings.secret_key,
        "PARLEY_WEBHOOKS__DELIVER": "false",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    shown = runner.invoke(webhooks_app, ["log", str(WABA), "--json"])
    assert shown.exit_code == 0, shown.output
    [entry] = json.loads(shown.stdout)
    assert entry["event_id"] == str(event_id) and entry["state"] == "dead" and entry["last_status"] == 500
    assert entry["attempts"] == 1 and entry["latency_ms"] is not None

    table = runner.invoke(webhooks_app, ["log", str(WABA)])
    assert table.exit_code == 0 and str(event_id) in table.stdout and "dead" in table.stdout

    requeued = runner.invoke(webhooks_app, ["redeliver", str(WABA), "--dead"])
    assert requeued.exit_code == 0 and "1 event re-queued" in requeued.stdout
    again = runner.invoke(webhooks_app, ["redeliver", str(WABA), "--event", str(event_id)])
    assert again.exit_code == 0 and "0 events re-queued" in again.stdout  # it is pending again already
    refused = runner.invoke(webhooks_app, ["redeliver", str(WABA)])
    assert refused.exit_code != 0
