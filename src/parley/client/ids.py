"""Matrix-form identifiers the crypto libraries see for Parley's users, devices and chats (docs/e2ee.md)."""

from __future__ import annotations

SERVER_NAME = "parley"


def user_mxid(user_id: int | str) -> str:
    """`123` -> `@123:parley`."""
    return f"@{user_id}:{SERVER_NAME}"


def user_id_of(mxid: str) -> int:
    """`@123:parley` -> `123`; ValueError for anything else."""
    if not (mxid.startswith("@") and mxid.endswith(f":{SERVER_NAME}")):
        raise ValueError(f"not a Parley user id: {mxid!r}")
    return int(mxid[1 : -len(SERVER_NAME) - 1])


def direct_room_id(user_a: int | str, user_b: int | str) -> str:
    """The 1:1 chat's room id, known before the chat exists: the smaller user id first."""
    low, high = sorted((int(user_a), int(user_b)))
    return f"!dm-{low}-{high}:{SERVER_NAME}"


def group_room_id(group_id: int | str) -> str:
    return f"!g{int(group_id)}:{SERVER_NAME}"
