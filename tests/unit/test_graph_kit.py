"""Graph plumbing: wamids, versions, field selection, the error object, business-scoped user ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.business.identity import bsuid, market_of
from parley.business.wamid import parse_wamid, to_wamid
from parley.graph import GraphError, graph_error_body, parse_fields, parse_version


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_wamids_round_trip(message_id: int) -> None:
    wamid = to_wamid(message_id)
    assert wamid.startswith("wamid.")
    assert parse_wamid(wamid) == message_id


@pytest.mark.parametrize("raw", ["", "wamid.", "wamid.!!!", "HBgL", "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3"])
def test_foreign_wamids_are_not_ours(raw: str) -> None:
    assert parse_wamid(raw) is None


def test_versions() -> None:
    assert parse_version("17.0") == 17 and parse_version("25.0") == 25
    assert parse_version("14.0") == 17  # expired versions are served by the oldest available one
    for bad in ("0.0", "26.0", "23.1", "23", "abc"):
        with pytest.raises(GraphError) as caught:
            parse_version(bad)
        assert caught.value.code == 100


def test_fields_with_params_and_subfields() -> None:
    specs = parse_fields("name,pricing_analytics.start(1).end(2).dimensions([COUNTRY,PHONE]),components{type,text}")
    assert [s.name for s in specs] == ["name", "pricing_analytics", "components"]
    assert specs[1].params == {"start": "1", "end": "2", "dimensions": "[COUNTRY,PHONE]"}
    assert [s.name for s in specs[2].subfields] == ["type", "text"]
    for bad in ("a,,b", "a.start(1", "a{b", "a.(1)"):
        with pytest.raises(GraphError):
            parse_fields(bad)


def test_error_object_has_metas_shape() -> None:
    body = graph_error_body(GraphError(131047, "window closed"))["error"]
    assert body["code"] == 131047 and body["type"] == "OAuthException"
    assert body["message"] == "(#131047) Re-engagement message"
    assert body["error_data"] == {"messaging_product": "whatsapp", "details": "window closed"}
    assert body["fbtrace_id"]


def test_business_scoped_user_ids_are_stable_per_business_and_differ_across() -> None:
    secret = b"k" * 32
    first = bsuid(secret, 1, 42, "+33612345678")
    assert first == bsuid(secret, 1, 42, "+33612345678")
    assert first != bsuid(secret, 2, 42, "+33612345678")
    country, digits = first.split(".")
    assert country == "FR" and digits.isdigit() and len(digits) == 20
    assert market_of("+14155550101") == ("US", "1")
