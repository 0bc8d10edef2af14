"""A person's rights end to end: the data export (one zip with their data and media, nobody else's) and account
erasure (1:1 messages deleted for everyone live, groups left, personal data gone from the database, the ledger
still verifying, the number free to sign up again), through the client API and the operator's CLI."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, String, Text, func, insert, select
from typer.testing import CliRunner

from parley.accounts.models import devices
from parley.cli.main import app
from parley.config import OtpSettings, PersonPaySettings, Settings
from parley.e2ee.models import e2ee_device_keys, e2ee_one_time_keys, e2ee_to_device
from parley.kit.db import metadata
from parley.signals.models import consent_events, consents, signal_days
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import create_business, person_writes, text_to
from tests.integration.test_accounts import latest_code
from tests.integration.test_ledger_cli import operator_env
from tests.integration.test_media import png, send_media, upload
from tests.integration.test_person_payments import key, pay, set_pin, top_up, verify_ledger
from tests.integration.test_receipts_and_stream import create_group, open_stream

API = "/client/v1"
PHONES = iter(f"+55119876{n:05d}" for n in range(20_000, 99_999))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A short resend interval: the number asks for a code to erase, then again to sign up (Redis counts real time).
    otp = OtpSettings(resend_interval_s=1)
    return settings.model_copy(update={"person_pay": PersonPaySettings(sweep_interval_s=0), "otp": otp})


async def person(server: LiveServer, name: str) -> User:
    """A Brazilian (Parley Pay's wallets work there) with a name nobody else has, to look for after erasure."""
    return await server.user(name, phone=next(PHONES))


async def export(server: LiveServer, user: User) -> zipfile.ZipFile:
    response = await server.http.get(f"{API}/me/export", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def part(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    return dict(json.loads(archive.read(f"{name}.json")))


async def history(server: LiveServer, user: User, chat_id: str) -> list[dict[str, Any]]:
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def text_values(conn: Connection) -> list[tuple[str, str, str]]:
    """Every text value in the database: (table, column, value)."""
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if columns:
            for row in conn.execute(select(*columns)):
                found += [(table.name, c.name, v) for c, v in zip(columns, row, strict=True) if isinstance(v, str)]
    return found


def seed_signals_and_keys(conn: Connection, server: LiveServer, user: User) -> None:
    """What the signals and key-directory domains would have recorded (their services are built elsewhere)."""
    user_id, now = int(user.user_id), server.clock.now_ms()
    device_id = int(conn.execute(select(devices.c.id).where(devices.c.user_id == user_id)).scalar_one())
    conn.execute(insert(signal_days).values(user_id=user_id, day=now // 86_400_000, messages_sent=3))
    conn.execute(
        insert(consents).values(user_id=user_id, purpose="ads", granted=False, wording_version="1", updated_at=now)
    )
    for n, action in enumerate(("given", "withdrawn")):
        event = {"id": server.container.ids.next_id(), "user_id": user_id, "purpose": "ads", "action": action}
        conn.execute(insert(consent_events).values(**event, wording_version="1", created_at=now + n))
    keys = {"device_id": device_id, "user_id": user_id, "curve25519": "c", "ed25519": "e", "device_keys": "{}"}
    conn.execute(insert(e2ee_device_keys).values(**keys, created_at=now, updated_at=now))
    conn.execute(
        insert(e2ee_one_time_keys).values(device_id=device_id, key_id="signed_curve25519:A", key="{}", created_at=now)
    )
    message = {"recipient_device_id": device_id, "sender_user_id": user_id, "sender_device_id": device_id}
    conn.execute(
        insert(e2ee_to_device).values(
            id=server.container.ids.next_id(), **message, type="m.room_key", content="{}", txn_id="t1", created_at=now
        )
    )


def rows_about(conn: Connection, user_id: int) -> dict[str, int]:
    def count(table: Any, column: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(column == user_id)).scalar_one())

    return {
        "signal_days": count(signal_days, signal_days.c.user_id),
        "consents": count(consents, consents.c.user_id),
        "consent_events": count(consent_events, consent_events.c.user_id),
        "e2ee_device_keys": count(e2ee_device_keys, e2ee_device_keys.c.user_id),
        "to_device": count(e2ee_to_device, e2ee_to_device.c.sender_user_id),
    }


# --- export ---------------------------------------------------------------------------------------------------------


async def test_export_holds_the_persons_data_and_media_and_nobody_elses(server: LiveServer) -> None:
    alice, bob, carol = await person(server, "Alice Export"), await person(server, "Bob"), await person(server, "Carol")
    mine, theirs = png(3, 2), png(5, 5)
    sent = await server.send_text(alice, "alice says hello", to=bob)
    await server.send_text(bob, "bob's own words", to=alice)
    alice_media = (await upload(server, alice, mine, "image/png", "holiday.png")).json()["id"]
    bob_media = (await upload(server, bob, theirs, "image/png", "bob.png")).json()["id"]
    assert (await send_media(server, alice, alice_media, to=bob)).status_code == 200
    assert (await send_media(server, bob, bob_media, to=alice)).status_code == 200
    group_id = await create_group(server, alice, bob, carol)
    await server.send_text(carol, "carol in the group", group_id=group_id)
    await server.http.post(f"{API}/messages/{sent['id']}/reactions", headers=bob.headers, json={"emoji": "👍"})
    assert (
        await server.http.post(f"{API}/blocks", headers=alice.headers, json={"phone": carol.phone})
    ).status_code in (
        200,
        201,
        204,
    )

    await server.container.db.write("test.seed", lambda conn: seed_signals_and_keys(conn, server, alice))

    archive = await export(server, alice)
    names = set(archive.namelist())
    assert {"README.txt", "account.json", "messaging.json", "media.json", "ledger.json", "signals.json"} <= names
    assert "ciphertext" in archive.read("README.txt").decode()
    account = part(archive, "account")
    assert account["account"][0]["phone"] == alice.phone and account["account"][0]["name"] == "Alice Export"
    assert len(account["devices"]) == 1 and "token_hash" not in account["devices"][0]
    messaging = part(archive, "messaging")
    bodies = json.dumps(messaging["messages_sent"])
    assert "alice says hello" in bodies
    assert "bob's own words" not in bodies and "carol in the group" not in bodies
    assert {c["kind"] for c in messaging["chats"]} == {"direct", "group"}
    assert all(m["user_id"] == _plain(alice.user_id) for m in messaging["memberships"])
    assert part(archive, "privacy")["blocks"][0]["blocked_id"] == _plain(carol.user_id)
    signals = part(archive, "signals")
    assert [e["action"] for e in signals["consent_events"]] == ["given", "withdrawn"]
    assert signals["signal_days"][0]["messages_sent"] == 3
    assert part(archive, "e2ee")["e2ee_device_keys"][0]["device_keys"] == {}  # the stored JSON, as JSON
    media_files = [n for n in names if n.startswith("media/")]
    assert media_files == [f"media/{alice_media}-holiday.png"]
    assert archive.read(media_files[0]) == mine
    assert all(theirs != archive.read(n) for n in names)
    assert [m["id"] for m in part(archive, "media")["media"]] == [_plain(alice_media)]


def _plain(raw_id: str) -> object:
    """How the archive writes an id: a number when JSON readers keep it exact, else a string."""
    value = int(raw_id)
    return raw_id if value > 2**53 else value


async def test_export_needs_a_token_and_is_rate_limited(server: LiveServer) -> None:
    assert (await server.http.get(f"{API}/me/export")).status_code == 401
    alice = await person(server, "Alice")
    for _ in range(5):
        assert (await server.http.get(f"{API}/me/export", headers=alice.headers)).status_code == 200
    refused = await server.http.get(f"{API}/me/export", headers=alice.headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


# --- erasure --------------------------------------------------------------------------------------------------------


async def test_erasure_end_to_end(server: LiveServer) -> None:
    ana, bruno, carla = (
        await person(server, "Ana Quintessa"),
        await person(server, "Bruno"),
        await person(server, "Carla"),
    )
    # Money history: a top-up, a payment to Bruno in their chat.
    assert (await top_up(server, ana, "100.00")).status_code == 200
    await set_pin(server, ana)
    first = await server.send_text(ana, "first words from ana", to=bruno)
    reply = await server.send_text(bruno, "bruno answers", to=ana)
    assert (await pay(server, ana, first["chat_id"], "40.00")).status_code == 200
    photo = (await upload(server, ana, png(2, 2), "image/png", "ana.png")).json()["id"]
    assert (await send_media(server, ana, photo, to=bruno)).status_code == 200
    group_id = await create_group(server, ana, bruno, carla)  # Ana is its only admin
    await server.send_text(ana, "ana in the group", group_id=group_id)
    channel = await server.http.post(
        f"{API}/channels", headers=bruno.headers, json={"name": "Bruno news", "category": "news", "country": "BR"}
    )
    assert channel.status_code == 200, channel.text
    channel_url = f"{API}/channels/{channel.json()['id']}"
    assert (await server.http.put(f"{channel_url}/follow", headers=ana.headers)).status_code == 200
    await server.container.db.write("test.seed", lambda conn: seed_signals_and_keys(conn, server, ana))
    shop = await create_business(server, "Loja")  # webhooks carry her number and name to the business
    await person_writes(server, ana, shop, "oi loja")
    await text_to(server, shop, ana, "bem-vinda")  # what others write is theirs, even when it names her
    stored = Path(server.settings.resolved_media_dir) / photo
    assert stored.exists()

    # Money left in the wallet blocks the erasure, before any code is spent.
    refused = await server.http.post(f"{API}/me/erase/code", headers=ana.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "wallet_not_empty" and "60.00 BRL" in refused.json()["error"]["message"]
    body = {"amount": "60.00", "currency": "BRL", "method": "pix", "pix_key": "success@pix.parley"}
    out = await server.http.post(f"{API}/wallet/withdrawals", headers={**ana.headers, **key()}, json=body)
    assert out.status_code == 200 and out.json()["status"] == "succeeded", out.text

    asked = await server.http.post(f"{API}/me/erase/code", headers=ana.headers)
    assert asked.status_code == 200, asked.text
    code = await latest_code(server, ana.phone)
    wrong_number = await server.http.post(
        f"{API}/me/erase", headers=ana.headers, json={"phone": bruno.phone, "code": code}
    )
    assert wrong_number.status_code == 400 and wrong_number.json()["error"]["code"] == "wrong_confirmation"
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = await server.http.post(
        f"{API}/me/erase", headers=ana.headers, json={"phone": ana.phone, "code": wrong_code}
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "wrong_code"
    malformed = await server.http.post(f"{API}/me/erase", headers=ana.headers, json={"phone": ana.phone, "code": "12"})
    assert malformed.status_code == 400
    assert (await server.http.get(f"{API}/me", headers=ana.headers)).status_code == 200  # nothing happened yet

    def hers(values: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        return [v for v in values if ana.phone.lstrip("+") in v[2] or "Quintessa" in v[2]]

    assert {t for t, _, _ in hers(await server.container.db.read(text_values))} >= {"users"}  # the scan finds her

    async with open_stream(server, bruno) as stream:
        erased = await server.http.post(f"{API}/me/erase", headers=ana.headers, json={"phone": ana.phone, "code": code})
        assert erased.status_code == 200, erased.text
        assert erased.json() == {"erased": True, "messages_deleted": 4, "groups_left": 1, "media_deleted": 1}
        live: list[dict[str, Any]] = []
        while len(live) < 3:  # what Bruno had not acknowledged comes first, then the deletes
            event = await stream.next("message")
            live += [event] if event["event"] == "deleted" else []
    assert all(e["message"]["deleted"] and e["message"]["text"] is None for e in live)
    assert first["id"] in {e["message"]["id"] for e in live}

    # Her token is dead; Bruno sees her 1:1 messages deleted, his own intact; the group has a new admin.
    assert (await server.http.get(f"{API}/me", headers=ana.headers)).status_code == 401
    seen = {m["id"]: m for m in await history(server, bruno, first["chat_id"])}
    assert seen[first["id"]]["deleted"] is True and seen[first["id"]]["text"] is None
    assert seen[reply["id"]]["text"] == {"body": "bruno answers"}
    group = (await server.http.get(f"{API}/groups/{group_id}", headers=bruno.headers)).json()
    assert {m["user_id"] for m in group["members"]} == {bruno.user_id, carla.user_id}
    assert any(m["role"] == "admin" for m in group["members"])
    assert not stored.exists()

    # Nothing in the database still holds her number or her name; the money still adds up.
    assert hers(await server.container.db.read(text_values)) == []
    await verify_ledger(server)
    wallet = (await server.http.get(f"{API}/wallet", headers=bruno.headers)).json()
    assert any(w["balance"] == "40.00" for w in wallet["wallets"])

    # Her signals, consents and keys are gone; the consent events stay as proof, under her (pseudonymous) id.
    left = await server.container.db.read(lambda conn: rows_about(conn, int(ana.user_id)))
    assert left == {"signal_days": 0, "consents": 0, "consent_events": 2, "e2ee_device_keys": 0, "to_device": 0}
    assert (await server.http.get(channel_url, headers=bruno.headers)).json()["follower_count"] == 0
    # Her number no longer reaches her (every cache forgot it).
    lost = await server.http.post(
        f"{API}/messages",
        headers=bruno.headers,
        json={"to": ana.phone, "type": "text", "text": {"body": "hello?"}, "client_id": "after-erasure"},
    )
    assert lost.status_code == 404, lost.text

    # Erasing again changes nothing and fails nothing (an operator finishing a crashed run).
    again = await server.container.rights.erase(int(ana.user_id))
    assert (again.messages_deleted, again.groups_left, again.media_deleted) == (0, 0, 0)

    # The number signs up again as a new, empty account.
    server.clock.advance(minutes=1)
    await asyncio.sleep(1.1)
    assert (await server.http.post(f"{API}/auth/request-code", json={"phone": ana.phone})).status_code == 200
    code = await latest_code(server, ana.phone)
    verified = await server.http.post(
        f"{API}/auth/verify", json={"phone": ana.phone, "code": code, "device_name": "new phone"}
    )
    assert verified.status_code == 200, verified.text
    fresh = verified.json()
    assert fresh["user_id"] != ana.user_id
    headers = {"Authorization": f"Bearer {fresh['token']}"}
    assert (await server.http.get(f"{API}/chats", headers=headers)).json()["chats"] == []
    me = (await server.http.get(f"{API}/me", headers=headers)).json()
    assert me["phone"] == ana.phone and me["name"] == ""


async def test_erasure_needs_the_accounts_own_code(server: LiveServer) -> None:
    alice, bob = await person(server, "Alice"), await person(server, "Bob")
    assert (await server.http.post(f"{API}/me/erase/code", headers=bob.headers)).status_code == 200
    bobs_code = await latest_code(server, bob.phone)
    # Bob's code does not erase Alice, whose number it was not sent to; nor does a body with more fields.
    stolen = await server.http.post(
        f"{API}/me/erase", headers=alice.headers, json={"phone": alice.phone, "code": bobs_code}
    )
    assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "code_expired"
    extra = await server.http.post(
        f"{API}/me/erase", headers=alice.headers, json={"phone": alice.phone, "code": bobs_code, "force": True}
    )
    assert extra.status_code == 400
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).status_code == 200
    assert (await server.http.get(f"{API}/me", headers=bob.headers)).status_code == 200


async def test_a_crash_before_the_commit_leaves_the_account_whole(server: LiveServer) -> None:
    """One unit: when any step of the erasure fails, nothing of it is applied."""
    alice, bob = await person(server, "Alice Whole"), await person(server, "Bob")
    sent = await server.send_text(alice, "still here", to=bob)
    group_id = await create_group(server, alice, bob)
    rights = server.container.rights

    def failing_step(*_args: object) -> None:
        raise RuntimeError("the machine lost power")

    original = rights._messaging.erase_person_in
    rights._messaging.erase_person_in = lambda conn, user_id, now: [original(conn, user_id, now), failing_step()][0]  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            await rights.erase(int(alice.user_id))
    finally:
        rights._messaging.erase_person_in = original  # type: ignore[method-assign]
    me = (await server.http.get(f"{API}/me", headers=alice.headers)).json()
    assert me["phone"] == alice.phone and me["name"] == "Alice Whole"
    assert (await history(server, bob, sent["chat_id"]))[0]["text"] == {"body": "still here"}
    group = (await server.http.get(f"{API}/groups/{group_id}", headers=bob.headers)).json()
    assert alice.user_id in {m["user_id"] for m in group["members"]}


# --- the operator's CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def rights_operator_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The operator's environment, sharing the server's Redis when there is one (its caches hear the erasure)."""
    settings: Settings = request.getfixturevalue(operator_env.__name__)
    if settings.redis_url:
        monkeypatch.setenv("PARLEY_REDIS_URL", settings.redis_url)
    return settings


async def test_operator_exports_and_erases_from_the_command_line(
    server: LiveServer, rights_operator_env: Settings, tmp_path: Path
) -> None:
    alice, bob = await person(server, "Alice Cli"), await person(server, "Bob")
    chat_id = (await server.send_text(alice, "for the archive", to=bob))["chat_id"]
    assert (await top_up(server, alice, "10.00")).status_code == 200
    await set_pin(server, alice)
    assert (await pay(server, alice, chat_id, "10.00")).status_code == 200  # her wallet is empty again
    runner = CliRunner()
    out = tmp_path / "alice.zip"

    exported = await asyncio.to_thread(
        runner.invoke, app, ["rights", "export", "--phone", alice.phone, "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(out) as archive:
        assert "for the archive" in archive.read("messaging.json").decode()
    assert not out.with_name("alice.zip.part").exists()

    both = await asyncio.to_thread(runner.invoke, app, ["rights", "erase", "--phone", alice.phone, "--user-id", "1"])
    assert both.exit_code == 2 and "exactly one" in both.output
    erased = await asyncio.to_thread(runner.invoke, app, ["rights", "erase", "--phone", alice.phone, "--yes", "--json"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout.strip().splitlines()[-1])["messages_deleted"] == 2  # the text and the payment
    verified = await asyncio.to_thread(runner.invoke, app, ["ledger", "verify", "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True, verified.output
    gone = await asyncio.to_thread(runner.invoke, app, ["rights", "export", "--phone", alice.phone, "--out", str(out)])
    assert gone.exit_code == 2 and "not on Parley" in gone.output
    again = await asyncio.to_thread(
        runner.invoke, app, ["rights", "erase", "--user-id", alice.user_id, "--yes", "--json"]
    )
    assert again.exit_code == 0, again.output
