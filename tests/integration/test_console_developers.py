"""The console's Developers area over its JSON routes: tokens an owner creates and revokes (and the Cloud API
honouring that at once), the webhook callback behind Meta's handshake, test events through the real delivery
loop to a real local receiver, the delivery log's pages and filters, and redelivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection

from parley import webhooks
from parley.business import repository as business_repository
from parley.config import Settings
from parley.console import developers as console_developers
from parley.webhooks import repository as webhooks_repository
from parley.webhooks.signing import signature_sha256
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import Biz, V, create_business, subscribe_app
from tests.integration.inbox_helpers import Agent, agent
from tests.integration.test_webhooks_support import Receiver, receiver

API = "/console/developers"
SECRET = "s3cret"  # the app secret business_helpers.create_business gives every app


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


def refused(response: httpx.Response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}, error
    if code is not None:
        assert error["code"] == code, error
    return str(error["message"])


async def cloud_api(server: LiveServer, biz: Biz, token: str) -> httpx.Response:
    return await server.http.get(f"{V}/{biz.phone_number_id}", headers={"Authorization": f"Bearer {token}"})


async def delivery(owner: Agent, event_id: str, **params: Any) -> dict[str, Any] | None:
    page = await owner.get(f"{API}/deliveries", **params)
    assert page.status_code == 200, page.text
    return next((d for d in page.json()["data"] if d["event_id"] == event_id), None)


async def delivered(owner: Agent, event_id: str, attempts: int = 1) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await delivery(owner, event_id)
        return found if found and found["status"] == "delivered" and found["attempts"] >= attempts else None

    result: dict[str, Any] = await until(check)
    return result


async def set_callback(owner: Agent, rx: Receiver) -> None:
    saved = await owner.put(f"{API}/webhook", {"callback_url": rx.url, "verify_token": rx.verify_token})
    assert saved.status_code == 200, saved.text


async def test_agents_get_403_and_writes_need_the_csrf_header(server: LiveServer) -> None:
    biz = await create_business(server, "Dev Access Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    helper = await agent(server, biz, "Andy Agent")
    try:
        for method, path in [
            ("GET", "/tokens"),
            ("POST", "/tokens"),
            ("POST", "/tokens/1/revoke"),
            ("GET", "/webhook"),
            ("PUT", "/webhook"),
            ("POST", "/webhook/test"),
            ("GET", "/deliveries"),
            ("POST", "/deliveries/1/redeliver"),
            ("POST", "/deliveries/redeliver-failed"),
        ]:
            response = await helper.http.request(
                method,
                f"/inbox/api{API}{path}",
                json={"name": "x"} if method != "GET" else None,
                headers={"X-CSRF-Token": helper.csrf},
            )
            assert "owners and admins" in refused(response, 403, "forbidden"), (method, path)
        no_csrf = await owner.http.post(f"/inbox/api{API}/tokens", json={"name": "sneaky"})
        refused(no_csrf, 403)
        assert [t["name"] for t in (await owner.get(f"{API}/tokens")).json()["data"]] == ["system user"]
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


async def test_a_token_is_shown_once_used_and_revoked_at_once(server: LiveServer) -> None:
    biz = await create_business(server, "Token Co")
    other = await create_business(server, "Other Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        created = await owner.post(f"{API}/tokens", {"name": "  CRM connector  "})
        assert created.status_code == 201, created.text
        secret = created.json()["access_token"]
        token = created.json()["token"]
        assert token["name"] == "CRM connector" and token["status"] == "active"
        assert token["last_used_at"] is None

        listed = await owner.get(f"{API}/tokens")
        assert secret not in listed.text  # never again after its creation
        assert [t["name"] for t in listed.json()["data"]] == ["CRM connector", "system user"]  # newest first

        # Last used moves with a Cloud API call, at once on the page, in the database with the next flush.
        assert (await cloud_api(server, biz, secret)).status_code == 200
        [mine] = [t for t in (await owner.get(f"{API}/tokens")).json()["data"] if t["id"] == token["id"]]
        assert mine["last_used_at"] is not None and mine["last_used_at"] >= token["created_at"]

        async def stored_last_use() -> int | None:
            rows = await server.container.db.read(lambda c: business_repository.list_tokens(c, int(biz.waba_id)))
            return next(r.last_used_at for r in rows if r.id == int(token["id"]))

        assert await stored_last_use() is None  # not written on the send path
        await server.container.business.flush_token_uses()
        assert await stored_last_use() == mine["last_used_at"]

        # Revoked: the Cloud API refuses it on the very next call (it was in the token cache).
        revoked = await owner.post(f"{API}/tokens/{token['id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["token"]["status"] == "revoked" and revoked.json()["token"]["revoked_at"]
        refusal = await cloud_api(server, biz, secret)
        assert refusal.status_code == 401 and refusal.json()["error"]["code"] == 190
        assert (await cloud_api(server, biz, biz.token)).status_code == 200  # the other token still works
        refused(await owner.post(f"{API}/tokens/{token['id']}/revoke"), 404, "not_found")

        # Another business's token is not this owner's to revoke.
        refused(await owner.post(f"{API}/tokens/{other.token}/revoke"), 404)
        other_ids = [t.id for t in await server.container.business.list_tokens(int(other.waba_id))]
        refused(await owner.post(f"{API}/tokens/{other_ids[0]}/revoke"), 404)
        assert (await cloud_api(server, other, other.token)).status_code == 200

        # Bad input: a clear 400, nothing created.
        bad: list[Any] = [{"name": ""}, {"name": " "}, {"name": "x" * 129}, {"name": 7}, {"name": "a", "extra": 1}, []]
        for body in bad:
            refused(await owner.post(f"{API}/tokens", body), 400, "invalid_request")
        lone_surrogate = await owner.http.post(
            f"/inbox/api{API}/tokens",
            content=b'{"name": "\\ud800"}',
            headers={"X-CSRF-Token": owner.csrf, "Content-Type": "application/json"},
        )
        refused(lone_surrogate, 400)
        refused(await owner.post(f"{API}/tokens/not-an-id/revoke"), 404)
        assert len((await owner.get(f"{API}/tokens")).json()["data"]) == 2
    finally:
        await owner.http.aclose()


async def test_the_callback_is_verified_and_refusals_are_the_apis_words(server: LiveServer) -> None:
    biz = await create_business(server, "Hook Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        settings = (await owner.get(f"{API}/webhook")).json()
        assert settings["callback_url"] is None and settings["subscribed"] is True
        no_target = await owner.post(f"{API}/webhook/test")
        assert "Set a callback URL first" in refused(no_target, 400)

        async with receiver(verify_token="right") as rx:
            wrong = await owner.put(f"{API}/webhook", {"callback_url": rx.url, "verify_token": "wrong"})
            message = refused(wrong, 400, "callback_verification_failed")
            assert message.startswith("Callback verification failed")
            assert rx.verifications[-1]["hub.verify_token"] == "wrong"
            assert (await owner.get(f"{API}/webhook")).json()["callback_url"] is None  # nothing half-applied

            not_http = await owner.put(f"{API}/webhook", {"callback_url": "ftp://example.com/x", "verify_token": "v"})
            assert "absolute http(s) URL" in refused(not_http, 400, "invalid_request")
            for body in ({"callback_url": rx.url}, {"callback_url": rx.url, "verify_token": ""}, {}, "x"):
                refused(await owner.put(f"{API}/webhook", body), 400, "invalid_request")

            await set_callback(owner, rx)
            settings = (await owner.get(f"{API}/webhook")).json()
            assert settings["callback_url"] == rx.url and settings["verify_token"] == "right"
            # The Graph API sees the same subscription.
            graph = await server.http.get(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
            assert graph.json()["data"][0]["callback_url"] == rx.url
            page = await owner.http.get("/inbox/console/developers")
            assert page.status_code == 200 and f'value="{rx.url}"' in page.text and "unsubscribed" not in page.text

            # Unsubscribed through the Graph API: events are dropped, and the console says so.
            unsubscribed = await server.http.delete(f"{V}/{biz.waba_id}/subscribed_apps", headers=biz.headers)
            assert unsubscribed.status_code == 200, unsubscribed.text
            assert (await owner.get(f"{API}/webhook")).json()["subscribed"] is False
            assert "unsubscribed from its app" in refused(await owner.post(f"{API}/webhook/test"), 400)
            assert "is unsubscribed from its app" in (await owner.http.get("/inbox/console/developers")).text
    finally:
        await owner.http.aclose()


async def test_a_test_event_is_signed_delivered_and_logged_with_attempts_and_latency(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_developers, "TEST_EVENTS_PER_MINUTE", 2)
    biz = await create_business(server, "Test Event Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        async with receiver() as rx:
            # Subscribed through the Graph API to `messages` only: a test event goes out all the same.
            await subscribe_app(server, biz, rx.url, rx.verify_token, ["messages"])
            sent = await owner.post(f"{API}/webhook/test")
            assert sent.status_code == 202, sent.text
            event_id = sent.json()["event_id"]

            [post] = await rx.wait_for(1)
            assert post.headers["x-hub-signature-256"] == signature_sha256(SECRET, post.body)
            change = post.json["entry"][0]["changes"][0]
            assert change["field"] == webhooks.TEST_FIELD and change["value"]["test"] is True
            assert post.json["entry"][0]["id"] == biz.waba_id

            logged = await delivered(owner, event_id)
            assert logged["kind"] == "parley_test" and logged["target"] == rx.url
            assert logged["attempts"] == 1 and logged["last_status"] == 200 and logged["last_error"] is None
            assert isinstance(logged["latency_ms"], int) and logged["latency_ms"] >= 0

            # A few a minute: a console button is not a way to flood the receiver.
            assert (await owner.post(f"{API}/webhook/test")).status_code == 202
            flood = await owner.post(f"{API}/webhook/test")
            assert "test events this minute" in refused(flood, 429, "rate_limited")
            assert int(flood.headers["retry-after"]) > 0
    finally:
        await owner.http.aclose()


async def test_redelivery_makes_failed_deliveries_due_again(settings: Settings) -> None:
    # Retries are jittered from zero: a long base keeps a first retry from landing before the check below sees
    # both deliveries tried once (with the default 5 s, one in a few dozen runs retried within the poll).
    patient = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={"backoff_base_s": 600.0})})
    async with running_server(patient) as server:
        biz = await create_business(server, "Redeliver Co")
        other = await create_business(server, "Elsewhere Co")
        owner = await agent(server, biz, "Olive Owner", role="owner")
        other_owner = await agent(server, other, "Otto Owner", role="owner")
        try:
            async with receiver() as rx:
                await set_callback(owner, rx)
                rx.default_status = 500
                first = (await owner.post(f"{API}/webhook/test")).json()["event_id"]
                second = (await owner.post(f"{API}/webhook/test")).json()["event_id"]

                async def tried_and_waiting() -> bool:
                    rows = [await delivery(owner, e) for e in (first, second)]
                    return all(r and r["status"] == "waiting" and r["attempts"] == 1 for r in rows)

                await until(tried_and_waiting)
                waiting = await delivery(owner, first, status="waiting")
                assert waiting is not None and waiting["last_status"] == 500 and waiting["last_error"] == "HTTP 500"
                assert waiting["next_attempt_at"] > waiting["created_at"]

                # A week later the retries are over: both failed.
                server.clock.advance(hours=24 * 8)
                server.container.webhooks.notify()

                async def both_failed() -> bool:
                    return all([await delivery(owner, e, status="failed") for e in (first, second)])

                await until(both_failed)
                assert await delivery(owner, first, status="waiting") is None

                rx.default_status = 200
                refused(await other_owner.post(f"{API}/deliveries/{first}/redeliver"), 404)  # not their event
                refused(await owner.post(f"{API}/deliveries/123/redeliver"), 404)
                refused(await owner.post(f"{API}/deliveries/nope/redeliver"), 404)

                one = await owner.post(f"{API}/deliveries/{first}/redeliver")
                assert one.status_code == 200 and one.json() == {"requeued": 1}, one.text
                assert (await delivered(owner, first, attempts=3))["last_status"] == 200
                assert (await delivery(owner, second))["status"] == "failed"  # type: ignore[index]

                rest = await owner.post(f"{API}/deliveries/redeliver-failed")
                assert rest.json() == {"requeued": 1}, rest.text
                await delivered(owner, second, attempts=3)
                assert len(rx.posts) == 6
        finally:
            await owner.http.aclose()
            await other_owner.http.aclose()


async def test_the_delivery_log_pages_newest_first_and_filters_by_status(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    biz = await create_business(server, "Log Co")
    owner = await agent(server, biz, "Olive Owner", role="owner")
    try:
        async with receiver() as rx:
            await subscribe_app(server, biz, rx.url, rx.verify_token, ["messages"])
            oldest = (await owner.post(f"{API}/webhook/test")).json()["event_id"]
            await delivered(owner, oldest)
            # 30 updates of a field the app did not subscribe to: dropped, with the reason.
            ids: list[int] = []

            def unit(conn: Connection) -> None:
                for n in range(30):
                    ids.append(server.container.ids.next_id())
                    webhooks.enqueue(
                        conn, waba_id=int(biz.waba_id), field="account_update", value={"n": n}, event_id=ids[-1]
                    )

            await server.container.db.write(
                "tests.test_the_delivery_log_pages_newest_first_and_filters_by_status", unit
            )
            server.container.webhooks.notify()

            async def all_dropped() -> bool:
                page = (await owner.get(f"{API}/deliveries", status="dropped")).json()
                more = page["next"] and (await owner.get(f"{API}/deliveries", status="dropped", before=page["next"]))
                return len(page["data"]) + (len(more.json()["data"]) if more else 0) == 30

            await until(all_dropped)

        first = (await owner.get(f"{API}/deliveries")).json()
        assert [d["event_id"] for d in first["data"]] == [str(i) for i in reversed(ids)][:25]
        assert first["data"][0]["status"] == "dropped" and "not subscribed" in first["data"][0]["last_error"]
        second = (await owner.get(f"{API}/deliveries", before=first["next"])).json()
        assert [d["event_id"] for d in second["data"]] == [*[str(i) for i in reversed(ids)][25:], oldest]
        assert second["next"] is None
        only = (await owner.get(f"{API}/deliveries", status="delivered")).json()
        assert [d["event_id"] for d in only["data"]] == [oldest] and only["next"] is None
        assert (await owner.get(f"{API}/deliveries", status="failed")).json() == {"data": [], "next": None}

        # A filtered page looks through a bounded window of events; the cursor resumes after it.
        monkeypatch.setattr(webhooks_repository, "DELIVERY_SCAN_WINDOW", 10)
        cursor, found, pages = None, [], 0
        while True:
            params = {"status": "delivered", **({"before": cursor} if cursor else {})}
            page = (await owner.get(f"{API}/deliveries", **params)).json()
            found += [d["event_id"] for d in page["data"]]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
        assert found == [oldest] and pages == 4

        refused(await owner.get(f"{API}/deliveries", status="lost"), 400, "invalid_request")
        refused(await owner.get(f"{API}/deliveries", before="yesterday"), 400, "invalid_request")
    finally:
        await owner.http.aclose()
