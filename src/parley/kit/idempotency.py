"""Request fingerprints: a retry key is bound to the request it first came with (as Stripe binds its keys)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def request_fingerprint(request: Any) -> str:
    """A 128-bit digest of a JSON-able request, independent of key order and spacing."""
    canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()
