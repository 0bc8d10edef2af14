"""Admission control at the very outside: a cap on HTTP requests in flight, refusing sends before their body."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import Scope, Send

from parley.config import AdmissionSettings
from parley.graph import GraphError, graph_error_body
from parley.kit.errors import OverloadedError

# The routes that carry volume and can wait: a person's send and a Cloud API send (or mark-read: both are a
# POST to /messages, and telling them apart needs the body this layer must not read).
_CLIENT_SEND = "/client/v1/messages"
_GRAPH_SEND = re.compile(r"^/v\d+\.0/[^/]+/messages$")


def overloaded_graph_error(message: str, retry_after_s: int) -> GraphError:
    """Meta's throughput error, as the Cloud API answers when a number sends faster than it may."""
    return GraphError(130429, message, http_status=503, retry_after_s=retry_after_s)


class RequestAdmission:
    """Counts the HTTP requests one process serves; beyond the cap, a send is answered 503 at once.

    Only sends are refused: acks, reads, webhook and sign-in routes pass whatever the count, so what drains
    the work keeps flowing while new work is turned away."""

    def __init__(self, settings: AdmissionSettings) -> None:
        self.in_flight = 0
        self.cap = settings.max_requests_in_flight
        self._retry_after_s = settings.retry_after_s
        error = OverloadedError(retry_after_s=settings.retry_after_s)
        self._message = error.message
        self._client_head, self._client_body = self._response(error.status, error.to_client_body())

    def refusable(self, scope: Scope) -> bool:
        if scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return path == _CLIENT_SEND or _GRAPH_SEND.match(path) is not None

    async def refuse(self, scope: Scope, send: Send) -> None:
        if scope["path"] == _CLIENT_SEND:
            head, body = self._client_head, self._client_body
        else:  # a fresh fbtrace_id each time, as every Graph error has
            error = overloaded_graph_error(self._message, self._retry_after_s)
            head, body = self._response(error.http_status, graph_error_body(error))
        await send(dict(head))
        await send({"type": "http.response.body", "body": body})

    def _response(self, status: int, content: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        # The same bytes Starlette's JSONResponse would write for this content.
        body = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"retry-after", str(self._retry_after_s).encode()),
        ]
        return {"type": "http.response.start", "status": status, "headers": headers}, body
