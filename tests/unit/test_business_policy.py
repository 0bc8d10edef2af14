"""Windows and per-message pricing: who may send what, and whether it is charged."""

from __future__ import annotations

import pytest

from parley.business.policy import CSW_MS, FEP_MS, HOUR_MS, price_send, tier_limit, tier_name
from parley.business.repository import ConversationRow
from parley.graph import GraphError

NOW = 1_800_000_000_000


def conversation(
    last_inbound_at: int | None = None, referral_at: int | None = None, fep_expires_at: int | None = None
) -> ConversationRow:
    return ConversationRow(
        id=1,
        phone_number_id=2,
        person_id=3,
        chat_id=4,
        bsuid="FR.1",
        first_contact_at=NOW - 10 * CSW_MS,
        last_inbound_at=last_inbound_at,
        last_outbound_at=None,
        referral_at=referral_at,
        fep_expires_at=fep_expires_at,
    )


def test_free_form_outside_the_window_is_refused_with_131047() -> None:
    with pytest.raises(GraphError) as caught:
        price_send(conversation(last_inbound_at=NOW - CSW_MS), NOW, None)
    assert caught.value.code == 131047
    with pytest.raises(GraphError):
        price_send(None, NOW, None)  # never wrote to the business


def test_free_form_inside_the_window_is_a_free_service_message() -> None:
    pricing = price_send(conversation(last_inbound_at=NOW - CSW_MS + 1), NOW, None)
    assert (pricing.category, pricing.pricing_type, pricing.billable) == ("service", "free_customer_service", False)
    assert pricing.origin == "user_initiated" and pricing.in_service_window


@pytest.mark.parametrize("category", ["MARKETING", "AUTHENTICATION"])
def test_marketing_and_authentication_templates_are_charged_even_in_the_window(category: str) -> None:
    for conv in (None, conversation(last_inbound_at=NOW - HOUR_MS)):
        pricing = price_send(conv, NOW, category)
        assert (pricing.category, pricing.pricing_type, pricing.billable) == (category.lower(), "regular", True)


def test_utility_templates_are_free_inside_the_window_and_charged_outside() -> None:
    inside = price_send(conversation(last_inbound_at=NOW - HOUR_MS), NOW, "UTILITY")
    outside = price_send(conversation(last_inbound_at=NOW - 2 * CSW_MS), NOW, "UTILITY")
    assert (inside.pricing_type, inside.billable) == ("free_customer_service", False)
    assert (outside.pricing_type, outside.billable, outside.origin) == ("regular", True, "business_initiated")


def test_a_reply_to_a_click_to_chat_message_opens_a_72h_free_window() -> None:
    came_from_ad = conversation(last_inbound_at=NOW - HOUR_MS, referral_at=NOW - HOUR_MS)
    reply = price_send(came_from_ad, NOW, None)
    assert reply.pricing_type == "free_entry_point" and not reply.billable
    assert reply.fep_expires_at == NOW + FEP_MS
    assert reply.webhook_category == "referral_conversion"
    # Inside the open window even a marketing template outside the 24 h service window is free.
    later = NOW + 48 * HOUR_MS
    opened = conversation(last_inbound_at=NOW - HOUR_MS, referral_at=NOW - HOUR_MS, fep_expires_at=NOW + FEP_MS)
    template = price_send(opened, later, "MARKETING")
    assert (template.pricing_type, template.billable) == ("free_entry_point", False)
    # ...and charged once it closed.
    after = price_send(opened, NOW + FEP_MS, "MARKETING")
    assert (after.pricing_type, after.billable) == ("regular", True)


def test_a_referral_answered_after_24_hours_opens_nothing() -> None:
    late = conversation(last_inbound_at=NOW - HOUR_MS, referral_at=NOW - CSW_MS - 1)
    assert price_send(late, NOW, None).pricing_type == "free_customer_service"


def test_tiers() -> None:
    assert [tier_limit(t) for t in range(5)] == [250, 2_000, 10_000, 100_000, None]
    assert tier_limit(1, (2, 4)) == 4 and tier_limit(2, (2, 4)) is None
    assert tier_name(0) == "TIER_250" and tier_name(4) == "TIER_UNLIMITED"
