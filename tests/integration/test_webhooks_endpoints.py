"""The webhook registration calls as pywa makes them: app token, app subscription, WABA and phone overrides,
token scoping; and pywa's own webhook server verifying and receiving what Parley sends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Connection

from parley import webhooks
from tests.conftest import LiveServer, free_port
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.test_webhooks_support import receiver

SECRET = "s3cret"  # what business_helpers.create_business gives every app


def graph_error(response: httpx.Response, code: int, status: int = 400, subcode: int | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    if subcode is not None:
        assert error.get("error_subcode") == subcode, error
    return error


async def put(server: LiveServer, biz: Biz, n: int, *, field: str = "messages", phone: bool = True) -> int:
    c = server.container
    event_id = c.ids.next_id()
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": biz.phone_number_id}, "n": n}

    def unit(conn: Connection) -> None:
        webhooks.enqueue(
            conn,
            waba_id=int(biz.waba_id),
            field=field,
            value=value,
            phone_number_id=int(biz.phone_number_id) if phone else None,
            event_id=event_id,
        )

    await c.db.write("tests.put", unit)
    c.webhooks.notify()
    return event_id


def pywa_client(parley: LiveServer, biz: Biz, **options: Any) -> Any:
    pywa_async = pytest.importorskip("pywa_async")
    # pywa's own client gives up after 5 s; an integrator on a busy machine sets a longer one, as pywa advises.
    options.setdefault("session", httpx.AsyncClient(timeout=20))
    wa = pywa_async.WhatsApp(
        phone_id=biz.phone_number_id, token=biz.token, waba_id=biz.waba_id, api_version="23.0", **options
    )
    wa.api._session.base_url = f"{parley.base_url}{V}"
    return wa


async def test_app_access_token(server: LiveServer) -> None:
    biz = await create_business(server)
    wa = pywa_client(server, biz)
    token = await wa.api.get_app_access_token(client_id=int(biz.app_id), client_secret=SECRET)
    assert token == {"access_token": f"{biz.app_id}|{SECRET}", "token_type": "bearer"}

    query = {"grant_type": "client_credentials", "client_id": biz.app_id, "client_secret": "wrong"}
    graph_error(await server.http.get(f"{V}/oauth/access_token", params=query), 1)
    graph_error(await server.http.get(f"{V}/oauth/access_token", params={**query, "client_id": "999"}), 101)
    graph_error(await server.http.get(f"{V}/oauth/access_token", params={**query, "grant_type": "password"}), 100)


async def test_pywa_registers_the_app_callback_and_events_arrive_there(server: LiveServer) -> None:
    biz = await create_business(server)
    wa = pywa_client(server, biz)
    async with receiver(verify_token="pywa-vt") as rx:
        app_token = (await wa.api.get_app_access_token(client_id=int(biz.app_id), client_secret=SECRET))["access_token"]
        result = await wa.api.set_app_callback_url(
            app_id=int(biz.app_id),
            access_token=app_token,
            callback_url=rx.url,
            verify_token="pywa-vt",
            fields=("messages", "message_template_status_update"),
        )
        assert result == {"success": True}
        assert rx.verifications[-1]["hub.verify_token"] == "pywa-vt"

        listed = await server.http.get(f"{V}/{biz.app_id}/subscriptions", params={"access_token": app_token})
        assert listed.status_code == 200, listed.text
        [subscription] = listed.json()["data"]
        assert subscription["object"] == "whatsapp_business_account" and subscription["active"] is True
        assert subscription["callback_url"] == rx.url
        assert [f["name"] for f in subscription["fields"]] == ["messages", "message_template_status_update"]
        assert subscription["fields"][0]["version"] == "v23.0"

        await put(server, biz, 1)
        await put(server, biz, 2, field="account_update", phone=False)  # not a subscribed field: dropped
        await put(server, biz, 3)
        await rx.wait_for(2)
        assert sorted(post.value["n"] for post in rx.posts) == [1, 3]

        # A wrong verify token: the handshake fails and nothing changes.
        refused = await server.http.post(
            f"{V}/{biz.app_id}/subscriptions",
            params={
                "object": "whatsapp_business_account",
                "callback_url": rx.url + "?other",
                "verify_token": "wrong",
                "access_token": app_token,
            },
        )
        error = graph_error(refused, 2200)
        assert "Callback verification failed" in error["error_data"]["details"]
        listed = await server.http.get(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
        assert listed.json()["data"][0]["callback_url"] == rx.url  # a system-user token of the WABA may read it


async def test_subscriptions_accept_json_and_form_bodies(server: LiveServer) -> None:
    biz = await create_business(server)
    async with receiver() as rx:
        body = {
            "object": "whatsapp_business_account",
            "callback_url": rx.url,
            "verify_token": rx.verify_token,
            "fields": ["messages"],
        }
        as_json = await server.http.post(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers, json=body)
        assert as_json.status_code == 200, as_json.text
        as_form = await server.http.post(
            f"{V}/{biz.app_id}/subscriptions",
            data={**body, "fields": "messages,account_update", "access_token": f"{biz.app_id}|{SECRET}"},
        )
        assert as_form.status_code == 200, as_form.text
        listed = await server.http.get(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
        assert [f["name"] for f in listed.json()["data"][0]["fields"]] == ["messages", "account_update"]

        missing = await server.http.post(
            f"{V}/{biz.app_id}/subscriptions", headers=biz.headers, json={"object": "whatsapp_business_account"}
        )
        graph_error(missing, 100)
        wrong_object = await server.http.post(
            f"{V}/{biz.app_id}/subscriptions", headers=biz.headers, json={**body, "object": "page"}
        )
        graph_error(wrong_object, 100)

        removed = await server.http.delete(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
        assert removed.json() == {"success": True}
        listed = await server.http.get(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
        assert listed.json() == {"data": []}


async def test_waba_override_with_pywa(server: LiveServer) -> None:
    biz = await create_business(server)
    wa = pywa_client(server, biz)
    async with receiver() as app_rx, receiver(verify_token="waba-vt") as waba_rx:
        await server.container.webhooks.subscribe_app(
            int(biz.app_id), callback_url=app_rx.url, verify_token=app_rx.verify_token, fields=None
        )
        subscribed = await wa.api.set_waba_alternate_callback_url(
            waba_id=biz.waba_id, override_callback_uri=waba_rx.url, verify_token="waba-vt"
        )
        assert subscribed == {"success": True}
        apps = await wa.api.get_waba_subscribed_apps(waba_id=biz.waba_id)
        [entry] = apps["data"]
        assert entry["whatsapp_business_api_data"]["id"] == biz.app_id
        assert entry["whatsapp_business_api_data"]["name"] and entry["whatsapp_business_api_data"]["link"]
        assert entry["override_callback_uri"] == waba_rx.url

        await put(server, biz, 1)
        await waba_rx.wait_for(1)
        assert app_rx.posts == []

        # pywa's delete_waba_alternate_callback_url is a POST without a URI: back to the app's callback.
        assert await wa.api.delete_waba_alternate_callback_url(waba_id=biz.waba_id) == {"success": True}
        assert "override_callback_uri" not in (await wa.api.get_waba_subscribed_apps(waba_id=biz.waba_id))["data"][0]
        await put(server, biz, 2)
        await app_rx.wait_for(1)

        # Unsubscribing the WABA: nothing is listed and its events are dropped.
        removed = await server.http.delete(f"{V}/{biz.waba_id}/subscribed_apps", headers=biz.headers)
        assert removed.json() == {"success": True}
        assert (await wa.api.get_waba_subscribed_apps(waba_id=biz.waba_id)) == {"data": []}
        dropped = await put(server, biz, 3)
        await _until_state(server, dropped, "dropped")
        assert len(app_rx.posts) == 1 and len(waba_rx.posts) == 1

        refused = await server.http.post(
            f"{V}/{biz.waba_id}/subscribed_apps",
            headers=biz.headers,
            json={"override_callback_uri": waba_rx.url, "verify_token": "nope"},
        )
        graph_error(refused, 2200)


async def _phone_webhook_configuration(server: LiveServer, biz: Biz, config: dict[str, str]) -> Any:
    # pywa's set/delete_phone_alternate_callback_url body; pywa posts to `/{phone_id}/` (trailing slash).
    response = await server.http.post(
        f"{V}/{biz.phone_number_id}", headers=biz.headers, json={"webhook_configuration": config}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_phone_override(server: LiveServer) -> None:
    biz = await create_business(server)
    async with receiver() as app_rx, receiver(verify_token="phone-vt") as phone_rx:
        await server.container.webhooks.subscribe_app(
            int(biz.app_id), callback_url=app_rx.url, verify_token=app_rx.verify_token, fields=None
        )
        config = {"override_callback_uri": phone_rx.url, "verify_token": "phone-vt"}
        assert await _phone_webhook_configuration(server, biz, config) == {"success": True}
        await put(server, biz, 1)
        await put(server, biz, 2, field="account_update", phone=False)
        await phone_rx.wait_for(1)
        await app_rx.wait_for(1)
        assert [p.value["n"] for p in phone_rx.posts] == [1] and [p.value["n"] for p in app_rx.posts] == [2]

        assert await _phone_webhook_configuration(server, biz, {"override_callback_uri": ""}) == {"success": True}
        await put(server, biz, 3)
        await app_rx.wait_for(2)
        assert len(phone_rx.posts) == 1


async def test_another_businesss_token_cannot_touch_these_subscriptions(server: LiveServer) -> None:
    ours = await create_business(server, "Ours")
    theirs = await create_business(server, "Theirs")
    async with receiver() as rx:
        for method in ("GET", "POST", "DELETE"):
            response = await server.http.request(
                method,
                f"{V}/{ours.waba_id}/subscribed_apps",
                headers=theirs.headers,
                json={"override_callback_uri": rx.url, "verify_token": rx.verify_token} if method == "POST" else None,
            )
            error = graph_error(response, 100, 400, 33)
            assert f"Object with ID '{ours.waba_id}' does not exist" in error["error_data"]["details"]
        body = {"object": "whatsapp_business_account", "callback_url": rx.url, "verify_token": rx.verify_token}
        graph_error(
            await server.http.post(f"{V}/{ours.app_id}/subscriptions", headers=theirs.headers, json=body), 100, 400, 33
        )
        other_app_token = f"{theirs.app_id}|{SECRET}"
        graph_error(
            await server.http.post(f"{V}/{ours.app_id}/subscriptions", json={**body, "access_token": other_app_token}),
            100,
            400,
            33,
        )
        graph_error(
            await server.http.get(f"{V}/{ours.app_id}/subscriptions", params={"access_token": f"{ours.app_id}|bad"}),
            190,
            401,
        )
        graph_error(await server.http.get(f"{V}/{ours.waba_id}/subscribed_apps"), 190, 401)
        assert rx.verifications == []  # nothing was even tried
        assert await server.container.webhooks.phone_override(int(ours.phone_number_id)) is None


async def test_pywas_own_webhook_server_verifies_and_accepts_what_parley_sends(server: LiveServer) -> None:
    pytest.importorskip("pywa_async")
    from fastapi import FastAPI

    biz = await create_business(server)
    app = FastAPI()
    updates: list[Any] = []
    wa = pywa_client(server, biz, server=app, verify_token="pywa-server-vt", app_secret=SECRET, webhook_endpoint="/wa")

    @wa.on_raw_update()  # type: ignore[untyped-decorator]
    async def collect(_: Any, update: Any) -> None:
        updates.append(update)

    async with _serve(app) as base_url:
        app_token = (await wa.api.get_app_access_token(client_id=int(biz.app_id), client_secret=SECRET))["access_token"]
        await wa.api.set_app_callback_url(
            app_id=int(biz.app_id),
            access_token=app_token,
            callback_url=f"{base_url}/wa",
            verify_token="pywa-server-vt",
            fields=("messages",),
        )
        event_id = await put(server, biz, 7)
        await _until_state(server, event_id, "delivered")
        [update] = updates  # the signature checked out: pywa would have answered 401/403 otherwise
        assert update.field == "messages" and update.id == biz.waba_id and update.value["n"] == 7


async def _until_state(server: LiveServer, event_id: int, state: str, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        row = await server.container.webhooks.get_event(event_id)
        if row is not None and row.state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"event {event_id} never became {state}: {row}")


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
