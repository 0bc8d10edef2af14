"""The content seam: every payload survives dump/load unchanged, and the kind picks the type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from parley.messaging.content import MediaContent, TextContent, dump_content, load_content

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
        '{"body": "no kind"}',
        '{"kind": "media", "mime_type": "image/png"}',
        "not json",
    ],
)
def test_unknown_or_broken_payloads_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        load_content(raw)
