"""The delivery engine's HTTP client: one keep-alive aiohttp session that dials only addresses the policy permits.

Every new connection goes through `AddressPolicy.checked_address` (aiohttp's resolver, its DNS cache off): the
lookup that is checked is the one that is dialled, and a name that later answers a forbidden address is refused
on the next connection. IP literals skip aiohttp's resolver, so they are checked here before the request.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from parley.platform.egress import AddressPolicy, ForbiddenAddressError

MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's answer we read (the status is what counts)
# Shorter than common servers' keep-alive (uvicorn 5 s, nginx 75 s): we drop an idle connection before the
# receiver does, so a POST rarely meets a connection the other side is closing.
KEEPALIVE_S = 4.0


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver: the one address `policy` checked for the name, or an error (nothing is dialled)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = await self._policy.checked_address(host, port)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        return None


def check_literal_host(policy: AddressPolicy, host: str | None) -> None:
    """Refuse an IP-literal host outside the policy (aiohttp dials those without asking the resolver).

    A host aiohttp would take for an address (digits and dots, or a colon) must be a canonical address the
    policy permits: the legacy forms `127.1` or `2130706433` that the OS would map onto loopback are refused.
    """
    if not host or not (":" in host or host.replace(".", "").isdigit()):
        return  # a name: the resolver checks it
    try:
        canonical = str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError as error:
        raise ForbiddenAddressError(f"the host {host} is not on the public internet") from error
    if ":" not in host and canonical != host:
        raise ForbiddenAddressError(f"the host {host} is not on the public internet")
    if not policy.permits(canonical):
        raise ForbiddenAddressError(f"the host {host} is not on the public internet")


class DeliveryClient:
    """POSTs webhook bodies over kept-alive connections; the session is made on first use (it needs the loop)."""

    def __init__(self, policy: AddressPolicy, *, timeout_s: float, max_connections: int, max_per_host: int) -> None:
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_s, sock_connect=timeout_s, sock_read=timeout_s
        )
        self._max_connections = max_connections
        self._max_per_host = max_per_host
        self._session: aiohttp.ClientSession | None = None
        self._targets: dict[str, URL] = {}  # parsed and checked callback URLs (a few per business)

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=CheckedResolver(self._policy),
            use_dns_cache=False,  # every new connection is checked again: a name may rebind to a forbidden address
            limit=self._max_connections,
            limit_per_host=self._max_per_host,
            keepalive_timeout=KEEPALIVE_S,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),  # a receiver's cookies must never reach another tenant's receiver
            trust_env=False,  # no proxy variables: the address policy decides where POSTs go
            auto_decompress=False,
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST `body` and read (at most `MAX_ANSWER_BYTES` of) the answer; returns the HTTP status.

        Redirects are not followed (a 3xx is the answer). A kept-alive connection the receiver closed before
        answering is tried once more on a new connection: the receiver never saw that request.
        """
        target = self._targets.get(url)
        if target is None:
            target = URL(url)
            check_literal_host(self._policy, target.host)  # the policy is fixed: a URL that passed stays passed
            if len(self._targets) >= 10_000:
                self._targets.clear()
            self._targets[url] = target
        session = self._session
        if session is None or session.closed:
            session = self._session = self._open()
        for attempt in (1, 2):
            try:
                response = await session.post(target, data=body, headers=headers, allow_redirects=False)
            except aiohttp.ClientConnectorError:
                raise  # it never connected: nothing was sent that a new connection would fix
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == 2:
                    raise
                continue
            async with response:
                await read_answer(response)
                return response.status
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def read_answer(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """Read an answer up to `limit` bytes: small answers keep the connection reusable, huge ones are cut off
    (and the connection closed)."""
    data = b""
    while len(data) <= limit:
        chunk = await response.content.read(limit + 1 - len(data))
        if not chunk:
            return data
        data += chunk
    response.close()
    return data[:limit]
