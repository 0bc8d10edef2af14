"""Phone numbers: any format phonenumbers parses becomes E.164; everything else is refused with a reason."""

from __future__ import annotations

import pytest

from parley.kit.errors import InvalidInputError
from parley.kit.phone import InvalidPhoneNumberError, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155551000", "+14155551000"),
        ("+1 415 555 1000", "+14155551000"),
        ("+1 (415) 555-1000", "+14155551000"),
        ("  +1-415-555-1000  ", "+14155551000"),
        ("14155551000", "+14155551000"),  # Cloud API style: country code without '+'
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
        ("+91 98765 43210", "+919876543210"),
        ("+55 11 91234-5678", "+5511912345678"),
    ],
)
def test_normalises_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-1000", "US", "+14155551000"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+14155551000", "GB", "+14155551000"),  # an explicit country code wins over the region
    ],
)
def test_national_numbers_with_a_default_region(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


def test_the_same_number_written_differently_is_one_number() -> None:
    forms = ["+14155551000", "+1 415 555 1000", "1 415 555 1000", "+1.415.555.1000"]
    assert {normalize_phone(f) for f in forms} == {"+14155551000"}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "not a phone number"),
        ("hello", "not a phone number"),
        ("+", "not a phone number"),
        ("+1 415", "not a possible phone number"),
        ("+1 415 555 10000 99", "not a possible phone number"),
        ("+999 1234567", "not a phone number"),  # no such country code
        ("+1 000 555 1000", "not a valid phone number"),  # right length, impossible area code
    ],
)
def test_refuses_what_is_not_a_phone_number_and_says_why(raw: str, says: str) -> None:
    with pytest.raises(InvalidPhoneNumberError) as caught:
        normalize_phone(raw)
    assert says in caught.value.message
    assert caught.value.code == "invalid_phone_number"
    assert caught.value.status == 400
    assert isinstance(caught.value, InvalidInputError)
