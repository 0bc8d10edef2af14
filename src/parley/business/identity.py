"""Who a person is to a business: business-scoped user ids (BSUIDs) and the market of their number."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=100_000)
def market_of(phone: str) -> tuple[str, str]:
    """(ISO country code, calling code) of an E.164 number; ("ZZ", "") when it has no region."""
    try:
        parsed = phonenumbers.parse(phone if phone.startswith("+") else "+" + phone)
    except phonenumbers.NumberParseException:
        return "ZZ", ""
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    return region, str(parsed.country_code or "")


def wa_id(phone: str) -> str:
    """Meta's `wa_id`: the number's digits without `+`."""
    return phone.lstrip("+")


def bsuid(secret: bytes, waba_id: int, person_id: int, phone: str) -> str:
    """`FR.12345678901234567890`: stable for one business and person, unrelated across businesses."""
    digest = hmac.new(secret, f"bsuid:{waba_id}:{person_id}".encode(), hashlib.sha256).digest()
    digits = str(int.from_bytes(digest[:8], "big")).zfill(20)
    return f"{market_of(phone)[0]}.{digits}"
