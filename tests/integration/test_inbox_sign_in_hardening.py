"""The inbox's sign-in under attack (issue 11, findings 1, 12 and 13): a login flood leaves the server answering,
limits fall on the attacker's address rather than the agent's account, the login and logout forms need their
CSRF tokens, ending a session closes its live sockets, and a lone UTF-16 surrogate in JSON is a clean 400."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from parley.config import InboxSettings, Settings
from parley.container import build_container
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import create_business, person_writes
from tests.integration.inbox_helpers import PASSWORD, agent, client_from, sign_in

pytestmark = pytest.mark.asyncio


def _inbox(settings: Settings, **changes: float) -> Settings:
    return settings.model_copy(update={"inbox": InboxSettings(automation_poll_s=0, **changes)})


# --- finding 1: a login flood -------------------------------------------------------------------


async def test_a_flood_of_wrong_logins_leaves_healthz_answering_before_the_flood_ends(settings: Settings) -> None:
    roomy = _inbox(settings, login_per_address=1000, login_per_address_and_email=1000, password_hash_queue=100)
    flood_size, probes = 24, 40
    async with running_server(roomy) as server, httpx.AsyncClient(base_url=server.base_url, timeout=60) as attacker:
        await attacker.get("/inbox/login")  # the form's CSRF cookie, shared by the whole flood
        form_token = attacker.cookies.get("parley_inbox_login", "")
        flood = [
            asyncio.create_task(
                attacker.post(
                    "/inbox/login",
                    data={"email": f"nobody{i}@flood.example", "password": "wrong-password", "csrf_token": form_token},
                )
            )
            for i in range(flood_size)
        ]
        answered = 0
        for _ in range(probes):
            health = await server.http.get("/healthz")
            assert health.status_code == 200
            answered += 1
        logins_done_meanwhile = sum(task.done() for task in flood)
        outcomes = await asyncio.gather(*flood)
    # Password hashing runs off the event loop: every probe answered while the flood's logins still waited.
    assert answered == probes and logins_done_meanwhile < flood_size
    assert all(o.status_code == 400 and "Wrong email or password." in o.text for o in outcomes)


async def test_one_address_trying_new_emails_gets_429_after_its_limit_and_others_still_sign_in(
    settings: Settings,
) -> None:
    async with running_server(_inbox(settings, login_per_address=5)) as server:
        biz = await create_business(server)
        await server.container.inbox.create_agent(
            int(biz.waba_id), email="ana@shop.example", name="Ana", role="owner", password=PASSWORD
        )
        async with client_from(server, "127.0.0.2") as attacker, client_from(server, "127.0.0.3") as ana:
            statuses = [(await sign_in(attacker, f"guess{i}@flood.example", "wrong-password")) for i in range(7)]
            assert [s.status_code for s in statuses] == [400] * 5 + [429] * 2
            refused = statuses[-1]
            assert int(refused.headers["retry-after"]) > 0
            assert "Too many sign-in attempts" in refused.text
            # A script asking for JSON gets the inbox API's error shape.
            form = {"email": "x@flood.example", "password": "p", "csrf_token": attacker.cookies["parley_inbox_login"]}
            scripted = await attacker.post("/inbox/login", data=form, headers={"Accept": "application/json"})
            assert scripted.status_code == 429 and scripted.json()["error"]["code"] == "rate_limited"
            assert (await sign_in(ana, "ana@shop.example")).status_code == 303


async def test_a_full_password_queue_is_refused_at_once_with_retry_after(settings: Settings) -> None:
    tight = _inbox(settings, login_per_address=1000, password_hash_threads=1, password_hash_queue=1)
    async with running_server(tight) as server, httpx.AsyncClient(base_url=server.base_url, timeout=60) as attacker:
        await attacker.get("/inbox/login")
        form_token = attacker.cookies.get("parley_inbox_login", "")
        outcomes = await asyncio.gather(
            *(
                attacker.post(
                    "/inbox/login",
                    data={"email": f"n{i}@flood.example", "password": "wrong-password", "csrf_token": form_token},
                )
                for i in range(10)
            )
        )
    statuses = sorted(o.status_code for o in outcomes)
    # One hashes, one waits; the rest are refused early instead of queueing without bound.
    assert statuses.count(400) >= 2 and statuses.count(429) >= 1 and set(statuses) == {400, 429}
    assert all(o.headers.get("retry-after") for o in outcomes if o.status_code == 429)


# --- finding 13: sessions --------------------------------------------------------------------------


async def test_wrong_passwords_throttle_the_attacker_s_address_not_the_agent(server: LiveServer) -> None:
    biz = await create_business(server)
    await server.container.inbox.create_agent(
        int(biz.waba_id), email="ana@shop.example", name="Ana", role="owner", password=PASSWORD
    )
    async with client_from(server, "127.0.0.2") as attacker, client_from(server, "127.0.0.3") as ana:
        for _ in range(12):
            await sign_in(attacker, "ana@shop.example", "guess-guess")
        # The attacker's address is held back, even with the right password ...
        assert (await sign_in(attacker, "ana@shop.example")).status_code == 429
        # ... while Ana, from her own address, signs in at once.
        signed = await sign_in(ana, "ana@shop.example")
        assert signed.status_code == 303 and (await ana.get("/inbox/api/me")).status_code == 200


async def test_the_login_form_needs_its_csrf_token(server: LiveServer) -> None:
    biz = await create_business(server)
    await server.container.inbox.create_agent(
        int(biz.waba_id), email="ana@shop.example", name="Ana", role="owner", password=PASSWORD
    )
    credentials = {"email": "ana@shop.example", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as browser:
        # Another site's page posting the form (no token, no cookie from our form) signs nobody in.
        forged = await browser.post("/inbox/login", data=credentials)
        assert forged.status_code == 403 and "parley_inbox=" not in forged.headers.get("set-cookie", "")
        await browser.get("/inbox/login")
        wrong = await browser.post("/inbox/login", data={**credentials, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403
        assert (await browser.get("/inbox/api/me")).status_code == 401
        assert (await sign_in(browser, "ana@shop.example")).status_code == 303


async def test_removing_an_agent_closes_their_live_stream(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olivia", role="owner")
    sam = await agent(server, biz, "Sam")
    url = server.base_url.replace("http://", "ws://") + "/inbox/api/stream"
    cookie = {"Cookie": f"parley_inbox={sam.http.cookies['parley_inbox']}"}
    async with connect(url, additional_headers=cookie) as ws:
        await owner.patch("/me", {"availability": "away"})  # the stream is live: Sam hears of it
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=10)) == {"type": "agents"}
        assert (await owner.delete(f"/agents/{sam.id}")).status_code == 204
        await person_writes(server, await server.user("Ada"), biz)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_signing_out_or_a_password_reset_closes_the_live_stream(server: LiveServer) -> None:
    biz = await create_business(server)
    sam = await agent(server, biz, "Sam")
    url = server.base_url.replace("http://", "ws://") + "/inbox/api/stream"
    for end in ("logout", "reset"):
        cookie = {"Cookie": f"parley_inbox={sam.http.cookies['parley_inbox']}"}
        async with connect(url, additional_headers=cookie) as ws:
            if end == "logout":
                out = await sam.http.post("/inbox/logout", data={"csrf_token": sam.csrf})
                assert out.status_code == 303
            else:
                await server.container.inbox.reset_password(int(biz.waba_id), sam.email, PASSWORD)
            with pytest.raises(ConnectionClosed) as closed:
                while True:  # an "agents" event (Sam went offline) may come first
                    await asyncio.wait_for(ws.recv(), timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        await sam.sign_in_again(server.base_url)


async def test_a_reset_from_another_process_closes_the_live_stream_too(settings: Settings) -> None:
    """The operator's CLI has a bus of its own (in memory beside SQLite): the stream notices by checking again."""
    async with running_server(_inbox(settings, stream_session_check_s=0.2)) as server:
        biz = await create_business(server)
        sam = await agent(server, biz, "Sam")
        url = server.base_url.replace("http://", "ws://") + "/inbox/api/stream"
        cookie = {"Cookie": f"parley_inbox={sam.http.cookies['parley_inbox']}"}
        async with connect(url, additional_headers=cookie) as ws:
            operator = build_container(settings)
            await operator.start()
            try:
                await operator.inbox.reset_password(int(biz.waba_id), sam.email, "a brand new password")
            finally:
                await operator.close()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        await sam.http.aclose()


async def test_logout_needs_the_csrf_token_and_ends_the_session_on_the_server(server: LiveServer) -> None:
    biz = await create_business(server)
    sam = await agent(server, biz, "Sam")
    session = sam.http.cookies["parley_inbox"]
    # Another site's form cannot sign Sam out, and nothing is half done: the cookie and the session stay.
    forged = await sam.http.post("/inbox/logout", data={})
    assert forged.status_code == 403 and "parley_inbox=" not in forged.headers.get("set-cookie", "")
    assert (await sam.get("/me")).status_code == 200
    out = await sam.http.post("/inbox/logout", data={"csrf_token": sam.csrf})
    assert out.status_code == 303 and out.headers["location"] == "/inbox/login"
    async with httpx.AsyncClient(base_url=server.base_url, cookies={"parley_inbox": session}) as replay:
        assert (await replay.get("/inbox/api/me")).status_code == 401


# --- finding 12: lone surrogates -------------------------------------------------------------------

LONE = '"\\ud800"'  # a JSON escape for half of a UTF-16 pair: valid JSON text, not a Unicode string


async def test_a_lone_surrogate_in_inbox_json_is_a_400_on_every_route(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olivia", role="owner")
    await person_writes(server, await server.user("Ada"), biz)
    [row] = await owner.conversations()
    label_id = (await owner.get("/labels")).json()["data"][0]["id"]
    number = biz.phone_number_id
    cases = [
        ("PATCH", f"/contacts/{row['contact']['id']}", f'{{"notes": {LONE}}}'),
        ("PATCH", "/me", f'{{"name": {LONE}}}'),
        ("PATCH", f"/labels/{label_id}", f'{{"name": {LONE}}}'),
        ("PATCH", f"/profile?number={number}", f'{{"about": {LONE}}}'),
        ("POST", "/labels", f'{{"name": {LONE}, "colour": "#ff0000"}}'),
        ("POST", "/quick-replies", f'{{"shortcut": "hi", "body": {LONE}}}'),
        ("POST", "/agents", f'{{"email": "x@shop.example", "name": {LONE}, "role": "agent"}}'),
        ("POST", "/links", f'{{"number_id": "{number}", "prefilled_message": {LONE}}}'),
        ("POST", "/labels", f'{{{LONE}: "key"}}'),
    ]
    for method, path, raw in cases:
        response = await owner.http.request(
            method,
            f"/inbox/api{path}",
            content=raw.encode(),
            headers={"X-CSRF-Token": owner.csrf, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["error"]["code"] == "invalid_request", response.text
    # Nothing was half applied; a proper pair (an emoji) is fine.
    assert len((await owner.get("/labels")).json()["data"]) == 6
    emoji = await owner.post("/labels", {"name": "\U0001f600 happy"})
    assert emoji.status_code == 201 and emoji.json()["name"] == "\U0001f600 happy"
