"""Minimal, cheap client protocols for load generation: keep-alive HTTP/1.1 and WebSocket (RFC 6455).

They are deliberately bare (asyncio.Protocol, no parser objects, no per-message tasks) so one client
process costs a small fraction of the server it drives. They understand exactly what uvicorn sends:
responses with Content-Length, unfragmented WebSocket frames without extensions.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable

_CRLF2 = b"\r\n\r\n"


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request in flight at a time."""

    __slots__ = ("_buf", "busy", "closed", "on_lost", "on_response", "retry_after", "started_ns", "tag", "transport")

    def __init__(
        self,
        on_response: Callable[[HttpConnection, int, bytes], None],
        on_lost: Callable[[HttpConnection], None] | None = None,
    ) -> None:
        self._buf = bytearray()
        self.on_response = on_response
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.started_ns = 0  # set by the caller: when the request was due
        self.tag: object = None  # set by the caller: whatever it needs back with the response
        self.retry_after = False  # the last response carried a Retry-After header (admission control's answers)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def usable(self) -> bool:
        """Still open: a server may close an idle keep-alive connection before `connection_lost` has run."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def send(self, raw: bytes) -> None:
        assert self.transport is not None
        self.busy = True
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            end = buf.find(_CRLF2)
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            at = head.find(b"content-length:")
            if at < 0:
                length = 0
            else:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                return
            status = int(head[9:12])
            self.retry_after = b"\r\nretry-after:" in head
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            if not self.busy:
                # Nothing was asked: the server's own answer on an idle keep-alive connection (a 408 when its
                # header deadline passes, before it closes). Not an answer to any send: not counted.
                continue
            self.busy = False
            self.on_response(self, status, body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_lost is not None:
            self.on_lost(self)


def http_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return key + masked


def ws_frame(text: str) -> bytes:
    """A masked, final text frame (clients must mask)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, 0x80 | n))
    elif n < 65536:
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + _mask(payload)


_CLOSE_FRAME = bytes((0x88, 0x80 | 2)) + b"\x00\x00\x00\x00" + (1000).to_bytes(2, "big")


class WsConnection(asyncio.Protocol):
    """One client WebSocket. Calls on_open once upgraded, on_text per text message, on_close once."""

    __slots__ = ("_buf", "_request", "on_close", "on_open", "on_text", "open", "status", "tag", "transport")

    def __init__(
        self,
        host: str,
        path: str,
        on_open: Callable[[WsConnection], None] | None = None,
        on_text: Callable[[WsConnection, bytes], None] | None = None,
        on_close: Callable[[WsConnection, int], None] | None = None,
        offer_deflate: bool = False,
    ) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        # Browsers offer permessage-deflate on every WebSocket; idle benchmark sockets never send or
        # receive a message, so nothing compressed ever needs decoding here.
        extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if offer_deflate else ""
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n"
        ).encode()
        self._buf: bytearray | None = bytearray()
        self.on_open, self.on_text, self.on_close = on_open, on_text, on_close
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.status = 0  # HTTP status of the upgrade answer (101 when it worked)
        self.tag: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ws_frame(text))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            if self.open:
                self.transport.write(_CLOSE_FRAME)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        if buf is None:
            buf = self._buf = bytearray()
        buf += data
        if not self.open:
            end = buf.find(_CRLF2)
            if end < 0:
                return
            self.status = int(bytes(buf[9:12]))
            del buf[: end + 4]
            if self.status != 101:
                assert self.transport is not None
                self.transport.close()
                return
            self.open = True
            if self.on_open is not None:
                self.on_open(self)
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = int.from_bytes(buf[2:4], "big")
                offset = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = int.from_bytes(buf[2:10], "big")
                offset = 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            if opcode == 0x1:
                if self.on_text is not None:
                    self.on_text(self, payload)
            elif opcode == 0x9:  # ping -> pong with the same payload
                assert self.transport is not None
                header = bytes((0x8A, 0x80 | len(payload)))
                self.transport.write(header + _mask(payload) if payload else header + b"\x00\x00\x00\x00")
            elif opcode == 0x8:
                assert self.transport is not None
                self.transport.close()
                return
        if not buf:
            self._buf = None  # idle sockets keep no buffer

    def connection_lost(self, exc: Exception | None) -> None:
        was_open = self.open
        self.open = False
        if self.on_close is not None:
            self.on_close(self, 101 if was_open else self.status)
