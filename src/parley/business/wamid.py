"""Message ids as Meta shows them: `wamid.` + url-safe base64 of our 64-bit message id (no lookup to map back)."""

from __future__ import annotations

import base64
import binascii

_PREFIX = b"PRLY"


def to_wamid(message_id: int) -> str:
    raw = _PREFIX + message_id.to_bytes(8, "big")
    return "wamid." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_wamid(wamid: str) -> int | None:
    """The message id inside a wamid we issued, or None for anything else."""
    if not wamid.startswith("wamid.") or len(wamid) > 64:
        return None
    encoded = wamid[6:]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 12 or not raw.startswith(_PREFIX):
        return None
    return int.from_bytes(raw[4:], "big")
