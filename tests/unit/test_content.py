"""The content seam: every payload survives dump/load unchanged, and the kind picks the type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from parley.messaging.content import (
    AnyContent,
    ContactsContent,
    InteractiveContent,
    LocationContent,
    MediaContent,
    ReplyContent,
    TemplateContent,
    TextContent,
    dump_content,
    load_content,
    reply_choices,
)

texts = st.text(min_size=1, max_size=4096)


@settings(max_examples=200, deadline=None)
@given(body=texts)
def test_text_round_trip(body: str) -> None:
    loaded = load_content(dump_content(TextContent(body=body)))
    assert isinstance(loaded, TextContent)
    assert loaded.body == body


@settings(max_examples=200, deadline=None)
@given(
    media_id=st.integers(min_value=1, max_value=2**63 - 1),
    mime_type=st.sampled_from(["image/png", "image/jpeg", "application/pdf", "audio/ogg", "video/mp4"]),
    size=st.integers(min_value=1, max_value=16 * 1024 * 1024),
    filename=st.none() | st.text(max_size=255),
    caption=st.none() | st.text(max_size=1024),
)
def test_media_round_trip(media_id: int, mime_type: str, size: int, filename: str | None, caption: str | None) -> None:
    original = MediaContent(media_id=media_id, mime_type=mime_type, size=size, filename=filename, caption=caption)
    loaded = load_content(dump_content(original))
    assert isinstance(loaded, MediaContent)
    assert loaded == original


def test_stored_form_names_its_kind() -> None:
    assert json.loads(dump_content(TextContent(body="hi"))) == {"kind": "text", "body": "hi"}
    stored = json.loads(dump_content(MediaContent(media_id=7, mime_type="image/png", size=3)))
    assert stored["kind"] == "media"
    assert stored["media_id"] == 7


def test_text_that_looks_like_a_media_payload_stays_text() -> None:
    body = '{"kind": "media", "media_id": 1, "mime_type": "image/png", "size": 1}'
    loaded = load_content(dump_content(TextContent(body=body)))
    assert isinstance(loaded, TextContent)
    assert loaded.body == body


@pytest.mark.parametrize(
    "raw",
    [
        '{"kind": "sticker", "body": "x"}',
        '{"kind": "reply", "reply_type": "swipe", "id": "a", "title": "A"}',
        '{"kind": "location", "latitude": "north", "longitude": 0}',
        '{"kind": "template", "name": "t", "language": "en"}',
        '{"body": "no kind"}',
        '{"kind": "media", "mime_type": "image/png"}',
        "not json",
    ],
)
def test_unknown_or_broken_payloads_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        load_content(raw)


BUTTONS = InteractiveContent(
    type="button",
    header={"type": "text", "text": "Your order"},
    body="Deliver today?",
    footer="Reply any time",
    action={
        "buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "later", "title": "Tomorrow"}},
        ]
    },
)
LIST = InteractiveContent(
    type="list",
    body="Pick a slot",
    action={
        "button": "Slots",
        "sections": [
            {"title": "Morning", "rows": [{"id": "m9", "title": "9:00", "description": "Early bird"}]},
            {"title": "Evening", "rows": [{"id": "e6", "title": "18:00"}]},
        ],
    },
)
TEMPLATE = TemplateContent(
    name="order_update",
    language="en_US",
    category="UTILITY",
    header={"format": "IMAGE", "media": {"id": "42", "mime_type": "image/png"}},
    body="Hi Mark, order 7 shipped.",
    footer="Parley Shop",
    buttons=[
        {"type": "QUICK_REPLY", "text": "Stop updates", "payload": "STOP"},
        {"type": "URL", "text": "Track", "url": "https://example.com/t/7"},
        {"type": "QUICK_REPLY", "text": "Thanks"},
    ],
)
EVERY_KIND: list[AnyContent] = [
    TextContent(body="hi"),
    MediaContent(media_id=1, mime_type="image/png", size=3),
    LocationContent(latitude=52.52, longitude=13.405, name="Alexanderplatz", address="Berlin"),
    LocationContent(latitude=-33.86, longitude=151.2),
    ContactsContent(contacts=[{"name": {"formatted_name": "Ada L"}, "phones": [{"phone": "+44 20", "type": "WORK"}]}]),
    BUTTONS,
    LIST,
    InteractiveContent(type="cta_url", body="See", action={"name": "cta_url", "parameters": {"url": "https://x.y"}}),
    TEMPLATE,
    ReplyContent(reply_type="button_reply", id="yes", title="Yes"),
    ReplyContent(reply_type="list_reply", id="m9", title="9:00", description="Early bird"),
    ReplyContent(reply_type="button", id="STOP", title="Stop updates"),
]


@pytest.mark.parametrize("content", EVERY_KIND, ids=lambda c: c.kind)
def test_every_kind_round_trips_and_names_itself(content: AnyContent) -> None:
    raw = dump_content(content)
    assert json.loads(raw)["kind"] == content.kind
    loaded = load_content(raw)
    assert type(loaded) is type(content)
    assert loaded == content


def test_the_replies_a_message_offers() -> None:
    assert reply_choices(BUTTONS) == [
        ReplyContent(reply_type="button_reply", id="yes", title="Yes"),
        ReplyContent(reply_type="button_reply", id="later", title="Tomorrow"),
    ]
    assert reply_choices(LIST) == [
        ReplyContent(reply_type="list_reply", id="m9", title="9:00", description="Early bird"),
        ReplyContent(reply_type="list_reply", id="e6", title="18:00"),
    ]
    # A template's quick replies answer with their payload, or their text when the send gave none.
    assert reply_choices(TEMPLATE) == [
        ReplyContent(reply_type="button", id="STOP", title="Stop updates"),
        ReplyContent(reply_type="button", id="Thanks", title="Thanks"),
    ]
    assert reply_choices(TextContent(body="Yes")) == []
    assert reply_choices(EVERY_KIND[7]) == []  # a link button is not a reply
