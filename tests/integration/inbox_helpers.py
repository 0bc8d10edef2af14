"""Shared steps of the team inbox tests: agents signed in through the real form, calling the inbox API."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz

PASSWORD = "correct horse battery"
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """`POST /inbox/login` as a browser does it: open the form first, send back its CSRF token."""
    page = await http.get("/inbox/login")
    token = _FORM_TOKEN.search(page.text)
    form = {"email": email, "password": password, "csrf_token": token.group(1) if token else ""}
    return await http.post("/inbox/login", data=form)


def client_from(server: LiveServer, address: str) -> httpx.AsyncClient:
    """A client whose connections come from another loopback address (the server sees another client)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, timeout=20, transport=transport)


@dataclass
class Agent:
    id: str
    email: str
    http: httpx.AsyncClient
    csrf: str
    waba_id: str
    closed: list[bool] = field(default_factory=list)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"/inbox/api{path}", params=params)

    async def post(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return await self.http.post(
            f"/inbox/api{path}", json=body if body is not None else {}, headers={"X-CSRF-Token": self.csrf, **headers}
        )

    async def patch(self, path: str, body: Any) -> httpx.Response:
        return await self.http.patch(f"/inbox/api{path}", json=body, headers={"X-CSRF-Token": self.csrf})

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.http.put(f"/inbox/api{path}", json=body, headers={"X-CSRF-Token": self.csrf})

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(f"/inbox/api{path}", headers={"X-CSRF-Token": self.csrf})

    async def sign_in_again(self, base_url: str) -> None:
        await self.http.aclose()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=20)
        response = await sign_in(self.http, self.email)
        assert response.status_code == 303, response.text
        self.csrf = (await self.http.get("/inbox/api/me")).json()["csrf_token"]

    async def conversations(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.get("/conversations", **params)
        assert response.status_code == 200, response.text
        return list(response.json()["data"])


async def agent(
    server: LiveServer, biz: Biz, name: str, role: str = "agent", email: str | None = None, online: bool = True
) -> Agent:
    """An agent created by the operator path and signed in through `POST /inbox/login`."""
    email = email or f"{name.lower().replace(' ', '.')}.{biz.waba_id[-6:]}@example.com"
    created, _ = await server.container.inbox.create_agent(
        int(biz.waba_id), email=email, name=name, role=role, password=PASSWORD
    )
    http = httpx.AsyncClient(base_url=server.base_url, timeout=20)
    response = await sign_in(http, email)
    assert response.status_code == 303, response.text
    me = (await http.get("/inbox/api/me")).json()
    signed = Agent(str(created["id"]), email, http, me["csrf_token"], biz.waba_id)
    if not online:
        await signed.patch("/me", {"availability": "offline"})
    return signed
