"""Creative review rules and quality, and the Marketing-API field checks, without I/O."""

from __future__ import annotations

import pytest

from parley.ads import effective_status, review, schemas
from parley.graph import GraphError

EU = frozenset({"DE", "FR"})


def creative(**fields: str) -> review.CreativeForReview:
    values = {
        "headline": "Fresh bread daily",
        "body": "Order for pickup in a chat.",
        "media_type": None,
        "welcome_message": "",
        "number_status": "CONNECTED",
        "number_quality": "GREEN",
        **fields,
    }
    return review.CreativeForReview(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"headline": "x" * 41}, "TEXT_TOO_LONG"),
        ({"body": "FRESH BREAD EVERY MORNING"}, "ALL_CAPS"),
        ({"body": "Fresh!! bread"}, "REPEATED_PUNCTUATION"),
        ({"body": "Really??"}, "REPEATED_PUNCTUATION"),
        ({"body": "Visit https://bakery.example"}, "LINK_IN_TEXT"),
        ({"welcome_message": "See bakery.com"}, "LINK_IN_TEXT"),
        ({"body": "Ring 555-123-4567"}, "PHONE_IN_TEXT"),
        ({"body": "Vapes and more"}, "PROHIBITED_CONTENT"),
        ({"headline": "Get rich quick"}, "PROHIBITED_CONTENT"),
        ({"number_status": "DISCONNECTED"}, "DESTINATION_NUMBER"),
        ({"number_quality": "RED"}, "DESTINATION_NUMBER"),
    ],
)
def test_each_rule_names_itself(fields: dict[str, str], rule: str) -> None:
    verdict = review.review(creative(**fields))
    assert verdict.status == review.DISAPPROVED and verdict.quality == 0
    assert verdict.reason is not None and verdict.reason.startswith(rule + ":")


def test_clean_creatives_pass_and_quality_rewards_media_and_brevity() -> None:
    plain = review.review(creative())
    assert plain.status == review.APPROVED and plain.reason is None
    assert review.review(creative(media_type="image")).quality > plain.quality
    assert review.review(creative(media_type="video")).quality > review.review(creative(media_type="image")).quality
    long_body = review.review(creative(body="Our bread is baked slowly. " * 12))
    assert long_body.status == review.APPROVED and long_body.quality < plain.quality
    assert review.review(creative(number_quality="YELLOW")).quality < plain.quality
    assert 0 <= review.review(creative(media_type="video", welcome_message="Hi")).quality <= 1
    # A word inside another is not the word ("Gunther" is not "gun"); an OK "!" is fine.
    assert review.review(creative(body="Gunther's bakery! Come by.")).status == review.APPROVED


def test_effective_status_order() -> None:
    ad = {"status": "ACTIVE", "review_status": "APPROVED"}
    assert effective_status(ad, "ACTIVE", "ACTIVE") == "ACTIVE"
    assert effective_status(ad, "ACTIVE", "PAUSED") == "CAMPAIGN_PAUSED"
    assert effective_status(ad, "PAUSED", "ACTIVE") == "ADSET_PAUSED"
    assert effective_status({**ad, "status": "PAUSED"}, "ACTIVE", "PAUSED") == "PAUSED"
    assert effective_status({**ad, "review_status": "PENDING_REVIEW"}, "ACTIVE", "ACTIVE") == "PENDING_REVIEW"
    assert effective_status({**ad, "review_status": "DISAPPROVED"}, "ACTIVE", "ACTIVE") == "DISAPPROVED"
    assert effective_status({**ad, "status": "ARCHIVED"}, "ACTIVE", "ACTIVE") == "ARCHIVED"


def test_targeting_is_normalized_and_the_eu_has_no_interests() -> None:
    got = schemas.targeting(
        {"geo_locations": {"countries": ["br", "BR", "pt"]}, "locales": ["PT"], "interests": [{"name": "Pets"}]}, EU
    )
    assert got == schemas.Targeting(("BR", "PT"), ("pt",), ("pets",))
    assert got.as_json() == '{"countries":["BR","PT"],"languages":["pt"],"interests":["pets"]}'
    with pytest.raises(GraphError, match=r"targeting\.interests"):
        schemas.targeting({"geo_locations": {"countries": ["DE", "FR"]}, "interests": [{"id": "pets"}]}, EU)
    # No countries: everyone, and interests are allowed (the ad server drops them for EU viewers).
    assert schemas.targeting({"interests": [{"id": "pets"}]}, EU).interests == ("pets",)
    with pytest.raises(GraphError, match=r"targeting\.device_platforms"):
        schemas.targeting({"device_platforms": ["mobile"]}, EU)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2030-01-01T00:00:00+0000", 1893456000000),
        ("2030-01-01T00:00:00Z", 1893456000000),
        (1893456000, 1893456000000),
        ("1893456000", 1893456000000),
        ("2030-01-01T02:00:00+02:00", 1893456000000),
    ],
)
def test_times_in_iso_or_epoch_seconds(value: object, ms: int) -> None:
    assert schemas.timestamp("start_time", value) == ms


@pytest.mark.parametrize("value", [0, -1, "12.5", "abc", True, None, 10**13])
def test_amounts_are_positive_whole_minor_units(value: object) -> None:
    with pytest.raises(GraphError, match="Param bid_amount"):
        schemas.minor_amount("bid_amount", value)
