"""The bytes of a webhook POST and their signature, exactly as Meta builds them.

The body is serialised once and the signature computed over those very bytes: a receiver (pywa's
`webhook_updates_validator`) recomputes `HMAC-SHA256(app_secret, raw_body)` and compares.
"""

from __future__ import annotations

import hashlib
import hmac
import json

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"  # sha1, still sent by Meta next to the sha256 one
USER_AGENT = "facebookexternalua"


def envelope_body(waba_id: int, field: str, value_json: str, created_at_ms: int) -> bytes:
    """One update in Meta's envelope: one entry, one change (pywa reads only `entry[0].changes[0]`).

    `value_json` is the compact JSON stored in the outbox and is pasted in unchanged. Fields other than
    `messages` carry `entry[].time` (unix seconds), as Meta's do.
    """
    time_part = "" if field == "messages" else f',"time":{created_at_ms // 1000}'
    return (
        f'{{"object":"whatsapp_business_account","entry":[{{"id":"{waba_id}"{time_part},'
        f'"changes":[{{"value":{value_json},"field":{json.dumps(field)}}}]}}]}}'
    ).encode()


def signature_sha256(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value: `sha256=<hex HMAC-SHA256(app_secret, body)>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_sha1(app_secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()


def signed_headers(app_secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_sha256(app_secret, body),
        LEGACY_SIGNATURE_HEADER: signature_sha1(app_secret, body),
    }
