"""The Conversions API body, checked without a database: Meta's fields, the 7-day rule, exact values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.ads.conversions import parse_batch
from parley.graph import GraphError

NOW = 1_800_000_000
WABA = 42


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": NOW - 10,
        "action_source": "business_messaging",
        "messaging_channel": "whatsapp",
        "user_data": {"whatsapp_business_account_id": str(WABA), "ctwa_clid": "clid-1"},
        "custom_data": {"currency": "usd", "value": 19.99},
    }
    base.update(changes)
    return base


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(GraphError) as caught:
        parse_batch(body, WABA, NOW)
    assert caught.value.code == 100
    return caught.value.details


def test_a_good_event_keeps_exact_micros_and_gets_a_dedup_key() -> None:
    [parsed] = parse_batch({"data": [event()], "partner_agent": "crm"}, WABA, NOW)
    assert (parsed.value, parsed.currency) == (19_990_000, "USD")
    assert parsed.event_id == f"Purchase:clid-1:{NOW - 10}" and parsed.event_time_ms == (NOW - 10) * 1000


def test_duplicates_inside_one_batch_count_once() -> None:
    parsed = parse_batch({"data": [event(), event(), event(event_id="x"), event(event_id="x")]}, WABA, NOW)
    assert [p.event_id for p in parsed] == [f"Purchase:clid-1:{NOW - 10}", "x"]


def test_the_data_array_as_a_json_string_is_taken_too() -> None:
    import json

    assert len(parse_batch({"data": json.dumps([event()])}, WABA, NOW)) == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"event_time": NOW - 7 * 86_400 - 1}, "7 days"),
        ({"event_time": NOW + 301}, "future"),
        ({"event_time": 1.5}, "event_time"),
        ({"event_time": True}, "event_time"),
        ({"event_name": "purchase"}, "event_name"),
        ({"action_source": "website"}, "action_source"),
        ({"messaging_channel": "messenger"}, "messaging_channel"),
        ({"user_data": {"ctwa_clid": "c"}}, "whatsapp_business_account_id"),
        ({"user_data": {"whatsapp_business_account_id": str(WABA)}}, "ctwa_clid"),
        ({"custom_data": {"currency": "dollars", "value": 1}}, "ISO 4217"),
        ({"custom_data": {"currency": "USD", "value": -1}}, "non-negative"),
        ({"custom_data": {"currency": "USD", "value": "NaN"}}, "non-negative"),
        ({"custom_data": {"currency": "USD", "value": "1e30"}}, "non-negative"),
        ({"custom_data": {"currency": "USD", "value": [1]}}, "number"),
        ({"event_id": ""}, "event_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_event_names_its_index(changes: dict[str, Any], words: str) -> None:
    details = refused({"data": [event(), event(**changes)]})
    assert details.startswith("data[1]") and words in details


def test_the_batch_itself_is_checked() -> None:
    assert "non-empty" in refused({"data": []})
    assert "at most 1000" in refused({"data": [event()] * 1001})
    assert "JSON array" in refused({"data": "[nope"})
    assert "partner_agent" in refused({"data": [event()], "partner_agent": 5})
    assert "not a field" in refused({"data": [event()], "pixel_id": "1"})


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_any_value_with_six_decimals_is_exact_in_micros(value: Decimal) -> None:
    [parsed] = parse_batch({"data": [event(custom_data={"currency": "EUR", "value": str(value)})]}, WABA, NOW)
    assert Decimal(parsed.value) / 1_000_000 == value
