"""Outbound HTTP to addresses tenants name (media links, webhook callbacks): resolved once, checked, dialled.

A check before the request and a second lookup at connect time can disagree (DNS rebinding: the name
answers a public address to the check and 127.0.0.1 to the connect). Here the lookup that is checked is the
lookup that is dialled: httpcore's network backend receives the host name, resolves it with `resolver`,
refuses the connection unless every address is allowed, and opens the socket to the checked address. The
URL, the Host header, the connection pool's key and TLS (SNI and certificate check) keep the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses to try, in order (tests inject their own: a name that answers 127.0.0.1)
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class ForbiddenAddressError(httpx.ConnectError):
    """The host resolves to an address outside the public internet that no setting allows."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (getaddrinfo: also reads `127.1`, `2130706433` and /etc/hosts)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]  # drop an IPv6 zone: it is not part of the address
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound requests may reach: public ones, plus `allowed` networks (development and
    tests run receivers on loopback), or any address at all when `allow_any`."""

    allowed: tuple[IPNetwork, ...] = ()
    allow_any: bool = False
    resolver: Resolver = system_resolver

    @classmethod
    def of(cls, networks: Iterable[str], *, allow_any: bool = False, resolver: Resolver | None = None) -> AddressPolicy:
        allowed = tuple(ipaddress.ip_network(network, strict=False) for network in networks)
        return cls(allowed, allow_any, resolver or system_resolver)

    def permits(self, raw: str) -> bool:
        try:
            address: IPAddress = ipaddress.ip_address(raw)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allow_any or any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast

    async def checked_address(self, host: str, port: int) -> str:
        """The one address to dial for `host`: every address it resolves to must be permitted."""
        try:
            addresses = list(await self.resolver(host, port))
        except OSError as error:
            raise httpx.ConnectError(f"the host {host} could not be resolved") from error
        if not addresses or not all(self.permits(address) for address in addresses):
            raise ForbiddenAddressError(f"the host {host} is not on the public internet")
        return addresses[0]


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, dialling the address the policy checked instead of resolving again."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # the lookup counts towards the connect timeout
                address = await self._policy.checked_address(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long") from error
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddressError("unix sockets are not reachable from here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connections go only to addresses `policy` permits (checked at connect)."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits = httpx.Limits()) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx does not pass httpcore's network_backend hook through, so its pool is rebuilt with one
        # (the same options httpx gives it; no proxy: trust_env is off).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(policy),
        )


def checked_client(
    policy: AddressPolicy, *, timeout: httpx.Timeout, limits: httpx.Limits = httpx.Limits()
) -> httpx.AsyncClient:
    """An httpx client for tenant-chosen URLs: never follows redirects on its own, ignores proxy variables,
    and connects only where `policy` permits."""
    return httpx.AsyncClient(
        transport=CheckedTransport(policy, limits), timeout=timeout, follow_redirects=False, trust_env=False
    )
