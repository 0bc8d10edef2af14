"""The privacy rules as data: the region of a number, the EU/EEA rule an operator cannot switch off, and the
k-anonymity floor."""

from __future__ import annotations

import typing

import pytest

from parley.signals import K_ANONYMITY_MIN, in_eu_eea, k_anonymous, no_interest_markets, region_of, shown_count
from parley.signals.rules import EU_EEA_REGIONS, PURPOSES


@pytest.mark.parametrize(
    ("phone", "region", "eu"),
    [
        ("+14155551001", "US", False),
        ("+5511912345678", "BR", False),
        ("+447700900123", "GB", False),  # outside any allocated range: the calling code still says GB
        ("+4915112345678", "DE", True),
        ("+33612345678", "FR", True),
        ("+4791234567", "NO", True),  # EEA, not EU
        ("+3545511234", "IS", True),
        ("+41791234567", "CH", False),  # neither EU nor EEA
        ("+262692123456", "RE", True),  # Réunion numbers in France's plan
        ("not a number", "", False),
        ("", "", False),
    ],
)
def test_the_region_of_a_number_decides_the_eu_rule(phone: str, region: str, eu: bool) -> None:
    assert region_of(phone) == region
    assert in_eu_eea(region) is eu


def test_an_operator_can_add_markets_but_never_remove_the_eu_eea() -> None:
    assert no_interest_markets() == EU_EEA_REGIONS
    assert len({"AT", "DE", "FR", "IE", "SE", "IS", "LI", "NO"} - no_interest_markets(["br"])) == 0
    assert "BR" in no_interest_markets(["br"])
    assert "US" not in no_interest_markets(["br"])


@pytest.mark.parametrize(("people", "shown"), [(0, None), (1, None), (99, None), (100, 100), (12_345, 12_345)])
def test_counts_of_people_below_100_are_suppressed(people: int, shown: int | None) -> None:
    assert K_ANONYMITY_MIN == 100
    assert k_anonymous(people) == shown
    assert shown_count(people) == ("fewer than 100" if shown is None else str(shown))


def test_every_purpose_says_what_it_uses_and_why() -> None:
    assert set(PURPOSES) == {"ads_personalisation", "product_analytics"}
    for purpose in PURPOSES.values():
        assert purpose.wording and purpose.uses and all(": to " in line for line in purpose.uses)


def test_the_client_api_names_exactly_the_purposes_of_the_rules() -> None:
    from parley.signals import endpoints

    purpose = typing.get_type_hints(endpoints.put_consent, include_extras=False)["purpose"]
    assert set(typing.get_args(purpose)) == set(PURPOSES)
