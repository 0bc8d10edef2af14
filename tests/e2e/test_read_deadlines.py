"""`parley serve` closes connections that send their request too slowly: headers a byte at a time, a body that
drips, or nothing at all; a normal request on the same server is answered as usual."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e
SLOW_CLIENTS = 20
DRIP_EVERY_S = 0.2
GIVE_UP_AFTER_DRIPS = 50  # a bound on the test, far beyond the 1 s deadlines set below


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "var",
        {
            "PARLEY_SERVER__HEADER_TIMEOUT_S": "1",
            "PARLEY_SERVER__BODY_TIMEOUT_S": "1",
            "PARLEY_SERVER__BODY_MIN_BYTES_PER_S": "1000",
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _drip(server: ServerProcess, head: bytes, drip: bytes) -> bytes | None:
    """Send `head`, then `drip` at a slow pace until the server closes; what it answered, None if it never did."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head)
        for _ in range(GIVE_UP_AFTER_DRIPS):
            try:
                return await asyncio.wait_for(reader.read(), DRIP_EVERY_S)  # read() ends when the server closes
            except TimeoutError:
                pass
            try:
                writer.write(drip)
                await writer.drain()
            except ConnectionError:
                return await reader.read()
        return None
    finally:
        writer.close()


async def _slow_clients(server: ServerProcess, head: bytes, drip: bytes) -> list[bytes | None]:
    return await asyncio.gather(*(_drip(server, head, drip) for _ in range(SLOW_CLIENTS)))


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(server: ServerProcess) -> None:
    answers = asyncio.run(_slow_clients(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X"))
    assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in answers), answers
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    answers = asyncio.run(_slow_clients(server, b"", b""))
    assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in answers), answers


def test_a_dripping_body_is_cut_off(server: ServerProcess) -> None:
    head = (
        b"POST /client/v1/auth/request-code HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"
    )
    answers = asyncio.run(_slow_clients(server, head, b" "))
    assert answers == [b""] * SLOW_CLIENTS, "every dripping body was cut off by the server, unanswered"
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
