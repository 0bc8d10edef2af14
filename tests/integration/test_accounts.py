"""Sign-in by one-time code, profiles, devices and tokens, through the HTTP API."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from parley.cli.main import app as cli_app
from parley.cli.main import dev_codes_refusal
from parley.config import DiscoverySettings, OtpSettings, Settings, SmsSettings
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import create_business

API = "/client/v1"


async def latest_code(server: LiveServer, phone: str) -> str:
    response = await server.http.get(f"{API}/dev/codes")
    assert response.status_code == 200
    codes = [c for c in response.json()["codes"] if c["phone"] == phone]
    assert codes, f"no code was sent to {phone}"
    return str(codes[0]["code"])


async def request_code(server: LiveServer, phone: str) -> Any:
    return await server.http.post(f"{API}/auth/request-code", json={"phone": phone})


async def verify(server: LiveServer, phone: str, code: str, device: str = "Phone") -> Any:
    return await server.http.post(f"{API}/auth/verify", json={"phone": phone, "code": code, "device_name": device})


async def sign_in(server: LiveServer, phone: str, device: str = "Phone") -> dict[str, Any]:
    assert (await request_code(server, phone)).status_code == 200
    response = await verify(server, phone, await latest_code(server, phone), device)
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_sign_in_with_a_code_from_the_dev_panel(server: LiveServer) -> None:
    response = await request_code(server, "+1 (415) 555-2671")
    assert response.status_code == 200
    assert response.json() == {"phone": "+14155552671", "expires_in": 600, "resend_after": 30}

    codes = (await server.http.get(f"{API}/dev/codes")).json()["codes"]
    assert codes[0]["phone"] == "+14155552671"
    assert len(codes[0]["code"]) == 6 and codes[0]["code"].isdigit()

    session = (await verify(server, "+14155552671", codes[0]["code"], "Pixel")).json()
    assert set(session) == {"token", "user_id", "device_id"}

    me = await server.http.get(f"{API}/me", headers=bearer(session["token"]))
    assert me.status_code == 200
    assert me.json() == {
        "user_id": session["user_id"],
        "phone": "+14155552671",
        "name": "",
        "kind": "person",
        "photo_id": None,
    }


async def test_a_code_works_once(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    code = await latest_code(server, phone)
    assert (await verify(server, phone, code)).status_code == 200
    again = await verify(server, phone, code)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "code_expired"


async def test_signing_in_on_a_new_device_reaches_the_same_account(server: LiveServer) -> None:
    phone = server.next_phone()
    first = await server.container.accounts.create_user_with_token(phone, "Alice", "Phone")
    second = await sign_in(server, phone, "Laptop")
    assert second["user_id"] == str(first.user_id)
    assert second["device_id"] != str(first.device_id)
    assert second["token"] != first.token
    # Both devices stay signed in, and the account keeps its name.
    for token in (first.token, second["token"]):
        me = await server.http.get(f"{API}/me", headers=bearer(token))
        assert me.status_code == 200
        assert me.json()["name"] == "Alice"


async def test_invalid_phone_number_is_refused_with_a_reason(server: LiveServer) -> None:
    for phone in ["12345", "not a number", "+1 415", "+1 000 555 1000", "+999 5551234"]:
        response = await request_code(server, phone)
        assert response.status_code == 400, phone
        error = response.json()["error"]
        assert error["code"] == "invalid_phone_number", phone
        assert "phone number" in error["message"], phone
    assert (await server.http.get(f"{API}/dev/codes")).json()["codes"] == []


async def test_asking_again_too_soon_is_rate_limited(server: LiveServer) -> None:
    phone = server.next_phone()
    assert (await request_code(server, phone)).status_code == 200
    first_code = await latest_code(server, phone)
    again = await request_code(server, phone)
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(again.headers["Retry-After"]) <= 30
    # No second code was sent, and the first one still works.
    codes = (await server.http.get(f"{API}/dev/codes")).json()["codes"]
    assert [c["code"] for c in codes if c["phone"] == phone] == [first_code]
    assert (await verify(server, phone, first_code)).status_code == 200


async def test_asking_again_within_30_seconds_is_refused_wherever_the_first_request_fell(server: LiveServer) -> None:
    # Put the first request half a second before a 30 s boundary of the wall clock: a resend one
    # second later is still far inside the 30 s the answer promised.
    now_ms = server.clock.now_ms()
    server.clock.advance(seconds=(30_000 - now_ms % 30_000 - 500) / 1000)
    phone = server.next_phone()
    assert (await request_code(server, phone)).status_code == 200
    server.clock.advance(seconds=1)
    again = await request_code(server, phone)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) >= 28


async def test_after_the_interval_a_new_code_replaces_the_old_one(server: LiveServer) -> None:
    if server.settings.redis_url:
        pytest.skip("the Redis limiter counts in Redis's own time, which the test clock cannot move")
    phone = server.next_phone()
    await request_code(server, phone)
    old = await latest_code(server, phone)
    server.clock.advance(seconds=31)
    assert (await request_code(server, phone)).status_code == 200
    new = await latest_code(server, phone)
    if new != old:
        refused = await verify(server, phone, old)
        assert refused.status_code == 400
    assert (await verify(server, phone, new)).status_code == 200


async def test_five_wrong_codes_lock_the_code(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    code = await latest_code(server, phone)
    for attempt in range(1, 5):
        response = await verify(server, phone, wrong(code))
        assert response.status_code == 400, attempt
        assert response.json()["error"]["code"] == "wrong_code"
    fifth = await verify(server, phone, wrong(code))
    assert fifth.status_code == 403
    assert fifth.json()["error"]["code"] == "too_many_attempts"
    sixth = await verify(server, phone, code)  # even the right code
    assert sixth.status_code == 403
    assert sixth.json()["error"]["code"] == "too_many_attempts"


async def test_concurrent_guesses_cannot_get_past_the_attempt_limit(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    code = await latest_code(server, phone)
    responses = await asyncio.gather(*(verify(server, phone, wrong(code)) for _ in range(20)))
    codes = [r.json()["error"]["code"] for r in responses]
    assert codes.count("wrong_code") == 4, codes
    assert codes.count("too_many_attempts") == 16, codes
    assert (await verify(server, phone, code)).status_code == 403


async def test_code_expires_after_ten_minutes(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    code = await latest_code(server, phone)
    server.clock.advance(minutes=9, seconds=50)
    still_fine = server.next_phone()  # a second number shows the clock, not the code, decides
    await request_code(server, still_fine)
    assert (await verify(server, still_fine, await latest_code(server, still_fine))).status_code == 200
    server.clock.advance(seconds=11)
    expired = await verify(server, phone, code)
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "code_expired"


async def test_code_within_ten_minutes_still_works(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    code = await latest_code(server, phone)
    server.clock.advance(minutes=9, seconds=55)
    assert (await verify(server, phone, code)).status_code == 200


async def test_verify_without_asking_for_a_code(server: LiveServer) -> None:
    response = await verify(server, server.next_phone(), "123456")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "code_expired"


async def test_code_must_be_six_digits(server: LiveServer) -> None:
    phone = server.next_phone()
    await request_code(server, phone)
    for code in ["12345", "1234567", "abcdef", "", "１２３４５６"]:
        response = await verify(server, phone, code)
        assert response.status_code == 400, code
        assert response.json()["error"]["code"] == "invalid_request", code
    # A malformed code is not a guess: the real one still works.
    assert (await verify(server, phone, await latest_code(server, phone))).status_code == 200


async def test_profile_rename(server: LiveServer) -> None:
    alice = await server.user("Alice")
    renamed = await server.http.patch(f"{API}/me", headers=alice.headers, json={"name": "Alice Liddell"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Alice Liddell"
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).json()["name"] == "Alice Liddell"
    empty = await server.http.patch(f"{API}/me", headers=alice.headers, json={"name": ""})
    assert empty.status_code == 400
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).json()["name"] == "Alice Liddell"


async def test_lookup_by_phone(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    found = await server.http.get(f"{API}/users/lookup", headers=alice.headers, params={"phone": bob.phone})
    assert found.status_code == 200
    assert found.json() == {
        "user_id": bob.user_id,
        "phone": bob.phone,
        "name": "Bob",
        "kind": "person",
        "photo_id": None,
    }
    missing = await server.http.get(f"{API}/users/lookup", headers=alice.headers, params={"phone": server.next_phone()})
    assert missing.status_code == 404
    anonymous = await server.http.get(f"{API}/users/lookup", params={"phone": bob.phone})
    assert anonymous.status_code == 401
    # A business's number says so: a chat opened from its click-to-chat link shows its shop before the first message.
    shop = await create_business(server, "Shop")
    business = await server.http.get(f"{API}/users/lookup", headers=alice.headers, params={"phone": shop.phone})
    assert business.status_code == 200 and business.json()["kind"] == "business", business.text


async def test_devices_list_marks_the_current_one(server: LiveServer) -> None:
    phone = server.next_phone()
    phone_session = await sign_in(server, phone, "Phone")
    laptop = await server.container.accounts.create_user_with_token(phone, "", "Laptop")

    listed = (await server.http.get(f"{API}/devices", headers=bearer(phone_session["token"]))).json()["devices"]
    assert {d["name"] for d in listed} == {"Phone", "Laptop"}
    current = [d for d in listed if d["current"]]
    assert len(current) == 1
    assert current[0]["id"] == phone_session["device_id"]
    assert all(isinstance(d["created_at"], int) and isinstance(d["last_seen_at"], int) for d in listed)

    from_laptop = (await server.http.get(f"{API}/devices", headers=bearer(laptop.token))).json()["devices"]
    assert [d["id"] for d in from_laptop if d["current"]] == [str(laptop.device_id)]


async def test_revoking_a_device_stops_its_token_at_once(server: LiveServer) -> None:
    phone = server.next_phone()
    mine = await server.container.accounts.create_user_with_token(phone, "Alice", "Phone")
    stolen = await server.container.accounts.create_user_with_token(phone, "Alice", "Old phone")
    # The stolen device has been used (its token is cached by the server).
    assert (await server.http.get(f"{API}/me", headers=bearer(stolen.token))).status_code == 200

    revoked = await server.http.delete(f"{API}/devices/{stolen.device_id}", headers=bearer(mine.token))
    assert revoked.status_code == 204

    refused = await server.http.get(f"{API}/me", headers=bearer(stolen.token))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    devices = (await server.http.get(f"{API}/devices", headers=bearer(mine.token))).json()["devices"]
    assert [d["id"] for d in devices] == [str(mine.device_id)]
    again = await server.http.delete(f"{API}/devices/{stolen.device_id}", headers=bearer(mine.token))
    assert again.status_code == 404


async def test_cannot_revoke_someone_elses_device(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    bob_devices = (await server.http.get(f"{API}/devices", headers=bob.headers)).json()["devices"]
    response = await server.http.delete(f"{API}/devices/{bob_devices[0]['id']}", headers=alice.headers)
    assert response.status_code == 404
    assert (await server.http.get(f"{API}/me", headers=bob.headers)).status_code == 200
    assert (await server.http.delete(f"{API}/devices/not-an-id", headers=alice.headers)).status_code == 404


async def test_logout_revokes_only_this_device(server: LiveServer) -> None:
    phone = server.next_phone()
    phone_session = await sign_in(server, phone, "Phone")
    laptop = await server.container.accounts.create_user_with_token(phone, "", "Laptop")
    assert (await server.http.get(f"{API}/me", headers=bearer(phone_session["token"]))).status_code == 200

    out = await server.http.post(f"{API}/auth/logout", headers=bearer(phone_session["token"]))
    assert out.status_code == 204
    assert (await server.http.get(f"{API}/me", headers=bearer(phone_session["token"]))).status_code == 401
    assert (await server.http.post(f"{API}/auth/logout", headers=bearer(phone_session["token"]))).status_code == 401
    assert (await server.http.get(f"{API}/me", headers=bearer(laptop.token))).status_code == 200


async def test_dev_codes_are_hidden_unless_enabled(server: LiveServer) -> None:
    server.container.settings.dev_show_codes = False
    try:
        phone = server.next_phone()
        await request_code(server, phone)
        response = await server.http.get(f"{API}/dev/codes")
        assert response.status_code == 404
    finally:
        server.container.settings.dev_show_codes = True


# --- development codes stay on this machine; production texts codes and never logs them -------------------


def from_address(server: LiveServer, address: str) -> httpx.AsyncClient:
    """A client of the running app that appears to call from `address` (the ASGI scope's client)."""
    transport = httpx.ASGITransport(app=server.app, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://parley.test")


async def test_dev_codes_are_refused_to_clients_beyond_loopback(server: LiveServer) -> None:
    phone = server.next_phone()
    assert (await request_code(server, phone)).status_code == 200
    async with from_address(server, "203.0.113.7") as outsider, from_address(server, "::1") as local:
        refused = await outsider.get(f"{API}/dev/codes")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        assert "codes" not in refused.text
        assert (await local.get(f"{API}/dev/codes")).status_code == 200
        server.container.settings.dev_allow_remote_codes = True  # the operator's explicit choice
        try:
            assert (await outsider.get(f"{API}/dev/codes")).status_code == 200
        finally:
            server.container.settings.dev_allow_remote_codes = False


def test_serve_refuses_development_codes_on_a_public_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_DEV_SHOW_CODES", "true")
    monkeypatch.delenv("PARLEY_DEV_ALLOW_REMOTE_CODES", raising=False)
    for host in ("0.0.0.0", "::", "192.0.2.10", "parley.example.com"):
        result = CliRunner().invoke(cli_app, ["serve", "--host", host, "--port", "1"])
        assert result.exit_code == 2, (host, result.output)
        assert "Refusing to start" in result.output
        assert "PARLEY_DEV_ALLOW_REMOTE_CODES" in result.output
    dev = Settings(dev_show_codes=True)
    assert all(dev_codes_refusal(dev, host) is None for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert dev_codes_refusal(dev.model_copy(update={"dev_allow_remote_codes": True}), "0.0.0.0") is None
    assert dev_codes_refusal(Settings(dev_show_codes=False), "0.0.0.0") is None


class SmsProvider:
    """A real local HTTP server standing in for an SMS provider: records each POST, answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str]] = []
        self.status = 200
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                provider.received.append((json.loads(body), self.headers.get("Authorization", "")))
                self.send_response(provider.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def code_sent_to(self, phone: str) -> str:
        texts = [body["text"] for body, _ in self.received if body["to"] == phone]
        assert texts, f"no text was sent to {phone}"
        match = re.search(r"\b(\d{6})\b", texts[-1])
        assert match is not None
        return match.group(1)


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider()
    yield provider
    provider.close()


def production(settings: Settings, sms: SmsProvider, **otp: int) -> Settings:
    """Development codes off, codes texted through the local provider, production limits (optionally tighter)."""
    return settings.model_copy(
        update={
            "dev_show_codes": False,
            "sms": SmsSettings(url=sms.url, token="provider-key", sender="Parley"),
            "otp": OtpSettings(**otp),
        }
    )


async def test_production_texts_codes_through_the_sms_provider_and_never_logs_them(
    settings: Settings, sms_provider: SmsProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_server(production(settings, sms_provider)) as live:
        phone = live.next_phone()
        answer = await request_code(live, phone)
        assert answer.status_code == 200, answer.text
        body, authorization = sms_provider.received[-1]
        assert body["to"] == phone and body["from"] == "Parley"
        assert authorization == "Bearer provider-key"
        code = sms_provider.code_sent_to(phone)
        assert (await verify(live, phone, code)).status_code == 200
        # There is no developer panel, and the code is nowhere in the log.
        assert (await live.http.get(f"{API}/dev/codes")).status_code == 404
    assert code not in caplog.text


async def test_a_provider_failure_is_a_clear_503(settings: Settings, sms_provider: SmsProvider) -> None:
    sms_provider.status = 500
    async with running_server(production(settings, sms_provider)) as live:
        answer = await request_code(live, live.next_phone())
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "code_not_sent"


async def test_without_a_provider_or_development_codes_sign_in_by_code_is_unavailable(settings: Settings) -> None:
    async with running_server(settings.model_copy(update={"dev_show_codes": False})) as live:
        answer = await request_code(live, live.next_phone())
        assert answer.status_code == 503
        assert "SMS provider" in answer.json()["error"]["message"]


async def test_code_requests_are_limited_per_client_address(settings: Settings, sms_provider: SmsProvider) -> None:
    async with running_server(production(settings, sms_provider, max_per_address_per_hour=3)) as live:
        async with from_address(live, "198.51.100.4") as pumper, from_address(live, "198.51.100.5") as neighbour:
            for _ in range(3):
                assert (await pumper.post(f"{API}/auth/request-code", json={"phone": live.next_phone()})).is_success
            refused = await pumper.post(f"{API}/auth/request-code", json={"phone": live.next_phone()})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"
            assert "network" in refused.json()["error"]["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 3600
            # Another address is not held back, and the refused request texted nothing.
            assert (await neighbour.post(f"{API}/auth/request-code", json={"phone": live.next_phone()})).is_success
        assert len(sms_provider.received) == 4


async def test_code_requests_are_limited_across_the_whole_server(settings: Settings, sms_provider: SmsProvider) -> None:
    async with running_server(production(settings, sms_provider, max_per_minute=5)) as live:
        statuses = []
        for i in range(8):  # every request from its own address: only the global limit can stop them
            async with from_address(live, f"198.51.100.{10 + i}") as caller:
                answer = await caller.post(f"{API}/auth/request-code", json={"phone": live.next_phone()})
                statuses.append(answer.status_code)
                if answer.status_code == 429:
                    assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert statuses == [200] * 5 + [429] * 3
        assert len(sms_provider.received) == 5


async def test_development_limits_are_generous_but_present(settings: Settings) -> None:
    # The defaults, with development codes on: twenty times production's, so a flood is still refused.
    assert settings.dev_show_codes
    dev = settings.model_copy(update={"otp": OtpSettings(max_per_address_per_hour=2, dev_limit_factor=3)})
    async with running_server(dev) as live:
        statuses = [(await request_code(live, live.next_phone())).status_code for _ in range(8)]
        assert statuses == [200] * 6 + [429] * 2


# --- discovery: looking people up by number is limited per account and per client address --------------


async def test_numbers_cannot_be_enumerated_through_lookup(settings: Settings) -> None:
    # Production limits (development codes off): the probe's 600 lookups in a row are refused after 100.
    async with running_server(settings.model_copy(update={"dev_show_codes": False})) as live:
        prober, known = await live.user("Prober"), await live.user("Known")
        statuses = []
        for i in range(150):
            phone = known.phone if i % 10 == 0 else f"+1415556{i:04d}"
            response = await live.http.get(f"{API}/users/lookup", params={"phone": phone}, headers=prober.headers)
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["error"]["code"] == "rate_limited"
                assert 1 <= int(response.headers["Retry-After"]) <= 3600
        assert set(statuses[:100]) <= {200, 404}
        assert statuses[100:] == [429] * 50
        # Even a number on Parley is no longer answered.
        refused = await live.http.get(f"{API}/users/lookup", params={"phone": known.phone}, headers=prober.headers)
        assert refused.status_code == 429 and "Known" not in refused.text


async def test_lookups_are_limited_per_client_address_across_accounts(settings: Settings) -> None:
    limits = DiscoverySettings(per_account_per_hour=5, per_address_per_hour=8, dev_limit_factor=1)
    async with running_server(settings.model_copy(update={"discovery": limits})) as live:
        first, second, target = await live.user("First"), await live.user("Second"), await live.user("Target")

        async def lookup(client: httpx.AsyncClient, user: Any) -> int:
            answer = await client.get(f"{API}/users/lookup", params={"phone": target.phone}, headers=user.headers)
            return answer.status_code

        async with from_address(live, "198.51.100.20") as shared, from_address(live, "198.51.100.21") as elsewhere:
            assert [await lookup(shared, first) for _ in range(6)] == [200] * 5 + [429]
            # A second account behind the same address gets what is left of the address's budget.
            assert [await lookup(shared, second) for _ in range(4)] == [200] * 3 + [429]
            assert (await lookup(elsewhere, second)) == 200


async def test_sends_groups_and_blocks_are_no_way_around_the_lookup_limit(settings: Settings) -> None:
    limits = DiscoverySettings(per_account_per_hour=3, dev_limit_factor=1)
    async with running_server(settings.model_copy(update={"discovery": limits})) as live:
        prober, friend = await live.user("Prober"), await live.user("Friend")

        def send_to(phone: str) -> dict[str, Any]:
            return {"to": phone, "type": "text", "text": {"body": "hi"}, "client_id": uuid.uuid4().hex}

        statuses = []
        for i in range(2):  # unknown numbers cost a lookup each, through a send or a group
            statuses.append(
                (
                    await live.http.post(f"{API}/messages", headers=prober.headers, json=send_to(f"+1415558{i:04d}"))
                ).status_code
            )
        group = {"name": "probe", "members": ["+14155589999"]}
        statuses.append((await live.http.post(f"{API}/groups", headers=prober.headers, json=group)).status_code)
        assert statuses == [404, 404, 404]
        refused = await live.http.post(f"{API}/messages", headers=prober.headers, json=send_to("+14155588888"))
        assert refused.status_code == 429
        # Blocking names the person, so it counts like a lookup (and is refused now); sends to people on
        # Parley are never held back by it.
        blocked = await live.http.post(f"{API}/blocks", headers=prober.headers, json={"phone": friend.phone})
        assert blocked.status_code == 429 and "Friend" not in blocked.text
        sent = await live.http.post(f"{API}/messages", headers=prober.headers, json=send_to(friend.phone))
        assert sent.status_code == 200
