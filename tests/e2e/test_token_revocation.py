"""`parley business token revoke`, run as its own process, reaches a running `parley serve` at once: the very next
Cloud API send with the revoked token is Meta's error 190, on SQLite (the database is the signal) and on
PostgreSQL + Redis (the revocation is published over Redis)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, shared_services_env

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", pytest.param("postgres+redis", marks=pytest.mark.services)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(shared_services_env()) if request.param == "postgres+redis" else {}
        process = ServerProcess(tmp_path / "var", env)
        stack.callback(process.stop)
        process.start()
        yield process


def _send(server: ServerProcess, business: dict[str, str], token: str, to: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v23.0/{business['phone_number_id']}/messages",
        headers={"Authorization": f"Bearer {token}"},
        json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hello"}},
    )


def test_revoked_by_the_cli_the_very_next_send_is_refused(server: ServerProcess) -> None:
    business = json.loads(server.cli("business", "create", "--name", "Revoke Co", "--phone", "+14155550160", "--json"))
    other = json.loads(server.cli("business", "token", "create", business["waba_id"], "--json"))
    person = server.create_user("+14155550161", "Pat")
    opened = httpx.post(
        f"{server.base_url}/client/v1/messages",
        headers={"Authorization": f"Bearer {person['token']}"},
        json={"to": "+14155550160", "type": "text", "text": {"body": "hi"}, "client_id": "open-window"},
    )
    assert opened.status_code == 200, opened.text
    token = business["access_token"]
    # Both tokens are in the server's cache now.
    assert _send(server, business, token, person["phone"]).status_code == 200
    assert _send(server, business, other["access_token"], person["phone"]).status_code == 200

    server.cli("business", "token", "revoke", token)

    refused = _send(server, business, token, person["phone"])
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == 190
    # Only the revoked token stops working.
    assert _send(server, business, other["access_token"], person["phone"]).status_code == 200
