"""Phone numbers are parsed and normalised to E.164 with the phonenumbers library, nothing hand-written."""

from __future__ import annotations

import functools

import phonenumbers
import phonenumbers.geocoder

from parley.kit.errors import InvalidInputError


class InvalidPhoneNumberError(InvalidInputError):
    code = "invalid_phone_number"


@functools.lru_cache(maxsize=65536)
def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 form of `raw` or raise InvalidPhoneNumberError saying what is wrong."""
    text = raw.strip()
    if text and text[0].isdigit() and default_region is None:
        text = "+" + text  # Cloud API style: digits with the country code, no '+'
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumberError(f"'{raw}' is not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumberError(f"'{raw}' is not a possible phone number (wrong length)")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumberError(f"'{raw}' is not a valid phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=512)
def country_name(region: str) -> str:
    """The English name of an ISO region ("DE" -> "Germany"), or the code itself when unknown."""
    example = phonenumbers.example_number(region.upper())
    if example is None:
        return region
    return phonenumbers.geocoder.country_name_for_number(example, "en") or region


@functools.lru_cache(maxsize=65536)
def region_of(e164: str) -> str:
    """The ISO region (market) of a normalised number ("+5511…" -> "BR"); "ZZ" when it has none."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "ZZ"
    return phonenumbers.region_code_for_number(parsed) or "ZZ"
