"""Webhook rules without I/O: back-off bounds, subscription parameters, callback URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.graph import GraphError, object_not_found
from parley.webhooks.service import check_callback_url, parse_fields_param
from parley.webhooks.worker import DeliveryPolicy, backoff_bound_s


def test_backoff_doubles_from_five_seconds_up_to_an_hour() -> None:
    policy = DeliveryPolicy()
    bounds = [backoff_bound_s(policy, attempt) for attempt in range(1, 14)]
    assert bounds[:5] == [5, 10, 20, 40, 80]
    assert bounds[-1] == 3600 and max(bounds) == 3600
    assert bounds == sorted(bounds)


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_never_exceeds_the_cap(attempt: int) -> None:
    assert 0 < backoff_bound_s(DeliveryPolicy(), attempt) <= 3600


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("messages", ["messages"]),
        ("messages,account_update", ["messages", "account_update"]),
        (" messages , messages ", ["messages"]),
        ('["messages", "user_preferences"]', ["messages", "user_preferences"]),
        (["messages"], ["messages"]),
    ],
)
def test_fields_as_pywa_and_json_clients_send_them(raw: object, expected: list[str] | None) -> None:
    assert parse_fields_param(raw) == expected


@pytest.mark.parametrize("raw", ["messages,", "Messages", "a b", '["messages", 3]', "[1", 5, '{"a": 1}'])
def test_bad_fields_are_refused_with_code_100(raw: object) -> None:
    with pytest.raises(GraphError) as refused:
        parse_fields_param(raw)
    assert refused.value.code == 100


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "example.com/hook", "http://", "javascript:alert(1)", "https://x/" + "a" * 2048]
)
def test_callback_urls_must_be_http(url: str) -> None:
    with pytest.raises(GraphError) as refused:
        check_callback_url(url)
    assert refused.value.code == 100


def test_callback_url_is_trimmed() -> None:
    assert check_callback_url("  https://example.com/hook?x=1 ") == "https://example.com/hook?x=1"


def test_unknown_object_is_metas_100_33() -> None:
    error = object_not_found("123", "get")
    assert (error.code, error.subcode, error.http_status) == (100, 33, 400)
    assert "Unsupported get request. Object with ID '123' does not exist" in error.details
