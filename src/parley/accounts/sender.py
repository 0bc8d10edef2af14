"""Where one-time codes go: a pluggable sender, chosen in container.py from settings.

Production texts codes through an SMS provider's HTTP API and never logs them. Development logs each code and
keeps the latest for the web client's developer panel; `parley serve` allows that on loopback only.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import httpx

from parley.accounts.errors import CodeNotSentError
from parley.config import SmsSettings

log = logging.getLogger("parley.otp")


@dataclass(frozen=True)
class SentCode:
    phone: str
    code: str
    created_at: int


class CodeSender(Protocol):
    async def send(self, phone: str, code: str, now_ms: int) -> None:
        """Deliver `code` to `phone`, or raise CodeNotSentError."""
        ...

    async def close(self) -> None: ...


class DevCodeSender:
    """Development only: logs each code and remembers the latest ones for the web client's developer panel."""

    def __init__(self, keep: int = 50) -> None:
        self._recent: deque[SentCode] = deque(maxlen=keep)

    async def send(self, phone: str, code: str, now_ms: int) -> None:
        log.info("one-time code for %s: %s", phone, code)
        self._recent.appendleft(SentCode(phone, code, now_ms))

    def recent(self) -> list[SentCode]:
        return list(self._recent)

    async def close(self) -> None:
        pass


class HttpSmsSender:
    """Texts each code through an SMS provider's HTTP API (see SmsSettings for the request it makes)."""

    def __init__(self, sms: SmsSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._sms = sms
        headers = {"Authorization": f"Bearer {sms.token}"} if sms.token else {}
        self._client = httpx.AsyncClient(timeout=sms.timeout_s, headers=headers, transport=transport)

    async def send(self, phone: str, code: str, now_ms: int) -> None:
        body = {"to": phone, "from": self._sms.sender, "text": self._sms.message.replace("{code}", code)}
        try:
            response = await self._client.post(self._sms.url, json=body)
        except httpx.HTTPError as error:
            # The error's text never carries the body, so the code stays out of the log.
            log.warning("SMS provider unreachable: %s", type(error).__name__)
            raise CodeNotSentError("the code could not be sent just now: try again in a minute") from None
        if not response.is_success:
            log.warning("SMS provider refused a code for %s: HTTP %d", phone, response.status_code)
            raise CodeNotSentError("the code could not be sent just now: try again in a minute")

    async def close(self) -> None:
        await self._client.aclose()


class NoCodeSender:
    """No provider configured and development codes off: sign-in by code is unavailable (operators use the CLI)."""

    async def send(self, phone: str, code: str, now_ms: int) -> None:
        raise CodeNotSentError("this server cannot send sign-in codes: its operator has not set up an SMS provider")

    async def close(self) -> None:
        pass
