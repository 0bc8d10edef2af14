"""Opaque keyset cursors: the last id seen, so a page costs the same at any depth."""

from __future__ import annotations

from parley.kit.errors import InvalidInputError
from parley.kit.ids import parse_id


class InvalidCursorError(InvalidInputError):
    code = "invalid_cursor"


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    last_id = parse_id(cursor)
    if last_id is None:
        raise InvalidCursorError("cursor is not one this server issued")
    return last_id
