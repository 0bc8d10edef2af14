"""Meta's Graph error object: `{"error": {message, type, code, error_data, fbtrace_id}}` with Meta's codes.

Clients (pywa, heyoo) branch on `code`, so every refusal on a Graph route carries the code Meta would send,
with the HTTP status Meta uses for it (almost always 400 on `/messages`, cloud-api.md §2).
"""

from __future__ import annotations

import secrets
from typing import Any

# code -> (title, HTTP status); titles are Meta's.
CODES: dict[int, tuple[str, int]] = {
    0: ("AuthException", 401),
    1: ("API Unknown", 400),
    2: ("API Service", 503),
    3: ("API Method", 500),
    4: ("API Too Many Calls", 400),
    10: ("Permission Denied", 403),
    33: ("Parameter value is not valid", 400),
    100: ("Invalid parameter", 400),
    190: ("Access token has expired", 401),
    200: ("Permission error", 403),
    80007: ("Rate limit issues", 400),
    130429: ("Rate limit hit", 400),
    130472: ("User's number is part of an experiment", 400),
    131000: ("Something went wrong", 500),
    131005: ("Access denied", 403),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131021: ("Recipient cannot be sender", 400),
    131026: ("Message undeliverable", 400),
    131042: ("Business eligibility payment issue", 400),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", 400),
    131051: ("Unsupported message type", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 404),
    132005: ("Translated text too long", 400),
    132007: ("Template Format Character Policy Violated", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    135000: ("Generic user error", 400),
}


class GraphError(Exception):
    """A refusal on a Graph route. `details` says what was wrong and what to do, as Meta's `error_data`."""

    def __init__(
        self,
        code: int,
        details: str,
        *,
        http_status: int | None = None,
        subcode: int | None = None,
        title: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        known_title, known_status = CODES.get(code, ("Error", 400))
        self.code = code
        self.title = title or known_title
        self.details = details
        self.http_status = http_status or known_status
        self.subcode = subcode
        self.retry_after_s = retry_after_s
        super().__init__(f"(#{code}) {self.title}: {details}")

    def as_webhook_error(self) -> dict[str, Any]:
        """The same error as it appears in `statuses[].errors[]` of a webhook."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.title,
            "error_data": {"details": self.details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }


def object_not_found(object_id: object, verb: str = "get") -> GraphError:
    """Meta's answer for an id a token cannot reach (unknown, or another business's): code 100, subcode 33."""
    return GraphError(
        100,
        f"Unsupported {verb} request. Object with ID '{str(object_id)[:32]}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation.",
        subcode=33,
    )


def new_trace_id() -> str:
    return secrets.token_urlsafe(16)


def graph_error_body(error: GraphError, trace_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": f"(#{error.code}) {error.title}",
        "type": "OAuthException",
        "code": error.code,
        "error_data": {"messaging_product": "whatsapp", "details": error.details},
        "fbtrace_id": trace_id or new_trace_id(),
    }
    if error.subcode is not None:
        body["error_subcode"] = error.subcode
    return {"error": body}
