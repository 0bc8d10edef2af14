"""Send-time rendering: parameters filled in (positional and named), and Meta's errors when they do not fit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.graph import GraphError
from parley.templates.rendering import StoredTemplate, render

ORDER = StoredTemplate(
    id=11,
    name="order_update",
    language="en_US",
    category="UTILITY",
    parameter_format="POSITIONAL",
    components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["8812"]}},
        {
            "type": "BODY",
            "text": "Hi {{1}}, your total is {{2}}, due {{3}}. Thanks!",
            "example": {"body_text": [["Mark", "$10", "today"]]},
        },
        {"type": "FOOTER", "text": "Parley Shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop updates"},
                {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}", "example": ["https://x/1"]},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+16467043595"},
            ],
        },
    ],
)

NAMED = StoredTemplate(
    id=12,
    name="welcome",
    language="en",
    category="MARKETING",
    parameter_format="NAMED",
    components=[
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Hi {{first_name}}",
            "example": {"header_text_named_params": [{"param_name": "first_name", "example": "Mark"}]},
        },
        {"type": "BODY", "text": "Welcome {{first_name}}, your code {{code}} works today."},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE20"}]},
    ],
)

IMAGE = StoredTemplate(
    id=13,
    name="promo_image",
    language="en_US",
    category="MARKETING",
    parameter_format="POSITIONAL",
    components=[
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
        {"type": "BODY", "text": "New arrivals are in."},
    ],
)

AUTH = StoredTemplate(
    id=14,
    name="login_code",
    language="en_US",
    category="AUTHENTICATION",
    parameter_format="POSITIONAL",
    components=[
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ],
)


def text(value: str, name: str | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"type": "text", "text": value}
    if name:
        param["parameter_name"] = name
    return param


def order_components(**overrides: Any) -> list[dict[str, Any]]:
    components = {
        "header": {"type": "header", "parameters": [text("8812")]},
        "body": {
            "type": "body",
            "parameters": [
                text("Mark"),
                {"type": "currency", "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}},
                {"type": "date_time", "date_time": {"fallback_value": "February 25, 1977"}},
            ],
        },
        "quick": {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "STOP"}],
        },
        "url": {"type": "button", "sub_type": "url", "index": 1, "parameters": [text("order/123")]},
    }
    components.update(overrides)
    return [c for c in components.values() if c is not None]


def code_of(call: Any) -> int:
    with pytest.raises(GraphError) as caught:
        call()
    return caught.value.code


def test_positional_rendering_with_currency_date_and_buttons() -> None:
    rendered = render(ORDER, order_components())
    assert rendered.header == {"format": "TEXT", "text": "Order 8812"}
    assert rendered.body == "Hi Mark, your total is $100.99, due February 25, 1977. Thanks!"
    assert rendered.footer == "Parley Shop"
    assert rendered.buttons == [
        {"type": "QUICK_REPLY", "text": "Stop updates", "payload": "STOP"},
        {"type": "URL", "text": "Track", "url": "https://shop.example/t/order/123"},
        {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+16467043595"},
    ]
    assert (rendered.template_id, rendered.category, rendered.parameter_format) == (11, "UTILITY", "POSITIONAL")


def test_a_quick_reply_without_a_payload_parameter_sends_its_text() -> None:
    rendered = render(ORDER, order_components(quick=None))
    assert rendered.buttons[0]["payload"] == "Stop updates"


def test_named_rendering_in_any_order() -> None:
    rendered = render(
        NAMED,
        [
            {"type": "body", "parameters": [text("SAVE20", "code"), text("Ana", "first_name")]},
            {"type": "header", "parameters": [text("Ana", "first_name")]},
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": 0,
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}],
            },
        ],
    )
    assert rendered.header == {"format": "TEXT", "text": "Hi Ana"}
    assert rendered.body == "Welcome Ana, your code SAVE20 works today."
    assert rendered.buttons == [{"type": "COPY_CODE", "text": "Copy offer code", "code": "SAVE20"}]


def test_media_header_by_id_or_link() -> None:
    by_id = render(IMAGE, [{"type": "header", "parameters": [{"type": "image", "image": {"id": 42}}]}])
    assert by_id.header == {"format": "IMAGE", "media": {"id": "42"}}
    by_link = render(
        IMAGE, [{"type": "HEADER", "parameters": [{"type": "image", "image": {"link": "https://x/h.jpg"}}]}]
    )
    assert by_link.header == {"format": "IMAGE", "media": {"link": "https://x/h.jpg"}}


def test_authentication_templates_render_meta_fixed_text() -> None:
    rendered = render(
        AUTH,
        [
            {"type": "body", "parameters": [text("482913")]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [text("482913")]},
        ],
    )
    assert rendered.body == "482913 is your verification code. For your security, do not share this code."
    assert rendered.footer == "This code expires in 10 minutes."
    assert rendered.buttons == [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code", "code": "482913"}]


@pytest.mark.parametrize(
    ("components", "code"),
    [
        # 132000: the number of parameters does not match
        (order_components(body={"type": "body", "parameters": [text("Mark")]}), 132000),
        (order_components(body=None), 132000),
        (order_components(header=None), 132000),
        (order_components(url=None), 132000),
        (
            order_components(
                url={"type": "button", "sub_type": "url", "index": 1, "parameters": [text("a"), text("b")]}
            ),
            132000,
        ),
        ([*order_components(), {"type": "button", "sub_type": "quick_reply", "index": 5, "parameters": []}], 132000),
        # 132012: the format does not match
        (order_components(header={"type": "header", "parameters": [text("8812", "order_id")]}), 132012),
        (order_components(header={"type": "header", "parameters": [{"type": "image", "image": {"id": "1"}}]}), 132012),
        (order_components(quick={"type": "button", "sub_type": "url", "index": 0, "parameters": [text("x")]}), 132012),
        # 132005: the rendered text is too long
        (order_components(header={"type": "header", "parameters": [text("9" * 60)]}), 132005),
        # 131008 / 131009 / 100: values and shapes
        (order_components(header={"type": "header", "parameters": [{"type": "text"}]}), 131008),
        (order_components(header={"type": "header", "parameters": [text("line\nbreak")]}), 131009),
        (order_components(quick={"type": "button", "sub_type": "quick_reply", "index": "x", "parameters": []}), 100),
        ("not a list", 100),
        ([{"type": "footer", "parameters": []}], 100),
    ],
)
def test_send_errors_carry_meta_codes(components: Any, code: int) -> None:
    assert code_of(lambda: render(ORDER, components)) == code


def test_named_templates_refuse_positional_parameters_and_unknown_names() -> None:
    body = {"type": "body", "parameters": [text("Ana"), text("SAVE20")]}
    header = {"type": "header", "parameters": [text("Ana", "first_name")]}
    coupon = {
        "type": "button",
        "sub_type": "copy_code",
        "index": 0,
        "parameters": [{"type": "coupon_code", "coupon_code": "X"}],
    }
    assert code_of(lambda: render(NAMED, [header, body, coupon])) == 132012
    unknown = {"type": "body", "parameters": [text("Ana", "first_name"), text("X", "discount")]}
    assert code_of(lambda: render(NAMED, [header, unknown, coupon])) == 132000


def test_a_video_for_an_image_header_is_a_format_mismatch() -> None:
    video = [{"type": "header", "parameters": [{"type": "video", "video": {"id": "5"}}]}]
    assert code_of(lambda: render(IMAGE, video)) == 132012
    assert code_of(lambda: render(IMAGE, [])) == 132000


def test_a_rendered_body_over_1024_characters_is_too_long() -> None:
    long_value = "a" * 1020
    components = order_components(body={"type": "body", "parameters": [text(long_value), text("x"), text("y")]})
    assert code_of(lambda: render(ORDER, components)) == 132005


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
            lambda s: "     " not in s
        ),
        min_size=3,
        max_size=3,
    )
)
def test_every_value_lands_in_its_place(values: list[str]) -> None:
    components = order_components(body={"type": "body", "parameters": [text(v) for v in values]})
    rendered = render(ORDER, components)
    assert rendered.body == f"Hi {values[0]}, your total is {values[1]}, due {values[2]}. Thanks!"
