"""`parley worker` on PostgreSQL: a `parley serve` with delivery off takes Cloud API sends, and only the worker
process delivers their status webhooks (signed, each once); the worker stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner

from parley.cli.main import app
from parley.webhooks.service import WAKE_TOPIC
from tests.e2e.conftest import ServerProcess, shared_services_env
from tests.e2e.graph_clients import Business, create_business
from tests.e2e.test_business_crash import SECRET, _Receiver

WAKE_CHANNEL = "parley:bus:" + WAKE_TOPIC

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_without_delivery(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    extra = getattr(request, "param", {})
    with shared_services_env() as env:
        server = ServerProcess(tmp_path / "var", {**env, "PARLEY_WORKER__IN_SERVER": "false", **extra})
        server.start()
        try:
            yield server
        finally:
            server.stop()


def send(server: ServerProcess, business: Business, to: str, n: int) -> str:
    response = httpx.post(
        f"{server.base_url}/v23.0/{business.phone_number_id}/messages",
        headers={"Authorization": f"Bearer {business.access_token}"},
        json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": f"order {n} is ready"}},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.services
def test_the_worker_process_delivers_what_the_server_takes(server_without_delivery: ServerProcess) -> None:
    server = server_without_delivery
    receiver = _Receiver()
    business = create_business(
        server,
        "Worker Co",
        "+14155550170",
        webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
        verify_token="v",
        app_secret=SECRET,
    )
    person = server.create_user("+14155550171", "Pat")
    opened = httpx.post(
        f"{server.base_url}/client/v1/messages",
        headers={"Authorization": f"Bearer {person['token']}"},
        json={"to": "+14155550170", "type": "text", "text": {"body": "hello"}, "client_id": "open-window"},
    )
    assert opened.status_code == 200
    before = {send(server, business, person["phone"], n) for n in range(10)}
    time.sleep(1.5)  # many poll intervals: a server that delivered would have by now
    assert receiver.updates == []

    log = (server.data_dir / "worker.log").open("ab")
    worker = subprocess.Popen([sys.executable, "-m", "parley", "worker"], env=server.env, stdout=log, stderr=log)
    try:
        assert wait_for(lambda: before <= receiver.sent_wamids()), (server.data_dir / "worker.log").read_text()
        during = {send(server, business, person["phone"], n) for n in range(10, 20)}
        assert wait_for(lambda: during <= receiver.sent_wamids())
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert receiver.bad_signatures == 0
    sent = [
        status["id"]
        for update in receiver.updates
        for status in update["entry"][0]["changes"][0]["value"].get("statuses", [])
        if status["status"] == "sent"
    ]
    assert sorted(sent) == sorted(before | during)  # each once


def wake_subscribers(redis_url: str) -> int:
    """How many processes listen for the server's webhook wake-ups (PUBSUB NUMSUB)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return int(dict(client.pubsub_numsub(WAKE_CHANNEL))[WAKE_CHANNEL.encode()])
    finally:
        client.close()


# A poll so slow that only the server's wake-up over Redis can explain a delivery within seconds.
SLOW_POLL = {"PARLEY_WEBHOOKS__POLL_INTERVAL_MS": "30000"}


@pytest.mark.services
@pytest.mark.parametrize("server_without_delivery", [SLOW_POLL], indirect=True)
def test_the_server_wakes_the_worker_over_redis(server_without_delivery: ServerProcess) -> None:
    server = server_without_delivery
    receiver = _Receiver()
    business = create_business(
        server,
        "Wake Co",
        "+14155550172",
        webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
        verify_token="v",
        app_secret=SECRET,
    )
    person = server.create_user("+14155550173", "Sam")
    opened = httpx.post(
        f"{server.base_url}/client/v1/messages",
        headers={"Authorization": f"Bearer {person['token']}"},
        json={"to": "+14155550172", "type": "text", "text": {"body": "hello"}, "client_id": "open-window"},
    )
    assert opened.status_code == 200
    redis_url = server.env["PARLEY_REDIS_URL"]
    listening = wake_subscribers(redis_url)
    log = (server.data_dir / "worker.log").open("ab")
    worker = subprocess.Popen([sys.executable, "-m", "parley", "worker"], env=server.env, stdout=log, stderr=log)
    try:
        # Once the worker listens, its first poll is 30 s away: what it delivers sooner it was woken for.
        assert wait_for(lambda: wake_subscribers(redis_url) > listening), (server.data_dir / "worker.log").read_text()
        for n in range(3):
            wamid = send(server, business, person["phone"], n)
            assert wait_for(lambda w=wamid: w in receiver.sent_wamids(), timeout=10), f"message {n} was not delivered"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert receiver.bad_signatures == 0


def test_the_worker_refuses_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "PARLEY_DATA_DIR": str(tmp_path), "PARLEY_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["worker"], env=env)
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


def test_the_worker_is_explained_in_its_help() -> None:
    result = CliRunner().invoke(app, ["worker", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "PARLEY_WORKER__IN_SERVER=false" in result.output and "SQLite" in result.output
