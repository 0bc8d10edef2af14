"""The bytes Parley POSTs and their signature: Meta's envelope, one update, a signature pywa accepts."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pywa.utils import webhook_updates_validator

from parley.webhooks.signing import envelope_body, signature_sha256, signed_headers

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60)
@given(
    value=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    field=st.sampled_from(["messages", "message_template_status_update", "account_update"]),
    secret=st.text(min_size=1, max_size=40),
)
def test_any_value_is_one_update_signed_over_the_exact_bytes(value: dict[str, Any], field: str, secret: str) -> None:
    value_json = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    body = envelope_body(1234567890, field, value_json, 1_790_000_123_456)
    parsed = json.loads(body)
    assert parsed["object"] == "whatsapp_business_account"
    [entry] = parsed["entry"]
    assert entry["id"] == "1234567890"
    assert entry["changes"] == [{"value": value, "field": field}]
    if field == "messages":
        assert "time" not in entry
    else:
        assert entry["time"] == 1_790_000_123
    header = signature_sha256(secret, body)
    assert header == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert webhook_updates_validator(secret, body, header)
    assert not webhook_updates_validator(secret + "x", body, header)


def test_headers_are_what_meta_sends() -> None:
    body = envelope_body(1, "messages", '{"a":1}', 0)
    headers = signed_headers("secret", body)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Hub-Signature-256"].startswith("sha256=") and len(headers["X-Hub-Signature-256"]) == 71
    assert headers["X-Hub-Signature"] == "sha1=" + hmac.new(b"secret", body, hashlib.sha1).hexdigest()
    envelope = b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[CHANGE]}]}'
    assert body == envelope.replace(b"CHANGE", b'{"value":{"a":1},"field":"messages"}')
