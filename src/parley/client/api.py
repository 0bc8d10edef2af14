"""`ParleyClient`: the person-facing client API over HTTP (sign-in, people, groups, messages, media, keys)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

_PREFIX = "/client/v1"


class ParleyAPIError(Exception):
    """A 4xx/5xx answer, with the `{"error": {"code", "message"}}` the client API renders."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ParleyClient:
    """One signed-in device. Pass `transport=httpx.ASGITransport(app)` to talk to an app in-process."""

    def __init__(
        self,
        base_url: str = "http://parley.test",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
        user_id: str | None = None,
        device_id: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)
        self.token, self.user_id, self.device_id = token, user_id, device_id

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> ParleyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- plumbing ----------------------------------------------------------------------------------

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The HTTP answer as is (for callers that want to see a refusal's status)."""
        return await self.http.request(method, _PREFIX + path, headers=self.headers, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer; ParleyAPIError for anything but 2xx."""
        response = await self.raw(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                code, message = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", response.text[:200]
            raise ParleyAPIError(response.status_code, code, message)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- sign-in -----------------------------------------------------------------------------------

    async def request_code(self, phone: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", "/auth/request-code", json={"phone": phone})
        return answer

    async def verify(self, phone: str, code: str, *, device_name: str = "Python", name: str | None = None) -> None:
        body: dict[str, Any] = {"phone": phone, "code": code, "device_name": device_name}
        if name:
            body["name"] = name
        answer = await self.call("POST", "/auth/verify", json=body)
        self.token, self.user_id, self.device_id = answer["token"], answer["user_id"], answer["device_id"]

    async def sign_in_with_dev_code(self, phone: str, *, device_name: str = "Python", name: str | None = None) -> None:
        """Sign in on a development server (`dev_show_codes`), reading the one-time code it shows loopback clients."""
        sent = await self.request_code(phone)
        codes = (await self.call("GET", "/dev/codes"))["codes"]
        code = next(c["code"] for c in reversed(codes) if c["phone"] == sent["phone"])
        await self.verify(phone, code, device_name=device_name, name=name)

    # --- people and groups -------------------------------------------------------------------------

    async def me(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", "/me")
        return answer

    async def lookup(self, phone: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", "/users/lookup", params={"phone": phone})
        return answer

    async def create_group(self, name: str, phones: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", "/groups", json={"name": name, "members": phones})
        return answer

    async def group(self, group_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", f"/groups/{group_id}")
        return answer

    async def add_members(self, group_id: str, phones: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", f"/groups/{group_id}/members", json={"phones": phones})
        return answer

    async def remove_member(self, group_id: str, user_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("DELETE", f"/groups/{group_id}/members/{user_id}")
        return answer

    # --- messages and media ------------------------------------------------------------------------

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /messages with `body` (a `client_id` is added when missing, so a retry creates nothing new)."""
        answer: dict[str, Any] = await self.call("POST", "/messages", json={"client_id": uuid.uuid4().hex} | body)
        return answer

    async def send_text(self, body: str, *, to: str | None = None, group_id: str | None = None) -> dict[str, Any]:
        return await self.send(_target(to, group_id) | {"type": "text", "text": {"body": body}})

    async def send_encrypted(
        self, encrypted: dict[str, Any], *, to: str | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        return await self.send(_target(to, group_id) | {"type": "encrypted", "encrypted": encrypted})

    async def edit_encrypted(self, message_id: str, encrypted: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("PATCH", f"/messages/{message_id}", json={"encrypted": encrypted})
        return answer

    async def chats(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/chats"))["chats"])

    async def messages(self, chat_id: str, *, limit: int = 100, before: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit} | ({} if before is None else {"before": before})
        answer: dict[str, Any] = await self.call("GET", f"/chats/{chat_id}/messages", params=params)
        return answer

    async def upload_media(
        self, data: bytes, *, filename: str = "blob", mime_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", "/media", files={"file": (filename, data, mime_type)})
        return answer

    async def download_media(self, media_id: str) -> bytes:
        response = await self.raw("GET", f"/media/{media_id}")
        if response.status_code >= 400:
            raise ParleyAPIError(response.status_code, "http_error", response.text[:200])
        return response.content

    # --- the key directory and the to-device relay (docs/e2ee.md) ----------------------------------

    async def keys_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", "/keys/upload", json=body)
        return answer

    async def keys_query(self, user_mxids: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call(
            "POST", "/keys/query", json={"device_keys": {user: [] for user in user_mxids}}
        )
        return answer

    async def keys_claim(self, wanted: dict[str, dict[str, str]]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("POST", "/keys/claim", json={"one_time_keys": wanted})
        return answer

    async def send_to_device(self, event_type: str, messages: dict[str, dict[str, Any]], txn_id: str) -> None:
        await self.call("PUT", f"/sendToDevice/{event_type}/{txn_id}", json={"messages": messages})

    async def keys_sync(self, since: str | None = None) -> dict[str, Any]:
        params = {} if since is None else {"since": since}
        answer: dict[str, Any] = await self.call("GET", "/keys/sync", params=params)
        return answer


def _target(to: str | None, group_id: str | None) -> dict[str, Any]:
    if (to is None) == (group_id is None):
        raise ValueError("give exactly one of 'to' and 'group_id'")
    return {"to": to} if to is not None else {"group_id": group_id}
