"""The fast decoder of common send bodies agrees with the full parser, and leaves it everything else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.business.outbound import MarkReadRequest, OutboundRequest, decode_common, parse_send_request

TEXT = {"messaging_product": "whatsapp", "to": "+14155550100", "type": "text", "text": {"body": "hi"}}
TEMPLATE = {
    "messaging_product": "whatsapp",
    "to": "14155550100",
    "type": "template",
    "template": {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "BODY", "parameters": [{"type": "text", "text": "A-1"}]}],
    },
}


def _view(request: OutboundRequest | MarkReadRequest) -> Any:
    if isinstance(request, MarkReadRequest):
        return request
    return (
        request.type,
        request.to,
        request.recipient,
        request.context_message_id,
        request.biz_opaque_callback_data,
        None if request.text is None else request.text.model_dump(),
        None if request.template is None else request.template.model_dump(),
    )


@pytest.mark.parametrize(
    "body",
    [
        TEXT,
        {**TEXT, "text": {"body": "é" * 4096, "preview_url": True}},
        {**TEXT, "to": 14155550100, "recipient_type": "individual", "extra_envelope_key": [1]},
        {**TEXT, "context": {"message_id": "wamid.x"}, "biz_opaque_callback_data": "order-7"},
        TEMPLATE,
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"},
        {"messaging_product": "whatsapp", "status": "read", "message_id": "w", "typing_indicator": {"type": "text"}},
    ],
)
def test_what_the_fast_decoder_takes_it_reads_as_the_parser_does(body: dict[str, Any]) -> None:
    fast = decode_common(json.dumps(body).encode())
    assert fast is not None
    assert _view(fast) == _view(parse_send_request(body))


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in TEXT.items() if k != "type"},  # the parser infers the type
        {**TEXT, "text": {"body": "hi", "preview_url": None}},  # a null means the default there
        {**TEXT, "text": {"body": "x" * 4097}},
        {**TEXT, "text": {"body": ""}},
        {**TEXT, "text": {"body": "hi", "unknown": 1}},
        {**TEXT, "to": True},
        {**TEXT, "to": 10**20},  # read as a float by the route's JSON decoder
        {**TEXT, "to": "1" * 65},
        {**TEXT, "recipient": "US.1"},
        {**TEXT, "type": "image", "image": {"id": "1"}},
        {**TEMPLATE, "template": {"name": "x", "language": {"code": 1}}},
        {"messaging_product": "whatsapp", "status": "read"},
        {"messaging_product": "whatsapp", "status": "read", "message_id": "w", "typing_indicator": {"type": "x"}},
    ],
)
def test_what_the_fast_decoder_does_not_take_is_left_to_the_parser(body: dict[str, Any]) -> None:
    assert decode_common(json.dumps(body).encode()) is None


def test_broken_json_is_left_to_the_parser() -> None:
    assert decode_common(b'{"messaging_product": "whatsapp",') is None
    assert decode_common(b'{"to": "\\ud800"}') is None
