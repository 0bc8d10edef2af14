"""Opaque keyset cursors: the last id seen, so a page costs the same at any depth."""

from __future__ import annotations

from parley.kit.errors import InvalidInputError


class InvalidCursorError(InvalidInputError):
    code = "invalid_cursor"


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 20:
        raise InvalidCursorError("cursor is not one this server issued")
    return int(cursor)
