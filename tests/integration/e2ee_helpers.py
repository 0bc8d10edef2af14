"""Shared steps of the E2EE tests: people whose devices run `parley.client` against the real app in-process."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from parley.client import E2EEDevice, ParleyClient, ReadMessage
from tests.conftest import LiveServer


@dataclass
class Person:
    phone: str
    device: E2EEDevice

    @property
    def user_id(self) -> str:
        return str(self.device.api.user_id)

    @property
    def api(self) -> ParleyClient:
        return self.device.api


def client_for(
    server: LiveServer, token: str | None = None, user_id: str | None = None, device_id: str | None = None
) -> ParleyClient:
    # A loopback client address: the development one-time codes are shown to loopback clients only.
    transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 40_000))
    return ParleyClient(transport=transport, token=token, user_id=user_id, device_id=device_id)


async def person(server: LiveServer, name: str, phone: str | None = None, *, fallback_key: bool = True) -> Person:
    """A new device (the operator's token path; `signed_in` goes through the one-time code) with keys published."""
    phone = phone or server.next_phone()
    session = await server.container.accounts.create_user_with_token(phone, name)
    api = client_for(server, session.token, str(session.user_id), str(session.device_id))
    device = E2EEDevice(api, clock=server.clock, fallback_key=fallback_key)
    await device.publish()
    return Person(phone, device)


async def signed_in(server: LiveServer, name: str, phone: str | None = None) -> Person:
    """A device signed in as people do: request a code, read it from the development panel, verify."""
    phone = phone or server.next_phone()
    api = client_for(server)
    await api.sign_in_with_dev_code(phone, device_name="Phone", name=name)
    device = E2EEDevice(api, clock=server.clock)
    await device.publish()
    return Person(phone, device)


async def chat_id_with(reader: Person, other: Person) -> str:
    for chat in await reader.api.chats():
        if chat["type"] == "direct" and chat["peer"]["user_id"] == other.user_id:
            return str(chat["id"])
    raise AssertionError("no direct chat")


def bodies(messages: list[ReadMessage]) -> list[str | None]:
    """What the device could read, oldest first (None where it cannot decrypt)."""
    return [m.body for m in messages]
