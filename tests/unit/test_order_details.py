"""order_details and order_status parameters checked as Meta checks them (India and Brazil), with Meta's codes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from parley.graph import GraphError
from parley.payments.orders import check_transition, parse_order_details, parse_order_status

NOW_MS = 1_800_000_000_000
LATER = str(NOW_MS // 1000 + 3600)


def india() -> dict[str, Any]:
    return {
        "reference_id": "BM345A-12",
        "type": "digital-goods",
        "payment_settings": [
            {
                "type": "payment_gateway",
                "payment_gateway": {
                    "type": "razorpay",
                    "configuration_name": "razorpay-prod",
                    "razorpay": {"receipt": "rcpt-1", "notes": {"key1": "value1"}},
                },
            }
        ],
        "currency": "INR",
        "total_amount": {"value": 21000, "offset": 100},
        "order": {
            "status": "pending",
            "catalog_id": "the-catalog-id",
            "expiration": {"timestamp": LATER, "description": "Order expires in 1 hour"},
            "items": [
                {
                    "retailer_id": "1234567",
                    "name": "Bread",
                    "amount": {"value": 10000, "offset": 100},
                    "sale_amount": {"value": 9000, "offset": 100},
                    "quantity": 2,
                }
            ],
            "subtotal": {"value": 18000, "offset": 100},
            "tax": {"value": 1000, "offset": 100, "description": "GST"},
            "shipping": {"value": 2000, "offset": 100, "description": "Delivery"},
            "discount": {"value": 0, "offset": 100, "description": "", "discount_program_name": ""},
        },
    }


def brazil() -> dict[str, Any]:
    return {
        "reference_id": "pedido-" + "x" * 50,  # 57 characters: too long for India, fine for Brazil
        "payment_type": "br",
        "payment_settings": [{"type": "payment_link", "payment_link": {"uri": "https://psp.example/pay/123"}}],
        "currency": "BRL",
        "total_amount": {"value": 5000, "offset": 100},
    }


def test_meta_s_india_example_is_an_order_in_micros() -> None:
    order = parse_order_details(india(), NOW_MS)
    assert (order.market, order.currency, order.reference_id) == ("IN", "INR", "BM345A-12")
    assert order.total == 210_000_000 and order.subtotal == 180_000_000 and order.tax == 10_000_000
    assert order.items[0].unit == 90_000_000 and order.items[0].amount == 100_000_000
    assert order.settings_kind == "payment_gateway" and order.payment_configuration == "razorpay-prod"
    assert order.echo == {"receipt": "rcpt-1", "notes": {"key1": "value1"}}
    assert order.expires_at == int(LATER) * 1000


def test_india_s_older_payment_type_and_configuration_form_is_accepted() -> None:
    body = india()
    del body["payment_settings"]
    body.update(payment_type="upi", payment_configuration="my-upi")
    order = parse_order_details(body, NOW_MS)
    assert (order.settings_kind, order.payment_configuration) == ("upi", "my-upi")


@pytest.mark.parametrize(
    "setting",
    [
        {"type": "upi_intent_link", "upi_intent_link": {"link": "upi://pay?pa=a@b&pn=Shop&tr=BM345A-12"}},
        {"type": "payment_link", "payment_link": {"uri": "https://rzp.io/i/abc"}},
    ],
)
def test_india_takes_upi_intent_links_and_payment_links(setting: dict[str, Any]) -> None:
    body = india()
    body["payment_settings"] = [setting]
    assert parse_order_details(body, NOW_MS).settings_kind == setting["type"]


def test_brazil_s_simplified_order_has_only_a_total() -> None:
    order = parse_order_details(brazil(), NOW_MS)
    assert (order.market, order.currency, order.total, order.items) == ("BR", "BRL", 50_000_000, ())


@pytest.mark.parametrize(
    "setting",
    [
        {
            "type": "pix_dynamic_code",
            "pix_dynamic_code": {
                "code": "000201",
                "merchant_name": "Loja",
                "key": "39580525000189",
                "key_type": "CNPJ",
            },
        },
        {"type": "boleto", "boleto": {"digitable_line": "03399026944140000002628346101018898510000008848"}},
    ],
)
def test_brazil_takes_pix_and_boleto(setting: dict[str, Any]) -> None:
    body = brazil()
    body["payment_settings"] = [setting]
    assert parse_order_details(body, NOW_MS).settings_kind == setting["type"]


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


_DELETE = object()

INDIA_REFUSALS = [
    ("reference_id missing", _set(["reference_id"], _DELETE), 131008, "reference_id"),
    ("reference_id too long", _set(["reference_id"], "x" * 36), 131009, "35"),
    ("reference_id characters", _set(["reference_id"], "bad id!"), 131009, "reference_id"),
    ("reference_id type", _set(["reference_id"], 12), 100, "reference_id"),
    ("type", _set(["type"], "services"), 131009, "type"),
    ("currency", _set(["currency"], "USD"), 131009, "INR"),
    ("offset", _set(["total_amount", "offset"], 1000), 131009, "offset"),
    ("value type", _set(["total_amount", "value"], "21000"), 100, "value"),
    ("total formula", _set(["total_amount", "value"], 20000), 131009, "subtotal + tax + shipping - discount"),
    ("subtotal formula", _set(["order", "subtotal", "value"], 20000), 131009, "subtotal"),
    ("order missing", _set(["order"], _DELETE), 131008, "order"),
    ("status", _set(["order", "status"], "shipped"), 131009, "pending"),
    ("items empty", _set(["order", "items"], []), 131009, "items"),
    ("item name", _set(["order", "items", 0, "name"], "n" * 61), 131009, "name"),
    ("quantity", _set(["order", "items", 0, "quantity"], 0), 131009, "quantity"),
    ("quantity type", _set(["order", "items", 0, "quantity"], 1.5), 100, "quantity"),
    ("tax missing", _set(["order", "tax"], _DELETE), 131008, "tax"),
    ("tax description", _set(["order", "tax", "description"], "d" * 61), 131009, "description"),
    ("expiry too soon", _set(["order", "expiration", "timestamp"], str(NOW_MS // 1000 + 299)), 131009, "300"),
    ("expiry not seconds", _set(["order", "expiration", "timestamp"], "soon"), 131009, "timestamp"),
    ("expiry description", _set(["order", "expiration", "description"], "d" * 121), 131009, "120"),
    ("settings missing", _set(["payment_settings"], _DELETE), 131008, "payment_settings"),
    ("settings kind", _set(["payment_settings", 0, "type"], "boleto"), 131009, "payment_gateway"),
    ("gateway", _set(["payment_settings", 0, "payment_gateway", "type"], "stripe"), 131009, "razorpay"),
    (
        "configuration",
        _set(["payment_settings", 0, "payment_gateway", "configuration_name"], _DELETE),
        131008,
        "configuration_name",
    ),
]


@pytest.mark.parametrize(("case", "change", "code", "words"), INDIA_REFUSALS, ids=[c[0] for c in INDIA_REFUSALS])
def test_india_refusals(case: str, change: Callable[[dict[str, Any]], None], code: int, words: str) -> None:
    body = india()
    change(body)
    with pytest.raises(GraphError) as refused:
        parse_order_details(body, NOW_MS)
    assert refused.value.code == code, refused.value.details
    assert words in refused.value.details
    assert "interactive['action']['parameters']" in refused.value.details


def _brazil_with_order() -> dict[str, Any]:
    body = brazil()
    body["total_amount"] = {"value": 5500, "offset": 100}
    body["order"] = {
        "status": "pending",
        "items": [{"retailer_id": "sku", "name": "Item", "amount": {"value": 2500, "offset": 100}, "quantity": 2}],
        "subtotal": {"value": 5000, "offset": 100},
        "tax": {"value": 0, "offset": 100},
        "shipping": {"value": 1000, "offset": 100},
        "discount": {"value": 500, "offset": 100},
    }
    return body


BRAZIL_REFUSALS = [
    ("reference_id too long", _set(["reference_id"], "x" * 61), 131009, "60"),
    ("currency", _set(["currency"], "INR"), 131009, "BRL"),
    ("indian settings", _set(["payment_settings", 0, "type"], "upi_intent_link"), 131009, "pix_dynamic_code"),
    ("tax missing", _set(["order", "tax"], _DELETE), 131008, "tax"),
    ("retailer_id missing", _set(["order", "items", 0, "retailer_id"], _DELETE), 131008, "retailer_id"),
    ("total with discount", _set(["total_amount", "value"], 6000), 131009, "5500"),
    ("link", _set(["payment_settings", 0, "payment_link", "uri"], "ftp://x"), 131009, "uri"),
]


@pytest.mark.parametrize(("case", "change", "code", "words"), BRAZIL_REFUSALS, ids=[c[0] for c in BRAZIL_REFUSALS])
def test_brazil_refusals(case: str, change: Callable[[dict[str, Any]], None], code: int, words: str) -> None:
    body = _brazil_with_order()
    assert parse_order_details(copy.deepcopy(body), NOW_MS).total == 55_000_000  # the base order is valid
    change(body)
    with pytest.raises(GraphError) as refused:
        parse_order_details(body, NOW_MS)
    assert refused.value.code == code, refused.value.details
    assert words in refused.value.details


def test_pix_key_types_are_meta_s() -> None:
    body = brazil()
    body["payment_settings"] = [
        {
            "type": "pix_dynamic_code",
            "pix_dynamic_code": {"code": "1", "merchant_name": "L", "key": "k", "key_type": "IBAN"},
        }
    ]
    with pytest.raises(GraphError) as refused:
        parse_order_details(body, NOW_MS)
    assert refused.value.code == 131009 and "CPF" in refused.value.details


def test_the_same_parameters_have_the_same_fingerprint_whatever_the_key_order() -> None:
    body = india()
    reordered = copy.deepcopy(dict(reversed(list(body.items()))))
    assert parse_order_details(body, NOW_MS).body_hash == parse_order_details(reordered, NOW_MS).body_hash
    body["order"]["tax"]["description"] = "IGST"
    assert parse_order_details(body, NOW_MS).body_hash != parse_order_details(reordered, NOW_MS).body_hash


def test_order_status_parameters() -> None:
    parsed = parse_order_status(
        {"reference_id": "r-1", "order": {"status": "partially-shipped"}, "payment": {"status": "captured"}}
    )
    assert (parsed.status, parsed.payment_status) == ("partially_shipped", "captured")
    with pytest.raises(GraphError) as refused:
        parse_order_status({"reference_id": "r-1", "order": {"status": "lost"}})
    assert refused.value.code == 131009
    with pytest.raises(GraphError) as missing:
        parse_order_status({"order": {"status": "shipped"}})
    assert missing.value.code == 131008


@pytest.mark.parametrize(
    ("current", "new", "paid", "code"),
    [
        ("pending", "completed", False, None),
        ("pending", "canceled", False, None),
        ("processing", "shipped", False, None),
        ("shipped", "partially_shipped", True, None),
        ("shipped", "completed", True, None),
        ("processing", "pending", False, 2046),
        ("completed", "shipped", False, 2046),
        ("canceled", "pending", False, 2046),
        ("pending", "canceled", True, 2047),
        ("processing", "canceled", True, 2047),
    ],
)
def test_order_status_transitions(current: str, new: str, paid: bool, code: int | None) -> None:
    if code is None:
        check_transition(current, new, paid)
        return
    with pytest.raises(GraphError) as refused:
        check_transition(current, new, paid)
    assert refused.value.code == code


def test_upi_payments_stop_at_five_lakh_rupees() -> None:
    body = india()
    body["payment_settings"] = [{"type": "upi_intent_link", "upi_intent_link": {"link": "upi://pay?pa=a@b&tr=1"}}]
    body["total_amount"]["value"] = 50_000_001
    body["order"]["items"][0]["sale_amount"]["value"] = 25_000_000
    body["order"]["subtotal"]["value"] = 50_000_000
    body["order"]["tax"]["value"] = 1
    body["order"]["shipping"]["value"] = 0
    with pytest.raises(GraphError) as refused:
        parse_order_details(body, NOW_MS)
    assert refused.value.code == 131009 and "UPI" in refused.value.details
    body["payment_settings"] = india()["payment_settings"]  # a gateway takes cards and netbanking too
    assert parse_order_details(body, NOW_MS).total == 500_000_010_000
