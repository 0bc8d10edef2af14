"""Where one-time codes go: a pluggable sender. In development codes are logged and kept for display."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("parley.otp")


@dataclass(frozen=True)
class SentCode:
    phone: str
    code: str
    created_at: int


class CodeSender(Protocol):
    async def send(self, phone: str, code: str, now_ms: int) -> None: ...


class DevCodeSender:
    """Logs each code and remembers the latest ones for the web client's developer panel."""

    def __init__(self, keep: int = 50) -> None:
        self._recent: deque[SentCode] = deque(maxlen=keep)

    async def send(self, phone: str, code: str, now_ms: int) -> None:
        log.info("one-time code for %s: %s", phone, code)
        self._recent.appendleft(SentCode(phone, code, now_ms))

    def recent(self) -> list[SentCode]:
        return list(self._recent)
