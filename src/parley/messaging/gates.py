"""Who may enter a group, as a seam: another domain (paid groups) decides in the joining unit, so messaging never
imports it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from sqlalchemy import Connection


class JoinGate(Protocol):
    def check_join_in(self, conn: Connection, chat_id: int, user_ids: Collection[int], now: int) -> None:
        """Raise an AppError (e.g. 402 with the price) when one of `user_ids` may not enter group `chat_id` now;
        consulted for invite links, admins' adds and accepted add-invitations, never for the group's creator."""
        ...


class OpenGroups:
    """Every group is free to join: what messaging does when no gate is wired in."""

    def check_join_in(self, conn: Connection, chat_id: int, user_ids: Collection[int], now: int) -> None:
        return None
