"""Shared steps of the channel tests: make a channel, post to it, follow it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.conftest import LiveServer, User

API = "/client/v1/channels"
PHONE = re.compile(r"\+?\d{10,15}")


async def make_channel(server: LiveServer, owner: User, name: str = "Daily News", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "category": "news", "country": "BR", "description": "Updates", **extra}
    response = await server.http.post(API, headers=owner.headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def post_text(server: LiveServer, author: User, channel_id: str, text: str = "hello", **extra: Any) -> Any:
    body = {"type": "text", "text": text, "client_id": uuid.uuid4().hex, **extra}
    return await server.http.post(f"{API}/{channel_id}/posts", headers=author.headers, json=body)


async def follow(server: LiveServer, person: User, channel_id: str) -> dict[str, Any]:
    response = await server.http.put(f"{API}/{channel_id}/follow", headers=person.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def posts(server: LiveServer, person: User, channel_id: str, **params: Any) -> dict[str, Any]:
    response = await server.http.get(f"{API}/{channel_id}/posts", headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def phones_in(text: str, *people: User) -> list[str]:
    """Which of these people's phone numbers (with or without the +) appear in `text`."""
    return [p.phone for p in people if p.phone in text or p.phone.lstrip("+") in text]
