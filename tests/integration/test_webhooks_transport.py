"""The delivery engine's HTTP client against bare asyncio HTTP servers: kept-alive connections the receiver drops,
chunked answers, redirects refused, timeouts and the address policy on every new connection."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aiohttp
import pytest

from parley.kit.clock import FrozenClock
from parley.platform.egress import AddressPolicy, ForbiddenAddressError
from parley.webhooks.transport import MAX_ANSWER_BYTES, DeliveryClient
from tests.integration.test_webhooks import WABA, MakeContainer, add_app, event, make_container, put

__all__ = ["make_container"]  # the fixture, shared with test_webhooks

LOOPBACK = AddressPolicy.of(["127.0.0.0/8"])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

# How the server answers one request: given the connection's request number (1, 2, ...) and the body, the bytes to
# write (None: hang up without answering), after which the connection stays open unless `close` is set.
Script = Callable[[int, bytes], Awaitable[bytes | None]]


class BareServer:
    """An HTTP/1.1 server on a raw asyncio socket, so a test decides every byte and every hang-up."""

    def __init__(self, script: Script, host: str = "127.0.0.1", port: int = 0) -> None:
        self.script = script
        self.host = host
        self.port = port
        self.connections = 0
        self.bodies: list[bytes] = []  # every request body read, answered or not
        self.answered: list[bytes] = []  # bodies of requests that got an answer
        self.close_after_answer = False
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def __aenter__(self) -> BareServer:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                number += 1
                self.bodies.append(body)
                answer = await self.script(number, body)
                if answer is None:
                    return  # hang up: the request is never answered
                writer.write(answer)
                await writer.drain()
                self.answered.append(body)
                if self.close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def client(policy: AddressPolicy = LOOPBACK, timeout_s: float = 5.0) -> AsyncIterator[DeliveryClient]:
    made = DeliveryClient(policy, timeout_s=timeout_s, max_connections=16, max_per_host=4)
    try:
        yield made
    finally:
        await made.aclose()


async def always_ok(number: int, body: bytes) -> bytes | None:
    return OK


async def test_a_kept_alive_connection_is_reused() -> None:
    async with BareServer(always_ok) as server, client() as http:
        for n in range(3):
            assert await http.post(server.url, f"b{n}".encode(), {}) == 200
        assert server.connections == 1 and server.answered == [b"b0", b"b1", b"b2"]


async def test_a_connection_the_receiver_drops_unanswered_is_retried_once_on_a_new_one() -> None:
    async def second_request_hangs_up(number: int, body: bytes) -> bytes | None:
        return None if number == 2 else OK  # the keep-alive connection dies under the second POST

    async with BareServer(second_request_hangs_up) as server, client() as http:
        assert await http.post(server.url, b"first", {}) == 200
        assert await http.post(server.url, b"second", {}) == 200
        assert server.connections == 2
        assert server.answered == [b"first", b"second"]  # each answered once


async def test_a_connection_the_receiver_closed_between_requests_is_not_used_again() -> None:
    async with BareServer(always_ok) as server, client() as http:
        server.close_after_answer = True  # keep-alive was offered, then the receiver closes anyway
        assert await http.post(server.url, b"first", {}) == 200
        await asyncio.sleep(0.05)  # its FIN arrives while the connection idles in the pool
        assert await http.post(server.url, b"second", {}) == 200
        assert server.connections == 2 and server.answered == [b"first", b"second"]


async def test_a_receiver_that_always_hangs_up_is_a_failure_not_a_loop() -> None:
    async def hang_up(number: int, body: bytes) -> bytes | None:
        return None

    async with BareServer(hang_up) as server, client() as http:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await http.post(server.url, b"x", {})
        assert server.connections == 2 and server.answered == []  # tried once more, then given up


def chunked(*chunks: bytes, status: str = "200 OK") -> bytes:
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return f"HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + encoded + b"0\r\n\r\n"


async def test_chunked_answers_are_read_and_the_connection_kept() -> None:
    async def answer(number: int, body: bytes) -> bytes | None:
        return chunked(b"EVENT_", b"RECEIVED") if number == 1 else chunked(b"x" * 10, status="500 Oops")

    async with BareServer(answer) as server, client() as http:
        assert await http.post(server.url, b"1", {}) == 200
        assert await http.post(server.url, b"2", {}) == 500
        assert server.connections == 1


async def test_a_huge_chunked_answer_is_cut_off_and_its_connection_not_reused() -> None:
    async def answer(number: int, body: bytes) -> bytes | None:
        return chunked(*[b"y" * 16_384] * (MAX_ANSWER_BYTES // 16_384 * 4)) if number == 1 else OK

    async with BareServer(answer) as server, client() as http:
        assert await http.post(server.url, b"1", {}) == 200
        assert await http.post(server.url, b"2", {}) == 200
        assert server.connections == 2  # the rest of the first answer was never read: that connection is gone


async def test_redirects_are_not_followed() -> None:
    async with BareServer(always_ok) as elsewhere:
        location = elsewhere.url

        async def redirect(number: int, body: bytes) -> bytes | None:
            return f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()

        async with BareServer(redirect) as server, client() as http:
            assert await http.post(server.url, b"x", {}) == 307
        assert elsewhere.connections == 0


async def test_a_redirect_is_a_failed_delivery(make_container: MakeContainer) -> None:
    async with BareServer(always_ok) as elsewhere:
        location = elsewhere.url

        async def redirect(number: int, body: bytes) -> bytes | None:
            return f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()

        async with BareServer(redirect) as server:
            clock = FrozenClock(int(time.time() * 1000))
            c = await make_container(clock)
            await add_app(c, WABA, server.url)
            event_id = await put(c, WABA, {"n": 1})
            await c.webhooks.deliver_due_now()
            row = await event(c, event_id)
            assert row.state == "pending" and row.last_status == 302 and row.last_error == "HTTP 302"
            assert len(server.bodies) == 1 and elsewhere.connections == 0


async def test_a_receiver_that_never_answers_times_out() -> None:
    async def never(number: int, body: bytes) -> bytes | None:
        await asyncio.sleep(3600)
        return None

    async with BareServer(never) as server, client(timeout_s=0.3) as http:
        with pytest.raises(TimeoutError):  # aiohttp's read timeout
            await http.post(server.url, b"x", {})


async def test_a_stalled_receiver_is_recorded_as_a_timeout(make_container: MakeContainer) -> None:
    async def never(number: int, body: bytes) -> bytes | None:
        await asyncio.sleep(3600)
        return None

    async with BareServer(never) as server:
        c = await make_container(timeout_s=0.3)
        await add_app(c, WABA, server.url)
        event_id = await put(c, WABA, {"n": 1})
        await c.webhooks.deliver_due_now()
        row = await event(c, event_id)
        assert row.state == "pending" and row.last_status is None
        assert "Timeout" in (row.last_error or "") and len(server.bodies) == 1


class ScriptedResolver:
    """DNS the test controls: the answers, in turn, for every lookup (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "2130706433", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"])
async def test_literal_addresses_outside_the_policy_are_refused_before_connecting(host: str) -> None:
    async with BareServer(always_ok) as server, client(AddressPolicy.of([])) as http:
        with pytest.raises(ForbiddenAddressError):
            await http.post(f"http://{host}:{server.port}/hook", b"x", {})
        assert server.connections == 0


async def test_a_name_is_dialled_at_the_checked_address_and_refused_once_it_rebinds() -> None:
    """127.0.0.2 stands for a public address; the name later answers loopback. Each new connection asks again."""
    async with BareServer(always_ok, host="127.0.0.2") as public:
        public.close_after_answer = True  # every POST needs a new connection, hence a new lookup
        async with BareServer(always_ok, host="127.0.0.1", port=public.port) as internal:
            resolver = ScriptedResolver(["127.0.0.2"], ["127.0.0.2"], ["127.0.0.1"])
            policy = AddressPolicy.of(["127.0.0.2/32"], resolver=resolver)
            async with client(policy) as http:
                url = f"http://hooks.rebind.test:{public.port}/hook"
                assert await http.post(url, b"1", {}) == 200
                await asyncio.sleep(0.05)
                assert await http.post(url, b"2", {}) == 200
                await asyncio.sleep(0.05)
                with pytest.raises(ForbiddenAddressError):
                    await http.post(url, b"3", {})
            assert resolver.lookups == ["hooks.rebind.test"] * 3
            assert public.answered == [b"1", b"2"] and internal.connections == 0


async def test_a_refused_address_is_recorded_on_the_event(make_container: MakeContainer) -> None:
    async with BareServer(always_ok) as server:
        c = await make_container(allowed_networks=[])
        await add_app(c, WABA, server.url)  # 127.0.0.1, as an operator might set it
        event_id = await put(c, WABA, {"n": 1})
        await c.webhooks.deliver_due_now()
        row = await event(c, event_id)
        assert row.state == "pending" and "not on the public internet" in (row.last_error or "")
        assert server.connections == 0
